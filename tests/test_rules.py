"""Rule packs: validation messages name the rule id and line; three-valued evaluation."""
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoning.errors import RulePackError
from zoning.screening.rules import (ATTR_KINDS, COMPARATORS, FILTER_FIELDS, Facts, Tri, evaluate, iter_leaves,
                                    load_rule_pack)
from zoning.screening.result import HitRecord

HEAD = "name: test\nversion: '1'\nrules:\n"
GOOD = """\
  - id: A
    dimension: 空间布局约束
    citation: test
    scope: {hit: red_line}
    outcome: prohibited
    message: {zh: 禁止, en: no}
"""


def _pack(tmp_path, body):
    path = tmp_path / "pack.yaml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return path


def test_bundled_pack_is_valid(catalog):
    pack = load_rule_pack(catalog.rule_pack)
    assert pack.version == "2024.2-sample" and len(pack.rules) >= 20
    dims = {r.dimension for r in pack.rules}
    assert dims == {"空间布局约束", "污染物排放管控", "环境风险防控", "资源利用效率"}


@pytest.mark.parametrize("body,match", [
    (GOOD + GOOD.replace("  - id: A", "  - id: A"), r"line 10 rule A: duplicate id \(also on line 4\)"),
    (GOOD.replace("outcome: prohibited", "outcome: banned"), r"line 4 rule A: unknown outcome 'banned'"),
    (GOOD.replace("citation: test", "citation: test\n    colour: red"), r"line 4 rule A: unknown field 'colour'"),
    (GOOD.replace("scope: {hit: red_line}", "scope: {hit: rivers}"), r"rule A: scope: unknown role 'rivers'"),
    (GOOD.replace("scope: {hit: red_line}", "scope: all\n    when: {attr: {name: colour, eq: red}}"),
     r"rule A: when: unknown attribute 'colour'"),
    (GOOD.replace("scope: {hit: red_line}", "scope: {hit: {role: park, colour: red}}"),
     r"rule A: scope: unknown field 'colour' for role park"),
    (GOOD.replace("scope: {hit: red_line}", "scope: {near: {role: park}}"), r"near' needs a numeric within_m"),
    (GOOD.replace("dimension: 空间布局约束", "dimension: 风景"), r"unknown dimension '风景'"),
    (GOOD.replace("    message: {zh: 禁止, en: no}\n", ""), r"rule A: missing 'message'"),
    (GOOD.replace("scope: {hit: red_line}", "scope: all\n    when: {attr: {name: boiler_th, lt: 1, gt: 0}}"),
     r"exactly one comparison"),
])
def test_pack_errors_name_rule_and_line(tmp_path, body, match):
    with pytest.raises(RulePackError, match=match):
        load_rule_pack(_pack(tmp_path, body))


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "pack.yaml"
    path.write_text(HEAD + "  - id: A\n    scope: {hit: red_line\n", encoding="utf-8")
    with pytest.raises(RulePackError, match="line"):
        load_rule_pack(path)


def _facts(**attrs):
    base = {k: None for k in ("industry", "boiler_th", "boiler_fuel")}
    base.update(attrs)
    hits = [HitRecord("red_line", "HX1", "x", "水源涵养", 100.0, 0.5, {"id": "HX1", "type": "水源涵养"})]
    return Facts(hits=hits, layer_status={"red_line": "ok", "park": "failed", "admin": "ok"},
                 attrs=base, derived={"industry_code": attrs.get("industry"), "is_two_high": None}, county_code="350702")


