"""Issue 15, one test per example of its "Why" list (and the class behind it): hostile and broken
input never runs script, fetches, leaks a formula, a path or a control sequence, never kills a
batch, never leaves stale or mixed output, and every failure is one line of message.

The random side of the same classes is in tests/test_fuzz_*.py.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import yaml

from fuzz_support import (CATALOG, HOSTILE, ROOT, check_result, check_written, chromium, cli, csv_rows,
                          formula_cells, patch_layers, record, xlsx_rows, zoning_process)

GENERATED = CATALOG.parent / "nanping" / "generated"
SAMPLE = GENERATED / "sample_projects.gpkg"
STANDS = GENERATED / "sample_stands.gpkg"
ESC = "\x1b]0;PWNED\x07\x1b[2J"
FORMULAS = ['=HYPERLINK("http://127.0.0.1:9/","click")', "=cmd|' /C calc'!A0", "@SUM(1,1)", "+1+1", "-2+3"]


@pytest.fixture(scope="module", autouse=True)
def cached_layers(catalog):
    with pytest.MonkeyPatch.context() as mp:
        patch_layers(mp)
        yield


def catalog_copy(folder: Path, *, names=None, encoding="utf-8", extra=None) -> Path:
    """The sample catalog in ``folder`` (absolute paths), layer names replaced by ``names(i, name)``."""
    doc = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    doc["rules"] = str((CATALOG.parent / doc["rules"]).resolve())
    for i, entry in enumerate(doc["layers"]):
        entry["path"] = str((CATALOG.parent / entry["path"]).resolve())
        if names is not None:
            entry["name"] = names(i, entry["name"])
    if extra:
        extra(doc)
    path = folder / "catalog.yaml"
    path.write_bytes(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode(encoding))
    return path


def alias_bomb(levels: str) -> tuple[str, str]:
    """A "billion laughs" YAML prefix: each level an anchor of ten aliases of the one before;
    returns (text, the last anchor's name) — 10 ** (len(levels) + 1) nodes once expanded."""
    text, prev = "a: &a [x, x, x, x, x, x, x, x, x, x]\n", "a"
    for n in levels:
        text += f"{n}: &{n} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
        prev = n
    return text, prev


def points_csv(path: Path, rows, header=("id", "name", "lon", "lat"), encoding="utf-8") -> Path:
    frame = pd.DataFrame(rows, columns=list(header))
    path.write_bytes(frame.to_csv(index=False).encode(encoding))
    return path


# --- 1. script and network from data ----------------------------------------------------------
HTML_HOSTILE = [h for h in HOSTILE if "<" in h or "javascript:" in h]


def test_hostile_catalog_names_and_tile_name_run_no_script_and_fetch_nothing(tmp_path):
    """Every catalog layer named with markup (script, a beacon image, a stylesheet import), a hostile
    --tiles-name and site name: the map passes the DOM-level offline guard and, in Chromium, runs
    no script and makes no request (the old map ran the layer switcher's names as HTML)."""
    cat = catalog_copy(tmp_path, names=lambda i, name: f"{HTML_HOSTILE[i % len(HTML_HOSTILE)]} {name}")
    sites = points_csv(tmp_path / "s.csv", [("A1", HTML_HOSTILE[1], 118.17, 26.64), ("A2", HTML_HOSTILE[2], 118.4, 27.3)])
    out = tmp_path / "map.html"
    res = cli("map", sites, "-o", out, "--catalog", cat, "--tiles", "http://127.0.0.1:9/{z}/{x}/{y}.png",
              "--tiles-name", HTML_HOSTILE[0] + HTML_HOSTILE[2])
    check_result(res, "map")
    page = out.read_text(encoding="utf-8")
    check_written(out)
    # independent of the guard: no element from the data, in any letter case
    assert not re.search(r"<img[^>]+(?:onerror|http://127)", page, re.I)
    assert "window.__pwned=2</script>" not in page and "<style>@import" not in page
    report = tmp_path / "report"
    res = cli("screen", sites, "-o", report, "--reports", "--catalog", cat)
    check_result(res, "screen")
    check_written(report)
    if chromium() is None:
        pytest.skip("no Chromium (make test installs it when run as root)")
    pytest.importorskip("playwright.sync_api")
    from fuzz_support import browse

    seen = browse([out, *sorted((report / "reports").glob("*.html"))])
    record(chromium_pages=seen["pages"], chromium_script_runs=len(seen["script_runs"]),
           chromium_requests=len(seen["requests"]))
    assert seen["script_runs"] == [] and seen["requests"] == [], seen


def test_offline_guard_sees_urls_in_any_attribute_or_css():
    from zoning.errors import OfflineViolation
    from zoning.render.maps import assert_offline, assert_static_page

    for page in ('<img src="http://127.0.0.1:9/b.png">', '<div style="background:url(//127.0.0.1:9/x)">',
                 '<video poster="https://x/p.png"></video>', '<svg><image xlink:href="http://x/i.png"/></svg>',
                 "<style>@import 'http://x/y.css';</style>", '<img srcset="data:,a 1x, http://x/b.png 2x">',
                 '<object data="http://x/o"></object>', '<meta http-equiv="refresh" content="0;url=http://x/">'):
        with pytest.raises(OfflineViolation):
            assert_offline(page)
    for page in ("<script>1</script>", "<p onclick=x>", '<a href=" javascript:alert(1)">', "<iframe srcdoc=x>"):
        with pytest.raises(OfflineViolation):
            assert_static_page(page)


# --- 2. formulas into Excel -------------------------------------------------------------------
def test_formula_names_never_reach_a_spreadsheet_as_formulas(tmp_path):
    """summary.csv, the export CSVs and data dictionary (CSV/XLSX), the carbon stock tables (also
    --by) and the programme CSV/XLSX: no cell starts with = + - @ unless it is a plain number."""
    sites = points_csv(tmp_path / "s.csv", [(f, FORMULAS[(i + 1) % 5], 118.17 + i * 0.01, 26.64)
                                            for i, f in enumerate(FORMULAS)])
    out = tmp_path / "screen"
    check_result(cli("screen", sites, "-o", out), "screen")
    rows = csv_rows(out / "summary.csv")
    assert any(cell == "'" + FORMULAS[0] for row in rows for cell in row)  # kept, as text
    assert any(cell == "-2+3" or cell == "'-2+3" for row in rows for cell in row)
    export = tmp_path / "export"
    check_result(cli("export", "--county", "延平区", "--layers", "admin", "--format", "csv,shp", "--results", out,
                     "-o", export), "export")
    stands = gpd.read_file(STANDS).head(6)
    stands["小班号"] = [f"{f}-{i}" for i, f in enumerate(FORMULAS + ["@x"])]
    stands["区划"] = FORMULAS + ["=1"]
    stands_file = tmp_path / "stands.gpkg"
    stands.to_file(stands_file, engine="pyogrio")
    stock = tmp_path / "stock"
    check_result(cli("carbon", "stock", stands_file, "--id-field", "小班号", "--by", "区划", "-o", stock), "stock")
    program = tmp_path / "program"
    check_result(cli("carbon", "program", "--stands", stands_file, "--id-field", "小班号", "--draws", "200",
                     "-o", program), "program")
    counts = {}
    for folder in (out, export, stock, program):
        for k, v in check_written(folder).items():
            counts[k] = counts.get(k, 0) + v
    assert counts.get("csv_files", 0) >= 8 and counts.get("xlsx_files", 0) >= 2, counts
    assert (stock / "stock_by_区划.csv").exists()


def test_spreadsheet_escaping_keeps_numbers_numeric():
    from zoning.escape import csv_cell, csv_frame

    assert csv_cell(-12.5) == -12.5 and csv_cell("-12.5") == "-12.5" and csv_cell("=1") == "'=1"
    assert csv_cell(" =1") == "' =1" and csv_cell("＝1") == "'＝1" and csv_cell("-inf") == "'-inf"
    frame = csv_frame(pd.DataFrame({"a": pd.Series(["=1", None], dtype="str"), "b": [1.5, -2.0]}))
    assert frame["a"].iloc[0] == "'=1" and frame["b"].tolist() == [1.5, -2.0]


# --- 3. paths from data -----------------------------------------------------------------------
def test_by_field_with_a_path_stays_inside_the_output_folder(tmp_path):
    field = "../../../../tmp/zoning-by-escape"
    stands = gpd.read_file(STANDS).head(3)
    stands[field] = ["a", "b", "a"]
    stands_file = tmp_path / "stands.gpkg"
    stands.to_file(stands_file, engine="pyogrio")
    out = tmp_path / "deep" / "er" / "stock"
    before = set(Path("/tmp").iterdir())
    check_result(cli("carbon", "stock", stands_file, "--by", field, "-o", out), "stock --by")
    written = {p.name for p in out.iterdir()}
    assert "stock_by_tmp_zoning-by-escape.csv" in written, written
    assert set(Path("/tmp").iterdir()) - before == set() or all(
        not p.name.startswith("zoning-by-escape") for p in set(Path("/tmp").iterdir()) - before)
    assert [p for p in tmp_path.rglob("*") if "zoning-by-escape" in p.name and p.parent != out] == []


def test_file_names_from_site_ids_stay_inside(tmp_path):
    ids = ["../../evil", "/etc/passwd", "CON", ".hidden", "x" * 400, "甲" * 200]
    sites = points_csv(tmp_path / "s.csv", [(s, "n", 118.17 + i * 0.001, 26.64) for i, s in enumerate(ids)])
    out = tmp_path / "o"
    check_result(cli("screen", sites, "-o", out, "--reports"), "screen")
    names = [p for p in out.rglob("*") if p.is_file()]
    assert all(out in p.parents for p in names)
    assert len(list((out / "results").glob("*.json"))) == len(ids)
    assert all(len(p.name.encode()) <= 255 for p in names)


# --- 4. terminal control --------------------------------------------------------------------
def test_control_sequences_in_data_reach_the_terminal_escaped(tmp_path):
    sites = points_csv(tmp_path / "s.csv", [("A" + ESC, "n" + ESC, 118.17, 26.64), ("B\u202e", "m", 118.18, 26.65)])
    for args in (("sites", sites), ("screen", sites), ("screen", sites, "--json"), ("sites", sites, "--json")):
        res = cli(*args)
        check_result(res, " ".join(map(str, args)))
        assert "\x1b" not in res.output and "\x07" not in res.output and "\u202e" not in res.output
    assert "\\x1b" in cli("screen", sites).stdout
    # an output path with ANSI sequences is shown as written (escaped), not stripped into another path
    proc = zoning_process("screen", "118.17,26.64", "-o", tmp_path / "a\x1b[31mb")
    err = proc.stderr.decode("utf-8")
    assert "a\\x1b[31mb" in err and "\x1b" not in err, err
    data = json.loads(cli("screen", sites, "--json").stdout)  # still valid JSON, the value intact
    assert data[0]["site_id"] == "A" + ESC


# --- 5. one bad row never kills the batch ---------------------------------------------------
def test_one_bad_row_is_an_error_row_and_the_rest_is_written(tmp_path):
    rows = [("ok1", "好", 118.17, 26.64), ("far", "outside China", 2.35, 48.85), ("swap", "swapped", 26.65, 118.18),
            ("nanrow", "NaN", "nan", 26.6), ("inf", "inf", "inf", 26.6), ("abc", "text", "abc", 26.6),
            ("huge", "1e308", "1e308", 26.6), ("ok2", "好2", 118.19, 26.66)]
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"s.{fmt}"
        frame = pd.DataFrame(rows, columns=["id", "name", "lon", "lat"]).astype(str)
        frame["boiler_th"] = ["8", "8", "8", "8", "8", "8", "8", "abc"]  # a bad attribute value in one row
        if fmt == "csv":
            path.write_text(frame.to_csv(index=False), encoding="utf-8")
        else:
            frame.to_excel(path, index=False)
        out = tmp_path / f"o_{fmt}"
        res = cli("screen", path, "-o", out)
        assert check_result(res, fmt) == "partial"
        summary = pd.read_csv(out / "summary.csv", dtype=str, keep_default_na=False)
        errors = dict(zip(summary["站点编号"], summary["错误"]))
        assert errors["ok1"] == "" and all(errors[k] for k in ("far", "swap", "nanrow", "inf", "abc", "huge", "ok2"))
        assert "outside China" in errors["far"] and "swap" in errors["swap"] and "boiler_th" in errors["ok2"]
        assert len(list((out / "results").glob("*.json"))) == len(rows)
        assert dict(zip(summary["站点编号"], summary["项目名称"]))["far"] == "outside China"  # names kept
    # export --results: the sites that could not be screened are named, not dropped silently; exit 1
    res = cli("export", "--county", "延平区", "--layers", "admin", "--format", "csv", "--results", out,
              "-o", tmp_path / "exp")
    assert check_result(res, "export --results with error rows") == "partial" and "far" in res.stderr
    manifest = json.loads(next((tmp_path / "exp").rglob("manifest.json")).read_text(encoding="utf-8"))
    assert set(manifest["unscreened"]) == {"far", "swap", "nanrow", "inf", "abc", "huge"}
    geo = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "in"}, "geometry": {"type": "Point", "coordinates": [118.17, 26.64]}},
        {"type": "Feature", "properties": {"id": "out"}, "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}},
        {"type": "Feature", "properties": {"id": "none"}, "geometry": None}]}
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps(geo), encoding="utf-8")
    res = cli("screen", path, "-o", tmp_path / "o_geo")
    assert check_result(res, "geojson") == "partial"


