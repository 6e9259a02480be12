"""Map specifications: one small YAML file per map in ``maps/specs/``.

A spec is validated on load; every error names the file and the key (``kommuner.yaml: layers[2].style: ...``).
See ``docs/maps.md`` for the format. Minimal example::

    title: Borgere pr. kapacitet, almen fysioterapi
    layers:
      - {id: omr, source: planlaegningsomraader, style: choropleth}
    indicator: {layer: omr, column: borgere_pr_kapacitet_sp51, label: Borgere pr. kapacitet}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from kkr_geo.geo.errors import InputError
from kkr_geo.geo.limits import DPI_RANGE, dpi_ok, range_text
from kkr_geo.maps.classify import COLOURBLIND_SAFE, DEFAULT_PALETTE, SCHEMES
from kkr_geo.maps.formats import DEFAULT_FORMATS, FORMATS  # FORMATS re-exported here

PAGE_SIZES_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
ORIENTATIONS = ("portrait", "landscape")
STYLES = ("choropleth", "fill", "outline", "line", "point", "catchment", "gap", "flow", "context")
NAME_RE = re.compile(r"[a-z0-9_]+\Z")  # \Z, not $: "evil\n" must not pass

_TOP_KEYS = {"name", "title", "subtitle", "page", "formats", "dpi", "extent", "inset", "indicator",
             "classification", "palette", "allow_unsafe_palette", "labels", "layers", "sources", "notes",
             "data_date", "tiles", "description", "figures", "copenhagen_inset", "table", "claims", "tal"}
_LAYER_KEYS = {"id", "source", "style", "label", "colour", "tooltip", "popup", "filter", "legend",
               "width", "size", "show", "schematic", "source_note", "optional"}


@dataclass
class LayerSpec:
    id: str
    source: str
    style: str
    label: str | None = None
    colour: str | None = None
    tooltip: list[str] = field(default_factory=list)   # columns; "kolonne: Dansk navn" allowed via dict
    tooltip_names: dict[str, str] = field(default_factory=dict)
    popup: list[str] = field(default_factory=list)
    filter: dict = field(default_factory=dict)          # {column: value or [values]}
    legend: bool = True
    width: float | None = None
    size: float | None = None
    show: bool = True
    schematic: bool | None = None                      # override; default from the layer's precision
    source_note: str | None = None
    optional: bool = False                              # skip (with a footnote) when the source is unavailable


@dataclass
class IndicatorSpec:
    layer: str
    column: str
    label: str
    unit: str | None = None
    decimals: int = 0
    darker: str | None = None       # what a darker class means, e.g. "flere borgere pr. kapacitet"


@dataclass
class ClassificationSpec:
    scheme: str = "quantiles"
    k: int = 5
    breaks: list[float] | None = None
    # Columns of the indicator layer whose values are pooled to compute the breaks, so that maps meant to
    # be compared (speciale 51 and 62) share their classes; ``pool_note`` says so in the legend.
    pool: list[str] = field(default_factory=list)
    pool_note: str | None = None


@dataclass
class MapSpec:
    name: str
    title: str
    path: Path | None = None
    subtitle: str | None = None
    page_size: str = "A4"
    orientation: str = "portrait"
    formats: tuple[str, ...] = DEFAULT_FORMATS
    dpi: int = 300
    extent: object = "region"
    inset: str = "auto"             # "auto", "bornholm", "none"
    indicator: IndicatorSpec | None = None
    classification: ClassificationSpec = field(default_factory=ClassificationSpec)
    palette: str = DEFAULT_PALETTE
    labels: list[dict] = field(default_factory=list)  # [{layer: id, column: navn}, ...] in priority order
    layers: list[LayerSpec] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data_date: str | None = None
    tiles: bool = True
    description: str | None = None
    figures: dict | None = None     # {layer: id, title: str}: catchment population box
    copenhagen_inset: bool = False  # a København/Frederiksberg panel at a larger scale (planning-area maps)
    table: dict | None = None       # {source: name, title: str, columns: {column: header}}: a table under the map
    claims: list = field(default_factory=list)  # maps.claims.Claim: what the texts' area names say, checked on the data
    tal: dict = field(default_factory=dict)     # {name: maps.text_figures.Figure}: the texts' {tal:name}, from the data

    @property
    def page_mm(self) -> tuple[float, float]:
        w, h = PAGE_SIZES_MM[self.page_size]
        return (w, h) if self.orientation == "portrait" else (h, w)

    def layer(self, layer_id: str) -> LayerSpec:
        for lay in self.layers:
            if lay.id == layer_id:
                return lay
        raise KeyError(layer_id)


class _Checker:
    def __init__(self, label: str):
        self.label = label

    def fail(self, key: str, message: str, hint: str | None = None):
        raise InputError(f"{self.label}: {key}: {message}", hint=hint)

    def typed(self, data: dict, key: str, types, default=None, *, required=False, where: str = ""):
        full = f"{where}{key}"
        if key not in data or data[key] is None:
            if required:
                self.fail(full, "is required.")
            return default
        value = data[key]
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            self.fail(full, f"expected {_tname(types)}, got {value!r}.")
        if not isinstance(value, types):
            self.fail(full, f"expected {_tname(types)}, got {type(value).__name__} {value!r}.")
        return value

    def unknown(self, data: dict, allowed: set, where: str = ""):
        for key in data:
            if key not in allowed:
                close = [a for a in sorted(allowed) if a[:3] == str(key)[:3]]
                self.fail(f"{where}{key}", "unknown key.",
                          hint=(f"did you mean {close[0]!r}? " if close else "") + f"allowed keys: {', '.join(sorted(allowed))}")


def _tname(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    names = {str: "text", int: "integer", float: "number", bool: "true/false", list: "list", dict: "mapping"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _str_list(ck: _Checker, data: dict, key: str, where: str = "") -> list[str]:
    value = ck.typed(data, key, (list, str), [], where=where)
    if isinstance(value, str):
        value = [value]
    for i, v in enumerate(value):
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            ck.fail(f"{where}{key}[{i}]", f"expected text, got {v!r}.")
    return [str(v) for v in value]


def parse_spec(data, *, label: str = "<spec>", name: str | None = None, path: Path | None = None,
               known_sources=None) -> MapSpec:
    """Validate a spec mapping (already parsed YAML) and return a :class:`MapSpec`.

    With ``known_sources`` (names), every layer's ``source`` must be one of them; :func:`load_spec`
    passes the registry's names (:func:`kkr_geo.layers.registry.source_names`)."""
    ck = _Checker(label)
    if not isinstance(data, dict):
        raise InputError(f"{label}: the file must contain a mapping of keys (title, layers, ...), got {type(data).__name__}.")
    ck.unknown(data, _TOP_KEYS)
    name = ck.typed(data, "name", str, name)
    if not name or not NAME_RE.match(name):
        ck.fail("name", f"{name!r} is not a valid map name.", hint="use lower-case letters, digits and _ (it names the output files).")
    title = ck.typed(data, "title", str, required=True)
    if not title.strip():
        ck.fail("title", "must not be empty.")
    spec = MapSpec(name=name, title=title.strip(), path=path)
    spec.subtitle = ck.typed(data, "subtitle", str)
    spec.description = ck.typed(data, "description", str)
    spec.data_date = str(ck.typed(data, "data_date", (str, int))) if data.get("data_date") is not None else None

    page = ck.typed(data, "page", dict, {})
    ck.unknown(page, {"size", "orientation"}, "page.")
    spec.page_size = str(ck.typed(page, "size", str, "A4", where="page.")).upper()
    if spec.page_size not in PAGE_SIZES_MM:
        ck.fail("page.size", f"{page.get('size')!r} is not supported.", hint="use A4 or A3.")
    spec.orientation = ck.typed(page, "orientation", str, "portrait", where="page.")
    if spec.orientation not in ORIENTATIONS:
        ck.fail("page.orientation", f"{spec.orientation!r} is not supported.", hint="use portrait or landscape.")

    formats = _str_list(ck, data, "formats") or list(DEFAULT_FORMATS)
    for i, f in enumerate(formats):
        if f not in FORMATS:
            ck.fail(f"formats[{i}]", f"unknown output format {f!r}.", hint=f"use any of: {', '.join(FORMATS)}")
    spec.formats = tuple(dict.fromkeys(formats))
    spec.dpi = ck.typed(data, "dpi", int, 300)
    if not dpi_ok(spec.dpi):
        ck.fail("dpi", f"{spec.dpi} is out of range.", hint=f"use 300 for print ({range_text(DPI_RANGE)} allowed).")
    spec.tiles = ck.typed(data, "tiles", bool, True)
    spec.copenhagen_inset = ck.typed(data, "copenhagen_inset", bool, False)

    extent = data.get("extent", "region")
    if isinstance(extent, str):
        pass
    elif isinstance(extent, list) and len(extent) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in extent):
        if not (extent[0] < extent[2] and extent[1] < extent[3]):
            ck.fail("extent", "must be [minx, miny, maxx, maxy] in EPSG:25832 with min < max.")
    else:
        ck.fail("extent", f"expected 'region', a layer id, or [minx, miny, maxx, maxy] in EPSG:25832, got {extent!r}.")
    spec.extent = extent
    spec.inset = str(ck.typed(data, "inset", (str, bool), "auto"))
    if spec.inset in ("False", "false"):
        spec.inset = "none"
    if spec.inset not in ("auto", "bornholm", "none", "True"):
        ck.fail("inset", f"{spec.inset!r} is not supported.", hint="use auto, bornholm or none.")
    if spec.inset == "True":
        spec.inset = "bornholm"

    spec.palette = ck.typed(data, "palette", str, DEFAULT_PALETTE)
    unsafe_ok = ck.typed(data, "allow_unsafe_palette", bool, False)
    if spec.palette not in COLOURBLIND_SAFE and not unsafe_ok:
        ck.fail("palette", f"{spec.palette!r} is not in the colour-blind-safe list.",
                hint=f"use one of {', '.join(COLOURBLIND_SAFE[:8])}, ... or set allow_unsafe_palette: true.")

    layers = ck.typed(data, "layers", list, required=True)
    if not layers:
        ck.fail("layers", "must list at least one layer.")
    seen = set()
    for i, raw in enumerate(layers):
        where = f"layers[{i}]."
        if not isinstance(raw, dict):
            ck.fail(f"layers[{i}]", f"expected a mapping with id, source, style, got {raw!r}.")
        ck.unknown(raw, _LAYER_KEYS, where)
        source = ck.typed(raw, "source", str, required=True, where=where)
        if known_sources is not None and source not in known_sources:
            import difflib
            close = difflib.get_close_matches(source, list(known_sources), n=1)
            ck.fail(f"{where}source", f"unknown source {source!r}.",
                    hint=(f"did you mean {close[0]!r}? " if close else "") + f"sources: {', '.join(known_sources)}")
        lid = ck.typed(raw, "id", str, source, where=where)
        if lid in seen:
            ck.fail(f"{where}id", f"duplicate layer id {lid!r}.")
        seen.add(lid)
        style = ck.typed(raw, "style", str, required=True, where=where)
        if style not in STYLES:
            ck.fail(f"{where}style", f"unknown style {style!r}.", hint=f"use one of: {', '.join(STYLES)}")
        tip_raw = raw.get("tooltip", [])
        names: dict[str, str] = {}
        cols: list[str] = []
        if isinstance(tip_raw, dict):
            for k, v in tip_raw.items():
                cols.append(str(k))
                names[str(k)] = str(v)
        else:
            for j, item in enumerate(tip_raw if isinstance(tip_raw, list) else [tip_raw]):
                if isinstance(item, dict) and len(item) == 1:
                    (k, v), = item.items()
                    cols.append(str(k))
                    names[str(k)] = str(v)
                elif isinstance(item, str):
                    cols.append(item)
                else:
                    ck.fail(f"{where}tooltip[{j}]", f"expected a column name or {{column: Dansk navn}}, got {item!r}.")
        filt = ck.typed(raw, "filter", dict, {}, where=where)
        lay = LayerSpec(
            id=lid, source=source, style=style,
            label=ck.typed(raw, "label", str, where=where),
            colour=ck.typed(raw, "colour", str, where=where),
            tooltip=cols, tooltip_names=names,
            popup=_str_list(ck, raw, "popup", where),
            filter=filt,
            legend=ck.typed(raw, "legend", bool, True, where=where),
            width=float(ck.typed(raw, "width", (int, float), 0, where=where)) or None,
            size=float(ck.typed(raw, "size", (int, float), 0, where=where)) or None,
            show=ck.typed(raw, "show", bool, True, where=where),
            schematic=ck.typed(raw, "schematic", bool, None, where=where),
            source_note=ck.typed(raw, "source_note", str, where=where),
            optional=ck.typed(raw, "optional", bool, False, where=where),
        )
        if lay.colour is not None and not re.match(r"^#[0-9a-fA-F]{6}$", lay.colour):
            ck.fail(f"{where}colour", f"{lay.colour!r} is not a colour.", hint="use a hex colour such as #1f78b4.")
        spec.layers.append(lay)

    ind = ck.typed(data, "indicator", dict)
    choropleths = [lay for lay in spec.layers if lay.style == "choropleth"]
    if ind is not None:
        ck.unknown(ind, {"layer", "column", "label", "unit", "decimals", "darker"}, "indicator.")
        layer_id = ck.typed(ind, "layer", str, choropleths[0].id if choropleths else None, where="indicator.")
        if layer_id is None or layer_id not in seen:
            ck.fail("indicator.layer", f"{layer_id!r} is not one of the spec's layer ids ({', '.join(sorted(seen))}).")
        spec.indicator = IndicatorSpec(
            layer=layer_id,
            column=ck.typed(ind, "column", str, required=True, where="indicator."),
            label=ck.typed(ind, "label", str, required=True, where="indicator."),
            unit=ck.typed(ind, "unit", str, where="indicator."),
            decimals=ck.typed(ind, "decimals", int, 0, where="indicator."),
            darker=ck.typed(ind, "darker", str, where="indicator."),
        )
    if choropleths and spec.indicator is None:
        ck.fail("indicator", f"layer {choropleths[0].id!r} has style choropleth, which needs an indicator (layer, column, label).")

    cls = ck.typed(data, "classification", dict, {})
    ck.unknown(cls, {"scheme", "k", "breaks", "pool", "pool_note"}, "classification.")
    scheme = ck.typed(cls, "scheme", str, "quantiles", where="classification.")
    scheme = scheme.replace(" ", "_").replace("-", "_")
    if scheme not in SCHEMES:
        ck.fail("classification.scheme", f"unknown scheme {cls.get('scheme')!r}.", hint=f"use one of: {', '.join(SCHEMES)}")
    k = ck.typed(cls, "k", int, 5, where="classification.")
    if not 2 <= k <= 9:
        ck.fail("classification.k", f"{k} classes: use 2 to 9 (a printed legend is unreadable beyond that).")
    breaks = ck.typed(cls, "breaks", list, None, where="classification.")
    if scheme == "manual":
        if not breaks:
            ck.fail("classification.breaks", "manual classification needs a list of upper class bounds.")
        for j, b in enumerate(breaks):
            if not isinstance(b, (int, float)) or isinstance(b, bool):
                ck.fail(f"classification.breaks[{j}]", f"expected a number, got {b!r}.")
        if list(breaks) != sorted(breaks) or len(set(breaks)) != len(breaks):
            ck.fail("classification.breaks", "must be strictly increasing.")
    elif breaks:
        ck.fail("classification.breaks", f"breaks are only used with scheme: manual (scheme is {scheme}).")
    pool = _str_list(ck, cls, "pool", "classification.")
    pool_note = ck.typed(cls, "pool_note", str, where="classification.")
    spec.classification = ClassificationSpec(scheme=scheme, k=k, breaks=[float(b) for b in breaks] if breaks else None,
                                             pool=pool, pool_note=pool_note)

    raw_labels = ck.typed(data, "labels", (dict, list))
    labels = []
    for i, lab in enumerate([raw_labels] if isinstance(raw_labels, dict) else (raw_labels or [])):
        where = "labels." if isinstance(raw_labels, dict) else f"labels[{i}]."
        if not isinstance(lab, dict):
            ck.fail(where.rstrip("."), "must be a mapping with layer and column.")
        ck.unknown(lab, {"layer", "column", "size", "value", "decimals", "suffix", "missing"}, where)
        lid = ck.typed(lab, "layer", str, required=True, where=where)
        if lid not in seen:
            ck.fail(f"{where}layer", f"{lid!r} is not one of the spec's layer ids ({', '.join(sorted(seen))}).")
        ck.typed(lab, "column", str, required=True, where=where)
        ck.typed(lab, "size", (int, float), where=where)
        labels.append(lab)
    spec.labels = labels  # a list: the first entry gets the first choice of positions
    figures = ck.typed(data, "figures", dict)
    if figures is not None:
        ck.unknown(figures, {"layer", "title"}, "figures.")
        fid = ck.typed(figures, "layer", str, required=True, where="figures.")
        if fid not in seen or spec.layer(fid).style != "catchment":
            ck.fail("figures.layer", f"{fid!r} must be the id of a layer with style catchment.")
        ck.typed(figures, "title", str, where="figures.")
    spec.figures = figures
    table = ck.typed(data, "table", dict)
    if table is not None:
        ck.unknown(table, {"source", "title", "columns"}, "table.")
        tsrc = ck.typed(table, "source", str, required=True, where="table.")
        if known_sources is not None and tsrc not in known_sources:
            ck.fail("table.source", f"unknown source {tsrc!r}.")
        cols = ck.typed(table, "columns", dict, required=True, where="table.")
        table = {"source": tsrc, "title": ck.typed(table, "title", str, "", where="table."),
                 "columns": {str(k): str(v) for k, v in cols.items()}}
    spec.table = table
    if isinstance(spec.extent, str) and spec.extent not in ("region", "data") and spec.extent not in seen:
        ck.fail("extent", f"{spec.extent!r} is neither 'region', 'data' nor a layer id of this spec.")
    spec.sources = _str_list(ck, data, "sources")
    spec.notes = _str_list(ck, data, "notes")
    from kkr_geo.maps.text_figures import check_texts, parse_figures
    spec.tal = parse_figures(data.get("tal"), ck, spec, known_sources)
    check_texts(spec, ck.fail)
    from kkr_geo.maps.claims import parse_claims
    spec.claims = parse_claims(data.get("claims"), ck, spec)
    return spec


