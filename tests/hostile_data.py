"""A hostile data directory and spec set for the security tests (issue 8).

Every payload is something a careless analyst or an attacker could put into an input the tool reads:
the clinic CSV (``navn``), the DAGI municipality file (``KOMNAVN``), the gazetteer (station ``name``)
and a map spec (title, subtitle, layer label, tooltip labels). If any payload ran, it would set
``window.__pwned``, change ``document.title`` to ``PWNED`` or create the directory ``PWN_DIR`` (Jinja).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import writable_subdir


def jinja_payloads(pwn_dir: Path) -> list[str]:
    d = str(pwn_dir).replace("\\", "/")
    return [
        "Klinik {{ 7*7 }} A",
        "{{ cycler.__init__.__globals__.os.mkdir('" + d + "') }}",
        "{% if True %}ja{% endif %} B",
        "{# kommentar C",
        "{{ D",
        "{% raw %}E",
    ]


SCRIPT_PAYLOADS = [
    '"};window.__pwned=1;document.title="PWNED";//',
    "</script><script>window.__pwned=1;document.title='PWNED'</script>",
    "<img src=x onerror=\"window.__pwned=1;document.title='PWNED'\">",
    "<svg onload=\"window.__pwned=1\"></svg>",
    "'-(window.__pwned=1)-'",
    "<!--<script>window.__pwned=1</script>",
    "Linje\u2028skift\u2029 F",
    "\u202eevil.exe G",
    "Formel =HYPERLINK(\"http://x.invalid\",\"klik\")",
]
FORMULAS = ['=HYPERLINK("http://x.invalid","klik")', "+SUM(1+1)*cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]
LONG_NAME = "Langt navn " + "x" * 10_000
LONE_SURROGATE = "Surrogat \ud800 H"


def all_payloads(pwn_dir: Path) -> list[str]:
    return jinja_payloads(pwn_dir) + SCRIPT_PAYLOADS + [LONG_NAME]


def make_data_dir(shared: Path, root: Path, pwn_dir: Path) -> Path:
    """A data directory of links to ``shared`` with hostile clinic, DAGI and gazetteer files."""
    root.mkdir(parents=True, exist_ok=True)
    for child in shared.iterdir():
        (root / child.name).symlink_to(child)
    payloads = all_payloads(pwn_dir)
    # clinics: one per payload, spread over the region
    writable_subdir(root, "klinikker")
    rows = ["navn;lat;lon;kapacitet_sp51"]
    for i, p in enumerate(payloads + FORMULAS):
        name = p.replace('"', '""')
        rows.append(f"\"{name}\";{55.60 + 0.02 * (i % 12):.4f};{12.20 + 0.03 * (i // 12):.4f};1")
    (root / "klinikker" / "klinikker.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    # DAGI: rename some Region Hovedstaden municipalities (the JSON file escapes the lone surrogate)
    dagi = json.loads((shared / "dagi" / "kommuner.geojson").read_text(encoding="utf-8"))
    new_names = {"0165": jinja_payloads(pwn_dir)[1], "0151": "Ballerup {{ 7*7 }}", "0153": SCRIPT_PAYLOADS[0],
                 "0157": SCRIPT_PAYLOADS[2] + " <script>window.__pwned=1</script>", "0159": FORMULAS[0],
                 "0161": LONE_SURROGATE, "0163": SCRIPT_PAYLOADS[7], "0167": "{# Hvidovre", "0169": FORMULAS[1]}
    for f in dagi["features"]:
        code = str(f["properties"].get("KOMKODE", "")).zfill(4)
        if code in new_names:
            f["properties"]["KOMNAVN"] = new_names[code]
    writable_subdir(root, "dagi")
    (root / "dagi" / "kommuner.geojson").unlink()
    (root / "dagi" / "kommuner.geojson").write_text(json.dumps(dagi), encoding="utf-8")
    # gazetteer: two hostile stations
    writable_subdir(root, "gazetteer")
    gz = (shared / "gazetteer" / "gazetteer.csv").read_text(encoding="utf-8").rstrip("\n").split("\n")
    gz.append('"Station {{ 7*7 }} ' + SCRIPT_PAYLOADS[1].replace('"', '""') + '",s_station,55.70,12.45,Gladsaxe,test,high')
    gz.append('"' + SCRIPT_PAYLOADS[2].replace('"', '""') + '",metro,55.69,12.55,København,test,high')
    (root / "gazetteer" / "gazetteer.csv").unlink()
    (root / "gazetteer" / "gazetteer.csv").write_text("\n".join(gz) + "\n", encoding="utf-8")
    return root


def make_spec_dir(shipped: Path, spec_dir: Path, pwn_dir: Path) -> Path:
    """The shipped clinic-gap and station specs plus one spec whose own texts are hostile."""
    spec_dir.mkdir(parents=True, exist_ok=True)
    for name in ("klinik_daekningshuller", "stationsnaerhed"):
        (spec_dir / f"{name}.yaml").write_text((shipped / f"{name}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    j = jinja_payloads(pwn_dir)
    s = SCRIPT_PAYLOADS
    spec = {
        "name": "ondsindet", "title": f"Titel {j[0]} {j[1]} {s[1]}", "subtitle": f"Undertitel {j[2]} {s[0]} {s[2]} {j[3]}",
        "description": "hostile spec",
        "layers": [
            {"id": "kom", "source": "kommuner", "style": "fill", "label": f"Lagnavn {{{{ 7*7 }}}} L {j[1]} {s[1]} {j[4]}",
             "tooltip": [{"navn": f"Navn {j[0]} {s[2]}"}]},
            {"id": "kl", "source": "klinikker", "style": "point", "label": f"Klinikker {s[3]} {j[5]}",
             "tooltip": [{"navn": f"Klinik {s[0]}"}]},
        ],
        "labels": {"layer": "kom", "column": "navn"},
        "sources": [f"kilde {j[1]} {s[2]}"],
        "notes": [f"note {j[0]} {s[1]}"],
    }
    (spec_dir / "ondsindet.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return spec_dir
