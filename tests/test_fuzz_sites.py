"""Fuzz: hostile site files, literals and attributes through `zoning sites` and `zoning screen`.

Every example ends with a result or one line of message and exit 0/1/2 (never 3, never a
traceback, nothing raw on the terminal); every folder written holds no spreadsheet formula, no
page that loads or runs anything, and no staging leftover. Quick in ``make test``; ``make fuzz``
(HYPOTHESIS_PROFILE=long) runs twelve times as many examples.
"""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fuzz_support import HOSTILE, check_result, check_written, cli, examples, patch_layers, record

FUZZ = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=False, database=None,
            phases=[Phase.explicit, Phase.generate])  # no shrinking: a failing example is reported as drawn


@pytest.fixture(scope="module", autouse=True)
def cached_layers(catalog):
    with pytest.MonkeyPatch.context() as mp:
        patch_layers(mp)
        yield


# --- strategies -------------------------------------------------------------------------------
text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30),
                 st.text(alphabet=st.characters(max_codepoint=0x3000), max_size=12))
nanping = st.tuples(st.floats(117.6, 119.2), st.floats(26.4, 28.2))
number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10 ** 30, 10 ** 30),
                   st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 2.35, 48.85, 39521456.7, 2947123.4]))
coordinate = st.one_of(nanping, nanping.map(lambda p: (p[1], p[0])), st.tuples(number, number),
                       st.just((2.35, 48.85)), st.just((116.40, 39.90)))
ident = st.one_of(st.none(), st.just(float("nan")), st.integers(-5, 5), st.floats(allow_nan=True), text,
                  st.sampled_from(["", "nan", "None", "S1", "S2", "<NA>"]))
attr_value = st.one_of(text, number.map(str), st.sampled_from(["C1371", "C2614", "C26", "C9999", "C261", "是", "否",
                                                               "燃煤", "coal", "gas", "35%", "150%", "1.5", "-1",
                                                               "inf", "nan", "1e999", "", "true", "abc"]))
ATTRS = ["industry", "two_high", "chemical", "boiler_th", "boiler_fuel", "energy_tce", "renewable_share",
         "clear_share", "项目名称", "行业代码", "锅炉蒸吨"]


@st.composite
def geometry(draw):
    x, y = draw(coordinate)
    kind = draw(st.sampled_from(["Point", "Point", "Polygon", "LineString", "MultiPoint", "null", "empty",
                                 "GeometryCollection", "bowtie"]))
    d = draw(st.sampled_from([0.0, 1e-9, 0.001, 0.02, 5.0]))
    if kind == "Point":
        return {"type": "Point", "coordinates": [x, y]}
    if kind == "null":
        return None
    if kind == "empty":
        return {"type": "Polygon", "coordinates": []}
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    if kind == "Polygon":
        return {"type": "Polygon", "coordinates": [ring]}
    if kind == "bowtie":
        return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y + d], [x + d, y], [x, y + d], [x, y]]]}
    if kind == "LineString":
        return {"type": "LineString", "coordinates": ring[:2]}
    if kind == "MultiPoint":
        return {"type": "MultiPoint", "coordinates": ring[:3]}
    return {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [x, y]}]}


