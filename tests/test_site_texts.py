"""Issue 13 (input defects found by a cold tester): KMZ read exactly like its KML, multi-line
界址点/table text read as the same .txt/.csv file, plain messages for malformed GeoJSON and text
that is no coordinate at all, and CRS advice worded for every front end (no ``--crs``), said once.

Truth is independent of the reader under test: the values written into the KML, pyproj's own
Gauss-Kruger transformation of the corner points, the same text read from a file, and pyproj for
every CRS a message suggests.
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import Point

from zoning.api import read_sites, screen
from zoning.cli import main
from zoning.errors import CRSProblem, SiteError, UnreadableInput, UnsafeUpload, ZoningError

from conftest import CATALOG, job_results, service_client

SAMPLE = CATALOG.parent / "nanping" / "generated" / "sample_projects.gpkg"
CHINA = shapely.box(73, 18, 135, 54)

# -- item 1: KMZ --------------------------------------------------------------------------------
PLACEMARKS = [  # name, description, 行业代码, 是否两高, 锅炉蒸吨, geometry (KML coordinates)
    ("A1", "一号地块", "X99", "否", "2", "<Point><coordinates>118.17,26.64</coordinates></Point>"),
    ("A2", "", "C2614", "是", "10", "<Polygon><outerBoundaryIs><LinearRing><coordinates>118.10,26.60 "
     "118.12,26.60 118.12,26.62 118.10,26.62 118.10,26.60</coordinates></LinearRing></outerBoundaryIs></Polygon>"),
    ("A3", "三号 <b>地块</b>", "C3011", "是", "35", "<Point><coordinates>118.20,26.70</coordinates></Point>"),
]


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def kml_text(placemarks=PLACEMARKS, *, untyped: bool = False) -> str:
    """A KML document; ``untyped``: the attributes as ``<Data name><value>`` (Google Earth, 奥维)
    instead of SchemaData."""
    marks = []
    for name, desc, code, two_high, boiler, geom in placemarks:
        d = f"<description>{_esc(desc)}</description>" if desc else ""
        fields = (("行业代码", _esc(code)), ("是否两高", _esc(two_high)), ("锅炉蒸吨", boiler))
        if untyped:
            data = "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in fields)
        else:
            data = '<SchemaData schemaUrl="#sites">' + "".join(f'<SimpleData name="{k}">{v}</SimpleData>'
                                                              for k, v in fields) + "</SchemaData>"
        marks.append(f"""<Placemark><name>{_esc(name)}</name>{d}
  <ExtendedData>{data}</ExtendedData>{geom}</Placemark>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document id="root_doc">
<Schema name="sites" id="sites">
  <SimpleField name="行业代码" type="string"></SimpleField>
  <SimpleField name="是否两高" type="string"></SimpleField>
  <SimpleField name="锅炉蒸吨" type="float"></SimpleField>
