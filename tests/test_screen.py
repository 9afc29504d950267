"""Screening of the sample projects and of hand-made edge cases."""
import json

import geopandas as gpd
import jsonschema
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point

from zoning.io.catalog import load_catalog
from zoning.errors import AttributeProblem
from zoning.screening.pipeline import screen
from zoning.io.sites import read_sites

GEOD = Geod(ellps="GRS80")

# site -> (verdict, rules that must fire with that outcome, why)
EXPECTED = {
    "P01": ("prohibited", {"RL-01": "prohibited"}, "quarry (B1012) inside a red line"),
    "P02": ("conditional", {"RL-02": "conditional", "NR-02": "conditional"},
            "forest-park trail (N7862 森林公园管理, GB/T 4754-2017) is a permitted limited activity in the red line "
            "and reserve"),
    "P03": ("prohibited", {"BL-01": "prohibited"}, "8 t/h coal boiler inside a no-burn zone"),
    # issue 11: 大气污染防治法 第三十八条 bans any new high-polluting-fuel plant in a no-burn zone,
    # whatever its size; P04 lies in 建阳区's no-burn zone (was conditional before)
    "P04": ("prohibited", {"BL-02": "prohibited", "BL-03": "conditional", "TH-01": "conditional"},
            "75 t/h coal CHP inside a no-burn zone: new coal plant prohibited (ultra-low emission and two-high "
            "conditions also listed)"),
    "P05": ("prohibited", {"CH-01": "prohibited"}, "organic chemicals (C2614) outside a chemical park"),
    "P06": ("conditional", {"CH-02": "conditional", "ZH35078120003-01": "conditional"},
            "fine chemicals inside the 金塘 chemical park"),
    "P07": ("conditional", {"AL-01": "conditional"}, "electrolytic aluminium at 20 % renewable power (< 30 %)"),
    "P08": ("conditional", {"AL-01": "needs_info", "TH-01": "conditional"},
            "aluminium without a renewable share: the 30 % rule cannot be decided; two-high still conditional"),
    "P09": ("conditional", {"TH-01": "conditional"}, "cement clinker is a two-high project"),
    "P10": ("compliant", {"UC-2": "compliant"}, "vegetable processing with a gas boiler inside 荣华山产业组团"),
    "P11": ("compliant", {"UC-3": "compliant"}, "bamboo products in a general-control unit"),
    "P12": ("compliant", {"UC-3": "compliant"}, "tea processing in a general-control unit"),
    "P13": ("prohibited", {"WS-01": "prohibited"}, "hotel inside a grade-1 drinking-water zone"),
    "P14": ("prohibited", {"WS-02": "prohibited"}, "paper mill inside a grade-2 drinking-water zone"),
    "P15": ("prohibited", {"NP-01": "prohibited"}, "resort hotel inside 武夷山国家公园"),
    "P16": ("prohibited", {"NR-01": "prohibited"}, "cattle farm inside 茫荡山 nature reserve"),
    "P17": ("needs_info", {"AL-01": "needs_info"}, "no industry code: the aluminium rule cannot be decided"),
    "P18": ("needs_info", {"AL-01": "needs_info"}, "industry code C9999 is not in GB/T 4754-2017"),
    "P19": ("conditional", {"WY-01": "conditional"}, "25 ha cleared in 武夷山市 (protection belt)"),
    "P20": ("compliant", {"UC-3": "compliant"}, "lithium-battery parts in a general-control unit"),
    "P21": ("compliant", {"UC-2": "compliant"}, "poultry processing inside 光泽工业园区, 4 ha (under the 5 ha belt threshold)"),
    "P22": ("compliant", {"UC-2": "compliant"}, "gas boiler in a no-burn zone is allowed"),
    "P23": ("prohibited", {"RL-01": "prohibited"}, "warehouse straddling a red-line edge: any overlap counts"),
}


@pytest.fixture(scope="module")
def sample_results(catalog, layers):
    path = catalog.one("red_line").path.parent / "sample_projects.gpkg"
    return {r.site_id: r for r in screen(path, layers=layers)}


@pytest.mark.parametrize("site_id", sorted(EXPECTED))
def test_sample_verdicts(sample_results, site_id):
    verdict, rules, why = EXPECTED[site_id]
    r = sample_results[site_id]
    assert r.verdict == verdict, f"{site_id} ({why}): {[(x.id, x.outcome) for x in r.rules]}"
    fired = {x.id: x.outcome for x in r.rules}
    for rule_id, outcome in rules.items():
        assert fired.get(rule_id) == outcome, f"{site_id} ({why}) expected {rule_id}={outcome}, got {fired}"


