"""Issue 14 follow-up (analyst's cold trial): counties with one's own raster, a consistent buy-back,
strict-JSON to_dict, NA totals, multi-layer inputs, the reconciliation line, and the smaller items.
Truth: hand-made rasters and stands, the sample admin layer via shapely, hand arithmetic. Small draws."""
from __future__ import annotations

import json
import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner

import zoning
from zoning.carbon.programme import ProgramError, read_schedule
from zoning.cli import main
from zoning.export.carbon import stock_totals

# the three stands of test_carbon_accounting (EPSG:4548): 延平区, 顺昌县 (quality), 建瓯市 (buy-back)
CENTRES = [(609_472.65, 2_954_862.15, 200, 300), (584_480.16, 2_971_292.98, 400, 250), (628_923.54, 2_999_377.08, 300, 300)]
X0, Y0 = 550_000, 3_030_000  # a 100 km raster of 1 km cells covering them

from conftest import one_line_refusal


def _stands(**overrides) -> gpd.GeoDataFrame:
    geoms = [shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2) for x, y, w, h in CENTRES]
    data = {"小班号": ["YP-01", "SC-02", "JO-03"], "树种": ["杉木", "马尾松", "阔叶林"], "林龄": [10, 20, 30],
            "项目": ["森林质量精准提升", "质量提升", "商品林赎买"], "实施年度": [2021, None, 2021]}
    data.update(overrides)
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4548")


def _raster(path, value, year=None, size=100, cell=1000):
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float64",
                       crs="EPSG:4548", transform=Affine(cell, 0, X0, 0, -cell, Y0), nodata=-9999.0) as dst:
        dst.write(np.full((size, size), value, dtype="float64"), 1)
        dst.update_tags(units="t C/ha", **({"year": str(year)} if year else {}))
    return path


def _refuse(token):
    raise ValueError(f"not strict JSON: {token}")


@pytest.fixture()
def stand_file(tmp_path):
    path = tmp_path / "stands.gpkg"
    _stands().to_file(path)
    return path


def _truth_counties(admin) -> list[str]:
    """Independent truth: the county polygon holding each stand's centre (shapely on the admin layer)."""
    centres = gpd.GeoSeries([shapely.Point(x, y) for x, y, _, _ in CENTRES], crs="EPSG:4548").to_crs(admin.crs)
    name = "county" if "county" in admin.columns else next(c for c in admin.columns if c in ("name", "名称", "NAME"))
    return [admin.loc[admin.contains(p), name].iloc[0] for p in centres]


# ------------------------------------------------------------------------------ 1. counties with one's own raster
def test_own_raster_keeps_counties(tmp_path, catalog, admin, monkeypatch):
    raster = _raster(tmp_path / "own.tif", 40.0)
    truth = _truth_counties(admin)
    monkeypatch.setenv("ZONING_CATALOG", str(catalog.path))  # the default catalog
    for kwargs in ({}, {"catalog": catalog.path}):
        stocks = zoning.stock(_stands(), raster, **kwargs)
        assert list(stocks["county"]) == truth and len(set(truth)) == 3
        totals = zoning.stock_totals(stocks)
        assert set(totals["county"]) == set(truth) | {"合计 total"}
        assert not any("admin" in w for w in stocks.attrs["warnings"])
    # no catalog at all: an empty county column, and said so
    monkeypatch.setenv("ZONING_CATALOG", str(tmp_path / "missing.yaml"))
    stocks = zoning.stock(_stands(), raster)
    assert stocks["county"].isna().all()
    assert any("no admin layer" in w for w in stocks.attrs["warnings"])