def test_sites_and_carbon_stock_show_bad_rows_and_keep_the_rest(tmp_path):
    """`zoning sites` and `zoning carbon stock` degrade like `screen`: every row shown or written, the
    bad ones with their reason, exit 1."""
    sites = points_csv(tmp_path / "s.csv", [("ok", "好", 118.17, 26.64), ("far", "x", 2.35, 48.85),
                                            ("swap", "y", 26.65, 118.18), ("nanrow", "z", "nan", 26.6),
                                            ("inf", "w", "inf", 26.6)])
    res = cli("sites", sites, "--json")
    assert check_result(res, "sites") == "partial"
    rows = {r["id"]: r for r in json.loads(res.stdout)}
    assert list(rows) == ["ok", "far", "swap", "nanrow", "inf"]
    assert rows["ok"]["error"] is None and rows["ok"]["county"] == "延平区"
    assert "outside China" in rows["far"]["error"] and "swap" in rows["swap"]["error"]
    assert rows["nanrow"]["error"] and rows["inf"]["error"] and rows["far"]["lon"] is None
    table = cli("sites", sites)
    assert check_result(table, "sites table") == "partial" and "nan " not in table.stdout
    bowtie = cli("sites", ROOT / "tests" / "data" / "bowtie.geojson")  # one site, repair > 1 %: its row says why
    assert check_result(bowtie, "bowtie") == "partial" and "V2" in bowtie.stdout

    # a table or KML read through read_sites: bad rows (outside, swapped, NaN, duplicate id) keep their
    # reason in the error column, the rest is measured, exit 1
    dup = points_csv(tmp_path / "dup.csv", [("ok", "好", 118.17, 26.64), ("far", "x", 2.35, 48.85),
                                            ("D", "y", 118.18, 26.64), ("D", "z", 118.19, 26.64)])
    res = cli("carbon", "stock", dup, "-o", tmp_path / "cs_table")
    assert check_result(res, "carbon stock table") == "partial"
    table = pd.read_csv(tmp_path / "cs_table" / "stock.csv", dtype=str, keep_default_na=False)
    errors = dict(zip(table["site_id"], table["error"]))
    assert errors["ok"] == "" and "outside China" in errors["far"] and "duplicate" in table["error"].iloc[2]

    def square(x, y, d=0.01):
        return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}
    bow = {"type": "Polygon", "coordinates": [[[118.1, 26.6], [118.2, 26.7], [118.2, 26.6], [118.1, 26.7], [118.1, 26.6]]]}
    nan = {"type": "Polygon", "coordinates": [[[118.1, 26.6], [float("nan"), 26.6], [118.2, 26.7], [118.1, 26.6]]]}
    features = [("ok", square(118.1, 26.6)), ("none", None), ("far", square(2.3, 48.8)), ("bow", bow),
                ("nan", nan), ("inf", square(float("inf"), 26.6)), ("swap", square(26.6, 118.1))]
    path = tmp_path / "stands.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": i}, "geometry": g} for i, g in features]}), encoding="utf-8")
    res = cli("carbon", "stock", path, "-o", tmp_path / "cs")
    assert check_result(res, "carbon stock") == "partial" and "Warning" not in res.stderr
    flags = pd.read_csv(tmp_path / "cs" / "stock.csv", dtype=str, keep_default_na=False).set_index("id")["flags"]
    # duplicate ids in a vector file: each polygon measured, both flagged duplicate_id, a note says so
    dup_path = tmp_path / "dup.geojson"
    dup_path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": i}, "geometry": square(118.1 + k / 10, 26.6)}
        for k, i in enumerate(["P1", "P1", "P2"])]}), encoding="utf-8")
    res = cli("carbon", "stock", dup_path, "-o", tmp_path / "cs_dup")
    assert check_result(res, "dup ids") == "ok" and "duplicate_id" in res.stderr
    dflags = pd.read_csv(tmp_path / "cs_dup" / "stock.csv", dtype=str, keep_default_na=False)["flags"].tolist()
    assert dflags == ["duplicate_id", "duplicate_id", ""]
    assert flags.to_dict() == {"ok": "", "none": "no_geometry;not_a_polygon", "far": "outside_raster;outside_china", "bow": "repaired_invalid",
                               "nan": "bad_coordinates;not_a_polygon", "inf": "bad_coordinates;not_a_polygon",
                               "swap": "bad_coordinates;not_a_polygon"}


