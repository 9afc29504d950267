"""Issue 14, project-grade accounting: user stands drive areas, counties, types and cohorts; each
deduction by hand on a small case; the ±42.8 % check; Approach 1 vs 2; strict JSON; bad input;
the double-counting guard; the stock-difference reconciliation; the report; the sample set and
the `make demo` lines. Truth: hand arithmetic, pyproj.Geod and shapely on the stored geometry."""
from __future__ import annotations

import errno
import json
import math
import os
import shlex
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyproj import Geod

import zoning
from zoning.carbon.programme import (DEFAULT_SCHEDULE, GROWTH_CURVES, ProgramError, buyback_gain, buyback_series,
                                     dr_for, read_schedule, sink_series)
from zoning.carbon.selection import read_quota
from zoning.cli import main
from zoning.errors import OutputProblem

GEOD = Geod(ellps="GRS80")
ROOT = Path(__file__).resolve().parents[1]
CO2 = 44 / 12



def _refuse(token):
    raise ValueError(f"not strict JSON: {token}")


def _strict(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=_refuse)


def _geod_ha(geom_4490) -> float:
    return abs(GEOD.geometry_area_perimeter(geom_4490)[0]) / 1e4


# three stands in EPSG:4548 (GK CM117): 延平区, 顺昌县 (quality) and 建瓯市 (buy-back)
CENTRES = [(609_472.65, 2_954_862.15, 200, 300), (584_480.16, 2_971_292.98, 400, 250), (628_923.54, 2_999_377.08, 300, 300)]


def _stands(**overrides) -> gpd.GeoDataFrame:
    geoms = [shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2) for x, y, w, h in CENTRES]
    data = {"小班号": ["YP-01", "SC-02", "JO-03"], "树种": ["杉木", "马尾松", "阔叶林"], "林龄": [10, 20, 30],
            "项目": ["森林质量精准提升", "质量提升", "商品林赎买"], "实施年度": [2021, None, 2021]}
    data.update(overrides)
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4548")


@pytest.fixture()
def stand_file(tmp_path):
    path = tmp_path / "stands.gpkg"
    _stands().to_file(path)
    return path


def _areas(frame) -> list[float]:
    return [_geod_ha(g) for g in frame.to_crs(4490).geometry]


# ------------------------------------------------------------------------------ hand arithmetic
def test_seed_check_stays_exact():
    for r, full in ((2.77, 24_000.0), (3.86, 56_700.0)):
        s = sink_series(DEFAULT_SCHEDULE, r, draws=200)
        assert s.annual[s.years == 2025][0] == full  # 30,000 × (r − 1.97), to the digit, no deductions
        assert s.baseline[s.years == 2025][0] == 30_000 * 1.97 and s.project[s.years == 2025][0] == 30_000 * r


def test_the_42_8_percent_check():
    """±10 % (95 % half-width) on each rate and ±5 % on area: U = √((0.1·2.77)² + (0.1·1.97)²)/0.80 = 42.49 %
    for the rate difference; combined with area √(0.4249² + 0.05²) = 42.78 % — not the ±84 % of an sd reading."""
    u_rates = math.sqrt((0.10 * 2.77) ** 2 + (0.10 * 1.97) ** 2) / (2.77 - 1.97)
    assert u_rates == pytest.approx(0.42489, abs=1e-5)
    u = math.sqrt(u_rates ** 2 + 0.05 ** 2)
    assert round(u * 100, 1) == 42.8
    s = sink_series(DEFAULT_SCHEDULE, 2.77, draws=200)
    assert s.u95 == pytest.approx(u, rel=1e-12)
    i = list(s.years).index(2025)
    assert s.a1_annual["p97_5"][i] / 24_000 - 1 == pytest.approx(u, rel=1e-12)
    assert 1 - s.a1_annual["p2_5"][i] / 24_000 == pytest.approx(u, rel=1e-12)
    p = {x.name: x for x in s.parameters}
    assert p["r_target"].u95 == 0.10 and p["area_achieved"].u95 == 0.05  # declared as half-widths
    assert p["r_target"].sd == pytest.approx(0.277 / 1.959964, rel=1e-5)  # the Monte Carlo sd


def _cohorts(rows):
    from zoning.carbon.programme import COHORT_COLUMNS

    return pd.DataFrame([{"programme": "森林质量精准提升", "county_code": "350702", "county": "延平区",
                          "forest_type": "杉木", "age": np.nan, "stock_tC_ha": np.nan, **r} for r in rows],
                        columns=COHORT_COLUMNS)


