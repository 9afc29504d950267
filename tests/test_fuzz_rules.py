"""Fuzz: hostile rule packs and catalogs.

- ``rules check`` refuses everything ``screen`` could not evaluate: a generated pack either is
  refused with a message naming the rule and line, or screens sites without any failure.
- Any catalog (hostile names, field maps, CRS, units, types, missing files) gives a result or a
  one-line message in ``layers list``, ``rules check`` and ``screen``.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fuzz_support import CATALOG, HOSTILE, Cached, check_result, cli, examples, patch_layers, record

FUZZ = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=False, database=None,
            phases=[Phase.explicit, Phase.generate])
PACK = CATALOG.parent / "rules" / "nanping.yaml"


@pytest.fixture(scope="module", autouse=True)
def cached_layers(catalog):
    with pytest.MonkeyPatch.context() as mp:
        patch_layers(mp)
        yield


@pytest.fixture(scope="module")
def test_sites(catalog):
    """Sample sites that reach every kind of rule (red line, boiler, chemicals, compliant) and one outside."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from zoning.io.sites import read_sites

    sample = read_sites(CATALOG.parent / "nanping" / "generated" / "sample_projects.gpkg")
    picked = sample[sample["site_id"].isin(["P01", "P03", "P05", "P07", "P10", "P17", "P19"])]
    far = read_sites(gpd.GeoDataFrame({"site_id": ["FAR"]}, geometry=[shapely.Point(116.4, 39.9)], crs=4490))
    return pd.concat([picked, far], ignore_index=True)


# --- rule packs -------------------------------------------------------------------------------
from zoning.screening.rules import ATTR_KINDS, COMPARATORS, FILTER_FIELDS  # noqa: E402

values = st.one_of(st.integers(-10, 10 ** 6), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                   st.none(), st.text(max_size=10), st.sampled_from(HOSTILE[:6]),
                   st.sampled_from(["C2614", "C26", "C261", "C9999", "C3011", "coal", "gas", "燃煤", "30%", "150%",
                                    "350702", "35070", "生物多样性维护", "优先保护", "国家公园", "一级", "省级"]),
                   st.lists(st.sampled_from(["C2614", "coal", 1, 0.5, "350782", None]), max_size=3))
roles = st.sampled_from(sorted(FILTER_FIELDS) + ["nonsense", ""])


@st.composite
def layer_test(draw, op):
    if draw(st.integers(0, 2)):  # mostly well-formed
        role = draw(st.sampled_from(sorted(FILTER_FIELDS)))
        spec = {"role": role}
        for (r, key), allowed in FILTER_VALUES.items():
            if r == role and draw(st.booleans()):
                spec[key] = draw(st.sampled_from(list(allowed)))
        if op == "hit" and draw(st.booleans()):
            spec["min_share"] = draw(st.floats(0, 1))
        if op == "near":
            spec["within_m"] = draw(st.floats(0, 20_000))
        return {op: spec} if len(spec) > 1 or op == "near" else {op: role}
    role = draw(roles)
    if draw(st.booleans()):
        return {op: role}
    spec = {"role": role}
    fields = sorted(FILTER_FIELDS.get(role, set())) + ["bogus"]
    for key in draw(st.lists(st.sampled_from(fields), max_size=2, unique=True)):
        spec[key] = draw(values)
    if op == "hit" and draw(st.booleans()):
        spec["min_share"] = draw(values)
    if op == "near":
        spec["within_m"] = draw(st.one_of(values, st.floats(0, 5000)))
    return {op: spec}


from zoning.screening.rules import FILTER_VALUES  # noqa: E402

#: values a rule of each attribute kind may legitimately compare with (so that many packs load)
GOOD = {"number": st.one_of(st.integers(0, 10 ** 5), st.floats(0, 1e5)), "share": st.one_of(
    st.floats(0, 1), st.sampled_from(["30%", "0%", "100%"])), "bool": st.booleans(),
    "fuel": st.sampled_from(["coal", "gas", "oil", "biomass", "electric", "none", "燃煤"]),
    "industry": st.sampled_from(["C2614", "C3011", "C1371", "C3216", "C2641", "D4411"]), "text": st.text(max_size=6)}