# --- 6. ids ---------------------------------------------------------------------------------
def test_missing_ids_are_generated_and_names_are_ids_only_when_unique(tmp_path):
    from zoning.io.sites import read_sites

    geo = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": None, "properties": {"id": v, "name": n},
         "geometry": {"type": "Point", "coordinates": [118.17 + i / 100, 26.64]}}
        for i, (v, n) in enumerate([(None, "A"), (None, "B"), (3, "C"), ("S1", "D")])]}
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps(geo), encoding="utf-8")
    ids = read_sites(path)["site_id"].tolist()
    assert ids == ["S2", "S3", "3", "S1"] and "nan" not in ids, ids
    # a numeric id column with gaps comes back from pandas as floats with NaN: 1.0 is "1", NaN is generated
    frame = gpd.GeoDataFrame({"id": [1.0, float("nan"), 3.0]},
                             geometry=[shapely.Point(118.17 + i / 100, 26.64) for i in range(3)], crs=4490)
    assert read_sites(frame)["site_id"].tolist() == ["1", "S1", "3"]
    kml = ("<?xml version='1.0' encoding='UTF-8'?><kml xmlns='http://www.opengis.net/kml/2.2'><Document>"
           + "".join(f"<Placemark><name>{n}</name><Point><coordinates>{118.17 + i / 100},26.64</coordinates></Point>"
                     "</Placemark>" for i, n in enumerate(["甲", "甲", "乙"])) + "</Document></kml>")
    (tmp_path / "dup.kml").write_text(kml, encoding="utf-8")
    sites = read_sites(tmp_path / "dup.kml")
    assert sites["site_id"].tolist() == ["S1", "S2", "S3"] and sites["name"].tolist() == ["甲", "甲", "乙"]
    (tmp_path / "uniq.kml").write_text(kml.replace("甲</name><Point><coordinates>118.18", "丙</name><Point>"
                                                   "<coordinates>118.18"), encoding="utf-8")
    assert read_sites(tmp_path / "uniq.kml")["site_id"].tolist() == ["甲", "丙", "乙"]
    res = cli("screen", tmp_path / "dup.kml", "-o", tmp_path / "o")
    assert check_result(res) == "ok" and "nan" not in res.stdout


