"""Make folium's HTML self-contained: inline Leaflet's JavaScript and CSS (and the CSS's images).

Leaflet comes from the ``django-js-lib-leaflet`` wheel (``js_lib_leaflet``, Leaflet 1.9.4, BSD-2-Clause;
no Django needed at run time). Every ``<script src=...>`` and ``<link rel=stylesheet href=...>`` in the
page is replaced by the local file's content; an external asset that has no local copy is an error,
so a new plugin can never silently make a map depend on a CDN. Random element ids that folium
generates are renumbered so the same map gives the same bytes.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from kkr_geo.geo.errors import DataError

_SCRIPT_RE = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"'][^>]*>\s*</script>", re.I)
_LINK_RE = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']([^\"']+)[\"'][^>]*/?>", re.I)
_ID_RE = re.compile(r"\b([a-z][a-z0-9_]*?)_([0-9a-f]{32})(?![0-9a-f])")
# Any reference that would make a browser fetch code or styles from the network.
EXTERNAL_ASSET_RE = re.compile(
    r"<script\b[^>]*\bsrc\s*=|<link\b[^>]*rel\s*=\s*[\"']?stylesheet[^>]*href\s*=\s*[\"']?(?:https?:)?//|@import\s+url\(\s*[\"']?(?:https?:)?//",
    re.I)


@lru_cache(maxsize=None)
def _leaflet_dir() -> Path:
    try:
        base = resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
    except ModuleNotFoundError:
        raise DataError("Leaflet's JavaScript is not installed (package django-js-lib-leaflet).",
                        hint="pip install django-js-lib-leaflet (a dependency of kkr-geo; it only ships leaflet.js/css).") from None
    return Path(str(base))


@lru_cache(maxsize=None)
def leaflet_js() -> str:
    return (_leaflet_dir() / "leaflet.js").read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def leaflet_css() -> str:
    css = (_leaflet_dir() / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match):
        name = match.group(1)
        path = _leaflet_dir() / "images" / name
        if not path.exists():
            return match.group(0)
        return f"url(data:image/png;base64,{base64.b64encode(path.read_bytes()).decode('ascii')})"
    return re.sub(r"url\(\s*[\"']?images/([A-Za-z0-9_.-]+\.png)[\"']?\s*\)", data_uri, css)


def _local_asset(url: str) -> tuple[str, str] | None:
    name = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1].lower()
    if name in ("leaflet.js", "leaflet-src.js"):
        return "js", leaflet_js()
    if name == "leaflet.css":
        return "css", leaflet_css()
    return None


def _safe_script(code: str) -> str:
    return code.replace("</script", "<\\/script")


def inline_assets(html: str) -> str:
    """Replace external script/stylesheet references by inline copies; raise for unknown ones."""
    missing: list[str] = []

    def script(match):
        asset = _local_asset(match.group(1))
        if asset is None or asset[0] != "js":
            missing.append(match.group(1))
            return match.group(0)
        return f"<script>{_safe_script(asset[1])}</script>"

    def link(match):
        tag = match.group(0)
        if not re.search(r"rel\s*=\s*[\"']?stylesheet", tag, re.I):
            return tag
        asset = _local_asset(match.group(1))
        if asset is None or asset[0] != "css":
            missing.append(match.group(1))
            return tag
        css = asset[1].replace("</style", "<\\/style")
        return f"<style>{css}</style>"

    html = _SCRIPT_RE.sub(script, html)
    html = _LINK_RE.sub(link, html)
    if missing:
        raise DataError(f"the interactive map refers to external assets with no local copy: {', '.join(missing)}.",
                        hint="remove the plugin or add its files to maps/inline.py.")
    return html


def stable_ids(html: str) -> str:
    """Renumber folium's random 32-hex element ids (``map_3f2a...``) in order of appearance."""
    mapping: dict[str, str] = {}

    def repl(match):
        key = match.group(2)
        if key not in mapping:
            mapping[key] = f"{len(mapping):04d}"
        return f"{match.group(1)}_{mapping[key]}"
    return _ID_RE.sub(repl, html)


def external_asset_urls(html: str) -> list[str]:
    """External script/stylesheet URLs left in ``html`` (for tests and checks)."""
    out = [m.group(1) for m in _SCRIPT_RE.finditer(html)]
    out += [m.group(1) for m in _LINK_RE.finditer(html)
            if re.search(r"rel\s*=\s*[\"']?stylesheet", m.group(0), re.I)]
    out += re.findall(r"@import\s+url\(\s*[\"']?([^\"')]+)", html)
    return out