ORDERED = {"number": ("eq", "ne", "lt", "le", "gt", "ge"), "share": ("eq", "ne", "lt", "le", "gt", "ge"),
           "bool": ("eq", "ne"), "fuel": ("eq", "ne", "in", "not_in"), "industry": ("eq", "ne", "in", "not_in", "prefix"),
           "text": ("eq", "ne", "in", "not_in", "prefix")}


@st.composite
def attr_test(draw):
    if draw(st.integers(0, 2)):  # mostly well-formed, so that many packs load and get evaluated
        name = draw(st.sampled_from(sorted(ATTR_KINDS)))
        kind = ATTR_KINDS[name]
        comp = draw(st.sampled_from(ORDERED.get(kind, ("eq",))))
        good = GOOD.get(kind, st.text(max_size=6))
        value = draw(st.lists(good, min_size=1, max_size=3)) if comp in ("in", "not_in") else draw(good)
        if kind == "industry" and comp == "prefix":
            value = draw(st.sampled_from(["C26", "C261", "C", "D44"]))
        out = {"name": name, comp: value}
        if draw(st.booleans()):
            out["if_missing"] = draw(st.sampled_from(["unknown", "false", "true"]))
        return {"attr": out}
    name = draw(st.one_of(st.sampled_from(sorted(ATTR_KINDS) + ["colour"]), values))
    comp = draw(st.sampled_from(list(COMPARATORS) + ["bogus"]))
    out = {"name": name, comp: draw(values)}
    if draw(st.booleans()):
        out["if_missing"] = draw(st.sampled_from(["unknown", "false", "true", True, False, "maybe", 3]))
    return {"attr": out}


leaf = st.one_of(layer_test("hit"), layer_test("within"), layer_test("near"), attr_test(),
                 st.fixed_dictionaries({"county": st.fixed_dictionaries({"in": st.lists(values, max_size=3)})}),
                 values, st.just({}), st.just({"hit": "red_line", "attr": {}}))
condition = st.recursive(leaf, lambda c: st.one_of(st.fixed_dictionaries({"all": st.lists(c, max_size=3)}),
                                                   st.fixed_dictionaries({"any": st.lists(c, max_size=3)}),
                                                   st.fixed_dictionaries({"not": c})), max_leaves=6)


good_leaf = st.one_of(layer_test("hit"), layer_test("within"), layer_test("near"), attr_test(),
                      st.fixed_dictionaries({"county": st.fixed_dictionaries({"in": st.lists(
                          st.sampled_from(["350702", "350782", 350703]), min_size=1, max_size=2)})}))
good_condition = st.recursive(good_leaf, lambda c: st.one_of(
    st.fixed_dictionaries({"all": st.lists(c, min_size=1, max_size=3)}),
    st.fixed_dictionaries({"any": st.lists(c, min_size=1, max_size=3)}), st.fixed_dictionaries({"not": c})),
    max_leaves=6)


@st.composite
def rule(draw, i):
    """A well-formed rule (hostile texts, random but valid conditions), and now and then one corruption."""
    r = {"id": f"R{i}{draw(st.sampled_from(['', HOSTILE[0], '-x']))}",
         "dimension": draw(st.sampled_from(["空间布局约束", "污染物排放管控", "环境风险防控", "资源利用效率"])),
         "citation": draw(st.sampled_from(["《南平市…》第1条", HOSTILE[1], HOSTILE[5]])),
         "scope": draw(st.one_of(st.just("all"), good_condition)),
         "when": draw(good_condition),
         "outcome": draw(st.sampled_from(["prohibited", "conditional", "needs_info", "compliant"])),
         "message": {"zh": draw(st.sampled_from(HOSTILE)), "en": draw(st.text(min_size=1, max_size=8))}}
    corruption = draw(st.integers(0, 12))  # 0-3: one corruption (about a third of the rules)
    if corruption == 0:
        r[draw(st.sampled_from(list(r)))] = draw(values)
    elif corruption == 1:
        r["when"] = draw(condition)
    elif corruption == 2:
        del r[draw(st.sampled_from(list(r)))]
    elif corruption == 3:
        r[draw(st.sampled_from(["title", "line", "extra"]))] = draw(st.one_of(values, st.sampled_from(
            ["生态保护红线", "生态环境准入清单"])))
    return r


