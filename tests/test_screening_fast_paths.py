"""The screening fast paths of issue 13 item 5 against plain computations (speed: make bench).

- ``query_pairs`` (tree boxes, predicate on the prepared tree side) finds the pairs plain distances
  find, pair by pair (hypothesis, intersects and dwithin, collapsed lines and polygons included);
- ``nearest_exact`` (outline pieces, a vertex bound) and the nearest records of a screening
  (found among the buffer ring's features where there are any) against the distance to every
  feature, one by one;
- ``corner_tables`` (one transform per zone) equals ``corner_rows`` site by site;
- ``_plain_rows``: a row it lets through is one the per-row checks pass unchanged and silently;
- a batch (shared layer/rule records, clause rows, batched corners and WKT) gives for every site
  what screening that site alone gives.
"""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.ops
from hypothesis import example, given, settings
from hypothesis import strategies as st

from zoning.geo.crs import GEOD, STORAGE_EPSG, project, transformer
from zoning.geo.query import collapsed_parts, query_pairs
from zoning.io.sites import _check_geometry, _check_plausible, _plain_rows
from zoning.io.tables import corner_rows, corner_tables
from zoning.screening.overlay import NEAREST_TARGETS, nearest_exact



# ------------------------------------------------------------------------------ query_pairs
coord = st.floats(0, 100).map(lambda v: round(v, 6))  # micrometres: no subnormal gaps whose square is 0
shape_st = st.one_of(
    st.builds(lambda x, y: shapely.Point(x, y), coord, coord),
    st.builds(lambda x, y, dx, dy: shapely.LineString([(x, y), (x + dx, y + dy), (x + dy, y)]), coord, coord,
              st.floats(-20, 20).map(lambda v: round(v, 6)), st.floats(-20, 20).map(lambda v: round(v, 6))),
    st.builds(lambda x, y, r, n: shapely.Point(x, y).buffer(r, quad_segs=n), coord, coord, st.floats(0.1, 30),
              st.integers(1, 8)),
)


def _plain_pairs(tree_geoms, geoms, reach):
    """Every pair by its plain (unprepared) distance: the independent reference."""
    fresh = lambda a: shapely.from_wkb(shapely.to_wkb(a))  # noqa: E731 — copies nobody prepared
    t, g = fresh(np.asarray(tree_geoms, dtype=object)), fresh(np.asarray(geoms, dtype=object))
    reach = np.broadcast_to(np.asarray(reach, dtype="float64"), (len(g),))
    return [(i, j) for i in range(len(g)) for j in range(len(t)) if shapely.distance(t[j], g[i]) <= reach[i]]


collapsed = st.one_of(  # GEOS's prepared dwithin answers False for these at any distance
    st.builds(lambda x, y: shapely.LineString([(x, y), (x, y), (x, y)]), coord, coord),
    st.builds(lambda x, y: shapely.Polygon([(x, y)] * 4), coord, coord),
    st.builds(lambda x, y: shapely.MultiPolygon([shapely.box(x, y, x + 1, y + 1), shapely.Polygon([(y, x)] * 4)]),
              coord, coord),
)


@settings(max_examples=150, deadline=None)
@given(tree_geoms=st.lists(st.one_of(shape_st, collapsed), min_size=1, max_size=15),
       geoms=st.lists(st.one_of(shape_st, collapsed), min_size=1, max_size=15),
       distance=st.floats(0, 40), per_site=st.booleans())
@example(tree_geoms=[shapely.LineString([(0, 2), (0, 2), (0, 2)])], geoms=[shapely.Point(0, 0).buffer(1, quad_segs=2)],
         distance=4.0, per_site=False)  # found by hypothesis in CI: a collapsed line in the tree
def test_query_pairs_finds_the_pairs_plain_distances_find(tree_geoms, geoms, distance, per_site):
    tree_geoms, geoms = np.array(tree_geoms, dtype=object), np.array(geoms, dtype=object)
    tree = shapely.STRtree(tree_geoms)
    assert list(zip(*query_pairs(tree, tree_geoms, geoms))) == _plain_pairs(tree_geoms, geoms, 0.0)
    dist = np.linspace(0, distance, len(geoms)) if per_site else distance
    assert list(zip(*query_pairs(tree, tree_geoms, geoms, "dwithin", dist))) == _plain_pairs(tree_geoms, geoms, dist)