</Schema>
<Folder><name>sites</name>
{chr(10).join(marks)}
</Folder></Document></kml>
"""


def write_pair(folder: Path, text: str, *, extra: dict[str, bytes] | None = None, inner: str = "doc.kml"):
    """``sites.kml`` and ``sites.kmz`` (the same document zipped as ``inner``, plus ``extra`` entries)."""
    folder.mkdir(parents=True, exist_ok=True)
    kml = folder / "sites.kml"
    kml.write_text(text, encoding="utf-8")
    kmz = folder / "sites.kmz"
    with zipfile.ZipFile(kmz, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (extra or {}).items():
            z.writestr(name, data)
        z.writestr(inner, text.encode("utf-8"))
    return kml, kmz


def assert_same_frame(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry")))
    assert all(shapely.equals_exact(x, y, 0) if x is not None else y is None for x, y in zip(a.geometry, b.geometry))


def test_kmz_reads_exactly_like_its_kml(tmp_path):
    kml, kmz = write_pair(tmp_path, kml_text())
    a, b = read_sites(kml, on_error="flag"), read_sites(kmz, on_error="flag")
    assert_same_frame(a, b)
    # the attributes are those written into the document (not only equal to the KML's)
    assert b["site_id"].tolist() == ["A1", "A2", "A3"] and b["name"].tolist() == ["A1", "A2", "A3"]
    assert b["industry"].tolist() == ["X99", "C2614", "C3011"]
    assert b["two_high"].tolist() == ["否", "是", "是"]
    assert b["boiler_th"].astype(float).tolist() == [2.0, 10.0, 35.0]
    assert b["description"].iloc[0] == "一号地块" and b["description"].iloc[2] == "三号 <b>地块</b>"
    assert shapely.equals_exact(b.geometry.iloc[0], Point(118.17, 26.64), 0)


def test_kmz_main_document_is_doc_kml_among_other_entries(tmp_path):
    """Google Earth opens doc.kml (or the first top-level KML): images and other KMLs ride along."""
    other = kml_text([("Z9", "", "C1371", "否", "1", "<Point><coordinates>118.3,26.9</coordinates></Point>")])
    kml, kmz = write_pair(tmp_path, kml_text(), extra={"files/icon.png": b"\x89PNG....", "files/other.kml": other})
    assert_same_frame(read_sites(kml, on_error="flag"), read_sites(kmz, on_error="flag"))
    _, named = write_pair(tmp_path / "named", kml_text(), inner="项目红线.kml")  # no doc.kml: the top-level KML
    assert read_sites(named)["industry"].tolist() == ["X99", "C2614", "C3011"]


def test_kmz_goes_through_the_safe_archive_reader(tmp_path):
    evil = tmp_path / "evil.kmz"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../doc.kml", kml_text())
    with pytest.raises(UnsafeUpload):
        read_sites(evil)
    assert not (tmp_path.parent / "doc.kml").exists()
    empty = tmp_path / "empty.kmz"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("readme.txt", "nothing here")
    with pytest.raises(UnreadableInput, match="empty.kmz holds no KML"):
        read_sites(empty)


NAMES = st.text(alphabet=st.characters(whitelist_categories=("L", "N"), max_codepoint=0x9FFF), min_size=1,
                max_size=8)
CODES = st.sampled_from(["X99", "C2614", "C3011", "C1371", "D4411", ""])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(NAMES, NAMES, CODES, st.sampled_from(["是", "否"]), st.integers(0, 500),
                               st.floats(117.5, 119.0), st.floats(26.0, 28.0)), min_size=1, max_size=5,
                     unique_by=lambda r: r[0]))
def test_kmz_equals_kml_for_any_document(tmp_path_factory, rows):
    marks = [(name, desc, code, two, str(boiler), f"<Point><coordinates>{x!r},{y!r}</coordinates></Point>")
             for name, desc, code, two, boiler, x, y in rows]
    kml, kmz = write_pair(tmp_path_factory.mktemp("kmz"), kml_text(marks))
    a, b = read_sites(kml, on_error="flag"), read_sites(kmz, on_error="flag")
    assert_same_frame(a, b)
    assert b["name"].tolist() == [r[0] for r in rows]
    assert b["boiler_th"].astype(float).tolist() == [float(r[4]) for r in rows]
    for (*_, x, y), g in zip(rows, b.geometry):
        assert g.x == x and g.y == y


def test_untyped_chinese_data_names_are_kept(tmp_path):
    """<Data name="行业代码"> (GDAL alone reads every such name as underscores and merges them):
    the same sites and attributes as the SchemaData form, from the KML and from its KMZ."""
    typed = read_sites(write_pair(tmp_path / "typed", kml_text())[0], on_error="flag")
    kml, kmz = write_pair(tmp_path / "untyped", kml_text(untyped=True))
    a, b = read_sites(kml, on_error="flag"), read_sites(kmz, on_error="flag")
    assert_same_frame(a, b)
    assert a["industry"].tolist() == ["X99", "C2614", "C3011"] == typed["industry"].tolist()
    assert a["two_high"].tolist() == typed["two_high"].tolist()
    assert a["boiler_th"].astype(float).tolist() == [2.0, 10.0, 35.0]
    assert not any(set(c) == {"_"} for c in a.columns)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8)
                      .map(str.strip).filter(lambda t: t and not t.isascii()), min_size=1, max_size=4, unique=True),
       quote=st.sampled_from(['"', "'"]))
def test_any_untyped_data_name_comes_back_as_written(tmp_path_factory, names, quote):
    def attr(t):  # the name as an XML attribute in that quote
        t = _esc(t).replace(quote, "&quot;" if quote == '"' else "&apos;")
        return f"{quote}{t}{quote}"

    data = "".join(f"<Data name={attr(n)}><value>v{i}</value></Data>" for i, n in enumerate(names))
    text = (f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"<Placemark><name>P1</name><ExtendedData>{data}</ExtendedData>"
            f"<Point><coordinates>118.17,26.64</coordinates></Point></Placemark></Document></kml>")
    kml, kmz = write_pair(tmp_path_factory.mktemp("data"), text)
    a = read_sites(kml, on_error="flag")
    assert_same_frame(a, read_sites(kmz, on_error="flag"))
    for i, n in enumerate(names):
        assert a[n].tolist() == [f"v{i}"]


def _outcomes(results) -> dict:
    return {r.site_id: (r.verdict, r.error) for r in results}


def test_kmz_screens_like_its_kml(tmp_path, layers):
    kml, kmz = write_pair(tmp_path, kml_text())
    a, b = _outcomes(screen(kml, layers=layers)), _outcomes(screen(kmz, layers=layers))
    assert a == b
    assert b["A1"][1] and "X99" in b["A1"][1]  # the bad industry code is caught, not needs_info
    assert [b[k][0] for k in ("A2", "A3")] == [a[k][0] for k in ("A2", "A3")]


def test_zoning_sites_shows_kmz_attributes(tmp_path):
    kml, kmz = write_pair(tmp_path, kml_text())
    runner = CliRunner()
    out = {p.suffix: json.loads(runner.invoke(main, ["sites", str(p), "--json"]).output) for p in (kml, kmz)}
    assert out[".kmz"] == out[".kml"]
    assert [r["attributes"].get("industry") for r in out[".kmz"]] == ["X99", "C2614", "C3011"]


# -- the service --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(layers, tmp_path_factory):
    with service_client(layers, tmp_path_factory.mktemp("svc_texts")) as c:
        yield c


def _api_outcomes(rows) -> dict:
    return {r["site_id"]: (r["verdict"], r.get("error")) for r in rows}


def test_kmz_upload_and_job_read_like_kml(client, tmp_path):
    kml, kmz = write_pair(tmp_path, kml_text())
    got = {}
    for p in (kml, kmz):
        resp = client.post("/api/v1/screen", files={"file": (p.name, p.read_bytes())})
        assert resp.status_code == 200, resp.text[:300]
        got[p.suffix] = _api_outcomes(resp.json())
    assert got[".kmz"] == got[".kml"] and "X99" in (got[".kmz"]["A1"][1] or "")
    jobs = {p.suffix: {k: (d["verdict"], d.get("error")) for k, d in job_results(client, p).items()}
            for p in (kml, kmz)}
    assert jobs[".kmz"] == jobs[".kml"] and "X99" in (jobs[".kmz"]["A1"][1] or "")


# -- item 2: multi-line text ---------------------------------------------------------------------
JZD = ("[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=39\n精度=0.01\n"
       "转换参数=,,,,,,\n[地块坐标]\n5,1.0,D1,测试地块,面,,,,@\nJ1,1,2950000.0,617000.0\nJ2,1,2950000.0,617100.0\n"
       "J3,1,2950100.0,617100.0\nJ4,1,2950100.0,617000.0\nJ1,1,2950000.0,617000.0\n")
TABLE = ("地块编号,点号,X,Y\n"
         "D1,1,2950000.0,39617000.0\nD1,2,2950000.0,39617100.0\nD1,3,2950100.0,39617100.0\nD1,4,2950100.0,39617000.0\n"
         "D2,1,2960000.0,39620000.0\nD2,2,2960000.0,39620200.0\nD2,3,2960200.0,39620200.0\n")
GK39 = Transformer.from_crs(4527, 4490, always_xy=True)  # CGCS2000 3-degree zone 39 with prefix


def _truth_ring(corners) -> np.ndarray:
    """The corners (X = northing, Y = easting with zone prefix) in lon/lat, by pyproj."""
    east = np.array([c[1] for c in corners])
    north = np.array([c[0] for c in corners])
    return np.column_stack(GK39.transform(east, north))


@pytest.mark.parametrize("text,suffix", [(JZD, ".txt"), (TABLE, ".csv")])
def test_multiline_text_reads_like_the_same_file(tmp_path, text, suffix):
    path = tmp_path / f"sites{suffix}"
    path.write_text(text, encoding="utf-8")
    from_file = read_sites(path)
    for allow in (False, True):
        from_text = read_sites(text, allow_paths=allow)
        # the same frame; only messages naming the source differ ("sites.txt" vs "text")
        assert list(from_text.columns) == list(from_file.columns)
        assert from_text["site_id"].tolist() == from_file["site_id"].tolist()
        assert from_text["crs_in"].tolist() == from_file["crs_in"].tolist()
        assert all(shapely.equals_exact(a, b, 0) for a, b in zip(from_text.geometry, from_file.geometry))
    d1 = from_text.geometry.iloc[0]
    truth = _truth_ring([(2950000.0, 39617000.0), (2950000.0, 39617100.0), (2950100.0, 39617100.0),
                         (2950100.0, 39617000.0)])
    got = shapely.get_coordinates(d1.exterior)[:4]
    assert np.abs(np.sort(got, axis=0) - np.sort(truth, axis=0)).max() < 1e-9


def test_api_reads_multiline_text_sites(client, layers, tmp_path):
    for text, suffix in ((JZD, ".txt"), (TABLE, ".csv")):
        path = tmp_path / f"s{suffix}"
        path.write_text(text, encoding="utf-8")
        resp = client.post("/api/v1/screen", json={"site": text})
        assert resp.status_code == 200, resp.text[:400]
        body = resp.json()
        rows = body if isinstance(body, list) else [body]
        truth = _outcomes(screen(path, layers=layers))
        assert {r["site_id"]: (r["verdict"], r.get("error")) for r in rows} == truth
        upload = client.post("/api/v1/screen", files={"file": (path.name, text.encode("utf-8"))})
        assert _api_outcomes(upload.json()) == truth  # the same as the same text uploaded as a file
    assert isinstance(client.post("/api/v1/screen", json={"site": TABLE}).json(), list)  # two parcels: a list


def test_text_never_opens_a_server_file(client, monkeypatch):
    """Even a multi-line text made of existing paths is read as text: nothing on the server is
    looked at or opened (every way the reader reaches the file system fails the test)."""
    import zoning.io.sites as sites_mod

    assert SAMPLE.exists()

    def touched(*args, **kwargs):
        raise AssertionError(f"the file system was touched: {args!r}")

    for name in ("path_exists", "path_is_dir", "read_vector", "_decode_text", "_read_vector_source", "_read_kml"):
        monkeypatch.setattr(sites_mod, name, touched)
    for text in (f"{SAMPLE}\n{SAMPLE}", f"layers/nanping/generated/sample_projects.gpkg\n{CATALOG}\n", TABLE):
        try:
            got = read_sites(text, allow_paths=False, on_error="flag")
        except ZoningError as exc:
            assert not isinstance(exc, AssertionError) and "not found" not in exc.en
        else:
            assert text == TABLE and got["site_id"].tolist() == ["D1", "D2"]
        body = client.post("/api/v1/screen", json={"site": text}).json()
        assert ("error" in body) == (text != TABLE)


LONG_BAD = "[地块坐标]\n5,1.0,D1,x,面,,,,@\nJ1,1," + "9" * 400 + "abc,617000\n" + "J2,1,1,2\n" * 500


@pytest.mark.parametrize("text", [LONG_BAD, "hello\n" * 2000, "a" * 5000 + "\n" + "b" * 5000, "地块编号,点号,X,Y\n" +
                                  "D1,1,x" + "y" * 3000 + ",1\n"])
def test_errors_quote_a_short_excerpt_only(client, text):
    body = client.post("/api/v1/screen", json={"site": text}).json()
    assert set(body) == {"error", "message_zh", "message_en"}, body
    for half in (body["message_zh"], body["message_en"]):
        assert "\n" not in half and len(half) < 400, half
        assert "9" * 100 not in half and "hello\\nhello\\nhello\\nhello\\nhello" not in half


TEXTS = st.one_of(st.text(min_size=1, max_size=3000),  # any text, and long repetitive ones (lines of
                  st.tuples(st.text(min_size=1, max_size=30), st.sampled_from(["\n", "", ";", ","]),  # it)
                            st.integers(20, 200)).map(lambda t: (t[0] + t[1]) * t[2]))


@settings(max_examples=80, deadline=None)
@given(TEXTS)
def test_any_text_is_read_or_refused_in_one_short_line(text):
    try:
        read_sites(text, allow_paths=False, on_error="flag")
    except ZoningError as exc:
        for half in (exc.zh, exc.en):
            assert len(half) < 500, half
            assert "\n" not in half and "\r" not in half
    except ValueError as exc:  # pragma: no cover - a raw library error is a failure
        pytest.fail(f"raw error {exc!r}")


def test_single_line_text_is_still_coordinates():
    s = read_sites("118.17,26.64", allow_paths=False)
    assert shapely.equals_exact(s.geometry.iloc[0], Point(118.17, 26.64), 0)
    poly = read_sites("118.1,26.6;118.2,26.6;118.2,26.7", allow_paths=False).geometry.iloc[0]
    assert shapely.equals_exact(poly, shapely.Polygon([(118.1, 26.6), (118.2, 26.6), (118.2, 26.7)]), 0)


# -- item 3: plain messages -----------------------------------------------------------------------
@pytest.mark.parametrize("geometry,zh,en", [
    ({"type": "Point", "coordinates": ["a", "b"]}, "坐标应为数字", "coordinates must be numbers"),
    ({"type": "Point", "coordinates": [118.3]}, "点需要经度和纬度两个数", "a point needs two numbers"),
    ({"type": "Point", "coordinates": [True, 26.6]}, "坐标应为数字", "coordinates must be numbers"),
    ({"type": "Polygon", "coordinates": [[118.1, 26.6], [118.2, 26.6]]}, "嵌套层数不对", "nested wrongly"),
    ({"type": "Polygon", "coordinates": [[[118.1, 26.6], [118.2, 26.6], [118.1, 26.6]]]}, "至少需要 3 个不同的点",
     "at least 3 distinct points"),
    ({"type": "LineString", "coordinates": [[118.1, 26.6]]}, "线至少需要 2 个点", "a line needs at least 2 points"),
    ({"type": "Blob", "coordinates": [1, 2]}, "不支持的几何类型", "unsupported geometry type"),
])
def test_malformed_geojson_is_said_plainly(client, geometry, zh, en):
    for site in (geometry, {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [118.17, 26.64]}},
            {"type": "Feature", "properties": {}, "geometry": geometry}]}):
        resp = client.post("/api/v1/screen", json={"site": site})
        assert resp.status_code == 400, resp.text[:300]
        body = resp.json()
        assert body["error"] == "bad_request"
        assert zh in body["message_zh"] and en in body["message_en"], body
        text = body["message_zh"] + body["message_en"]
        for raw in ("np.str_", "could not convert", "operand", "gufunc", "linearring", "Traceback"):
            assert raw not in text, text
    assert "第 2 个要素" in body["message_zh"] and "feature 2" in body["message_en"]


@pytest.mark.parametrize("text", ["hello world", "温度很高", "abc;def"])
def test_text_that_is_no_coordinate_is_a_site_error(client, text):
    with pytest.raises(SiteError):
        read_sites(text, allow_paths=False)
    resp = client.post("/api/v1/screen", json={"site": text})
    assert resp.status_code == 422 and resp.json()["error"] == "site_error", resp.text[:300]
    assert "cannot parse coordinates" in resp.json()["message_en"]


def test_one_number_is_not_a_point():
    with pytest.raises(SiteError, match="a point needs two numbers"):
        read_sites("118.3", allow_paths=False)


def test_values_beyond_any_crs_stay_a_crs_problem():
    with pytest.raises(CRSProblem):
        read_sites("2.35,48.85", allow_paths=False)
    with pytest.raises(CRSProblem):
        read_sites("1e400,5", allow_paths=False)


# -- item 4: wording for every front end, said once ------------------------------------------------
def test_no_crs_note_names_the_crs_before_the_option():
    """The note reads right on a page (set the CRS to gcj02) and on the command line (--crs gcj02)."""
    w = read_sites("118.17,26.64")["warnings"].iloc[0]
    note = next(x for x in w if "no CRS given" in x)
    assert "坐标系设为 gcj02（--crs gcj02）" in note and "set the CRS to gcj02 (--crs gcj02)" in note


@pytest.mark.parametrize("site,crs", [("38.0,10.0", None), ("X=2950000 Y=617000", None)])
def test_crs_advice_names_the_crs_and_the_option(site, crs):
    with pytest.raises(CRSProblem) as exc:
        read_sites(site, crs=crs)
    assert "坐标系" in exc.value.zh and "CRS" in exc.value.en
    assert "--crs" in exc.value.zh and "--crs" in exc.value.en  # the API says "crs" instead (service.errors)


SWAPPED = [(Point(2950000.0, 617000.0), 4548), (Point(2950000.0, 39617000.0), 4527)]


@pytest.mark.parametrize("geom,crs", SWAPPED)
def test_swapped_xy_is_said_once_and_its_crs_are_right(client, geom, crs):
    with pytest.raises(CRSProblem) as exc:
        read_sites(gpd.GeoDataFrame(geometry=[geom]), crs=crs)
    zh, en = exc.value.zh, exc.value.en
    assert zh.count("请交换 X、Y 两列") == 1 and en.count("swap the two columns") == 1, (zh, en)
    # every CRS the message names puts the swapped numbers inside China (pyproj, not the reader)
    codes = [int(c) for c in re.findall(r"\b(45\d\d)\b", en.split("swap the two columns", 1)[1])]
    for code in codes or [crs]:
        lon, lat = Transformer.from_crs(code, 4490, always_xy=True).transform(geom.y, geom.x)
        assert CHINA.contains(Point(lon, lat)), (code, lon, lat)
    body = client.post("/api/v1/screen", json={"site": shapely.geometry.mapping(geom), "crs": str(crs)}).json()
    assert body["error"] == "crs_problem"
    assert body["message_zh"].count("请交换 X、Y 两列") == 1 and body["message_en"].count("swap the two columns") == 1
    assert "--crs" not in body["message_zh"] + body["message_en"]  # the API names its own crs field


def test_one_site_text_with_a_problem_is_its_own_error(client):
    """One parcel in the text: its own error, class and code (as for a one-site upload)."""
    swapped = "地块编号,点号,X,Y\nD1,1,39617000.0,2950000.0\nD1,2,39617100.0,2950000.0\nD1,3,39617100.0,2950100.0\n"
    with pytest.raises(CRSProblem, match="swap"):
        read_sites(swapped, allow_paths=False)
    body = client.post("/api/v1/screen", json={"site": swapped}).json()
    assert body["error"] == "crs_problem" and "swap" in body["message_en"] and "--crs" not in body["message_en"]
    assert "\n" not in body["message_zh"] + body["message_en"]


def _mixed_kml(schema_used: bool) -> str:
    typed = ('<ExtendedData><SchemaData schemaUrl="#s"><SimpleData name="行业代码">C2614</SimpleData>'
             '<SimpleData name="锅炉蒸吨">10</SimpleData><SimpleData name="备注"/></SchemaData></ExtendedData>')
    second = typed if schema_used else ('<ExtendedData><Data name="行业代码"><value>C2614</value></Data>'
                                        '<Data name="锅炉蒸吨"><value>10</value></Data></ExtendedData>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Schema name="s" id="s"><SimpleField name="行业代码" type="string"/><SimpleField name="锅炉蒸吨" type="float"/>
<SimpleField name="备注" type="string"/></Schema>
<Placemark><name>A</name><ExtendedData><Data name="行业代码"><value>C3011</value></Data>
<Data name="建设单位"><value>甲公司</value></Data></ExtendedData><Point><coordinates>118.17,26.64</coordinates></Point></Placemark>
<Placemark><name>B</name>{second}<Point><coordinates>118.2,26.7</coordinates></Point></Placemark>
</Document></kml>
"""


@pytest.mark.parametrize("schema_used", [True, False])
def test_untyped_data_is_read_next_to_a_schema(tmp_path, schema_used):
    """GDAL drops every <Data> of a KML that declares a <Schema> (cold trial: 行业代码 and 建设单位 of
    a Google Earth placemark lost without a word): both forms are read, from the KML and its KMZ."""
    kml, kmz = write_pair(tmp_path, _mixed_kml(schema_used))
    a = read_sites(kml, on_error="flag")
    assert_same_frame(a, read_sites(kmz, on_error="flag"))
    got = a.set_index("site_id")
    assert got.loc["A", "industry"] == "C3011" and got.loc["A", "建设单位"] == "甲公司"
    assert got.loc["B", "industry"] == "C2614" and float(got.loc["B", "boiler_th"]) == 10.0
