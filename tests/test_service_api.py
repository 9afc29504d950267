"""The JSON API and the pages of ``zoning serve``, through FastAPI's TestClient.

Every endpoint, with good and bad input: verdicts are compared with ``zoning.screen`` on the
same input (the library is the independent truth here: the service must only relay it), bad
input must give a 4xx JSON error {error, message_zh, message_en} with the status and message
asserted, never a traceback; every page carries a strict Content-Security-Policy and escapes data.
"""
from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import jsonschema
import pytest
import shapely
from fastapi.testclient import TestClient

from zoning.api import read_sites, screen
from zoning.render.maps import assert_offline
from zoning.service import Settings, create_app

from conftest import CATALOG, service_client
from test_service_support import write_gbk_shapefile

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = CATALOG.parent / "nanping" / "generated" / "sample_projects.gpkg"
SCHEMA = json.loads((ROOT / "zoning" / "schema" / "result.schema.json").read_text(encoding="utf-8"))
EVIL = "<img src=x onerror=alert(1)>&\"'"
POLY = {"type": "Polygon", "coordinates": [[[118.17, 26.64], [118.172, 26.64], [118.172, 26.642], [118.17, 26.64]]]}


@pytest.fixture(scope="module")
def client(layers, tmp_path_factory):
    with service_client(layers, tmp_path_factory.mktemp("svc")) as c:
        yield c


def error_of(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text[:500]
    body = resp.json()
    assert set(body) == {"error", "message_zh", "message_en"}, body
    assert body["error"] == code, body
    assert body["message_zh"] and body["message_en"] and "\n" not in body["message_en"]
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    return body


def strict_csp(resp) -> str:
    policy = resp.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if " " in d.strip())
    assert directives["default-src"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert directives["script-src-attr"] == "'none'"
    assert "http" not in policy and "*" not in policy  # no remote origin anywhere
    assert resp.headers["x-content-type-options"] == "nosniff"
    return re.search(r"'nonce-([^']+)'", directives["script-src"]).group(1)


def nonce_everywhere(html: str, nonce: str) -> None:
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html, flags=re.I):
        assert f'nonce="{nonce}"' in tag, tag[:120]
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, flags=re.I), "inline event handler"


# -- health, docs, pages ---------------------------------------------------------------------------
def test_health(client, layers):
    body = client.get("/api/v1/health").json()
    pack = client.svc.rule_pack
    assert body["rule_pack"] == {"name": pack.name, "version": pack.version}
    assert body["layer_set"] == layers.catalog.name and body["status"] == "ok"
    assert {x["role"]: x["status"] for x in body["layers"]} == {r: i.integrity for r, i in layers.info.items()}
    assert body["history"]["dialect"] == "sqlite" and body["history"]["schema_version"] == 3


