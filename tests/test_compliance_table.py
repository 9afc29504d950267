"""The 符合性分析 table never contradicts itself (issue 11, item 6).

Every row is checked against the result's own hits and rules with rules written here, not
taken from the renderer: each hit is reported in the one row it belongs to and nowhere else;
no row says "不占用 / 不在 … 内 / No overlap / Outside" for something the site hits, or for a
layer that cannot tell; each row's 相符性 is the most severe outcome of its rules (or 需补充信息
when an undecided rule could end more severe); each rule is listed in its own row only; the
access-list row names every control unit (code, name, class). A hypothesis property test runs
this over many random sites (points and polygons on, near and across the sample layers' edges,
with random attributes), with every layer and with the protected-area layer missing.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoning.io.catalog import load_catalog
from zoning.io.layerset import load_layerset
from zoning.io.sites import read_sites
from zoning.render.compliance import compliance_rows
from zoning.screening.pipeline import screen

RED, BASE, CAP, LIST = "生态保护红线", "环境质量底线", "资源利用上线", "生态环境准入清单"
SEVERITY = {"compliant": 0, "needs_info": 1, "conditional": 2, "prohibited": 3}
LABEL_ZH = {"compliant": "符合", "needs_info": "需补充信息", "conditional": "有条件符合", "prohibited": "不符合（禁止）"}
WATER = "饮用水水源保护区"
#: (role, water zone or not) -> (the row it belongs to, the words that name such a feature)
KINDS = {
    ("red_line", None): (RED, ["生态保护红线", "红线", "red line"]),
    ("protected", False): (RED, ["自然保护地", "自然保护区", "国家公园", "nature reserve", "national park"]),
    ("protected", True): (BASE, ["水源", "drinking-water", "water source"]),
    ("no_burn", None): (BASE, ["禁燃区", "no-burn"]),
    ("park", None): (LIST, ["工业园区", "industrial park"]),
    ("control_unit", None): (LIST, ["管控单元", "control unit"]),
    ("program", None): (CAP, ["赎买", "森林质量", "programme"]),
}
#: how a clause of 本项目情况 says "no such feature here"
NEGATIVE = ("不占用", "不在", "未占用", "No overlap", "Outside", "not in", "does not")


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in text.replace("；", ";").split(";") if c.strip()]


def _denies(clause: str, words) -> bool:
    return clause.startswith(NEGATIVE) and any(w in clause for w in words)


def _key(h):
    return h.role, (h.props.get("kind") == WATER) if h.role == "protected" else None


def expected_outcome(rules) -> str:
    """The row's 相符性, from its rules: the most severe decided outcome, unless an undecided
    rule (needs_info with a possible outcome) could end more severe."""
    decided = [r.outcome for r in rules if not (r.outcome == "needs_info" and r.possible_outcomes)]
    worst = max(decided, key=SEVERITY.get, default="compliant")
    if any(SEVERITY[p] > SEVERITY[worst] for r in rules if r.outcome == "needs_info" for p in r.possible_outcomes):
        return "needs_info"
    return worst


def check_table(result) -> None:
    status = {lr.role: lr.status for lr in result.layers}
    for lang in ("zh", "en"):
        rows = compliance_rows(result, lang)
        assert len(rows) == 4
        by_line = dict(zip((RED, BASE, CAP, LIST), rows))
        for line, row in by_line.items():
            rules = [r for r in result.rules if r.line == line]
            want = expected_outcome(rules)
            assert row.outcome == want, (result.site_id, line, [(r.id, r.outcome) for r in rules])
            if not any(r.outcome == "needs_info" and r.possible_outcomes for r in rules) and rules:
                assert row.outcome == max((r.outcome for r in rules), key=SEVERITY.get)  # most severe, literally
            if lang == "zh":
                assert row.conformity == LABEL_ZH[want]
            # every rule in its own row, and only there
            for r in result.rules:
                listed = any(n.startswith(f"[{r.id}]") for n in row.notes)
                assert listed == (r.line == line), (result.site_id, r.id, r.line, line)
            if row.outcome == "compliant":
                assert not [r for r in rules if r.outcome != "compliant"]
        # every hit reported in its own row only, and denied by no clause of any row
        for h in result.hits:
            home, words = KINDS[_key(h)]
            assert h.id in by_line[home].situation, (result.site_id, h.role, h.id, home)
            for line, row in by_line.items():
                if line != home:
                    assert h.id not in row.situation, (result.site_id, h.id, line)
                for clause in _clauses(row.situation):
                    assert not _denies(clause, words + [h.name]), (result.site_id, h.id, line, clause)
        # a denial only where the layer is usable at the site
        for (role, water), (home, words) in KINDS.items():
            if any(_denies(c, words) for c in _clauses(by_line[home].situation)):
                assert status.get(role) == "ok", (result.site_id, role, status.get(role))
        # the access-list row names every control unit: code, name and class
        for h in result.hits:
            if h.role == "control_unit":
                text = by_line[LIST].situation
                assert h.id in text and h.name in text and (h.cls or "") in text
    # the rows and the headline agree
    outcomes = {row.outcome for row in compliance_rows(result)}
    if result.verdict == "compliant":
        assert outcomes == {"compliant"}
    if "prohibited" in outcomes:
        assert result.verdict in ("prohibited", "needs_info")


# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def no_protected(catalog, tmp_path_factory):
    """The sample layer set with the protected-area layer missing."""
    text = catalog.path.read_text(encoding="utf-8").replace("nanping/generated/protected.gpkg",
                                                            "nanping/generated/missing_protected.gpkg")
    text = text.replace("nanping/", str(catalog.path.parent / "nanping") + "/").replace(
        "rules: rules/", f"rules: {catalog.path.parent}/rules/")
    path = tmp_path_factory.mktemp("cat") / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return load_layerset(load_catalog(path))


@pytest.fixture(scope="module")
def sample(catalog, layers):
    path = catalog.one("red_line").path.parent / "sample_projects.gpkg"
    return {r.site_id: r for r in screen(path, layers=layers)}


@pytest.fixture(scope="module")
def anchors(layers):
    """Points to build sites around: inside and on the edge of every feature of the hit roles."""
    out = []
    for role in ("red_line", "protected", "no_burn", "park", "control_unit"):
        for g in layers.frames[role].geometry:
            out.append(("inside", g.representative_point()))
            ring = g.boundary if g.geom_type == "Polygon" else shapely.get_parts(g)[0].boundary
            out.append(("edge", ring))
    return out


INDUSTRIES = [None, "C2041", "C1371", "C2614", "C26", "C261", "D4411", "D4416", "D441", "N7862", "N7852", "C9999",
              "B1012", "H6110", "C3216", "C2614,C2662", "C1371,N7862", "A0311", "M7474", "E4790", "D4610", "N77"]
ATTRS = st.fixed_dictionaries({
    "industry": st.sampled_from(INDUSTRIES),
    "two_high": st.sampled_from([None, True, False]),
    "chemical": st.sampled_from([None, True, False]),
    "boiler_th": st.sampled_from([None, 0.0, 8.0, 10.0, 35.0, 75.0]),
    "boiler_fuel": st.sampled_from([None, "coal", "gas", "oil", "biomass"]),
    "renewable_share": st.sampled_from([None, 0.2, 0.3]),
    "energy_tce": st.sampled_from([None, 500.0]),
    "clear_share": st.sampled_from([None, 0.0, 1.0]),
})


@st.composite
def site(draw, anchors):
    how = draw(st.sampled_from(["anchor", "anchor", "anchor", "anywhere"]))
    if how == "anywhere":  # the sample layers' area and a margin beyond Nanping
        p = shapely.Point(draw(st.floats(117.0, 119.3)), draw(st.floats(26.2, 28.4)))
    else:
        kind, geom = draw(st.sampled_from(anchors))
        if kind == "edge":
            p = geom.interpolate(draw(st.floats(0, 1)), normalized=True)
        else:
            p = geom
        p = shapely.Point(p.x + draw(st.floats(-0.004, 0.004)), p.y + draw(st.floats(-0.004, 0.004)))
    shape = draw(st.sampled_from(["point", "box", "box", "line"]))
    half = draw(st.floats(0.0003, 0.01))
    if shape == "box":
        g = shapely.box(p.x - half, p.y - half * 0.8, p.x + half, p.y + half * 0.8)
    elif shape == "line":
        g = shapely.LineString([(p.x - half, p.y - half / 3), (p.x + half, p.y + half / 2)])
    else:
        g = p
    return g, draw(ATTRS)


def _screen(batch, layers):
    frame = gpd.GeoDataFrame([{"id": f"H{i}", **attrs} for i, (_, attrs) in enumerate(batch)],
                             geometry=[g for g, _ in batch], crs=4490)
    for col in ("boiler_th", "renewable_share", "energy_tce", "clear_share"):
        frame[col] = frame[col].astype("float64")
    for col in ("two_high", "chemical"):
        frame[col] = frame[col].astype(object)
    return screen(frame, layers=layers)


STATS = {"sites": 0, "hits": 0, "undecided": 0}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_table_agrees_with_hits_and_rules_on_random_sites(layers, anchors, data):
    batch = data.draw(st.lists(site(anchors), min_size=5, max_size=20))
    for r in _screen(batch, layers):
        if r.error is not None:
            continue
        check_table(r)
        STATS["sites"] += 1
        STATS["hits"] += len(r.hits)
        STATS["undecided"] += sum(x.outcome == "needs_info" for x in r.rules)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_table_with_the_protected_layer_missing(no_protected, anchors, data):
    batch = data.draw(st.lists(site(anchors), min_size=5, max_size=15))
    for r in _screen(batch, no_protected):
        if r.error is None:
            assert {lr.role: lr.status for lr in r.layers}["protected"] == "failed"
            check_table(r)
            assert r.verdict not in ("compliant", "conditional") or not any(
                x.outcome == "needs_info" and x.possible_outcomes == ["prohibited"] for x in r.rules)


def test_the_property_test_saw_enough():
    """Run after the property test: it covered many sites and hits (pytest keeps file order)."""
    if STATS["sites"] == 0:
        pytest.skip("run together with the property test")
    print(f"property test: {STATS}")
    assert STATS["sites"] >= 150 and STATS["hits"] >= 150 and STATS["undecided"] > 0, STATS


# ------------------------------------------------------------------------------------------
# the examples
def test_every_sample_project(sample):
    for r in sample.values():
        check_table(r)


def test_grade_1_water_zone_is_not_denied_by_the_red_line_row(sample):
    r = sample["P13"]  # a hotel inside 延平区城区饮用水水源一级保护区
    rows = {row.line: row for row in compliance_rows(r)}
    assert "水源" not in rows[RED].situation  # the red line row speaks of red lines and nature areas only
    assert "BH35070202" in rows[BASE].situation and rows[BASE].outcome == "prohibited"
    assert rows[RED].outcome == "compliant"


def test_a_units_own_clause_is_in_the_access_list_row(sample):
    r = sample["P06"]  # fine chemicals in the 金塘 park: the unit's own clause ZH35078120003-01 fires
    rows = {row.line: row for row in compliance_rows(r)}
    assert any(n.startswith("[ZH35078120003-01]") for n in rows[LIST].notes)
    assert not any("ZH35078120003-01" in n for n in rows[BASE].notes)
    assert rows[LIST].outcome == "conditional" and rows[LIST].conformity == "有条件符合"
    assert "未触发限制性规则" not in " ".join(rows[LIST].notes)


def test_access_list_row_names_every_unit(sample):
    r = sample["P23"]  # straddles a general and a priority unit
    text = {row.line: row for row in compliance_rows(r)}[LIST].situation
    units = [h for h in r.hits if h.role == "control_unit"]
    assert len(units) == 2
    for h in units:
        assert h.id in text and h.name in text and h.cls in text


def test_missing_protected_layer_inside_a_grade_1_zone_is_needs_info(catalog, no_protected):
    sites = read_sites(catalog.one("red_line").path.parent / "sample_projects.gpkg")
    r = screen(sites[sites.site_id == "P13"], layers=no_protected)[0]
    assert r.verdict == "needs_info"  # not 有条件符合 (UC-1b) while WS-01 may prohibit
    assert "prohibited" in r.possible_verdicts
    rows = {row.line: row for row in compliance_rows(r)}
    assert "无法判断" in rows[RED].situation and "无法判断" in rows[BASE].situation
    assert "不占用自然保护地" not in rows[RED].situation
    check_table(r)


def test_red_line_with_unknown_industry_is_needs_info(catalog, layers):
    sites = read_sites(catalog.one("red_line").path.parent / "sample_projects.gpkg")
    p01 = sites[sites.site_id == "P01"].drop(columns=["industry"]).assign(two_high=True)
    r = screen(p01, layers=layers)[0]
    assert r.verdict == "needs_info"  # TH-01 fires (conditional) but RL-01 may prohibit
    assert r.possible_verdicts == ["prohibited", "conditional"]
    rl = next(x for x in r.rules if x.id == "RL-01")
    assert rl.outcome == "needs_info" and rl.possible_outcomes == ["prohibited"]
    assert any("RL-01" in reason and "industry" in reason for reason in r.verdict_reasons)
    check_table(r)
