"""Coverage and CRS plausibility (issue 11, item 1).

A site wholly or partly outside the layer set's area is never compliant or conditional: the
verdict is needs_info with the reason first, and when another reading of the coordinates (the
other GK zone, swapped axes, a zone prefix, GCJ-02/BD-09) would fall inside, the message names
the option to try. Truth: pyproj (transformations, geodesic areas/distances) and shapely on the
stored admin geometry.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from zoning.errors import CatalogError, CRSProblem
from zoning.geo.crs import gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from zoning.io.catalog import load_catalog
from zoning.io.layerset import load_layerset
from zoning.io.sites import crs_suggestions, read_sites
from zoning.screening.pipeline import screen

GEOD = Geod(ellps="GRS80")
#: a location-independent conditional rule fires for these (TH-01, two-high): the issue's example
TWO_HIGH = {"industry": "C3011", "two_high": True, "chemical": False, "boiler_th": 4, "boiler_fuel": "gas"}
PLAIN = {"industry": "C1371", "two_high": False, "chemical": False}
#: no rule of the sample pack prohibits it outside protected zones: what the layers decide shows
NON_INDUSTRIAL = {"industry": "G5920", "two_high": False, "chemical": False}


def _located(cond) -> bool:
    """Whether a rule condition (as written in the pack) looks at where the site is."""
    if isinstance(cond, dict):
        return any(k in ("hit", "within", "near", "county") or _located(v) for k, v in cond.items())
    if isinstance(cond, list):
        return any(_located(c) for c in cond)
    return False


def _located_rules() -> set[str]:
    catalog = Path(__file__).resolve().parents[1] / "layers" / "catalog.yaml"
    doc = yaml.safe_load(catalog.read_text(encoding="utf-8"))
    pack = yaml.safe_load((catalog.parent / doc["rules"]).read_text(encoding="utf-8"))
    return {r["id"] for r in pack["rules"] if _located(r.get("scope")) or _located(r.get("when"))}


LOCATED = _located_rules()


@pytest.fixture(scope="module")
def city(admin):
    """Independent truth: the union of the stored county polygons (EPSG:4490)."""
    return shapely.union_all(admin.to_crs(4490).geometry.values)


def geodesic_area(g) -> float:
    return sum(abs(GEOD.geometry_area_perimeter(p)[0]) for p in shapely.get_parts(g) if p.geom_type == "Polygon")


def outside_share(site, city) -> float:
    return geodesic_area(shapely.difference(site, city)) / geodesic_area(site)


def boundary_box(city, t: float, half: float, shift: tuple[float, float] = (0, 0)):
    """A square (half-width ``half`` degrees) centred on the city's outline at fraction ``t``."""
    p = city.exterior.interpolate(t, normalized=True) if city.geom_type == "Polygon" else \
        max(city.geoms, key=lambda g: g.area).exterior.interpolate(t, normalized=True)
    x, y = p.x + shift[0], p.y + shift[1]
    return shapely.box(x - half, y - half, x + half, y + half)


def test_site_45_percent_outside_is_needs_info(layers, city):
    """Issue example: a site ~45 % outside the layers' area came out compliant, every layer "ok"."""
    best = None
    for t in np.linspace(0, 1, 200, endpoint=False):  # find a box about 45 % outside (shapely truth)
        box = boundary_box(city, t, 0.01)
        share = outside_share(box, city)
        if best is None or abs(share - 0.45) < abs(best[1] - 0.45):
            best = (box, share)
    box, share = best
    assert abs(share - 0.45) < 0.05
    gdf = gpd.GeoDataFrame({"site_id": ["HALF"]}, geometry=[box], crs=4490)
    r = screen(gdf, layers=layers, attributes=PLAIN)[0]
    assert r.verdict == "needs_info", [(x.id, x.outcome) for x in r.rules]
    assert r.site.coverage == "partial"
    statuses = {lr.role: lr.status for lr in r.layers}
    assert all(s != "ok" for s in statuses.values()), statuses
    assert statuses["red_line"] == "partly_outside" and statuses["control_unit"] == "partly_outside"
    # reason first, with the share measured on the ellipsoid
    assert "outside the layers' coverage" in r.warnings[0]
    reported = float(r.warnings[0].split("站点约 ")[1].split("%")[0]) / 100
    assert reported == pytest.approx(share, abs=0.0006)
    assert r.verdict_reasons and "outside the layers' coverage" in r.verdict_reasons[0]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.floats(0.0005, 0.05),
                          st.floats(-0.02, 0.02), st.floats(-0.02, 0.02)), min_size=5, max_size=25),
       st.sampled_from([PLAIN, TWO_HIGH]))
