"""The bundled rule pack re-read against the texts it cites (issue 11, item 7).

Every rule with a numeric threshold is tested below, at and above it, with the convention of
design.md §5: 以上 / 以下 / 以内 include the number itself, 超过 / 不满 exclude it. The facts are
built by hand (one hit per role that matters, every layer ok), so each outcome is the rule's
own, not the overlay's. A final test fails when the pack gains a threshold nobody tested.
"""
from __future__ import annotations

import math

import pytest

from zoning.screening.result import HitRecord
from zoning.screening.rules import (COMPARATORS, Facts, apply_rules, iter_leaves, load_rule_pack,
                                    overall_verdict)

ALL_OK = {r: "ok" for r in ("admin", "red_line", "control_unit", "park", "protected", "no_burn", "program")}
STATED = {"two_high": False, "chemical": False}


@pytest.fixture(scope="module")
def pack(catalog):
    return load_rule_pack(catalog.rule_pack)


def hit(role, **props):
    fid = props.get("code") or props.get("id") or f"{role}-1"
    return HitRecord(role, fid, props.get("name", fid), props.get("class"), 1000.0, 1.0, dict(props))


NO_BURN = hit("no_burn", id="JR1", name="禁燃区")
KEY_UNIT = hit("control_unit", code="ZH35070220002", name="重点单元", **{"class": "重点管控"})
GENERAL_UNIT = hit("control_unit", code="ZH35070230001", name="一般单元", **{"class": "一般管控"})
PRIORITY_UNIT = hit("control_unit", code="ZH35070210001", name="优先单元", **{"class": "优先保护"})
RED_LINE = hit("red_line", id="HX1", name="红线", type="水源涵养")
WATER_1 = hit("protected", id="BH1", name="一级", kind="饮用水水源保护区", grade="一级")
WATER_2 = hit("protected", id="BH2", name="二级", kind="饮用水水源保护区", grade="二级")


def facts(hits=(), status=None, county="350702", distance=None, **attrs):
    base = {"industry": None, "two_high": None, "chemical": None, "boiler_th": None, "boiler_fuel": None,
            "energy_tce": None, "renewable_share": None, "clear_share": None, "name": None}
    base.update(attrs)
    derived = {k: attrs.pop(k) for k in list(attrs) if k in ("forest_ha", "forest_loss_ha")}
    derived.setdefault("carbon_status", "ok")
    derived.update(industry_code=None, is_two_high=base["two_high"], is_chemical=base["chemical"])
    return Facts(hits=list(hits), layer_status=dict(status or ALL_OK), attrs=base, derived=derived,
                 county_code=county, distance_fn=(lambda role, filters: distance))


def outcomes(pack, f) -> dict[str, str]:
    return {o.rule.id: o.outcome for o in apply_rules(pack, f)}


# ------------------------------------------------------------------------------------------
# boilers: 实施方案 五（一）"10 蒸吨/小时以下" (includes 10), "35 蒸吨/小时及以上" (includes 35);
# 大气污染防治法 第三十八条: no NEW high-polluting-fuel plant in a no-burn zone, any size
@pytest.mark.parametrize("th,bl01", [(0, None), (0.01, "prohibited"), (9.99, "prohibited"), (10, "prohibited"),
                                     (10.01, None)])
def test_bl01_ten_tonnes_and_below(pack, th, bl01):
    got = outcomes(pack, facts([NO_BURN, KEY_UNIT], industry="C1371", boiler_th=th, boiler_fuel="coal", **STATED))
    assert got.get("BL-01") == bl01
    if th > 0:
        assert got["BL-02"] == "prohibited"  # every new coal boiler in a no-burn zone


def test_bl01_no_boiler_without_fuel_is_not_undecided(pack):
    """boiler_th=0 (no boiler) decides BL-01 whatever the fuel: no needs_info for every no-burn project."""
    got = outcomes(pack, facts([NO_BURN, KEY_UNIT], industry="C1371", boiler_th=0, **STATED))
    assert "BL-01" not in got


