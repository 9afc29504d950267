"""The bundled Nanping layer set: real county areas, plausible synthetic layers, determinism."""
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Geod

from zoning.io.catalog import load_layer
from zoning.io.checks import check_catalog, partition_defects
from zoning.geo.crs import EQUAL_AREA_CRS
from zoning.sample import build_sample

GEOD = Geod(ellps="GRS80")
NANPING_KM2 = 26_300


def _geod_km2(geoms):
    return sum(abs(GEOD.geometry_area_perimeter(g)[0]) for g in geoms) / 1e6


def test_county_areas_total_nanping(catalog):
    admin = load_layer(catalog.one("admin"))
    assert sorted(admin["code"]) == ["350702", "350703", "350721", "350722", "350723", "350724",
                                     "350725", "350781", "350782", "350783"]
    geodesic = _geod_km2(admin.geometry)
    assert abs(geodesic - NANPING_KM2) / NANPING_KM2 < 0.01  # 26,277.9 km²
    # the equal-area CRS used for city-wide sums agrees with the ellipsoid to < 0.05 %
    planar = admin.to_crs(EQUAL_AREA_CRS).area.sum() / 1e6
    assert planar == pytest.approx(geodesic, rel=5e-4)
    # per county too, and in each county's Gauss-Kruger zone
    for geom in admin.geometry:
        lon = geom.centroid.x
        gk = gpd.GeoSeries([geom], crs=4490).to_crs(4548 if lon < 118.5 else 4549).area.iloc[0]
        assert gk / 1e6 == pytest.approx(_geod_km2([geom]), rel=1e-3)


def test_sample_layers_plausible(catalog):
    admin = load_layer(catalog.one("admin"))
    city = _geod_km2(admin.geometry)
    red = load_layer(catalog.one("red_line"))
    share = _geod_km2(red.geometry) / city
    assert 0.25 <= share <= 0.30, share
    assert set(red["type"]) == {"水源涵养", "生物多样性维护", "水土保持"}
    # red lines are complex shapes, not boxes
    assert np.median(shapely.get_num_coordinates(red.geometry)) > 50
    units = load_layer(catalog.one("control_unit"))
    assert set(units["class"]) == {"优先保护", "重点管控", "一般管控"}
    assert units["code"].str.match(r"^ZH\d{6}[123]\d{4}$").all()
    assert units["code"].is_unique and len(units) == 82
    parks = load_layer(catalog.one("park"))
    assert len(parks) >= 10 and parks["chemical"].sum() >= 1
    assert "荣华山产业组团" in set(parks["name"])
    rong = parks[parks["name"] == "荣华山产业组团"]
    assert rong["county_code"].iloc[0] == "350702"
    prot = load_layer(catalog.one("protected"))
    assert (prot["kind"] == "自然保护区").sum() >= 3
    assert set(prot.loc[prot["kind"] == "饮用水水源保护区", "grade"]) == {"一级", "二级"}
    park = prot[prot["kind"] == "国家公园"]
    assert park["name"].iloc[0] == "武夷山国家公园" and park["county_code"].iloc[0] == "350782"
    wuyishan = admin[admin["code"] == "350782"].geometry.iloc[0]
    c, cc = park.geometry.iloc[0].centroid, wuyishan.centroid
    assert c.x < cc.x and c.y > cc.y - 0.05  # north-west part of 武夷山市
    assert 500 < _geod_km2(park.geometry) < 1200
    assert len(load_layer(catalog.one("no_burn"))) == 10


def test_control_units_partition_each_county(catalog):
    admin = load_layer(catalog.one("admin"))
    units = load_layer(catalog.one("control_unit"))
    d = partition_defects(units, admin)
    assert d["gap_m2"] + d["overlap_m2"] + d["spill_m2"] < 1.0
    # and the check notices a real gap: drop one unit
    broken = partition_defects(units.iloc[1:], admin)
    dropped = units.iloc[:1].to_crs(EQUAL_AREA_CRS).area.iloc[0]
    assert broken["gap_m2"] == pytest.approx(dropped, rel=1e-3)
    assert broken["gap_where"]


def test_layer_check_clean(catalog):
    findings = check_catalog(catalog)
    assert [f for f in findings if not f.ok] == []
    assert any(f.check == "partition" for f in findings)


def test_forest_carbon_raster(catalog):
    spec = catalog.one("forest_carbon")
    with rasterio.open(spec.path) as src:
        assert src.tags()["units"] == "t C/ha" and "biomass" in src.tags()["pools"]
        assert src.tags()["synthetic"] == "true"
        assert src.res == (100.0, 100.0) and src.nodata == -9999.0
        a = src.read(1, masked=True)
    land_km2 = a.count() / 100  # 1 ha pixels
    assert land_km2 == pytest.approx(26_278, rel=0.005)
    forest = a[a > 0]
    assert forest.size / a.count() == pytest.approx(0.78, abs=0.005)
    assert float(forest.mean()) == pytest.approx(40.0, abs=0.5)
    # spatial structure: neighbouring pixels correlate strongly (white noise would give ~0)
    f = np.ma.filled(a, np.nan)
    x, y = f[:, :-1].ravel(), f[:, 1:].ravel()
    both = (x > 0) & (y > 0)
    assert np.corrcoef(x[both], y[both])[0, 1] > 0.8


def test_sample_projects(catalog):
    from zoning.io.sites import read_sites

    folder = catalog.one("red_line").path.parent
    sites = read_sites(folder / "sample_projects.gpkg")
    assert len(sites) >= 20
    assert {"Point", "Polygon"} <= set(sites.geom_type)
    for col in ("name", "industry", "two_high", "chemical", "boiler_th", "boiler_fuel", "energy_tce",
                "renewable_share"):
        assert col in sites.columns
    pts = read_sites(folder / "sample_points.csv")
    assert set(pts["site_id"]) == set(sites.loc[sites.geom_type == "Point", "site_id"])
    jzd = read_sites(folder / "sample_parcels_jzd.csv")
    assert set(jzd["site_id"]) == set(sites.loc[sites.geom_type == "Polygon", "site_id"])


def test_build_is_deterministic(catalog, tmp_path):
    out = build_sample(tmp_path, admin_path=catalog.one("admin").path)
    shipped = catalog.one("red_line").path.parent
    for name in ("red_line.gpkg", "control_unit.gpkg", "park.gpkg", "protected.gpkg", "sample_projects.gpkg"):
        a = gpd.read_file(out[name.split(".")[0]])
        b = gpd.read_file(shipped / name)
        assert len(a) == len(b)
        assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
        assert all(shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-9))
    with rasterio.open(out["forest_carbon"]) as s1, rasterio.open(catalog.one("forest_carbon").path) as s2:
        assert np.array_equal(s1.read(1), s2.read(1))