def test_three_valued_logic():
    f = _facts()
    assert evaluate({"hit": "red_line"}, f).value is True
    assert evaluate({"hit": {"role": "red_line", "type": "水土保持"}}, f).value is False
    assert evaluate({"hit": {"role": "red_line", "min_share": 0.6}}, f).value is False
    unknown = evaluate({"attr": {"name": "boiler_th", "lt": 10}}, f)
    assert unknown.value is None and "boiler_th" in unknown.reasons[0]
    assert evaluate({"attr": {"name": "boiler_th", "lt": 10, "if_missing": "false"}}, f).value is False
    # false AND unknown = false; true OR unknown = true; the unknown survives otherwise
    assert evaluate({"all": [{"hit": {"role": "red_line", "type": "x"}}, {"attr": {"name": "boiler_th", "lt": 1}}]}, f).value is False
    assert evaluate({"any": [{"hit": "red_line"}, {"attr": {"name": "boiler_th", "lt": 1}}]}, f).value is True
    assert evaluate({"all": [{"hit": "red_line"}, {"attr": {"name": "boiler_th", "lt": 1}}]}, f).value is None
    # a failed layer is never read as "nothing there"
    failed = evaluate({"not": {"hit": "park"}}, f)
    assert failed.value is None and "failed" in failed.reasons[0]
    assert evaluate({"county": {"in": ["350702"]}}, f).value is True
    assert evaluate({"attr": {"name": "industry", "prefix": ["C26"]}}, _facts(industry="C2614")).value is True


def test_tri_default_reasons():
    assert Tri(True).reasons == []


# ------------------------------------------------------------------------------------------
# issue 11, item 9: `rules check` and `screen` share one validation that refuses every value
# screen could not evaluate (type and range of each value, vocabulary, GB/T 4754-2017 codes)
def _when(cond: str) -> str:
    return GOOD.replace("scope: {hit: red_line}", f"scope: all\n    when: {cond}")


def _scope(cond: str) -> str:
    return GOOD.replace("scope: {hit: red_line}", f"scope: {cond}")


@pytest.mark.parametrize("body,match", [
    (_scope("{near: {role: protected, within_m: .nan}}"), r"within_m.*finite number"),
    (_scope("{near: {role: protected, within_m: .inf}}"), r"within_m.*finite number"),
    (_scope("{near: {role: protected, within_m: -5}}"), r"within_m.*within 0-"),
    (_scope("{near: {role: protected, within_m: 1km}}"), r"within_m.*finite number"),
    (_scope("{near: {role: protected, within_m: true}}"), r"within_m.*finite number"),
    (_scope("{hit: {role: red_line, min_share: lots}}"), r"min_share.*finite number"),
    (_scope("{hit: {role: red_line, min_share: 1.5}}"), r"min_share.*within 0-1"),
    (_when("{attr: {name: boiler_th, gt: abc}}"), r"boiler_th gt must be a finite number"),
    (_when("{attr: {name: boiler_th, gt: .nan}}"), r"finite number"),
    (_when("{attr: {name: boiler_th, le: .inf}}"), r"finite number"),
    (_when("{attr: {name: boiler_th, lt: true}}"), r"finite number"),
    (_when("{attr: {name: boiler_th, in: 5}}"), r"non-empty list"),
    (_when("{attr: {name: boiler_th, prefix: '1'}}"), r"prefix' does not apply"),
    (_when("{attr: {name: renewable_share, lt: 30}}"), r"share 30 is above 1.*30%"),
    (_when("{attr: {name: renewable_share, lt: '300%'}}"), r"between 0 and 1"),
    (_when("{attr: {name: boiler_fuel, in: [coal, peat]}}"), r"unknown fuel 'peat'"),
    (_when("{attr: {name: boiler_fuel, gt: coal}}"), r"'gt' does not apply"),
    (_when("{attr: {name: is_two_high, eq: 'yes'}}"), r"must be true or false"),
    (_when("{attr: {name: industry, prefix: [N7852]}}"), r"N7852 is not in GB/T 4754-2017"),
    (_when("{attr: {name: industry, prefix: [C26x]}}"), r"malformed"),
    (_when("{attr: {name: industry, eq: C26}}"), r"4-digit class codes"),
    (_when("{attr: {name: industry, gt: C2614}}"), r"'gt' does not apply"),
    (_when("{attr: {name: colour, eq: red}}"), r"unknown attribute 'colour'"),
    (_when("{attr: {name: boiler_th, lt: 1, if_missing: maybe}}"), r"if_missing"),
    (_scope("{hit: {role: control_unit, class: 优先}}"), r"never matches"),
    (_scope("{hit: {role: protected, kind: 森林公园}}"), r"never matches"),
    (_scope("{hit: {role: park, chemical: 'yes'}}"), r"never matches"),
    (_scope("{hit: {role: park, county_code: 35070}}"), r"6-digit county code"),
    (_scope("{county: {in: [35078]}}"), r"6 digits"),
    (_scope("{county: {in: []}}"), r"county"),
    (_scope("{hit: {role: control_unit, code: ZH35070210001}}").replace("citation: test",
                                                                        "citation: test\n    line: 环境质量底线"),
     r"control unit's own list clause belongs to the line 生态环境准入清单"),
    (GOOD.replace("citation: test", "citation: ''"), r"citation"),
    (_scope("{all: []}"), r"non-empty list"),
    (_scope("{hit: red_line, near: park}"), r"exactly one key"),
])
def test_values_screen_could_not_evaluate_are_refused(tmp_path, body, match):
    with pytest.raises(RulePackError, match=match):
        load_rule_pack(_pack(tmp_path, body))


