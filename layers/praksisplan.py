"""The practice plan's further tables (``indikatorer/praksisplan/*.csv``) joined onto the planning geography.

Each table is read with :func:`kkr_geo.layers.indicators.read_table` (Danish CSV) and checked against
what this module understands: a missing required column is a :class:`DataError` naming the file and
the column (the map is skipped with that reason); an extra column, a year or speciale the module does
not know, or a row that matches no area is *reported* (provenance notes and the build log) and the
rest is mapped. Figures are used as published; only their types change (``19.362.920 kr.`` -> 19362920,
``65 %`` -> 65.0).

Derived datasets (registry names; polygons of ``planlaegningsomraader``, ``planomraader_samlet`` or
``kommuner`` with the table's columns):

* ``ventetider`` – waiting times, speciale 51 and 62: mean, lowest, highest (weeks), clinics reporting
* ``befolkningsprognose`` – population 2024 and 2030 per planning area and the published % change
* ``kapacitet_2030`` – the proposed capacity expansion and inhabitants per capacity 2024 (Tabel 3/4)
  vs 2030 with the proposal (Tabel 10–12)
* ``behandlet_i_eget_omraade`` – share of patients (sp. 51) treated in their own planning area
* ``patienter_pr_kommune`` – patients per 1,000 inhabitants 2020 and 2023 and the change, per kommune
* ``tilskud_pr_kommune`` – the region's subsidy 2023 per kommune, per patient and per inhabitant
* ``fysioterapeuter_pr_planomraade`` – physiotherapists under the agreement per planområde (Tabel 1)
"""

from __future__ import annotations

import io
import re

import geopandas as gpd
import numpy as np
import pandas as pd

from kkr_geo.geo.errors import DataError, KkrGeoError
from kkr_geo.geo.provenance import provenance_of, with_provenance
from kkr_geo.layers import catalog
from kkr_geo.layers.catalog import Dataset
from kkr_geo.layers.indicators import read_table
from kkr_geo.layers.joins import join_indicators
from kkr_geo.layers.numbers import parse_number
from kkr_geo.layers.registry import LayerInfo, register_derived
from kkr_geo.layers.textfile import read_text

PUBLISHER = "Region Hovedstaden, praksisplan for fysioterapi"
SOURCE = "Region Hovedstaden, praksisplan for fysioterapi 2024"
SPECIALER = (51, 62)
_HOW = "transcribed from the practice plan (seed 000); ships in the embedded default (format in data/README.md)"

# key -> (file, what, required columns, other known columns)
TABLES = {
    "pp_ventetider": ("indikatorer/praksisplan/ventetider_2024.csv",
                      "Waiting times per planlægningsområde, speciale 51/62 (Bilag 6/7)",
                      {"planlaegningsomraade", "speciale", "antal_klinikker", "gennemsnitsventetid_uger",
                       "laveste_ventetid_uger", "hoejeste_ventetid_uger"}, {"bilag", "kilde_linje"}),
    "pp_befolkningsprognose": ("indikatorer/praksisplan/befolkningsprognose_2024_2030.csv",
                               "Population forecast 2024-2030 per planlægningsområde/planområde (Bilag 3)",
                               {"omraade", "niveau", "2024", "2030"}, {"procentaendring_2024_2030", "kilde_linje"}),
    "pp_kapacitet_2030": ("indikatorer/praksisplan/kapacitetsudvidelse_2030.csv",
                          "Proposed capacity expansion and inhabitants per capacity 2030 (Tabel 10-12)",
                          {"omraade", "speciale", "foreslaaet_justering", "borgere_pr_kap_2030_eksklusiv",
                           "borgere_pr_kap_2030_inklusiv"},
                          {"foreslaaet_kapacitet_tabel10", "kapacitet_foer_justering", "procentvis_forandring", "kilde_linjer"}),
    "pp_eget_omraade": ("indikatorer/praksisplan/behandlet_i_eget_omraade_sp51.csv",
                        "Share of patients treated in their own planlægningsområde, speciale 51 (Bilag 4)",
                        {"fra", "til", "antal_eller_andel", "enhed"}, {"speciale", "kilde_linjer"}),
    "pp_patienter": ("indikatorer/praksisplan/patienter_pr_kommune_2020_2023.csv",
                     "Inhabitants, patients and patients per 1,000 per kommune, 2020 and 2023 (Bilag 1/2)",
                     {"kommune", "speciale", "patienter_pr_1000_borgere_2020", "patienter_pr_1000_borgere_2023"},
                     {"borgere_2020", "borgere_2023", "patienter_2020", "patienter_2023", "pct_aendring_patienter",
                      "bilag", "kilde_linje"}),
    "pp_tilskud": ("indikatorer/praksisplan/tilskud_pr_kommune_2023.csv",
                   "Regional subsidy 2023 per kommune: total, per patient, per inhabitant (Tabel 7/8)",
                   {"kommune", "speciale", "tilskud", "tilskud_pr_borger"},
                   {"patienter", "borgere", "tilskud_pr_patient", "tabel", "kilde_linje"}),
    "pp_fysioterapeuter": ("indikatorer/praksisplan/klinikker_og_fysioterapeuter_pr_omraade.csv",
                           "Physiotherapists per planområde, clinics per area, mobile physiotherapists (Tabel 1, Bilag 6/7; long format)",
                           {"omraade", "niveau", "maal", "vaerdi"}, {"enhed", "kilde", "kilde_linje"}),
}
for _key, (_path, _what, _req, _other) in TABLES.items():
    catalog.register_dataset(Dataset(_key, _path, _what, PUBLISHER, "public document", _HOW, "table", required=False))


