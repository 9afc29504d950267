"""Zonal carbon: hand-checkable rasters, geographic pixel areas, agreement with exactextract."""
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Geod

from zoning.carbon.density import CO2_PER_C, CarbonError, stock

GEOD = Geod(ellps="GRS80")


def _raster(path, data, *, crs="EPSG:4548", transform, units="t C/ha", nodata=-9999.0):
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype="float32",
                   transform=transform, nodata=nodata)
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype("float32"), 1)
        if units:
            dst.update_tags(units=units, pools="AGB+BGB")
    return path


# a 3x3 raster of 100 m cells (1 ha each) in CGCS2000 GK CM117, origin (500000, 3000000)
T3 = Affine(100, 0, 500_000, 0, -100, 3_000_300)
D3 = np.array([[10, 20, 30], [40, 50, 60], [0, 80, -9999]], dtype="float32")


def _gdf(geoms, crs="EPSG:4548"):
    return gpd.GeoDataFrame({"site_id": [f"g{i}" for i in range(len(geoms))]}, geometry=geoms, crs=crs)


def test_three_by_three_known_fractions(tmp_path):
    path = _raster(tmp_path / "d.tif", D3, transform=T3)
    x0, y0 = 500_000, 3_000_000
    geoms = [
        shapely.box(x0 + 100, y0 + 100, x0 + 200, y0 + 200),  # the centre cell: 1 ha of 50
        shapely.box(x0 + 50, y0 + 150, x0 + 150, y0 + 250),  # quarter of 4 cells: 10+20+40+50 over 0.25 ha each
        shapely.box(x0, y0, x0 + 300, y0 + 300),              # everything: 8 valid cells, one nodata
        shapely.box(x0 + 200, y0, x0 + 300, y0 + 100),        # the nodata cell only
        shapely.box(x0 + 250, y0 + 50, x0 + 350, y0 + 150),   # partly outside the raster
    ]
    r = stock(_gdf(geoms), path).set_index("id")
    assert r.loc["g0", "stock_tC"] == pytest.approx(50.0)
    assert r.loc["g0", "forest_ha"] == pytest.approx(1.0)
    assert r.loc["g0", "stock_tCO2"] == pytest.approx(50.0 * 44 / 12)
    assert r.loc["g1", "stock_tC"] == pytest.approx(0.25 * (10 + 20 + 40 + 50))
    assert r.loc["g1", "mean_tC_ha"] == pytest.approx(30.0)
    assert r.loc["g2", "stock_tC"] == pytest.approx(10 + 20 + 30 + 40 + 50 + 60 + 80)
    assert r.loc["g2", "forest_ha"] == pytest.approx(7.0)  # the 0 cell is land without forest
    assert r.loc["g2", "pixels"] == pytest.approx(8.0)
    assert "nodata_in_footprint" in r.loc["g2", "flags"] and "few_pixels" in r.loc["g2", "flags"]
    assert r.loc["g2", "coverage_share"] == pytest.approx(8 / 9)  # one of 9 cells has no data
    # nothing measured on the nodata cell: NA, not 0
    assert np.isnan(r.loc["g3", "stock_tC"]) and np.isnan(r.loc["g3", "forest_ha"]) and "nodata_only" in r.loc["g3", "flags"]
    assert r.loc["g3", "coverage_share"] == 0
    # half of g4 is outside the raster: the coverage check says so; the inside half is counted
    assert "coverage_mismatch" in r.loc["g4", "flags"] and "partly_outside_raster" in r.loc["g4", "flags"]
    assert r.loc["g4", "covered_ha"] == pytest.approx(0.5)
    assert r.loc["g4", "valid_ha"] == pytest.approx(0.25)  # a quarter is on the nodata cell
    assert r.loc["g4", "coverage_share"] == pytest.approx(0.25)
    assert r.loc["g4", "stock_tC"] == pytest.approx(0.25 * 60)  # the nodata quarter adds nothing
    assert (r.loc[["g0", "g1"], "coverage_share"] == 1.0).all() and r.loc["g0", "flags"] == "few_pixels"


