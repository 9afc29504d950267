"""Access lists as clauses (issue 12, item 3) and the drafted review opinion (item 4)."""
import io
import json
import re
from pathlib import Path

import docx
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoning.errors import ClauseLibraryError
from zoning.render.docx_report import render_docx
from zoning.render.html_report import render_html
from zoning.screening.clauses import load_clause_library, site_clauses, split_clauses
from zoning.screening.result import ScreenResult
from zoning.vocabulary import DIMENSIONS

SCHEMA = json.loads((Path(__file__).parents[1] / "zoning/schema/result.schema.json").read_text(encoding="utf-8"))


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(alphabet="禁止新建化工项目严格控制排放总量应当", min_size=1, max_size=20), min_size=1,
                      max_size=6),
       style=st.sampled_from(["{i}.", "{i}、", "（{i}）", "({i})"]), sep=st.sampled_from(["", "\n", "；", " "]))
def test_split_clauses_recovers_numbered_texts(texts, style, sep):
    joined = sep.join(style.format(i=i) + t + "。" for i, t in enumerate(texts, 1))
    assert split_clauses(joined) == [t + "。" for t in texts]


def test_split_clauses_plain_and_stray_line_breaks():
    assert split_clauses("禁止新建\n化工项目。") == ["禁止新建化工项目。"]
    assert split_clauses("① 禁止采矿；② 限制开发") == ["禁止采矿", "限制开发"]
    assert split_clauses("排放量不超过 1.5 吨。") == ["排放量不超过 1.5 吨。"]  # a decimal is not a number mark
    assert split_clauses("") == []


def _library(tmp_path, clauses):
    path = tmp_path / "clauses.yaml"
    path.write_text(json.dumps({"name": "t", "version": "1", "clauses": clauses}, ensure_ascii=False), encoding="utf-8")
    return load_clause_library(path)


@pytest.mark.parametrize("bad,match", [
    ({"tier": "乡级", "dimension": DIMENSIONS[0], "text": "x"}, "tier"),
    ({"tier": "省级", "dimension": "其他", "text": "x"}, "dimension"),
    ({"tier": "省级", "dimension": DIMENSIONS[0], "text": " "}, "text"),
    ({"tier": "单元", "dimension": DIMENSIONS[0], "text": "x"}, "unit_code"),
    ({"tier": "省级", "dimension": DIMENSIONS[0], "text": "x", "colour": 1}, "unknown"),
])
def test_library_refuses_what_it_cannot_use(tmp_path, bad, match):
    with pytest.raises(ClauseLibraryError, match=match):
        _library(tmp_path, [bad])


def test_statuses_follow_the_rules(tmp_path):
    lib = _library(tmp_path, [
        {"tier": "省级", "dimension": DIMENSIONS[0], "text": "A", "rule": "R1"},
        {"tier": "市级", "dimension": DIMENSIONS[1], "text": "B", "rule": "R2", "unit_class": "优先保护"},
        {"tier": "市级", "dimension": DIMENSIONS[1], "text": "B2", "rule": "R2", "unit_class": "一般管控"},
        {"tier": "县级", "dimension": DIMENSIONS[2], "text": "C", "rule": "R3", "county_code": "350702"},
        {"tier": "县级", "dimension": DIMENSIONS[2], "text": "C2", "county_code": "350781"},
        {"tier": "单元", "dimension": DIMENSIONS[3], "text": "D", "unit_code": "U 1", "rule": "R4"},
        {"tier": "单元", "dimension": DIMENSIONS[3], "text": "E", "unit_code": "U1", "rule": "R9"},
        {"tier": "单元", "dimension": DIMENSIONS[3], "text": "F", "unit_code": "U2"},
    ])
    unit = {"code": "U1", "class": "优先保护", "county_code": "350702", "name": "u"}
    got = site_clauses(lib, [unit], {"R1": "prohibited", "R2": "conditional", "R3": "needs_info"},
                       {"R1", "R2", "R3", "R4"})
    by_text = {c["text"]: (c["status"], c["rule_id"], c["tier"]) for c in got}
    assert by_text == {"A": ("violates", "R1", "省级"), "B": ("conditional", "R2", "市级"),
                       "C": ("manual", "R3", "县级"),  # undecided rule: the reviewer checks it
                       "D": ("complies", "R4", "单元"),  # evaluated, did not fire; "U 1" normalised
                       "E": ("manual", None, "单元")}  # names a rule the pack does not have
    assert [c["tier"] for c in got] == ["省级", "市级", "县级", "单元", "单元"]


