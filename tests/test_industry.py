"""GB/T 4754-2017: the bundled table is complete, and partial knowledge of a project's industry
never helps (issue 11, items 7 and 8)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoning.errors import AttributeProblem
from zoning.screening.attributes import (check_industry, derived, from_record, implied_flag, industry_codes,
                                         industry_index, industry_table, parse_pairs, parse_value)
from zoning.screening.result import HitRecord
from zoning.screening.rules import Facts, apply_rules, load_rule_pack

TABLE = industry_table()
IDX = industry_index()
ALL_CODES = sorted(IDX.names)  # every section, division, group and class (full codes)


# ------------------------------------------------------------------------------------------
# the table
def test_counts_of_the_standard():
    """GB/T 4754-2017: 20 sections, 97 divisions, 473 groups; 1,380 classes as issued in 2017,
    1,381 with amendment No. 1 (2019), which added 7224 供应链管理服务."""
    assert len(TABLE["sections"]) == 20
    assert len(TABLE["divisions"]) == 97
    assert len(TABLE["groups"]) == 473
    assert len(TABLE["classes"]) == 1381
    assert len(set(TABLE["classes"]) - set(TABLE["amended"])) == 1380
    assert set(TABLE["amended"]) == {"7224"}
    assert TABLE["counts"] == {"sections": 20, "divisions": 97, "groups": 473, "classes": 1381,
                               "classes_as_issued_2017": 1380}
    # manufacturing alone: 31 divisions, 179 groups, 609 classes
    c = [d for d in TABLE["divisions"] if 13 <= int(d) <= 43]
    assert len(c) == 31
    assert sum(g[:2] in c for g in TABLE["groups"]) == 179
    assert sum(k[:2] in c for k in TABLE["classes"]) == 609


def test_structure_is_a_tree_with_the_standards_codes():
    assert sorted(int(d) for d in TABLE["divisions"]) == list(range(1, 98))  # 01 … 97, no gaps
    assert list(TABLE["sections"]) == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    ranges = [tuple(int(x) for x in s["divisions"]) for s in TABLE["sections"].values()]
    assert ranges[0][0] == 1 and ranges[-1][1] == 97
    assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))  # sections tile the divisions
    for g in TABLE["groups"]:
        assert re.fullmatch(r"\d{3}", g) and g[:2] in TABLE["divisions"]
        # a group is numbered 1-9 in its division; 0 only for the lone group of a division (120, 910, 970)
        assert g[2] != "0" or [x for x in TABLE["groups"] if x[:2] == g[:2]] == [g], g
    for k, name in TABLE["classes"].items():
        assert re.fullmatch(r"\d{4}", k) and k[:3] in TABLE["groups"] and name.strip()
    for g, name in TABLE["groups"].items():  # every group has a class; a lone class is coded group + 0
        under = [k for k in TABLE["classes"] if k.startswith(g)]
        assert under, g
        if len(under) == 1:
            assert under == [g + "0"] and TABLE["classes"][g + "0"] == name
        else:
            assert g + "0" not in under
    for d in TABLE["divisions"]:
        assert any(g.startswith(d) for g in TABLE["groups"]), d


WELL_KNOWN = {
    "A0311": "牛的饲养", "A0313": "猪的饲养", "A0164": "茶叶种植", "A0231": "森林经营和管护", "A0522": "森林防火活动",
    "B0610": "烟煤和无烟煤开采洗选", "B1012": "建筑装饰用石开采",
    "C1371": "蔬菜加工", "C1530": "精制茶加工", "C2041": "竹制品制造", "C2211": "木竹浆制造",
    "C2221": "机制纸及纸板制造", "C2511": "原油加工及石油制品制造", "C2521": "炼焦", "C2612": "无机碱制造",
    "C2614": "有机化学原料制造", "C2621": "氮肥制造", "C2662": "专项化学用品制造", "C2710": "化学药品原料药制造",
    "C3011": "水泥制造", "C3041": "平板玻璃制造", "C3110": "炼铁", "C3120": "炼钢", "C3140": "铁合金冶炼",
    "C3211": "铜冶炼", "C3216": "铝冶炼", "C3252": "铝压延加工", "C3841": "锂离子电池制造", "C3973": "集成电路制造",
    "D4411": "火力发电", "D4412": "热电联产", "D4413": "水力发电", "D4414": "核力发电", "D4415": "风力发电",
    "D4416": "太阳能发电", "D4417": "生物质能发电", "D4419": "其他电力生产", "D4420": "电力供应",
    "D4430": "热力生产和供应", "D4610": "自来水生产和供应", "D4620": "污水处理及其再生利用",
    "E4790": "其他房屋建筑业", "E4821": "水源及供水设施工程建筑", "E4863": "生态保护工程施工",
    "G5920": "通用仓储", "H6110": "旅游饭店", "I6513": "应用软件开发", "L7224": "供应链管理服务",
    "M7310": "自然科学研究和试验发展", "M7461": "环境保护监测", "M7474": "基础地质勘查",
    "N7620": "水资源管理", "N7711": "自然生态系统保护管理", "N7715": "动物园、水族馆管理服务",
    "N7721": "水污染治理", "N7850": "城市公园管理", "N7861": "名胜风景区管理", "N7862": "森林公园管理",
    "N7869": "其他游览景区管理", "P8341": "普通高等教育", "T9700": "国际组织",
}


@pytest.mark.parametrize("code,name", sorted(WELL_KNOWN.items()))
def test_well_known_classes(code, name):
    info = check_industry(code)
    assert info.known and info.is_class and info.name == name and info.classes == (code,)


def test_electric_power_group_2017():
    assert [c for c in IDX.classes if c.startswith("D441")] == [
        "D4411", "D4412", "D4413", "D4414", "D4415", "D4416", "D4417", "D4419"]
    assert check_industry("D441").name == "电力生产" and check_industry("D44").name == "电力、热力生产和供应业"


@pytest.mark.parametrize("code", ["N7851", "N7852", "N7859", "C9999", "C2699", "A0300", "T9701"])
def test_codes_not_in_2017_are_unknown_naming_the_code(code):
    info = check_industry(code)
    assert not info.known and code in info.note and info.classes == ()


def test_sections_divisions_groups_and_letterless_codes():
    assert check_industry("C26").level == "division" and len(check_industry("C26").classes) == 38
    assert check_industry("C261").classes == ("C2611", "C2612", "C2613", "C2614", "C2619")
    assert check_industry("2614").code == "C2614"  # the letter follows from the division
    assert check_industry(" c2614 ").code == "C2614"
    wrong = check_industry("D2614")
    assert not wrong.known and "section C" in wrong.note
    assert len(check_industry("C").classes) == 609
    for bad in ("X2614", "C26145", "C2", "C-26", "化工", "", "nan"):
        with pytest.raises(AttributeProblem):
            check_industry(bad)


def test_every_class_parses_and_is_known():
    for k in TABLE["classes"]:
        for written in (k, IDX.section_of[k[:2]] + k):
            info = check_industry(written)
            assert info.known and info.is_class, written
    assert len(IDX.classes) == 1381


# ------------------------------------------------------------------------------------------
# several codes per project
def test_several_codes_per_project():
    assert parse_value("industry", "C2614, C2662；c2614") == "C2614,C2662"
    assert parse_pairs(["industry=C2614", "industry=C2662"])["industry"] == "C2614,C2662"
    assert parse_pairs(["主行业=C2614", "其他行业=C2662、C2669"])["industry"] == "C2614,C2662,C2669"
    rec = from_record({"主行业代码": "C1371", "其他行业代码": "C2614", "是否两高": "否", "site_id": "x"})
    assert rec == {"industry": "C1371,C2614", "two_high": False}
    assert from_record({"industry": "C2041", "其他行业": "C2614"})["industry"] == "C2041,C2614"
    with pytest.raises(AttributeProblem, match="C26x"):
        parse_value("industry", "C2614,C26x")
    d = derived({"industry": "C1371,C2614"}, footprint_ha=1.0)
    assert d["industry_codes"] == ["C1371", "C2614"] and d["industry_code"] == "C1371"
    assert d["is_two_high"] is True and d["is_chemical"] is True  # one activity is both


# ------------------------------------------------------------------------------------------
# partial knowledge never helps: a code above class level decides only where all its classes agree
@pytest.mark.parametrize("code,two_high", [("C2614", True), ("C2641", False), ("C26", None), ("C261", None),
                                           ("C31", True), ("C311", True), ("C3216", True), ("C32", None),
                                           ("D441", None), ("D4416", False), ("D4411", True), ("C13", False)])
def test_two_high_is_decided_only_when_every_class_agrees(code, two_high):
    assert derived({"industry": code}, footprint_ha=1)["is_two_high"] is two_high
    if two_high is None:
        value, sides = implied_flag(industry_codes(code), "two_high")
        assert value is None and sides[True] and sides[False]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_CODES))
def test_implied_flags_agree_with_the_classes(code):
    """Independent truth: the flag of every class, from the prefix lists in the table."""
    info = check_industry(code)
    for which, prefixes in (("two_high", TABLE["two_high_prefixes"]), ("chemical", TABLE["chemical_prefixes"])):
        flags = {any(c.startswith(p) for p in prefixes) for c in info.classes}
        value, _ = implied_flag([info], which)
        assert value == (flags.pop() if len(flags) == 1 else None), (code, which)


HITS = [HitRecord("red_line", "HX1", "红线", "水源涵养", 10.0, 1.0, {"id": "HX1", "type": "水源涵养"}),
        HitRecord("control_unit", "ZH35070210001", "优先单元", "优先保护", 10.0, 1.0,
                  {"code": "ZH35070210001", "class": "优先保护"}),
        HitRecord("no_burn", "JR1", "禁燃区", None, 10.0, 1.0, {"id": "JR1"}),
        HitRecord("protected", "BH2", "二级", "饮用水水源保护区·二级", 10.0, 1.0,
                  {"id": "BH2", "kind": "饮用水水源保护区", "grade": "二级"})]
STATUS = {r: "ok" for r in ("admin", "red_line", "control_unit", "park", "protected", "no_burn", "program")}


def _facts(industry, hits, attrs):
    base = {"industry": industry, "two_high": None, "chemical": None, "boiler_th": None, "boiler_fuel": None,
            "renewable_share": None, "energy_tce": None, "clear_share": None, "name": None}
    base.update(attrs)
    d = derived(base, footprint_ha=1.0)
    d.update(forest_ha=0.0, forest_loss_ha=0.0, carbon_status="ok")
    return Facts(hits=hits, layer_status=STATUS, attrs=base, derived=d, county_code="350702",
                 distance_fn=lambda role, f: 5000.0)


@pytest.fixture(scope="module")
def pack(catalog):
    return load_rule_pack(catalog.rule_pack)


@settings(max_examples=150, deadline=None)
@given(code=st.sampled_from([c for c in ALL_CODES if len(c) < 5 and len(c) > 1]),
       hits=st.lists(st.sampled_from(HITS), unique_by=lambda h: h.id, max_size=4),
       attrs=st.fixed_dictionaries({}, optional={"two_high": st.booleans(), "boiler_fuel": st.sampled_from(["coal", "gas"]),
                                                 "boiler_th": st.sampled_from([0.0, 8.0, 35.0]),
                                                 "renewable_share": st.sampled_from([0.1, 0.5])}))
def test_a_division_or_group_decides_a_rule_only_where_all_its_classes_agree(pack, code, hits, attrs):
    """Independent truth: screen every class of the code one by one."""
    info = check_industry(code)
    per_class = {}
    for cls in info.classes:
        per_class[cls] = {o.rule.id: o.outcome for o in apply_rules(pack, _facts(cls, hits, attrs))}
    got = {o.rule.id: o for o in apply_rules(pack, _facts(code, hits, attrs))}
    for rule in pack.rules:
        seen = {res.get(rule.id) for res in per_class.values()}
        if len(seen) == 1:
            assert (got[rule.id].outcome if rule.id in got else None) == seen.pop(), (code, rule.id)
        else:
            o = got[rule.id]
            assert o.outcome == "needs_info" and o.possible_outcomes == [rule.outcome], (code, rule.id)
            differing = [c for c, res in per_class.items() if res.get(rule.id) is not None]
            text = " ".join(o.reasons)
            assert code in text and (differing[0] in text or len(differing) > 12)


def test_c26_two_high_is_undecided_naming_the_classes(pack):
    res = {o.rule.id: o for o in apply_rules(pack, _facts("C26", [], {}))}
    th = res["TH-01"]
    assert th.outcome == "needs_info" and th.possible_outcomes == ["conditional"]
    assert all(c in th.reasons[0] for c in ("C2612", "C2614", "C2619", "C2621", "C2622"))
    assert res["CH-01"].outcome == "prohibited"  # every class of C26 is chemical: decided
    assert {o.rule.id: o.outcome for o in apply_rules(pack, _facts("C2614", [], {}))}["TH-01"] == "conditional"


@settings(max_examples=80, deadline=None)
@given(codes=st.lists(st.sampled_from([c for c in ALL_CODES if len(c) == 5] + ["C9999", "N7852"]), min_size=2,
                      max_size=3, unique=True),
       hits=st.lists(st.sampled_from(HITS), unique_by=lambda h: h.id, max_size=4))
def test_several_codes_each_screened_most_severe_wins(pack, codes, hits):
    """Independent truth: screen each code alone; a rule takes its most severe decided outcome,
    else needs_info if any code leaves it open."""
    sev = {"compliant": 0, "needs_info": 1, "conditional": 2, "prohibited": 3}
    alone = [{o.rule.id: o.outcome for o in apply_rules(pack, _facts(c, hits, {}))} for c in codes]
    got = {o.rule.id: o.outcome for o in apply_rules(pack, _facts(",".join(codes), hits, {}))}
    for rule in pack.rules:
        outs = [a[rule.id] for a in alone if rule.id in a]
        decided = [o for o in outs if o != "needs_info" or rule.outcome == "needs_info"]
        want = max(decided, key=sev.get) if decided else ("needs_info" if outs else None)
        assert got.get(rule.id) == want, (codes, rule.id, outs)


def test_an_industry_name_as_written_stands_for_its_code():
    """The page promises 可输入名称或代码: a GB/T 4754-2017 name typed as it is written is its code
    (the most specific level when a division, group and class share a name)."""
    from zoning.screening.attributes import code_of_industry_name, industry_index, parse_value

    idx = industry_index()
    assert parse_value("industry", "水泥制造") == "C3011"
    assert parse_value("industry", "水泥、石灰和石膏制造") == "C301"  # a name holding a separator
    assert parse_value("industry", "C3011 水泥制造") == "C3011"
    by_name: dict[str, list[str]] = {}
    for full, name in idx.names.items():
        by_name.setdefault(name, []).append(full)
    checked = 0
    for full in idx.classes:  # every class name comes back to a class of that name
        name = idx.names[full]
        deepest = [c for c in by_name[name] if len(c) == max(len(x) for x in by_name[name])]
        if len(deepest) == 1:
            assert code_of_industry_name(name) == full
            checked += 1
    assert checked > 1300
    with pytest.raises(AttributeProblem, match="水泥制造"):  # the message shows how a name is written
        parse_value("industry", "做水泥")
