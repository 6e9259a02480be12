"""Issue 20: how places and cell centres join the street network, each cause with a hand-derived case."""

import numpy as np
import pytest
import shapely

from kkr_geo.geo.network_build import build_street_network, components_summary

X0, Y0 = 700_000.0, 6_170_000.0


def L(*pts):
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in pts])


def P(*pts):
    return np.array([[X0 + x, Y0 + y] for x, y in pts], dtype=float)


def dist(net, src, dst):
    return net.cell_distances(net.distances_from(P(*src)), P(*dst), source_xy=P(*src))


def test_lines_crossing_without_a_shared_vertex_are_an_at_grade_junction():
    # two streets crossing at (50, 0): neither has a vertex there
    ew, ns = L((0, 0), (100, 0)), L((50, -100), (50, 100))
    unnoded = build_street_network([ew, ns], densify_m=None, min_component_nodes=0, node_crossings=False)
    assert components_summary(unnoded)["components"] == 2
    net = build_street_network([ew, ns], densify_m=None, min_component_nodes=0)
    assert components_summary(net)["components"] == 1
    # from the west end to the north end: 50 along + 100 up
    assert dist(net, [(0, 0)], [(50, 100)])[0] == pytest.approx(150.0)


def test_a_motorway_crossing_is_a_bridge_and_homes_beside_it_join_the_street_behind():
    # a motorway along y = 0 crosses a local street x = 50 on a bridge; a second local street y = 40
    # joins the first at (50, 40)
    motorway = L((-1000, 0), (1000, 0))
    street = L((50, -200), (50, 200))  # the side street meets it without a shared vertex
    side = L((50, 40), (300, 40))
    net = build_street_network([motorway, street, side], densify_m=None, min_component_nodes=0,
                               grade_separated=[True, False, False], snappable=[False, True, True])
    assert components_summary(net)["components"] == 2  # the bridge is not a junction
    # a home at (200, 5): 5 m from the motorway, 35 m from the side street. It joins the side street at
    # (200, 40): 35 + 150 along + 40 down the street to (50, 0)... the street point (50, -100) is
    # 150 + 140 + 35 = 325 away
    d = dist(net, [(200, 5)], [(50, -100)])[0]
    assert d == pytest.approx(35 + 150 + 140)


def test_places_join_the_nearest_point_of_an_edge_not_a_vertex_and_the_leg_counts_once():
    # one 1,000 m street without intermediate vertices (no densification): a place 10 m beside its
    # middle and a cell 20 m beside x = 700
    net = build_street_network([L((0, 0), (1000, 0))], densify_m=None, min_component_nodes=0, join_dangles_m=0)
    assert net.n_nodes == 2
    d = dist(net, [(500, 10)], [(700, -20)])[0]
    assert d == pytest.approx(10 + 200 + 20)  # both legs once, along the street between the feet
    # a vertex snap would have given 10 + 500 + 300 + 20 (via the nearest end nodes) = 830
    a, b, ta, tb, leg = net.locate(P((500, 10)))
    assert (ta[0], tb[0], leg[0]) == pytest.approx((500, 500, 10))


def test_a_stranded_piece_is_not_joined():
    # the connected town: a 5 x 5 grid of 100 m streets (joinable); a stranded private road 30 m away
    # from a home, not connected to anything; the town street 60 m away
    town = [L((0, y), (400, y)) for y in range(0, 500, 100)] + [L((x, 0), (x, 400)) for x in range(0, 500, 100)]
    stranded = L((500, 200), (500, 260))
    net = build_street_network([*town, stranded], densify_m=None, min_component_nodes=0,
                               min_join_component_nodes=10)
    assert components_summary(net)["components"] == 2
    # the home at (470, 230) joins the town's street x = 400 at (400, 230): 70 m leg; the stranded piece
    # (30 m) is not used. From the corner (0, 0): 400 + 230 + 70 = 700
    assert dist(net, [(0, 0)], [(470, 230)])[0] == pytest.approx(700)


def test_a_station_between_two_streets_is_reached_from_both():
    # two parallel streets 60 m apart (y = 0 and y = 60) joined only at x = 0; a station between them
    # at (500, 25) (25 m from the south street, 35 m from the north one)
    south, north, link = L((0, 0), (1000, 0)), L((0, 60), (1000, 60)), L((0, 0), (0, 60))
    net = build_street_network([south, north, link], densify_m=None, min_component_nodes=0)
    # a home on the north street at (600, 70): 10 m leg + 100 m along + 35 m to the station
    assert dist(net, [(500, 25)], [(600, 70)])[0] == pytest.approx(10 + 100 + 35)
    # joined only to the nearest street it would be 25 + 500 + 60 + 600 + 10 = 1195


