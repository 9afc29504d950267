"""Fixes from the cold trial of ``zoning serve`` (issue 13 review): a screened rule pack still
reaches the process pool, text sites are never read as server paths, malformed bodies are 400s,
upload errors never show server paths, health hides paths, and the smaller wording fixes."""
from __future__ import annotations

import io
import json
import pickle
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from zoning.api import screen
from zoning.service import Limits, Settings, create_app
from zoning.service import jobs as service_jobs

from conftest import CATALOG

SAMPLE = CATALOG.parent / "nanping" / "generated" / "sample_projects.gpkg"


@pytest.fixture(scope="module")
def client(layers, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hard")
    settings = Settings(catalog=CATALOG, db=str(tmp / "history.sqlite"), tmp_dir=tmp / "work", workers=2,
                        limits=Limits(max_upload_bytes=2 * 1024 * 1024, max_sites=30))
    app = create_app(settings, layers=layers)
    with TestClient(app) as c:
        c.svc = app.state.service
        c.tmp = tmp
        yield c


def err(resp, status_lo=400, status_hi=499) -> dict:
    assert status_lo <= resp.status_code <= status_hi, (resp.status_code, resp.text[:400])
    body = resp.json()
    assert set(body) == {"error", "message_zh", "message_en"}, body
    assert "\n" not in body["message_zh"] + body["message_en"]
    return body


def points_csv(layers, n: int, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = layers.coverage.bounds
    lon, lat = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    rows = ["id,lon,lat"] + [f"P{i},{x:.6f},{y:.6f}" for i, (x, y) in enumerate(zip(lon, lat))]
    return ("\n".join(rows) + "\n").encode()


# -- 1. a rule pack that has screened once still pickles (forkserver pool under threads) ---------
def test_screened_rule_pack_pickles_and_reaches_the_pool(layers, monkeypatch):
    import multiprocessing as mp

    import geopandas as gpd
    import shapely

    from zoning.engines import pool
    from zoning.screening.pipeline import resolve_rule_pack

    pack = resolve_rule_pack(None, layers.catalog)
    sites = gpd.GeoDataFrame({"site_id": [f"T{i}" for i in range(8)]},
                             geometry=[shapely.Point(118.10 + i * 0.02, 26.64) for i in range(8)], crs=4490)
    one = screen(sites, layers=layers, rule_pack=pack, compute="local")  # compiles the closures
    assert any(hasattr(r, "_compiled") for r in pack.rules)
    again = pickle.loads(pickle.dumps(pack))  # failed before: Can't pickle local object 'compile_condition...'
    assert not any(hasattr(r, "_compiled") for r in again.rules)
    assert [r.id for r in again.rules] == [r.id for r in pack.rules]
    stop = threading.Event()
    extra = threading.Thread(target=stop.wait, daemon=True)  # a server runs threads: forkserver is chosen
    extra.start()
    try:
        assert pool.pool_context().get_start_method() != "fork"
        many = screen(sites, layers=layers, rule_pack=pack, compute="processes", workers=2)
    finally:
        stop.set()
    assert [json.loads(a.to_json()) for a in one] == [json.loads(b.to_json()) for b in many]


def test_service_job_of_500_sites_completes(client, layers):
    assert service_jobs.POOL_MIN_SITES <= 500
    ok = client.post("/api/v1/screen", json={"site": {"type": "Point", "coordinates": [118.17, 26.64]}})
    assert ok.status_code == 200, ok.text[:300]  # the service's pack has now compiled its rules
    key = client.post("/api/v1/jobs", files={"file": ("pts.csv", points_csv(layers, 500))}).json()["id"]
    deadline = time.time() + 150
    while (state := client.get(f"/api/v1/jobs/{key}").json())["state"] not in ("done", "failed"):
        assert time.time() < deadline
        time.sleep(0.2)
    assert state["state"] == "done", state
    assert state["total"] == 500 and sum(state["counts"].values()) == 500


# -- 2. a text site is coordinates only, never a path on the server -----------------------------
@pytest.mark.parametrize("text", [str(SAMPLE), "layers/nanping/generated/sample_projects.gpkg",
                                  "/no/such/file.gpkg", "sample_projects.gpkg", "hello", "a;b", "118.17,26.64;abc",
                                  "'; DROP TABLE screenings;--"])
def test_text_site_is_never_a_server_path(client, text):
    assert SAMPLE.exists()
    body = err(client.post("/api/v1/screen", json={"site": text}))
    msg = body["message_zh"] + body["message_en"]
    assert "not found" not in msg and "不存在" not in msg and "contains no sites" not in msg
    assert "cannot parse coordinates" in body["message_en"], body  # the same answer for existing files
    assert body["error"] == err(client.post("/api/v1/screen", json={"site": "/no/such/x.gpkg"}))["error"]


# -- 3. malformed bodies are 400 JSON errors, never 500 ------------------------------------------
PT = {"type": "Point", "coordinates": [118.17, 26.64]}


@pytest.mark.parametrize("body", [
    "[" * 100_000, "{\"site\":" + "[" * 5_000, '{"site": {"type": "Point", "coordinates": [NaN, 26.6]}}',
    '{"site": {"type": "Point", "coordinates": [Infinity, 26.6]}}', '{"site": "x", "attributes": {"a": -Infinity}}',
    b"\xff\xfe{", "{\"site\": ",
])
def test_malformed_json_is_400(client, body):
    resp = client.post("/api/v1/screen", content=body if isinstance(body, bytes) else body.encode(),
                       headers={"content-type": "application/json"})
    b = err(resp, 400, 400)
    assert b["error"] == "invalid_json" and "outside China" not in b["message_en"]


@pytest.mark.parametrize("crs", ["EPSG:4490", 5, ["x"], {"type": "name", "properties": "EPSG:4490"},
                                 {"type": "name", "properties": {"name": 4490}}])
def test_odd_geojson_crs_member_is_4xx(client, crs):
    resp = client.post("/api/v1/screen", json={"site": {"type": "Feature", "properties": {}, "geometry": PT,
                                                        "crs": crs} | {"type": "FeatureCollection",
                                                                       "features": [{"type": "Feature",
                                                                                     "properties": {},
                                                                                     "geometry": PT}]}})
    assert err(resp, 400, 400)["error"] == "bad_request"


@pytest.mark.parametrize("xy", [[1e308, 26.6], [118.1, -1e308], [1e12, 1e12], "1" + "0" * 300 + ",26.6",
                                "X=" + "1" * 300 + " Y=3", "9" * 400])
def test_huge_coordinates_give_a_short_message(client, xy):
    site = xy if isinstance(xy, str) else {"type": "Point", "coordinates": xy}
    b = err(client.post("/api/v1/screen", json={"site": site}))
    assert not any(len(run) > 20 for run in __import__("re").findall(r"\d+", b["message_zh"] + b["message_en"]))
    assert len(b["message_en"]) < 300


# -- 4. unreadable uploads: the client's file name only, Chinese then English, one line ----------
XXE = (b'<?xml version="1.0"?><!DOCTYPE k [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name>'
       b'<Point><coordinates>118.17,26.64</coordinates></Point></Placemark></kml>')


@pytest.mark.parametrize("name,data,form", [
    ("random.geojson", bytes(np.random.default_rng(5).integers(0, 256, 400, dtype=np.uint8)), {}),
    ("empty.csv", b"", {}), ("xxe.kml", XXE, {}),
    ("sample.gpkg", SAMPLE.read_bytes(), {"layer": "nope"}),
])
def test_unreadable_upload_names_the_client_file_only(client, name, data, form):
    b = err(client.post("/api/v1/screen", files={"file": (name, data)}, data=form), 422, 422)
    text = b["message_zh"] + b["message_en"]
    assert name in b["message_zh"] and name in b["message_en"]
    assert "zoning-serve" not in text and "upload-" not in text and str(client.tmp) not in text
    assert "/tmp" not in text and "root:" not in text
    assert "not recognized" not in b["message_zh"] and "parsing" not in b["message_zh"]  # no raw GDAL English in zh
    assert any("\u4e00" <= ch <= "\u9fff" for ch in b["message_zh"])


# -- 6. the smaller ones ----------------------------------------------------------------------
def test_same_problem_same_code_whatever_the_form(client):
    swapped = [err(client.post("/api/v1/screen", json={"site": s}), 422, 422)["error"]
               for s in ("26.64,118.17", {"type": "Point", "coordinates": [26.64, 118.17]})]
    outside = [err(client.post("/api/v1/screen", json={"site": s}), 422, 422)
               for s in ("2.35,48.85", {"type": "Point", "coordinates": [2.35, 48.85]})]
    csv = b"id,lon,lat\nA,2.35,48.85\n"
    outside.append(err(client.post("/api/v1/screen", files={"file": ("one.csv", csv)}), 422, 422))
    assert swapped == ["crs_problem"] * 2 and [o["error"] for o in outside] == ["crs_problem"] * 3
    for o in outside:  # the API speaks of its crs field, not of a command-line option
        assert "--crs" not in o["message_zh"] + o["message_en"]


def _one_site_forms(point: dict) -> list:
    """One site as every request form carries it: geometry, Feature, one-feature collection, files."""
    feature = {"type": "Feature", "geometry": point, "properties": {}}
    collection = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    x, y = point["coordinates"]
    return [{"json": {"site": point}}, {"json": {"site": feature}},
            {"json": {"site": {"type": "FeatureCollection", "features": [feature]}}},
            {"files": {"file": ("one.geojson", collection)}}, {"files": {"file": ("one.csv", f"id,lon,lat\nA,{x},{y}\n")}}]


@pytest.mark.parametrize("point,code", [({"type": "Point", "coordinates": [26.64, 118.17]}, "crs_problem"),
                                        ({"type": "Point", "coordinates": [116.40, 39.90]}, "outside_layers")])
def test_one_site_gets_one_answer_however_it_is_sent(client, point, code):
    """Swapped lon/lat, or wholly outside the layer set: the same 422 code for every form of one site."""
    got = [err(client.post("/api/v1/screen", **form), 422, 422)["error"] for form in _one_site_forms(point)]
    assert got == [code] * 5
    # two sites: answered row by row (the bad one with its reason), never the request's error
    two = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": point, "properties": {}},
           {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.17, 26.64]}, "properties": {}}]}
    rows = client.post("/api/v1/screen", json={"site": two})
    assert rows.status_code == 200 and len(rows.json()) == 2


