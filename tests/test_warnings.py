"""Warnings people see (issue 11, item 2): on the console, Chinese then English, before the
verdict table (every warning for one site; per kind with counts and example ids for a batch;
``--quiet`` silences them), and at the top of every report (HTML and DOCX)."""
from __future__ import annotations

import io
import json
import re
import shlex
from collections import Counter
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from zoning.cli import main
from zoning.render.docx_report import render_docx
from zoning.render.html_report import render_html
from zoning.render.warnings import summarise, warning_kind, warning_lines
from zoning.screening.pipeline import screen

ROOT = Path(__file__).resolve().parents[1]
NO_CRS_ZH = "未声明坐标系"
NO_CRS_EN = "no CRS given"
TABLE_HEADER = "结论 verdict"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def demo_single_site_args() -> list[str]:
    """The single-site line of `make demo`, read from the Makefile (so the test follows it)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if "zoning screen 118." in ln)
    args = shlex.split(line.split("zoning screen", 1)[1])
    out = []
    skip = False
    for a in args:  # drop make variables and the output options; the test names its own
        if skip:
            skip = False
            continue
        if a in ("--catalog", "-o"):
            skip = True
            continue
        if a == "--overwrite" or "$(" in a:
            continue
        out.append(a)
    return out


def test_demo_single_site_prints_its_warnings_before_the_table(catalog):
    """`make demo`'s single site has no CRS: the console says so (Chinese, then English) before the verdict."""
    args = demo_single_site_args()
    assert args[0].startswith("118.")
    res = run("screen", *args, "--catalog", catalog.path)
    assert res.exit_code == 0, res.output
    out = res.output
    assert NO_CRS_ZH in out and NO_CRS_EN in out and "--crs gcj02" in out
    assert out.index(NO_CRS_ZH) < out.index(NO_CRS_EN) < out.index(TABLE_HEADER)


def test_every_warning_of_one_site_is_printed(catalog, layers):
    r = screen("118.17,26.64", layers=layers, attributes={"industry": "C1371"})[0]
    assert len(r.warnings) >= 2  # no CRS + synthetic layers (at least)
    res = run("screen", "118.17,26.64", "-a", "industry=C1371", "--catalog", catalog.path)
    head = res.output[: res.output.index(TABLE_HEADER)]
    for w in r.warnings:
        assert w in head
        zh, en = w.split(" / ", 1) if " / " in w else (w, "")
        assert re.search(r"[\u4e00-\u9fff]", zh)
        if en:
            assert head.index(zh) < head.index(en)


def test_outside_site_warning_and_hint_on_the_console(catalog, data):
    res = run("screen", data / "jzd_nozone.csv", "--crs", "4549", "-a", "industry=C3011", "-a", "two_high=true",
              "--catalog", catalog.path)
    out = res.output
    assert res.exit_code == 0, out
    head = out[: out.index(TABLE_HEADER)]
    assert "outside the layers' coverage" in head and "try --crs 4548" in head
    # a batch (2 sites): one line per kind, with the count and the example ids
    assert re.search(r"site outside the layers' coverage：2 个站点 sites \(A1, A2\)", head)
    assert "synthetic sample data：2 个站点 sites (A1, A2)" in head
    # the table says why the verdict is needs_info
    assert "outside coverage" in out[out.index(TABLE_HEADER):]


def test_batch_summary_counts_match_an_independent_count(catalog, layers):
    path = catalog.one("red_line").path.parent / "sample_projects.gpkg"
    results = screen(path, layers=layers)
    groups = summarise(results)
    truth = Counter()
    for r in results:
        for kind in {warning_kind(w) for w in r.warnings}:
            truth[kind] += 1
    assert {g["kind"]: g["count"] for g in groups if g["kind"] != "other"} == \
        {k: v for k, v in truth.items() if k != "other"}
    synthetic = next(g for g in groups if g["kind"] == "synthetic")
    assert synthetic["count"] == len(results) == 23
    res = run("screen", path, "--catalog", catalog.path)
    head = res.output[: res.output.index(TABLE_HEADER)]
    assert "23 个站点 sites (P01, P02, P03, P04, P05 …)" in head
    assert head.count("  ! ") == len(groups)  # one line per kind, not one per site


def test_quiet_silences_warnings(catalog, data):
    res = run("screen", "118.17,26.64", "--quiet", "--catalog", catalog.path)
    assert res.exit_code == 0 and NO_CRS_EN not in res.output and TABLE_HEADER in res.output
    res = run("screen", data / "jzd_nozone.csv", "--crs", "4549", "-q", "--catalog", catalog.path)
    assert "outside the layers' coverage" not in res.output and "提示 / warnings" not in res.output


def test_json_output_stays_json(catalog):
    res = CliRunner().invoke(main, ["screen", "118.17,26.64", "--json", "--catalog", str(catalog.path)])
    assert res.exit_code == 0
    doc = json.loads(res.output)  # nothing but the JSON, which carries the warnings itself
    assert any(NO_CRS_EN in w for w in doc["warnings"])


def test_warning_kinds():
    assert warning_kind("未声明坐标系 / no CRS given: read as CGCS2000 lon/lat") == "no_crs"
    assert warning_kind("多边形无效已修复 / invalid polygon repaired (x)") == "repair"
    assert warning_kind("站点… / site lies outside the layers' coverage, i.e. …") == "coverage"
    assert warning_kind("图层 X（red_line）加载失败 / layer red_line failed to load (x)") == "layer"
    assert warning_kind("something new 12") == warning_kind("something new 13") == "other"


def _outside_result(layers, data):
    return screen(data / "jzd_nozone.csv", crs=4549, layers=layers, attributes={"industry": "C3011"})[0]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_report_warnings_at_the_top(layers, data, lang):
    r = _outside_result(layers, data)
    html = render_html(r, lang=lang)
    first = html.index(r.warnings[0].replace("'", "&#x27;").replace("“", "“"))
    compliance = html.index("<h2>" + ("符合性分析" if lang == "zh" else "Compliance analysis") + "</h2>")
    site = html.index("<h2>" + ("项目站点" if lang == "zh" else "Site") + "</h2>")
    assert first < site < compliance
    assert html.count('id="warnings"') == 1  # not repeated at the bottom
    assert html.index("try --crs 4548") < compliance


def test_docx_report_warnings_at_the_top(layers, data):
    r = _outside_result(layers, data)
    doc = docx.Document(io.BytesIO(render_docx(r)))
    texts = [p.text for p in doc.paragraphs]
    warn_heading = texts.index("提示")
    compliance = texts.index("符合性分析")
    assert warn_heading < compliance
    assert any("try --crs 4548" in t for t in texts[warn_heading:compliance])
    assert texts.count("提示") == 1


def test_reports_written_by_screen_have_warnings_first(tmp_path, catalog):
    out = tmp_path / "single"
    res = run("screen", "118.17,26.64", "-a", "industry=C1371", "-o", out, "--catalog", catalog.path)
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.index(NO_CRS_EN) < html.index("<h2>符合性分析</h2>")
    texts = [p.text for p in docx.Document(out / "report.docx").paragraphs]
    assert min(i for i, t in enumerate(texts) if NO_CRS_EN in t) < texts.index("符合性分析")


def test_warning_lines_for_nothing_is_empty(layers):
    r = screen("118.17,26.64", layers=layers, attributes={"industry": "C1371"})[0]
    r.warnings = []
    assert warning_lines([r]) == []
    assert warning_lines([r, r]) == []