def test_ten_by_ten_diagonal_triangle(tmp_path):
    data = np.arange(100, dtype="float32").reshape(10, 10)
    t = Affine(10, 0, 500_000, 0, -10, 3_000_100)
    path = _raster(tmp_path / "d.tif", data, transform=t)
    # lower-left triangle below the diagonal from (0,0) to (100,100): diagonal cells are half covered
    tri = shapely.Polygon([(500_000, 3_000_000), (500_100, 3_000_000), (500_100, 3_000_100)])
    r = stock(_gdf([tri]), path).iloc[0]
    rows, cols = np.mgrid[0:10, 0:10]
    # cell (row, col) has x in [col, col+1), y in [9-row, 10-row) (units of 10 m); below y = x
    cover = np.where(cols > 9 - rows, 1.0, np.where(cols == 9 - rows, 0.5, 0.0))
    expected = (cover * data).sum() * 0.01  # 10 m pixels are 0.01 ha
    assert r["stock_tC"] == pytest.approx(expected, rel=1e-12)
    assert r["covered_ha"] == pytest.approx(0.5, rel=1e-12)


def test_geographic_raster_uses_ellipsoidal_pixel_areas(tmp_path):
    # 0.01 deg cells at 27 N in EPSG:4490; density 100 t C/ha everywhere
    t = Affine(0.01, 0, 118.0, 0, -0.01, 27.05)
    path = _raster(tmp_path / "g.tif", np.full((5, 5), 100.0), crs="EPSG:4490", transform=t)
    cell = shapely.box(118.01, 27.02, 118.02, 27.03)  # exactly one cell (row 2, col 1)
    r = stock(_gdf([cell], crs="EPSG:4490"), path).iloc[0]
    area_ha = abs(GEOD.polygon_area_perimeter([118.01, 118.02, 118.02, 118.01], [27.03, 27.03, 27.02, 27.02])[0]) / 1e4
    assert r["forest_ha"] == pytest.approx(area_ha, rel=1e-9)
    assert r["stock_tC"] == pytest.approx(100 * area_ha, rel=1e-9)
    assert 105 < area_ha < 115  # ~110 ha at 27 N: 0.01 deg of longitude shrinks with cos(lat), latitude does not
    assert abs(r["coverage_diff"]) < 1e-6


def test_reprojects_polygons_to_raster_crs(tmp_path):
    path = _raster(tmp_path / "d.tif", D3, transform=T3)
    centre = _gdf([shapely.box(500_100, 3_000_100, 500_200, 3_000_200)]).to_crs(4490)
    r = stock(centre, path).iloc[0]
    assert r["stock_tC"] == pytest.approx(50.0, rel=1e-6)


def test_units_conversion_and_refusals(tmp_path):
    poly = _gdf([shapely.box(500_100, 3_000_100, 500_200, 3_000_200)])
    kg = _raster(tmp_path / "kg.tif", D3 / 10, transform=T3, units="kg C/m2")
    assert stock(poly, kg).iloc[0]["stock_tC"] == pytest.approx(50.0, rel=1e-6)
    co2 = _raster(tmp_path / "co2.tif", D3 * CO2_PER_C, transform=T3, units="t CO2/ha")
    assert stock(poly, co2).iloc[0]["stock_tC"] == pytest.approx(50.0, rel=1e-6)
    no_units = _raster(tmp_path / "nou.tif", D3, transform=T3, units=None)
    with pytest.raises(CarbonError, match="--units"):
        stock(poly, no_units)
    assert stock(poly, no_units, units="t C/ha").iloc[0]["stock_tC"] == pytest.approx(50.0)
    metres = _raster(tmp_path / "m.tif", D3, transform=T3, units="m")
    with pytest.raises(CarbonError, match="not a carbon density"):
        stock(poly, metres)
    no_crs = _raster(tmp_path / "nocrs.tif", D3, crs=None, transform=T3)
    with pytest.raises(CarbonError, match="no CRS"):
        stock(poly, no_crs)