def test_nested_attribute_values_are_a_clean_422(client):
    for doc in ({"site": PT, "attributes": {"industry": {"a": [1]}}},
                {"site": {"type": "Feature", "geometry": PT, "properties": {"industry": ["C2614"]}}}):
        b = err(client.post("/api/v1/screen", json=doc), 422, 422)
        assert b["error"] == "attribute_problem" and "industry" in b["message_en"] and "{" not in b["message_en"]


def test_kml_placemark_without_name_or_geometry_gets_a_generated_id(client):
    kml = (b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           b'<Placemark><name>a</name></Placemark>'
           b'<Placemark><Point><coordinates>118.17,26.64</coordinates></Point></Placemark></Document></kml>')
    resp = client.post("/api/v1/screen", files={"file": ("p.kml", kml)})
    assert resp.status_code == 200, resp.text[:300]
    ids = [r["site_id"] for r in resp.json()]
    assert len(ids) == 2 and all(i and i.lower() not in ("nan", "none") for i in ids)


def test_a_row_that_could_not_be_screened(client):
    csv = b"id,lon,lat\nGOOD,118.17,26.64\nBAD,2.35,48.85\n"
    rows = client.post("/api/v1/screen", files={"file": ("two.csv", csv)}).json()
    bad = next(r for r in rows if r["site_id"] == "BAD")
    assert bad["error"] and bad["verdict"] is None
    en = client.get(f"/screenings/{bad['id']}?lang=en").text
    assert "Could not be screened" in en and "no restrictive rule fired" not in en
    assert " | Error: " not in en and "错误：" not in en and "lies outside China" in en
    zh = client.get(f"/screenings/{bad['id']}").text
    assert "无法筛查" in zh and "未触发限制性规则" not in zh and "| Error:" not in zh
    for name in ("sites.gpkg", "sites_shp.zip"):  # both alike for a site without geometry
        assert err(client.get(f"/api/v1/screenings/{bad['id']}/{name}"), 404, 404)["error"] == "not_found"
    good = next(r for r in rows if r["site_id"] == "GOOD")
    for name in ("sites.gpkg", "sites_shp.zip"):
        assert client.get(f"/api/v1/screenings/{good['id']}/{name}").status_code == 200