def test_duplicate_ids_are_error_rows_in_a_batch(tmp_path):
    sites = points_csv(tmp_path / "s.csv", [("A", "1", 118.17, 26.64), ("A", "2", 118.18, 26.64), ("B", "3", 118.19, 26.64)])
    res = cli("screen", sites, "-o", tmp_path / "o")
    assert check_result(res) == "partial"
    summary = pd.read_csv(tmp_path / "o" / "summary.csv", dtype=str, keep_default_na=False)
    assert summary["错误"].str.contains("duplicate site id").tolist() == [True, True, False]


# --- 7. stale or mixed output -----------------------------------------------------------------
def test_overwrite_leaves_nothing_of_an_earlier_larger_run(tmp_path):
    big = tmp_path / "big.csv"
    points_csv(big, [(f"OLDBIG{i}", "n", 118.17 + i / 100, 26.64) for i in range(3)])
    small = points_csv(tmp_path / "small.csv", [(f"NEWSMALL{i}", "n", 118.30 + i / 100, 27.0) for i in range(2)])
    out = tmp_path / "o"
    check_result(cli("screen", big, "-o", out, "--reports"), "big")
    assert len(list((out / "reports").glob("*.docx"))) == 3
    check_result(cli("screen", small, "-o", out, "--overwrite"), "small")
    assert sorted(p.name for p in (out / "results").iterdir()) == ["NEWSMALL0.json", "NEWSMALL1.json"]
    assert not (out / "reports").exists()
    from zoning.screening.result import read_results

    assert [r.site_id for r in read_results(out)] == ["NEWSMALL0", "NEWSMALL1"]
    m = tmp_path / "m.html"
    check_result(cli("map", "--result", out, "-o", m), "map --result")
    page = m.read_text(encoding="utf-8")
    assert "NEWSMALL0" in page and "OLDBIG" not in page
    exp = tmp_path / "e"
    check_result(cli("export", "--county", "建瓯市", "--layers", "admin", "--format", "csv", "--results", out,
                     "-o", exp), "export --results")
    found = [dict(zip(rows[0], r))["site_id"] for f in exp.rglob("*_results.csv") for rows in [csv_rows(f)]
             for r in rows[1:]]
    assert sorted(found) == ["NEWSMALL0", "NEWSMALL1"], found
    # the same for export, carbon stock and carbon program folders
    for args in (("export", "--county", "延平区", "--layers", "admin", "--format", "csv", "-o", tmp_path / "e2"),
                 ("carbon", "stock", STANDS, "-o", tmp_path / "c"),
                 ("carbon", "program", "--stands", STANDS, "--draws", "200", "-o", tmp_path / "p")):
        check_result(cli(*args), args[0])
        folder = Path(args[-1])
        target = next(p for p in folder.iterdir() if p.is_dir()) if args[0] == "export" else folder
        # a file the user put in the folder is never deleted by --overwrite: refused, file kept
        (target / "my_notes.txt").write_text("mine", encoding="utf-8")
        res = cli(*args, "--overwrite")
        assert check_result(res, args[0] + " refused") == "message" and "my_notes.txt" in res.stderr
        assert (target / "my_notes.txt").read_text(encoding="utf-8") == "mine"
        (target / "my_notes.txt").unlink()
        check_result(cli(*args, "--overwrite"), args[0] + " --overwrite")
        check_written(target)
    # a folder marked by an older zoning (a marker without the file list) is replaced whole, as before
    marker = out / ".zoning-output"
    marker.write_text("written by zoning; may be replaced by a later zoning run\n", encoding="utf-8")
    (out / "results" / "stale_from_an_older_zoning.json").write_text("{}", encoding="utf-8")
    check_result(cli("screen", small, "-o", out, "--overwrite"), "over a legacy marker")
    assert sorted(p.name for p in (out / "results").iterdir()) == ["NEWSMALL0.json", "NEWSMALL1.json"]