def test_own_raster_counties_in_cli(tmp_path, catalog, admin, stand_file):
    raster = _raster(tmp_path / "own.tif", 40.0)
    out = tmp_path / "o"
    res = CliRunner().invoke(main, ["carbon", "stock", str(stand_file), "--raster", str(raster), "--catalog",
                                    str(catalog.path), "-o", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "stock_by_county.csv", encoding="utf-8-sig")
    assert set(_truth_counties(admin)) <= set(table["county"])


# ------------------------------------------------------------------------------ 2. + 3. buy-back and strict JSON
@pytest.mark.parametrize("scenario", [2.77, 1.97, 1.5])  # default, at and below the baseline
def test_to_dict_is_strict_json_and_buyback_consistent(layers, stand_file, scenario):
    result = zoning.program(layers=layers, stands=stand_file, id_field="小班号", scenarios=(scenario,), draws=200,
                            horizon=2040)
    d = result.to_dict()
    text = json.dumps(d, allow_nan=False)  # the dict itself, not only program.json
    json.loads(text, parse_constant=_refuse)
    for county in d["selection"]["by_county"] + d["buyback"]["selection"]["by_county"]:
        assert county["quota_ha"] is None or math.isfinite(county["quota_ha"])
    bb = d["buyback"]
    assert bb["additional"] is True and bb["annual"]  # ages give the harvest baseline
    series = [r["additional_tCO2"] for r in bb["annual"]]
    assert bb["avoided_harvest_tCO2_per_yr"] == pytest.approx(sum(series) / len(series), rel=1e-12)
    assert "not additional" not in bb["note"] and "stand ages" in bb["note"]


def test_default_rule_run_to_dict_is_strict(layers):
    d = zoning.program(layers=layers, draws=100, horizon=2030).to_dict()
    json.loads(json.dumps(d, allow_nan=False), parse_constant=_refuse)


def test_buyback_without_baseline_stays_not_additional(layers, tmp_path):
    path = tmp_path / "s.gpkg"
    _stands(林龄=[None, None, None]).to_file(path)
    d = zoning.program(layers=layers, stands=path, scenarios=(2.77,), draws=100, horizon=2030).to_dict()
    assert d["buyback"]["additional"] is None and d["buyback"]["avoided_harvest_tCO2_per_yr"] is None


# ------------------------------------------------------------------------------ 4. NA totals
def test_totals_are_na_without_measured_stands():
    stocks = pd.DataFrame({
        "id": ["a", "b", "c", "d"], "county": ["甲", "甲", "乙", "丙"],
        "forest_ha": [2.0, 1.0, np.nan, 0.0], "stock_tC": [100.0, 30.0, np.nan, 0.0],
        "stock_tCO2": [100 * 44 / 12, 30 * 44 / 12, np.nan, 0.0], "coverage_share": [1.0, 1.0, 0.0, 1.0],
        "area_ha": [2.0, 1.0, 5.0, 1.0], "flags": ["", "", "outside_raster", ""]})
    t = stock_totals(stocks, "county").set_index("county")
    assert t.loc["甲", "stock_tC"] == 130.0 and t.loc["甲", "mean_tC_ha"] == pytest.approx(130 / 3)
    assert t.loc["乙", "features_measured"] == 0
    assert t.loc["乙", ["stock_tC", "stock_tCO2", "forest_ha", "mean_tC_ha"]].isna().all()  # NA, not 0
    assert t.loc["丙", "stock_tC"] == 0.0 and np.isnan(t.loc["丙", "mean_tC_ha"])  # measured, no forest: mean NA
    assert t.loc["合计 total", "stock_tC"] == 130.0


def test_stand_with_no_forest_has_na_mean(tmp_path):
    raster = _raster(tmp_path / "zero.tif", 0.0)  # data everywhere, no forest (density 0)
    stocks = zoning.stock(_stands(), raster)
    assert (stocks["stock_tC"] == 0).all() and stocks["mean_tC_ha"].isna().all()


# ------------------------------------------------------------------------------ 5. multi-layer GeoPackage
def test_multi_layer_input_is_said_and_quiet(tmp_path, catalog):
    path = tmp_path / "two.gpkg"
    _stands().to_file(path, layer="stands_a")
    _stands().iloc[:1].to_file(path, layer="stands_b")
    raster = _raster(tmp_path / "own.tif", 40.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any library warning fails the test
        stocks = zoning.stock(path, raster, catalog=catalog)
    assert len(stocks) == 3
    assert any("2 layers" in w and "stands_a" in w and "stands_b" in w for w in stocks.attrs["warnings"])
    assert len(zoning.stock(path, raster, catalog=catalog, layer="stands_b")) == 1
    res = CliRunner().invoke(main, ["carbon", "stock", str(tmp_path / "none.gpkg"), "--raster", str(raster),
                                    "--catalog", str(catalog.path), "-o", str(tmp_path / "x")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    assert "林分/小班文件" in res.output and "stand file" in res.output and "site file" not in res.output


# ------------------------------------------------------------------------------ 6. reconciliation line
def test_reconciliation_line_gives_coverage_difference_and_uncertainty(layers, stand_file, tmp_path):
    from zoning.render.programme import console_summary

    before = _raster(tmp_path / "b.tif", 40.0, 2016)
    after = _raster(tmp_path / "a.tif", 40.0 + 5 * 1.97 * 1.5 * 12 / 44, 2021)  # 1.5 × the baseline rate
    result = zoning.program(layers=layers, stands=stand_file, scenarios=(2.77,), draws=100, horizon=2030,
                            raster_before=before, raster_after=after)
    rc = result.to_dict()["reconciliation"]
    line = next(x for x in console_summary(result).splitlines() if x.startswith("存量差法"))
    assert f"over {rc['stands_compared']} stand(s)" in line and f"{rc['area_compared_ha']:,.1f} ha" in line
    assert f"{rc['relative_difference']:+.0%}" in line
    assert rc["combined_u95_tCO2_per_yr"] == pytest.approx(
        math.hypot(rc["stock_difference_u95"] * rc["stock_difference_tCO2_per_yr"],
                   rc["gain_loss_u95"] * rc["gain_loss_tCO2_per_yr"]), rel=1e-9)
    word = "within uncertainty" if rc["consistent"] else "NOT within uncertainty"
    assert f"{word} ±{rc['combined_u95_relative']:.0%}" in line and "consistent" not in line


# ------------------------------------------------------------------------------ 7. smaller items
def test_scenario_at_baseline_prints_undefined_and_absolute_range(stand_file, tmp_path, catalog):
    out = tmp_path / "flat"
    res = CliRunner().invoke(main, ["carbon", "program", "--stands", str(stand_file), "--scenario", "1.97",
                                    "--draws", "100", "--horizon", "2030", "--catalog", str(catalog.path),
                                    "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "inf" not in res.output and "undefined (zero additional sink)" in res.output
    d = json.loads((out / "program.json").read_text(encoding="utf-8"), parse_constant=_refuse)
    last = d["annual"][-1]
    assert last["additional_tCO2"] == 0 and last["approach1_u95_tCO2"] > 0
    assert f"± {last['approach1_u95_tCO2']:,.0f} t CO2/yr" in res.output
    # Approach 1 by hand: both rates ±10 % and the area ±5 % on A·r_t − A·r_b with r_t = r_b
    area = last["treated_area_ha"]
    assert last["approach1_u95_tCO2"] == pytest.approx(math.hypot(0.1 * area * 1.97, 0.1 * area * 1.97), rel=1e-6)


def test_schedule_duplicates_and_nan(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("year,area_ha\n2021,100\n2021,50\n", encoding="utf-8")
    with pytest.raises(ProgramError, match="more than once"):
        read_schedule(path)
    path.write_text("year,area_ha\n2021,nan\n", encoding="utf-8")
    with pytest.raises(ProgramError, match="not a number"):
        read_schedule(path)


@pytest.mark.parametrize("args,message", [
    (["--scenario", "-5"], "must be a finite number >= 0"),
    (["--scenario", "nan"], "must be a finite number >= 0"),
    (["--r-base", "-1"], "must be a finite number >= 0"),
    (["--conservativeness", "1.5"], "between 0 and 1"),
    (["--target-ha", "nan"], "--target-ha = nan is not a number"),
    (["--target-ha", "0"], "--target-ha = 0.0 must be > 0"),
    (["--leakage-quality", "2"], "--leakage-quality = 2.0 must be between 0 and 1"),
    (["--buffer", "-0.1"], "--buffer = -0.1 must be between 0 and 1"),
    (["--harvest-rotation", "0"], "--harvest-rotation = 0.0 must be > 0"),
    (["--rate-u95", "inf"], "--rate-u95 = inf must be between 0 and 1"),
    (["--draws", "5"], "--draws = 5 must be a whole number between 100 and 10000000"),
    (["--year-before", "-1000000000"], "--year-before: year -1000000000 is implausible"),
])
def test_program_option_checks_are_bilingual_one_line(args, message, stand_file, tmp_path, catalog):
    out = tmp_path / "o"
    assert message in one_line_refusal(["carbon", "program", "--stands", str(stand_file), "--draws", "100",
                                        "--catalog", str(catalog.path), "-o", str(out), *args], out)


def test_api_checks_options_on_every_branch(layers, stand_file):
    for kwargs in ({"stands": stand_file}, {}):  # stands given, and stands chosen by rule
        with pytest.raises(ProgramError, match="leakage-buyback"):
            zoning.program(layers=layers, draws=100, leakage_buyback=1.5, **kwargs)


def test_stand_table_integers_and_chinese_report(layers, stand_file, tmp_path):
    from zoning.export.carbon import write_program_outputs

    path = tmp_path / "s26.gpkg"
    _stands(林龄=[26, 20, 30]).to_file(path)
    result = zoning.program(layers=layers, stands=path, id_field="小班号", scenarios=(2.77,), draws=100,
                            horizon=2030)
    out = tmp_path / "p"
    write_program_outputs(result, out)
    text = (out / "program_stands.csv").read_text(encoding="utf-8-sig")
    table = pd.read_csv(out / "program_stands.csv", encoding="utf-8-sig", dtype=str)
    assert list(table["林龄"]) == ["26", "20", "30"] and list(table["age"]) == ["26", "20", "30"] and "26.0" not in text
    html = (out / "program.html").read_text(encoding="utf-8")
    for english in ("additional sink (project − baseline)", "more monitoring needed", "来源：file", "生长模型：plan",
                    "NOT consistent"):
        assert english not in html, english
    assert "来源：林分文件" in html and "规划常数速率" in html and "额外碳汇（项目 − 基线）" in html
    headers = pd.read_excel(out / "program.xlsx", "annual").columns
    assert "可签发量（creditable_tCO2）" in headers and "年份（year）" in headers
    write_program_outputs(result, tmp_path / "en", lang="en")
    assert "creditable_tCO2" in pd.read_excel(tmp_path / "en" / "program.xlsx", "annual").columns