def test_collapsed_parts_names_the_geometries_prepared_predicates_get_wrong():
    flags = collapsed_parts([shapely.Polygon([(0, 2)] * 4), shapely.box(0, 0, 1, 1), shapely.Point(1, 1),
                             shapely.LineString([(0, 0), (0, 0)]), shapely.LineString([(0, 0), (1, 0)]),
                             shapely.GeometryCollection([shapely.LineString([(0, 0), (0, 0)])]), shapely.Polygon(),
                             shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.Polygon([(5, 5)] * 4)])])
    assert flags.tolist() == [True, False, False, True, False, True, False, True]


# ------------------------------------------------------------------------------ nearest
def _sites(layers, n, seed):
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = layers.coverage.bounds
    lon, lat = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    h = rng.uniform(0.0005, 0.004, n)
    kind = rng.integers(0, 3, n)
    geoms = [shapely.box(x - d, y - d, x + d, y + d) if k == 0 else shapely.Point(x, y) if k == 1 else
             shapely.LineString([(x, y), (x + 2 * d, y + d), (x + 3 * d, y - d)])
             for x, y, d, k in zip(lon, lat, h, kind)]
    return gpd.GeoDataFrame({"site_id": [f"N{i}" for i in range(n)]}, geometry=geoms, crs=STORAGE_EPSG)


def _plain_nearest(geom_gk, frame, epsg):
    """Planar distance to every feature, one by one; the smallest, and its geodesic distance."""
    feats = np.asarray(frame.geometry.values)
    planar = shapely.distance(feats, geom_gk)
    k = int(np.argmin(planar))
    ends = shapely.get_coordinates(shapely.shortest_line(geom_gk, feats[k]))
    lon, lat = transformer(epsg, STORAGE_EPSG).transform(ends[:, 0], ends[:, 1])
    return planar, k, abs(GEOD.inv(lon[0], lat[0], lon[1], lat[1])[2])


def test_nearest_exact_is_the_nearest_of_all_features(layers):
    sites = _sites(layers, 120, 4)
    for epsg in (4548, 4549):
        gk = project(sites.geometry.values, epsg)
        for target, (role, where) in NEAREST_TARGETS.items():
            frame, _ = layers.projected(role, epsg, where)
            if not len(frame):
                continue
            s_idx, f_idx, dist = nearest_exact(gk, layers, role, epsg, where)
            assert list(s_idx) == list(range(len(gk)))
            for s, f, d in zip(s_idx, f_idx, dist):
                planar, k, geodesic = _plain_nearest(gk[s], frame, epsg)
                assert planar[f] == pytest.approx(planar.min(), abs=1e-6), (target, s)
                # ties (0 m: the site touches several): the lowest feature row
                assert f == np.flatnonzero(planar <= planar.min() + 1e-9)[0] or planar[f] > 0
                assert d == pytest.approx(geodesic, abs=1e-6) if planar[f] > 0 else d == 0


def test_nearest_records_of_a_screening_are_the_nearest_of_all_features(layers):
    """Sites near a target get it from the buffer ring's features, the others from a search: either
    way the record names a nearest feature and its geodesic distance (0.1 m)."""
    from zoning.api import screen

    sites = _sites(layers, 150, 8)
    results = screen(sites, layers=layers, compute="local")
    checked = {"ring": 0, "far": 0, "held": 0}
    for r, geom in zip(results, sites.geometry):
        if r.error:
            continue
        epsg = int(r.crs_used.split(":")[1])
        gk = project(np.array([geom], dtype=object), epsg)[0]
        got = {n.target: n for n in r.nearest}
        for target, (role, where) in NEAREST_TARGETS.items():
            frame, _ = layers.projected(role, epsg, where)
            planar, k, geodesic = _plain_nearest(gk, frame, epsg)
            n = got[target]
            allowed = {f: {str(v) for v in vs} for f, vs in where}
            held = [h for h in r.hits if h.role == role and all(str(h.props.get(f)) in v for f, v in allowed.items())]
            if held:  # inside features of the target: 0 m from the one holding most of the site
                assert (n.id, n.distance_m) == (max(held, key=lambda h: h.share).id, 0.0), (r.site_id, target)
                checked["held"] += 1
            ids = [str(row.get("code") or row.get("id")) for _, row in frame.iterrows()]
            best = [ids[j] for j in np.flatnonzero(planar <= planar.min() + 0.5)]  # near-ties either way
            assert n.id in best, (r.site_id, target)
            assert n.distance_m == pytest.approx(round(geodesic, 1), abs=0.11), (r.site_id, target)
            checked["ring" if geodesic <= max(r.buffer_rings_m) else "far"] += 1
    assert checked["ring"] > 50 and checked["far"] > 50 and checked["held"] > 20, checked