@st.composite
def pack(draw):
    n = draw(st.integers(1, 4))
    return {"name": draw(st.sampled_from(["fuzz", "fuzz", "fuzz", HOSTILE[0], HOSTILE[5], None])),
            "version": draw(st.sampled_from([1, "2024.1", 1, 1, 2, None])),
            "synthetic": True, "rules": [draw(rule(i)) for i in range(n)]}


@settings(max_examples=examples(40, 600), **FUZZ)
@given(doc=pack(), via_cli=st.integers(0, 3))
def test_a_pack_that_loads_can_be_evaluated(doc, via_cli, test_sites):
    from zoning.errors import RulePackError, ZoningError
    from zoning.screening.pipeline import screen
    from zoning.screening.rules import load_rule_pack

    with tempfile.TemporaryDirectory(prefix="zoning-fuzz-") as tmp:
        path = Path(tmp) / "pack.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        if via_cli == 0:
            kind = check_result(cli("rules", "check", path), "rules check")
            record(cases=1, rule_pack_cases=1, **{f"ending_{kind}": 1})
        try:
            loaded = load_rule_pack(path)
        except RulePackError:
            record(rule_packs_refused=1)
            return
        except ZoningError as exc:
            raise AssertionError(f"a pack problem must be a RulePackError: {exc}") from None
        results = screen(test_sites, layers=Cached.get(), rule_pack=loaded)
        failed = [r.error for r in results if r.error and ("internal" in r.error or "内部" in r.error)]
        assert not failed, f"rules check accepted a pack screen cannot evaluate: {failed[:2]}\n{doc}"
        assert {r.verdict for r in results if not r.error} <= {"prohibited", "conditional", "needs_info", "compliant"}
        record(rule_packs_accepted_and_evaluated=1, cases=1)


# --- catalogs ---------------------------------------------------------------------------------
def _base_doc():
    doc = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    doc["rules"] = str(PACK)
    for entry in doc["layers"]:
        entry["path"] = str((CATALOG.parent / entry["path"]).resolve())
    return doc


mutation = st.sampled_from(["name", "fields", "crs", "units", "coverage", "kind", "layer", "extra", "path", "role",
                            "type", "rules", "pools", "encoding"])


@settings(max_examples=examples(12, 150), **FUZZ)
@given(mutations=st.lists(st.tuples(st.integers(0, 20), mutation, values), max_size=4), screen_too=st.integers(0, 3))
def test_hostile_catalogs_end_in_a_result_or_a_message(mutations, screen_too):
    doc = _base_doc()
    for index, what, value in mutations:
        entry = doc["layers"][index % len(doc["layers"])]
        if not isinstance(entry, dict):  # replaced by a scalar by an earlier mutation
            continue
        if what == "name":
            entry["name"] = HOSTILE[index % len(HOSTILE)] if isinstance(value, bool) else value
        elif what == "fields":
            entry["fields"] = {"name": value} if index % 2 else value
        elif what == "extra":
            entry["colour"] = value
        elif what == "rules":
            doc["rules"] = value
        elif what == "type":
            doc["layers"][index % len(doc["layers"])] = value
        else:
            entry[what] = value
    with tempfile.TemporaryDirectory(prefix="zoning-fuzz-") as tmp:
        path = Path(tmp) / "catalog.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        kinds = [check_result(cli("layers", "list", "--catalog", path), "layers list"),
                 check_result(cli("rules", "check", PACK, "--catalog", path), "rules check --catalog")]
        if screen_too == 0:
            kinds.append(check_result(cli("screen", "118.17,26.64", "--catalog", path), "screen --catalog"))
        record(cases=len(kinds), catalog_cases=1, **{f"ending_{k}": kinds.count(k) for k in set(kinds)})