def test_values_are_normalised_when_loaded(tmp_path):
    body = _when("{all: [{attr: {name: renewable_share, lt: '30%'}}, {attr: {name: boiler_fuel, in: [燃煤, gas]}},"
                 " {attr: {name: industry, prefix: ['2614', c26]}}]}")
    when = load_rule_pack(_pack(tmp_path, body)).rules[0].when["all"]
    assert when[0]["attr"]["lt"] == pytest.approx(0.30)
    assert when[1]["attr"]["in"] == ["coal", "gas"]
    assert when[2]["attr"]["prefix"] == ["C2614", "C26"]


def test_default_line_follows_the_scope(tmp_path):
    unit = GOOD.replace("scope: {hit: red_line}", "scope: {hit: {role: control_unit, class: 重点管控}}") \
        .replace("dimension: 空间布局约束", "dimension: 污染物排放管控")
    rule = load_rule_pack(_pack(tmp_path, unit)).rules[0]
    assert rule.line == "生态环境准入清单"  # a unit's own clause, whatever its dimension
    other = GOOD.replace("dimension: 空间布局约束", "dimension: 污染物排放管控")
    assert load_rule_pack(_pack(tmp_path, other)).rules[0].line == "环境质量底线"


def test_bundled_pack_lines(catalog):
    pack = load_rule_pack(catalog.rule_pack)
    for rule in pack.rules:
        roles = {arg if isinstance(arg, str) else arg.get("role")
                 for cond in (rule.scope, rule.when) for op, arg in iter_leaves(cond) if op in ("hit", "within", "near")}
        if "control_unit" in roles:
            assert rule.line == "生态环境准入清单", rule.id
    assert {r.line for r in pack.rules} == {"生态保护红线", "环境质量底线", "资源利用上线", "生态环境准入清单"}


def test_rules_check_cli_shares_the_validation(tmp_path, catalog):
    from click.testing import CliRunner

    from zoning.cli import main

    bad = _pack(tmp_path, _when("{attr: {name: boiler_th, gt: abc}}"))
    res = CliRunner().invoke(main, ["rules", "check", str(bad), "--catalog", str(catalog.path)])
    assert res.exit_code == 2 and "finite number" in res.output
    nan = tmp_path / "nan.yaml"
    nan.write_text(HEAD + textwrap.dedent(_scope("{near: {role: protected, within_m: .nan}}")), encoding="utf-8")
    res = CliRunner().invoke(main, ["rules", "check", str(nan), "--catalog", str(catalog.path)])
    assert res.exit_code == 2 and "within_m" in res.output
    ok = CliRunner().invoke(main, ["rules", "check", str(catalog.rule_pack), "--catalog", str(catalog.path)])
    assert ok.exit_code == 0 and "rules valid" in ok.output