def test_each_deduction_by_hand_on_a_small_case():
    """100 ha treated in 2021, 25 ha of it on a registered project; λ = 20 %, DR = 6 %, buffer 10 %:
    gross 100 × 0.80 = 80; leakage 0.2 × 80 = 16; net 64; registered 64 × 25/100 = 16; eligible 48;
    conservativeness 0.06 × 48 = 2.88; buffer 0.1 × (48 − 2.88) = 4.512; creditable 40.608 t CO2/yr."""
    cohorts = _cohorts([{"year": 2021, "area_ha": 75.0, "registered_ha": 0.0},
                        {"year": 2021, "area_ha": 25.0, "registered_ha": 25.0}])
    s = sink_series(None, 2.77, cohorts=cohorts, horizon=2023, leakage=0.2, buffer=0.10, conservativeness=0.06,
                    draws=2000)
    c = s.accounting.central
    assert c["additional"][0] == pytest.approx(80.0)
    assert c["leakage"][0] == pytest.approx(16.0)
    assert c["net"][0] == pytest.approx(64.0)
    assert c["registered_excluded"][0] == pytest.approx(16.0)
    assert c["conservativeness"][0] == pytest.approx(2.88)
    assert c["buffer"][0] == pytest.approx(4.512)
    assert c["creditable"][0] == pytest.approx(40.608)
    assert s.accounting.cumulative["creditable"][-1] == pytest.approx(3 * 40.608)
    # the rows written to program.json carry each of them under its own key
    from zoning.carbon.run import annual_rows

    row = annual_rows(s, programme="森林质量精准提升")[0]
    assert (row["leakage_tCO2"], row["net_tCO2"], row["buffer_tCO2"], row["conservativeness_tCO2"],
            row["creditable_tCO2"]) == pytest.approx((16.0, 64.0, 4.512, 2.88, 40.608))
    # the deductions' uncertainty is carried: leakage ±50 % widens net beyond gross
    acc = s.accounting
    assert acc.u95["net"][0] > acc.u95["additional"][0]
    assert acc.u95["leakage"][0] == pytest.approx(math.hypot(acc.u95["additional"][0], 0.5))
    assert acc.mc["leakage"]["p97_5"][0] > 16.0 > acc.mc["leakage"]["p2_5"][0]


def test_conservativeness_follows_the_uncertainty():
    """CCER-style bands at 90 % confidence: U90 = U95 × 1.645/1.96."""
    k = 1.6448536269514722 / 1.959963984540054
    assert dr_for(0.10 / k)[0] == 0.0
    assert dr_for(0.15 / k)[0] == 0.06
    assert dr_for(0.25 / k)[0] == 0.11
    assert dr_for(0.40 / k)[0] == pytest.approx(0.40)  # beyond 30 %: down to the lower 90 % bound
    s = sink_series(DEFAULT_SCHEDULE, 3.86, draws=200)  # U95 23.5 % -> U90 19.7 % -> 6 %
    assert s.accounting.dr == 0.06
    i = list(s.years).index(2025)
    assert s.accounting.central["conservativeness"][i] == pytest.approx(0.06 * 56_700)
    assert s.accounting.central["buffer"][i] == pytest.approx(0.10 * 0.94 * 56_700)
    assert s.accounting.central["creditable"][i] == pytest.approx(0.9 * 0.94 * 56_700)


@settings(max_examples=15, deadline=None)
@given(r_target=st.floats(2.3, 6.0), rate_u95=st.floats(0.02, 0.2), area_u95=st.floats(0.0, 0.1),
       leakage=st.sampled_from([0.0, 0.2]))
def test_approach_1_and_2_agree(r_target, rate_u95, area_u95, leakage):
    from zoning.carbon.run import approach_agreement

    s = sink_series({2021: 1000.0}, r_target, horizon=2022, draws=20_000, seed=7, rate_u95=rate_u95,
                    area_u95=area_u95, leakage=leakage, conservativeness="none", buffer=0.0)
    acc = s.accounting
    # IPCC 2006 Vol. 1 Ch. 3: Approach 1 holds for sd/mean below ~0.3 (a 95 % half-width below ~60 %);
    # beyond that only Approach 2 is meaningful, and the output says so
    adequate = acc.u95["net"][0] < 0.6
    assert approach_agreement(s)["approach_1_adequate"] == bool(acc.u95["additional"][0] < 0.6)
    assume(adequate)
    for key in ("additional", "net"):
        x = acc.central[key][0]
        a1 = acc.u95[key][0]
        a2 = (acc.mc[key]["p97_5"][0] - acc.mc[key]["p2_5"][0]) / 2 / x
        assert a2 == pytest.approx(a1, rel=0.06), (key, a1, a2)
        assert acc.mc[key]["p50"][0] == pytest.approx(x, rel=0.03)