def few_sites(tmp_path: Path, n: int = 6) -> Path:
    return points_csv(tmp_path / "few.csv", [(f"F{i}", "n", 118.17 + i / 50, 26.64 + i / 50) for i in range(n)])


def test_a_second_concurrent_writer_is_refused(tmp_path):
    out = tmp_path / "o"
    sites = few_sites(tmp_path)
    first = subprocess.Popen([str(Path(os.sys.executable).with_name("zoning")), "screen", str(sites), "-o", str(out),
                              "--reports"], env={**os.environ, "ZONING_CATALOG": str(CATALOG)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lock = tmp_path / ".o.zoning-lock"
    deadline = time.time() + 120
    while not lock.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert lock.exists(), "the first run never took the lock"
    second = cli("screen", "118.17,26.64", "-o", out, "--overwrite")
    assert check_result(second) == "message" and "another zoning run" in second.stderr
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert len(list((out / "results").glob("*.json"))) == 6 and len(list((out / "reports").glob("*.html"))) == 6
    assert not lock.exists() and not list(tmp_path.glob(".zoning-*"))


def test_a_closed_pipe_ends_printing_but_not_the_run(tmp_path):
    out = tmp_path / "o"
    sites = few_sites(tmp_path)
    proc = subprocess.run(f"'{Path(os.sys.executable).with_name('zoning')}' screen '{sites}' -o '{out}' --reports "
                          f"| head -1; exit ${{PIPESTATUS[0]}}", shell=True, executable="/bin/bash",
                          env={**os.environ, "ZONING_CATALOG": str(CATALOG)}, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert b"Traceback" not in proc.stderr and b"BrokenPipe" not in proc.stderr
    assert len(proc.stdout.decode().splitlines()) == 1
    assert len(list((out / "results").glob("*.json"))) == 6 and len(list((out / "reports").glob("*.docx"))) == 6


# --- 8. internal errors become messages -------------------------------------------------------
@pytest.mark.parametrize("site", ["inf,26.6", "nan,26.6", "118.17,-inf", "1e999,26.6", "X=1.2.3 Y=4",
                                  "1" + "0" * 300 + ",26.6", "118.17,26.64;1e308,26.64;118.2,26.7", "", "   "])
def test_non_finite_huge_and_empty_coordinates_are_one_line(site):
    for command in ("sites", "screen"):
        res = cli(command, site)
        assert check_result(res, f"{command} {site[:20]}") == "message"
        assert len(res.stderr.strip()) <= 320
    assert "cannot read ." not in cli("screen", "").stderr and "no site given" in cli("screen", "").stderr


def test_gbk_catalog_rule_pack_and_side_files_load(tmp_path):
    pack = tmp_path / "pack_gbk.yaml"
    pack.write_bytes((CATALOG.parent / "rules" / "nanping.yaml").read_text(encoding="utf-8").encode("gbk"))
    res = cli("rules", "check", pack)
    assert check_result(res) == "ok" and "24" in res.stdout
    cat = catalog_copy(tmp_path, encoding="gbk", extra=lambda d: d.update(rules=str(pack)))
    res = cli("layers", "list", "--catalog", cat)
    assert check_result(res) == "ok" and "生态保护红线" in res.stdout
    assert check_result(cli("screen", "118.17,26.64", "--catalog", cat)) == "ok"
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe\x00\x00garbage\x81")
    for args in (("layers", "list", "--catalog", tmp_path / "bad.yaml"), ("rules", "check", tmp_path / "bad.yaml")):
        assert check_result(cli(*args)) == "message"
    # the clause library too (issue 15: side files detected like site files)
    from zoning.screening.clauses import load_clause_library

    clauses = GENERATED / "clauses.yaml"
    gbk = tmp_path / "clauses_gbk.yaml"
    gbk.write_bytes(clauses.read_text(encoding="utf-8").encode("gbk"))
    assert load_clause_library(gbk).clauses == load_clause_library(clauses).clauses
    from zoning.carbon.programme import read_table

    quota = tmp_path / "quota.csv"
    quota.write_bytes("county,quota_ha\n延平区,3000\n建瓯市,2000\n".encode("gbk"))
    assert read_table(quota, "配额")["county"].tolist() == ["延平区", "建瓯市"]


def test_control_characters_in_a_name_still_give_report_docx(tmp_path):
    out = tmp_path / "o"
    res = cli("screen", "118.17,26.64", "-a", "name=x\x07\x1b[2J\x00y\x0b", "-o", out)
    assert check_result(res) == "ok"
    with zipfile.ZipFile(out / "report.docx") as z:
        assert "\\x07" in z.read("word/document.xml").decode("utf-8")
    assert {p.name for p in out.iterdir()} >= {"report.docx", "report.html", "result.json", "map.html"}


def test_deep_nesting_and_alias_bombs_are_bounded(tmp_path):
    deep = tmp_path / "deep.yaml"
    head = ("name: t\nversion: 1\nrules:\n  - id: A\n    dimension: 空间布局约束\n    citation: x\n    scope: all\n"
            "    outcome: prohibited\n    message: {zh: a, en: a}\n    when: ")
    deep.write_text(head + "{not: " * 3000 + "{attr: {name: boiler_th, gt: 1}}" + "}" * 3000 + "\n", encoding="utf-8")
    mid = tmp_path / "mid.yaml"
    mid.write_text(head + "{not: " * 60 + "{attr: {name: boiler_th, gt: 1}}" + "}" * 60 + "\n", encoding="utf-8")
    lol = tmp_path / "lol.yaml"
    text, prev = alias_bomb("bcdefghijk")
    lol.write_text(text + f"name: t\nversion: 1\nrules: [{{id: X, when: *{prev}}}]\n", encoding="utf-8")
    cat_lol = tmp_path / "cat.yaml"
    cat_lol.write_text(text + "layers: *k\n", encoding="utf-8")
    for args in (("rules", "check", deep), ("rules", "check", mid), ("rules", "check", lol),
                 ("screen", "118.17,26.64", "--rules", deep), ("layers", "list", "--catalog", cat_lol)):
        started = time.time()
        res = cli(*args)
        assert check_result(res, str(args)) == "message"
        assert time.time() - started < 20
        assert re.search("nest|deep|alias|large", res.stderr), res.stderr
    from zoning.errors import ClauseLibraryError
    from zoning.screening.clauses import load_clause_library

    clause_lol = tmp_path / "clauses.yaml"
    clause_lol.write_text(text + "clauses: *k\n", encoding="utf-8")
    with pytest.raises(ClauseLibraryError, match="alias"):
        load_clause_library(clause_lol)


def test_rules_check_lists_every_problem_one_per_line(tmp_path):
    pack = tmp_path / "bad.yaml"
    rule = ("  - id: {id}\n    dimension: {dim}\n    citation: x\n    scope: all\n    outcome: {out}\n"
            "    message: {{zh: a, en: a}}\n    when: {{attr: {{name: {name}, {comp}: {value}}}}}\n")
    pack.write_text("name: t\nversion: 1\nrules:\n"
                    + rule.format(id="A", dim="空间布局约束", out="prohibited", name="boiler_th", comp="gt", value="abc")
                    + rule.format(id="B", dim="nonsense", out="maybe", name="[1, 2]", comp="eq", value="1")
                    + rule.format(id="C", dim="空间布局约束", out="prohibited", name="renewable_share", comp="ge",
                                  value="1.5")
                    + rule.format(id="D", dim="空间布局约束", out="prohibited", name="boiler_fuel", comp="eq",
                                  value="plutonium"), encoding="utf-8")
    res = cli("rules", "check", pack)
    assert check_result(res) == "message"
    problems = [line for line in res.stderr.splitlines() if line.startswith("问题：")]
    assert len(problems) == 6 and all(len(line) <= 320 for line in problems), res.stderr
    assert "6 problems" in res.stderr.splitlines()[-1]


BROKEN_RESULTS = {
    "not_json": "{not json",
    "empty": "",
    "binary": "\x00\x01\x02",
    "list_of_garbage": "[1, 2, 3]",
    "nan": '{"site_id": NaN}',
    "deep": "[" * 5000 + "]" * 5000,
    "wrong_types": None,  # filled from a real result below
    "bad_wkt": None,
    "hostile_verdict": None,
    "huge_ring": None,
}


@pytest.mark.parametrize("kind", list(BROKEN_RESULTS))
def test_a_broken_result_file_is_a_message(tmp_path, kind):
    good = json.loads(cli("screen", "118.17,26.64", "--json").stdout)
    text = BROKEN_RESULTS[kind]
    if text is None:
        doc = dict(good)
        if kind == "wrong_types":
            doc["site"] = dict(doc["site"], lon="east")
            doc["rules"] = "none"
        elif kind == "bad_wkt":
            doc["site"] = dict(doc["site"], wkt="POLYGON ((nonsense")
        elif kind == "hostile_verdict":
            doc["verdict"] = '"><script>window.__pwned=1</script>'
        else:
            doc["buffer_rings_m"] = [1e308]
        text = json.dumps(doc)
    folder = tmp_path / "res"
    folder.mkdir()
    (folder / "result.json").write_text(text, encoding="utf-8")
    for args in (("map", "--result", folder, "-o", tmp_path / "m.html"),
                 ("export", "--county", "延平区", "--layers", "admin", "--format", "csv", "--results", folder,
                  "-o", tmp_path / "e")):
        res = cli(*args)
        assert check_result(res, f"{kind} {args[0]}") == "message", res.stderr


def test_no_site_given_and_an_output_under_proc_say_what_is_wrong(tmp_path):
    res = cli("screen", "")
    assert "no site given" in res.stderr and res.exit_code == 2
    res = cli("screen", "118.17,26.64", "-o", "/proc/nope")
    assert check_result(res) == "message" and "/proc/nope" in res.stderr and "/proc:" not in res.stderr


# --- 9. read-only folders and a full disk, for every command that writes ----------------------
@contextlib.contextmanager
def mounted(folder: Path, options: str):
    folder.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True,
                              timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}): the read-only/full-disk cases need root")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()[:120]}): the read-only/full-disk "
                    f"cases need root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


WRITERS = [
    ("screen", "118.17,26.64", "-o", "{d}/s1"),
    ("screen", str(SAMPLE), "-o", "{d}/s2", "--reports"),
    ("carbon", "stock", str(STANDS), "-o", "{d}/c"),
    ("carbon", "program", "--stands", str(STANDS), "--draws", "200", "-o", "{d}/p"),
    ("map", "-o", "{d}/m.html"),
    ("export", "--county", "延平区", "--format", "shp,csv,gpkg", "-o", "{d}/e"),
]


@pytest.mark.parametrize("mode", ["read-only", "full"])
def test_every_writer_on_a_read_only_or_full_disk_says_so_in_one_line(tmp_path, mode):
    options = "size=1m,ro" if mode == "read-only" else "size=64k"
    with mounted(tmp_path / "mnt", options) as d:
        for args in WRITERS:
            args = [a.format(d=d) for a in args]
            res = cli(*args)
            assert check_result(res, " ".join(args)) == "message", res.stderr
            line = res.stderr.strip().splitlines()[-1]
            target = Path(args[args.index("-o") + 1])
            assert str(target) in line or str(target.parent) in line, line
            assert re.search("Read-only|not writable|No space|disk full|磁盘已满", line), line
            assert not [p for p in d.iterdir() if p.name.startswith((".zoning-stage", ".zoning-old"))]
        record(**{f"{mode}_runs": len(WRITERS)})
    if mode == "read-only":  # sample build writes into its catalog's folder
        cat = tmp_path / "sample" / "catalog.yaml"
        with mounted(tmp_path / "sample", "size=2m") as folder:
            (folder / "nanping").mkdir()
            shutil.copy(CATALOG.parent / "nanping" / "admin.gpkg", folder / "nanping" / "admin.gpkg")
            text = CATALOG.read_text(encoding="utf-8").replace("rules: rules/nanping.yaml",
                                                              f"rules: {CATALOG.parent / 'rules' / 'nanping.yaml'}")
            cat.write_text(text, encoding="utf-8")
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, timeout=30)
            res = cli("sample", "build", "--catalog", cat)
            assert check_result(res, "sample build") == "message" and "Read-only" in res.stderr, res.stderr


