"""County exports: round trips through pyogrio, fiona and ogrinfo; CRS; limits; safety."""
import json
import shutil
import subprocess
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from pyproj import CRS

from zoning.cli import main
from zoning.errors import OutputExists, OutputProblem
from zoning.export.county import ExportError, export_county, sanitize
from zoning.geo.crs import project
from zoning.geo.measure import ellipsoidal_areas


def _unzip(zip_path, dest):
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(dest)
        return sorted(dest / n for n in z.namelist() if n.endswith(".shp"))


@pytest.mark.parametrize("encoding,crs", [("utf-8", "4490"), ("gbk", "4548"), ("gbk", "4490"), ("utf-8", "4549")])
def test_shapefile_round_trip_all_readers(tmp_path, layers, encoding, crs):
    out = tmp_path / "out"
    [m] = export_county(layers, out, county="延平区", roles="control_unit,protected", formats=("shp",),
                        encoding=encoding, crs=crs)
    folder = out / "350702_Yanping"
    assert m["encoding"] == encoding and m["crs"] == f"EPSG:{crs}"
    source = layers.frames["control_unit"]
    expected_names = sorted(source.loc[source["county_code"] == "350702", "name"])
    [shp] = _unzip(folder / "350702_Yanping_control_unit.zip", tmp_path / "x")
    assert shp.with_suffix(".cpg").read_text() == ("936" if encoding == "gbk" else "UTF-8")
    assert CRS.from_wkt(shp.with_suffix(".prj").read_text()).to_epsg() == int(crs)
    by_pyogrio = gpd.read_file(shp, engine="pyogrio", encoding="gbk" if encoding == "gbk" else None)
    by_fiona = gpd.read_file(shp, engine="fiona")  # fiona follows the .cpg on its own
    for frame in (by_pyogrio, by_fiona):
        assert sorted(frame["ZONE_NAME"]) == expected_names
        assert len(frame) == len(expected_names)
        assert frame.crs.to_epsg() == int(crs)
        # issue 11: AREA_HA is planar only where the CRS keeps the county's areas within 0.1 %; 延平区
        # reaches 117.84°E, 2.2° west of EPSG:4549's central meridian (+0.11 %): ellipsoidal there, warned
        planar = crs == "4548"
        assert m["area_ha"].startswith("planar" if planar else "ellipsoidal")
        assert bool(m["warnings"]) == (crs == "4549")
        measured = frame.area.to_numpy() / 1e4 if planar else ellipsoidal_areas(frame.geometry) / 1e4
        assert np.allclose(frame["AREA_HA"], measured, rtol=1e-4)
        assert np.allclose(frame["AREA_HA"], ellipsoidal_areas(frame.geometry) / 1e4, rtol=1e-3)
    if shutil.which("ogrinfo"):
        text = subprocess.run(["ogrinfo", "-al", "-q", str(shp)], capture_output=True, text=True, check=True).stdout
        got = sorted(line.split("=", 1)[1].strip() for line in text.splitlines() if "ZONE_NAME (String)" in line)
        assert got == expected_names
        assert f"Feature Count: {len(expected_names)}" in subprocess.run(
            ["ogrinfo", "-al", "-so", str(shp)], capture_output=True, text=True, check=True).stdout
    # the manifest's checksums match the files
    import hashlib

    for f in m["files"]:
        assert hashlib.sha256((folder / f["file"]).read_bytes()).hexdigest() == f["sha256"]


