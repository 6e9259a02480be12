"""One range per limit, read by every place that checks it (kkr_geo.geo.limits; issue 21): the DPI range was
50–1200 in specs, 10–1200 in ``build()`` and 20–1200 on the command line."""

from __future__ import annotations

import pytest

from kkr_geo.cli import main
from kkr_geo.geo.errors import InputError
from kkr_geo.geo.limits import DPI_RANGE
from kkr_geo.maps.build import build
from kkr_geo.maps.spec import load_spec

LO, HI = DPI_RANGE


def _spec(tmp_path, dpi: int):
    path = tmp_path / f"kort_{dpi}.yaml"
    path.write_text(f"title: Test\ndpi: {dpi}\nlayers:\n  - {{id: kom, source: kommuner, style: outline}}\n",
                    encoding="utf-8")
    return load_spec(path)


@pytest.mark.parametrize("dpi", [LO, HI])
def test_the_range_ends_are_accepted_everywhere(tmp_path, dpi, capsys):
    assert _spec(tmp_path, dpi).dpi == dpi
    assert main(["build", "--dpi", str(dpi), "--list"]) == 0


@pytest.mark.parametrize("dpi", [LO - 1, HI + 1])
def test_just_outside_the_range_is_refused_everywhere(tmp_path, dpi, capsys):
    with pytest.raises(InputError, match="dpi"):
        _spec(tmp_path, dpi)
    with pytest.raises(InputError, match=f"--dpi {dpi}"):
        build(tmp_path / "no-data", tmp_path / "out", dpi=dpi)
    assert main(["build", "--dpi", str(dpi), "--list"]) == 4
    assert f"{LO}–{HI}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