def test_all_four_verdicts_present(sample_results):
    assert {r.verdict for r in sample_results.values()} == {"prohibited", "conditional", "needs_info", "compliant"}


def test_needs_info_names_the_missing_attribute(sample_results):
    al = next(x for x in sample_results["P08"].rules if x.id == "AL-01")
    assert any("renewable_share" in reason for reason in al.reasons)
    p18 = next(x for x in sample_results["P18"].rules if x.id == "AL-01")
    assert any("C9999" in reason for reason in p18.reasons)


def test_partial_red_line_share(sample_results):
    hit = next(h for h in sample_results["P23"].hits if h.role == "red_line")
    assert 0.02 < hit.share < 0.98  # straddles the edge


def test_intersection_areas_match_geodesic(catalog, layers, sample_results):
    """Each hit's area (planar, Gauss-Kruger) vs pyproj.Geod on the intersection geometry: < 0.1 %."""
    checked = 0
    sites = read_sites(catalog.one("red_line").path.parent / "sample_projects.gpkg").set_index("site_id")
    for sid, r in sample_results.items():
        site = sites.loc[sid].geometry
        for h in r.hits:
            if h.area_m2 <= 0:
                continue
            frame = layers.frames[h.role]
            key = "code" if h.role == "control_unit" else "id"
            feature = frame.loc[frame[key].astype(str) == h.id].geometry.iloc[0]
            inter = shapely.intersection(site, feature)
            geodesic = abs(GEOD.geometry_area_perimeter(inter)[0])
            assert h.area_m2 == pytest.approx(geodesic, rel=1e-3), (sid, h.role, h.id)
            assert h.share == pytest.approx(geodesic / abs(GEOD.geometry_area_perimeter(site)[0]), rel=1e-3)
            checked += 1
    assert checked >= 20


def test_nearest_distance_matches_geodesic(layers, sample_results):
    """Planar distance in the GK zone vs the geodesic distance between the same closest points."""
    r = sample_results["P11"]
    n = next(x for x in r.nearest if x.target == "red_line")
    site = shapely.from_wkt(r.site.wkt)
    feature = layers.frames["red_line"].set_index("id").loc[n.id].geometry
    a, b = shapely.ops.nearest_points(site, feature)
    _, _, geodesic = GEOD.inv(a.x, a.y, b.x, b.y)
    assert n.distance_m == pytest.approx(geodesic, rel=2e-3)
    assert n.distance_m > 1000  # general-unit samples were placed clear of red lines