@pytest.mark.parametrize("th,bl02", [(0, None), (0.01, "prohibited"), (10, "prohibited"), (20, "prohibited"),
                                     (75, "prohibited")])
def test_bl02_any_new_coal_plant_in_a_no_burn_zone(pack, th, bl02):
    f = facts([NO_BURN, KEY_UNIT], industry="D4412", boiler_th=th, boiler_fuel="coal", **STATED)
    got = outcomes(pack, f)
    assert got.get("BL-02") == bl02
    if th >= 20:  # the examples: 20 t/h and 75 t/h coal boilers are prohibited, not conditional
        assert overall_verdict(apply_rules(pack, f)) == "prohibited"


def test_bl02_coal_without_a_size_is_prohibited_and_outside_no_burn_it_does_not_apply(pack):
    assert outcomes(pack, facts([NO_BURN, KEY_UNIT], industry="C1371", boiler_fuel="coal", **STATED))["BL-02"] \
        == "prohibited"
    got = outcomes(pack, facts([KEY_UNIT], industry="C1371", boiler_th=8, boiler_fuel="coal", **STATED))
    assert "BL-01" not in got and "BL-02" not in got
    gas = outcomes(pack, facts([NO_BURN, KEY_UNIT], industry="C1371", boiler_th=8, boiler_fuel="gas", **STATED))
    assert not {"BL-01", "BL-02", "BL-04"} & set(gas)


@pytest.mark.parametrize("th,bl03", [(34.99, None), (35, "conditional"), (35.01, "conditional")])
def test_bl03_thirty_five_tonnes_and_above(pack, th, bl03):
    got = outcomes(pack, facts([KEY_UNIT], industry="D4411", boiler_th=th, boiler_fuel="coal", **STATED))
    assert got.get("BL-03") == bl03


@pytest.mark.parametrize("fuel,th,bl04", [("oil", 0, None), ("oil", 0.01, "conditional"),
                                          ("biomass", 6, "conditional"), ("gas", 6, None)])
def test_bl04_oil_and_biomass_in_a_no_burn_zone(pack, fuel, th, bl04):
    got = outcomes(pack, facts([NO_BURN, KEY_UNIT], industry="C1352", boiler_th=th, boiler_fuel=fuel, **STATED))
    assert got.get("BL-04") == bl04


# ------------------------------------------------------------------------------------------
# water-source zones (水污染防治法 第六十五、六十六条) and WS-03's "1 公里以内" (includes 1 km)
@pytest.mark.parametrize("th,ws02", [(0, None), (0.01, "prohibited")])
def test_ws02_any_boiler_in_a_grade_2_zone(pack, th, ws02):
    got = outcomes(pack, facts([WATER_2, KEY_UNIT], industry="H6110", boiler_th=th, boiler_fuel="gas", **STATED))
    assert got.get("WS-02") == ws02


@pytest.mark.parametrize("industry,ws02", [("C2221", "prohibited"), ("D4411", "prohibited"), ("D4416", None),
                                           ("A0311", "prohibited"), ("H6110", None)])
def test_ws02_discharging_industries(pack, industry, ws02):
    got = outcomes(pack, facts([WATER_2, KEY_UNIT], industry=industry, boiler_th=0, **STATED))
    assert got.get("WS-02") == ws02


@pytest.mark.parametrize("industry,ws01", [("H6110", "prohibited"), ("N7862", "prohibited"), ("D4610", None),
                                           ("D4620", "prohibited"), ("E4821", None)])
def test_ws01_grade_1_allows_water_supply_only(pack, industry, ws01):
    got = outcomes(pack, facts([WATER_1, PRIORITY_UNIT], industry=industry, **STATED))
    assert got.get("WS-01") == ws01


