"""The public Python API as a notebook user meets it: every entry point called twice in one
process, results as GeoDataFrames, JSON, HTML and maps, checked against independent values."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import jsonschema
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

import zoning

GEOD = Geod(ellps="GRS80")
SCHEMA = json.loads((Path(zoning.__file__).parent / "schema" / "result.schema.json").read_text(encoding="utf-8"))
COLUMNS = ["site_id", "verdict", "unit_code", "unit_class", "county", "rules", "area_m2", "geometry"]


@pytest.fixture(scope="module")
def projects(catalog):
    return catalog.one("red_line").path.parent / "sample_projects.gpkg"


def test_public_names_are_functions_not_modules():
    import importlib

    # importing every submodule must not replace a public function by a module of the same name
    for name in ("zoning.screening.pipeline", "zoning.carbon.density", "zoning.export.county", "zoning.io.sites",
                 "zoning.cli", "zoning.api"):
        importlib.import_module(name)
    for name in zoning.__all__:
        if name != "__version__":
            assert callable(getattr(zoning, name)), name
    assert (Path(zoning.__file__).parent / "py.typed").exists()


def test_screen_twice_in_one_process(layers, projects, catalog):
    first = zoning.screen(projects, layers=layers)
    second = zoning.screen(projects, layers=layers)  # the old lazy wrapper broke here
    third = zoning.screen("118.17,26.64", catalog=catalog.path, attributes={"industry": "C1371"})
    assert isinstance(first, zoning.ScreenResults) and len(first) == len(second) == 23
    assert [r.verdict for r in first] == [r.verdict for r in second]
    assert len(third) == 1 and third[0].verdict is not None
    assert isinstance(first[0], zoning.ScreenResult) and isinstance(first[:3], zoning.ScreenResults)


def test_to_geodataframe_columns_and_values(layers, projects):
    results = zoning.screen(projects, layers=layers)
    gdf = results.to_geodataframe()
    assert isinstance(gdf, gpd.GeoDataFrame) and gdf.crs.to_epsg() == 4490
    for column in COLUMNS:
        assert column in gdf.columns, column
    assert len(gdf) == 23 and list(gdf["site_id"]) == [r.site_id for r in results]
    units = layers.frames["control_unit"]
    for row in gdf.itertuples():
        # independent: the unit holding the largest share of the site, from the stored layer with shapely
        geom = row.geometry
        overlap = units.geometry.intersection(geom).area if geom.area > 0 else units.geometry.contains(geom) * 1.0
        best = units.iloc[int(np.argmax(np.asarray(overlap)))]
        assert row.unit_code == best["code"] and row.unit_class == best["class"], row.site_id
        if geom.geom_type.endswith("Polygon"):
            geodesic = abs(GEOD.geometry_area_perimeter(geom)[0])
            assert row.area_m2 == pytest.approx(geodesic, rel=1e-6)
        fired = {x.id for x in results[row.Index].rules if x.outcome != "compliant"}
        assert set(filter(None, row.rules.split(", "))) == fired
    p01 = gdf.set_index("site_id").loc["P01"]
    assert p01["verdict"] == "prohibited" and "RL-01" in p01["rules"] and p01["red_line_m2"] > 0


def test_to_json_validates_and_round_trips(layers, projects):
    results = zoning.screen(projects, layers=layers)
    docs = json.loads(results.to_json())
    assert len(docs) == 23
    for doc in docs:
        jsonschema.validate(doc, SCHEMA)
    again = [zoning.ScreenResult.from_dict(d) for d in docs]
    assert [r.to_dict() for r in again] == [r.to_dict() for r in results]
    assert json.loads(results[0].to_json()) == docs[0]


def test_repr_html_is_compact_and_escaped(layers):
    evil = "<img src=x onerror=alert(1)>"
    sites = gpd.GeoDataFrame({"site_id": [evil], "name": [evil]}, geometry=[shapely.Point(118.17, 26.64)], crs=4490)
    results = zoning.screen(sites, layers=layers)
    html = results._repr_html_()
    assert "<table>" in html and "<img" not in html and "&lt;img" in html
    assert html.count("<tr>") == 2
    assert "ScreenResults: 1 site" in repr(results)


def test_explore_returns_a_folium_map(layers, projects):
    folium = pytest.importorskip("folium")
    results = zoning.screen(projects, layers=layers)
    m = results.explore()
    assert isinstance(m, folium.Map)
    m2 = zoning.explore(results=results, layers=layers)
    own = folium.Map(location=[27.0, 118.0], zoom_start=8, tiles=None)
    m3 = zoning.explore(layers=layers, m=own)
    assert isinstance(m2, folium.Map) and m3 is own
    for html in (m._repr_html_(), m2.get_root().render()):
        low = html.lower()
        assert 'src="http' not in low and "href=\"http" not in low and "url(http" not in low


def test_read_sites_catalog_layers_twice(catalog, projects):
    for _ in range(2):
        sites = zoning.read_sites(projects)
        assert len(sites) == 23 and sites.crs.to_epsg() == 4490
        cat = zoning.load_catalog(catalog.path)
        assert cat.one("admin").path.exists()
        layers = zoning.load_layers(cat)
        assert set(layers.frames) >= {"admin", "red_line", "control_unit"}
    assert zoning.load_layers(catalog.path).catalog.path == catalog.path


def test_check_layers_twice(catalog):
    for _ in range(2):
        findings = zoning.check_layers(catalog)
        assert findings and all(f.ok for f in findings), [f for f in findings if not f.ok]


def test_stock_twice_matches_hand_sum(catalog, projects):
    import rasterio

    sites = zoning.read_sites(projects)
    polys = sites[sites.geometry.geom_type.str.endswith("Polygon")].head(4)
    for _ in range(2):
        stocks = zoning.stock(polys, catalog=catalog)
        assert isinstance(stocks, gpd.GeoDataFrame) and len(stocks) == 4
        assert {"stock_tC", "stock_tCO2", "forest_ha", "county"} <= set(stocks.columns)
        assert np.allclose(stocks["stock_tCO2"], stocks["stock_tC"] * 44 / 12)
        assert stocks["county"].notna().all()
    totals = zoning.stock_totals(stocks)
    assert totals.iloc[-1]["stock_tC"] == pytest.approx(stocks["stock_tC"].sum())
    # independent, on a whole county (~10^5 pixels, so the cell-centre rule is within 1 %):
    # density at cell centres inside the polygon × pixel area
    county = zoning.load_layer(catalog.one("admin"))
    county = county[county["code"] == "350702"]
    exact = zoning.stock(county, catalog=catalog)["stock_tC"].iloc[0]
    with rasterio.open(catalog.one("forest_carbon").path) as src:
        assert src.crs.is_projected  # pixel areas are |a·e| in an equal-area grid
        poly = county.to_crs(src.crs).geometry.iloc[0]
        window = rasterio.windows.from_bounds(*poly.bounds, transform=src.transform).round_offsets().round_lengths()
        band = src.read(1, window=window, masked=True).filled(0).astype(float)
        t = src.window_transform(window)
        rows, cols = np.indices(band.shape)
        xs, ys = rasterio.transform.xy(t, rows.ravel(), cols.ravel())
        inside = shapely.contains_xy(poly, np.asarray(xs), np.asarray(ys)).reshape(band.shape)
        approx = float((band * inside).sum() * abs(t.a * t.e) / 1e4)
    assert exact == pytest.approx(approx, rel=0.01)


def test_program_twice_without_files(layers):
    for _ in range(2):
        result = zoning.program(layers=layers, draws=200)
        annual = result.annual_table()
        assert isinstance(annual, pd.DataFrame) and set(annual["scenario_r_target"]) == {2.77, 3.86}
        full = annual[(annual["scenario_r_target"] == 2.77) & (annual["year"] == 2025)]["additional_tCO2"].iloc[0]
        assert full == pytest.approx(30_000 * (2.77 - 1.97))  # hand arithmetic: 24,000 t CO2/yr
        assert isinstance(result.county_table(), pd.DataFrame)


def test_export_county_twice(layers, tmp_path):
    for i in range(2):
        manifests = zoning.export_county(tmp_path / "x", county="350702", layers=layers, formats=("gpkg",),
                                         overwrite=i > 0)
        assert len(manifests) == 1 and manifests[0]["county"]["code"] == "350702"
    with pytest.raises(zoning.ZoningError):
        zoning.export_county(tmp_path / "x", county="350702", layers=layers, formats=("gpkg",))


def test_write_screen_outputs_whole(layers, projects, tmp_path):
    results = zoning.screen(projects, layers=layers)
    zoning.write_screen_outputs(results, tmp_path / "o")
    assert len(list((tmp_path / "o" / "results").glob("*.json"))) == 23
    # a second, smaller run replaces the folder whole: no result of the earlier batch is left
    zoning.write_screen_outputs(results[:2], tmp_path / "o", overwrite=True)
    assert len(list((tmp_path / "o" / "results").glob("*.json"))) == 2
    again = zoning.read_results(tmp_path / "o")
    assert [r.site_id for r in again] == [r.site_id for r in results[:2]]
    with pytest.raises(zoning.ZoningError):
        zoning.write_screen_outputs(results, tmp_path / "o")  # no overwrite
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    with pytest.raises(zoning.ZoningError):  # never wipe a folder zoning did not write
        zoning.write_screen_outputs(results, foreign, overwrite=True)
    assert (foreign / "thesis.docx").read_text() == "precious"