def test_results_validate_against_schema(sample_results):
    from importlib import resources

    schema = json.loads(resources.files("zoning.schema").joinpath("result.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for r in sample_results.values():
        validator.validate(json.loads(json.dumps(r.to_dict())))


def test_result_round_trips_through_json(sample_results):
    from zoning.screening.result import ScreenResult

    r = sample_results["P05"]
    again = ScreenResult.from_dict(json.loads(json.dumps(r.to_dict(), ensure_ascii=False)))
    assert again == r


def test_outside_coverage_is_needs_info_not_compliant(layers):
    # in 三明 (Fujian), south of Nanping: no layer covers it
    r = screen("117.60,26.10", layers=layers, attributes={"industry": "C2041", "two_high": "false",
                                                          "chemical": "false"})[0]
    assert r.verdict == "needs_info"
    assert r.site.coverage == "outside"
    statuses = {lr.role: lr.status for lr in r.layers}
    assert statuses["red_line"] == "outside" and statuses["control_unit"] == "outside"
    assert any("outside the layer set" in w for w in r.warnings)


def test_failed_layer_makes_dependent_rules_needs_info(tmp_path, catalog):
    text = catalog.path.read_text(encoding="utf-8").replace("nanping/generated/red_line.gpkg",
                                                            "nanping/generated/missing_red_line.gpkg")
    text = text.replace("nanping/", str(catalog.path.parent / "nanping") + "/").replace(
        "rules: rules/", f"rules: {catalog.path.parent}/rules/")
    broken = tmp_path / "catalog.yaml"
    broken.write_text(text, encoding="utf-8")
    cat = load_catalog(broken)
    sites = read_sites(catalog.one("red_line").path.parent / "sample_projects.gpkg")
    results = {r.site_id: r for r in screen(sites[sites.site_id.isin(["P01", "P11"])], catalog=cat)}
    # P01 sits in a red line: with the red line layer unreadable, nothing may call it compliant
    p01 = results["P01"]
    statuses = {lr.role: lr.status for lr in p01.layers}
    assert statuses["red_line"] == "failed"
    rl = {x.id: x for x in p01.rules}
    assert rl["RL-01"].outcome == "needs_info" and "failed" in rl["RL-01"].reasons[0]
    assert p01.verdict == "prohibited"  # UC-1 (priority unit) still decides
    assert results["P11"].verdict == "needs_info"  # was compliant with the layer present
    assert any("failed to load" in w for w in results["P11"].warnings)


def test_point_on_feature_and_line_sites(layers):
    park = layers.frames["park"].iloc[0]
    inside = park.geometry.representative_point()
    r = screen(f"{inside.x},{inside.y}", layers=layers,
               attributes={"industry": "C2041", "two_high": False, "chemical": False})[0]
    hit = next(h for h in r.hits if h.role == "park")
    assert hit.share == 1.0 and hit.area_m2 == 0
    line = gpd.GeoDataFrame({"id": ["L"]}, geometry=[shapely.LineString([(inside.x - 0.05, inside.y),
                                                                        (inside.x + 0.05, inside.y)])], crs=4490)
    r = screen(line, layers=layers, attributes={"industry": "G5920", "two_high": False, "chemical": False})[0]
    hit = next(h for h in r.hits if h.role == "park")
    assert 0 < hit.share < 1
    assert r.site.length_m == pytest.approx(abs(GEOD.line_length([inside.x - 0.05, inside.x + 0.05],
                                                                 [inside.y, inside.y])), rel=1e-6)


def test_buffer_rings(layers, sample_results):
    r = sample_results["P14"]
    assert r.buffer_rings_m == [500.0, 1000.0, 5000.0]
    for b in r.buffers:
        assert b.distance_m <= b.ring_m
        smaller = [x for x in r.buffer_rings_m if x < b.ring_m]
        assert not smaller or b.distance_m > max(smaller)
    custom = screen(shapely.from_wkt(r.site.wkt).wkt.replace("POLYGON ((", "").replace("))", "").replace(", ", ";")
                    .replace(" ", ","), layers=layers, buffers_m=(300, 2000))[0]
    assert custom.buffer_rings_m == [300.0, 2000.0]


def test_batch_turns_a_bad_site_into_an_error_row(layers):
    good = shapely.box(118.52, 27.0, 118.522, 27.002)
    bowtie = shapely.Polygon([(118.17, 26.64), (118.172, 26.642), (118.172, 26.64), (118.17, 26.642)])
    gdf = gpd.GeoDataFrame({"id": ["ok", "bad", "badattr"], "industry": ["C2041", "C2041", "C2041"],
                            "boiler_th": ["0", "0", "lots"]},
                           geometry=[good, bowtie, good.buffer(0.01)], crs=4490)
    results = {r.site_id: r for r in screen(gdf, layers=layers)}
    assert results["ok"].verdict is not None and results["ok"].error is None
    assert results["bad"].verdict is None and "bad" in results["bad"].error
    assert results["badattr"].verdict is None and "boiler_th" in results["badattr"].error


def test_unknown_attribute_key_refused(layers):
    with pytest.raises(AttributeProblem, match="known attributes"):
        screen("118.17,26.64", layers=layers, attributes={"colour": "red"})


def test_many_random_sites_vectorised(layers):
    rng = np.random.default_rng(7)
    n = 2000
    pts = [Point(x, y) for x, y in zip(rng.uniform(117.2, 119.0, n), rng.uniform(26.4, 28.1, n))]
    gdf = gpd.GeoDataFrame({"id": [f"R{i}" for i in range(n)], "industry": "C2041", "two_high": False,
                            "chemical": False, "boiler_th": 0}, geometry=pts, crs=4490)
    results = screen(gdf, layers=layers)
    assert len(results) == n and all(r.error is None for r in results)
    # a point inside Nanping always falls in exactly one control unit (the units partition the city)
    for r in results:
        if r.site.coverage == "inside":
            assert sum(h.role == "control_unit" for h in r.hits) == 1


def test_site_figure_draws_chinese_ids_with_a_cjk_font(catalog):
    """The report's map picture uses an installed CJK font: a Chinese site id and the Chinese
    legend draw without missing glyphs (no empty boxes); English on request."""
    import dataclasses
    import warnings

    from zoning.api import load_layers, screen as api_screen
    from zoning.render.figure import site_figure
    from zoning.render.labels import cjk_font

    if cjk_font() is None:
        pytest.skip("no CJK font installed (make sysdeps installs fonts-wqy-microhei)")
    layers = load_layers(catalog.path)
    r = dataclasses.replace(list(api_screen("118.17,26.64", layers=layers))[0], site_id="南平测试站点")
    for lang in ("zh", "en"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            png = site_figure(r, layers, lang=lang)
        assert png.startswith(b"\x89PNG")
        assert not [w for w in caught if "Glyph" in str(w.message)], [str(w.message) for w in caught]