# a pack that loads can be evaluated: random condition trees with random values either fail to
# load (RulePackError) or evaluate on random facts without raising
_NAMES = sorted(ATTR_KINDS)
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 50), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["abc", "coal", "燃煤", "30%", "C2614", "C26", "N7852", "优先保护", "饮用水水源保护区",
                                     "350702", "", "lots", "1e3"]),
                    st.lists(st.sampled_from(["coal", "gas", "C2614", "B", 0.3, 5, True, "x"]), max_size=3))


def _leaf():
    attr = st.builds(lambda n, c, v, m: {"attr": {"name": n, c: v, **({"if_missing": m} if m else {})}},
                     st.sampled_from(_NAMES + ["colour"]), st.sampled_from(COMPARATORS), _VALUES,
                     st.sampled_from([None, "unknown", "false", "true", "maybe"]))
    layer = st.builds(lambda op, role, f, v, extra, ev: {op: {"role": role, **({f: v} if f else {}),
                                                              **({extra: ev} if extra else {})}},
                      st.sampled_from(["hit", "within", "near"]), st.sampled_from(list(FILTER_FIELDS) + ["rivers"]),
                      st.sampled_from([None, "class", "kind", "chemical", "grade", "county_code", "colour"]), _VALUES,
                      st.sampled_from([None, "min_share", "within_m"]), _VALUES)
    county = st.builds(lambda v: {"county": {"in": v}}, _VALUES)
    return st.one_of(attr, layer, county, _plausible_attr(), _plausible_layer())


#: values of the right kind (and edge values) per attribute kind and comparator, so that many
#: generated packs load and get evaluated
_KIND_VALUES = {
    "number": ([0, 5, 10, 10.5, 35, 0.0], [[0, 5], [35]]),
    "share": ([0, 0.3, 1, "30%", "100%"], [[0.3, "50%"]]),
    "bool": ([True, False], [[True], [False, True]]),
    "fuel": (["coal", "燃煤", "gas", "none"], [["coal", "oil"], ["biomass"]]),
    "industry": (["C2614", "D4411", "N7862"], [["C2614", "C3216"]]),
    "text": (["x", "项目"], [["x", "y"]]),
}
_KIND_PREFIX = {"industry": ["C26", "B", "D4411", ["C", "N786"]], "text": ["x"]}


def _plausible_attr():
    def build(name, data):
        kind = ATTR_KINDS[name]
        comps = {"number": ["lt", "le", "gt", "ge", "eq", "ne", "in", "not_in"],
                 "share": ["lt", "le", "gt", "ge", "in"], "bool": ["eq", "ne", "in"], "fuel": ["eq", "ne", "in", "not_in"],
                 "industry": ["eq", "in", "prefix", "not_in"], "text": ["eq", "prefix", "in"]}[kind]
        comp = data.draw(st.sampled_from(comps))
        scalars, lists = _KIND_VALUES[kind]
        pool = lists if comp in ("in", "not_in") else (_KIND_PREFIX[kind] if comp == "prefix" else scalars)
        mode = data.draw(st.sampled_from([None, "unknown", "false", "true"]))
        return {"attr": {"name": name, comp: data.draw(st.sampled_from(pool)), **({"if_missing": mode} if mode else {})}}
    return st.builds(build, st.sampled_from(_NAMES), st.data())


def _plausible_layer():
    values = {"class": ["优先保护", "重点管控", ["一般管控"]], "kind": ["国家公园", ["饮用水水源保护区"]],
              "chemical": [True, False], "county_code": ["350702", 350782], "grade": ["一级"], "code": ["ZH1"],
              "id": ["YQ1"], "name": ["n"], "type": ["水源涵养"], "level": ["省级"], "program": ["p"]}

    def build(op, role, data):
        spec = {"role": role}
        field_ = data.draw(st.sampled_from([None] + sorted(FILTER_FIELDS[role])))
        if field_:
            spec[field_] = data.draw(st.sampled_from(values[field_]))
        if op == "near":
            spec["within_m"] = data.draw(st.sampled_from([0, 10, 1000, 1000.5]))
        if op == "hit" and data.draw(st.booleans()):
            spec["min_share"] = data.draw(st.sampled_from([0, 0.5, 1]))
        return {op: spec}
    return st.builds(build, st.sampled_from(["hit", "within", "near"]), st.sampled_from(sorted(FILTER_FIELDS)),
                     st.data())