# -- 5. jobs have their own upload limit; health shows names, never paths or URLs -------------
def test_job_upload_limit_is_its_own(layers, tmp_path):
    pad = b" " * (300 * 1024)
    doc = b'{"type":"FeatureCollection",' + pad + b'"features":[{"type":"Feature","properties":{"id":"J1"},' \
          b'"geometry":{"type":"Point","coordinates":[118.17,26.64]}}]}'
    settings = Settings(db=str(tmp_path / "h.sqlite"), tmp_dir=tmp_path / "w",
                        limits=Limits(max_upload_bytes=100 * 1024, max_job_upload_bytes=1024 * 1024))
    with TestClient(create_app(settings, layers=layers)) as c:
        assert err(c.post("/api/v1/screen", files={"file": ("big.geojson", doc)}), 413, 413)["error"] == "too_large"
        resp = c.post("/api/v1/jobs", files={"file": ("big.geojson", doc)})
        assert resp.status_code == 200, resp.text[:300]
        key = resp.json()["id"]
        deadline = time.time() + 60
        while (state := c.get(f"/api/v1/jobs/{key}").json())["state"] not in ("done", "failed"):
            assert time.time() < deadline
            time.sleep(0.1)
        assert state["state"] == "done" and state["total"] == 1, state
        big = b'{"type":"FeatureCollection",' + b" " * (1100 * 1024) + doc[len(b'{"type":"FeatureCollection",'):]
        b = err(c.post("/api/v1/jobs", files={"file": ("huge.geojson", big)}), 413, 413)
        assert "1 MiB" in b["message_en"]