def test_polygon_outside_raster_gives_na_not_zero(tmp_path):
    path = _raster(tmp_path / "d.tif", D3, transform=T3)
    far = _gdf([shapely.box(600_000, 3_100_000, 600_100, 3_100_100)])
    r = stock(far, path).iloc[0]
    assert np.isnan(r["stock_tC"]) and np.isnan(r["stock_tCO2"]) and np.isnan(r["forest_ha"])
    assert r["pixels"] == 0 and r["flags"] == "outside_raster" and r["coverage_share"] == 0
    assert r["area_ha"] == pytest.approx(1.0, rel=1e-3)  # the stand itself is still measured


def _random_polygons(bounds, n, seed):
    rng = np.random.default_rng(seed)
    cx = rng.uniform(bounds.left + 3000, bounds.right - 3000, n)
    cy = rng.uniform(bounds.bottom + 3000, bounds.top - 3000, n)
    area = rng.uniform(1e4, 30e4, n)
    ratio = rng.uniform(1, 2, n)
    h = np.sqrt(area / ratio)
    w = h * ratio
    return [shapely.affinity.rotate(shapely.box(x - a / 2, y - b / 2, x + a / 2, y + b / 2), ang, origin=(x, y))
            for x, y, a, b, ang in zip(cx, cy, w, h, rng.uniform(0, 180, n))]


def test_equals_exactextract_on_random_polygons(catalog):
    from exactextract import exact_extract

    path = catalog.one("forest_carbon").path
    with rasterio.open(path) as src:
        crs, bounds, px_ha = src.crs, src.bounds, abs(src.res[0] * src.res[1]) / 1e4
    polys = _random_polygons(bounds, 500, seed=3)
    polys.append(shapely.Point(118.2, 27.3).buffer(0.01))  # a round one, in lon/lat, reprojected by both
    gdf = gpd.GeoDataFrame({"site_id": [str(i) for i in range(len(polys))]},
                           geometry=polys[:-1] + [None], crs=crs)
    gdf.loc[len(polys) - 1, "geometry"] = gpd.GeoSeries([polys[-1]], crs=4490).to_crs(crs).iloc[0]
    ours = stock(gdf, path)
    ref = exact_extract(str(path), gdf, ["sum", "count"], output="pandas")
    ref_stock = ref["sum"].to_numpy() * px_ha
    # where no pixel with data lies under a polygon exactextract sums 0; we say NA (nothing measured)
    assert np.array_equal(ours["stock_tC"].isna().to_numpy(), ref["count"].to_numpy() == 0)
    assert np.allclose(ours["stock_tC"].fillna(0.0), ref_stock, rtol=1e-6, atol=1e-9)
    assert np.allclose(ours["pixels"], ref["count"], rtol=1e-6, atol=1e-9)
    assert (ours["stock_tC"] > 0).sum() > 200  # half the bounding box is city land: a real comparison


def test_parallel_equals_serial(catalog):
    path = catalog.one("forest_carbon").path
    with rasterio.open(path) as src:
        crs, bounds = src.crs, src.bounds
    gdf = gpd.GeoDataFrame(geometry=_random_polygons(bounds, 3000, seed=4), crs=crs)
    serial = stock(gdf, path, workers=1)
    parallel = stock(gdf, path, workers=2, strip_rows=128)
    assert np.array_equal(serial["stock_tC"].to_numpy(), parallel["stock_tC"].to_numpy(), equal_nan=True)
    assert list(serial["id"]) == [str(i + 1) for i in range(3000)]  # input order kept


