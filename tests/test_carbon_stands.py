"""Issue 14, stocks that keep their identity: ids, attributes and CRS round-trip, partial coverage
is flagged (NA, never 0), the stock change between two inventories, and outputs that are written
whole or not at all. Truth: hand sums on hand-made rasters, shapely/pyproj on the geometry."""
from __future__ import annotations

import errno
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner
from pyproj import Geod

import zoning
from zoning.cli import main
from zoning.errors import OutputProblem

GEOD = Geod(ellps="GRS80")
# 20 x 10 cells of 100 m (1 ha) in CGCS2000 GK CM117 (EPSG:4548), north-west corner (500000, 3001000)
T = Affine(100, 0, 500_000, 0, -100, 3_001_000)


def _refuse(token):
    raise ValueError(f"not strict JSON: {token}")


def _raster(path, data, *, year=None, crs="EPSG:4548"):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype="float32", crs=crs, transform=T, nodata=-9999.0) as dst:
        dst.write(data.astype("float32"), 1)
        dst.update_tags(units="t C/ha", pools="AGB+BGB", **({"year": str(year)} if year else {}))
    return path


def _density():
    """Column j holds 10·(j+1) t C/ha: a stand's stock is a hand sum over the columns it covers."""
    return np.tile(np.arange(1, 21, dtype="float32") * 10, (10, 1))


def _stands(crs="EPSG:4548"):
    x0, y0 = 500_000, 3_000_000
    geoms = [shapely.box(x0 + 100, y0 + 100, x0 + 300, y0 + 300),        # cols 1-2: 4 ha of 20 and 30
             shapely.box(x0 + 1_000, y0 + 500, x0 + 1_200, y0 + 700),    # cols 10-11: 4 ha of 110, 120
             shapely.box(x0 + 1_900, y0 + 200, x0 + 2_100, y0 + 400),    # half outside (east edge at 2000)
             shapely.box(x0 + 5_000, y0 + 5_000, x0 + 5_200, y0 + 5_200)]  # wholly outside
    frame = gpd.GeoDataFrame({
        "小班号": ["0101-003", "0101-007", "0102-001", "0102-009"], "林班号": ["0101", "0101", "0102", "0102"],
        "树种": ["杉木", "马尾松", "阔叶林", "杉木"], "林龄": [12, 25, 40, 8], "蓄积": [101.5, 220.25, 310.0, 40.0],
        "area_ha": [4.0, 4.0, 4.0, 4.0], "id": [7, 8, 9, 10]}, geometry=geoms, crs="EPSG:4548")
    return frame.to_crs(crs) if crs != "EPSG:4548" else frame


@pytest.fixture()
def files(tmp_path):
    raster = _raster(tmp_path / "d.tif", _density())
    stands = tmp_path / "stands.gpkg"
    _stands().to_file(stands, layer="xiaoban")
    _stands().iloc[:1].to_file(stands, layer="other")
    return raster, stands


def test_ids_attributes_and_crs_round_trip(files, tmp_path):
    raster, stands = files
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["carbon", "stock", str(stands), "--layer", "xiaoban", "--id-field", "小班号",
                                    "--raster", str(raster), "-o", str(out)])
    assert res.exit_code == 0, res.output
    given = gpd.read_file(stands, layer="xiaoban")
    back = gpd.read_file(out / "stock.gpkg")
    assert back.crs.to_epsg() == 4548  # the input CRS, not EPSG:4490
    assert list(back["id"]) == list(given["小班号"])  # ids as given, in input order
    for column in ("小班号", "林班号", "树种", "林龄", "蓄积"):
        assert list(back[column]) == list(given[column]), column
    assert list(back["area_ha_input"]) == list(given["area_ha"])  # a clashing name is kept, renamed
    assert list(back["id_input"]) == list(given["id"])
    # the geometry comes back as written (same CRS, same coordinates)
    assert all(shapely.equals_exact(back.geometry.values, given.geometry.values, tolerance=1e-6))
    table = pd.read_csv(out / "stock.csv", encoding="utf-8-sig", dtype={"id": str, "林班号": str})
    assert list(table["id"]) == list(given["小班号"]) and list(table["林班号"]) == list(given["林班号"])
    # hand sums: 2 columns × 2 rows of 1 ha cells
    assert table.loc[0, "stock_tC"] == pytest.approx(2 * (20 + 30))
    assert table.loc[1, "stock_tC"] == pytest.approx(2 * (110 + 120))


