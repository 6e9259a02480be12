"""Read indicator tables as Danish municipalities publish them.

CSV in UTF-8, UTF-8 with BOM, cp1252/latin-1 (detected, also line by line for mixed files),
``;``, ``,`` or tab separated, with Danish numbers (``1.234,5``, ``12,5 %``); and .xlsx sheets,
including sheets with title rows above the header. Everything that cannot be read is listed in
the table's :class:`TableReport` (file, line, column, value) rather than silently dropped.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kkr_geo.geo.errors import InputError
from kkr_geo.layers.numbers import (check_separators, column_meaning, guess_decimal, is_ambiguous, is_missing, parse_array,
                                    parse_numbers, readings, settle_by_meaning)
from kkr_geo.layers.textfile import refuse_nul_bytes

# Columns that hold identifiers keep their text (leading zeros in kommunekoder, postnumre).
_SURROGATES = re.compile("[\ud800-\udfff]")
_KEY_COLUMN = re.compile(r"(kode|code|nr|postnr|id|cvr|kommunekode|komkode)$", re.I)
# Reading costs ~25 bytes of memory per byte of CSV (Python strings per cell; measured with
# `python -m bench.input`: a 60 MB clinic file of 1.6 million rows peaks at ~1.5 GB in
# `kkr-geo layers show klinikker`): 64 MB stays near 1.6 GB; larger files are refused.
MAX_TABLE_BYTES = 64 * 1024 * 1024
# An .xlsx is compressed: its sheets may unpack to far more than the file size (a zip bomb, or a
# sheet formatted down to row 1,048,576). Refused above this many unpacked bytes.
MAX_XLSX_UNPACKED_BYTES = 256 * 1024 * 1024


@dataclass
class Problem:
    line: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        shown = self.value if self.value is None or len(self.value) <= 80 else self.value[:77] + "..."
        val = f" value {shown!r}" if self.value is not None else ""
        return f"{', '.join(where)}:{val} {self.message}".strip()


@dataclass
class TableReport:
    path: str
    encoding: str = ""
    delimiter: str = ""
    header_line: int = 1
    numeric_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # (line, column) -> the text of every cell of a numeric column read as missing although it was
    # not empty (not a number, ambiguous, or a marker such as 'x'): lets callers quote the cell
    unread: dict[tuple[int, str], str] = field(default_factory=dict)
    # (line, column) -> the text of every cell of a numeric column read without the unit it carried
    # ('50 %', '850 kr.'): lets callers refuse units where none belongs (a clinic's capacity)
    units: dict[tuple[int, str], str] = field(default_factory=dict)
    # lines of the rows left out of the table (a row whose number of cells differs from the header's)
    skipped_lines: list[int] = field(default_factory=list)
    # the same, as left-out records (logged when the table is read; carried to the build summary)
    left_out: list = field(default_factory=list)

    def __deepcopy__(self, memo) -> TableReport:
        # pandas deep-copies a frame's attrs on every operation (each column access of the table): the
        # report of a million-row table (one Problem per unread cell) made that quadratic. Frames
        # derived from the table share its one report.
        return self

    def lines(self, per_column: int = 20) -> list[str]:
        """The notes, then the problems: every one of them up to ``per_column`` per column; beyond that
        one line per column says how many more and on which lines (a million ambiguous cells are not a
        million lines on the console; ``problems`` keeps each one)."""
        out = [f"{self.path}: {n}" for n in self.notes]
        shown: dict[str | None, int] = {}
        rest: dict[str | None, list[Problem]] = {}
        for p in self.problems:
            if shown.get(p.column, 0) < per_column:
                shown[p.column] = shown.get(p.column, 0) + 1
                out.append(f"{self.path}: {p}")
            else:
                rest.setdefault(p.column, []).append(p)
        from kkr_geo.layers._left_out import line_ranges
        for col, more in rest.items():
            where = f"column {col!r}" if col is not None else "rows"
            out.append(f"{self.path}: {where}: {len(more)} more cell(s) or row(s) like the above, not read, on lines "
                       f"{line_ranges(p.line for p in more if p.line is not None)}")
        return out


def read_table(path: str | os.PathLike, *, sheet: str | int | None = None, decimal: str | None = None,
               thousands: str | None = None, strict: bool = False) -> pd.DataFrame:
    """Read a CSV or Excel table. Returns a DataFrame with ``attrs['report']`` (a TableReport).

    Numeric columns are detected (most cells parse as numbers) and converted; cells in them that
    are not numbers become missing and are listed as problems. ``strict=True`` raises
    :class:`InputError` on any problem instead.

    Number format: ``decimal`` (``","`` or ``"."``) and ``thousands`` (``"."``, ``","``, ``" "``
    or ``""`` for none) fix the separators for every numeric column. Without them each column's
    format follows its cells (``12,5`` is Danish, ``2.5`` English) and otherwise the file's
    convention: ``;``/tab-separated CSV and Excel sheets are Danish (``1.250`` = 1250). A
    ``,``-separated file has no such convention: a cell such as ``1.250`` or ``"1,250"`` that
    other cells of its column do not settle is ambiguous (1250 or 1.25) and is reported and read
    as missing, never guessed.
    """
    if decimal is not None or thousands is not None:
        if decimal is None:
            decimal = {".": ",", ",": "."}.get(thousands)
        try:
            check_separators(decimal or ("." if thousands == "," else ","), thousands)
        except ValueError as exc:
            raise InputError(f"number format: {exc}.", hint="e.g. --decimal , --thousands . for Danish numbers "
                             "(1.234,5) or --decimal . --thousands , for English numbers (1,234.5).") from None
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found.", hint="check the path.")
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise InputError(f"{path}: {size / 1e6:,.0f} MB is larger than the {MAX_TABLE_BYTES / 1e6:,.0f} MB an indicator table may have.",
                         hint="aggregate the table (e.g. per kommune) before joining, or split it.")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        raw, report = _read_excel(path, sheet)
    elif suffix in (".csv", ".txt", ".tsv", ""):
        raw, report = _read_csv(path)
    else:
        raise InputError(f"{path}: unsupported table format {suffix!r}.", hint="use .csv or .xlsx.")
    df = _convert_numeric(raw, report, decimal, thousands)
    if strict and report.problems:
        raise InputError(f"{path}: {len(report.problems)} cell(s) could not be read:\n  "
                         + "\n  ".join(str(p) for p in report.problems[:20]),
                         hint="fix the cells in the source file, or read without strict to get them as missing values.")
    df.attrs["report"] = report
    df.attrs["source_path"] = str(path)
    return df


# ---------------------------------------------------------------------------------------- CSV

def _decode(data: bytes, report: TableReport) -> str:
    for bom, enc in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                     (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                raise InputError(f"{report.path}: starts with a {enc.upper()} byte-order mark but is not valid {enc.upper()}.",
                                 hint="save the table again as CSV UTF-8 (in Excel: 'CSV UTF-8 (comma delimited)').") from None
            report.encoding = enc
            report.notes.append(f"read as {enc.upper()} (byte-order mark)")
            text = text.lstrip("\ufeff")
            if "\x00" in text:
                refuse_nul_bytes(text.encode("utf-8"), report.path)
            return text
    refuse_nul_bytes(data, report.path)  # UTF-16 without a byte-order mark, or not text at all
    if data.startswith(b"\xef\xbb\xbf"):
        report.encoding = "utf-8-sig"
        data = data[3:]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    else:
        try:
            text = data.decode("utf-8")
            report.encoding = "utf-8"
            return text
        except UnicodeDecodeError:
            pass
    # Not clean UTF-8: decode line by line, so a file glued together from UTF-8 and cp1252 parts
    # (common after copy-paste between Excel versions) still reads, and say which lines were which.
    lines = data.split(b"\n")
    out, cp_lines, utf_lines, surrogate_lines = [], [], 0, []
    for no, raw in enumerate(lines, start=1):
        try:
            out.append(raw.decode("utf-8"))
            if any(b > 127 for b in raw):
                utf_lines += 1
        except UnicodeDecodeError:
            try:
                # a lone surrogate written as UTF-8 (bytes ED A0..BF xx, from a JSON escape or a broken
                # export): Python's codec refuses it, a GDAL/Excel reader would drop or cut it
                text = raw.decode("utf-8", errors="surrogatepass")
            except UnicodeDecodeError:
                out.append(raw.decode("cp1252", errors="replace"))
                cp_lines.append(no)
                continue
            out.append(_SURROGATES.sub("\ufffd", text))
            surrogate_lines.append(no)
            utf_lines += 1
    if surrogate_lines:
        report.notes.append(f"lone surrogate(s) (UTF-8 bytes ED A0..ED BF, not a character) on line(s) "
                            f"{_ranges(surrogate_lines)} replaced by U+FFFD ('\ufffd'); the rest of each text is kept. "
                            "Check those cells in the source file")
    if not cp_lines:
        report.encoding = "utf-8"
    elif utf_lines and cp_lines:
        report.encoding = "mixed utf-8/cp1252"
        report.notes.append(f"mixed encodings: lines {_ranges(cp_lines)} read as cp1252 (Windows), the rest as UTF-8")
    else:
        report.encoding = "cp1252"
    text = "\n".join(out)
    if "\ufffd" in text:
        report.notes.append("some bytes are neither UTF-8 nor cp1252 and were replaced by '\ufffd'")
    return text


def _ranges(nums: list[int]) -> str:
    if len(nums) > 12:
        return ", ".join(map(str, nums[:12])) + f" ... ({len(nums)} lines)"
    return ", ".join(map(str, nums))


def _modal_width(rows) -> int:
    widths = [len([c for c in r if c.strip()]) for r in rows if any(c.strip() for c in r)]
    wide = [w for w in widths if w >= 2]
    if not wide:
        return max(widths, default=1)
    counts: dict[int, int] = {}
    for w in wide:
        counts[w] = counts.get(w, 0) + 1
    return max(counts, key=lambda w: (counts[w], w))


def _sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text[:2_000_000].splitlines()[:200] if ln.strip()]
    # the delimiter splits the most lines into the same number (> 1) of cells; title lines without
    # any delimiter (common above Excel exports) do not count against it
    best, best_score = None, 0
    for d in ";\t,|":
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=d)]
        except csv.Error:
            continue
        counts: dict[int, int] = {}
        for w in widths:
            if w > 1:
                counts[w] = counts.get(w, 0) + 1
        score = max(counts.values(), default=0)
        if score > best_score:
            best, best_score = d, score
    if best is not None and best_score >= 2:
        return best
    sample = "\n".join(lines[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        counts = {d: first.count(d) for d in ";,\t|"}
        return max(counts, key=counts.get) if any(counts.values()) else ","


def _read_csv(path: Path) -> tuple[pd.DataFrame, TableReport]:
    report = TableReport(str(path))
    text = _decode(path.read_bytes(), report)
    if not text.strip():
        raise InputError(f"{path}: the file is empty.", hint="export the table again with a header row.")
    delim = _sniff_delimiter(text)
    report.delimiter = delim
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    except csv.Error as exc:
        raise InputError(f"{path}: cannot be read as a CSV table ({exc}).",
                         hint="open it in Excel or a text editor and export it again as CSV.") from None
    del text
    # skip title lines: the header is the first row with (nearly) as many cells as most rows have;
    # the most common width, not the widest row, so one over-long data row does not hide the header
    width = _modal_width(rows[:200])
    header_idx = next((i for i, r in enumerate(rows[:30]) if len([c for c in r if c.strip()]) >= max(2, 0.8 * width)), 0)
    if header_idx:
        report.notes.append(f"skipped {header_idx} title line(s) above the header")
    report.header_line = header_idx + 1
    header = [h.strip() for h in rows[header_idx]]
    header = _unique_header(header, report)
    body = rows[header_idx + 1:]
    del rows
    n = len(header)
    # Rows of the header's width go into the frame as they are (one C-level step for a million rows);
    # only the others are looked at one by one: blank, over-long with empty extra cells, or skipped and reported.
    fits = np.fromiter(map(len, body), dtype=np.int64, count=len(body)) == n
    for k in np.flatnonzero(~fits):
        r = body[k]
        if not any(c.strip() for c in r):
            continue
        if len(r) > n and not any(c.strip() for c in r[n:]):
            body[k] = r[:n]
            fits[k] = True
        else:
            report.problems.append(Problem(int(k) + header_idx + 2, None, delim.join(r)[:80],
                                           f"has {len(r)} cells, the header has {n}; row skipped"))
            report.skipped_lines.append(int(k) + header_idx + 2)
    if report.skipped_lines:
        from kkr_geo.layers._left_out import left_out
        report.left_out.append(left_out(path.name, report.skipped_lines, "its number of cells differs from the header's",
                                        "antallet af celler passer ikke til overskriften"))
    keep = np.flatnonzero(fits)
    records = body if len(keep) == len(body) else [body[k] for k in keep]
    del body
    df = pd.DataFrame(records, columns=header, dtype=object) if len(records) else pd.DataFrame(columns=header, dtype=object)
    del records
    df.index = pd.Index(keep + header_idx + 2, name="line")
    blank = np.ones(len(df), dtype=bool)
    for col in df.columns:
        values = df[col]
        if _has_outer_space(values):
            values = values.str.strip()
            df[col] = values
        blank &= (values == "").to_numpy(dtype=bool)
    if blank.any():
        df = df[~blank]
    return df, report


_OUTER_SPACE = re.compile(r"(?:^|\x00)\s|\s(?:\x00|$)")


_ASCII_SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"   # the ASCII characters str.strip() removes
# the other characters str.strip() removes (str.isspace() outside ASCII)
_OTHER_SPACES = "".join(c for c in map(chr, range(128, 0x3001)) if c.isspace())


def _has_outer_space(values: pd.Series) -> bool:
    """Whether any cell of a text column starts or ends with whitespace: one join, then substring
    searches (the text holds no NUL, :func:`kkr_geo.layers.textfile.refuse_nul_bytes` refused it);
    a regular expression only for text outside ASCII."""
    if not len(values):
        return False
    joined = "\x00".join(values.tolist())
    if not joined.isascii() and any(c in joined for c in _OTHER_SPACES):
        return _OUTER_SPACE.search(joined) is not None
    if joined[:1].isspace() or joined[-1:].isspace():
        return True
    return any(f"\x00{c}" in joined or f"{c}\x00" in joined for c in _ASCII_SPACES)


def _unique_header(header: list[str], report: TableReport) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        h = h or f"kolonne_{i + 1}"
        if h in seen:
            seen[h] += 1
            new = f"{h}_{seen[h]}"
            report.notes.append(f"duplicate column name {h!r} renamed to {new!r}")
            h = new
        else:
            seen[h] = 1
        out.append(h)
    return out


# -------------------------------------------------------------------------------------- Excel

def _read_excel(path: Path, sheet) -> tuple[pd.DataFrame, TableReport]:
    report = TableReport(str(path), encoding="xlsx")
    import zipfile
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError):
        unpacked = 0  # not a zip: openpyxl below gives the precise error
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise InputError(f"{path}: the workbook unpacks to {unpacked / 1e6:,.0f} MB, more than the "
                         f"{MAX_XLSX_UNPACKED_BYTES / 1e6:,.0f} MB an indicator table may have.",
                         hint="save only the table's sheet, or export it as CSV, or aggregate it (e.g. per kommune).")
    try:
        raw = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=None, dtype=object, engine="openpyxl")
    except ValueError as exc:
        raise InputError(f"{path}: cannot read sheet {sheet!r} ({exc}).", hint="name an existing sheet.") from None
    except Exception as exc:  # zip/xml errors from a broken or mislabeled file
        raise InputError(f"{path}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc}).",
                         hint="save it again from Excel as .xlsx, or export it as CSV.") from None
    raw = raw.dropna(how="all").dropna(axis=1, how="all")
    if raw.empty:
        raise InputError(f"{path}: the sheet is empty.", hint="choose the sheet with the table (sheet=...).")
    filled = raw.notna().sum(axis=1)
    wide = filled[filled >= 2]
    width = int(wide.value_counts().sort_index(ascending=False).idxmax()) if len(wide) else int(filled.max())
    header_pos = next((i for i, n in enumerate(filled) if n >= max(2, 0.8 * width)), 0)
    if header_pos:
        report.notes.append(f"skipped {header_pos} title row(s) above the header")
    header_row = raw.iloc[header_pos]
    report.header_line = int(raw.index[header_pos]) + 1
    header = _unique_header([("" if pd.isna(h) else str(h).strip()) for h in header_row], report)
    body = raw.iloc[header_pos + 1:].copy()
    body.columns = header
    body.index = pd.Index([int(i) + 1 for i in body.index], name="line")
    body = body.map(lambda v: v.strip() if isinstance(v, str) else v)
    return body, report


# ------------------------------------------------------------------------------------ numbers

_FORMAT_HINT = "--decimal/--thousands on the command line, decimal=/thousands= in read_table"


def _distinct(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of a column, so that each distinct cell is parsed and checked once
    (a million-row column of capacities holds a handful of texts): ``values[codes]`` is the column.
    The last distinct value is ``None`` and stands for every missing cell (None/NaN). Only text columns
    are factorised (in an Excel column ``True == 1`` would merge two different cells)."""
    vals = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(vals, skipna=True) in ("string", "empty"):
        codes, uniq = pd.factorize(vals, use_na_sentinel=True)
        distinct = np.empty(len(uniq) + 1, dtype=object)
        distinct[:-1] = uniq
        distinct[-1] = None
        codes = np.where(codes < 0, len(uniq), codes)
        return codes, distinct
    distinct = np.empty(len(vals), dtype=object)
    distinct[:] = list(vals)
    return np.arange(len(vals)), distinct