def test_buyback_avoided_harvest_by_hand():
    """A 10 ha fir stand aged 25 bought in 2021, 50 t C/ha: the baseline clear-cuts it at 26 (2022),
    emitting 10 × (50 + 1.97·12/44) × 44/12 = 1,853.03 t CO2; its regrowth is cut again 27 years on."""
    cohorts = _cohorts([{"year": 2021, "area_ha": 10.0, "registered_ha": 0.0, "age": 25.0, "stock_tC_ha": 50.0}])
    cohorts["programme"] = "商品林赎买"
    s = buyback_series(cohorts, horizon=2060, leakage=0.4, buffer=0.1, conservativeness=0.0, draws=500)
    add = dict(zip(s.years.tolist(), s.accounting.central["additional"]))
    assert add[2021] == 0.0
    assert add[2022] == pytest.approx(10 * (50 + 1.97 / CO2) * CO2)
    assert add[2049] == pytest.approx(10 * 26 * 1.97)  # 26 years of regrowth at 1.97, harvested again
    assert sum(v for y, v in add.items() if y not in (2022, 2049)) == pytest.approx(0.0, abs=1e-9)
    net = dict(zip(s.years.tolist(), s.accounting.central["net"]))
    assert net[2022] == pytest.approx(0.6 * add[2022])  # 40 % market leakage
    # evenly aged forest without ages: A/R × h × stock × 44/12 per year, as the steady-state formula
    even = _cohorts([{"year": 2021, "area_ha": 16_700.0, "registered_ha": 0.0}])
    e = buyback_series(even, horizon=2025, rotation_years=25, harvest_stock_tC_ha=60, draws=200, leakage=0.0)
    assert e.annual[0] == pytest.approx(buyback_gain(rotation_years=25, harvest_stock_tC_ha=60)
                                        ["avoided_harvest_tCO2_per_yr"])
    assert e.annual[0] == pytest.approx(16_700 / 25 * 60 * CO2)


def test_growth_curves_saturate_and_keep_the_plan_mean():
    cohorts = _cohorts([{"year": 2021, "area_ha": 50.0, "registered_ha": 0.0, "age": 5.0},
                        {"year": 2021, "area_ha": 50.0, "registered_ha": 0.0, "age": 40.0, "forest_type": "阔叶林"}])
    s = sink_series(None, 2.77, cohorts=cohorts, growth="curve", draws=200, horizon=2100)
    assert s.annual[0] == pytest.approx(100 * 0.80)  # calibrated: the mean rate at treatment is the plan's
    assert s.annual[-1] < 0.5 * s.annual[0]  # stands saturate with age
    fir = GROWTH_CURVES["杉木"]
    assert fir.increment_tco2(60) < fir.increment_tco2(10)