# ------------------------------------------------------------------------------ corners
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(117.2, 119.8), st.floats(26.2, 28.3), st.floats(0.0005, 0.01),
                          st.integers(1, 40), st.integers(0, 4), st.sampled_from([4548, 4549])),
                min_size=1, max_size=8))
def test_corner_tables_equal_corner_rows_site_by_site(specs):
    geoms, zones = [], []
    for lon, lat, r, segs, kind, epsg in specs:
        g = shapely.Point(lon, lat).buffer(r, quad_segs=segs)
        g = [g, g.difference(shapely.Point(lon, lat).buffer(r / 3)),
             shapely.MultiPolygon([g, shapely.box(lon + 2 * r, lat, lon + 3 * r, lat + r)]),
             shapely.Point(lon, lat), shapely.LineString([(lon, lat), (lon + r, lat)])][kind]
        geoms.append(g)
        zones.append(epsg)
    assert corner_tables(geoms, zones) == [corner_rows(g, e) for g, e in zip(geoms, zones)]


# ------------------------------------------------------------------------------ plain rows
geom_st = st.one_of(
    st.builds(lambda x, y, z: shapely.Point(x, y, z) if z else shapely.Point(x, y),
              st.floats(70, 140), st.floats(0, 60), st.sampled_from([0, 5.0])),
    st.builds(lambda x, y, d: shapely.box(x, y, x + d, y + d), st.floats(70, 140), st.floats(0, 60),
              st.sampled_from([0.0, 1e-7, 1e-3, 0.1])),
    st.builds(lambda x, y, d: shapely.Polygon([(x, y), (x + d, y + d), (x + d, y), (x, y + d)]),  # bow tie
              st.floats(100, 120), st.floats(20, 40), st.floats(1e-4, 0.1)),
    st.builds(lambda x, y, d: shapely.LineString([(x, y), (x + d, y)]), st.floats(70, 140), st.floats(0, 60),
              st.sampled_from([0.0, 0.01])),
    st.just(shapely.Polygon()), st.just(shapely.Point(float("nan"), 30.0)),
    st.just(shapely.GeometryCollection([shapely.Point(118, 27)])),
)


@settings(max_examples=300, deadline=None)
@given(geom=geom_st)
def test_a_plain_row_is_one_the_checks_pass_unchanged(geom):
    plain = bool(_plain_rows([geom])[0])
    if not plain:
        return
    _check_plausible(geom, "S1")  # no error
    out, warnings = _check_geometry(geom, "S1")
    assert out is geom and warnings == []


def test_plain_rows_cover_the_common_rows():
    geoms = [shapely.box(118, 27, 118.01, 27.01), shapely.Point(118, 27), shapely.LineString([(118, 27), (118.1, 27)]),
             None, shapely.Point(0, 0), shapely.Polygon([(118, 27), (118.1, 27.1), (118.1, 27), (118, 27.1)])]
    assert _plain_rows(geoms).tolist() == [True, True, True, False, False, False]


# ------------------------------------------------------------------------------ batch = alone
def test_a_batch_gives_every_site_what_screening_it_alone_gives(layers):
    """Shared records and clause rows, batched corners, WKT and nearest searches change nothing a
    site's result holds: mixed kinds, attributes per row, sites partly and wholly outside."""
    from zoning.api import screen

    sites = _sites(layers, 40, 13)
    minx, miny, maxx, maxy = layers.coverage.bounds
    extra = [shapely.box(maxx - 0.01, miny + 0.3, maxx + 0.02, miny + 0.33),  # partly outside
             shapely.Point(maxx + 0.5, maxy + 0.5)]  # outside
    sites = gpd.GeoDataFrame({"site_id": list(sites["site_id"]) + ["P1", "O1"]},
                             geometry=list(sites.geometry) + extra, crs=STORAGE_EPSG)
    sites["industry"] = np.resize(["C2041", "C3011", "C26", None, "C2614"], len(sites))
    sites["clear_share"] = np.resize([None, 0.5, 1.0], len(sites))
    batch = screen(sites, layers=layers, compute="local")
    for k in range(len(sites)):
        alone = screen(sites.iloc[[k]], layers=layers, compute="local")[0]
        assert json.loads(batch[k].to_json()) == json.loads(alone.to_json()), sites["site_id"].iloc[k]