def test_openapi_and_docs_list_every_endpoint(client):
    spec = client.get("/api/v1/openapi.json").json()
    want = {"/api/v1/screen", "/api/v1/screenings/{key}", "/api/v1/screenings/{key}/report.html",
            "/api/v1/screenings/{key}/report.docx", "/api/v1/screenings/{key}/map.html", "/api/v1/jobs",
            "/api/v1/jobs/{key}", "/api/v1/jobs/{key}/summary.csv", "/api/v1/jobs/{key}/results.zip",
            "/api/v1/health"}
    assert want <= set(spec["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and all(p in docs.text for p in want)
    nonce_everywhere(docs.text, strict_csp(docs))


def test_index_is_chinese_with_an_english_switch(client):
    zh = client.get("/")
    assert zh.status_code == 200 and 'lang="zh-CN"' in zh.text and "开始筛查" in zh.text
    assert 'href="?lang=en"' in zh.text and 'src="/map?lang=zh"' in zh.text
    nonce_everywhere(zh.text, strict_csp(zh))
    en = client.get("/?lang=en")
    assert 'lang="en"' in en.text and "Screen the drawn site" in en.text and "开始筛查" not in en.text
    js = client.get("/static/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in js.text  # server text reaches the page as text only
    error_of(client.get("/static/../../etc/passwd"), 404, "not_found")


def test_layer_map_page_is_offline_with_nonces(client):
    resp = client.get("/map")
    assert resp.status_code == 200
    nonce = strict_csp(resp)
    nonce_everywhere(resp.text, nonce)
    assert_offline(resp.text)
    assert "zoningMap" in resp.text


def test_industry_search(client):
    items = client.get("/api/v1/industries", params={"q": "水泥"}).json()
    assert {"code": "C3011", "name": "水泥制造", "level": "class"} in items
    codes = [i["code"] for i in client.get("/api/v1/industries", params={"q": "C261", "limit": 100}).json()]
    assert codes and all(c.startswith("C261") for c in codes) and "C2614" in codes
    assert client.get("/api/v1/industries", params={"q": "2614"}).json()[0]["code"] == "C2614"


# -- screening -----------------------------------------------------------------------------------
def test_screen_a_geometry_equals_the_library(client, layers):
    attrs = {"industry": "C1371", "boiler_th": 8, "boiler_fuel": "coal"}
    resp = client.post("/api/v1/screen", json={"site": {"type": "Point", "coordinates": [118.17, 26.64]},
                                               "attributes": attrs})
    assert resp.status_code == 200, resp.text
    got = resp.json()
    jsonschema.validate(got, SCHEMA)
    want = screen("118.17,26.64", layers=layers, attributes=attrs)[0]
    assert got["verdict"] == want.verdict and [r["id"] for r in got["rules"]] == [r.id for r in want.rules]
    assert re.fullmatch(r"[0-9a-f]{32}", got["id"])
    stored = client.get(f"/api/v1/screenings/{got['id']}")
    assert stored.status_code == 200 and stored.json() == got
    row = client.svc.history.screening(got["id"])  # every screening is in the history, with its inputs
    assert row["inputs"]["attributes"] == attrs and row["source"] == "json"
    assert row["rule_pack_version"] == str(want.rule_pack["version"])
    assert [v["vintage"] for v in row["layer_vintages"]] == [x.vintage for x in want.layers]


def test_feature_collection_gives_a_list(client, layers):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "A", "name": "甲"}, "geometry": POLY},
        {"type": "Feature", "properties": {"id": "B"}, "geometry": {"type": "Point", "coordinates": [118.3, 27.0]}}]}
    resp = client.post("/api/v1/screen", json={"site": fc, "attributes": {"industry": "C2041"}})
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert isinstance(got, list) and [r["site_id"] for r in got] == ["A", "B"]
    frame = gpd.GeoDataFrame.from_features(fc["features"], crs=4326)
    want = screen(frame, layers=layers, attributes={"industry": "C2041"})
    assert [r["verdict"] for r in got] == [r.verdict for r in want]
    assert abs(got[0]["site"]["area_m2"] - want[0].site.area_m2) < 1e-6
    for r in got:
        jsonschema.validate(r, SCHEMA)


def test_upload_of_the_sample_projects(client, layers):
    with open(SAMPLE, "rb") as fh:
        resp = client.post("/api/v1/screen", files={"file": ("sample_projects.gpkg", fh)})
    assert resp.status_code == 200, resp.text
    got = {r["site_id"]: r["verdict"] for r in resp.json()}
    want = {r.site_id: r.verdict for r in screen(SAMPLE, layers=layers)}
    assert got == want and len(got) == 23
    assert got["P01"] == "prohibited" and got["P06"] == "conditional" and got["P17"] == "needs_info"