class PPTable:
    """One practice-plan table as read, with the notes on what was not understood."""

    def __init__(self, key: str, data_dir, *, layer: str):
        path, _what, required, known = TABLES[key]
        self.path = catalog.require(data_dir, key, layer=layer)
        self.df = read_table(self.path)
        report = self.df.attrs["report"]
        # cells of the source-reference columns (kilde_linje '5353-5357') are text, not problems
        self.notes: list[str] = [f"{self.path.name}: {n}" for n in report.notes]
        self.notes += [f"{self.path.name}: {p}" for p in report.problems if not str(p.column or "").startswith("kilde")]
        cols = [str(c) for c in self.df.columns]
        known = known | {c for c in cols if re.fullmatch(r"\d{4}", c)}  # year columns are checked by the maker
        missing = sorted(c for c in required if c not in cols)
        if missing:
            raise DataError(f"{self.path}: missing column(s) {', '.join(missing)} needed for {layer!r}.",
                            hint=f"the table has: {', '.join(cols)}; the format is described in data/README.md.")
        extra = [c for c in cols if c not in required | known]
        self.extra = extra
        try:  # the cells as published (read_table turns '19.362.920 kr.' into a number)
            self.raw = pd.read_csv(io.StringIO(read_text(self.path)), sep=None, engine="python", dtype=str,
                                   keep_default_na=False)
            self.raw.index = self.df.index
        except (ValueError, KkrGeoError, pd.errors.ParserError):
            self.raw = None
        if extra:
            self.notes.append(f"{self.path.name}: column(s) not used by kkr-geo (kept out of the map): {', '.join(extra)}")

    def specialer(self, column: str = "speciale") -> pd.DataFrame:
        """Rows of the known specialer; other values are reported, not mapped."""
        sp = pd.to_numeric(self.df[column], errors="coerce")
        unknown = sorted({str(v) for v, s in zip(self.df[column], sp) if s not in SPECIALER})
        if unknown:
            self.notes.append(f"{self.path.name}: speciale value(s) {', '.join(unknown)} not mapped (known: 51, 62)")
        out = self.df[sp.isin(SPECIALER)].copy()
        out[column] = sp[sp.isin(SPECIALER)].astype(int)
        return out