def test_carbon_stock_cli(tmp_path, catalog):
    import pandas as pd
    from click.testing import CliRunner

    from zoning.cli import main

    src = catalog.one("red_line").path.parent / "sample_projects.gpkg"
    out = tmp_path / "stock"
    res = CliRunner().invoke(main, ["carbon", "stock", str(src), "-o", str(out), "--by", "industry",
                                    "--catalog", str(catalog.path)])
    assert res.exit_code == 0, res.output
    assert (out / "stock.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(out / "stock.csv", encoding="utf-8-sig")
    assert list(table.columns[:6]) == ["id", "forest_ha", "stock_tC", "stock_tCO2", "mean_tC_ha", "pixels"]
    sites = gpd.read_file(src)
    assert list(table["id"]) == list(sites["id"])  # input order
    assert np.allclose(table["stock_tCO2"], table["stock_tC"] * 44 / 12, rtol=1e-6, equal_nan=True)
    points = sites.geom_type == "Point"
    assert table.loc[points.to_numpy(), "stock_tC"].isna().all()  # no footprint: NA, not 0
    by_county = pd.read_csv(out / "stock_by_county.csv", encoding="utf-8-sig")
    total = by_county[by_county["county"] == "合计 total"].iloc[0]
    assert total["stock_tC"] == pytest.approx(table["stock_tC"].sum(), rel=1e-6)
    assert (out / "stock_by_industry.csv").exists()
    assert len(gpd.read_file(out / "stock.gpkg")) == len(sites)
    again = CliRunner().invoke(main, ["carbon", "stock", str(src), "-o", str(out), "--catalog", str(catalog.path)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_screening_carbon_section(catalog):
    from zoning.screening.pipeline import screen

    src = catalog.one("red_line").path.parent / "sample_projects.gpkg"
    results = {r.site_id: r for r in screen(src, catalog=catalog, base_year=2025)}
    p19 = results["P19"]  # 25 ha cleared completely in 武夷山市
    c = p19.carbon
    assert c["status"] == "ok" and c["clear_share"] == 1.0 and c["clear_share_given"]
    assert c["loss_tCO2"] == pytest.approx(c["stock_tC"] * 44 / 12, rel=1e-6)
    fs = c["forgone_sink"]
    assert fs["per_year_tCO2"] == pytest.approx(c["forest_ha"] * 1.97, rel=1e-6)
    assert fs["to_2030_tCO2"] == pytest.approx(c["forest_ha"] * 1.97 * 5, rel=1e-6)
    assert fs["to_2060_tCO2"] == pytest.approx(c["forest_ha"] * 1.97 * 35, rel=1e-6)
    assert c["loss_tCO2"] < c["stock_tCO2"] + 1e-9  # the forgone sink is never added to the loss
    assert all(p["source"] for p in c["parameters"])
    assert {x.id for x in p19.rules} >= {"WY-01"}
    assert results["P02"].carbon["status"] == "no_footprint"
    # a stated clear_share of 0: nothing lost, nothing forgone
    p11 = results["P11"].carbon
    assert p11["loss_tCO2"] == 0 and p11["forgone_sink"]["per_year_tCO2"] == 0 and p11["stock_tCO2"] > 0
    # without a stated clear_share the loss assumes full clearing, and says so
    p17 = results["P17"].carbon
    assert not p17["clear_share_given"] and p17["loss_tCO2"] == pytest.approx(p17["stock_tCO2"])
    assert "default" in p17["parameters"][2]["source"]


def test_ensemble_reuses_coverage_across_realisations(tmp_path):
    """Bands are density realisations: percentiles of the per-band stocks, one coverage per strip."""
    path = _raster(tmp_path / "d.tif", D3, transform=T3)
    factors = np.array([0.8, 0.9, 1.0, 1.1, 1.2])
    ens = tmp_path / "ens.tif"
    with rasterio.open(ens, "w", driver="GTiff", width=3, height=3, count=len(factors), dtype="float32",
                       crs="EPSG:4548", transform=T3, nodata=-9999.0) as dst:
        for i, f in enumerate(factors, 1):
            dst.write(np.where(D3 == -9999, -9999, D3 * f).astype("float32"), i)
    x0, y0 = 500_000, 3_000_000
    polys = _gdf([shapely.box(x0 + 50, y0 + 150, x0 + 150, y0 + 250), shapely.box(x0, y0, x0 + 300, y0 + 300)])
    r = stock(polys, path, ensemble=ens)
    for i, base in enumerate(r["stock_tC"]):
        draws = base * factors
        assert r["stock_tC_p2_5"].iloc[i] == pytest.approx(np.percentile(draws, 2.5))
        assert r["stock_tC_p50"].iloc[i] == pytest.approx(base)
        assert r["stock_tC_p97_5"].iloc[i] == pytest.approx(np.percentile(draws, 97.5))
    wrong = _raster(tmp_path / "w.tif", np.zeros((4, 4)), transform=T3)
    with pytest.raises(CarbonError, match="grid"):
        stock(polys, path, ensemble=wrong)