def test_zipped_gbk_shapefile_upload(client, layers, tmp_path):
    frame = read_sites(SAMPLE).iloc[[0, 22]].drop(columns=["warnings", "crs_in"])  # P01, P23: polygons
    frame = frame.assign(name=["采石场（红线内）", "跨越红线的项目"])
    files = write_gbk_shapefile(frame[["site_id", "name", "industry", "geometry"]],
                                tmp_path / "shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in files:
            z.write(f, f"项目范围/{f.name}")
    resp = client.post("/api/v1/screen", files={"file": ("项目.zip", buf.getvalue(), "application/zip")})
    assert resp.status_code == 200, resp.text
    got = resp.json()
    want = screen(files[[f.suffix for f in files].index(".shp")], layers=layers)
    assert [r["verdict"] for r in got] == [r.verdict for r in want] == ["prohibited", "prohibited"]
    assert [r["site"]["name"] or r["inputs"]["name"] for r in got] == ["采石场（红线内）", "跨越红线的项目"]  # GBK
    # the same set as loose files (a shapefile set in one multipart request)
    parts = [("file", (f.name, f.read_bytes())) for f in files]
    resp2 = client.post("/api/v1/screen", files=parts)
    assert [r["verdict"] for r in resp2.json()] == [r["verdict"] for r in got]


def test_text_inputs(client, layers):
    lit = client.post("/api/v1/screen", json={"site": "118.17,26.64;118.172,26.64;118.172,26.642"})
    assert lit.status_code == 200 and lit.json()["site"]["geom_type"] == "Polygon"
    csv = "地块编号,点号,X,Y\nD1,1,2947123.4,39616456.7\nD1,2,2947123.4,39616656.7\nD1,3,2947323.4,39616656.7\n"  # in Nanping
    resp = client.post("/api/v1/screen", files={"file": ("pasted.csv", csv.encode("utf-8"))})
    assert resp.status_code == 200, resp.text
    want = screen(io.StringIO(csv) if False else _tmp_csv(csv), layers=layers)[0]
    assert resp.json()[0]["verdict"] == want.verdict
    assert abs(resp.json()[0]["site"]["area_m2"] - want.site.area_m2) < 1e-6


def _tmp_csv(text: str) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "corners.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_reports_map_and_downloads(client, layers):
    got = client.post("/api/v1/screen", json={"site": POLY, "attributes": {"name": EVIL, "industry": "C3011"}}).json()
    key = got["id"]
    html = client.get(f"/api/v1/screenings/{key}/report.html")
    assert html.status_code == 200 and EVIL not in html.text and "&lt;img src=x" in html.text
    nonce_everywhere(html.text, strict_csp(html))
    docx = client.get(f"/api/v1/screenings/{key}/report.docx")
    assert docx.status_code == 200 and "attachment" in docx.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(docx.content)) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    assert got["site_id"] in xml
    m = client.get(f"/api/v1/screenings/{key}/map.html?lang=en")
    assert m.status_code == 200 and EVIL not in m.text
    assert_offline(m.text)
    nonce_everywhere(m.text, strict_csp(m))
    gpkg = client.get(f"/api/v1/screenings/{key}/sites.gpkg")
    path = Path(client.svc.new_folder("t")) / "s.gpkg"
    path.write_bytes(gpkg.content)
    frame = gpd.read_file(path)
    assert frame["verdict"].tolist() == [got["verdict"]] and frame["name"].tolist() == [EVIL]
    assert abs(shapely.area(frame.geometry[0]) - shapely.area(shapely.geometry.shape(POLY))) < 1e-12
    shp = client.get(f"/api/v1/screenings/{key}/sites_shp.zip")
    with zipfile.ZipFile(io.BytesIO(shp.content)) as z:
        names = set(z.namelist())
        assert {"sites.shp", "sites.dbf", "sites.prj", "sites.cpg", "dictionary.csv"} <= names
        z.extractall(path.parent / "shp")
    back = gpd.read_file(path.parent / "shp" / "sites.shp")
    assert back["VERDICT"].tolist() == [got["verdict"]]
    page = client.get(f"/screenings/{key}")
    assert page.status_code == 200 and EVIL not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    nonce_everywhere(page.text, strict_csp(page))
    assert "符合性分析" in page.text and f'data-verdict="{got["verdict"]}"' in page.text
    for link in ("report.html", "report.docx", "sites.gpkg", "sites_shp.zip", "map.html"):
        assert f"/api/v1/screenings/{key}/{link}" in page.text
    assert "Compliance analysis" in client.get(f"/screenings/{key}?lang=en").text


# -- bad input -----------------------------------------------------------------------------------
def test_wrong_json(client):
    body = error_of(client.post("/api/v1/screen", content=b'{"site": ', headers={"content-type": "application/json"}),
                    400, "invalid_json")
    assert "JSON" in body["message_en"] and "JSON" in body["message_zh"]
    error_of(client.post("/api/v1/screen", json=[1, 2]), 400, "bad_request")
    body = error_of(client.post("/api/v1/screen", json={"site": POLY, "colour": 1}), 400, "bad_request")
    assert "colour" in body["message_en"]
    error_of(client.post("/api/v1/screen", json={"attributes": {}}), 400, "bad_request")
    error_of(client.post("/api/v1/screen", json={"site": {"type": "Blob"}}), 400, "bad_request")
    error_of(client.post("/api/v1/screen", json={"site": {"type": "Polygon", "coordinates": "x"}}), 400, "bad_request")
    error_of(client.post("/api/v1/screen", json={"site": POLY, "attributes": [1]}), 400, "bad_request")
    error_of(client.post("/api/v1/screen", content=b"site=1", headers={"content-type": "text/plain"}), 400,
             "bad_request")


def test_unknown_attribute(client):
    body = error_of(client.post("/api/v1/screen", json={"site": POLY, "attributes": {"colour": "red"}}), 422,
                    "attribute_problem")
    assert "colour" in body["message_en"] and "industry" in body["message_en"] and "colour" in body["message_zh"]
    body = error_of(client.post("/api/v1/screen", json={"site": POLY, "attributes": {"boiler_th": -1}}), 422,
                    "attribute_problem")
    assert "boiler_th" in body["message_en"]
    error_of(client.post("/api/v1/screen", files={"file": ("a.geojson", json.dumps(POLY).encode())},
                         data={"colour": "red"}), 422, "attribute_problem")