@st.composite
def site_rows(draw):
    n = draw(st.integers(1, 5))
    rows = []
    for _ in range(n):
        row = {"id": draw(ident), "name": draw(text), "geometry": draw(geometry())}
        for key in draw(st.lists(st.sampled_from(ATTRS), max_size=3, unique=True)):
            row[key] = draw(attr_value)
        rows.append(row)
    return rows


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_sites(folder: Path, fmt: str, rows: list[dict], encoding: str) -> Path:
    if fmt == "geojson":
        features = [{"type": "Feature", "id": r["id"] if isinstance(r["id"], (str, int)) else None,
                     "properties": {k: v for k, v in r.items() if k != "geometry"}, "geometry": r["geometry"]}
                    for r in rows]
        path = folder / "sites.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                        encoding="utf-8")  # NaN/Infinity tokens on purpose: JSON has none, GDAL must cope
        return path
    if fmt == "kml":
        marks = []
        for r in rows:
            g = r["geometry"] or {"type": "Point", "coordinates": [0, 0]}
            first = g.get("coordinates") or [[0, 0]]
            while isinstance(first, list) and first and isinstance(first[0], list):
                first = first[0]
            x, y = (first + [0, 0])[:2] if isinstance(first, list) else (0, 0)
            name = "" if r["name"] is None else xml_escape(str(r["name"]).replace("\x00", ""))
            marks.append(f"<Placemark><name>{name}</name><Point><coordinates>{_plain(x)},{_plain(y)}</coordinates>"
                         f"</Point></Placemark>")
        path = folder / "sites.kml"
        text = ("<?xml version='1.0' encoding='UTF-8'?><kml xmlns='http://www.opengis.net/kml/2.2'><Document>"
                + "".join(marks) + "</Document></kml>")
        path.write_text("".join(ch for ch in text if ch >= " " or ch in "\t\n\r"), encoding="utf-8")
        return path
    table = []
    for r in rows:
        g = r["geometry"]
        lon, lat = (g["coordinates"] if g and g["type"] == "Point" else ["", ""])
        table.append({**{k: _plain(v) for k, v in r.items() if k != "geometry"}, "lon": _plain(lon),
                      "lat": _plain(lat)})
    frame = pd.DataFrame(table)
    if fmt == "xlsx":
        from zoning.escape import xlsx_frame

        path = folder / "sites.xlsx"
        xlsx_frame(frame.astype(str)).to_excel(path, index=False)
        return path
    path = folder / "sites.csv"
    data = frame.to_csv(index=False)
    try:
        path.write_bytes(data.encode(encoding))
    except UnicodeEncodeError:
        path.write_bytes(data.encode("utf-8"))
    return path


# --- the tests ----------------------------------------------------------------------------------
@settings(max_examples=examples(14, 160), **FUZZ)
@given(rows=site_rows(), fmt=st.sampled_from(["geojson", "csv", "csv", "kml", "xlsx"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16", "latin-1"]), reports=st.booleans())
def test_hostile_site_files(rows, fmt, encoding, reports):
    with tempfile.TemporaryDirectory(prefix="zoning-fuzz-") as tmp:
        folder = Path(tmp)
        path = write_sites(folder, fmt, rows, encoding)
        kinds = [check_result(cli("sites", path), f"sites {fmt}")]
        out = folder / "out"
        res = cli("screen", path, "-o", out, "--reports" if reports else "--no-reports")
        kinds.append(check_result(res, f"screen {fmt}"))
        if out.exists():
            counts = check_written(out)
            record(**{f"written_{k}": v for k, v in counts.items()})
        elif res.exit_code != 2:
            raise AssertionError(f"screen exited {res.exit_code} and wrote nothing: {res.stderr[-500:]}")
        record(cases=2, site_file_cases=1, **{f"ending_{k}": 1 for k in kinds},
               internal_errors=0, tracebacks=0)


literal = st.one_of(
    st.text(alphabet="0123456789.,;-+eE °'\"NSEW度分秒XY=:： ()infa", max_size=40),
    st.tuples(number, number).map(lambda p: f"{p[0]},{p[1]}"),
    st.lists(st.tuples(number, number), min_size=1, max_size=5).map(lambda ps: ";".join(f"{a},{b}" for a, b in ps)),
    st.tuples(number, number).map(lambda p: f"X={p[0]} Y={p[1]}"),
    st.sampled_from(HOSTILE), st.text(max_size=20))


@settings(max_examples=examples(60, 800), **FUZZ)
@given(site=literal)
def test_hostile_literals_and_paths(site):
    res = cli("sites", "--", site)  # after "--": a literal starting with "-" is data, not an option
    record(cases=1, literal_cases=1, **{f"ending_{check_result(res, repr(site)[:60])}": 1})


@settings(max_examples=examples(30, 400), **FUZZ)
@given(pairs=st.lists(st.tuples(st.sampled_from(ATTRS[:8] + ["name", "colour", "", "=x"]), attr_value),
                      min_size=1, max_size=3))
def test_hostile_attributes(pairs):
    args = [a for k, v in pairs for a in ("-a", f"{k}={v}")]
    res = cli("screen", "118.17,26.64", *args)
    record(cases=1, attribute_cases=1, **{f"ending_{check_result(res, repr(pairs)[:80])}": 1})
