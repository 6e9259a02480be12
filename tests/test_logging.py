"""Messages: results on stdout, progress/notes/warnings on stderr through logging, -q and -v, the progress line."""

from __future__ import annotations

import io
import logging
import sys

from kkr_geo.cli import main
from kkr_geo.log import get_logger, setup, step

ONLY = ["--only", "borgere_pr_kapacitet_sp62", "--formats", "png", "--dpi", "30"]


def test_results_on_stdout_progress_on_stderr(synth_data, tmp_path, capsys):
    assert main(["--data-dir", str(synth_data.path), "build", "--out", str(tmp_path), *ONLY]) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("borgere_pr_kapacitet_sp62: ")
    assert str(tmp_path / "borgere_pr_kapacitet_sp62.png") in lines[0]
    assert "[1/1] borgere_pr_kapacitet_sp62: borgere_pr_kapacitet_sp62.png" in err
    assert "done: 1 map(s) built, 0 skipped" in err and "debug:" not in err


def test_quiet_and_verbose(synth_data, tmp_path, capsys):
    assert main(["--data-dir", str(synth_data.path), "build", "--out", str(tmp_path), *ONLY, "-q"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "borgere_pr_kapacitet_sp62.png" in out
    assert main(["-v", "--data-dir", str(synth_data.path), "build", "--out", str(tmp_path), *ONLY]) == 0
    err = capsys.readouterr().err
    assert "debug: kkr_geo.maps.build: borgere_pr_kapacitet_sp62 took" in err and "[1/1]" in err


def test_a_skipped_map_is_a_warning(data_copy, tmp_path, capsys):
    root = data_copy(exclude=("klinikker/",))
    rc = main(["build", "--data-dir", str(root), "--out", str(tmp_path), "--only", "klinik_daekningshuller",
               "--formats", "png", "--dpi", "30", "-q"])
    out, err = capsys.readouterr()
    assert rc == 3  # nothing could be built
    assert err.startswith("kkr-geo: warning: [1/1] klinik_daekningshuller: skipped – ")  # shown even with -q
    assert "klinikker" in err and "klinik_daekningshuller: not built – " in out


def test_the_api_logs_without_printing(synth_data, tmp_path, caplog, capsys):
    """The library never prints: a program using build() sees the progress as log records."""
    from kkr_geo.maps.build import build

    caplog.set_level(logging.INFO, logger="kkr_geo")
    collected: list[str] = []
    build(synth_data, tmp_path, only=["borgere_pr_kapacitet_sp62"], formats=["png"], dpi=30, log=collected.append)
    assert capsys.readouterr().out == ""
    messages = [r.getMessage() for r in caplog.records if r.name == "kkr_geo.maps.build"]
    assert any(m.startswith("[1/1] borgere_pr_kapacitet_sp62: ") for m in messages)
    assert collected == [m for m in messages]  # the collector sees the same messages


def test_progress_line_only_on_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    logger = get_logger("kkr_geo.test")
    setup()
    for stream, shown in ((Tty(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        with step(logger, 2, 5, "brt_oplande"):
            logger.info("a note while the step runs")
        text = stream.getvalue()
        if shown:  # the transient line is cleared before the note is written
            assert text == "\r\x1b[K[2/5] brt_oplande …\r\x1b[Ka note while the step runs\n"
        else:
            assert text == "a note while the step runs\n"
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    with step(logger, 1, 1, "GeoPackage"):
        pass
    assert tty.getvalue() == "\r\x1b[K[1/1] GeoPackage …\r\x1b[K"  # cleared when the step ends


def test_library_code_never_prints():
    """Logging is the only sink of geo/, layers/ and maps/: no call of ``print`` and no ``print`` as a default
    output (``say=print``, ``log=print``); results printed on stdout belong to kkr_geo/commands (read with ast)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    found = []
    for folder in ("geo", "layers", "maps"):
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Name) and node.id == "print":
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []


def test_the_fetchers_and_the_annex_set_log_by_default(tmp_path, caplog, capsys):
    """Their default output is the log (they printed to stdout before issue 21)."""
    import urllib.error

    import pytest

    from kkr_geo.geo.errors import DataError
    from kkr_geo.layers import fetch_sources
    from kkr_geo.maps.annex_set import AnnexOutputs, AnnexSet

    def offline(request):
        raise urllib.error.URLError("offline (test)")

    caplog.set_level(logging.INFO, logger="kkr_geo")
    with pytest.raises(DataError, match="cannot reach"):
        fetch_sources.fetch_source("supercykelstier", tmp_path, opener=offline)
    AnnexSet(tmp_path).add(AnnexOutputs(messages=["kort: en besked"]))
    assert capsys.readouterr().out == ""
    messages = [(r.name, r.getMessage()) for r in caplog.records]
    assert ("kkr_geo.layers.fetch_sources", "fetching supercykelstier ...") in messages
    assert ("kkr_geo.maps.annex_set", "kort: en besked") in messages
