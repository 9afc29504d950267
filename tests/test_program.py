"""The forest programmes' sink gain: exact arithmetic, uncertainty, selection, outputs."""
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from zoning.cli import main
from zoning.io.layerset import load_layerset
from zoning.carbon.programme import (DEFAULT_SCHEDULE, ProgramError, buyback_gain, read_schedule, response, sink_series)
from zoning.carbon.selection import BUYBACK, QUALITY, overlap_ha, select_by_rule


def _refuse(token):
    raise ValueError(f"not strict JSON: {token}")


def test_full_area_figures_are_exact():
    s277 = sink_series(DEFAULT_SCHEDULE, 2.77, draws=1000)
    s386 = sink_series(DEFAULT_SCHEDULE, 3.86, draws=1000)
    full = s277.years == 2025
    assert s277.annual[full][0] == 24_000.0  # 30,000 x 0.80, to the digit
    assert s386.annual[full][0] == 56_700.0  # 30,000 x 1.89
    # cohorts count from their treatment year: 6,000 ha in 2021 already sinks in 2021
    assert list(s277.annual[:5]) == [4800.0, 9600.0, 14400.0, 19200.0, 24000.0]
    assert s277.cumulative[full][0] == 72_000.0
    assert s277.cumulative[s277.years == 2030][0] == 72_000.0 + 5 * 24_000.0
    assert s277.cumulative[s277.years == 2060][0] == 72_000.0 + 35 * 24_000.0


def test_buyback_gross_sink_and_baseline():
    plain = buyback_gain()
    assert plain["gross_sink_tCO2_per_yr"] == 32_899.0 and plain["gross_sink_additional"] is False
    assert plain["avoided_harvest_tCO2_per_yr"] is None
    with_base = buyback_gain(rotation_years=25, harvest_stock_tC_ha=60)
    assert with_base["avoided_harvest_tCO2_per_yr"] == pytest.approx(16_700 / 25 * 60 * 44 / 12)
    with pytest.raises(ProgramError, match="both"):
        buyback_gain(rotation_years=25)


def test_monte_carlo_reproducible_and_consistent_with_approach_1():
    a = sink_series(DEFAULT_SCHEDULE, 2.77, draws=5000, seed=1)
    b = sink_series(DEFAULT_SCHEDULE, 2.77, draws=5000, seed=1)
    c = sink_series(DEFAULT_SCHEDULE, 2.77, draws=5000, seed=2)
    assert np.array_equal(a.mc_annual["p97_5"], b.mc_annual["p97_5"])
    assert not np.array_equal(a.mc_annual["p97_5"], c.mc_annual["p97_5"])
    i = list(a.years).index(2030)
    assert a.mc_annual["p2_5"][i] < a.annual[i] < a.mc_annual["p97_5"][i]
    # linear model, normal inputs: Approach 1 and Approach 2 agree to within a few percent of the value
    assert a.a1_annual["p97_5"][i] == pytest.approx(a.mc_annual["p97_5"][i], rel=0.05)
    assert a.mc_annual["p50"][i] == pytest.approx(a.annual[i], rel=0.02)
    for p in a.parameters:
        assert p.source and p.unit and p.distribution


def test_saturating_curve_and_schedule_file(tmp_path):
    g = response(np.arange(-1, 30), plateau_years=10, saturation_years=15)
    assert g[0] == 0 and g[1] == 1 and g[11] == 1 and g[-1] == pytest.approx(np.exp(-19 / 15))
    sched = tmp_path / "s.csv"
    sched.write_text("year,area_ha\n2022,10000\n2024,5000\n", encoding="utf-8")
    schedule = read_schedule(sched)
    s = sink_series(schedule, 2.77, draws=500)
    assert s.years[0] == 2022 and s.annual[0] == 8000.0 and s.annual[2] == 12_000.0
    sat = sink_series(schedule, 2.77, draws=500, plateau_years=10, saturation_years=15)
    assert sat.annual[-1] < sat.annual[5]
    bad = tmp_path / "bad.csv"
    bad.write_text("yr,ha\n2022,1\n", encoding="utf-8")
    with pytest.raises(ProgramError, match="year, area_ha"):
        read_schedule(bad)


@pytest.fixture(scope="module")
def selections(catalog):
    layers = load_layerset(catalog)
    raster = catalog.one("forest_carbon").path
    q = select_by_rule(layers, raster, program=QUALITY, target_ha=30_000)
    b = select_by_rule(layers, raster, program=BUYBACK, target_ha=16_700)
    return layers, q, b


