"""The fast paths of issue 13 item 5 give what the plain paths give (speed figures: make bench).

- the clause index (site_clauses) against the clause-by-clause filter it replaced, on random
  libraries and units (hypothesis);
- the rule-pack cache: the same pack as a fresh parse, its own copy per caller, re-read when
  the file changes;
- the kept-open carbon raster: the same stock as a fresh open, reopened when the file changes;
- cached attribute parsing: the same values and the same refusals (True is not 1);
- the pool's collector pause restores the collector's state, also after an error.
"""
from __future__ import annotations

import copy
import gc
import shutil

import numpy as np
import pytest
import rasterio
import shapely
import geopandas as gpd
from hypothesis import given, settings
from hypothesis import strategies as st

from zoning.engines import pool
from zoning.errors import AttributeProblem
from zoning.screening import attributes as attrs_mod
from zoning.screening import clauses as clauses_mod
from zoning.screening.clauses import ClauseLibrary, site_clauses
from zoning.screening.rules import load_rule_pack
from zoning.vocabulary import CLAUSE_TIERS, COUNTY_TIER, DIMENSIONS, OUTCOME_CLAUSE_STATUS, UNIT_CLASSES, UNIT_TIER

from conftest import CATALOG, job_results


# ------------------------------------------------------------------------------ clauses
def _plain_site_clauses(library, units, outcomes, rule_ids):
    """site_clauses as it was before the index: every clause tested against every unit."""
    out = []
    tier_at = {t: i for i, t in enumerate(CLAUSE_TIERS)}
    dim_at = {d: i for i, d in enumerate(DIMENSIONS)}
    for unit in units:
        mine = [c for c in library.clauses if clauses_mod._applies(c, unit)]
        mine.sort(key=lambda c: (tier_at[c["tier"]], dim_at[c["dimension"]]))
        for c in mine:
            rule = c["rule"]
            if rule and rule in outcomes:
                status = OUTCOME_CLAUSE_STATUS[outcomes[rule]]
            elif rule and rule in rule_ids:
                status = "complies"
            else:
                status, rule = "manual", (rule if rule else None)
            out.append({"unit_code": unit["code"], "tier": c["tier"], "dimension": c["dimension"],
                        "number": c["number"], "text": c["text"], "status": status,
                        "rule_id": rule if status != "manual" or rule in outcomes else None})
    return out


UNIT_CODES = ["ZH35070210001", "ZH35070220002", "ZH35072130001"]
COUNTY_CODES = ["350702", "350721", None]
RULES = [None, "R1", "R2", "R3"]
clause_st = st.fixed_dictionaries({
    "tier": st.sampled_from(list(CLAUSE_TIERS)), "dimension": st.sampled_from(list(DIMENSIONS)),
    "number": st.integers(1, 9), "text": st.sampled_from(["禁止", "限制", "应当"]), "rule": st.sampled_from(RULES),
    "unit_code": st.sampled_from(UNIT_CODES), "county_code": st.sampled_from(COUNTY_CODES[:2]),
    "unit_class": st.sampled_from([None, *UNIT_CLASSES])})
unit_st = st.fixed_dictionaries({"code": st.sampled_from(UNIT_CODES), "class": st.sampled_from(list(UNIT_CLASSES)),
                                 "county_code": st.sampled_from(COUNTY_CODES)})


@settings(max_examples=300, deadline=None)
@given(clauses=st.lists(clause_st, max_size=40), units=st.lists(unit_st, max_size=4),
       outcomes=st.dictionaries(st.sampled_from(RULES[1:]), st.sampled_from(sorted(OUTCOME_CLAUSE_STATUS))),
       evaluated=st.sets(st.sampled_from(RULES[1:])))
def test_clause_index_equals_clause_by_clause(clauses, units, outcomes, evaluated):
    # the loader keeps unit_code only for unit clauses and county_code only for county clauses
    for c in clauses:
        c["unit_code"] = c["unit_code"] if c["tier"] == UNIT_TIER else None
        c["county_code"] = c["county_code"] if c["tier"] == COUNTY_TIER else None
    library = ClauseLibrary(None, "t", "1", False, tuple(clauses))
    fast = site_clauses(library, units, outcomes, evaluated)
    assert fast == _plain_site_clauses(library, units, outcomes, evaluated)
    assert site_clauses(library, units, outcomes, evaluated) == fast  # the cached index answers the same