def test_other_formats_round_trip(tmp_path, layers):
    out = tmp_path / "out"
    [m] = export_county(layers, out, county="建瓯市", roles="red_line,park", formats=("gpkg", "geojson", "kml", "csv"))
    folder = out / "350783_Jian_ou"
    src = layers.frames["red_line"]
    names = sorted(src.loc[src["county_code"] == "350783", "name"])  # red lines are split by county
    gpkg = gpd.read_file(folder / "350783_Jian_ou.gpkg", layer="red_line")
    assert sorted(gpkg["name"]) == names  # full field names in the GeoPackage
    for engine in ("pyogrio", "fiona"):
        gj = gpd.read_file(folder / "350783_Jian_ou_red_line.geojson", engine=engine)
        assert sorted(gj["name"]) == names and gj.crs.to_epsg() == 4490
        # the default CRS is auto (issue 11): area_ha is planar in the county's own GK zone (the official
        # area), within 0.1 % of the ellipsoidal area; GeoJSON itself is always EPSG:4490
        assert m["crs"] == "EPSG:4548" and m["area_ha"].startswith("planar in EPSG:4548")  # centroid 118.47°E
        planar = shapely.area(project(gj.geometry.values, 4548)) / 1e4
        assert np.allclose(planar, gj["area_ha"], rtol=1e-4)
        assert np.allclose(ellipsoidal_areas(gj.geometry) / 1e4, gj["area_ha"], rtol=1e-3)
    kml = gpd.read_file(folder / "350783_Jian_ou_red_line.kml", engine="pyogrio")
    assert sorted(kml["name"] if "name" in kml else kml["Name"]) == names
    csv = pd.read_csv(folder / "350783_Jian_ou_red_line.csv", encoding="utf-8-sig")
    assert sorted(csv["name"]) == names and csv["wkt"].str.startswith(("POLYGON", "MULTIPOLYGON")).all()
    assert (folder / "350783_Jian_ou_red_line.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    dictionary = pd.read_csv(folder / "350783_Jian_ou_data_dictionary.csv", encoding="utf-8-sig")
    assert {"field", "中文名", "meaning", "unit", "shp_field"} <= set(dictionary.columns)
    assert (dictionary["shp_field"].str.len() <= 10).all() and dictionary["shp_field"].str.isascii().all()
    assert set(pd.ExcelFile(folder / "350783_Jian_ou_data_dictionary.xlsx").sheet_names)


def test_all_counties_areas_add_up(tmp_path, layers):
    out = tmp_path / "all"
    manifests = export_county(layers, out, county="all", roles="red_line,control_unit", formats=("gpkg",))
    assert len(manifests) == 10 and len(list(out.iterdir())) == 10
    for role in ("red_line", "control_unit"):
        total = sum(gpd.read_file(next((out / d.name).glob("*.gpkg")), layer=role)["area_ha"].sum()
                    for d in out.iterdir())
        city = ellipsoidal_areas(layers.frames[role].geometry).sum() / 1e4
        assert total == pytest.approx(city, rel=1e-3), role


def test_long_values_move_to_geopackage_and_gbk_limits(tmp_path, layers):
    from zoning.export.county import write_shapefile

    long_name = "南平市" * 40  # 360 bytes in UTF-8
    frame = gpd.GeoDataFrame({"id": ["A"], "name": [long_name], "area_ha": [1.0]},
                             geometry=[shapely.box(118.1, 26.6, 118.11, 26.61)], crs=4490)
    [(shp, kind, notes)] = write_shapefile(frame, tmp_path / "long", encoding="utf-8")
    assert "ZONE_NAME" not in gpd.read_file(shp).columns and "254" in notes[0]
    rare = frame.assign(name=["𠀀"])  # outside GBK
    with pytest.raises(ExportError, match="--encoding utf-8"):
        write_shapefile(rare, tmp_path / "rare", encoding="gbk")
    # exactly fitting widths: a 254-byte value survives whole
    fit = frame.assign(name=["a" * 254])
    [(shp, _, notes)] = write_shapefile(fit, tmp_path / "fit", encoding="utf-8")
    assert gpd.read_file(shp)["ZONE_NAME"].iloc[0] == "a" * 254 and not notes


def test_results_are_exported(tmp_path, layers, catalog):
    res = CliRunner().invoke(main, ["screen", str(catalog.one("red_line").path.parent / "sample_projects.gpkg"),
                                    "-o", str(tmp_path / "screen"), "--catalog", str(catalog.path)])
    assert res.exit_code == 0, res.output
    export_county(layers, tmp_path / "out", county="延平区", roles="admin", formats=("shp", "gpkg"),
                  results_dir=tmp_path / "screen")
    folder = tmp_path / "out" / "350702_Yanping"
    shps = _unzip(folder / "350702_Yanping_results.zip", tmp_path / "r")
    assert [p.stem for p in shps] == ["350702_Yanping_results"]  # the 延平 samples are all points
    verdicts = gpd.read_file(shps[0])["VERDICT"]
    assert set(verdicts) <= {"prohibited", "conditional", "needs_info", "compliant"} and len(verdicts) == 5
    assert len(gpd.read_file(folder / "350702_Yanping.gpkg", layer="results")) == 5


def test_mixed_geometries_split_one_type_per_file(tmp_path):
    from zoning.export.county import write_shapefile

    frame = gpd.GeoDataFrame({"site_id": ["a", "b", "c"], "verdict": ["compliant"] * 3},
                             geometry=[shapely.Point(118.1, 26.6), shapely.box(118.1, 26.6, 118.2, 26.7),
                                       shapely.MultiPolygon([shapely.box(118.3, 26.6, 118.4, 26.7)])], crs=4490)
    written = write_shapefile(frame, tmp_path / "mixed", encoding="utf-8")
    assert sorted((p.name, kind) for p, kind, _ in written) == [("mixed_point.shp", "Point"),
                                                               ("mixed_polygon.shp", "Polygon")]
    assert len(gpd.read_file(tmp_path / "mixed_polygon.shp")) == 2


def test_errors_are_clear(tmp_path, layers):
    with pytest.raises(ExportError, match="unknown county 'Atlantis'"):
        export_county(layers, tmp_path, county="Atlantis")
    with pytest.raises(ExportError, match=r"unknown layer\(s\) \['rivers'\]"):
        export_county(layers, tmp_path, county="all", roles="red_line,rivers")
    with pytest.raises(ExportError, match="unknown format"):
        export_county(layers, tmp_path, county="all", formats=("dwg",))
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(OutputProblem, match="not writable"):
        export_county(layers, blocker / "sub", county="延平区", roles="admin")
    export_county(layers, tmp_path / "o", county="延平区", roles="admin")
    with pytest.raises(OutputExists, match="--overwrite"):
        export_county(layers, tmp_path / "o", county="延平区", roles="admin")
    export_county(layers, tmp_path / "o", county="延平区", roles="admin", overwrite=True)


def test_names_are_sanitised(tmp_path, layers):
    assert sanitize("../../etc/passwd") == "etc_passwd"
    assert sanitize("延平区") == "x" and sanitize("Jian'ou") == "Jian_ou"
    evil = layers.frames["admin"].copy()
    evil.loc[evil["code"] == "350702", "name_en"] = "../../evil"
    from zoning.io.layerset import LayerSet

    ls = LayerSet(layers.catalog, {**layers.frames, "admin": evil}, layers.info, layers.coverage)
    export_county(ls, tmp_path / "o", county="350702", roles="admin")
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["350702_evil"]  # inside the output folder
    assert not (tmp_path / "evil").exists()


def test_failed_export_leaves_nothing(tmp_path, layers, monkeypatch):
    import zoning.export.county as ex

    def boom(*a, **k):
        raise ExportError("disk full (simulated)", "disk full (simulated)")

    monkeypatch.setattr(ex, "write_shapefile", boom)
    with pytest.raises(ExportError):
        export_county(layers, tmp_path / "o", county="延平区", roles="admin,red_line")
    assert list((tmp_path / "o").iterdir()) == []


def test_export_cli(tmp_path, catalog):
    res = CliRunner().invoke(main, ["export", "--county", "武夷山市", "--layers", "red_line,park", "--format", "shp,gpkg",
                                    "--encoding", "gbk", "-o", str(tmp_path), "--catalog", str(catalog.path)])
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "350782_Wuyishan" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["encoding"] == "gbk" and {f["format"] for f in manifest["files"]} == {"shp (zip)", "gpkg"}
    res = CliRunner().invoke(main, ["export", "--county", "nowhere", "-o", str(tmp_path), "--catalog", str(catalog.path)])
    assert res.exit_code == 2 and "unknown county" in res.output
