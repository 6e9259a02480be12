"""The one place where text from data, a spec or the command line enters an output.

Every output kind has exactly one function here that turns a user string into that context's
literal text; writers call it and never paste a user string in any other way:

* :func:`clean`        any output: lone surrogates -> U+FFFD (UTF-8 cannot hold them), NUL -> U+FFFD,
                       unbalanced bidi embeddings/overrides/isolates closed at the end of the string
                       (so a name cannot reorder the text after it)
* :func:`html_text`    HTML text and attribute values (``& < > " '`` escaped)
* :func:`script_json`  JSON/JS inside ``<script>``: ``< >`` and U+2028/2029 as ``\\uXXXX``, so
                       ``</script>``, ``<!--`` and line separators cannot end the script or the string
* :func:`md_text`      Markdown table cells and list items: raw HTML escaped, Markdown syntax backslashed,
                       GFM autolinks (``https://``, ``www.``, e-mail) broken by an escape
* :func:`csv_cell`     spreadsheet CSV: a text cell starting with ``= + - @``, tab or CR is prefixed with
                       ``'`` (OWASP CSV injection), also after leading whitespace and in fullwidth/small
                       form (``" =1"``, ``"＝1"``); numbers stay numbers
* :func:`console_text` the terminal: control characters (ANSI escapes, CR, BEL) and bidi controls
                       shown as visible ``\\xNN``/``<U+202E>`` instead of acting on the terminal
* :func:`text_frame`   a DataFrame's text cells made storable (NUL, lone surrogates) for a GeoPackage,
                       with a report of every change

Template engines (Jinja in folium/branca) never see user text at all: see :mod:`kkr_geo.maps.slots`.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI_OPEN_EMBED = "\u202a\u202b\u202d\u202e"   # LRE RLE LRO RLO, closed by PDF U+202C
_BIDI_OPEN_ISOLATE = "\u2066\u2067\u2068"        # LRI RLI FSI, closed by PDI U+2069
REPLACEMENT = "\ufffd"


def _balance_bidi(text: str) -> str:
    if not any(c in text for c in _BIDI_OPEN_EMBED + _BIDI_OPEN_ISOLATE):
        return text
    stack: list[str] = []
    for c in text:
        if c in _BIDI_OPEN_EMBED:
            stack.append("\u202c")
        elif c in _BIDI_OPEN_ISOLATE:
            stack.append("\u2069")
        elif c == "\u202c" and "\u202c" in stack:
            # PDF closes the innermost embedding (not past an isolate)
            if stack and stack[-1] == "\u202c":
                stack.pop()
        elif c == "\u2069" and "\u2069" in stack:
            while stack and stack.pop() != "\u2069":
                pass
    return text + "".join(reversed(stack))


def clean(value, *, bidi: bool = True) -> str:
    """``value`` as text that every output can hold literally (see the module docstring).

    ``bidi=False`` (data files such as the GeoPackage, where each value is a field of its own) keeps
    bidi controls exactly as they are and only replaces what the file cannot hold."""
    text = "" if value is None else str(value)
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(REPLACEMENT, text)
    return _balance_bidi(text) if bidi else text


def changes(value, *, bidi: bool = True) -> list[str]:
    """What :func:`clean` would change in ``value`` (for reports); empty when nothing."""
    if not isinstance(value, str):
        return []
    out = []
    if "\x00" in value:
        out.append(f"{value.count(chr(0))} NUL character(s) replaced by U+FFFD")
    n = len(_SURROGATE.findall(value))
    if n:
        out.append(f"{n} lone surrogate(s) replaced by U+FFFD")
    if bidi and _balance_bidi(value) != value:
        out.append("unclosed bidi override closed")
    return out


# ------------------------------------------------------------------------------------------- HTML

def html_text(value) -> str:
    """Literal text for HTML element content and quoted attribute values."""
    return html.escape(clean(value), quote=True)


def _clean_json(obj):
    if isinstance(obj, str):
        return clean(obj)
    if isinstance(obj, dict):
        return {clean(k) if isinstance(k, str) else k: _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    return obj


# ``&`` has no meaning inside <script> (raw text), so it stays readable
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_RE = re.compile("[<>\u2028\u2029]")


def script_json(obj) -> str:
    """JSON for a ``<script>`` block (a JS expression): nothing in it can end the script or a string."""
    text = json.dumps(_clean_json(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _SCRIPT_RE.sub(lambda m: _SCRIPT_ESCAPES[m.group(0)], text)


def script_string_body(value) -> str:
    """The inside of a double-quoted JS string literal (without the quotes) holding ``value``."""
    return script_json(clean(value))[1:-1]


# --------------------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()!|~])")
_MD_AUTOLINK = re.compile(r"(?i)(?<=\w):(?=//)|(?<=\bwww)\.|(?<=\w)@(?=\w)")


def md_text(value) -> str:
    """Literal text for a Markdown table cell or list item: no raw HTML, no links, no emphasis."""
    text = clean(value).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    text = html.escape(text, quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # GFM autolinks bare URLs, www. names and e-mail addresses: a backslash splits the pattern (the
    # escaped character becomes a text node of its own), so no link is made and the text reads the same
    return _MD_AUTOLINK.sub(lambda m: "\\" + m.group(0), text)


# -------------------------------------------------------------------------------------------- CSV

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?[0-9][0-9.,]*(e[-+]?[0-9]+)?", re.I)


def _formula_lead(text: str) -> str:
    """The character a spreadsheet would look at: the first one after leading whitespace (spreadsheets
    and CSV importers trim it: ``" =1+1"``), in its compatibility form (fullwidth ``＝＋－＠`` and the
    small forms ``﹦﹢﹣﹫`` are typed as ``= + - @`` by East Asian input methods and accepted as such)."""
    stripped = text.lstrip(" \t\r\n\x0b\x0c\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                           "\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff")
    if text[:1] in ("\t", "\r"):
        return text[:1]
    return unicodedata.normalize("NFKC", stripped[:1]) if stripped else ""


def csv_cell(value):
    """A cell for a spreadsheet CSV: text that a spreadsheet would run as a formula gets a leading ``'``.

    A formula start counts after leading whitespace and in its fullwidth/small form too (``" =1"``,
    ``"＝1"``). Numbers (and text that is just a number, such as ``-12,5``) are returned unchanged.
    """
    if not isinstance(value, str):
        return value
    text = clean(value)
    if _formula_lead(text) in FORMULA_START and not _PLAIN_NUMBER.fullmatch(text.strip()):
        return "'" + text
    return text


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell and column name passed through :func:`csv_cell` (numbers untouched)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype) or isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(object).map(csv_cell)
    out.columns = [csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


# ---------------------------------------------------------------------------------------- console

_CONSOLE_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONSOLE_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def console_text(value) -> str:
    """Text for a terminal: it cannot move the cursor, recolour, clear the screen or reorder the line."""
    text = _SURROGATE.sub(REPLACEMENT, "" if value is None else str(value))
    text = _CONSOLE_CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
    return _CONSOLE_BIDI.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", text)


class ConsoleStream:
    """A text stream wrapper that passes everything written through :func:`console_text`."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(console_text(text))
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