# ------------------------------------------------------------------------------ stands drive the run
def test_user_stands_drive_areas_counties_types_and_cohorts(layers, stand_file):
    result = zoning.program(layers=layers, stands=stand_file, id_field="小班号", scenarios=(2.77,), draws=300)
    a1, a2, a3 = _areas(_stands())
    assert result.treated_ha == pytest.approx(a1 + a2, rel=1e-6)  # not 30,000 ha
    counties = result.county_summary().set_index("county")["area_ha"].to_dict()
    assert counties.keys() == {"延平区", "顺昌县"}  # located on the admin layer
    assert counties["延平区"] == pytest.approx(a1, rel=1e-6) and counties["顺昌县"] == pytest.approx(a2, rel=1e-6)
    d = result.to_dict()
    rows = {r["year"]: r for r in d["annual"]}
    # YP-01 treated in 2021; SC-02 has no year and is spread over 2021-2025 (6,000 ha/yr shares)
    assert rows[2021]["treated_area_ha"] == pytest.approx(a1 + 0.2 * a2, rel=1e-6)
    assert rows[2021]["additional_tCO2"] == pytest.approx((a1 + 0.2 * a2) * 0.80, rel=1e-6)
    assert rows[2025]["additional_tCO2"] == pytest.approx((a1 + a2) * 0.80, rel=1e-6)
    assert d["full_area_check"]["area_ha"] == pytest.approx(a1 + a2, rel=1e-6)
    assert sum(x["area_ha"] for x in d["schedule"]) == pytest.approx(a1 + a2, rel=1e-9)  # the stands' own schedule
    by_county = result.county_table()
    at = by_county[by_county["year"] == 2025].set_index("county")
    assert at.loc["延平区", "additional_tCO2"] == pytest.approx(a1 * 0.8, rel=1e-6)
    assert at["additional_tCO2"].sum() == pytest.approx(rows[2025]["additional_tCO2"], rel=1e-9)
    by_type = result.type_table()
    at = by_type[(by_type["year"] == 2025) & (by_type["programme"] == "森林质量精准提升")].set_index("forest_type")
    assert set(at.index) == {"杉木", "马尾松"} and at.loc["马尾松", "additional_tCO2"] == pytest.approx(a2 * 0.8, rel=1e-6)
    # the buy-back stand: its own area, ages give the harvest baseline (阔叶林 rotation 41: cut in 2032)
    assert result.buyback_gain["area_ha"] == pytest.approx(a3, rel=1e-6)
    bb = {r["year"]: r["additional_tCO2"] for r in d["buyback"]["annual"]}
    assert bb[2032] > 0 and bb[2031] == 0
    cohorts = result.cohort_table()
    assert set(cohorts["age_class"]) == {"10-19", "20-29", "30-39"}
    _strict_dump(d)


def _strict_dump(d):
    from zoning.escape import dumps_strict

    json.loads(dumps_strict(d), parse_constant=_refuse)


def test_attribute_table_of_stands_in_gbk(layers, tmp_path):
    path = tmp_path / "stands.csv"
    text = "小班号,县,树种,林龄,面积,实施年度\nA1,延平区,杉木,8,12.5,2022\nA2,建阳区,马尾松,15,7.5,2023\n"
    path.write_bytes(text.encode("gbk"))
    result = zoning.program(layers=layers, stands=path, scenarios=(2.77,), draws=200)
    assert result.treated_ha == pytest.approx(20.0)
    assert set(result.county_summary()["county"]) == {"延平区", "建阳区"}
    row = {r["year"]: r for r in result.to_dict()["annual"]}
    assert row[2023]["additional_tCO2"] == pytest.approx(20.0 * 0.8)
    bad = tmp_path / "bad.csv"
    bad.write_text("小班号,县,面积\nB1,上海市,3\n", encoding="utf-8")
    with pytest.raises(ProgramError, match="unknown counties"):
        zoning.program(layers=layers, stands=bad, draws=200)


def test_registered_parcels_are_excluded_and_listed(layers, catalog):
    """The sample stands against the sample registered_carbon layer, overlaps measured independently."""
    stands_path = catalog.one("red_line").path.parent / "sample_stands.gpkg"
    result = zoning.program(layers=layers, stands=stands_path, id_field="小班号", scenarios=(2.77,), draws=300)
    stands = gpd.read_file(stands_path).to_crs(4490)
    reg = gpd.read_file(catalog.one("registered_carbon").path)
    truth = set()
    for sid, g in zip(stands["小班号"], stands.geometry):
        for r in reg.geometry:
            inter = shapely.intersection(g, r)
            if not inter.is_empty and _geod_ha(inter) * 1e4 > 1.0:
                truth.add(sid)
    d = result.to_dict()
    listed = {x["stand_id"] for x in d["double_counting"]["excluded_stands"]}
    assert listed == truth and len(truth) >= 4
    q = stands[stands["项目"] == "森林质量精准提升"]
    reg_area = sum(_geod_ha(g) for sid, g in zip(q["小班号"], q.geometry) if sid in truth)
    row = {r["year"]: r for r in d["annual"]}[2025]  # every stand treated by 2025
    assert row["registered_excluded_tCO2"] == pytest.approx(0.8 * reg_area, rel=1e-6)
    dr = d["scenarios"]["2.77"]["deductions"]["conservativeness_dr"]
    assert row["creditable_tCO2"] == pytest.approx((row["net_tCO2"] - row["registered_excluded_tCO2"]) * (1 - dr)
                                                   * 0.9, rel=1e-9)
    table = result.stand_table()
    assert set(table.loc[~table["creditable"], "stand_id"]) == truth


