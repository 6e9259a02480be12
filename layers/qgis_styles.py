"""Default QGIS styles (QML) for the layers, stored in the GeoPackage's ``layer_styles`` table."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

LOOK_KINDS = ("fill", "line", "marker")


@dataclass(frozen=True)
class QgisLook:
    """A layer's default look in QGIS (the GeoPackage's ``layer_styles``), declared in its registry entry
    (``LayerInfo(..., qgis_look=QgisLook(...))``). ``kind``: fill | line | marker; colours are ``"R,G,B,A"``:
    ``fill`` the area or marker colour (None for a line), ``stroke`` the outline or line colour; ``width`` the
    outline or line width, or the marker size (mm); ``dash`` a QGIS line style such as ``"dash"`` (default solid);
    ``label`` the field labelled (left out of a table that lacks the column)."""

    kind: str
    fill: str | None
    stroke: str
    width: float
    dash: str | None = None
    label: str | None = None

    def __post_init__(self):
        if self.kind not in LOOK_KINDS:
            raise ValueError(f"QGIS look: kind {self.kind!r} is not one of {LOOK_KINDS}")


# a table without a look of its own in the registry (derived datasets, split-off parts, unregistered tables)
_DEFAULT = {"polygon": QgisLook("fill", "240,228,66,90", "120,120,120,255", 0.3),
            "line": QgisLook("line", None, "86,180,233,255", 0.8),
            "point": QgisLook("marker", "86,180,233,255", "255,255,255,255", 2.0)}


def look_of(name: str, geometry: str) -> QgisLook:
    """The look of table ``name``: its registry entry's ``qgis_look``, else the default of its geometry."""
    from kkr_geo.layers.registry import entries

    info = entries().get(name)
    return info.qgis_look if info is not None and info.qgis_look is not None else _DEFAULT[geometry]


def _opts(pairs: dict) -> str:
    props = "".join(f'<prop k={quoteattr(k)} v={quoteattr(str(v))}/>' for k, v in pairs.items())
    opts = "".join(f'<Option name={quoteattr(k)} type="QString" value={quoteattr(str(v))}/>' for k, v in pairs.items())
    return f'<Option type="Map">{opts}</Option>{props}'


def qml(name: str, geometry: str, *, label_field: str | None = None, columns: list[str] | None = None) -> str:
    """The default QML of table ``name`` (:func:`look_of`); ``label_field`` overrides the look's label, and a
    label whose column is not in ``columns`` is left out."""
    look = look_of(name, geometry)
    kind, fill, stroke, width, dash, label = look.kind, look.fill, look.stroke, look.width, look.dash, look.label
    if label_field is not None:
        label = label_field
    if columns is not None and label not in columns:
        label = None
    if kind == "fill":
        sym_type, cls = "fill", "SimpleFill"
        props = {"color": fill, "outline_color": stroke, "outline_width": width, "outline_width_unit": "MM",
                 "outline_style": "solid", "style": "solid", "joinstyle": "round"}
    elif kind == "line":
        sym_type, cls = "line", "SimpleLine"
        props = {"line_color": stroke, "line_width": width, "line_width_unit": "MM", "line_style": dash or "solid",
                 "capstyle": "round", "joinstyle": "round"}
    else:
        sym_type, cls = "marker", "SimpleMarker"
        props = {"name": "circle", "color": fill, "outline_color": stroke, "outline_width": 0.3, "size": width,
                 "size_unit": "MM", "outline_width_unit": "MM"}
    labeling = ""
    if label:
        labeling = (
            '<labeling type="simple"><settings calloutType="simple">'
            f'<text-style fieldName={quoteattr(label)} fontFamily="Arial" fontSize="8" fontSizeUnit="Point" textColor="30,30,30,255" isExpression="0">'
            '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255"/></text-style>'
            '<placement placement="' + ("2" if kind == "line" else "0") + '"/>'
            '<rendering obstacle="1" drawLabels="1"/></settings></labeling>'
        )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="Symbology|Labeling">'
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0"><symbols>'
        f'<symbol type="{sym_type}" name="0" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" pass="0" locked="0">{_opts(props)}</layer></symbol>'
        '</symbols><rotation/><sizescale/></renderer-v2>'
        f'{labeling}<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode><layerOpacity>1</layerOpacity></qgis>\n'
    )


@dataclass
class GraduatedStyle:
    """An indicator's classes as the annex map draws them: ``bins`` are the upper limits, ``lower``
    the first class's lower limit, one colour (#rrggbb) and one legend label per class."""
    column: str
    lower: float
    bins: list[float]
    colours: list[str]
    labels: list[str]
    method: str = "manual"
    no_data_colour: str = "#d9d9d9"


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def graduated_qml(name: str, geometry: str, style: GraduatedStyle) -> str:
    """A QGIS graduated renderer with the annex's class limits and colours (plus a label field)."""
    if geometry != "polygon":
        raise ValueError(f"graduated styles are made for polygon layers ({name} is {geometry}).")
    ranges, symbols = [], []
    lower = style.lower
    for i, (upper, colour, label) in enumerate(zip(style.bins, style.colours, style.labels)):
        ranges.append(f'<range lower="{lower!r}" upper="{float(upper)!r}" symbol="{i}" label={quoteattr(label)} render="true"/>')
        props = {"color": _rgba(colour), "outline_color": "255,255,255,255", "outline_width": 0.26,
                 "outline_width_unit": "MM", "outline_style": "solid", "style": "solid", "joinstyle": "round"}
        symbols.append(f'<symbol type="fill" name="{i}" alpha="1" clip_to_extent="1" force_rhr="0">'
                       f'<layer class="SimpleFill" enabled="1" pass="0" locked="0">{_opts(props)}</layer></symbol>')
        lower = float(upper)
    label = "navn"
    labeling = (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(label)} fontFamily="Arial" fontSize="8" fontSizeUnit="Point" textColor="30,30,30,255" isExpression="0">'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255"/></text-style>'
        '<placement placement="0"/><rendering obstacle="1" drawLabels="1"/></settings></labeling>'
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="Symbology|Labeling">'
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(style.column)} graduatedMethod="GraduatedColor" '
        'symbollevels="0" enableorderby="0" forceraster="0">'
        f'<ranges>{"".join(ranges)}</ranges><symbols>{"".join(symbols)}</symbols>'
        f'<classificationMethod id={quoteattr(_QGIS_METHODS.get(style.method, "Fixed"))}/>'
        '<rotation/><sizescale/></renderer-v2>'
        f'{labeling}<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode><layerOpacity>1</layerOpacity></qgis>\n'
    )


_QGIS_METHODS = {"quantiles": "Quantile", "natural_breaks": "Jenks", "equal_interval": "EqualInterval", "manual": "Fixed"}