def test_edge_sites_never_compliant_or_conditional_when_not_covered(layers, city, boxes, attributes):
    """Random squares around the city's outline, screened in one batch: coverage and verdict
    against the share outside measured with pyproj.Geod on the stored admin geometry."""
    geoms = [boundary_box(city, t, h, (dx, dy)) for t, h, dx, dy in boxes]
    gdf = gpd.GeoDataFrame({"site_id": [f"E{i}" for i in range(len(geoms))]}, geometry=geoms, crs=4490)
    for g, r in zip(geoms, screen(gdf, layers=layers, attributes=attributes)):
        truth = outside_share(g, city)
        if truth <= 1e-9:
            assert r.site.coverage == "inside"
            continue
        if truth >= 1 - 1e-9:
            assert r.site.coverage == "outside" and r.verdict == "needs_info"
            continue
        if truth < 1e-5 or truth > 1 - 1e-5:
            continue  # a hair's breadth from the rounding tolerance
        assert r.site.coverage == "partial", (truth, r.site.coverage)
        assert r.verdict in ("needs_info", "prohibited")
        if r.verdict == "prohibited":  # only a location-dependent rule that hit a feature may prohibit
            assert any(x.outcome == "prohibited" and x.id in LOCATED for x in r.rules)
        if "站点不足 0.1%" in r.warnings[0]:  # a share too small to print as a number
            assert truth < 0.001 + 0.0006
            continue
        reported = float(r.warnings[0].split("站点约 ")[1].split("%")[0]) / 100
        assert reported == pytest.approx(truth, abs=0.0006)


def test_wrong_zone_corner_table_is_needs_info_with_hint(data, layers, city):
    """Issue example: a corner table without zone prefix read with --crs 4549 landed ~190 km away
    at sea and still got 有条件符合 with a blank county."""
    results = screen(data / "jzd_nozone.csv", crs=4549, layers=layers, attributes=TWO_HIGH)
    for r in results:
        assert r.verdict == "needs_info" and r.site.coverage == "outside" and r.site.county is None
        assert "try --crs 4548" in r.warnings[0] and "--crs 4548" in r.verdict_reasons[0]
        # independent: the 4549 reading is far outside, the 4548 reading is inside
        site = shapely.from_wkt(r.site.wkt)
        a, b = shapely.ops.nearest_points(site, city)
        km = GEOD.inv(a.x, a.y, b.x, b.y)[2] / 1000
        assert km > 150
        reported = float(r.warnings[0].split("距边界约 ")[1].split(" km")[0])
        assert reported == pytest.approx(km, abs=0.1)
    right = screen(data / "jzd_nozone.csv", crs=4548, layers=layers, attributes=TWO_HIGH)
    for r in right:
        assert r.site.coverage == "inside" and r.site.county and not r.verdict_reasons
        assert r.verdict == "conditional"  # TH-01; the location-dependent rules all decided
        assert not any("outside" in w for w in r.warnings)
    tr = Transformer.from_crs(4548, 4490, always_xy=True)
    table = read_sites(data / "jzd_nozone.csv", crs=4548)
    for g in table.geometry:
        assert city.covers(g)
        x, y = shapely.get_coordinates(g)[0]
        back = Transformer.from_crs(4490, 4548, always_xy=True).transform(x, y)
        assert np.allclose(tr.transform(*back), (x, y), atol=1e-9)


