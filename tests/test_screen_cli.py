"""`zoning screen` as a user runs it: outputs, overwrite protection, batch files, escaping."""
import json
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from zoning.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def sample_file(catalog):
    return catalog.one("red_line").path.parent / "sample_projects.gpkg"


def test_single_site_outputs(tmp_path, catalog):
    out = tmp_path / "o"
    res = run("screen", "118.30,27.00", "-a", "industry=C2041", "-a", "two_high=false", "-a", "chemical=false",
              "-a", "name=<img src=x onerror=alert(1)>", "-o", out, "--catalog", catalog.path)
    assert res.exit_code == 0, res.output
    assert {p.name for p in out.iterdir() if p.name != ".zoning-output"} == {"result.json", "report.html", "report.docx", "sites.gpkg", "summary.csv",
                                               "map.html"}
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["inputs"]["industry"] == "C2041"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "符合性分析" in html and "生态保护红线" in html and "免责声明" in html and "合成" in html
    assert "http://" not in html and "https://" not in html  # self-contained
    with zipfile.ZipFile(out / "report.docx") as z:
        doc = z.read("word/document.xml").decode("utf-8")
        assert "符合性分析" in doc and any(n.startswith("word/media/") for n in z.namelist())  # the figure
    sites = gpd.read_file(out / "sites.gpkg")
    assert sites["verdict"].iloc[0] == result["verdict"]
    # a second run refuses to overwrite, --overwrite replaces
    again = run("screen", "118.30,27.00", "-o", out, "--catalog", catalog.path)
    assert again.exit_code == 2 and "--overwrite" in again.output
    again = run("screen", "118.30,27.00", "-o", out, "--overwrite", "--catalog", catalog.path)
    assert again.exit_code == 0, again.output


def test_english_report(tmp_path, catalog):
    out = tmp_path / "en"
    res = run("screen", "118.30,27.00", "-o", out, "--lang", "en", "--catalog", catalog.path)
    assert res.exit_code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Compliance analysis" in html and "Disclaimer" in html


def test_batch_outputs(tmp_path, catalog, sample_file):
    out = tmp_path / "batch"
    res = run("screen", sample_file, "-o", out, "--catalog", catalog.path)
    assert res.exit_code == 0, res.output
    raw = (out / "summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert list(summary.columns[:4]) == ["站点编号", "项目名称", "结论", "结论（英文）"]
    assert len(summary) == 23
    assert len(list((out / "results").glob("*.json"))) == 23
    assert not (out / "reports").exists()  # batch reports only on request
    gpkg = gpd.read_file(out / "summary.gpkg")
    assert len(gpkg) == 23 and gpkg.crs.to_epsg() == 4490


def test_batch_with_error_row_exits_1_but_writes(tmp_path, catalog):
    src = tmp_path / "sites.geojson"
    good = shapely.box(118.52, 27.0, 118.522, 27.002)
    bowtie = shapely.Polygon([(118.17, 26.64), (118.172, 26.642), (118.172, 26.64), (118.17, 26.642)])
    gpd.GeoDataFrame({"id": ["ok", "../../etc/passwd"]}, geometry=[good, bowtie], crs=4490).to_file(src)
    out = tmp_path / "o"
    res = run("screen", src, "-o", out, "--reports", "--catalog", catalog.path)
    assert res.exit_code == 1
    assert "could not be screened" in res.output
    names = sorted(p.name for p in (out / "results").iterdir())
    assert names == ["etc_passwd.json", "ok.json"]  # the id was sanitised, nothing escaped the folder
    assert (out / "reports" / "ok.html").exists()


def test_screen_json_stdout(catalog):
    res = run("screen", "118.30,27.00", "--json", "--catalog", catalog.path)
    assert res.exit_code == 0
    assert json.loads(res.output)["site_id"] == "S1"


@pytest.mark.parametrize("args,needle", [
    (["-a", "colour=red"], "unknown attribute 'colour'"),
    (["-a", "industry=XYZ"], "malformed"),
    (["-a", "boiler_th=-3"], "boiler_th"),
    (["-a", "renewable_share=150%"], "between 0 and 1"),
    (["--buffers", "0,abc"], "buffer"),
    (["--rules", "tests/data/missing.yaml"], "rule pack not found"),
])
def test_screen_user_errors(catalog, args, needle):
    res = run("screen", "118.30,27.00", *args, "--catalog", catalog.path)
    assert res.exit_code == 2
    assert needle in res.output


def test_rules_check_command(catalog, tmp_path):
    res = run("rules", "check", catalog.rule_pack, "--catalog", catalog.path)
    assert res.exit_code == 0 and "rules valid" in res.output and "warning" not in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: '1'\nrules:\n  - id: Q\n    dimension: 空间布局约束\n    citation: c\n"
                   "    scope: {hit: {role: control_unit, code: ZH99999910001}}\n    outcome: prohibited\n"
                   "    message: {zh: a, en: b}\n", encoding="utf-8")
    res = run("rules", "check", bad, "--catalog", catalog.path)
    assert res.exit_code == 0 and "ZH99999910001 is not in the catalog" in res.output
    bad.write_text("name: x\nversion: '1'\nrules:\n  - id: Q\n    outcome: nope\n", encoding="utf-8")
    res = run("rules", "check", bad)
    assert res.exit_code == 2 and "line 4 rule Q" in res.output


def test_excel_sites_with_chinese_attribute_headers(tmp_path, catalog):
    import pandas as pd

    xlsx = tmp_path / "项目清单.xlsx"
    pd.DataFrame({"项目编号": ["X1", "X2"], "项目名称": ["延平食品厂", "顺昌化工"], "经度": [118.2258, 117.875],
                  "纬度": [26.6302, 26.9127], "行业代码": ["C1371", "C2614"], "是否两高": ["否", "是"],
                  "是否化工": ["否", "是"], "锅炉蒸吨": [8, None], "锅炉燃料": ["燃煤", None]}).to_excel(xlsx, index=False)
    res = run("screen", xlsx, "--json", "--catalog", catalog.path)
    assert res.exit_code == 0, res.output
    results = {r["site_id"]: r for r in json.loads(res.output)}
    assert results["X1"]["inputs"]["industry"] == "C1371" and results["X1"]["inputs"]["boiler_fuel"] == "coal"
    assert results["X2"]["inputs"]["chemical"] is True
    assert results["X2"]["verdict"] == "prohibited"  # chemicals outside a chemical park


def test_map_from_a_batch_folder(tmp_path, catalog, sample_file):
    out = tmp_path / "batch"
    assert run("screen", sample_file, "-o", out, "--catalog", catalog.path).exit_code == 0
    res = run("map", "--result", out, "-o", tmp_path / "m.html", "--no-raster", "--catalog", catalog.path)
    assert res.exit_code == 0, res.output
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert html.count('"verdict_label"') == 23
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run("map", "--result", empty, "-o", tmp_path / "n.html", "--catalog", catalog.path)
    assert res.exit_code == 2 and "no screening results" in res.output
