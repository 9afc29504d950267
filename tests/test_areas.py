"""Areas you can label (issue 11, items 5/6/11): orientation-independent ellipsoidal areas, both
areas (ellipsoidal and Gauss-Kruger planar) in results and reports, line lengths and crossing
shares, honest export areas.

Truth is independent of zoning: the area of a lon/lat box on the GRS80 ellipsoid in closed form
(authalic latitude integral), pyproj.Geod on finely cut rings, pyproj transforms for GK areas.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import geopandas as gpd
import jsonschema
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod, Proj, Transformer

import zoning
from zoning.cli import main
from zoning.errors import SiteError
from zoning.export.county import export_county
from zoning.geo.measure import MU_M2, ellipsoidal_areas, geodesic_area
from zoning.io.layerset import load_layerset
from zoning.io.sites import read_sites
from zoning.render.compliance import compliance_rows
from zoning.render.docx_report import render_docx
from zoning.render.html_report import render_html
from zoning.render.summary import csv_frame
from zoning.screening.pipeline import resolve_rule_pack, screen

GEOD = Geod(ellps="GRS80")
SCHEMA = json.loads((Path(zoning.__file__).parent / "schema" / "result.schema.json").read_text(encoding="utf-8"))

# GRS80
_A, _F = 6378137.0, 1 / 298.257222101
_E2 = _F * (2 - _F)
_E = math.sqrt(_E2)
_B = _A * (1 - _F)


def _authalic(phi: float) -> float:
    s = math.sin(math.radians(phi))
    return _B * _B / 2 * (s / (1 - _E2 * s * s) + 1 / (2 * _E) * math.log((1 + _E * s) / (1 - _E * s)))


def box_area(x0, y0, x1, y1) -> float:
    """Closed-form area (m²) of a lon/lat box (meridians and parallels) on the GRS80 ellipsoid."""
    return math.radians(x1 - x0) * (_authalic(y1) - _authalic(y0))


def ring(x0, y0, x1, y1, ccw=True):
    pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return pts if ccw else pts[::-1]


@pytest.fixture(scope="module")
def pack(layers):
    return resolve_rule_pack(None, layers.catalog)


# ------------------------------------------------------------------ orientation-independent areas
boxes = st.tuples(st.floats(117.0, 119.2), st.floats(26.2, 28.2), st.floats(1e-5, 0.3), st.floats(1e-5, 0.3))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(parts=st.lists(st.tuples(boxes, st.booleans(), st.booleans(), st.booleans()), min_size=1, max_size=3))
def test_geodesic_area_is_independent_of_ring_orientation(parts):
    """|shell| − Σ|holes| per polygon, summed: whatever the winding of shells and holes."""
    polys, expected = [], 0.0
    for k, ((x, y, w, h), shell_ccw, with_hole, hole_ccw) in enumerate(parts):
        x += k * 0.7  # parts never overlap
        holes = []
        area = box_area(x, y, x + w, y + h)
        if with_hole:
            hx0, hy0, hx1, hy1 = x + w / 4, y + h / 4, x + w / 2, y + h / 2
            holes.append(ring(hx0, hy0, hx1, hy1, hole_ccw))
            area -= box_area(hx0, hy0, hx1, hy1)
        polys.append(shapely.Polygon(ring(x, y, x + w, y + h, shell_ccw), holes))
        expected += area
    geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    assert geom.is_valid
    assert geodesic_area(geom) == pytest.approx(expected, rel=1e-7)
    assert ellipsoidal_areas(gpd.GeoSeries([geom], crs=4490))[0] == pytest.approx(expected, rel=1e-6)


def test_opposite_winding_multipolygon_is_not_zero():
    """Issue 11 example 5: a valid MultiPolygon with parts wound in opposite directions was refused
    as "zero area" (signed ring areas cancelled)."""
    a = shapely.Polygon(ring(118.10, 27.00, 118.102, 27.002, ccw=True))
    b = shapely.Polygon(ring(118.11, 27.00, 118.112, 27.002, ccw=False))
    mp = shapely.MultiPolygon([a, b])
    expected = box_area(118.10, 27.00, 118.102, 27.002) + box_area(118.11, 27.00, 118.112, 27.002)
    assert geodesic_area(mp) == pytest.approx(expected, rel=1e-8)
    sites = read_sites(gpd.GeoDataFrame({"site_id": ["MP"]}, geometry=[mp], crs=4490))
    assert geodesic_area(sites.geometry.iloc[0]) == pytest.approx(expected, rel=1e-8)


def test_hole_wound_like_its_shell_is_subtracted():
    shell = ring(118.10, 27.00, 118.11, 27.01, ccw=True)
    hole = ring(118.102, 27.002, 118.104, 27.004, ccw=True)  # same winding as the shell
    expected = box_area(118.10, 27.00, 118.11, 27.01) - box_area(118.102, 27.002, 118.104, 27.004)
    assert geodesic_area(shapely.Polygon(shell, [hole])) == pytest.approx(expected, rel=1e-8)


def test_hole_larger_than_shell_is_refused_with_the_reason(layers, pack):
    """Issue 11 example 5: a polygon whose hole is larger than its shell was screened 891 times too
    large (make_valid keeps the hole minus the shell). Its rings are probably swapped: refused."""
    shell = ring(118.1, 27.0, 118.1001, 27.0001)
    hole = ring(118.09, 26.99, 118.11, 27.01)
    bad = gpd.GeoDataFrame({"site_id": ["H"]}, geometry=[shapely.Polygon(shell, [hole])], crs=4490)
    with pytest.raises(SiteError) as err:
        read_sites(bad)
    assert "swapped" in err.value.en and "shell" in err.value.en
    [r] = screen(bad, layers=layers, rule_pack=pack)
    assert r.verdict is None and r.error and "外环与内环可能颠倒" in r.error


def test_repair_that_changes_1_m2_is_accepted_with_the_true_change():
    """Issue 11 example 5: a repair changing 1 m² was refused as a 26 % change because a hole wound
    like its shell was added instead of subtracted. Here: a 200 m square with a 100 m hole wound
    like it, and a ~1 m² bow-tie on the west edge (invalid: self-intersection)."""
    x0, y0 = 118.20, 26.70
    dx, dy = 200 / 99_300, 200 / 111_000  # ~200 m at 26.7°N
    ex, ey = 1 / 99_300, 1 / 111_000  # ~1 m
    m = y0 + dy / 2
    shell = [(x0, y0), (x0 + dx, y0), (x0 + dx, y0 + dy), (x0, y0 + dy),
             (x0, m + ey), (x0 + ex, m - ey), (x0 + ex, m + ey), (x0, m - ey)]
    hole = ring(x0 + dx / 4, y0 + dy / 4, x0 + 3 * dx / 4, y0 + 3 * dy / 4, ccw=shapely.LinearRing(shell).is_ccw)
    poly = shapely.Polygon(shell, [hole])
    assert not poly.is_valid
    expected = box_area(x0, y0, x0 + dx, y0 + dy) - box_area(x0 + dx / 4, y0 + dy / 4, x0 + 3 * dx / 4, y0 + 3 * dy / 4)
    sites = read_sites(gpd.GeoDataFrame({"site_id": ["R"]}, geometry=[poly], crs=4490))
    got = geodesic_area(sites.geometry.iloc[0])
    assert abs(got - expected) < 3.0  # the bow-tie's ~1-2 m², nothing more
    warning = " ".join(sites["warnings"].iloc[0])
    assert "repaired" in warning and "m²" in warning
    pct = float(warning.split("m², ")[1].split("%")[0])
    assert pct < 0.05  # percent: the true change, not 26 %


# ------------------------------------------------------------------ two areas, labelled
def _gk_planar(poly, epsg):
    """Shoelace area of the boundary cut to 1e-5° and moved to the GK zone with pyproj."""
    tr = Transformer.from_crs(4490, epsg, always_xy=True)
    xy = shapely.get_coordinates(shapely.segmentize(poly.exterior, 1e-5))
    x, y = tr.transform(xy[:, 0], xy[:, 1])
    return abs(0.5 * np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


@pytest.mark.parametrize("box,epsg", [((118.10, 26.60, 118.104, 26.603), 4548), ((118.40, 27.50, 118.43, 27.52), 4548),
                                      ((118.80, 27.20, 118.8025, 27.2025), 4549)])
def test_result_carries_ellipsoidal_and_gk_areas(layers, pack, box, epsg):
    """site.area_m2 is ellipsoidal (closed form), site.area_gk_m2 planar in the GK zone (pyproj);
    their ratio is the areal scale factor k² at the site (pyproj get_factors); every hit has both."""
    poly = shapely.box(*box)
    [r] = screen(gpd.GeoDataFrame({"site_id": ["S"]}, geometry=[poly], crs=4490), layers=layers, rule_pack=pack)
    assert r.crs_used == f"EPSG:{epsg}"
    assert r.site.area_m2 == pytest.approx(box_area(*box), rel=1e-7)
    assert r.site.area_gk_m2 == pytest.approx(_gk_planar(poly, epsg), rel=1e-7)
    c = poly.centroid
    k2 = Proj(CRS.from_epsg(epsg)).get_factors(c.x, c.y).areal_scale
    assert r.site.area_gk_m2 / r.site.area_m2 == pytest.approx(k2, rel=2e-6)
    assert r.hits
    for h in r.hits:
        assert h.area_ellipsoidal_m2 is not None and h.area_m2 / h.area_ellipsoidal_m2 == pytest.approx(k2, rel=1e-4)
    jsonschema.validate(json.loads(r.to_json()), SCHEMA)


def test_reports_and_summary_label_both_areas(layers, pack):
    """Issue 11 example 6: the site table showed the ellipsoidal area, the overlay table the GK planar
    area, neither labelled. Now both, labelled, in m², ha and 亩, saying which one official results use."""
    poly = shapely.box(118.10, 26.60, 118.1032, 26.6028)
    [r] = screen(gpd.GeoDataFrame({"site_id": ["S"]}, geometry=[poly], crs=4490), layers=layers, rule_pack=pack)
    html = render_html(r)
    for text in ("面积（椭球面）", "面积（高斯-克吕格平面）", "亩", "勘测定界", "占用面积（高斯平面）", "占用面积（椭球面）",
                 f"{r.site.area_m2:,.0f} m²", f"{r.site.area_gk_m2:,.0f} m²", f"{r.site.area_m2 / MU_M2:,.2f} 亩"):
        assert text in html, text
    en = render_html(r, lang="en")
    assert "Area (ellipsoidal)" in en and "Area (Gauss-Kruger plane)" in en and "official results" in en
    import docx

    doc = docx.Document(io.BytesIO(render_docx(r)))
    text = "\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for row in t.rows for c in row.cells])
    assert "面积（椭球面）" in text and "面积（高斯-克吕格平面）" in text and "勘测定界" in text and "亩" in text
    csv = csv_frame([r])
    row = csv.iloc[0]
    assert row["面积·椭球面（平方米）"] == r.site.area_m2 and row["面积·高斯平面（平方米，正式成果采用）"] == r.site.area_gk_m2
    assert row["面积·椭球面（公顷）"] == pytest.approx(r.site.area_m2 / 1e4)
    assert row["面积·高斯平面（亩）"] == pytest.approx(r.site.area_gk_m2 / (10000 / 15))


def test_line_crossing_a_red_line_reports_crossing_length_and_share(layers, pack):
    """Issue 11 example 6: a red line crossed by 27 % of a road was reported as "站点位于其内", and the
    road's length was shown under 面积. Now: crossing length (geodesic) and length share."""
    red = layers.frames["red_line"].reset_index(drop=True)
    # a 2 km road perpendicular to a long red-line edge, 27 % of it inside
    poly = max(red.geometry.values, key=lambda g: g.area)
    part = max(shapely.get_parts(poly), key=lambda p: p.area)
    xy = shapely.get_coordinates(part.exterior)
    i = int(np.argmax(np.hypot(*np.diff(xy, axis=0).T)))
    (ax, ay), (bx, by) = xy[i], xy[i + 1]
    mx, my = (ax + bx) / 2, (ay + by) / 2
    az = GEOD.inv(ax, ay, bx, by)[0]
    inward = az - 90 if part.contains(shapely.Point(GEOD.fwd(mx, my, az - 90, 5)[:2])) else az + 90
    a = GEOD.fwd(mx, my, inward, 540)[:2]
    b = GEOD.fwd(mx, my, inward + 180, 1460)[:2]
    road = shapely.LineString([a, b])
    inside = shapely.intersection(road, red.geometry.values)
    truth = {str(red["id"].iloc[k]): GEOD.geometry_length(shapely.segmentize(g, 1e-4))
             for k, g in enumerate(inside) if not g.is_empty}
    total = GEOD.geometry_length(shapely.segmentize(road, 1e-4))
    [r] = screen(gpd.GeoDataFrame({"site_id": ["ROAD"]}, geometry=[road], crs=4490), layers=layers, rule_pack=pack)
    assert r.site.length_m == pytest.approx(total, abs=0.01) and r.site.area_m2 == 0
    hits = {h.id: h for h in r.hits if h.role == "red_line"}
    assert set(hits) == set(truth)
    main = max(hits.values(), key=lambda h: h.length_m)
    assert main.length_m == pytest.approx(truth[main.id], rel=1e-4)
    assert main.share == pytest.approx(truth[main.id] / total, abs=1e-5)
    assert 0.25 < main.share < 0.29  # the 27 % of the issue
    red_row = compliance_rows(r)[0].situation
    assert "穿越长度" in red_row and f"{main.share:.1%}" in red_row and "站点位于其内" not in red_row
    html = render_html(r)
    assert "长度（椭球面）" in html and "面积（椭球面）" not in html and "穿越长度" in html
    assert f"{r.site.length_m:,.1f} m" in html
    jsonschema.validate(json.loads(r.to_json()), SCHEMA)