def test_site_outside_the_layers(client):
    body = error_of(client.post("/api/v1/screen", json={"site": {"type": "Point", "coordinates": [116.40, 39.90]}}),
                    422, "outside_layers")
    assert "outside the area of the layer set" in body["message_en"] and "图层范围" in body["message_zh"]
    body = error_of(client.post("/api/v1/screen", json={"site": {"type": "Point", "coordinates": [2.35, 48.85]}}),
                    422, "crs_problem")  # the same code as the text "2.35,48.85" (issue 13 review)
    assert "outside China" in body["message_en"]


def _zip(entries: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_zip_bomb_is_refused(client):
    bomb = _zip({"sites.geojson": b" " * (60 * 1024 * 1024)})  # 60 MiB of spaces in ~60 KiB
    assert len(bomb) < 200_000
    body = error_of(client.post("/api/v1/screen", files={"file": ("bomb.zip", bomb)}), 413, "too_large")
    assert "zip bomb" in body["message_en"] and "压缩炸弹" in body["message_zh"]
    assert not any(client.svc.work.glob("upload-*")), "the upload folder was not removed"


def test_traversal_and_nested_archives_are_refused(client):
    for entries, word in (({"../../evil.geojson": json.dumps(POLY)}, "../"),
                          ({"/etc/evil.geojson": json.dumps(POLY)}, "absolute"),
                          ({"inner.zip": _zip({"a.geojson": json.dumps(POLY)})}, "nested")):
        body = error_of(client.post("/api/v1/screen", files={"file": ("x.zip", _zip(entries))}), 400, "unsafe_upload")
        assert word in body["message_en"]
    assert not (client.svc.work.parent / "evil.geojson").exists()


def test_file_too_large(client):
    big = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    body = error_of(client.post("/api/v1/screen", files={"file": ("big.geojson", big)}), 413, "too_large")
    assert "2 MiB" in body["message_en"]


def test_too_many_sites_and_vertices(client):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [118.1 + i * 1e-3, 27.0]}}
        for i in range(31)]}
    body = error_of(client.post("/api/v1/screen", json={"site": fc}), 413, "too_large")
    assert "31 sites exceed the limit of 30" in body["message_en"] and "/api/v1/jobs" in body["message_en"]
    ring = shapely.Point(118.3, 27.0).buffer(0.01, quad_segs=2000)
    body = error_of(client.post("/api/v1/screen", json={"site": shapely.geometry.mapping(ring)}), 413, "too_large")
    assert "vertices" in body["message_en"]


def test_unreadable_uploads(client):
    error_of(client.post("/api/v1/screen", files={"file": ("tool.exe", b"MZ")}), 422, "unreadable_input")
    error_of(client.post("/api/v1/screen", files={"file": ("a.zip", b"not a zip")}), 422, "unreadable_input")
    error_of(client.post("/api/v1/screen", files={"file": ("a.zip", _zip({"readme.txt1": b"x"}))}), 422,
             "unreadable_input")
    error_of(client.post("/api/v1/screen", files={"file": ("a.shp", b"x")}), 422, "unreadable_input")
    error_of(client.post("/api/v1/screen", data={"industry": "C2041"}), 400, "bad_request")


def test_unknown_ids_routes_and_methods(client):
    error_of(client.get("/api/v1/screenings/" + "0" * 32), 404, "not_found")
    error_of(client.get("/api/v1/screenings/nope/report.docx"), 404, "not_found")
    error_of(client.get("/screenings/nope"), 404, "not_found")
    error_of(client.get("/api/v1/jobs/nope"), 404, "not_found")
    error_of(client.get("/api/v1/jobs/nope/summary.csv"), 404, "not_found")
    error_of(client.get("/api/v1/nothing"), 404, "not_found")
    error_of(client.delete("/api/v1/screen"), 405, "method_not_allowed")


# -- jobs ------------------------------------------------------------------------------------------
def wait_job(client, key: str, timeout: float = 120) -> dict:
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = client.get(f"/api/v1/jobs/{key}").json()
        seen.append((state["state"], state["progress"]))
        assert 0 <= state["progress"] <= 1
        if state["state"] in ("done", "failed"):
            return {**state, "seen": seen}
        time.sleep(0.1)
    raise AssertionError(f"job {key} did not finish: {seen[-3:]}")