def test_a_missing_local_tile_folder_is_a_message_not_a_blank_map(tmp_path):
    res = cli("map", "-o", tmp_path / "m.html", "--tiles", "file:///nonexistent-zoning/{z}/{x}/{y}.png")
    assert check_result(res, "tiles") == "message" and "nonexistent-zoning" in res.stderr
    assert not (tmp_path / "m.html").exists()
    (tmp_path / "tiles").mkdir()
    res = cli("map", "-o", tmp_path / "m.html", "--tiles", f"file://{tmp_path / 'tiles'}/{{z}}/{{x}}/{{y}}.png")
    assert check_result(res, "tiles ok") == "ok" and (tmp_path / "m.html").exists()
    for bad in ("javascript:alert(1)//{z}/{x}/{y}", "data:text/html,{z}", "\x1b[2J", "vbscript:x{z}"):
        res = cli("map", "-o", tmp_path / "m2.html", "--tiles", bad)
        assert check_result(res, repr(bad)) == "message" and "--tiles" in res.stderr
    assert not (tmp_path / "m2.html").exists()


def test_catalog_may_be_the_folder_layers_import_wrote(tmp_path):
    cat = catalog_copy(tmp_path)
    assert check_result(cli("layers", "list", "--catalog", cat.parent)) == "ok"
    empty = tmp_path / "empty"
    empty.mkdir()
    res = cli("layers", "list", "--catalog", empty)
    assert check_result(res, "folder without catalog") == "message" and "folder" in res.stderr