def load_spec(path: str | Path, *, known_sources=None) -> MapSpec:
    """Read and validate one spec file (YAML; ``.toml`` is accepted too). Layer sources must be names
    of the registry (or of ``known_sources`` when given, e.g. a build's in-memory sources)."""
    path = Path(path)
    label = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: spec file not found.") from None
    except UnicodeDecodeError:
        raise InputError(f"{label}: is not UTF-8 text.", hint="save the spec as UTF-8.") from None
    try:
        if path.suffix == ".toml":
            import tomllib
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise InputError(f"{label}: cannot be parsed ({exc}).", hint="check indentation and quoting.") from None
    if known_sources is None:
        from kkr_geo.layers.registry import source_names
        known_sources = source_names()
    return parse_spec(data, label=label, name=path.stem, path=path, known_sources=known_sources)


def shipped_spec_dir() -> Path:
    return Path(str(resources.files("kkr_geo.maps") / "specs"))


SPEC_SUFFIXES = (".yaml", ".yml", ".toml")


def spec_files(path: str | Path) -> list[Path]:
    """The spec files of ``--specs PATH``: a directory of specs, or a single spec file."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in SPEC_SUFFIXES:
            raise InputError(f"--specs {path}: not a map spec (expected a .yaml, .yml or .toml file).",
                             hint="pass a spec file or a directory of spec files.")
        return [path]
    if not path.is_dir():
        raise InputError(f"--specs {path}: no such file or directory.",
                         hint="pass a spec file or a directory of spec files (default: the shipped maps/specs).")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in SPEC_SUFFIXES)
    if not files:
        raise InputError(f"--specs {path}: the directory holds no map specs (*.yaml, *.yml, *.toml).",
                         hint="pass a spec file or a directory of spec files.")
    return files


def load_specs(directory: str | Path | None = None, only: list[str] | None = None, *,
               known_sources=None) -> list[MapSpec]:
    """All specs in ``directory`` (default: the shipped ``maps/specs``; also a single spec file), sorted by
    name; see :func:`load_spec`."""
    directory = Path(directory) if directory else shipped_spec_dir()
    files = spec_files(directory)
    specs = [load_spec(p, known_sources=known_sources) for p in files]
    names = [s.name for s in specs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InputError(f"{directory}: several specs are named {', '.join(sorted(dup))}.")
    if only:
        unknown = [o for o in only if o not in names]
        if unknown:
            raise InputError(f"--only {', '.join(unknown)}: no such map.", hint=f"maps: {', '.join(names)}")
        specs = [s for s in specs if s.name in only]
    return specs