_CONDITIONS = st.recursive(_leaf(), lambda inner: st.one_of(
    st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
    st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
    st.builds(lambda x: {"not": x}, inner)), max_leaves=5)


@settings(max_examples=400, deadline=None)
@given(scope=st.one_of(st.just("all"), _CONDITIONS), when=st.one_of(st.none(), _CONDITIONS),
       outcome=st.sampled_from(["prohibited", "conditional", "needs_info", "compliant"]),
       industry=st.sampled_from([None, "C2614", "C26", "C2614,D4411", "C9999"]),
       boiler=st.sampled_from([None, 0.0, 10.0]), share=st.sampled_from([None, 0.3]),
       status=st.sampled_from(["ok", "failed", "partial", "gap"]), distance=st.sampled_from([None, 10.0, 5000.0]))
def test_a_pack_that_loads_can_be_evaluated(tmp_path_factory, scope, when, outcome, industry, boiler, share,
                                           status, distance):
    import yaml

    from zoning.screening.attributes import derived
    from zoning.screening.rules import apply_rules, overall_verdict

    rule = {"id": "F", "dimension": "空间布局约束", "citation": "t", "scope": scope, "outcome": outcome,
            "message": {"zh": "x", "en": "x"}}
    if when is not None:
        rule["when"] = when
    path = tmp_path_factory.mktemp("fuzz") / "p.yaml"
    path.write_text(yaml.safe_dump({"name": "f", "version": "1", "rules": [rule]}, allow_unicode=True),
                    encoding="utf-8")
    try:
        pack = load_rule_pack(path)
    except RulePackError:
        return
    attrs = {k: None for k in ("name", "industry", "two_high", "chemical", "boiler_th", "boiler_fuel", "energy_tce",
                               "renewable_share", "clear_share")}
    attrs.update(industry=industry, boiler_th=boiler, boiler_fuel="coal" if boiler else None, renewable_share=share)
    d = derived(attrs, footprint_ha=2.0)
    d.update(forest_ha=1.0, forest_loss_ha=None, stock_loss_tCO2=None, carbon_status="ok")
    hits = [HitRecord("control_unit", "ZH1", "u", "优先保护", 1.0, 1.0, {"code": "ZH1", "class": "优先保护"}),
            HitRecord("park", "YQ1", "p", "省级", 1.0, 1.0, {"id": "YQ1", "chemical": True, "level": "省级"})]
    roles = ("admin", "red_line", "control_unit", "park", "protected", "no_burn", "program")
    facts = Facts(hits=hits, layer_status={r: status for r in roles}, attrs=attrs, derived=d,
                  county_code="350702", distance_fn=lambda role, f: distance)
    fired = apply_rules(pack, facts)
    assert overall_verdict(fired) in ("prohibited", "conditional", "needs_info", "compliant")
    for o in fired:
        assert o.outcome in (outcome, "needs_info")


@pytest.mark.parametrize("share,want", [(0.4999, False), (0.5, True), (0.5001, True)])
def test_min_share_is_inclusive(share, want):
    """min_share is a minimum (以上): a site whose overlap share equals it counts."""
    hits = [HitRecord("red_line", "HX1", "x", "水源涵养", 100.0, share, {"id": "HX1", "type": "水源涵养"})]
    f = Facts(hits=hits, layer_status={"red_line": "ok"}, attrs={}, derived={}, county_code=None)
    assert evaluate({"hit": {"role": "red_line", "min_share": 0.5}}, f).value is want
