"""Several site files in one upload: every site keeps a result of its own, told apart by its file.

Found by a cold trial: sites.geojson and sites.gpkg (same stem, same ids S1..S5) gave ids
"sites:S1" twice and results.zip kept only five of the ten results."""
from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient

from zoning.service import Settings, create_app
from zoning.service.uploads import _unique

from conftest import job_results


@pytest.fixture()
def client(layers, tmp_path):
    app = create_app(Settings(db=str(tmp_path / "h.sqlite"), tmp_dir=tmp_path / "w", workers=1), layers=layers)
    with TestClient(app) as c:
        yield c


def _five(layers, dx: float) -> gpd.GeoDataFrame:
    x, y = layers.coverage.representative_point().coords[0]
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(1, 6)], "industry": "C2041"},
                            geometry=[shapely.box(x + dx + i * 0.003, y, x + dx + i * 0.003 + 0.002, y + 0.002)
                                      for i in range(5)], crs=4490)


def test_same_stem_files_keep_every_site(client, layers, tmp_path):
    a, b = tmp_path / "sites.geojson", tmp_path / "sites.gpkg"
    _five(layers, 0.0).to_file(a, driver="GeoJSON")
    _five(layers, 0.05).to_file(b, driver="GPKG")
    files = [("file", (a.name, a.read_bytes())), ("file", (b.name, b.read_bytes()))]
    out = client.post("/api/v1/screen", files=files)
    assert out.status_code == 200, out.text[:300]
    ids = [r["site_id"] for r in out.json()]
    assert len(ids) == 10 and len(set(ids)) == 10, ids
    assert {i.split(":")[0] for i in ids} == {"sites.geojson", "sites.gpkg"}
    # a job of both files: ten results in the zip, one per site
    both = tmp_path / "both.zip"
    import zipfile

    with zipfile.ZipFile(both, "w") as z:
        z.write(a, a.name)
        z.write(b, b.name)
    got = job_results(client, both)
    assert len(got) == 10 and set(got) == set(ids)


def test_ids_made_unique_keep_the_first_and_number_the_rest():
    assert _unique(["a", "b", "a", "a~2", "a"]) == ["a", "b", "a~3", "a~2", "a~4"]
    assert _unique(["x", "y"]) == ["x", "y"]


def test_results_with_the_same_id_keep_a_file_each(layers, tmp_path):
    """write_screen_outputs keyed its files by site id: two results with one id (duplicate ids are
    error rows of a batch) left one file. Each result now keeps its own."""
    import json

    from zoning.api import screen
    from zoning.export.screening import write_screen_outputs

    sites = _five(layers, 0.0)
    sites.loc[3, "site_id"] = "S1"  # S1 twice: both error rows
    results = screen(sites, layers=layers, compute="local")
    out = write_screen_outputs(list(results), tmp_path / "o", layers=layers, reports=False)
    files = sorted((tmp_path / "o" / "results").glob("*.json"))
    assert len(files) == 5
    docs = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    assert sorted(d["site_id"] for d in docs) == sorted(r.site_id for r in results)
    assert sum(1 for k in out if k.startswith("result:")) == 5


