"""Ledger of the reliability suite: every bad input tried, what was expected and what happened.

Each test in ``test_reliability_*.py`` records its case *before* asserting, so a case that goes
wrong is still counted (as a silent loss or an unescaped string) and the summary stays honest.

Outcomes:

* ``parses``       the input was read correctly (values checked by the test)
* ``reported``     it was read, and every dropped/changed row or cell is listed in a report
* ``clear_error``  a :class:`geo.errors.KkrGeoError` (or CLI exit != 0 without traceback) naming
                   the file and the row/feature, with a hint
* ``refused``      a size guard refused the input with a clear error (scale cases)
* ``silent_loss``  data was lost or changed without a report: must never happen
* ``unescaped``    a user string reached an HTML page as markup: must never happen
* ``unclear``      an error without the file name / hint, or a traceback / internal error

At the end of the run the counts are printed in the terminal summary (``pytest -rA`` not needed);
set ``KKR_RELIABILITY_LEDGER=<file.json>`` to also write them as JSON.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import pytest

GOOD = {"parses", "reported", "clear_error", "refused"}
OUTCOMES = GOOD | {"silent_loss", "unescaped", "unclear"}


@dataclass
class Case:
    case_id: str
    area: str          # tables | geometry | cli | html | scale | properties
    expected: str      # one of GOOD
    outcome: str
    detail: str = ""


class Ledger:
    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.unescaped_strings = 0      # counted per string occurrence in the HTML checks
        self.html_strings_checked = 0
        self.executed_payloads = 0      # payloads that ran (Jinja code, script in a browser): must stay 0

    def record(self, case_id: str, area: str, expected: str, outcome: str, detail: str = "") -> Case:
        assert expected in GOOD, expected
        assert outcome in OUTCOMES, outcome
        case = Case(case_id, area, expected, outcome, detail)
        self.cases[case_id] = case
        return case

    def counts(self) -> dict:
        cases = list(self.cases.values())
        return {
            "inputs_tried": len(cases),
            "parsed": sum(c.outcome == "parses" for c in cases),
            "reported": sum(c.outcome == "reported" for c in cases),
            "clear_errors": sum(c.outcome in ("clear_error", "refused") for c in cases),
            "silent_losses": sum(c.outcome == "silent_loss" for c in cases),
            "unclear_errors": sum(c.outcome == "unclear" for c in cases),
            "unescaped_strings": self.unescaped_strings + sum(c.outcome == "unescaped" for c in cases),
            "html_strings_checked": self.html_strings_checked,
            "executed_payloads": self.executed_payloads,
            "refused_with_message": sum(c.outcome == "clear_error" for c in cases),
            "refused_by_guard": sum(c.outcome == "refused" for c in cases),
            "as_expected": sum(c.outcome == c.expected for c in cases),
        }


LEDGER = Ledger()


def error_is_clear(exc: BaseException, *must_name: str) -> bool:
    """A user-facing error: KkrGeoError, names each of ``must_name`` (file, line, feature), has a hint."""
    from kkr_geo.geo.errors import KkrGeoError

    if not isinstance(exc, KkrGeoError):
        return False
    text = str(exc)
    return bool(exc.hint) and all(str(n) in text for n in must_name)


def refusal_outcome(said: str, returncode: int, *must_name: str, must_not: tuple[str, ...] = ()) -> str:
    """How a command met input it must refuse: a traceback is ``unclear``, exit 0 a ``silent_loss``, a refusal
    naming each of ``must_name`` (and none of ``must_not``) a ``clear_error``, any other refusal ``unclear``."""
    if "Traceback" in said:
        return "unclear"
    if returncode == 0:
        return "silent_loss"
    ok = all(str(n) in said for n in must_name) and not any(n in said for n in must_not)
    return "clear_error" if ok else "unclear"


class _SummaryPlugin:
    def pytest_terminal_summary(self, terminalreporter):
        if not LEDGER.cases:
            return
        c = LEDGER.counts()
        tr = terminalreporter
        tr.section("reliability ledger")
        tr.write_line(f"inputs tried: {c['inputs_tried']}  (parsed {c['parsed']}, read with a report {c['reported']}, "
                      f"refused with a message {c['clear_errors']})")
        tr.write_line(f"silent losses: {c['silent_losses']}  unclear errors: {c['unclear_errors']}  "
                      f"unescaped strings: {c['unescaped_strings']} (of {c['html_strings_checked']} hostile strings checked in HTML)  "
                      f"executed payloads: {c['executed_payloads']}")
        by_area: dict[str, int] = {}
        for case in LEDGER.cases.values():
            by_area[case.area] = by_area.get(case.area, 0) + 1
        tr.write_line("by area: " + ", ".join(f"{a} {n}" for a, n in sorted(by_area.items())))
        for case in LEDGER.cases.values():
            if case.outcome != case.expected:
                tr.write_line(f"  NOT AS EXPECTED: {case.case_id}: expected {case.expected}, got {case.outcome} {case.detail}")
        out = os.environ.get("KKR_RELIABILITY_LEDGER")
        if out:
            with open(out, "w", encoding="utf-8") as fh:
                json.dump({"counts": c, "cases": [asdict(x) for x in LEDGER.cases.values()]}, fh, indent=1, ensure_ascii=False)


_PLUGIN = _SummaryPlugin()


@pytest.fixture(scope="session", autouse=True)
def reliability_ledger(request):
    """Autouse in every module that imports it: registers the summary printer once."""
    pm = request.config.pluginmanager
    if not pm.is_registered(_PLUGIN):
        pm.register(_PLUGIN, "kkr-reliability-ledger")
    return LEDGER


def check(case_id: str, area: str, expected: str, outcome: str, detail: str = "") -> None:
    """Record the case, then assert it came out as expected."""
    LEDGER.record(case_id, area, expected, outcome, detail)
    assert outcome == expected, f"{case_id}: expected {expected}, got {outcome}: {detail}"