@pytest.fixture(scope="module")
def sample_results(catalog):
    from zoning.api import screen
    return {r.site_id: r for r in screen(catalog.path.parent / "nanping/generated/sample_projects.gpkg",
                                         catalog=catalog.path)}


def test_sample_projects_quote_their_units_clauses(sample_results):
    for sid, r in sample_results.items():
        units = {h.id for h in r.hits if h.role == "control_unit"}
        assert {c["unit_code"] for c in r.clauses} == units, sid
        for u in units:  # four dimensions for every unit touched
            assert {c["dimension"] for c in r.clauses if c["unit_code"] == u} == set(DIMENSIONS), (sid, u)
        fired = {x.id: x.outcome for x in r.rules}
        for c in r.clauses:  # a decided status always agrees with its rule's outcome in the same result
            if c["status"] == "violates":
                assert fired[c["rule_id"]] == "prohibited"
            if c["status"] == "conditional":
                assert fired[c["rule_id"]] == "conditional"
            if c["status"] == "complies" and c["rule_id"] in fired:
                assert fired[c["rule_id"]] == "compliant"
        jsonschema.validate(json.loads(r.to_json()), SCHEMA)
        assert r.opinion["draft"] is True and "草稿" in r.opinion["zh"] and "DRAFT" in r.opinion["en"]
    p01 = sample_results["P01"]  # quarry in a red line: priority unit, no industry there (UC-1)
    assert any(c["status"] == "violates" and c["rule_id"] == "UC-1" for c in p01.clauses)
    assert "不符合" in p01.opinion["zh"] and "UC-1" in p01.opinion["zh"]
    # every rule that makes the verdict is named in the opinion, clause or not (RL-01: the red line)
    for r in sample_results.values():
        against = {x.id for x in r.rules if x.outcome in ("prohibited", "conditional")}
        named = set(re.findall(r"规则 ([\w.-]+)）", r.opinion["zh"]))
        assert against <= named or len(against) > 4, (r.site_id, against, named)
        assert r.opinion["zh"].count("单元单元") == 0 and "项目“" in r.opinion["zh"]
        if r.verdict == "needs_info" and r.verdict_reasons:  # what is missing is said, in Chinese first
            assert "尚需补充" in r.opinion["zh"] and "Still needed" in r.opinion["en"]
        assert " 1 are " not in r.opinion["en"] and " 1 need " not in r.opinion["en"]


def test_reports_quote_clauses_checklist_and_opinion(sample_results):
    r = sample_results["P05"]
    html = render_html(r)
    assert "生态环境准入清单条款对照" in html and "人工核查清单" in html and "审核意见草稿" in html
    manual = [c for c in r.clauses if c["status"] == "manual"]
    assert manual and html.count("☐") == len(manual)
    assert r.opinion["zh"] in html and r.opinion["en"] not in html
    en = render_html(r, lang="en")
    assert r.opinion["en"] in en and "Draft review opinion" in en
    d = docx.Document(io.BytesIO(render_docx(r)))
    text = "\n".join(p.text for p in d.paragraphs)
    cells = [c.text for tb in d.tables for row in tb.rows for c in row.cells]
    assert r.opinion["zh"] in text and "需人工核查" in cells and "不符合" in cells


def test_older_results_read_without_clauses(sample_results):
    doc = json.loads(sample_results["P10"].to_json())
    doc.pop("clauses"), doc.pop("opinion")
    old = ScreenResult.from_dict(doc)
    assert old.clauses == [] and old.opinion is None
    assert "审核意见草稿" not in render_html(old)


def test_layers_check_covers_the_clause_library(tmp_path, catalog):
    import dataclasses

    from zoning.api import check_layers
    lib = tmp_path / "clauses.yaml"
    lib.write_text(json.dumps({"name": "t", "version": "1", "clauses": [
        {"tier": "单元", "dimension": DIMENSIONS[0], "text": "x", "unit_code": "ZH99999990001"}]}), encoding="utf-8")
    cat = dataclasses.replace(catalog, clauses=lib)
    found = {f.check: f for f in check_layers(cat) if f.role == "clauses"}
    assert found["clause library"].ok and not found["unit codes"].ok
    assert "ZH99999990001" in found["unit codes"].detail
    lib.write_text("clauses: [{tier: 乡级}]", encoding="utf-8")
    assert not {f.check: f for f in check_layers(cat) if f.role == "clauses"}["clause library"].ok