# ---------------------------------------------------------------------------------- GeoPackage etc.

@dataclass
class TextReport:
    """Text cells that had to be changed to be written (NUL, lone surrogates, open bidi overrides)."""

    items: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def __bool__(self) -> bool:
        return bool(self.items)


def text_frame(df: pd.DataFrame, *, label: str, report: TextReport | None = None) -> pd.DataFrame:
    """``df`` with text cells GDAL can store (NUL and lone surrogates -> U+FFFD; bidi controls kept as data);
    every change is added to ``report``."""
    out = df.copy()
    geom = getattr(df, "_geometry_column_name", None)
    for col in out.columns:
        if col == geom:
            continue
        s = out[col]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        for i, v in s.items():
            what = changes(v, bidi=False)
            if what and report is not None:
                report.add(f"{label}, column {col!r}, row {i}", "; ".join(what))
        out[col] = s.map(lambda v: clean(v, bidi=False) if isinstance(v, str) else v)
    renamed = {c: clean(c, bidi=False) for c in out.columns if isinstance(c, str) and changes(c, bidi=False)}
    if renamed:
        if report is not None:
            for c in renamed:
                report.add(f"{label}, column name {clean(c)!r}", "; ".join(changes(c, bidi=False)))
        out = out.rename(columns=renamed)
    return out