# ------------------------------------------------------------------------------ reconciliation
def test_stock_difference_reconciled_with_gain_loss(layers, stand_file, tmp_path):
    x0, y0 = 550_000, 3_030_000
    t = Affine(100, 0, x0, 0, -100, y0)
    shape = (1000, 1000)  # 100 km square covering the three stands

    def write(path, value, year):
        with rasterio.open(path, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="float64",
                           crs="EPSG:4548", transform=t, nodata=-9999.0) as dst:
            dst.write(np.full(shape, value), 1)
            dst.update_tags(units="t C/ha", year=str(year))
        return path

    before = write(tmp_path / "b.tif", 40.0, 2016)
    after = write(tmp_path / "a.tif", 40.0 + 5 * 1.97 / CO2, 2021)  # exactly the baseline rate for 5 years
    result = zoning.program(layers=layers, stands=stand_file, scenarios=(2.77,), draws=200, raster_before=before,
                            raster_after=after)
    rc = result.reconciliation
    a1, a2, _ = _areas(_stands())
    assert rc["stands_compared"] == 2 and rc["area_compared_ha"] == pytest.approx(a1 + a2, rel=1e-6)
    # stock difference: Σ area × Δdensity × 44/12 / 5 yr (planar GK cells: within 0.1 % of the geodesic area)
    assert rc["stock_difference_tCO2_per_yr"] == pytest.approx((a1 + a2) * 1.97, rel=2e-3)
    # gain-loss over 2017-2021: every stand at r_base, plus the additional removals of 2021 averaged
    expected = 1.97 * (a1 + a2) + (a1 + 0.2 * a2) * 0.8 / 5
    assert rc["gain_loss_tCO2_per_yr"] == pytest.approx(expected, rel=1e-6)
    assert rc["consistent"] is True
    far = write(tmp_path / "f.tif", 80.0, 2021)
    result = zoning.program(layers=layers, stands=stand_file, scenarios=(2.77,), draws=200, raster_before=before,
                            raster_after=far)
    assert result.reconciliation["consistent"] is False
    assert any("disagree" in w for w in result.warnings)