def test_prefixed_eastings_under_their_zones_plain_crs_are_read_with_a_note(data):
    """(Was refused with a hint to use --crs 4527: the prefix leaves no doubt, so it is read as
    EPSG:4527 and said; tests/test_mixed_zones.py has the mixed case.)"""
    got = read_sites(data / "jzd.csv", crs=4548)
    want = read_sites(data / "jzd.csv", crs=4527)
    assert all(g.equals_exact(w, 1e-12) for g, w in zip(got.geometry, want.geometry))
    assert all(any("read as EPSG:4527" in x for x in ws) for ws in got["warnings"])


def test_bare_eastings_read_as_prefixed_zone_hint_the_prefix(data):
    with pytest.raises(CRSProblem) as exc:
        read_sites(data / "jzd_nozone.csv", crs=4527)
    assert "--crs 4548" in exc.value.en and "zone prefix" in exc.value.en and "39" in exc.value.en


def test_swapped_xy_with_crs_are_refused_with_swap_hint(tmp_path, data):
    text = (data / "jzd_nozone.csv").read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    swapped = [lines[0]] + [",".join(p[:2] + [p[3], p[2]]) for p in (ln.split(",") for ln in lines[1:])]
    path = tmp_path / "swapped.csv"
    path.write_text("\n".join(swapped), encoding="utf-8")
    with pytest.raises(CRSProblem) as exc:
        read_sites(path, crs=4548)
    assert "swap" in exc.value.en and "X and Y" in exc.value.en


def test_swapped_lonlat_polygon_file_is_refused(tmp_path):
    poly = shapely.box(26.60, 118.10, 26.62, 118.12)  # lat, lon: swapped
    path = tmp_path / "swapped.geojson"
    gpd.GeoDataFrame({"site_id": ["S"]}, geometry=[poly], crs=4490).to_file(path)
    with pytest.raises(CRSProblem, match="swap"):
        read_sites(path)


def _edge_point_shifted_outside(city, forward):
    """A lon/lat point inside the city whose ``forward`` (offset datum) coordinates are outside it."""
    for t in np.linspace(0, 1, 2000, endpoint=False):
        p = city.exterior.interpolate(t, normalized=True) if city.geom_type == "Polygon" else \
            max(city.geoms, key=lambda g: g.area).exterior.interpolate(t, normalized=True)
        for dx, dy in ((0.001, 0), (-0.001, 0), (0, 0.001), (0, -0.001)):
            q = shapely.Point(p.x + dx, p.y + dy)
            if city.contains(q.buffer(0.0005)):
                fx, fy = forward(q.x, q.y)
                moved = shapely.Point(float(fx), float(fy))
                if not city.intersects(moved.buffer(0.0005)):
                    return q, moved
    raise AssertionError("no such point on the outline")