# ------------------------------------------------------------------ exports with honest areas
def _read_zip(path, tmp):
    with zipfile.ZipFile(path) as z:
        z.extractall(tmp)
        shp = next(n for n in z.namelist() if n.endswith(".shp"))
    return gpd.read_file(tmp / shp)


def test_export_in_web_mercator_writes_ellipsoidal_area_ha(layers, tmp_path):
    """Issue 11 example 11: `export --crs 3857` wrote AREA_HA 25.6 % too large. AREA_HA is the
    ellipsoidal area there (3857 distorts areas by ~26 % over Nanping), and the manifest says so."""
    [m] = export_county(layers, tmp_path / "o", county="延平区", roles="control_unit", crs="3857")
    frame = _read_zip(tmp_path / "o" / "350702_Yanping" / "350702_Yanping_control_unit.zip", tmp_path / "x")
    assert frame.crs.to_epsg() == 3857
    geodesic = np.array([abs(GEOD.geometry_area_perimeter(shapely.segmentize(shapely.orient_polygons(g), 1e-3))[0])
                         for g in frame.to_crs(4490).geometry])
    assert np.allclose(frame["AREA_HA"] * 1e4, geodesic, rtol=1e-3)
    assert (frame.area / (frame["AREA_HA"] * 1e4)).min() > 1.2  # what the planar 3857 area would have said
    assert m["area_ha"].startswith("ellipsoidal") and any("3857" in w for w in m["warnings"])
    manifest = json.loads((tmp_path / "o" / "350702_Yanping" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["warnings"] and set(manifest["warnings"]) <= set(manifest["notes"])


def test_export_auto_is_the_default_and_warns_about_counties_outside_a_chosen_zone(catalog, tmp_path):
    """`--crs auto` (the default) puts each county in its own 3-degree GK zone by its centroid; a
    county outside a chosen zone is warned about on the console and in manifest.json notes."""
    runner = CliRunner()
    res = runner.invoke(main, ["export", "--county", "all", "--layers", "admin", "-o", str(tmp_path / "auto"),
                               "--catalog", str(catalog.path)])
    assert res.exit_code == 0, res.output
    admin = load_layerset(catalog).frames["admin"]
    for code, geom in zip(admin["code"], admin.geometry):
        folder = next((tmp_path / "auto").glob(f"{code}_*"))
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        want = 4548 if geom.centroid.x < 118.5 else 4549
        assert manifest["crs"] == f"EPSG:{want}" and not manifest["warnings"], code
        frame = _read_zip(next(folder.glob("*.zip")), tmp_path / code)
        assert frame.crs.to_epsg() == want
        geodesic = abs(GEOD.geometry_area_perimeter(shapely.segmentize(shapely.orient_polygons(geom), 1e-3))[0])
        assert frame["AREA_HA"].sum() * 1e4 == pytest.approx(geodesic, rel=1e-3)  # planar GK, within 0.1 %
    res = runner.invoke(main, ["export", "--county", "光泽县", "--layers", "admin", "--crs", "4549",
                               "-o", str(tmp_path / "east"), "--catalog", str(catalog.path)])
    assert res.exit_code == 0, res.output
    assert "警告 / warning" in res.output and "outside the chosen zone EPSG:4549" in res.output
    manifest = json.loads(next((tmp_path / "east").glob("*/manifest.json")).read_text(encoding="utf-8"))
    assert any("outside the chosen zone" in n for n in manifest["notes"])
    assert manifest["area_ha"].startswith("ellipsoidal")  # +0.22 % planar error there: > 0.1 %


def test_gk_area_of_a_surveyed_parcel_is_the_shoelace_area_of_its_corners(tmp_path):
    """A 界址点 table surveyed in a GK zone (with the zone prefix, or without it and --crs) reports as
    area_gk_m2 the shoelace area of the corners the surveyor listed (outer ring minus the hole) — not
    the few-ppm-different area of the lon/lat-straight edges between them (cold trial of issue 12)."""
    import numpy as np
    import pandas as pd

    import zoning

    outer = [(2982666.019, 355707.690), (2982716.019, 356307.690), (2983166.019, 356337.690),
             (2983441.019, 355907.690), (2983241.019, 355607.690)]
    hole = [(2982900.0, 355900.0), (2982900.0, 356100.0), (2983050.0, 356100.0), (2983050.0, 355900.0)]

    def shoelace(pts):
        x, y = np.array(pts).T
        return abs(0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))

    truth = shoelace(outer) - shoelace(hole)
    rows = [("Q1", 1, f"J{i}", x, y) for i, (x, y) in enumerate(outer, 1)] + \
           [("Q1", 2, f"K{i}", x, y) for i, (x, y) in enumerate(hole, 1)]
    for prefix, crs in ((40_000_000, None), (0, "4549")):
        frame = pd.DataFrame([(a, b, c, x, y + prefix) for a, b, c, x, y in rows],
                             columns=["地块编号", "圈号", "界址点号", "X", "Y"])
        path = tmp_path / f"p{prefix}.csv"
        frame.to_csv(path, index=False)
        (r,) = list(zoning.screen(path, crs=crs))
        assert r.crs_used == "EPSG:4549"
        assert r.site.area_gk_m2 == pytest.approx(truth, abs=1e-3), (prefix, r.site.area_gk_m2, truth)