def _blank_flags(uniq: np.ndarray) -> np.ndarray:
    """:func:`_blank` of each distinct value; for text, as one vectorised strip."""
    texts = np.fromiter((type(v) is str for v in uniq), dtype=bool, count=len(uniq))
    out = np.zeros(len(uniq), dtype=bool)
    if texts.any():
        out[texts] = (pd.Series(uniq[texts], dtype=object).str.strip() == "").to_numpy(dtype=bool)
    others = np.flatnonzero(~texts)
    out[others] = [_blank(uniq[j]) for j in others]
    return out


def _flags(fn, values) -> np.ndarray:
    return np.fromiter((bool(fn(v)) for v in values), dtype=bool, count=len(values))


def _convert_numeric(df: pd.DataFrame, report: TableReport, decimal: str | None,
                     thousands: str | None = None) -> pd.DataFrame:
    """Numeric columns converted, every cell that was not read as it stands reported. Column-wise: each
    distinct cell text is parsed once (:func:`_distinct`), so a million-row table costs a few vector
    operations per column, not a Python call per cell."""
    # The file's own convention: ';'/tab/'|'-separated CSV and Excel are Danish; a ','-separated
    # file has none (a decimal comma would need quotes there), so only a column's cells can decide.
    file_default = None if report.delimiter == "," else ","
    out: dict = {}
    lines = df.index.to_numpy()
    for col in df.columns:
        codes, uniq = _distinct(df[col])
        counts = np.bincount(codes, minlength=len(uniq))
        if _KEY_COLUMN.search(str(col)):
            keys = np.array([None if _blank(v) else str(v).strip() for v in uniq] + [None], dtype=object)[:-1]
            out[col] = pd.Series(keys[codes], index=df.index, dtype=object)
            continue
        u_blank = _blank_flags(uniq)
        as_text = np.where(u_blank, None, uniq)
        if int(counts[~u_blank].sum()) > 5_000:
            # a long column whose first cells are mostly not numbers is text: skip the full parse (and the
            # check of every distinct text for a missing-value marker, a Python call each)
            head = []
            for j in codes:
                if not is_missing(uniq[j]):
                    head.append(uniq[j])
                    if len(head) == 2_000:
                        break
            _, bad_head = parse_numbers(head, decimal=decimal or guess_decimal(head) or ".", thousands=thousands)
            if len(bad_head) > 1_000:
                out[col] = pd.Series(as_text[codes], index=df.index, dtype=object)
                continue
        u_missing = _flags(is_missing, uniq)
        n_present = int(counts[~u_missing].sum())
        u_sep = _flags(lambda v: type(v) is str and ("." in v or "," in v), uniq) & ~u_missing
        sep_rows = np.flatnonzero(u_sep[codes])
        dec = decimal or guess_decimal(list(uniq[codes[sep_rows[:20_000]]]), default=file_default)
        u_parsed, u_bad = parse_array(uniq, decimal=dec or ".", thousands=thousands)
        u_amb = np.zeros(len(uniq), dtype=bool)
        if decimal is None and thousands is None and len(sep_rows) and (dec is None or dec != file_default):
            # (when the file's own convention applies, 1.250 is unambiguous: nothing to check)
            # cells that read as two different numbers (1.250 = 1250 or 1.25)
            u_amb[_ambiguous_positions(list(uniq))] = True
        # what the column can mean settles a cell that reads two ways: 55.681 in 'lat' is 55.681, not 55681
        meaning = column_meaning(col)
        settled = {int(j): v for j in np.flatnonzero(u_amb) if (v := settle_by_meaning(uniq[j], meaning)) is not None}
        u_settled = np.zeros(len(uniq), dtype=bool)
        u_settled[list(settled)] = True
        u_unsettled = u_amb & ~u_settled
        bad_rows = np.flatnonzero(u_bad[codes])
        ok = n_present - len(bad_rows)
        if n_present and ok >= 0.8 * n_present and ok > 0:
            values_u = u_parsed.copy()
            for j, v in settled.items():
                values_u[j] = v
            if dec is None:
                values_u[u_unsettled] = np.nan
            out[col] = pd.Series(values_u[codes], index=df.index, dtype="float64")
            report.numeric_columns.append(str(col))
            why: dict[int, str] = {}
            for i in bad_rows:
                j = int(codes[i])
                if j not in why:
                    why[j] = _why_not(uniq[j], dec or ".", thousands)
                report.problems.append(Problem(int(lines[i]), str(col), str(uniq[j]), why[j]))
                report.unread[(int(lines[i]), str(col))] = str(uniq[j])
            _check_units(col, uniq, codes, values_u, lines, report)
            amb_rows = np.flatnonzero(u_unsettled[codes])
            if len(amb_rows) and dec is None:
                for i in amb_rows:
                    v = uniq[codes[i]]
                    report.unread[(int(lines[i]), str(col))] = str(v)
                    report.problems.append(Problem(
                        int(lines[i]), str(col), str(v),
                        f"is ambiguous in a comma-separated file: {_fmt_reading(v, ',')} with a thousands separator "
                        f"or {_fmt_reading(v, '.')} with a decimal point, and no other cell of the column decides it"
                        f"{_meaning_said(v, meaning)}; read as missing. Give the number format ({_FORMAT_HINT})"))
            elif len(amb_rows) and dec != file_default:
                shown = ", ".join(f"line {lines[i]}: {uniq[codes[i]]!r} -> {values_u[codes[i]]:g}" for i in amb_rows[:5])
                more = " ..." if len(amb_rows) > 5 else ""
                sep = "decimal point '.'" if dec == "." else "decimal comma ','"
                report.notes.append(
                    f"column {str(col)!r}: {len(amb_rows)} ambiguous cell(s) read with a {sep}, as the column's other "
                    f"cells show ({shown}{more}); if they carry thousands separators instead, give the number format "
                    f"({_FORMAT_HINT})")
            settled_rows = np.flatnonzero(u_settled[codes])
            if len(settled_rows):
                shown = ", ".join(f"line {lines[i]}: {uniq[codes[i]]!r} -> {_fmt(values_u[codes[i]])} "
                                  f"(not {_fmt(_other_reading(uniq[codes[i]], values_u[codes[i]]))})"
                                  for i in settled_rows[:5]) + (" ..." if len(settled_rows) > 5 else "")
                what = meaning.what if meaning is not None else "a share (0-100 %)"
                report.notes.append(
                    f"column {str(col)!r}: {len(settled_rows)} cell(s) that read two ways were read the one way that is "
                    f"{what} ({shown}); give the number format ({_FORMAT_HINT}) if that is wrong")
            marker_rows = np.flatnonzero((u_missing & ~u_blank)[codes])
            for i in marker_rows:
                report.unread[(int(lines[i]), str(col))] = str(uniq[codes[i]])
            if len(marker_rows):
                shown = ", ".join(f"line {lines[i]}: {str(uniq[codes[i]]).strip()!r}" for i in marker_rows[:5]) + (
                    " ..." if len(marker_rows) > 5 else "")
                report.notes.append(f"column {str(col)!r}: {len(marker_rows)} cell(s) hold a missing-value marker, "
                                    f"read as missing ({shown})")
        else:
            out[col] = pd.Series(as_text[codes], index=df.index, dtype=object)
            if n_present and ok >= 0.5 * n_present:
                shown = ", ".join(f"line {lines[i]}: {str(uniq[codes[i]])[:40]!r}" for i in bad_rows[:5]) + (
                    " ..." if len(bad_rows) > 5 else "")
                report.notes.append(f"column {str(col)!r}: {ok} of {n_present} cells are numbers but {len(bad_rows)} are "
                                    f"not ({shown}); the column is kept as text. Fix those cells to use it as numbers")
    return pd.DataFrame(out, index=df.index, columns=df.columns) if out else pd.DataFrame(index=df.index)


