"""Rule packs: validation messages name the rule id and line; three-valued evaluation."""
import textwrap

import pytest

from zoning.errors import RulePackError
from zoning.screening.rules import Facts, Tri, evaluate, load_rule_pack
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
    assert pack.version == "2024.1-sample" and len(pack.rules) >= 20
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