@pytest.mark.parametrize("metres,ws03", [(999.9, "conditional"), (1000.0, "conditional"), (1000.1, None)])
def test_ws03_within_one_kilometre_inclusive(pack, metres, ws03):
    got = outcomes(pack, facts([KEY_UNIT], distance=metres, industry="C2041", **STATED))
    assert got.get("WS-03") == ws03


# ------------------------------------------------------------------------------------------
# AL-01: "2030 年电解铝使用可再生能源比例提高至 30%以上" (30 % itself complies)
@pytest.mark.parametrize("share,al01", [(0.2999, "conditional"), (0.30, None), ("30%", None), (0.3001, None)])
def test_al01_thirty_percent_and_above_complies(pack, share, al01):
    from zoning.screening.attributes import parse_value

    got = outcomes(pack, facts([KEY_UNIT], industry="C3216",
                               renewable_share=parse_value("renewable_share", share), **STATED))
    assert got.get("AL-01") == al01


def test_al01_needs_the_share_and_applies_to_aluminium_only(pack):
    assert outcomes(pack, facts([KEY_UNIT], industry="C3216", **STATED))["AL-01"] == "needs_info"
    assert "AL-01" not in outcomes(pack, facts([KEY_UNIT], industry="C3252", **STATED))  # 铝压延加工


# ------------------------------------------------------------------------------------------
# WY-01: "毁损森林超过 5 公顷" (5 ha itself does not count)
@pytest.mark.parametrize("forest,loss,wy01", [(5.0, 5.0, None), (5.01, 5.0, None), (5.01, 5.01, "conditional"),
                                              (4.99, None, None), (10.0, None, "needs_info")])
def test_wy01_more_than_five_hectares(pack, forest, loss, wy01):
    got = outcomes(pack, facts([GENERAL_UNIT], county="350782", industry="E4790", forest_ha=forest,
                               forest_loss_ha=loss, **STATED))
    assert got.get("WY-01") == wy01
    assert "WY-01" not in outcomes(pack, facts([GENERAL_UNIT], county="350724", industry="E4790", forest_ha=forest,
                                               forest_loss_ha=loss, **STATED))  # 松溪县 is not in the belt


# ------------------------------------------------------------------------------------------
# red line: permitted limited activities as GB/T 4754-2017 codes (自然资发〔2022〕142号 一、（一）)
@pytest.mark.parametrize("industry,expected", [
    ("N7862", {"RL-02": "conditional"}),  # 森林公园管理 (2017; N7852 in 2011)
    ("N7861", {"RL-02": "conditional"}),  # 名胜风景区管理
    ("N7869", {"RL-02": "conditional"}),  # 其他游览景区管理
    ("N7850", {"RL-02": "conditional"}),  # 城市公园管理
    ("N786", {"RL-02": "conditional"}),  # every class of the group is permitted: decided
    ("M7474", {"RL-02": "conditional"}),  # 基础地质勘查
    ("N7715", {"RL-01": "prohibited"}),  # 动物园 is not a permitted activity
    ("N7724", {"RL-01": "prohibited"}),  # 危险废物治理 neither
    ("B1012", {"RL-01": "prohibited"}),
    ("N7852", {"RL-01": "needs_info", "RL-02": "needs_info"}),  # a 2011 code: not in GB/T 4754-2017
    ("N77", {"RL-01": "needs_info", "RL-02": "needs_info"}),  # a division that mixes both
])
def test_red_line_permitted_activities_are_2017_codes(pack, industry, expected):
    got = outcomes(pack, facts([RED_LINE, PRIORITY_UNIT], industry=industry, **STATED))
    for rule, outcome in expected.items():
        assert got.get(rule) == outcome, (industry, got)
    if industry == "N7852":
        reasons = next(o for o in apply_rules(pack, facts([RED_LINE], industry=industry, **STATED))
                       if o.rule.id == "RL-01").reasons
        assert any("N7852" in r for r in reasons)