def test_field_mapping_files_are_read_the_one_safe_way(tmp_path):
    """--field FILE: GBK read, alias bombs and unsafe tags refused in one line, for sites and screen."""
    sites = points_csv(tmp_path / "s.csv", [("A", "好", 118.17, 26.64)], header=("id", "name", "lon", "lat"))
    frame = pd.read_csv(sites)
    frame["能耗"] = [1200]
    frame.to_csv(sites, index=False)
    gbk = tmp_path / "map_gbk.yaml"
    gbk.write_bytes("energy_tce: 能耗\n".encode("gbk"))
    res = cli("sites", sites, "--field", gbk, "--json")
    assert check_result(res, "gbk mapping") == "ok" and str(json.loads(res.stdout)[0]["attributes"]["energy_tce"]) == "1200"
    bomb = tmp_path / "bomb.yaml"
    text, prev = alias_bomb("bcdefghij")
    bomb.write_text(text + f"energy_tce: *{prev}\n", encoding="utf-8")
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("energy_tce: !!python/object/apply:os.system ['echo PWNED']\n", encoding="utf-8")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    for path, needle in ((bomb, "alias"), (unsafe, "YAML"), (deep, "deep")):
        for cmd in (("sites", sites), ("screen", sites)):
            started = time.time()
            res = cli(*cmd, "--field", path)
            assert check_result(res, f"{cmd[0]} {path.name}") == "message" and needle in res.stderr, res.stderr
            assert time.time() - started < 20