def test_to_dict_is_asdict_and_a_copy(layers):
    """``ScreenResult.to_dict`` (own walk, no deep copy of text and numbers) equals
    ``dataclasses.asdict`` for mixed sites with carbon, errors and clauses; editing it edits nothing
    of the result or of another result sharing its parts."""
    import dataclasses

    from zoning.api import screen

    from conftest import CATALOG

    sites = _sites(layers, 25, 5)
    sites["industry"] = np.resize(["C3011", None, "C2614"], len(sites))
    sites.loc[3, "geometry"] = None  # an error row
    results = list(screen(sites, layers=layers, compute="local"))
    results += list(screen(CATALOG.parent / "nanping" / "generated" / "sample_projects.gpkg", layers=layers))
    assert any(r.carbon for r in results) and any(r.clauses for r in results) and any(r.error for r in results)
    for r in results:
        assert r.to_dict() == dataclasses.asdict(r)
    a, b = results[0].to_dict(), results[1].to_dict()
    a["layers"][0]["name"] = "changed"
    a["rule_pack"]["version"] = "changed"
    assert results[0].layers[0].name != "changed" and results[1].to_dict() == b
    assert results[0].rule_pack.get("version") != "changed"


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False),
                     st.text(max_size=12))
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                          max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(doc=st.dictionaries(st.text(max_size=8), JSON_VALUE, max_size=8))
def test_records_json_is_the_same_json(doc):
    """The result files' layout (C encoder, a record per line) holds exactly what json.dumps holds."""
    from zoning.screening.result import records_json

    text = records_json(doc)
    assert json.loads(text) == json.loads(json.dumps(doc))
    assert all(len(line) < 2 or line.startswith(("  ", "{", "}")) for line in text.split("\n"))


def test_result_files_hold_the_results_json(layers, tmp_path):
    from zoning.api import screen, write_screen_outputs

    results = screen(_sites(layers, 12, 8), layers=layers, compute="local")
    write_screen_outputs(results, tmp_path / "out", layers=layers, reports=False)
    files = sorted((tmp_path / "out" / "results").glob("*.json"))
    assert len(files) == 12
    by_id = {r.site_id: json.loads(r.to_json()) for r in results}
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        assert doc == by_id[doc["site_id"]]


def test_screening_lets_no_library_warning_through(layers, tmp_path):
    """A user sees zoning's own warnings only: no pyproj/shapely/pandas warning on the terminal
    (pyproj's "lose important projection information" came through for every polygon batch)."""
    import warnings

    from zoning.api import screen

    sites = _sites(layers, 30, 21)
    path = tmp_path / "s.gpkg"
    sites.to_file(path, driver="GPKG")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = screen(path, layers=layers, compute="local")
    assert len(results) == 30


def test_how_far_outside_is_the_same_geodesic_figure_in_sites_and_screen(layers):
    """`zoning sites` measured "how far outside" in the equal-area plane (322.9 km where screening
    and pyproj.Geod say 324.9 km): both now give the geodesic distance to the layers' edge."""
    import re

    from zoning.api import read_sites, screen
    from zoning.geo.locate import locate_sites

    site = gpd.GeoDataFrame({"site_id": ["far"]}, geometry=[shapely.Point(115.0, 30.0)], crs=STORAGE_EPSG)
    located = locate_sites(read_sites(site).assign(warnings=[[]]), layers.admin_index())
    km_sites = float(re.search(r"距边界约 ([\d.]+) km", " ".join(located["warnings"].iloc[0])).group(1))
    r = screen(site, layers=layers, compute="local")[0]
    km_screen = float(re.search(r"距边界约 ([\d.]+) km", " ".join(r.warnings)).group(1))
    # truth: the nearest point of the (unsimplified) coverage, on the ellipsoid
    near = shapely.ops.nearest_points(shapely.Point(115.0, 30.0), layers.coverage)[1]
    truth_km = abs(GEOD.inv(115.0, 30.0, near.x, near.y)[2]) / 1000
    assert km_sites == km_screen
    assert abs(km_sites - truth_km) < 0.2, (km_sites, truth_km)