def test_clause_index_of_the_sample_library(catalog):
    from zoning.screening.clauses import load_clause_library

    library = load_clause_library(catalog.clauses)
    units = [{"code": c["unit_code"], "class": cls, "county_code": cc}
             for c in library.clauses if c["unit_code"] for cls in UNIT_CLASSES for cc in COUNTY_CODES][:60]
    assert units
    assert site_clauses(library, units, {}, {"X"}) == _plain_site_clauses(library, units, {}, {"X"})


# ------------------------------------------------------------------------------ rule packs
def test_rule_pack_cache_same_pack_own_copy_and_reread(tmp_path, catalog):
    path = tmp_path / "pack.yaml"
    shutil.copy(catalog.rule_pack, path)
    first = load_rule_pack(path)
    again = load_rule_pack(path)
    assert again is not first and again.rules[0] is not first.rules[0]
    assert [(r.id, r.scope, r.when, r.outcome) for r in again.rules] == \
           [(r.id, r.scope, r.when, r.outcome) for r in first.rules]
    again.rules.pop()  # a caller's copy is its own
    assert len(load_rule_pack(path).rules) == len(first.rules)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f"version: {first.version}", "version: 99.9-edited", 1)
                    if f"version: {first.version}" in text else text.replace("version:", "version: '99.9'  #", 1),
                    encoding="utf-8")
    assert load_rule_pack(path).version != first.version  # an edited file is read again


# ------------------------------------------------------------------------------ carbon raster
def test_kept_open_raster_gives_fresh_results_and_reopens_changed_files(tmp_path, catalog):
    from zoning.carbon import density

    spec = catalog.by_role("forest_carbon")[0]
    path = tmp_path / "d.tif"
    shutil.copy(spec.path, path)
    rng = np.random.default_rng(4)
    with rasterio.open(path) as src:
        b = src.bounds
        crs = src.crs
    x = rng.uniform(b.left + 2000, b.right - 2000, 6)
    y = rng.uniform(b.bottom + 2000, b.top - 2000, 6)
    polys = gpd.GeoDataFrame({"site_id": [f"P{i}" for i in range(6)]},
                             geometry=[shapely.box(a, c, a + 800, c + 600) for a, c in zip(x, y)], crs=crs)
    first = density.stock(polys, density.open_density(path, units=spec.units), workers=1)
    again = density.stock(polys, density.open_density(path, units=spec.units), workers=1)
    np.testing.assert_array_equal(first["stock_tC"].to_numpy(), again["stock_tC"].to_numpy())  # NaN = NaN here
    # the same grid with every value doubled, written over the file: the next read sees it
    with rasterio.open(path) as src:
        data, profile = src.read(1), src.profile
    nodata = profile.get("nodata")
    doubled = np.where(data == nodata, data, data * 2) if nodata is not None else data * 2
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(doubled, 1)
    after = density.stock(polys, density.open_density(path, units=spec.units), workers=1)
    ok = first["stock_tC"].notna()
    assert ok.any()
    np.testing.assert_allclose(after["stock_tC"][ok], 2 * first["stock_tC"][ok], rtol=1e-6)


# ------------------------------------------------------------------------------ attributes
@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(sorted(attrs_mod.ATTRIBUTES)),
       value=st.one_of(st.booleans(), st.integers(-3, 200), st.floats(allow_nan=True, allow_infinity=True),
                       st.sampled_from(["1", "1.5", "35%", "true", "否", "coal", "C2614", "2614,C2662", "", "-",
                                        "nan", "inf", "-1", "0.35", "C99", "X1"])))
def test_cached_parse_value_equals_uncached(key, value):
    def plain():
        try:
            return ("ok", attrs_mod._parse_value(key, value))
        except AttributeProblem as exc:
            return ("error", exc.zh, exc.en)

    def cached():
        try:
            return ("ok", attrs_mod.parse_value(key, value))
        except AttributeProblem as exc:
            return ("error", exc.zh, exc.en)

    want = plain()
    assert cached() == want and cached() == want  # a second call (from the cache) too
    if want[0] == "ok" and isinstance(want[1], float) and not isinstance(value, bool):
        assert type(cached()[1]) is type(want[1])


def test_cached_parse_value_keeps_bool_and_number_apart():
    assert attrs_mod.parse_value("boiler_th", 1) == 1.0
    with pytest.raises(AttributeProblem):
        attrs_mod.parse_value("boiler_th", True)  # equal to 1 and of the same hash: still refused
    assert attrs_mod.parse_value("two_high", True) is True
    assert attrs_mod.parse_value("two_high", 1) is True


