"""Classification of an indicator column and colour-blind-safe palettes.

Schemes (mapclassify): ``quantiles``, ``natural_breaks`` (Fisher-Jenks), ``equal_interval`` and
``manual`` (user breaks). The result carries the class bounds, Danish legend labels and one colour
per class, and assigns every value to a class (missing values to ``-1``, "Ingen data").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import mapclassify
import matplotlib as mpl
import numpy as np
from matplotlib.colors import to_hex

from kkr_geo.geo.errors import InputError
from kkr_geo.maps.danish_numbers import fmt_number

SCHEMES = ("quantiles", "natural_breaks", "equal_interval", "manual")

# Sequential palettes that stay distinguishable for the common colour-vision deficiencies
# (ColorBrewer's colour-blind-safe sequential schemes and the viridis family).
COLOURBLIND_SAFE = (
    "YlGnBu", "YlOrBr", "YlOrRd", "Blues", "Greens", "Oranges", "Purples", "PuBu", "BuPu",
    "GnBu", "OrRd", "PuRd", "RdPu", "YlGn", "Greys", "viridis", "cividis", "magma", "inferno", "plasma",
    "PuOr", "BrBG", "PRGn", "RdBu", "PiYG",
)
DEFAULT_PALETTE = "YlGnBu"
NO_DATA_COLOUR = "#d9d9d9"
NO_DATA_LABEL = "Ingen data"


@dataclass
class Classification:
    scheme: str
    bins: list[float]            # upper bounds of the classes
    lower: float                 # lower bound of the first class (the data minimum)
    colours: list[str]
    labels: list[str]
    classes: np.ndarray          # class index per value, -1 = missing
    counts: list[int] = field(default_factory=list)
    has_missing: bool = False
    decimals: int = 0

    @property
    def k(self) -> int:
        return len(self.bins)

    @property
    def method(self) -> str:
        """The classification method in Danish, for the legend."""
        return SCHEME_NAMES.get(self.scheme, self.scheme)

    def colour_of(self, index: int) -> str:
        return NO_DATA_COLOUR if index < 0 else self.colours[index]

    def legend_items(self) -> list[tuple[str, str, int]]:
        """(colour, label, count) per class, then "Ingen data" when values are missing."""
        items = [(c, lab, n) for c, lab, n in zip(self.colours, self.labels, self.counts)]
        if self.has_missing:
            items.append((NO_DATA_COLOUR, NO_DATA_LABEL, int((self.classes < 0).sum())))
        return items


def palette_colours(name: str, k: int) -> list[str]:
    """``k`` colours sampled from a matplotlib colormap, light to dark, avoiding the near-white end."""
    try:
        cmap = mpl.colormaps[name]
    except KeyError:
        raise InputError(f"unknown palette {name!r}.",
                         hint=f"use one of: {', '.join(COLOURBLIND_SAFE)}") from None
    if k == 1:
        return [to_hex(cmap(0.6))]
    lo, hi = (0.15, 0.95) if name not in ("viridis", "cividis", "magma", "inferno", "plasma") else (0.05, 0.95)
    if name in ("viridis", "cividis", "magma", "inferno", "plasma"):
        xs = np.linspace(hi, lo, k)  # light (high end) for low values
    else:
        xs = np.linspace(lo, hi, k)
    return [to_hex(cmap(float(x))) for x in xs]


SCHEME_NAMES = {"quantiles": "kvantiler (lige mange områder i hver klasse)",
                "natural_breaks": "naturlige brud (Fisher-Jenks)",
                "equal_interval": "lige store intervaller", "manual": "faste klassegrænser"}


def class_labels(lower: float, bins, decimals: int, *, integers: bool = False) -> list[str]:
    """Danish legend labels whose limits never overlap.

    A class holds the values above the previous bound up to and including its own bound. For whole
    numbers shown without decimals the next class starts one unit above the bound ("1.988–3.600",
    "3.601–4.242"); otherwise it is written "over 3.600–4.242".
    """
    out = []
    step = 10.0 ** -decimals
    for i, b in enumerate(bins):
        hi = fmt_number(b, decimals)
        if i == 0:
            lo = fmt_number(lower, decimals)
            out.append(hi if lo == hi else f"{lo}–{hi}")  # a class of one value ("0") is not written "0–0"
        elif integers:
            lo = fmt_number(bins[i - 1] + step, decimals)
            out.append(hi if lo == hi else f"{lo}–{hi}")
        else:
            out.append(f"over {fmt_number(bins[i - 1], decimals)}–{hi}")
    return out


def classify(values, scheme: str = "quantiles", k: int = 5, breaks=None, palette: str = DEFAULT_PALETTE,
             decimals: int = 0, *, pool=None) -> Classification:
    """Classify ``values`` (NaN allowed) and return bounds, labels and colours.

    ``pool``: values the breaks are computed from instead of ``values`` (e.g. the values of two maps
    that must share their classes); ``values`` are then assigned to those classes.
    """
    arr = np.asarray(values, dtype=float)
    valid = ~np.isnan(arr)
    own = arr[valid]
    if pool is not None:  # the pool holds every value the breaks are made from (normally ``values`` too)
        pooled = np.asarray(pool, dtype=float)
        data = pooled[~np.isnan(pooled)]
        if own.size and data.size and (own.min() < data.min() or own.max() > data.max()):
            data = np.concatenate([data, own])  # never leave a value outside the classes
    else:
        data = own
    if scheme not in SCHEMES:
        raise InputError(f"unknown classification scheme {scheme!r}.", hint=f"use one of: {', '.join(SCHEMES)}")
    if data.size == 0:
        raise InputError("the indicator column has no values to classify.",
                         hint="check that the indicator table was joined (see the join report).")
    n_unique = np.unique(data).size
    if scheme == "manual":
        if not breaks:
            raise InputError("manual classification needs `breaks`.", hint="give a list of upper class bounds.")
        b = sorted(float(x) for x in breaks)
        if b[-1] < data.max():
            b.append(float(data.max()))
        bins = np.array(b)
    else:
        kk = max(1, min(int(k), n_unique))
        if kk == 1:
            bins = np.array([data.max()])
        elif scheme == "quantiles":
            bins = mapclassify.Quantiles(data, k=kk).bins
        elif scheme == "natural_breaks":
            with warnings.catch_warnings():  # "Numba not installed": the pure-Python path is fine here
                warnings.simplefilter("ignore", UserWarning)
                bins = mapclassify.FisherJenks(data, k=kk).bins
        else:
            bins = mapclassify.EqualInterval(data, k=kk).bins
    bins = np.asarray(bins, dtype=float)
    if scheme != "manual":
        # Round inner bounds to the shown precision so legend labels state the real class limits;
        # the last bound is the data maximum, rounded up so the label does not understate it.
        step = 10.0 ** -decimals
        bins = np.append(np.round(bins[:-1], decimals), np.ceil(bins[-1] / step - 1e-9) * step)
    bins = np.unique(bins)
    classes = np.full(arr.shape, -1, dtype=int)
    classes[valid] = np.minimum(np.searchsorted(bins, own, side="left"), len(bins) - 1)
    lower = float(min(data.min(), bins[0]))
    if scheme == "manual" and data.min() >= 0 and data.min() > bins[0]:
        lower = 0.0  # fixed classes of a non-negative measure start at 0, not at an empty "40–40"
    colours = palette_colours(palette, len(bins))
    step = 10.0 ** -decimals
    integers = bool(np.all(np.isclose(np.round(data / step) * step, data)))
    labels = class_labels(lower, bins, decimals, integers=integers)
    counts = [int((classes == i).sum()) for i in range(len(bins))]
    return Classification(scheme=scheme, bins=[float(b) for b in bins], lower=lower, colours=colours,
                          labels=labels, classes=classes, counts=counts, has_missing=bool((~valid).any()),
                          decimals=decimals)