def _fmt(x) -> str:
    return "?" if x is None else f"{x:g}"


def _other_reading(value, chosen):
    da, en = readings(value)
    return en if da == chosen else da


def _meaning_said(value, meaning) -> str:
    """Why what the column can mean did not settle an ambiguous cell (both readings fit, or neither)."""
    if meaning is None:
        return ""
    da, en = readings(value)
    if meaning.fits(da) and meaning.fits(en):
        return f" (both readings are {meaning.what})"
    return f" (neither reading is {meaning.what})"


# Only a single group of three digits after one separator can read two ways (1.250, "1,250"):
# a vectorised prefilter, then the exact check on the few candidates.
_MAYBE_AMBIGUOUS = r"[\s\u00a0\u202f]*[+\-\u2212]?[1-9][0-9 ]{0,3}[.,][0-9]{3}[\s\u00a0\u202f]*(?:%|kr\.?|DKK)?[\s\u00a0\u202f]*"


def _ambiguous_positions(values: list) -> list[int]:
    is_str = [i for i, v in enumerate(values) if type(v) is str]
    if not is_str:
        return []
    s = pd.Series([values[i] for i in is_str], dtype=object)
    cand = s.str.fullmatch(_MAYBE_AMBIGUOUS, case=False).to_numpy(dtype=bool)
    return [is_str[j] for j in cand.nonzero()[0] if is_ambiguous(values[is_str[j]])]