def test_partial_coverage_is_flagged_not_zero(files, tmp_path):
    raster, stands = files
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["carbon", "stock", str(stands), "--layer", "xiaoban",
                                                    "--raster", str(raster), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "incomplete coverage" in res.stderr and "0102-009" in res.stderr  # default id: 小班号
    table = pd.read_csv(out / "stock.csv", encoding="utf-8-sig").set_index("id")
    assert np.isnan(table.loc["0102-009", "stock_tC"])  # wholly outside: NA, not 0
    assert "outside_raster" in table.loc["0102-009", "flags"]
    half = table.loc["0102-001"]
    assert "partly_outside_raster" in half["flags"]
    assert half["coverage_share"] == pytest.approx(0.5)
    assert half["stock_tC"] == pytest.approx(2 * 200)  # only the measured half: column 19 (200 t C/ha)
    totals = pd.read_csv(out / "stock_by_county.csv", encoding="utf-8-sig")
    total = totals.iloc[-1]
    # covered share = area with data / area: (4 + 4 + 2 + 0) / 16 ha, from the polygons themselves
    areas = gpd.read_file(stands, layer="xiaoban").to_crs(4490).geometry.map(
        lambda g: abs(GEOD.geometry_area_perimeter(g)[0]) / 1e4)
    assert total["area_ha"] == pytest.approx(areas.sum(), rel=1e-5)
    assert total["covered_share"] == pytest.approx(10 / 16, rel=2e-3)
    assert total["features_na"] == 1 and total["features_partial"] == 1 and total["features_measured"] == 3
    summary = json.loads((out / "stock_summary.json").read_text(encoding="utf-8"), parse_constant=_refuse)
    assert summary["coverage"]["complete"] is False and summary["coverage"]["not_measured"] == ["0102-009"]
    assert summary["coverage"]["partly_measured"] == ["0102-001"]


def test_complete_coverage_prints_no_warning(files, tmp_path):
    raster, stands = files
    frame = _stands().iloc[:2]
    path = tmp_path / "two.geojson"
    frame.to_file(path)
    res = CliRunner().invoke(main, ["carbon", "stock", str(path), "--raster", str(raster), "-o",
                                                    str(tmp_path / "o")])
    assert res.exit_code == 0 and "incomplete" not in res.stderr
    summary = json.loads((tmp_path / "o" / "stock_summary.json").read_text(encoding="utf-8"))
    assert summary["coverage"]["complete"] is True and summary["coverage"]["covered_share"] == pytest.approx(1.0)


def test_crs_declared_when_missing_and_kept(tmp_path, files):
    raster, _ = files
    frame = _stands().iloc[:2].set_crs(None, allow_override=True)
    path = tmp_path / "nocrs.geojson"
    path.write_text(frame.to_json(), encoding="utf-8")  # GeoJSON without a crs member
    res = CliRunner().invoke(main, ["carbon", "stock", str(path), "--crs", "4548", "--raster", str(raster), "-o",
                                    str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert gpd.read_file(tmp_path / "o" / "stock.gpkg").crs.to_epsg() == 4548


def test_api_keeps_frame_crs_and_columns(files):
    raster, _ = files
    frame = _stands("EPSG:4527")  # GK zone 39 with the prefix, as inventories come
    out = zoning.stock(frame, raster, id_field="小班号")
    assert out.crs.to_epsg() == 4527 and list(out["id"]) == list(frame["小班号"])
    assert {"林班号", "树种", "林龄", "蓄积"} <= set(out.columns)
    assert out["stock_tC"].iloc[0] == pytest.approx(100.0, rel=1e-6)  # reprojected for the zonal sum only
    with pytest.raises(zoning.ZoningError, match="not in the input"):
        zoning.stock(frame, raster, id_field="nope")


def test_stock_change_between_two_inventories(files, tmp_path):
    raster, stands = files
    before = _raster(tmp_path / "d2016.tif", _density(), year=2016)
    after = _raster(tmp_path / "d2021.tif", _density() * 1.1, year=2021)
    out = zoning.stock(str(stands), layer="xiaoban", raster_before=before, raster_after=after)
    full = out.iloc[:2]
    assert list(full["change_tC"]) == pytest.approx([0.1 * 100, 0.1 * 460], rel=1e-6)
    assert list(full["change_tCO2_per_yr"]) == pytest.approx([10 * 44 / 12 / 5, 46 * 44 / 12 / 5], rel=1e-6)
    assert out["change_tC"].iloc[2:].isna().all()  # partly/wholly outside: no change claimed
    assert out.attrs["stock_change"]["year_before"] == 2016 and out.attrs["stock_change"]["year_after"] == 2021
    res = CliRunner().invoke(main, ["carbon", "stock", str(stands), "--layer", "xiaoban", "--raster-before",
                                    str(before), "--raster-after", str(after), "-o", str(tmp_path / "c")])
    assert res.exit_code == 0 and "stock change" in res.output
    table = pd.read_csv(tmp_path / "c" / "stock.csv", encoding="utf-8-sig")
    assert table["change_tC"].iloc[0] == pytest.approx(10.0, rel=1e-6)
    bad = CliRunner().invoke(main, ["carbon", "stock", str(stands), "--layer", "xiaoban", "--raster-before", str(after),
                                    "--raster-after", str(before), "-o", str(tmp_path / "d")])
    assert bad.exit_code == 2 and "not later" in bad.output
    one = CliRunner().invoke(main, ["carbon", "stock", str(stands), "--layer", "xiaoban", "--raster-before", str(before), "-o",
                                    str(tmp_path / "e")])
    assert one.exit_code == 2 and "both" in one.output


def test_full_disk_leaves_nothing_half_written(files, tmp_path, monkeypatch):
    raster, stands = files
    out = tmp_path / "out"
    stocks = zoning.stock(str(stands), raster, layer="xiaoban")
    zoning_export = __import__("zoning.export.carbon", fromlist=["write_stock_outputs"])
    zoning_export.write_stock_outputs(stocks, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with pytest.raises(OutputProblem, match="No space left") as err:
        zoning_export.write_stock_outputs(stocks, out, overwrite=True)
    assert "\n" not in err.value.one_line()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the earlier output is intact
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".zoning-")]  # no staging folder left
    res = CliRunner().invoke(main, ["carbon", "stock", str(stands), "--layer", "xiaoban", "--raster", str(raster),
                                    "-o", str(tmp_path / "new")])
    assert res.exit_code == 2 and "No space left" in res.output and not (tmp_path / "new").exists()