# ------------------------------------------------------------------------------ CLI, files, bad input
def test_program_cli_with_stands_report_and_strict_json(layers, stand_file, tmp_path, catalog):
    out = tmp_path / "p"
    res = CliRunner().invoke(main, ["carbon", "program", "--stands", str(stand_file), "--id-field", "小班号",
                                    "--draws", "300", "--catalog", str(catalog.path), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "±42.8%" in res.output  # the uncertainty, as 95 % half-widths
    for path in out.glob("*.json"):
        _strict(path)
    d = _strict(out / "program.json")
    row = d["annual"][0]
    assert {"year", "treated_area_ha", "additional_tCO2", "cumulative_tCO2", "p2_5", "p50", "p97_5",
            "leakage_tCO2", "buffer_tCO2", "conservativeness_tCO2", "net_tCO2", "creditable_tCO2"} <= set(row)
    assert "95 %" in d["uncertainty"]["convention"] and "IPCC 2006" in d["uncertainty"]["convention"]
    params = d["parameters"]
    assert all(p["source"] and p["unit"] is not None and p["distribution"] for p in params)
    assert any(p["assumption"] for p in params) and any(not p["assumption"] for p in params)
    html = (out / "program.html").read_text(encoding="utf-8")
    for text in ("方法说明", "参数表", "分县区", "分林分类型", "IPCC 2006", "IPCC 2019", "AR-CM-003", "可签发量", "泄漏",
                 "假设", "95% 置信区间半宽"):
        assert text in html, text
    assert "http" not in html and "<script" not in html
    xl = pd.ExcelFile(out / "program.xlsx")
    assert {"annual", "by_county", "by_type", "parameters", "cohorts", "methods", "chart"} <= set(xl.sheet_names)
    annual = pd.read_excel(xl, "annual")  # Chinese headers by default, each with its code
    assert {"泄漏（leakage_tCO2）", "可签发量（creditable_tCO2）", "不确定性约定（u_convention）"} <= set(annual.columns)
    from openpyxl import load_workbook

    assert load_workbook(out / "program.xlsx")["chart"]._images  # the chart is in the workbook
    from PIL import Image

    assert Image.open(out / "program_chart.png").size[0] > 600
    from zoning.render.programme import summary_html

    result = zoning.program(layers=layers, stands=stand_file, draws=200, horizon=2030)
    html = summary_html(result, b"", lang="en")
    assert "Methods" in html and "Parameter table" in html and "方法说明" not in html and 'lang="en"' in html


def test_chart_labels_are_chinese_by_default(layers, stand_file):
    import matplotlib.figure

    from zoning.render import programme as render
    from zoning.render.labels import cjk_font

    if cjk_font() is None:
        pytest.skip("no CJK font installed (fonts-wqy-microhei): the chart falls back to English")
    captured = []
    original = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):
        captured.extend(t.get_text() for ax in fig.axes for t in [ax.title, ax.xaxis.label])
        return original(fig, *args, **kwargs)

    result = zoning.program(layers=layers, stands=stand_file, scenarios=(2.77,), draws=200)
    matplotlib.figure.Figure.savefig = spy
    try:
        render.chart_png(result)
    finally:
        matplotlib.figure.Figure.savefig = original
    assert "年份" in captured and any("kt CO2/年" in t for t in captured)


def test_scenario_below_baseline_is_labelled_negative(layers, stand_file, tmp_path, catalog):
    out = tmp_path / "neg"
    res = CliRunner().invoke(main, ["carbon", "program", "--stands", str(stand_file), "--scenario", "1.5",
                                    "--draws", "300", "--horizon", "2030", "--catalog", str(catalog.path), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "NEGATIVE" in res.output
    d = _strict(out / "program.json")
    s = d["scenarios"]["1.50"]
    assert s["negative"] is True and "NEGATIVE" in s["label"]
    row = {r["year"]: r for r in d["annual"]}[2025]
    a1, a2, _ = _areas(_stands())
    assert row["additional_tCO2"] == pytest.approx((a1 + a2) * (1.5 - 1.97), rel=1e-6) and row["sign"] == "negative"
    assert row["buffer_tCO2"] == 0 and row["conservativeness_tCO2"] == 0  # nothing held back from a debit
    # issue 14 follow-up: a debit is never creditable (creditable = max(0, …)); net stays negative
    assert row["net_tCO2"] < 0 and row["creditable_tCO2"] == 0.0 and row["creditable_p2_5"] == 0.0
    assert "额外碳汇为负" in (out / "program.html").read_text(encoding="utf-8")
    # a scenario equal to the baseline: zero sink, unbounded relative uncertainty -> null, never NaN
    flat = zoning.program(layers=layers, stands=stand_file, scenarios=(1.97,), draws=200)
    _strict_dump(flat.to_dict())


def test_absurd_years_and_gbk_files(layers, stand_file, tmp_path, catalog, admin):
    sched = tmp_path / "s.csv"
    sched.write_text("year,area_ha\n-1000000000,6000\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["carbon", "program", "--stands", str(stand_file), "--schedule", str(sched),
                                    "--draws", "200", "--catalog", str(catalog.path), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "implausible" in res.output and len(res.output.strip().splitlines()) == 1
    with pytest.raises(ProgramError, match="implausible"):
        read_schedule(_write(tmp_path / "y.csv", "year,area_ha\n2021.5,10\n"))
    with pytest.raises(ProgramError, match="implausible"):
        zoning.program(layers=layers, stands=_write_gpkg(tmp_path, 实施年度=[3021, 2022, 2022]), draws=200)
    # GBK files with Chinese headers and county names
    gbk_sched = tmp_path / "gbk.csv"
    gbk_sched.write_bytes("年份,面积\n2022,60\n2023,40\n".encode("gbk"))
    assert read_schedule(gbk_sched) == {2022: 60.0, 2023: 40.0}
    result = zoning.program(layers=layers, stands=stand_file, schedule=gbk_sched, draws=200, horizon=2030)
    rows = {r["year"]: r for r in result.to_dict()["annual"]}
    a1, a2, _ = _areas(_stands())
    assert rows[2022]["treated_area_ha"] == pytest.approx(a1 + 0.6 * a2, rel=1e-6)  # the GBK schedule's shares
    quota = tmp_path / "q.csv"
    quota.write_bytes("county,quota_ha\n延平区,100\n350721,50\n建瓯市,25\n".encode("gbk"))
    assert read_quota(quota, admin) == {"350702": 100.0, "350721": 50.0, "350783": 25.0}
    quota.write_bytes("county,quota_ha\n延平区,inf\n".encode("gbk"))
    with pytest.raises(ProgramError, match=">= 0"):
        read_quota(quota, admin)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _write_gpkg(tmp_path, **overrides):
    path = tmp_path / "s2.gpkg"
    _stands(**overrides).to_file(path)
    return path


def test_read_only_and_full_output_folders(layers, stand_file, tmp_path, catalog, monkeypatch):
    from zoning.export.carbon import write_program_outputs

    result = zoning.program(layers=layers, stands=stand_file, scenarios=(2.77,), draws=200, horizon=2030)
    out = tmp_path / "out"
    write_program_outputs(result, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = pd.DataFrame.to_excel

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_excel", full)
    with pytest.raises(OutputProblem, match="No space left"):
        write_program_outputs(result, out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the previous folder, untouched
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".zoning-")]
    monkeypatch.setattr(pd.DataFrame, "to_excel", real)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:  # root ignores folder permissions: deny the way a read-only mount would
        import zoning.io.atomic as atomic

        real_access = os.access
        monkeypatch.setattr(atomic.os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    try:
        for args in (["carbon", "program", "--stands", str(stand_file), "--draws", "200", "-o", str(locked / "p")],
                     ["carbon", "stock", str(stand_file), "-o", str(locked / "s")]):
            res = CliRunner().invoke(main, [*args, "--catalog", str(catalog.path)])
            assert res.exit_code == 2 and "not writable" in res.output, res.output
            assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


# ------------------------------------------------------------------------------ sample set and demo
def test_sample_carbon_files_are_deterministic(catalog, tmp_path):
    from zoning.geo.crs import STORAGE_EPSG
    from zoning.io.vector import read_vector
    from zoning.sample.build import SEED, _write_carbon_samples

    folder = catalog.one("red_line").path.parent
    admin = read_vector(catalog.one("admin").path).to_crs(STORAGE_EPSG).sort_values("code").reset_index(drop=True)
    layers_in = {k: read_vector(folder / f"{k}.gpkg") for k in ("red_line", "protected", "park", "no_burn")}
    out = _write_carbon_samples(tmp_path, np.random.default_rng(SEED + 3), admin=admin, red=layers_in["red_line"],
                                prot=layers_in["protected"], parks=layers_in["park"], no_burn=layers_in["no_burn"])
    for key in ("registered_carbon", "sample_stands"):
        a, b = gpd.read_file(out[key]), gpd.read_file(folder / f"{key}.gpkg")
        assert a.drop(columns="geometry").equals(b.drop(columns="geometry")), key
        assert all(shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-9)), key
    stands = gpd.read_file(folder / "sample_stands.gpkg")
    assert stands.crs.to_epsg() == 4527 and stands["小班号"].is_unique
    assert set(stands["树种"]) == {"杉木", "马尾松", "阔叶林"} and set(stands["项目"]) == {"森林质量精准提升", "商品林赎买"}
    reg = gpd.read_file(folder / "registered_carbon.gpkg")
    assert {"CCER", "FFCER", "林业碳票"} == set(reg["scheme"])


def test_make_demo_carbon_lines_run(catalog, tmp_path):
    """The carbon lines of the Makefile's demo target, run as written (fewer Monte Carlo draws)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    demo = text.split("\ndemo:", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ")
    lines = [ln.strip() for ln in demo.splitlines() if "zoning carbon" in ln]
    assert any("--stands" in ln for ln in lines) and any("sample_stands.gpkg" in ln for ln in lines)
    subst = {"$(BIN)/zoning": "", "$(SAMPLE)": str(catalog.one("red_line").path.parent),
             "$(CATALOG)": str(catalog.path), "$(DEMO_OUT)": str(tmp_path)}
    for line in lines:
        for k, v in subst.items():
            line = line.replace(k, v)
        args = shlex.split(line)
        if args[:2] == ["carbon", "program"]:
            if "--stands" not in args:
                continue  # the rule-selection run is covered by tests/test_program.py
            args += ["--draws", "500"]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, (line, res.output)
    d = _strict(tmp_path / "program_stands" / "program.json")
    assert d["stands"]["source"] == "file" and d["double_counting"]["excluded_stands"]
    stock = pd.read_csv(tmp_path / "stands_stock" / "stock.csv", encoding="utf-8-sig")
    stands = gpd.read_file(catalog.one("red_line").path.parent / "sample_stands.gpkg")
    assert list(stock["id"]) == list(stands["小班号"]) and "树种" in stock.columns
