"""Default QGIS styles (QML) for the layers, stored in the GeoPackage's ``layer_styles`` table."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

# name -> (symbol kind, colour RGBA, width/size, dash, label field)
_STYLES = {
    "kommuner": ("fill", "255,255,255,0", "60,60,60,255", 0.4, None, "navn"),
    "planomraader": ("fill", "255,255,255,0", "90,90,90,255", 0.3, None, "navn"),
    "planomraader_samlet": ("fill", "255,255,255,0", "30,30,30,255", 0.8, None, "planomraade"),
    "brt": ("line", None, "213,94,0,255", 1.2, "dash", "navn"),
    "brt_stops": ("marker", "213,94,0,255", "255,255,255,255", 2.2, None, None),
    "supercykelstier": ("line", None, "0,158,115,255", 0.9, None, "route_name"),
    "parker_og_rejs": ("marker", "0,114,178,255", "255,255,255,255", 3.2, None, "navn"),
    "stationer": ("marker", "90,90,90,255", "255,255,255,255", 1.6, None, None),
    "klinikker": ("marker", "204,121,167,255", "255,255,255,255", 2.0, None, None),
}
_DEFAULT = {"polygon": ("fill", "240,228,66,90", "120,120,120,255", 0.3, None, None),
            "line": ("line", None, "86,180,233,255", 0.8, None, None),
            "point": ("marker", "86,180,233,255", "255,255,255,255", 2.0, None, None)}


def _opts(pairs: dict) -> str:
    props = "".join(f'<prop k={quoteattr(k)} v={quoteattr(str(v))}/>' for k, v in pairs.items())
    opts = "".join(f'<Option name={quoteattr(k)} type="QString" value={quoteattr(str(v))}/>' for k, v in pairs.items())
    return f'<Option type="Map">{opts}</Option>{props}'


def qml(name: str, geometry: str, *, label_field: str | None = None, columns: list[str] | None = None) -> str:
    kind, fill, stroke, width, dash, label = _STYLES.get(name, _DEFAULT[geometry])
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