# ------------------------------------------------------------------------------ pool
def test_collector_pause_restores_state():
    assert gc.isenabled()
    with pool.collector_paused():
        assert not gc.isenabled()
        with pool.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with pool.collector_paused():
            raise ValueError("x")
    assert gc.isenabled()


# ------------------------------------------------------------------------------ 界址点 rows
def _plain_corner_rows(geom, epsg):
    """corner_rows as it was: one transformer per call, ring by ring, vertex by vertex."""
    from pyproj import Transformer

    from zoning.io.tables import MAX_CORNERS

    if geom is None or geom.is_empty or not geom.geom_type.endswith("Polygon"):
        return []
    tr = Transformer.from_crs(4490, epsg, always_xy=True)
    parts = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    rows, n = [], 0
    for part_no, poly in enumerate(parts, start=1):
        for ring_no, ring in enumerate([poly.exterior, *poly.interiors], start=1):
            coords = list(ring.coords)[:-1]
            east, north = tr.transform([c[0] for c in coords], [c[1] for c in coords])
            for e, nn in zip(east, north):
                n += 1
                if n > MAX_CORNERS:
                    return rows
                rows.append({"point": f"J{n}", "part": part_no, "ring": ring_no,
                             "x": round(float(nn), 3), "y": round(float(e), 3)})
    return rows


@settings(max_examples=120, deadline=None)
@given(lon=st.floats(117.0, 120.0), lat=st.floats(26.0, 28.5), r=st.floats(0.0005, 0.02),
       segs=st.integers(1, 600), hole=st.booleans(), multi=st.booleans(), epsg=st.sampled_from([4548, 4549]))
def test_corner_rows_equal_the_vertex_by_vertex_rows(lon, lat, r, segs, hole, multi, epsg):
    from zoning.io.tables import corner_rows

    g = shapely.Point(lon, lat).buffer(r, quad_segs=segs)  # up to 2,400 vertices: over MAX_CORNERS too
    if hole:
        g = g.difference(shapely.Point(lon, lat).buffer(r / 3))
    if multi:
        g = shapely.MultiPolygon([g, shapely.box(lon + 2 * r, lat, lon + 3 * r, lat + r)])
    assert corner_rows(g, epsg) == _plain_corner_rows(g, epsg)


# ------------------------------------------------------------------------------ the service's kept pool
def test_jobs_keep_one_warm_pool_with_one_process_results(tmp_path, monkeypatch):
    """Two batch jobs of a server run on the same kept pool (started once, for the first) and give
    exactly the one-process results; a pool that broke is replaced by the next job."""
    import json

    from fastapi.testclient import TestClient

    from zoning.api import load_layers, screen
    from zoning.service import Settings, create_app
    from zoning.service import jobs as service_jobs

    layers = load_layers(CATALOG)
    monkeypatch.setattr(service_jobs, "POOL_MIN_SITES", 10)
    rng = np.random.default_rng(21)
    minx, miny, maxx, maxy = layers.coverage.bounds
    lon, lat = rng.uniform(minx, maxx, 24), rng.uniform(miny, maxy, 24)
    sites = gpd.GeoDataFrame({"site_id": [f"J{i}" for i in range(24)],
                              "industry": rng.choice(["C3011", "C2614", "C2041"], 24)},
                             geometry=[shapely.box(x, y, x + 0.003, y + 0.002) if i % 2 else shapely.Point(x, y)
                                       for i, (x, y) in enumerate(zip(lon, lat))], crs=4490)
    path = tmp_path / "sites.gpkg"
    sites.to_file(path, driver="GPKG")
    want = {r.site_id: json.loads(r.to_json()) for r in screen(path, layers=layers, compute="local")}
    app = create_app(Settings(db=str(tmp_path / "h.sqlite"), tmp_dir=tmp_path / "w", workers=2), layers=layers)

    def run_job(c):
        got = job_results(c, path)
        assert set(got) == set(want)
        for sid, doc in got.items():
            doc = dict(doc)
            assert doc.pop("id")
            assert doc == {k: v for k, v in want[sid].items() if k != "id"}, sid

    with TestClient(app) as c:
        runner = app.state.service.jobs
        run_job(c)
        first = runner.pool()._executor
        assert first is not None
        run_job(c)
        assert runner.pool()._executor is first  # kept, not started again
        runner.pool().discard()  # as after a worker died
        run_job(c)
        assert runner.pool()._executor is not None and runner.pool()._executor is not first