def test_site_zips_refuse_traversal_links_and_bombs(tmp_path):
    """A zipped site file goes through the same archive checks as uploads and deliveries: ../ and
    absolute entries, links and bombs are refused in one line, nothing is written outside."""
    import stat as stat_mod

    good = points_csv(tmp_path / "s.csv", [("A", "好", 118.17, 26.64)])
    cases = {}
    with zipfile.ZipFile(tmp_path / "trav.zip", "w") as z:
        z.write(good, "s.csv")
        z.writestr("../../escaped.csv", "id,lon,lat\nX,118.17,26.64\n")
    cases["trav.zip"] = "unsafe"
    with zipfile.ZipFile(tmp_path / "abs.zip", "w") as z:
        z.writestr("/tmp/zoning-abs-escape.csv", "id,lon,lat\nX,118.17,26.64\n")
    cases["abs.zip"] = "unsafe"
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as z:
        info = zipfile.ZipInfo("s.csv")
        info.external_attr = (stat_mod.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    cases["link.zip"] = "link"
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("s.csv", b"id,lon,lat\n" + b"0" * (300 * 1024 * 1024))
    cases["bomb.zip"] = "zip bomb"
    for name, needle in cases.items():
        for cmd in ("sites", "screen"):
            res = cli(cmd, tmp_path / name)
            assert check_result(res, f"{cmd} {name}") == "message" and needle in res.stderr, res.stderr
    assert not (tmp_path.parent / "escaped.csv").exists() and not Path("/tmp/zoning-abs-escape.csv").exists()


def test_a_degenerate_ring_far_outside_is_an_error_row(tmp_path):
    """Found by make fuzz: a ring of one repeated GK-looking point with a negative northing made the
    CRS hints (gcj02/bd09 readings) raise a GEOS error (exit 3); it is an error row."""
    ring = [[39521456.7, -41309]] * 5
    path = tmp_path / "d.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "A"}, "geometry": {"type": "Point", "coordinates": [118.6, 27.08]}},
        {"type": "Feature", "properties": {"id": "B"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}),
        encoding="utf-8")
    for cmd in ("sites", "screen"):
        assert check_result(cli(cmd, path), cmd) == "partial"
