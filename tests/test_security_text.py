"""Issue 8, unit level: the context escapers of geo.safe_text and the template-free slots of maps.slots."""

from __future__ import annotations

import json

from folium.template import Template

from kkr_geo.geo.safe_text import clean, csv_frame, html_text, md_text, script_json, script_string_body
from kkr_geo.maps.slots import Slots
from reliability_cases import check, reliability_ledger  # noqa: F401  (autouse fixture)

AREA = "security"
NASTY = ["</script><script>x()</script>", "<!--", "\u2028\u2029", "\ud800", "\udfff\ud800", "a\x00b", '"\'`',
         "{{ 7*7 }}", "{% if %}", "{#", "\u202eabc", "\u2066isolate", "x" * 10_000]


def test_script_json_cannot_end_the_script_or_the_string():
    for s in NASTY:
        out = script_json({"_t": s, s[:50]: [s]})
        assert "<" not in out and ">" not in out and "\u2028" not in out and "\u2029" not in out
        out.encode("utf-8")  # never a lone surrogate
        back = json.loads(out)
        assert back["_t"] == clean(s)
    body = script_string_body('"};alert(1)//')
    assert json.loads(f'"{body}"') == '"};alert(1)//'


def test_html_text_escapes_quotes_and_cleans():
    assert html_text("<a href='x' title=\"y\">&") == "&lt;a href=&#x27;x&#x27; title=&quot;y&quot;&gt;&amp;"
    assert html_text("a\x00b\ud800") == "a\ufffdb\ufffd"


def test_bidi_overrides_are_closed_inside_the_string():
    assert clean("\u202eabc") == "\u202eabc\u202c"
    assert clean("\u2067x\u202ay") == "\u2067x\u202ay\u202c\u2069"
    assert clean("\u202eabc\u202c") == "\u202eabc\u202c"  # already balanced: unchanged
    assert clean("Ørestad") == "Ørestad"


def test_markdown_cells_hold_no_markup():
    out = md_text("<script>alert(1)</script> [klik](javascript:alert(1)) | *fed* <img src=x onerror=y>\nny linje")
    assert "<" not in out and "](" not in out and "\n" not in out
    assert "\\|" in out and "\\*fed\\*" in out
    check("markdown_cell_markup", AREA, "parses", "parses")


def test_csv_frame_neutralises_text_but_keeps_numbers():
    import pandas as pd
    df = pd.DataFrame({"navn": ["=1+1", "-1", "@x", "ok"], "tal": [-1.5, 2.0, -3.0, 4.0], "=hoved": [1, 2, 3, 4]})
    out = csv_frame(df)
    assert out["navn"].tolist() == ["'=1+1", "-1", "'@x", "ok"]
    assert out["tal"].tolist() == [-1.5, 2.0, -3.0, 4.0] and out["tal"].dtype == float
    assert "'=hoved" in out.columns


def test_slot_tokens_are_inert_in_jinja_and_filled_once():
    slots = Slots()
    t1 = slots.markup("<b>{{ 7*7 }}</b>")
    t2 = slots.js_string("x")
    t3 = slots.markup(t2)  # content that looks like a token is not substituted again
    page = Template(f"<p>{t1}</p><script>var n = \"{t2}\";</script>{t3}").render()
    page = Template(page).render()  # branca renders macro output a second time: still inert
    out = slots.fill(page)
    assert out == f"<p><b>{{{{ 7*7 }}}}</b></p><script>var n = \"x\";</script>{t2}"


def test_no_package_code_hands_text_to_branca_as_a_template():
    """By construction: every ``Element(...)`` in the package gets a slot token, never markup or text."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    bad = []
    for path in [*root.glob("maps/*.py"), *root.glob("layers/*.py"), *root.glob("kkr_geo/**/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Element":
                arg = node.args[0] if node.args else None
                ok = isinstance(arg, ast.Call) and getattr(arg.func, "attr", None) == "markup"
                if not ok:
                    bad.append(f"{path.name}:{node.lineno}")
    assert not bad, f"Element(...) with template source instead of a slot token: {bad}"


def test_console_text_shows_control_characters_instead_of_obeying_them():
    from kkr_geo.geo.safe_text import console_text

    assert console_text("Klinik \x1b[2J\x1b[31mA\x07\r") == "Klinik \\x1b[2J\\x1b[31mA\\x07\\x0d"
    assert console_text("\u202eevil.exe") == "<U+202E>evil.exe"
    assert console_text("Ørestad\tNord\n") == "Ørestad\tNord\n"
    assert console_text("\ud800") == "\ufffd"


def test_cli_messages_cannot_drive_the_terminal(real_data, tmp_path, capsys):
    from kkr_geo.cli import main

    rc = main(["--data-dir", str(real_data.path), "layers", "export", str(tmp_path / "lag\x1b[2J\u202e.txt")])
    err = capsys.readouterr().err
    raw = "\x1b" in err or "\u202e" in err
    check("console_control_chars", AREA, "parses", "unescaped" if raw else "parses", repr(err[-200:]))
    assert rc != 0 and "\\x1b[2J<U+202E>.txt" in err
