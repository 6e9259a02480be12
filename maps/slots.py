"""Keep user content out of folium's template engine.

branca renders every element's macros with Jinja and then parses the result *again* as a template
(``Element(script(self, kwargs))``), so any user string that reached folium as a value or as markup was
template source: ``{{ 7*7 }}`` became ``49`` and ``{{ cycler.__init__.__globals__.os... }}`` ran Python.
Here every piece of user content (GeoJSON with tooltips, layer names, the title box, the legend) is
handed to folium as an inert token (letters and digits only), and the real content is put in only
after the page has been rendered, inlined and renumbered, in one pass that never re-reads what it
inserts. The content itself is escaped for its context by :mod:`kkr_geo.geo.safe_text`.
"""

from __future__ import annotations

import re
import secrets

from kkr_geo.geo.safe_text import script_json, script_string_body


class Slots:
    def __init__(self) -> None:
        self._nonce = secrets.token_hex(6)
        self._values: list[str] = []
        self._re = re.compile(rf"kkrslot{self._nonce}n(\d+)z")

    def _token(self, content: str) -> str:
        self._values.append(content)
        return f"kkrslot{self._nonce}n{len(self._values) - 1}z"

    def markup(self, html: str) -> str:
        """A token for trusted markup built by this package from escaped parts (HTML context)."""
        return self._token(html)

    def js_value(self, obj) -> str:
        """A token standing for a JS expression: ``obj`` as script-safe JSON."""
        return self._token(script_json(obj))

    def js_string(self, text) -> str:
        """A token placed *inside* a JS string literal (e.g. a layer name that folium JSON-quotes)."""
        return self._token(script_string_body(text))

    def fill(self, page: str) -> str:
        """Put the content in; raises if a token went missing (folium changed how it renders)."""
        used: set[int] = set()

        def repl(m):
            i = int(m.group(1))
            used.add(i)
            return self._values[i]
        out = self._re.sub(repl, page)
        missing = set(range(len(self._values))) - used
        if missing:
            raise RuntimeError(f"{len(missing)} content slot(s) were not found in the rendered page")
        return out