def test_health_and_tokens(layers, tmp_path):
    db = tmp_path / "deep" / "secret-folder" / "hist.sqlite"
    db.parent.mkdir(parents=True)
    settings = Settings(catalog=CATALOG, db=str(db), tmp_dir=tmp_path / "w", token="s3cret")
    with TestClient(create_app(settings, layers=layers)) as c:
        health = c.get("/api/v1/health")
        assert health.status_code == 200
        text = health.text
        assert str(tmp_path) not in text and "secret-folder" not in text and "sqlite://" not in text
        assert str(CATALOG.parent) not in text and "/" not in json.loads(text)["catalog"]
        assert json.loads(text)["history"]["database"] == "hist.sqlite"
        missing = err(c.get("/api/v1/screenings"), 401, 401)
        wrong = err(c.get("/api/v1/screenings", headers={"Authorization": "Bearer nope"}), 401, 401)
        assert missing["error"] == "unauthorized" and wrong["error"] == "invalid_token"
        assert "invalid token" in wrong["message_en"] and "无效" in wrong["message_zh"]
        assert err(c.get("/openapi.json"), 401, 401)["error"] == "unauthorized"  # JSON like the API, not a page
        assert c.get("/openapi.json", headers={"Authorization": "Bearer s3cret"}).status_code == 200


@pytest.mark.parametrize("url", ["mysql://u:pw@localhost/zoning", "oracle://u:pw@h/db"])
def test_unsupported_history_database_says_which_are(url):
    from zoning.errors import HistoryError
    from zoning.service.history import History

    with pytest.raises(HistoryError) as info:
        History(url)
    assert "PostgreSQL" in info.value.en and "SQLite" in info.value.en and "pw" not in info.value.en


# -- property checks (hypothesis, bounded) --------------------------------------------------------
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from conftest import CATALOG as _CAT  # noqa: E402

EXISTING = [str(SAMPLE), str(_CAT), "README.md", "layers/catalog.yaml", "/etc/passwd", "/etc/hostname", "tests",
            "./pyproject.toml", "../main/README.md"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(EXISTING), tail=st.sampled_from(["", "_nope", ".bak"]))
def test_text_sites_answer_alike_whether_the_path_exists(client, path, tail):
    """An existing server path and a missing one give the same code and the same message shape:
    the answer tells nothing about the server's files."""
    text = path + tail
    b = err(client.post("/api/v1/screen", json={"site": text}))
    ref = err(client.post("/api/v1/screen", json={"site": "/zz/does/not/exist"}))
    assert b["error"] == ref["error"]
    from zoning.io.sites import excerpt  # how a message quotes the text (short, escaped)

    assert b["message_en"].replace(excerpt(text), "X") == ref["message_en"].replace(excerpt("/zz/does/not/exist"), "X")


