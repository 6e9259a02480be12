"""Run a page in headless Chromium and read back what a script found there.

A copy of the page gets the probe script (and, for accessibility checks, axe-core) injected before
``</body>``; the probe writes JSON into ``<pre id="kkr-probe">``; Chromium's ``--dump-dom`` prints the
DOM once the page's scripts (and promises, within a virtual time budget) have run.

Missing tools: the test skips locally but FAILS when ``CI=true`` (``.ci/run`` installs Chromium and
axe-core; a skipped check in CI is no check).
"""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AXE_PATH = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def _need(what: str, hint: str):
    msg = f"{what} not available ({hint})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + "; CI must run this check: .ci/run installs it")
    pytest.skip(msg)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    _need("chromium", "apt-get install -y chromium")


def axe_source() -> str:
    if not AXE_PATH.exists():
        _need("axe-core", "npm install --no-save axe-core in the checkout")
    return AXE_PATH.read_text(encoding="utf-8")


def probe(page: Path, script: str, *, width: int = 1400, height: int = 900, extra_js: str = "",
          budget_ms: int = 15000):
    """Load ``page`` at ``width`` × ``height`` and return the JSON that ``script`` passed to ``report(obj)``.

    ``script`` runs after the page's load event; it may return a promise."""
    exe = chromium()
    text = page.read_text(encoding="utf-8")
    # The page runs in an iframe of exactly width × height (headless Chromium's window is at least
    # 500 px wide; an iframe's media queries follow the frame) and posts its report to the wrapper.
    runner = ("<script>" + extra_js.replace("</script", "<\\/script") + "</script><script>"
              "function report(o){parent.postMessage('kkr-probe:'+JSON.stringify(o),'*');}"
              "window.addEventListener('load',function(){Promise.resolve().then(function(){" + script + "})"
              ".catch(function(e){report({error:String(e)})});});</script>")
    wrapper = ("<!DOCTYPE html><html lang=\"da\"><head><title>probe</title></head><body style=\"margin:0\">"
               f"<iframe id=\"f\" title=\"kort\" src=\"{page.name}\" style=\"border:0;width:{width}px;height:{height}px\"></iframe>"
               "<script>window.addEventListener('message',function(e){if(typeof e.data==='string'&&e.data.indexOf('kkr-probe:')===0)"
               "{var p=document.createElement('pre');p.id='kkr-probe';p.textContent=e.data.slice(10);document.body.appendChild(p);}});"
               "</script></body></html>")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / page.name
        copy.write_text(text.replace("</body>", runner + "</body>", 1), encoding="utf-8")
        (Path(tmp) / "wrapper.html").write_text(wrapper, encoding="utf-8")
        profile = Path(tmp) / "profile"
        proc = subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             f"--user-data-dir={profile}", f"--window-size={max(width, 500) + 40},{height + 40}",
             f"--virtual-time-budget={budget_ms}", "--dump-dom", (Path(tmp) / "wrapper.html").as_uri()],
            capture_output=True, text=True, timeout=180)
    m = re.search(r'<pre id="kkr-probe">(.*?)</pre>', proc.stdout, re.S)
    if not m:
        raise AssertionError(f"the probe did not report (chromium exit {proc.returncode}): {proc.stderr[-1500:]}")
    out = json.loads(htmllib.unescape(m.group(1)))
    if isinstance(out, dict) and "error" in out:
        raise AssertionError(f"probe script failed: {out['error']}")
    return out


AXE_SCRIPT = """
return axe.run(document, {resultTypes: ['violations']}).then(function (r) {
  report(r.violations.map(function (v) {
    return {id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(function (n) { return n.target.join(' ') + ' :: ' + (n.failureSummary || ''); })};
  }));
});
"""


def axe_violations(page: Path, *, width: int = 1400, height: int = 900) -> list[dict]:
    """axe-core's violations on ``page`` (WCAG rules incl. colour contrast), as dicts (id, impact, help, nodes)."""
    return probe(page, AXE_SCRIPT, width=width, height=height, extra_js=axe_source())