@pytest.mark.parametrize("datum, forward", [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_offset_datum_suggested_never_applied(layers, city, datum, forward):
    """Amap/Baidu coordinates of a site just inside the city, read as CGCS2000, fall outside:
    the message suggests --crs gcj02/bd09, and the coordinates are not converted."""
    truth, given = _edge_point_shifted_outside(city, forward)
    r = screen(f"{given.x:.7f},{given.y:.7f}", layers=layers, attributes=PLAIN)[0]
    assert r.site.coverage == "outside" and r.verdict == "needs_info"
    assert f"--crs {datum}" in r.warnings[0]
    assert abs(r.site.lon - given.x) < 1e-6 and abs(r.site.lat - given.y) < 1e-6  # not converted
    ok = screen(f"{given.x:.7f},{given.y:.7f}", crs=datum, layers=layers, attributes=PLAIN)[0]
    assert ok.site.coverage == "inside"
    assert GEOD.inv(ok.site.lon, ok.site.lat, truth.x, truth.y)[2] < 0.05  # the inverse lands on the truth


def test_gcj_suggestion_function_is_symmetric(city):
    """Read as GCJ-02 but really CGCS2000: suggest --crs 4490 (no conversion)."""
    truth, given = _edge_point_shifted_outside(city, lambda x, y: gcj02_to_wgs84(x, y))
    # ``given`` is what converting truth (as if it were GCJ-02) gives: outside
    hints = crs_suggestions(given, "GCJ-02 (converted to CGCS2000)", city)
    assert "--crs 4490" in [h.option for h in hints]


def test_no_hint_for_a_site_inside(city):
    p = city.representative_point()
    assert crs_suggestions(p, "EPSG:4490", city) == []


def test_catalog_coverage_self_and_errors(tmp_path, catalog, layers):
    """`coverage: self`: the red-line layer is complete only where it has features, so a site
    elsewhere (inside the admin area) cannot be cleared of red lines: needs_info."""
    doc = yaml.safe_load(catalog.path.read_text(encoding="utf-8"))
    for entry, spec in zip(doc["layers"], catalog.layers):
        entry["path"] = str(spec.path)
        if spec.role == "red_line":
            entry["coverage"] = "self"
        if spec.role == "no_burn":
            entry["coverage"] = "县级行政区"  # another layer by name: the same as the default
    doc["rules"] = str(catalog.rule_pack)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    cat = load_catalog(path)
    assert cat.one("red_line").coverage == "self" and cat.one("park").coverage == "admin"
    assert cat.one("red_line").as_record()["coverage"] == "self"
    own = load_layerset(cat)
    red = shapely.union_all(own.frames["red_line"].geometry.values)
    # a point inside the city, away from any red line (shapely truth)
    rng = np.random.default_rng(3)
    b = layers.coverage.bounds
    while True:
        p = shapely.Point(rng.uniform(b[0], b[2]), rng.uniform(b[1], b[3]))
        if layers.coverage.contains(p) and p.distance(red) > 0.01:
            break
    r = screen(f"{p.x},{p.y}", layers=own, attributes=NON_INDUSTRIAL)[0]
    statuses = {lr.role: lr.status for lr in r.layers}
    assert statuses["red_line"] == "outside" and statuses["no_burn"] in ("ok",)
    assert {x.id: x.outcome for x in r.rules}.get("RL-01") == "needs_info"
    assert r.verdict == "needs_info" and any("red_line" in x for x in r.verdict_reasons)
    default = screen(f"{p.x},{p.y}", layers=layers, attributes=NON_INDUSTRIAL)[0]
    assert {lr.role: lr.status for lr in default.layers}["red_line"] == "ok"
    doc["layers"][1]["coverage"] = "nowhere"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError, match="coverage"):
        load_catalog(path)


def test_a_prohibition_stays_final_whatever_else_is_missing(tmp_path, layers):
    """A site in a red line is 不符合（禁止） even when the layer set has no counties, units or
    protected areas (an official delivery with a red line only): an undecided rule can never end
    more severe than a prohibition that fired (cold trial of issue 12)."""
    catalog = Path(__file__).resolve().parents[1] / "layers" / "catalog.yaml"
    doc = yaml.safe_load(catalog.read_text(encoding="utf-8"))
    doc["rules"] = str((catalog.parent / doc["rules"]).resolve())
    doc.pop("clauses", None)
    doc["layers"] = [dict(e, path=str((catalog.parent / e["path"]).resolve())) for e in doc["layers"]
                     if e["role"] == "red_line"]
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    only_red = load_layerset(load_catalog(path))
    red = layers.frames["red_line"].geometry.values[0]
    inside = shapely.point_on_surface(red)
    gdf = gpd.GeoDataFrame({"site_id": ["IN_RED"]}, geometry=[inside], crs=4490)
    r = screen(gdf, layers=only_red, attributes=PLAIN)[0]
    assert any(x.id == "RL-01" and x.outcome == "prohibited" for x in r.rules)
    assert r.verdict == "prohibited", (r.verdict, r.verdict_reasons)
    assert all("0%" not in w for w in r.warnings)