def test_a_batch_too_large_for_a_map_says_so(layers, tmp_path, monkeypatch):
    """Beyond MAX_MAP_SITES a batch writes no map.html: the command says so and how to draw one."""
    from click.testing import CliRunner

    from zoning.cli import main
    from zoning.cli import screen as screen_cli
    from zoning.export import screening as export_screening

    monkeypatch.setattr(export_screening, "MAX_MAP_SITES", 3)
    monkeypatch.setattr(screen_cli, "MAX_MAP_SITES", 3)
    path = tmp_path / "five.gpkg"
    _five(layers, 0.0).to_file(path, driver="GPKG")
    res = CliRunner().invoke(main, ["screen", str(path), "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "o" / "map.html").exists()
    assert "未生成 map.html" in res.output and "zoning map --result" in res.output


def test_a_partly_outside_site_is_told_so_once(layers, client, tmp_path):
    """The coverage reason of the verdict and the coverage warning share their Chinese words: the
    report, the DOCX and the answer page list it once (the cold trial saw it twice)."""
    import io

    import docx

    from zoning.api import screen
    from zoning.render.docx_report import render_docx
    from zoning.render.html_report import render_html

    minx, miny, maxx, maxy = layers.coverage.bounds
    y = (miny + maxy) / 2
    edge = shapely.get_coordinates(shapely.intersection(layers.coverage.boundary,
                                                        shapely.LineString([(minx - 1, y), (maxx + 1, y)])))
    x0 = edge[:, 0].max()
    site = gpd.GeoDataFrame({"site_id": ["E1"]}, geometry=[shapely.box(x0 - 0.01, y - 0.005, x0 + 0.01, y + 0.005)],
                            crs=4490)
    r = screen(site, layers=layers, compute="local")[0]
    assert r.site.coverage == "partial" and r.verdict_reasons
    phrase = "超出图层覆盖范围，超出部分无法判定"
    assert sum(phrase in w for w in r.warnings + r.verdict_reasons) == 2  # the model keeps both
    listed = f"<li>站点约"  # a list item of the reasons or the warnings (the opinion paragraph may quote it too)
    assert render_html(r).count(listed) == 1
    items = [p.text for p in docx.Document(io.BytesIO(render_docx(r))).paragraphs if p.style.name == "List Bullet"]
    assert sum(phrase in x for x in items) == 1
    out = client.post("/api/v1/screen", json={"site": shapely.geometry.mapping(site.geometry[0])})
    assert out.status_code == 200, out.text[:300]
    page = client.get(f"/screenings/{out.json()['id']}")
    assert page.status_code == 200 and page.text.count(listed) == 1


@pytest.mark.parametrize("name,body", [("bad.geojson", b"this is not json at all"), ("empty.geojson", b""),
                                       ("bad.gpkg", b"SQLite format 3\x00" + b"\x01" * 2000),
                                       ("bad.kml", b"<kml><nope")])
def test_an_unreadable_upload_is_named_in_plain_words(client, name, body):
    """Readers' own words (GDAL's driver advice, sqlite3_prepare_v2 …) are not shown: the message
    names the file and says it is not a valid file of its kind, in both languages."""
    out = client.post("/api/v1/screen", files={"file": (name, body)})
    assert out.status_code in (400, 422), out.text[:300]
    doc = out.json()
    assert set(doc) == {"error", "message_zh", "message_en"}
    assert name in doc["message_zh"] and name in doc["message_en"]
    for raw in ("sqlite3", "driver", "GDAL", "prefixing", "详见英文"):
        assert raw not in doc["message_zh"] and raw not in doc["message_en"], doc


def test_an_unknown_layer_names_the_layers_there(client, layers, tmp_path):
    path = tmp_path / "two.gpkg"
    _five(layers, 0.0).to_file(path, layer="甲", driver="GPKG")
    _five(layers, 0.1).to_file(path, layer="乙", driver="GPKG")
    out = client.post("/api/v1/screen", files={"file": (path.name, path.read_bytes())}, data={"layer": "nope"})
    assert out.status_code in (400, 422), out.text[:300]
    doc = out.json()
    assert "nope" in doc["message_en"] and "甲" in doc["message_zh"] and "乙" in doc["message_en"]
    ok = client.post("/api/v1/screen", files={"file": (path.name, path.read_bytes())}, data={"layer": "乙"})
    assert ok.status_code == 200 and len(ok.json()) == 5


def test_the_english_answer_page_speaks_english_in_the_verdict_and_clause_table(client, layers):
    """lang=en: 'Verdict: prohibited (does not comply)' (ASCII colon, a label, not the code), clause
    tiers and dimensions in English; the Chinese page keeps 结论：不符合（禁止） and 空间布局约束."""
    import json

    from zoning.api import read_sites

    from conftest import CATALOG

    sample = read_sites(CATALOG.parent / "nanping" / "generated" / "sample_projects.gpkg")
    p06 = sample[sample["site_id"] == "P06"].iloc[0]
    out = client.post("/api/v1/screen", json={"site": json.loads(gpd.GeoSeries([p06.geometry]).to_json())["features"][0]["geometry"],
                                              "attributes": {"industry": "C2614", "chemical": True}})
    assert out.status_code == 200, out.text[:300]
    key = out.json()["id"]
    en = client.get(f"/screenings/{key}?lang=en").text
    zh = client.get(f"/screenings/{key}").text
    assert "Verdict: <span" in en and "：<span" not in en.split("Verdict", 1)[1][:20]
    assert "spatial layout" in en or "pollutant discharge" in en
    assert "<td>province</td>" in en or "<td>city</td>" in en
    assert "结论：<span" in zh and ("空间布局约束" in zh or "污染物排放管控" in zh)