def test_a_place_far_from_every_street_still_joins_and_is_reported():
    from kkr_geo.geo.distance import PLACE_FAR_M, place_access
    net = build_street_network([L((0, 0), (1000, 0))], densify_m=None, min_component_nodes=0, max_snap_m=500)
    # a new station 700 m from the street: cells 700 m away would be unreachable, a place is not
    d = dist(net, [(500, 700)], [(500, -10)])[0]
    assert d == pytest.approx(710)
    report = place_access(net, P((500, 700), (100, 5)))
    assert report["far"] == [0] and report["legs"][0] == pytest.approx(700) and PLACE_FAR_M < 700


def test_a_t_junction_without_a_vertex_splits_the_main_road_where_the_side_road_meets_it():
    # main road (0,0)–(1000,0) without intermediate vertices; a side road from (400, 300) ending 2 m
    # short of it at (400, 2). A home 10 m south of the main road at (450, -10): 298 down the side road
    # + 2 gap + 50 along + 10 leg = 360 from the side road's far end. Linking the dangle to the main
    # road's two ends only would give 300 + 400 + 450 + 10 = 1160 (via the west end).
    net = build_street_network([L((0, 0), (1000, 0)), L((400, 300), (400, 2))], densify_m=None, min_component_nodes=0)
    assert dist(net, [(400, 300)], [(450, -10)])[0] == pytest.approx(360)
    # two side roads meeting the same segment: the segment is cut at both feet, in order
    net = build_street_network([L((0, 0), (1000, 0)), L((400, 300), (400, 2)), L((700, -300), (700, -1))],
                               densify_m=None, min_component_nodes=0)
    assert dist(net, [(400, 300)], [(700, -300)])[0] == pytest.approx(298 + 2 + 300 + 1 + 299)


def test_a_side_road_that_stops_short_of_the_main_road_is_linked_unless_a_barrier_lies_between():
    # Gørløse in the road centre lines: a residential road ends 11 m short of the main road, and the
    # quarter reached its station by an 11 km detour. Main road (0,0)–(1000,0); a side road from
    # (400, 300) ending at (400, 11); a loop road far round joins them: (400, 300)–(-2000, 300)–(-2000, 0)
    # –(0, 0), 2,400 + 300 + 2,000 = 4,700 m.
    main, side, loop = L((0, 0), (1000, 0)), L((400, 300), (400, 11)), L((400, 300), (-2000, 300), (-2000, 0), (0, 0))
    # a place on the side road (400, 150) to a home 30 m south of the main road (900, -30)
    src, dst = [(400, 150)], [(900, -30)]
    plain = build_street_network([main, side, loop], densify_m=None, min_component_nodes=0)
    # without closing: up 150, round the loop 4,700, along 900, leg 30
    assert dist(plain, src, dst)[0] == pytest.approx(150 + 4700 + 900 + 30)
    closed = build_street_network([main, side, loop], densify_m=None, min_component_nodes=0, close_gaps_m=15)
    # down 139, the 11 m gap, along 500, leg 30
    assert dist(closed, src, dst)[0] == pytest.approx(139 + 11 + 500 + 30)
    # a gap wider than the tolerance stays open (a real cul-de-sac 20 m behind a road)
    far = build_street_network([main, L((400, 300), (400, 20)), loop], densify_m=None, min_component_nodes=0,
                               close_gaps_m=15)
    assert dist(far, src, dst)[0] == pytest.approx(150 + 4700 + 900 + 30)
    # a rail line between them (a barrier) keeps it open
    rail = L((-3000, 5), (3000, 5))
    barred = build_street_network([main, side, loop], densify_m=None, min_component_nodes=0, close_gaps_m=15,
                                  tracks=[rail])
    assert dist(barred, src, dst)[0] == pytest.approx(150 + 4700 + 900 + 30)
    # ... and so does a motorway (grade-separated, never joined): the side road is not linked onto it
    motorway = L((-3000, 5), (3000, 5))
    mw = build_street_network([motorway, main, side, loop], densify_m=None, min_component_nodes=0, close_gaps_m=15,
                              grade_separated=[True, False, False, False], snappable=[False, True, True, True])
    assert dist(mw, src, dst)[0] == pytest.approx(150 + 4700 + 900 + 30)