def test_batch_job(client, layers):
    with open(SAMPLE, "rb") as fh:
        resp = client.post("/api/v1/jobs", files={"file": ("sample_projects.gpkg", fh)})
    assert resp.status_code == 200 and set(resp.json()) >= {"id", "state"}
    key = resp.json()["id"]
    state = wait_job(client, key)
    assert state["state"] == "done" and state["progress"] == 1 and state["total"] == state["done"] == 23
    want = {r.site_id: r.verdict for r in screen(SAMPLE, layers=layers)}
    assert state["counts"] == {v: list(want.values()).count(v) for v in set(want.values())}
    csv = client.get(f"/api/v1/jobs/{key}/summary.csv")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    import pandas as pd

    table = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig", dtype=str)
    assert dict(zip(table["站点编号"], table["结论（英文）"])) == want
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/jobs/{key}/results.zip").content))
    docs = [json.loads(z.read(n)) for n in z.namelist() if n.startswith("results/")]
    assert {d["site_id"]: d["verdict"] for d in docs} == want and "summary.csv" in z.namelist()
    for d in docs:  # each is also in the history, under its id
        assert client.get(f"/api/v1/screenings/{d['id']}").json()["site_id"] == d["site_id"]
    # outputs cleared (a restart): written again from the stored results
    import shutil

    shutil.rmtree(client.svc.jobs.folder(key))
    assert client.get(f"/api/v1/jobs/{key}/summary.csv").content == csv.content


def test_failed_job_reports_its_error(client):
    resp = client.post("/api/v1/jobs", files={"file": ("bad.geojson", b"{not json")})
    state = wait_job(client, resp.json()["id"])
    assert state["state"] == "failed" and state["error"]["error"] == "unreadable_input"
    assert state["error"]["message_zh"] and state["error"]["message_en"]
    # a failed job has no files: 409 job_failed with the job's own reason (not "not done yet")
    for name in ("results.zip", "summary.csv"):
        body = error_of(client.get(f"/api/v1/jobs/{resp.json()['id']}/{name}"), 409, "job_failed")
        assert state["error"]["message_en"] in body["message_en"] and "not done yet" not in body["message_en"]
        assert state["error"]["message_zh"] in body["message_zh"] and "尚未完成" not in body["message_zh"]
    error_of(client.post("/api/v1/jobs", json={"site": POLY}), 400, "bad_request")


def test_full_disk_while_writing_job_files_is_a_507_without_server_paths(client, monkeypatch):
    """A disk that fills while results.zip is written: the client gets one clear JSON error (no
    server path, no traceback), no half-written zip is left to be served, and the next request
    writes the files again once there is room."""
    import errno

    with open(SAMPLE, "rb") as fh:
        key = client.post("/api/v1/jobs", files={"file": ("sample_projects.gpkg", fh)}).json()["id"]
    assert wait_job(client, key)["state"] == "done"
    folder = client.svc.jobs.folder(key)
    import shutil

    shutil.rmtree(folder)
    real_write = zipfile.ZipFile.write

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(zipfile.ZipFile, "write", full)
    body = error_of(client.get(f"/api/v1/jobs/{key}/results.zip"), 507, "insufficient_storage")
    assert str(folder.parent) not in json.dumps(body) and "Traceback" not in json.dumps(body)
    assert not folder.exists() or not list(folder.glob("results.zip*"))
    monkeypatch.setattr(zipfile.ZipFile, "write", real_write)
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/jobs/{key}/results.zip").content))
    assert "summary.csv" in z.namelist()


# -- token -----------------------------------------------------------------------------------------
def test_bearer_token(layers, tmp_path):
    app = create_app(Settings(db=str(tmp_path / "h.sqlite"), tmp_dir=tmp_path, token="s3cret"), layers=layers)
    with TestClient(app) as c:
        error_of(c.post("/api/v1/screen", json={"site": POLY}), 401, "unauthorized")
        error_of(c.post("/api/v1/screen", json={"site": POLY}, headers={"Authorization": "Bearer wrong"}), 401,
                 "invalid_token")  # distinct from a missing token (issue 13 review)
        ok = c.post("/api/v1/screen", json={"site": POLY}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert c.get("/api/v1/health").status_code == 200  # monitoring needs no token
        page = c.get("/")
        assert page.status_code == 401 and 'type="password"' in page.text
        assert c.post("/login", data={"token": "nope"}).status_code == 401
        login = c.post("/login", data={"token": "s3cret"}, follow_redirects=False)
        assert login.status_code == 303 and "httponly" in login.headers["set-cookie"].lower()
        assert c.get("/").status_code == 200  # the cookie now