# UC-1: 优先保护单元 "禁止新建工业、采矿及火电项目": B, C, D4411 火力发电, D4412 热电联产, not other power
@pytest.mark.parametrize("industry,uc", [
    ("D4411", "UC-1"), ("D4412", "UC-1"), ("B1012", "UC-1"), ("C2041", "UC-1"),
    ("D4413", "UC-1b"), ("D4415", "UC-1b"), ("D4416", "UC-1b"), ("D4417", "UC-1b"), ("D4419", "UC-1b"),
    ("N7862", "UC-1b"),
])
def test_uc1_prohibits_industry_mining_and_thermal_power_only(pack, industry, uc):
    got = outcomes(pack, facts([PRIORITY_UNIT], industry=industry, **STATED))
    assert uc in got and ({"UC-1", "UC-1b"} - {uc}).isdisjoint(got), (industry, got)
    assert got[uc] == ("prohibited" if uc == "UC-1" else "conditional")


@pytest.mark.parametrize("industry", ["D441", "D44"])
def test_uc1_power_group_is_undecided_naming_the_classes(pack, industry):
    res = {o.rule.id: o for o in apply_rules(pack, facts([PRIORITY_UNIT], industry=industry, **STATED))}
    assert res["UC-1"].outcome == "needs_info" and res["UC-1"].possible_outcomes == ["prohibited"]
    text = " ".join(res["UC-1"].reasons)
    assert "D4411" in text and "D4412" in text and "D4416" in text


# ------------------------------------------------------------------------------------------
def _numeric_leaves(pack):
    for rule in pack.rules:
        for cond in (rule.scope, rule.when):
            for op, arg in iter_leaves(cond):
                if op == "attr":
                    comp = next(k for k in arg if k in COMPARATORS)
                    if comp in ("lt", "le", "gt", "ge"):
                        yield rule.id, arg["name"], comp, arg[comp]
                elif op in ("near", "hit") and isinstance(arg, dict):
                    for key in ("within_m", "min_share"):
                        if key in arg:
                            yield rule.id, key, "le" if key == "within_m" else "ge", arg[key]


#: every numeric threshold of the bundled pack, with the text behind it; tested above
THRESHOLDS = {
    ("BL-01", "boiler_th", "gt", 0): "燃煤锅炉（有锅炉）",
    ("BL-01", "boiler_th", "le", 10): "10 蒸吨/小时以下（含 10）",
    ("BL-02", "boiler_th", "gt", 0): "任何新建燃煤设施",
    ("BL-03", "boiler_th", "ge", 35): "35 蒸吨/小时及以上",
    ("BL-04", "boiler_th", "gt", 0): "任何燃油、生物质锅炉",
    ("WS-02", "boiler_th", "gt", 0): "排放污染物（任何锅炉）",
    ("WS-03", "within_m", "le", 1000): "1 公里以内（含）",
    ("AL-01", "renewable_share", "lt", 0.30): "30%以上（含 30%）为达标",
    ("WY-01", "forest_ha", "gt", 5): "超过 5 公顷",
    ("WY-01", "forest_loss_ha", "gt", 5): "超过 5 公顷",
}


def test_every_numeric_threshold_is_tested(pack):
    found = {(rid, name, comp, value) for rid, name, comp, value in _numeric_leaves(pack)}
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for *_, v in found)
    assert found == set(THRESHOLDS), found ^ set(THRESHOLDS)


def test_rules_cite_their_text_and_use_2017_codes(pack):
    from zoning.screening.attributes import check_industry

    for rule in pack.rules:
        assert rule.citation.strip(), rule.id
        for cond in (rule.scope, rule.when):
            for op, arg in iter_leaves(cond):
                if op == "attr" and arg["name"] == "industry":
                    comp = next(k for k in arg if k in COMPARATORS)
                    for code in (arg[comp] if isinstance(arg[comp], list) else [arg[comp]]):
                        assert check_industry(code).known, (rule.id, code)