def test_a_station_on_the_tracks_is_reached_from_the_nearest_street_on_each_side():
    # Tracks along y = 0 with the station at (0, 0). The south street (y = -30) and the north street
    # (y = 180, farther than the nearest street + 100 m) meet only 3 km east. A spur of the south street
    # ends at the station, 15 m north of the track line (inside the rail corridor: no side).
    tracks = L((-4000, 0), (4000, 0))
    south, east, north = L((-500, -30), (3000, -30)), L((3000, -30), (3000, 180)), L((3000, 180), (-500, 180))
    spur = L((60, -30), (20, 15))  # its end is the nearest street to the station (25 m), north of the line
    lines = [south, east, north, spur]
    station, home = [(0, 0)], [(0, 200)]  # the home 20 m north of the north street
    plain = build_street_network(lines, densify_m=None, min_component_nodes=0)
    # without tracks: leg 25 to the spur's end, down the spur (√(40² + 45²)) to (60, -30), 2,940 east, 210 up,
    # 3,000 west, leg 20
    assert dist(plain, station, home)[0] == pytest.approx(25 + np.hypot(40, 45) + 2940 + 210 + 3000 + 20)
    net = build_street_network(lines, densify_m=None, min_component_nodes=0, tracks=[tracks])
    # tracks without stations: no place is a station
    assert dist(net, station, home)[0] == pytest.approx(25 + np.hypot(40, 45) + 2940 + 210 + 3000 + 20)
    net.stations = P((0, 0))
    # the station joins the north street too: leg 180, leg 20 (the spur's end, 15 m off the track line,
    # is no north side)
    assert dist(net, station, home)[0] == pytest.approx(180 + 20)
    # a clinic beside the tracks, not at a station, joins its nearest streets only: leg 30 south to (500, -30),
    # then as above round by the east
    assert dist(net, [(500, 0)], home)[0] == pytest.approx(30 + 2500 + 210 + 3000 + 20)
    # a place off the tracks (400 m south) gets no side joins
    far = [(0, -430)]
    assert dist(net, far, home)[0] == pytest.approx(400 + 3000 + 210 + 3000 + 20)


def test_the_region_network_has_its_gap_tolerance_tracks_and_stations():
    # the layer wiring: the road network closes gaps of 15 m, the surface rail lines (not the Metro) are its
    # tracks, and the rail stations of the stationer layer are its stations
    from kkr_geo.layers import roads
    rail = roads.rail_tracks()
    assert len(rail) >= 15 and roads.NETWORK_CLOSE_GAPS_M == 15.0
    assert "metro" not in roads.RAIL_TRACK_SYSTEMS
    assert len(roads.station_points()) >= 200


def test_walking_paths_merge_with_the_road_centre_lines(tmp_path, monkeypatch):
    """A synthetic data directory: two parallel streets 200 m apart joined only at their west ends, and an
    OSM footpath (EPSG:4326, as `kkr-geo data fetch gangveje` writes it) between them at x = 500 that stops
    2 m short of both street centre lines; an OSM residential road on top of the south street is ignored."""
    import geopandas as gpd

    from kkr_geo.geo.distance import describe_method
    from kkr_geo.layers import roads
    monkeypatch.setenv("KKR_GEO_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    (root / "vejnet").mkdir(parents=True)
    (root / "osm").mkdir()
    gpd.GeoDataFrame({"type": ["Off. kommunevej"] * 3},
                     geometry=[L((0, 0), (1000, 0)), L((0, 200), (1000, 200)), L((0, 0), (0, 200))],
                     crs=25832).to_file(root / "vejnet" / "vejmidter_region_hovedstaden.gpkg")
    roads._memory.clear()
    road_only = roads.street_network(root)
    # home at (600, -10) to a home at (600, 210): 10 + 600 west + 200 + 600 east + 10 = 1420
    assert dist(road_only, [(600, -10)], [(600, 210)])[0] == pytest.approx(1420)
    assert describe_method(road_only, 1.3)["network_paths"] is None
    gpd.GeoDataFrame({"highway": ["footway", "residential"]},
                     geometry=[L((500, 2), (500, 198)), L((0, 1), (1000, 1))], crs=25832
                     ).to_crs(4326).to_file(root / "osm" / "gangveje_osm.geojson", driver="GeoJSON")
    roads._memory.clear()
    merged = roads.street_network(root)
    # 10 + 100 west + 2 gap + 196 path + 2 gap + 100 east + 10 = 420 (the reprojection round trip is < 1 mm)
    assert dist(merged, [(600, -10)], [(600, 210)])[0] == pytest.approx(420, abs=0.01)
    meta = describe_method(merged, 1.3)
    assert meta["network_paths"] == "stier fra OpenStreetMap" and "OpenStreetMap" in meta["network"]
    from kkr_geo.layers.analyses import method_note

    class G:
        provenance = None
        source = "befolkning.tif"
    assert "vejmidter og stier" in method_note(meta, G())
    assert "uden stier" in method_note(describe_method(road_only, 1.3), G())


def test_place_notes_are_one_line_each_kind():
    from kkr_geo.geo.network_check import place_notes
    net = build_street_network([L((0, 0), (1000, 0))], densify_m=None, min_component_nodes=0)
    # 200 m and 700 m from the street (far), 5 m (fine), 3 km (outside the network)
    notes = place_notes(net, P((100, 200), (500, 700), (900, 5), (500, 3000)), ["A", "B", "C", "D"])
    assert notes == ["Langt fra nærmeste vej i vejnettet (adgangen regnet som luftlinje): A 200 m, B 700 m.",
                     "1 sted ligger mere end 1.500 m fra vejnettet (uden for dets område) og når ingen ad vej: D."]
