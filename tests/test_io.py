"""Shapefile encodings and atomic writes, with both engines."""
import shutil
import subprocess

import geopandas as gpd
import pytest
from shapely.geometry import Point

from zoning.io.atomic import atomic_path
from zoning.errors import OutputExists
from zoning.io.vector import read_vector, shapefile_encoding, write_vector

TEXT = ["南平市延平区水源涵养红线", "建瓯市竹木加工园区（二期）"]


def _frame():
    return gpd.GeoDataFrame({"name": TEXT, "n": [1, 2]}, geometry=[Point(118.17, 26.64), Point(118.3, 27.0)],
                            crs=4490)


@pytest.mark.parametrize("write_engine", ["pyogrio", "fiona"])
@pytest.mark.parametrize("read_engine", ["pyogrio", "fiona"])
@pytest.mark.parametrize("encoding,cpg", [("utf-8", "UTF-8"), ("gbk", "936")])
def test_shapefile_round_trip(tmp_path, write_engine, read_engine, encoding, cpg):
    path = tmp_path / "t.shp"
    write_vector(_frame(), path, engine=write_engine, encoding=encoding)
    assert (tmp_path / "t.cpg").read_text() == cpg
    back = read_vector(path, engine=read_engine)
    assert list(back["name"]) == TEXT
    assert back.crs.to_epsg() == 4490
    # the raw DBF bytes really are in the requested encoding
    raw = (tmp_path / "t.dbf").read_bytes()
    assert TEXT[0].encode(encoding) in raw


def test_gbk_detected_without_cpg(tmp_path):
    path = tmp_path / "t.shp"
    write_vector(_frame(), path, encoding="gbk")
    (tmp_path / "t.cpg").unlink()
    assert shapefile_encoding(path)[0] == "gbk"
    assert list(read_vector(path)["name"]) == TEXT


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo not installed (apt-get install gdal-bin)")
def test_ogrinfo_reads_gbk_with_cpg(tmp_path):
    path = tmp_path / "t.shp"
    write_vector(_frame(), path, encoding="gbk")
    out = subprocess.run(["ogrinfo", "-al", "-q", str(path)], capture_output=True, text=True, check=True).stdout
    assert TEXT[0] in out and TEXT[1] in out  # GDAL recodes to UTF-8 thanks to the .cpg


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_refuses_overwrite_when_asked(tmp_path):
    target = tmp_path / "out.gpkg"
    write_vector(_frame(), target, driver="GPKG")
    with pytest.raises(OutputExists, match="--overwrite"):
        write_vector(_frame(), target, driver="GPKG", overwrite=False)