def parse_amount(value) -> float | None:
    """``'19.362.920 kr.'`` -> 19362920.0, ``'1.095 kr.'`` -> 1095.0, ``'65 %'`` -> 65.0; empty -> None."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = re.sub(r"\s*(kr\.?|%|pct\.?)\s*$", "", str(value).strip(), flags=re.I).strip()
    if not text:
        return None
    return parse_number(text, decimal=",")


def _wide(rows: pd.DataFrame, key: str, values: dict[str, str], sp_col: str = "speciale") -> pd.DataFrame:
    """Long rows (one per area and speciale) -> one row per area with ``<name>_sp51``/``_sp62`` columns."""
    parts = []
    for sp in SPECIALER:
        sub = rows[rows[sp_col] == sp].drop_duplicates(subset=[key])
        sub = sub[[key, *values]].rename(columns={c: f"{new}_sp{sp}" for c, new in values.items()})
        parts.append(sub.set_index(key))
    return pd.concat(parts, axis=1).reset_index().rename(columns={"index": key})


def _join(base: gpd.GeoDataFrame, table: pd.DataFrame, key: str, *, layer_on: str, name: str, title: str,
          source_table: PPTable | list[PPTable], sources, extra_notes=()) -> gpd.GeoDataFrame:
    table = table.copy()
    table.attrs["source_path"] = str((source_table[0] if isinstance(source_table, list) else source_table).path)
    joined, report = join_indicators(base, table, on=key, layer_on=layer_on)
    tables = source_table if isinstance(source_table, list) else [source_table]
    notes = [n for t in tables for n in t.notes] + list(extra_notes)
    if not report.complete:
        notes += [f"join: {line}" for line in report.lines()[1:]]
    for n in notes:
        sources.log(f"{name}: {n}")
    prov = provenance_of(base)
    parts = [p.strip() for p in prov.source.split(";") if p.strip() and "praksisplan for fysioterapi" not in p]
    src = "; ".join(dict.fromkeys([*parts, SOURCE]))
    return with_provenance(joined, prov.replace(title=title, layer=name, source=src,
                                                notes=(*prov.notes, *notes, *report.lines()[:1])))


def _weeks(v) -> str:
    """Weeks as Danish text for tooltips: 4 -> '4', 16.7 -> '16,7'."""
    if v is None or pd.isna(v):
        return ""
    v = float(v)
    return f"{v:.0f}" if v.is_integer() else f"{v:.1f}".replace(".", ",")


# ------------------------------------------------------------------------------------------- waiting times
@register_derived(LayerInfo(
    "ventetider", "Ventetider til fysioterapi 2024", "polygon",
    "Waiting times (weeks) per planning area, speciale 51 and 62: mean of the clinics that report, lowest, highest, "
    "and the number of clinics reporting (practice plan Bilag 6/7).",
    {"ventetid_sp51": "mean waiting time, weeks", "ventetid_min_sp51": "lowest, weeks", "ventetid_max_sp51": "highest, weeks",
     "klinikker_sp51": "clinics reporting", "ventetid_spaend_sp51": "lowest–highest as text", "(…_sp62)": "the same, speciale 62"},
    needs=("planlaegningsomraader", "pp_ventetider")))
def ventetider(name, sources):
    t = PPTable("pp_ventetider", sources.data_dir, layer=name)
    rows = t.specialer()
    wide = _wide(rows, "planlaegningsomraade", {"gennemsnitsventetid_uger": "ventetid", "laveste_ventetid_uger": "ventetid_min",
                                               "hoejeste_ventetid_uger": "ventetid_max", "antal_klinikker": "klinikker"})
    for sp in SPECIALER:
        wide[f"ventetid_spaend_sp{sp}"] = [f"{_weeks(lo)}–{_weeks(hi)} uger" if pd.notna(lo) and pd.notna(hi) else ""
                                           for lo, hi in zip(wide[f"ventetid_min_sp{sp}"], wide[f"ventetid_max_sp{sp}"])]
    base = sources.get("planlaegningsomraader")[["navn", "planomraade", "kommunekode", "geometry"]]
    out = _join(base, wide, "planlaegningsomraade", layer_on="navn", name=name, title="Ventetider til fysioterapi 2024",
                source_table=t, sources=sources)
    counts = {sp: int(out[f"klinikker_sp{sp}"].sum()) for sp in SPECIALER}
    note = ("Ventetiden er oplyst af " + " og ".join(f"{counts[sp]} klinikker i speciale {sp}" for sp in SPECIALER)
            + f" ({int(out[[f'klinikker_sp{sp}' for sp in SPECIALER]].min().min())}–"
            f"{int(out[[f'klinikker_sp{sp}' for sp in SPECIALER]].max().max())} pr. område); "
            "antallet pr. område står i det interaktive kort.")
    prov = provenance_of(out)
    return with_provenance(out, prov.replace(map_notes=(*prov.map_notes, note)))


# ------------------------------------------------------------------------------------- population forecast
@register_derived(LayerInfo(
    "befolkningsprognose", "Befolkningsprognose 2024–2030", "polygon",
    "Population forecast per planning area: 2024, 2030 and the published % change 2024-2030 (practice plan Bilag 3).",
    {"befolkning_2024": "inhabitants 2024", "befolkning_2030": "forecast 2030", "aendring_pct": "% change 2024-2030 as published",
     "aendring_antal": "change in inhabitants"},
    needs=("planlaegningsomraader", "pp_befolkningsprognose")))
def befolkningsprognose(name, sources):
    t = PPTable("pp_befolkningsprognose", sources.data_dir, layer=name)
    df = t.df
    years = sorted(int(c) for c in map(str, df.columns) if re.fullmatch(r"\d{4}", c))
    later = [y for y in years if y > 2030]
    if later:
        t.notes.append(f"{t.path.name}: year column(s) {', '.join(map(str, later))} not mapped (the map shows 2024–2030)")
    rows = df[df["niveau"].astype(str) == "planlægningsområde"].copy()
    out = pd.DataFrame({"omraade": rows["omraade"], "befolkning_2024": rows["2024"], "befolkning_2030": rows["2030"]})
    out["aendring_antal"] = out["befolkning_2030"] - out["befolkning_2024"]
    computed = (100 * out["aendring_antal"] / out["befolkning_2024"]).round(1)
    if "procentaendring_2024_2030" in rows.columns:
        out["aendring_pct"] = pd.to_numeric(rows["procentaendring_2024_2030"], errors="coerce")
        off = rows.loc[(out["aendring_pct"] - computed).abs() > 0.051, "omraade"].tolist()
        if off:
            t.notes.append(f"{t.path.name}: published % change differs from 2024/2030 figures for {', '.join(map(str, off))} "
                           "(published value kept)")
        out["aendring_pct"] = out["aendring_pct"].fillna(computed)
    else:
        t.notes.append(f"{t.path.name}: no column procentaendring_2024_2030; % change computed from 2024 and 2030")
        out["aendring_pct"] = computed
    base = sources.get("planlaegningsomraader")[["navn", "planomraade", "kommunekode", "geometry"]]
    return _join(base, out, "omraade", layer_on="navn", name=name, title="Befolkningsprognose 2024–2030",
                 source_table=t, sources=sources)


# --------------------------------------------------------------------------------------- capacity 2030
@register_derived(LayerInfo(
    "kapacitet_2030", "Foreslået kapacitetsudvidelse 2030", "polygon",
    "Proposed capacity expansion per planning area (Tabel 10) and inhabitants per capacity: 2024 (Tabel 3/4), 2030 "
    "without and with the proposal (Tabel 11/12). Areas without a proposal have no 2030 figures.",
    {"udvidelse_sp51": "proposed added capacity", "borgere_pr_kap_2024_sp51": "inhabitants per capacity 2024 (Tabel 3)",
     "borgere_pr_kap_2030_uden_sp51": "2030 without the proposal", "borgere_pr_kap_2030_med_sp51": "2030 with the proposal",
     "forandring_pct_sp51": "% change with the proposal (Tabel 11)", "(…_sp62)": "the same, speciale 62"},
    needs=("planlaegningsomraader", "pp_kapacitet_2030")))
def kapacitet_2030(name, sources):
    t = PPTable("pp_kapacitet_2030", sources.data_dir, layer=name)
    rows = t.specialer()
    if "procentvis_forandring" in rows.columns:
        rows["procentvis_forandring"] = rows["procentvis_forandring"].map(parse_amount)
    else:
        rows["procentvis_forandring"] = np.nan
    total = rows[rows["omraade"].astype(str).str.lower() == "i alt"]
    rows = rows[rows["omraade"].astype(str).str.lower() != "i alt"]
    wide = _wide(rows, "omraade", {"foreslaaet_justering": "udvidelse", "borgere_pr_kap_2030_eksklusiv": "borgere_pr_kap_2030_uden",
                                   "borgere_pr_kap_2030_inklusiv": "borgere_pr_kap_2030_med",
                                   "procentvis_forandring": "forandring_pct"})
    base = sources.get("planlaegningsomraader")
    keep = ["navn", "planomraade", "kommunekode"] + [f"borgere_pr_kapacitet_sp{sp}" for sp in SPECIALER
                                                    if f"borgere_pr_kapacitet_sp{sp}" in base.columns] + ["geometry"]
    base = base[keep].rename(columns={f"borgere_pr_kapacitet_sp{sp}": f"borgere_pr_kap_2024_sp{sp}" for sp in SPECIALER})
    notes = []
    if len(total):
        notes.append("region total (row 'I alt'): " + "; ".join(
            f"sp. {int(r.speciale)}: +{r.foreslaaet_justering} capacity, {r.borgere_pr_kap_2030_eksklusiv:.0f} -> "
            f"{r.borgere_pr_kap_2030_inklusiv:.0f} inhabitants per capacity" for r in total.itertuples()))
    out = _join(base, wide, "omraade", layer_on="navn", name=name, title="Foreslået kapacitetsudvidelse 2030",
                source_table=t, sources=sources, extra_notes=notes)
    # the region's own total row by the layer's column names, for a spec's figures (tal: {..., total: udvidelse_sp51})
    out.attrs["region_total"] = {f"{col}_sp{int(r.speciale)}": float(getattr(r, field))
                                 for r in total.itertuples()
                                 for field, col in (("foreslaaet_justering", "udvidelse"),
                                                    ("borgere_pr_kap_2030_eksklusiv", "borgere_pr_kap_2030_uden"),
                                                    ("borgere_pr_kap_2030_inklusiv", "borgere_pr_kap_2030_med"))}
    for sp in SPECIALER:
        out[f"udvidelse_sp{sp}"] = out[f"udvidelse_sp{sp}"].fillna(0.0)
        out[f"status_sp{sp}"] = np.where(out[f"borgere_pr_kap_2030_med_sp{sp}"].notna(), "udvidelse foreslået",
                                         "ingen udvidelse foreslået")
    return out


# ------------------------------------------------------------------------------- treated in own area
@register_derived(LayerInfo(
    "behandlet_i_eget_omraade", "Patienter behandlet i eget planlægningsområde (speciale 51)", "polygon",
    "Share of patients (speciale 51) living in a planning area who are treated by a clinic in the same area "
    "(practice plan Bilag 4, row 'Patienter behandlet i hjemkommune').",
    {"andel_eget_omraade_pct": "% treated in the own planning area"},
    needs=("planlaegningsomraader", "pp_eget_omraade")))
def behandlet_i_eget_omraade(name, sources):
    t = PPTable("pp_eget_omraade", sources.data_dir, layer=name)
    df = t.df
    share = df[(df["fra"].astype(str) == df["til"].astype(str)) & df["enhed"].astype(str).str.startswith("andel")]
    other = len(df) - len(share)
    if other:
        t.notes.append(f"{t.path.name}: {other} row(s) that are not a share treated in the own area (single flows, "
                       "counts) are not mapped")
    out = pd.DataFrame({"omraade": share["fra"], "andel_eget_omraade_pct": share["antal_eller_andel"].map(parse_amount)})
    unknown = out[out["omraade"].astype(str).str.lower() == "ukendt"]
    out = out[out["omraade"].astype(str).str.lower() != "ukendt"]
    notes = [f"area 'Ukendt' (unknown residence): {v:.0f} % (not mapped)" for v in unknown["andel_eget_omraade_pct"]]
    base = sources.get("planlaegningsomraader")[["navn", "planomraade", "kommunekode", "geometry"]]
    return _join(base, out, "omraade", layer_on="navn", name=name,
                 title="Patienter behandlet i eget planlægningsområde (speciale 51)", source_table=t, sources=sources,
                 extra_notes=notes)


# --------------------------------------------------------------------------------- per kommune tables
@register_derived(LayerInfo(
    "patienter_pr_kommune", "Patienter pr. 1.000 borgere 2020 og 2023", "polygon",
    "Patients per 1,000 inhabitants per kommune, speciale 51 and 62, 2020 and 2023, and the change "
    "(practice plan Bilag 1/2).",
    {"pr_1000_2023_sp51": "patients per 1,000 inhabitants 2023", "pr_1000_2020_sp51": "the same, 2020",
     "aendring_pr_1000_sp51": "2023 minus 2020, per 1,000", "patienter_2023_sp51": "patients 2023",
     "aendring_patienter_pct_sp51": "% change in patients 2020-2023 as published", "(…_sp62)": "the same, speciale 62"},
    needs=("kommuner", "pp_patienter")))
def patienter_pr_kommune(name, sources):
    t = PPTable("pp_patienter", sources.data_dir, layer=name)
    years = sorted({int(m.group(1)) for c in map(str, t.df.columns) if (m := re.fullmatch(r"patienter_pr_1000_borgere_(\d{4})", c))})
    if set(years) - {2020, 2023}:
        t.notes.append(f"{t.path.name}: year(s) {', '.join(str(y) for y in years if y not in (2020, 2023))} not mapped "
                       "(the map shows 2023 and the change since 2020)")
    rows = t.specialer()
    if "pct_aendring_patienter" in rows.columns:
        rows["pct_aendring_patienter"] = rows["pct_aendring_patienter"].map(parse_amount)
    cols = {"patienter_pr_1000_borgere_2020": "pr_1000_2020", "patienter_pr_1000_borgere_2023": "pr_1000_2023"}
    for c, new in (("patienter_2020", "patienter_2020"), ("patienter_2023", "patienter_2023"),
                   ("borgere_2023", "borgere_2023"), ("pct_aendring_patienter", "aendring_patienter_pct")):
        if c in rows.columns:
            cols[c] = new
    wide = _wide(rows, "kommune", cols)
    for sp in SPECIALER:
        wide[f"aendring_pr_1000_sp{sp}"] = (wide[f"pr_1000_2023_sp{sp}"] - wide[f"pr_1000_2020_sp{sp}"]).round(1)
    base = sources.get("kommuner")[["kommunekode", "navn", "geometry"]]
    return _join(base, wide, "kommune", layer_on="navn", name=name, title="Patienter pr. 1.000 borgere 2020 og 2023",
                 source_table=t, sources=sources)


@register_derived(LayerInfo(
    "tilskud_pr_kommune", "Regionens tilskud til fysioterapi 2023", "polygon",
    "The region's subsidy 2023 per kommune (speciale 51 and 62): total, per patient, per inhabitant "
    "(practice plan Tabel 7/8; amounts published as '19.362.920 kr.').",
    {"tilskud_kr_sp51": "subsidy, DKK", "tilskud_pr_patient_kr_sp51": "per patient, DKK",
     "tilskud_pr_borger_kr_sp51": "per inhabitant, DKK", "tilskud_tekst_sp51": "the amount as published",
     "(…_sp62)": "the same, speciale 62"},
    needs=("kommuner", "pp_tilskud")))
def tilskud_pr_kommune(name, sources):
    t = PPTable("pp_tilskud", sources.data_dir, layer=name)
    rows = t.specialer()
    if t.raw is not None and "tilskud" in t.raw.columns and len(t.raw) == len(t.df):
        rows["tilskud_tekst"] = t.raw.loc[rows.index, "tilskud"]
    else:
        rows["tilskud_tekst"] = [f"{v:,.0f} kr.".replace(",", ".") if pd.notna(v) else "" for v in rows["tilskud"]]
    bad = []
    for col in ("tilskud", "tilskud_pr_patient", "tilskud_pr_borger"):
        if col in rows.columns:
            parsed = []
            for i, v in zip(rows.index, rows[col]):
                try:
                    parsed.append(parse_amount(v))
                except (ValueError, TypeError):
                    parsed.append(None)
                    bad.append(f"line {i}: {col} {v!r}")
            rows[col + "_kr"] = pd.to_numeric(pd.Series(parsed, index=rows.index), errors="coerce")
    if bad:
        t.notes.append(f"{t.path.name}: amounts not readable (left empty): {'; '.join(bad)}")
    cols = {"tilskud_kr": "tilskud_kr", "tilskud_pr_borger_kr": "tilskud_pr_borger_kr", "tilskud_tekst": "tilskud_tekst"}
    if "tilskud_pr_patient_kr" in rows.columns:
        cols["tilskud_pr_patient_kr"] = "tilskud_pr_patient_kr"
    if "patienter" in rows.columns:
        cols["patienter"] = "patienter"
    wide = _wide(rows, "kommune", cols)
    base = sources.get("kommuner")[["kommunekode", "navn", "geometry"]]
    return _join(base, wide, "kommune", layer_on="navn", name=name, title="Regionens tilskud til fysioterapi 2023",
                 source_table=t, sources=sources)


# ------------------------------------------------------------------------------- physiotherapists
_MEASURES = {"Ejer": "ejere", "Ansat": "ansatte", "Lejer": "lejere", "Ejer u kapacitet": "ejere_uden_kapacitet",
             "Ledig kapacitet": "ledig_kapacitet", "Total": "fysioterapeuter_i_alt"}


@register_derived(LayerInfo(
    "fysioterapeuter_pr_planomraade", "Fysioterapeuter under overenskomsten pr. planområde 2024", "polygon",
    "Physiotherapists under the agreement per planområde (owners, employed, tenants, total; practice plan Tabel 1), "
    "with the clinics reporting waiting times (Bilag 6/7) summed per planområde.",
    {"fysioterapeuter_i_alt": "physiotherapists, total", "ejere": "owners", "ansatte": "employed", "lejere": "tenants",
     "klinikker_sp51": "clinics in the waiting-time statistics, sp. 51 (sum of the planning areas)",
     "klinikker_sp62": "the same, sp. 62", "fysioterapeuter_pr_10000": "physiotherapists per 10,000 inhabitants (2024 forecast)"},
    needs=("planomraader_samlet", "pp_fysioterapeuter", "pp_befolkningsprognose")))
def fysioterapeuter_pr_planomraade(name, sources):
    t = PPTable("pp_fysioterapeuter", sources.data_dir, layer=name)
    df = t.df
    plan = df[df["niveau"].astype(str) == "planområde"].copy()
    prefix = "Antal fysioterapeuter under overenskomsten: "
    plan["kort"] = plan["maal"].astype(str).str.replace(prefix, "", regex=False).map(_MEASURES)
    unknown = sorted(set(plan.loc[plan["kort"].isna(), "maal"].astype(str)))
    if unknown:
        t.notes.append(f"{t.path.name}: measure(s) not mapped: {', '.join(unknown)}")
    wide = plan.dropna(subset=["kort"]).pivot_table(index="omraade", columns="kort", values="vaerdi", aggfunc="first")
    wide = wide.reset_index()
    clinics = df[(df["niveau"].astype(str) == "planlægningsområde") & df["maal"].astype(str).str.startswith("Antal klinikker")].copy()
    notes = []
    if len(clinics):
        from kkr_geo.layers.planomraader import definition
        d = definition()
        area_to_plan = {k: p for k, p in zip(d["planlaegningsomraade"].map(_nkey), d["planomraade"])}
        clinics["plan"] = clinics["omraade"].map(lambda v: area_to_plan.get(_nkey(v)))
        lost = sorted(set(clinics.loc[clinics["plan"].isna(), "omraade"].astype(str)))
        if lost:
            notes.append(f"clinic rows of unknown planning areas not summed: {', '.join(lost)}")
        for sp in SPECIALER:
            sub = clinics[clinics["maal"].astype(str).str.contains(f"speciale {sp}")]
            sums = sub.groupby("plan")["vaerdi"].sum()
            wide[f"klinikker_sp{sp}"] = wide["omraade"].map(sums)
    try:
        prog = PPTable("pp_befolkningsprognose", sources.data_dir, layer=name).df
        pop = prog[prog["niveau"].astype(str) == "planområde"].set_index("omraade")["2024"]
        wide["befolkning_2024"] = wide["omraade"].map(pop)
        if "fysioterapeuter_i_alt" in wide.columns:
            wide["fysioterapeuter_pr_10000"] = (1e4 * wide["fysioterapeuter_i_alt"] / wide["befolkning_2024"]).round(1)
    except DataError as exc:
        notes.append(f"no population forecast table: per-inhabitant figure left out ({exc.message})")
    base = sources.get("planomraader_samlet")[["planomraade", "geometry"]]
    return _join(base, wide, "omraade", layer_on="planomraade", name=name,
                 title="Fysioterapeuter under overenskomsten pr. planområde 2024", source_table=t, sources=sources,
                 extra_notes=notes)


def _nkey(v):
    from kkr_geo.layers.keys import normalise_name
    return normalise_name(v)

