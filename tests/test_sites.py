"""Every site-input form and every refusal of ``read_sites``."""
import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from zoning.errors import CRSProblem, EncodingProblem, InputFileNotFound, SiteError, UnreadableInput
from zoning.geo.locate import locate_sites, site_summary
from zoning.io.sites import read_sites

GEOD = Geod(ellps="GRS80")
NAMES = ["延平区竹木加工厂", "建瓯市茶叶精制厂"]


def _geod_area(geom):
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def _assert_squares(sites):
    """The two test parcels: 0.002 x 0.002 deg and 0.003 x 0.002 deg near 26.6-27.0 N."""
    assert list(sites["site_id"][:2]) == ["A1", "A2"]
    assert sites.crs.to_epsg() == 4490
    b = sites.geometry.iloc[0].bounds
    assert b == pytest.approx((118.170, 26.640, 118.172, 26.642), abs=1e-6)


@pytest.mark.parametrize("name", ["sites.geojson", "sites.gpkg", "sites.kml", "sites_utf8.shp", "sites_gbk.shp"])
def test_vector_forms(data, name):
    sites = read_sites(data / name)
    _assert_squares(sites)
    assert list(sites["name"][:2]) == NAMES  # Chinese text intact, whatever the encoding


@pytest.mark.parametrize("engine", ["pyogrio", "fiona"])
def test_gbk_shapefile_without_cpg_both_engines(data, engine):
    sites = read_sites(data / "sites_gbk.shp", engine=engine)
    assert list(sites["name"]) == NAMES


def test_plain_geopandas_would_garble_gbk(data):
    # the reason shapefile_encoding exists: GDAL assumes ISO-8859-1 without a .cpg
    raw = gpd.read_file(data / "sites_gbk.shp", engine="pyogrio")
    assert list(raw["name"]) != NAMES


def test_csv_points_with_chinese_headers(data):
    sites = read_sites(data / "points.csv")
    assert list(sites["site_id"]) == ["B1", "B2"]
    assert sites.geometry.iloc[0].coords[0] == pytest.approx((118.171, 26.641))
    assert sites["crs_in"].iloc[0].startswith("EPSG:4490")
    assert any("gcj02" in w for w in sites["warnings"].iloc[0])  # the assumption is stated


def test_csv_in_gbk(data):
    sites = read_sites(data / "points_gbk.csv")
    assert sites["name"].iloc[0] == "建瓯市食品厂"


def test_csv_dms_values(data):
    sites = read_sites(data / "points_dms.csv")
    assert sites.geometry.iloc[0].coords[0] == pytest.approx((118.171, 26.641), abs=1e-9)


def test_jzd_boundary_points_zone_prefixed(data):
    sites = read_sites(data / "jzd.csv")
    assert sites["crs_in"].iloc[0].startswith("EPSG:4527")
    ref = read_sites(data / "sites.geojson")
    for sid in ("A1", "A2"):
        got = sites.loc[sites.site_id == sid].geometry.iloc[0]
        want = ref.loc[ref.site_id == sid].geometry.iloc[0]
        # rows were shuffled; point order restored from 点号; mm rounding of the survey values
        assert got.is_valid
        assert shapely.hausdorff_distance(got, want) < 1e-7
        assert _geod_area(got) == pytest.approx(_geod_area(want), rel=1e-5)


def test_jzd_without_zone_prefix_needs_crs(data):
    with pytest.raises(CRSProblem, match="4548"):
        read_sites(data / "jzd_nozone.csv")
    sites = read_sites(data / "jzd_nozone.csv", crs=4548)
    assert sites.geometry.iloc[0].bounds[0] == pytest.approx(118.170, abs=1e-6)


def test_jzd_swapped_xy_is_explained(data):
    with pytest.raises(CRSProblem, match="swapped"):
        read_sites(data / "jzd_swapped.csv")


def test_swapped_lat_lon_is_explained(data):
    with pytest.raises(CRSProblem, match="swapped"):
        read_sites(data / "points_swapped.csv")
    with pytest.raises(CRSProblem, match="swapped"):
        read_sites("26.64,118.17")


@pytest.mark.parametrize("text,lon,lat", [
    ("118.17,26.64", 118.17, 26.64),
    ("118.17 26.64", 118.17, 26.64),
    ("118°10'30\"E 26°38'24\"N", 118.175, 26.64),
])
def test_literal_coordinates(text, lon, lat):
    sites = read_sites(text)
    assert sites.geometry.iloc[0].coords[0] == pytest.approx((lon, lat), abs=1e-9)


def test_literal_gauss_kruger_with_zone_prefix():
    sites = read_sites("X=2947123.4 Y=39521456.7")
    assert sites["crs_in"].iloc[0].startswith("EPSG:4527")
    from pyproj import Transformer
    lon, lat = Transformer.from_crs(4527, 4490, always_xy=True).transform(39521456.7, 2947123.4)
    assert sites.geometry.iloc[0].coords[0] == pytest.approx((lon, lat), abs=1e-9)


def test_literal_polygon():
    sites = read_sites("118.17,26.64;118.172,26.64;118.172,26.642;118.17,26.642")
    assert sites.geometry.iloc[0].geom_type == "Polygon"


def test_unparseable_literal():
    with pytest.raises(InputFileNotFound):
        read_sites("no-such-file.geojson")


def test_gcj02_only_when_asked_and_recorded(data):
    plain = read_sites("118.17,26.64")
    conv = read_sites("118.17,26.64", crs="gcj02")
    assert "GCJ-02" in conv["crs_in"].iloc[0]
    assert any("GCJ-02" in w for w in conv["warnings"].iloc[0])
    _, _, shift = GEOD.inv(118.17, 26.64, *conv.geometry.iloc[0].coords[0])
    assert 200 < shift < 800
    assert plain.geometry.iloc[0].coords[0] == (118.17, 26.64)