def _why_not(value, decimal: str, thousands: str | None) -> str:
    """Why a cell of a numeric column was not read: out of a float's range (``1E400``) or not a number."""
    from kkr_geo.layers.numbers import NumberRangeError, parse_number
    try:
        parse_number(value, decimal=decimal, thousands=thousands)
    except NumberRangeError as exc:
        return f"{str(exc).split(' ', 1)[1]}; read as missing"
    except Exception:  # noqa: BLE001 - any other reason: not a number
        pass
    return "is not a number; read as missing"


_UNIT_TAIL = r"(?i)(?:%|kr\.?|dkk)[\s\u00a0\u202f]*$"
_UNIT_RE = re.compile(_UNIT_TAIL)
_ANY_UNIT = re.compile(r"(?i)%|kr|dkk")


def _check_units(col, uniq, codes, values_u, lines, report: TableReport) -> None:
    """Record the unit of every cell read without it (``report.units``), and report a column whose
    cells do not all carry the same unit: ``50 %`` among plain numbers was read as 50 without a word
    (a column of shares that all end in ``%`` is read as it is). Works on the column's distinct cells."""
    from kkr_geo.layers.numbers import unit_of
    texts = [v for v in uniq if type(v) is str]
    if not texts or not _ANY_UNIT.search("\x00".join(texts)):
        return  # (the common case, a column of plain numbers, costs one join and one scan)
    u_unit = np.full(len(uniq), "", dtype=object)
    for j, v in enumerate(uniq):
        if type(v) is str and values_u[j] == values_u[j] and _UNIT_RE.search(v) and (unit := unit_of(v)):
            u_unit[j] = unit
    if not (u_unit != "").any():
        return
    for i in np.flatnonzero((u_unit != "")[codes]):
        report.units[(int(lines[i]), str(col))] = str(uniq[codes[i]]).strip()
    number_rows = np.flatnonzero(~np.isnan(values_u.astype(float))[codes])
    row_units = u_unit[codes[number_rows]]
    kinds, n = np.unique(row_units.astype(str), return_counts=True)
    counts = dict(zip(kinds.tolist(), n.tolist()))
    if len(counts) < 2:
        return
    usual = max(counts, key=lambda u: (counts[u], u == ""))
    odd = number_rows[row_units != usual]
    shown = ", ".join(f"line {lines[i]}: {str(uniq[codes[i]]).strip()!r}" for i in odd[:5]) + (" ..." if len(odd) > 5 else "")
    usual_text = f"the unit {usual!r}" if usual else "no unit"
    report.notes.append(f"column {str(col)!r}: {len(odd)} cell(s) carry another unit than the column's other cells "
                        f"({usual_text}): {shown}; each read as its number. Check that they mean the same "
                        "(a share in % among counts?) and write the column with one unit")


def _fmt_reading(value: str, decimal: str) -> str:
    from kkr_geo.layers.numbers import parse_number
    try:
        return f"{parse_number(value, decimal=decimal):g}"
    except Exception:  # noqa: BLE001 - only for the message
        return "?"


def _blank(v) -> bool:
    """An empty cell: None, NaN or only whitespace (markers like 'x' or '-' are not blank)."""
    if v is None or (isinstance(v, float) and v != v):
        return True
    return isinstance(v, str) and not v.strip()