def test_selection_follows_the_rule(selections):
    layers, q, b = selections
    assert abs(q.match) < 0.01 and abs(b.match) < 0.01
    assert set(q.by_county["county_code"]) == set(layers.frames["admin"]["code"])
    red = shapely.union_all(layers.frames["red_line"].geometry.values)
    parks = shapely.union_all(layers.frames["park"].geometry.values)
    q_union = shapely.union_all(q.stands.geometry.values)
    eq = gpd.GeoSeries([shapely.intersection(q_union, red), q_union], crs=4490).to_crs(4548).area
    assert eq.iloc[0] / eq.iloc[1] < 0.01  # quality stands avoid red lines (pixel edges aside)
    assert shapely.intersection(q_union, parks).area / q_union.area < 0.01
    # lowest-density forest for quality, highest for buy-back
    assert q.stands["mean_tC_ha"].mean() < 25 < 60 < b.stands["mean_tC_ha"].mean()
    assert (q.stands["area_ha"] >= 5 - 1e-6).all()
    assert overlap_ha(q, b) == 0.0


def test_program_cli_outputs(tmp_path, catalog):
    out = tmp_path / "prog"
    res = CliRunner().invoke(main, ["carbon", "program", "-o", str(out), "--draws", "2000",
                                    "--catalog", str(catalog.path)])
    assert res.exit_code == 0, res.output
    d = json.loads((out / "program.json").read_text(encoding="utf-8"))
    row = d["annual"][4]
    assert set(row) >= {"year", "treated_area_ha", "additional_tCO2", "cumulative_tCO2", "p2_5", "p50", "p97_5"}
    assert row["year"] == 2025 and row["additional_tCO2"] == 24_000.0
    assert d["scenarios"]["3.86"]["annual"][4]["additional_tCO2"] == 56_700.0
    assert d["full_area_check"]["annual_tCO2_at_full_area"] == 24_000.0
    assert d["buyback"]["gross_sink_tCO2_per_yr"] == 32_899.0 and d["buyback"]["gross_sink_additional"] is False
    assert all(p["source"] for p in d["parameters"])
    assert d["milestones"]["2025"]["share_of_2020_emissions"] == pytest.approx(24_000 / 10_750_000)
    assert (out / "program_annual.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    county = pd.read_csv(out / "program_by_county.csv", encoding="utf-8-sig")
    y2025 = county[(county["year"] == 2025) & (county["scenario_r_target"] == 2.77)]
    assert y2025["additional_tCO2"].sum() == pytest.approx(24_000.0)
    assert {"annual", "by_county", "by_type", "parameters", "selection", "cohorts", "stands", "methods",
            "chart"} <= set(pd.ExcelFile(out / "program.xlsx").sheet_names)
    # the deductions sit beside the gross series under explicit keys; nothing is NaN (strict JSON)
    assert {"leakage_tCO2", "buffer_tCO2", "conservativeness_tCO2", "net_tCO2", "creditable_tCO2"} <= set(row)
    json.loads((out / "program.json").read_text(encoding="utf-8"), parse_constant=_refuse)
    assert d["double_counting"]["layer"].startswith("checked against")
    import pyogrio

    assert {name for name, _ in pyogrio.list_layers(out / "selection.gpkg")} == {"quality", "buyback"}
    html = (out / "program.html").read_text(encoding="utf-8")
    assert "24,000" in html and "http" not in html
    again = CliRunner().invoke(main, ["carbon", "program", "-o", str(out), "--catalog", str(catalog.path)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_given_program_layer_and_overlap(tmp_path, catalog, selections):
    """With a program layer, its features place the programmes; overlap is detected, not double counted."""
    layers, q, _ = selections
    quality = q.stands.iloc[:20].copy()
    buy = q.stands.iloc[:5].copy()  # buy-back stands that coincide with quality stands
    buy["program"] = BUYBACK
    prog = pd.concat([quality, buy], ignore_index=True)
    prog["id"] = [f"G{i}" for i in range(len(prog))]
    path = tmp_path / "program.gpkg"
    prog[["id", "program", "geometry"]].assign(name=prog["id"]).to_file(path, layer="program")
    text = catalog.path.read_text(encoding="utf-8").replace("nanping/", str(catalog.path.parent / "nanping") + "/")
    text = text.replace("rules: rules/", f"rules: {catalog.path.parent}/rules/")
    text += f"  - name: 项目区\n    role: program\n    path: {path}\n    layer: program\n    synthetic: true\n"
    cat_path = tmp_path / "catalog.yaml"
    cat_path.write_text(text, encoding="utf-8")
    from zoning.io.catalog import load_catalog
    from zoning.carbon.run import run_program

    result = run_program(load_layerset(load_catalog(cat_path)), scenarios=(2.77,), draws=500)
    assert result.quality.source == "layer"
    expected_overlap = buy.to_crs(4548).area.sum() / 1e4
    assert result.overlap_ha == pytest.approx(expected_overlap, rel=1e-3)
    # the buy-back's area comes from its stands (the overlap counted once, in the quality programme)
    buy_area = result.buyback.stands["area_ha"].sum()
    assert buy_area == pytest.approx(buy.to_crs(4548).area.sum() / 1e4, rel=2e-3)
    assert result.buyback_gain["area_ha"] == pytest.approx(buy_area - result.overlap_ha)
    assert result.treated_ha == pytest.approx(result.quality.stands["area_ha"].sum())