_json_atoms = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                        st.text(max_size=8))
_json_docs = st.recursive(_json_atoms, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                              st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                          max_leaves=20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(site=_json_docs, crs=_json_docs, attrs=_json_docs)
def test_any_json_body_is_answered_without_a_500(client, site, crs, attrs):
    body = json.dumps({"site": site, "crs": crs, "attributes": attrs}, allow_nan=True)  # NaN/Infinity literals too
    resp = client.post("/api/v1/screen", content=body.encode(), headers={"content-type": "application/json"})
    assert resp.status_code < 500, resp.text[:300]
    if resp.status_code >= 400:
        b = err(resp)
        assert "Traceback" not in resp.text and "/tmp" not in b["message_en"]


def test_several_sites_are_answered_row_by_row_even_when_all_fail(client):
    """A FeatureCollection whose sites all fail (duplicate ids, outside China) is a list of error rows
    (200), as the CLI writes them; one failing site alone is the request's 4xx error."""
    def point(i, x, y):
        return {"type": "Feature", "properties": {"id": i}, "geometry": {"type": "Point", "coordinates": [x, y]}}
    fc = {"type": "FeatureCollection", "features": [point("A", 118.17, 26.64), point("A", 118.18, 26.65)]}
    resp = client.post("/api/v1/screen", json={"site": fc})
    assert resp.status_code == 200, resp.text
    rows = resp.json()
    assert [r["site_id"] for r in rows] == ["A", "A"] and all("duplicate" in r["error"] for r in rows)
    fc = {"type": "FeatureCollection", "features": [point("far", 2.35, 48.85), point("B", 118.17, 26.64)]}
    rows = client.post("/api/v1/screen", json={"site": fc}).json()
    assert "outside China" in rows[0]["error"] and rows[1]["error"] is None
    fc = {"type": "FeatureCollection", "features": [point("G", 118.17, 26.64), point("HUGE", 1e308, 26.6)]}
    rows = client.post("/api/v1/screen", json={"site": fc}).json()
    assert rows[0]["error"] is None and rows[1]["site_id"] == "HUGE" and rows[1]["error"]
    one = client.post("/api/v1/screen", json={"site": {"type": "Point", "coordinates": [2.35, 48.85]}})
    assert one.status_code == 422 and "outside China" in one.json()["message_en"]


def _corner_text(n: int) -> str:
    """A 界址点 table of one n-corner site near 延平区 (GK zone 39, X northing, Y easting with prefix)."""
    import math

    rows = ["地块编号,点号,X,Y"] + [f"D1,{i + 1},{2947123.4 + 300 * math.sin(2 * math.pi * i / n):.3f},"
                                  f"{39616456.7 + 300 * math.cos(2 * math.pi * i / n):.3f}" for i in range(n)]
    return "\n".join(rows)


def test_text_sites_are_held_to_the_body_limit_not_a_character_count(client):
    """A corner table pasted as text is limited like the same file uploaded (the request body,
    2 MiB here); a one-line coordinate string over 100,000 characters is 413 with advice; a JSON
    body over the limit is 413 without the slack multipart framing gets."""
    table = _corner_text(4000)  # ~130,000 characters
    assert 100_000 < len(table) < 2 * 1024 * 1024
    ok = client.post("/api/v1/screen", json={"site": table})
    assert ok.status_code == 200, ok.text
    assert ok.json()["site"]["geom_type"] == "Polygon" and len(ok.json()["site"]["corners"]) == 2000  # stored: first 2,000
    line = ";".join(f"{118.17 + 0.001 * i / 7000:.7f},{26.64 + 0.0005 * (i % 2)}" for i in range(7000))
    body = err(client.post("/api/v1/screen", json={"site": line}), 413, 413)
    assert body["error"] == "too_large" and "100,000" in body["message_en"] and "corner table" in body["message_en"]
    over = json.dumps({"site": "x" * (2 * 1024 * 1024 + 10)})
    body = err(client.post("/api/v1/screen", content=over, headers={"content-type": "application/json"}), 413, 413)
    assert "the request body exceeds the limit of 2 MiB" in body["message_en"]
