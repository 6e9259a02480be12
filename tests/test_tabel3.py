"""The practice plan's Tabel 3 (speciale 51) joined to the planning areas, recomputed by hand."""

import pytest

from kkr_geo.layers.region_population import planlaegningsomraade_population, read_capacity_table


def test_population_and_ratio_recomputed(real_data):
    areas = planlaegningsomraade_population(real_data)
    assert len(areas) == 37 and areas["population"].notna().all()
    # population = capacity x inhabitants per capacity, e.g. Bispebjerg 4,89 x 11.354 = 55.521
    bisp = areas.set_index("navn").loc["Bispebjerg"]
    assert bisp["population"] == round(4.89 * 11354)
    # and back: borgere pr. kapacitet = population / capacity matches the table to its rounding (1 inhabitant)
    ratio = areas["population"] / areas["kapacitet_sp51"]
    assert (ratio - areas["borgere_pr_kapacitet_sp51"]).abs().max() < 1.0


def test_planomraade_totals_match_table(any_data):
    areas = planlaegningsomraade_population(any_data)
    table = read_capacity_table(any_data, 51)
    top = table[table["niveau"] == "planområde"].set_index("område")
    for plan, grp in areas.groupby("planomraade"):
        cap = grp["kapacitet_sp51"].sum()
        pop = grp["population"].sum()
        assert cap == pytest.approx(top.at[plan, "kapacitet_sp51"], abs=0.02)
        # the planområde row's borgere pr. kapacitet is the sum of populations over the sum of capacities
        assert pop / cap == pytest.approx(top.at[plan, "borgere_pr_kapacitet_sp51"], abs=1.0)
    region = table[table["niveau"] == "region"].iloc[0]
    assert areas["kapacitet_sp51"].sum() == pytest.approx(region["kapacitet_sp51"], abs=0.05)
    assert areas["population"].sum() / areas["kapacitet_sp51"].sum() == pytest.approx(region["borgere_pr_kapacitet_sp51"], abs=1.0)


def test_speciale62_gives_the_same_population(any_data):
    p51 = planlaegningsomraade_population(any_data, speciale=51).set_index("navn")["population"]
    p62 = planlaegningsomraade_population(any_data, speciale=62).set_index("navn")["population"]
    # both tables describe the same inhabitants; the ratios are rounded, so allow 1 %
    assert ((p51 - p62).abs() / p51).max() < 0.01