def test_gcj02_on_projected_file_refused(data):
    with pytest.raises(CRSProblem):
        read_sites(data / "jzd.csv", crs="gcj02")


def test_file_without_crs_refused_unless_crs_given(data):
    with pytest.raises(CRSProblem, match=r"--crs 4548"):
        read_sites(data / "sites_noprj.shp")
    sites = read_sites(data / "sites_noprj.shp", crs="4548")
    _assert_squares(sites)


def test_geodataframe_input(data):
    gdf = gpd.read_file(data / "sites.geojson")
    sites = read_sites(gdf)
    _assert_squares(sites)


def test_small_self_intersection_repaired_with_warning(data):
    sites = read_sites(data / "invalid_small.geojson")
    assert sites.geometry.iloc[0].is_valid
    assert not shapely.Polygon(shapely.get_coordinates(gpd.read_file(data / "invalid_small.geojson").geometry.iloc[0])).is_valid
    assert any("repaired" in w for w in sites["warnings"].iloc[0])
    assert _geod_area(sites.geometry.iloc[0]) == pytest.approx(_geod_area(shapely.box(118.170, 26.640, 118.172, 26.642)), rel=1e-3)


def test_bowtie_refused_because_repair_changes_area(data):
    with pytest.raises(SiteError, match="V2.*area"):
        read_sites(data / "bowtie.geojson")


def test_z_dropped(data):
    sites = read_sites(data / "with_z.geojson")
    assert not shapely.has_z(sites.geometry.iloc[0])
    assert any("Z" in w for w in sites["warnings"].iloc[0])


def test_empty_geometry_refused_or_flagged(data):
    with pytest.raises(SiteError, match="E2"):
        read_sites(data / "null_geom.geojson")
    flagged = read_sites(data / "null_geom.geojson", on_error="flag")
    assert flagged["error"].iloc[0] is None
    assert "E2" in flagged["error"].iloc[1]
    assert flagged.geometry.iloc[1] is None


def test_degenerate_polygon_refused(data):
    with pytest.raises(SiteError, match="degenerate"):
        read_sites(data / "degenerate.geojson")


def test_outside_china_refused(data):
    # Beijing is in China; a site off the coast of Africa is not
    with pytest.raises(CRSProblem, match="outside China"):
        read_sites("10.0,5.0")


def test_outside_layer_area_is_a_warning_not_a_refusal(data, admin):
    sites = locate_sites(read_sites(data / "beijing.geojson"), admin)
    assert sites["county"].iloc[0] is None
    assert any("outside the layer set" in w for w in sites["warnings"].iloc[0])


def test_duplicate_ids_refused(data):
    with pytest.raises(SiteError, match="duplicate"):
        read_sites(data / "dup_ids.geojson")


def test_unsupported_and_broken_files(tmp_path, data):
    bad = tmp_path / "sites.docx"
    bad.write_text("x")
    with pytest.raises(UnreadableInput, match="unsupported"):
        read_sites(bad)
    nocols = tmp_path / "nocols.csv"
    nocols.write_text("a,b\n1,2\n")
    with pytest.raises(UnreadableInput, match="no coordinate columns"):
        read_sites(nocols)
    notnum = tmp_path / "notnum.csv"
    notnum.write_text("id,lon,lat\nA,118.1,abc\n")
    with pytest.raises(UnreadableInput, match="not a number"):
        read_sites(notnum)
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    with pytest.raises(UnreadableInput):
        read_sites(broken)


def test_wrong_cpg_is_reported(tmp_path, data):
    for ext in ("shp", "shx", "dbf", "prj"):
        (tmp_path / f"s.{ext}").write_bytes((data / f"sites_gbk.{ext}").read_bytes())
    (tmp_path / "s.cpg").write_text("UTF-8")  # lies: the DBF is GBK
    with pytest.raises(EncodingProblem, match="cpg"):
        read_sites(tmp_path / "s.shp")


def test_line_sites_and_summary_lengths(data, admin):
    sites = locate_sites(read_sites(data / "line.geojson"), admin)
    summary = site_summary(sites)
    assert summary["length_m"].iloc[0] == pytest.approx(GEOD.geometry_length(sites.geometry.iloc[0]), abs=0.01)
    assert summary["county"].iloc[0] == "延平区"


def test_summary_areas_match_pyproj_geod(data, admin):
    sites = locate_sites(read_sites(data / "sites.geojson"), admin)
    summary = site_summary(sites)
    for geom, area in zip(sites.geometry[:2], summary["area_m2"][:2]):
        assert area == pytest.approx(_geod_area(geom), abs=0.01)
    # and against a planar area in the fitting Gauss-Kruger zone: the two agree to < 0.05 %
    gk = sites.iloc[:2].to_crs(4548).area.to_numpy()
    assert np.allclose(summary["area_m2"][:2], gk, rtol=5e-4)
    assert list(summary["county"]) == ["延平区", "建瓯市", "建瓯市"]


def test_kmz_with_writer_made_ids_uses_placemark_names(tmp_path):
    import zipfile

    kml = tmp_path / "doc.kml"
    gpd.GeoDataFrame({"Name": ["地块甲", "地块乙"]}, geometry=[shapely.box(118.3, 27.0, 118.303, 27.002),
                                                        shapely.box(118.31, 27.0, 118.313, 27.002)],
                     crs=4326).to_file(kml, driver="KML")
    kmz = tmp_path / "sites.kmz"
    with zipfile.ZipFile(kmz, "w") as z:
        z.write(kml, "doc.kml")
    sites = read_sites(kmz)
    assert list(sites["site_id"]) == ["地块甲", "地块乙"]
