"""Site inputs that were refused for the wrong reason, or not read at all (testers' review):
every form of the same input meets the same, true, plain message.

1. a self-intersecting "bow-tie" is invalid (where, and the area change of a repair), not "degenerate";
2. empty / garbage / DOCTYPE files: one plain line, no GDAL English;
3. file names GDAL treats specially (``a;b.gpkg``, ``GPKG:x.gpkg``) are read;
4. KML 项目名称 / XMMC in ExtendedData is the site's name, as in the other forms;
5. 界址点 text with X and Y swapped is diagnosed as the table form is;
6. a mislabelled .prj gets the reading that fits, and --crs over a .prj is said;
7. XLSX formulas without a saved value: named as such; other columns keep the formula text.
"""
from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import Point, Polygon

from conftest import one_line_refusal
from zoning.errors import CRSProblem, SiteError, UnreadableInput, ZoningError
from zoning.io.sites import read_sites

GEOD = Geod(ellps="GRS80")

# ---------------------------------------------------------------------------------------------
# 1. bow-tie
BOWTIE = [(118.883, 27.565), (118.886, 27.568), (118.886, 27.565), (118.883, 27.568), (118.883, 27.565)]


def _bowtie_area() -> float:
    """The two triangles of the bow-tie, meeting at the crossing (118.8845, 27.5665): the area a
    repair gives it, from pyproj's geodesic polygon area (edges short enough to be straight)."""
    c = (118.8845, 27.5665)
    total = 0.0
    for tri in ([BOWTIE[0], c, BOWTIE[3]], [c, BOWTIE[1], BOWTIE[2]]):
        dense = shapely.segmentize(Polygon(tri), 1e-5)
        x, y = np.array(dense.exterior.coords).T
        total += abs(GEOD.polygon_area_perimeter(x, y)[0])
    return total


def _bowtie_forms(tmp_path: Path) -> dict:
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "B"},
                                                      "geometry": {"type": "Polygon", "coordinates": [BOWTIE]}}]}
    (tmp_path / "bow.geojson").write_text(json.dumps(fc))
    tr = Transformer.from_crs(4490, 4549, always_xy=True)
    lines = ["[属性描述]", "坐标系=2000国家大地坐标系", "带号=40", "[地块坐标]", "5,4.9,B,蝴蝶结,面,,,,@"]
    for i, (lon, lat) in enumerate(BOWTIE, 1):
        e, n = tr.transform(lon, lat)
        lines.append(f"J{i},1,{n:.3f},{e:.3f}")
    (tmp_path / "bow.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"geojson": tmp_path / "bow.geojson",
            "literal": ";".join(f"{x},{y}" for x, y in BOWTIE[:-1]),
            "frame": gpd.GeoDataFrame({"id": ["B"]}, geometry=[Polygon(BOWTIE)], crs=4490),
            "jzd text file": tmp_path / "bow.txt",
            "jzd text": "\n".join(lines) + "\n"}


@pytest.mark.parametrize("form", ["geojson", "literal", "frame", "jzd text file", "jzd text"])
def test_bowtie_is_invalid_with_its_repair_change_in_every_form(tmp_path, form):
    with pytest.raises(SiteError) as err:
        read_sites(_bowtie_forms(tmp_path)[form])
    zh, en = err.value.zh, err.value.en
    assert "degenerate" not in en and "退化" not in zh
    assert "Self-intersection" in en and "自相交" in zh
    # where: the crossing of the two diagonals
    x, y = map(float, re.search(r"Self-intersection\[([\d.]+) ([\d.]+)\]", en).groups())
    assert abs(x - 118.8845) < 1e-5 and abs(y - 27.5665) < 1e-5
    assert "Self-intersection" not in zh  # no GEOS English in the Chinese half
    # the change a repair would make: the whole repaired area (the drawn, signed area cancels)
    change = float(re.search(r"by \+([\d,.]+) m²", en).group(1).replace(",", ""))
    assert change == pytest.approx(_bowtie_area(), rel=2e-3)
    assert "(100.0%" in en and "（100.0%）" in zh


def test_truly_degenerate_polygon_keeps_its_message(tmp_path):
    line = [(118.1, 26.6), (118.2, 26.6), (118.3, 26.6), (118.1, 26.6)]
    for src in (";".join(f"{x},{y}" for x, y in line[:-1]),
                gpd.GeoDataFrame({"id": ["L"]}, geometry=[Polygon(line)], crs=4490)):
        with pytest.raises(SiteError, match="degenerate polygon with zero area"):
            read_sites(src)


def test_small_repair_still_accepted_with_a_warning():
    """A polygon with a ~1 m² bow-tie notch on its edge: repaired, its change (< 0.01 %) said."""
    x0, y0, dx, dy, e = 118.2, 26.7, 0.002, 0.002, 1e-5
    m = y0 + dy / 2
    shell = [(x0, y0), (x0 + dx, y0), (x0 + dx, y0 + dy), (x0, y0 + dy), (x0, m + e), (x0 + e, m - e),
             (x0 + e, m + e), (x0, m - e)]
    sites = read_sites(gpd.GeoDataFrame({"site_id": ["R"]}, geometry=[Polygon(shell)], crs=4490))
    w = " ".join(sites["warnings"].iloc[0])
    assert "invalid polygon repaired" in w and "自相交" in w


# ---------------------------------------------------------------------------------------------
# 2. unreadable files
def _kml(body: str, head: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"{body}</Document></kml>")


UNREADABLE = {
    "empty.geojson": b"", "empty.gpkg": b"", "empty.kml": b"", "empty.kmz": b"", "empty.xlsx": b"",
    "junk.geojson": bytes(range(256)) * 3, "junk.gpkg": bytes(np.random.default_rng(1).integers(0, 256, 600,
                                                                                             dtype=np.uint8)),
    "junk.kmz": b"PK\x03\x04 not really", "junk.xlsx": b"PK garbage",
    "doctype.kml": _kml("<Placemark><name>&a;</name><Point><coordinates>118.1,26.6</coordinates></Point>"
                        "</Placemark>", '<!DOCTYPE kml [<!ENTITY a "aaaa">]>\n').encode(),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_files_get_one_plain_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(UNREADABLE[name])
    with pytest.raises(UnreadableInput) as err:
        read_sites(str(path))
    zh, en = err.value.zh, err.value.en
    assert name in zh and name in en
    for raw in ("not recognized", "parsing", "supported file format", "File is not a zip", "ERROR", "DRIVER"):
        assert raw not in zh and raw not in en, (raw, zh, en)
    assert not re.search(r"[A-Za-z]{4,} [A-Za-z]{4,}", zh), zh  # no English sentence in the Chinese half
    kind = {".geojson": "GeoJSON", ".gpkg": "GeoPackage", ".kml": "KML", ".kmz": "KMZ", ".xlsx": "Excel"}[path.suffix]
    if name == "doctype.kml":
        assert "DOCTYPE" in zh and "DOCTYPE" in en
    else:
        assert f"不是有效的 {kind}" in zh and f"not a valid {kind}" in en
    if not UNREADABLE[name]:
        assert "0 字节" in zh and "0 bytes" in en


def test_garbage_shapefile_and_a_missing_part(tmp_path):
    gpd.GeoDataFrame({"id": ["A"]}, geometry=[Point(118.17, 26.64)], crs=4490).to_file(tmp_path / "ok.shp")
    (tmp_path / "ok.shp").write_bytes(b"\x00" * 200)  # .shx/.dbf there, the .shp itself garbage
    with pytest.raises(UnreadableInput) as err:
        read_sites(tmp_path / "ok.shp")
    assert "不是有效的 Shapefile" in err.value.zh and "not recognized" not in err.value.en
    (tmp_path / "lone.shp").write_bytes(b"\x00" * 200)
    with pytest.raises(UnreadableInput, match=r"\.shx, \.dbf part is missing"):
        read_sites(tmp_path / "lone.shp")


def test_cli_screen_of_an_empty_file_is_one_plain_line(tmp_path):
    (tmp_path / "empty.geojson").write_bytes(b"")
    line = one_line_refusal(["screen", str(tmp_path / "empty.geojson"), "-o", str(tmp_path / "out")],
                            tmp_path / "out")
    assert "不是有效的 GeoJSON 文件" in line and "not recognized" not in line


# ---------------------------------------------------------------------------------------------
# 3. file names GDAL treats specially
NAMES = ["a;b", "a,b", "a#b", "a?b", "a*b", "a[1]", "-lead", "a b", "南平项目", "GPKG:x", "GeoJSON:x", "x;y;z"]
FORMATS = {".geojson": "GeoJSON", ".gpkg": "GPKG", ".kml": "KML", ".shp": "ESRI Shapefile"}


def _write_as(frame, folder: Path, stem: str, suffix: str) -> Path:
    plain = folder / f"plain{suffix}"
    frame.to_file(plain, driver=FORMATS[suffix])
    for part in folder.iterdir():
        if part.stem == "plain":
            part.rename(folder / (stem + part.suffix))
    return folder / (stem + suffix)


@pytest.mark.parametrize("stem", NAMES)
def test_special_file_names_are_read(tmp_path, stem):
    frame = gpd.GeoDataFrame({"id": ["A"], "项目名称": ["测试"]}, geometry=[Point(118.17, 26.64)], crs=4490)
    for suffix in FORMATS:
        folder = tmp_path / suffix.strip(".")
        folder.mkdir()
        path = _write_as(frame, folder, stem, suffix)
        sites = read_sites(str(path))
        assert len(sites) == 1, (stem, suffix)
        p = sites.geometry.iloc[0]
        assert (round(p.x, 6), round(p.y, 6)) == (118.17, 26.64)
        assert sites["name"].iloc[0] == "测试"


def test_special_name_in_a_folder_and_in_messages(tmp_path):
    folder = tmp_path / "批次;2"
    folder.mkdir()
    gpd.GeoDataFrame({"id": ["A"]}, geometry=[Point(118.17, 26.64)], crs=4490).to_file(tmp_path / "s.geojson")
    (tmp_path / "s.geojson").rename(folder / "s;1.geojson")  # GDAL would not write that name either
    assert len(read_sites(folder)) == 1 and len(read_sites(folder / "s;1.geojson")) == 1
    (tmp_path / "c;d.gpkg").write_bytes(b"junk" * 50)
    with pytest.raises(UnreadableInput) as err:
        read_sites(str(tmp_path / "c;d.gpkg"))
    assert "c;d.gpkg" in err.value.zh and "c;d.gpkg" in err.value.en and "No such file" not in err.value.en
    assert "zoning-name-" not in err.value.en  # never the temporary link


# ---------------------------------------------------------------------------------------------
# 4. KML project names
SITES = [("地块A", "南平某项目甲", 118.10), ("地块B", "南平某项目乙", 118.12)]
SCHEMA = ('<Schema name="s" id="s"><SimpleField name="XMMC" type="string"/><SimpleField name="项目名称" '
          'type="string"/><SimpleField name="HYDM" type="string"/></Schema>')
KML_FORMS = {
    "Data 项目名称": lambda p: f'<Data name="项目名称"><value>{p}</value></Data>',
    "Data XMMC": lambda p: f'<Data name="XMMC"><value>{p}</value></Data>',
    "SchemaData XMMC": lambda p: f'<SchemaData schemaUrl="#s"><SimpleData name="XMMC">{p}</SimpleData></SchemaData>',
    "SchemaData 项目名称": lambda p: (f'<SchemaData schemaUrl="#s"><SimpleData name="项目名称">{p}</SimpleData>'
                                  f'</SchemaData>'),
}


@pytest.mark.parametrize("form", sorted(KML_FORMS))
@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
def test_kml_project_name_is_the_site_name_as_in_other_forms(tmp_path, form, suffix):
    marks = "".join(f"<Placemark><name>{n}</name><ExtendedData>{KML_FORMS[form](p)}</ExtendedData>"
                    f"<Point><coordinates>{x},26.6</coordinates></Point></Placemark>" for n, p, x in SITES)
    text = _kml(SCHEMA + f"<Folder><name>f</name>{marks}</Folder>")
    path = tmp_path / f"sites{suffix}"
    if suffix == ".kml":
        path.write_text(text, encoding="utf-8")
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("doc.kml", text)
    kml = read_sites(path)
    gj = tmp_path / "sites.geojson"
    gpd.GeoDataFrame({"id": [n for n, _, _ in SITES], "项目名称": [p for _, p, _ in SITES]},
                     geometry=[Point(x, 26.6) for *_, x in SITES], crs=4490).to_file(gj)
    other = read_sites(gj)
    assert kml["name"].tolist() == other["name"].tolist() == [p for _, p, _ in SITES]
    assert kml["site_id"].tolist() == [n for n, _, _ in SITES]  # unique placemark names: the ids
    assert kml["placemark_name"].tolist() == [n for n, _, _ in SITES]  # and kept as written
    notes = " ".join(kml["warnings"].iloc[0])
    assert "项目名称_原表" not in kml.columns and "placemark_name" not in notes
    column = form.split()[1]  # the column holding the names is read as name, not listed as unused
    assert f"column {column} read as name" in notes
    unused = re.search(r"columns not used as screening attributes[^:]*: ([^;]*)", notes)
    assert unused is None or column not in unused.group(1).split(", ")


def test_kml_without_a_project_name_keeps_the_placemark_name_as_name(tmp_path):
    marks = "".join(f"<Placemark><name>{n}</name><Point><coordinates>{x},26.6</coordinates></Point></Placemark>"
                    for n, _, x in SITES)
    (tmp_path / "plain.kml").write_text(_kml(marks), encoding="utf-8")
    sites = read_sites(tmp_path / "plain.kml")
    assert sites["name"].tolist() == sites["site_id"].tolist() == [n for n, _, _ in SITES]
    assert "placemark_name" not in sites.columns


# ---------------------------------------------------------------------------------------------
# 5. 界址点 text with X and Y swapped
def _corners_gk(zone_prefix: bool):
    """A 100 m square near 118.9°E, 27.6°N in EPSG:4528 (prefixed) / 4549 (bare): (north, east)."""
    tr = Transformer.from_crs(4490, 4528 if zone_prefix else 4549, always_xy=True)
    e0, n0 = tr.transform(118.9, 27.6)
    return [(n0, e0), (n0, e0 + 100), (n0 + 100, e0 + 100), (n0 + 100, e0)], (118.9, 27.6)


def _jzd_text(pairs, header_zone: str | None) -> str:
    lines = ["[属性描述]", "坐标系=2000国家大地坐标系"] + ([f"带号={header_zone}"] if header_zone else [])
    lines += ["[地块坐标]", "5,1.0,D1,测试,面,,,,@"]
    lines += [f"J{i},1,{a:.3f},{b:.3f}" for i, (a, b) in enumerate(pairs + pairs[:1], 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("prefixed,header", [(True, None), (True, "40"), (False, "40")])
def test_jzd_text_with_x_and_y_swapped_says_so_like_the_table(tmp_path, prefixed, header):
    """Prefixed eastings (with or without a 带号 header: it was added to the swapped value and put
    the site at 125°E, 3°N, silently), or bare ones with 带号=40."""
    pairs, (lon, lat) = _corners_gk(prefixed)
    # the right way round reads, where pyproj puts it
    right = read_sites(_jzd_text(pairs, None if prefixed else header))
    c = right.geometry.iloc[0].exterior.coords[0]
    assert abs(c[0] - lon) < 1e-6 and abs(c[1] - lat) < 1e-6
    swapped = [(e, n) for n, e in pairs]
    (tmp_path / "jzd.txt").write_text(_jzd_text(swapped, header), encoding="utf-8")
    pd.DataFrame({"地块编号": ["D1"] * 4, "点号": [1, 2, 3, 4], "X": [a for a, _ in swapped],
                  "Y": [b for _, b in swapped]}).to_csv(tmp_path / "jzd.csv", index=False)
    messages = []
    for src in (tmp_path / "jzd.txt", _jzd_text(swapped, header), tmp_path / "jzd.csv"):
        with pytest.raises(CRSProblem) as err:
            read_sites(src)
        assert "X and Y look swapped" in err.value.en and "swap X and Y" in err.value.en
        assert "X、Y 疑似颠倒" in err.value.zh and "请交换 X、Y" in err.value.zh
        messages.append(err.value.en.split(": ", 1)[1])
    assert len(set(messages)) == 1  # the same diagnosis, whichever form


def test_bare_swapped_table_needs_the_crs_and_says_swap(tmp_path):
    pairs, _ = _corners_gk(False)
    swapped = [(e, n) for n, e in pairs]
    with pytest.raises(CRSProblem, match="X and Y look swapped"):
        read_sites("\n".join(["地块编号,点号,X,Y"] + [f"D1,{i},{a},{b}" for i, (a, b) in enumerate(swapped, 1)]))


# ---------------------------------------------------------------------------------------------
# 6. mislabelled .prj
def test_lonlat_under_a_gk_prj_suggests_4490_and_it_fits(tmp_path):
    g = gpd.GeoDataFrame({"id": ["A"]}, geometry=[Point(118.17, 26.64)], crs=4490)
    g.set_crs(4549, allow_override=True).to_file(tmp_path / "ll.shp")
    with pytest.raises(CRSProblem) as err:
        read_sites(tmp_path / "ll.shp")
    assert "--crs 4490" in err.value.en and "--crs 4490" in err.value.zh and "outside China" in err.value.en
    p = read_sites(tmp_path / "ll.shp", crs=4490).geometry.iloc[0]
    assert (round(p.x, 9), round(p.y, 9)) == (118.17, 26.64)


@pytest.mark.parametrize("suffix", [".shp", ".gpkg"])
def test_gk_metres_under_a_lonlat_prj_suggest_the_gk_zone_that_fits(tmp_path, suffix):
    g = gpd.GeoDataFrame({"id": ["A"]}, geometry=[Point(118.17, 26.64)], crs=4490).to_crs(4548)
    g.set_crs(4490, allow_override=True).to_file(tmp_path / f"gk{suffix}")
    with pytest.raises(CRSProblem) as err:
        read_sites(tmp_path / f"gk{suffix}")
    assert "--crs 4548" in err.value.en and "4548" in err.value.zh
    assert len(err.value.en) < 300  # one sentence for both zones, not twenty suggestions
    sites = read_sites(tmp_path / f"gk{suffix}", crs=4548)
    p = sites.geometry.iloc[0]
    assert abs(p.x - 118.17) < 1e-8 and abs(p.y - 26.64) < 1e-8
    assert any("--crs overrides the file's EPSG:4490" in w for w in sites["warnings"].iloc[0])


def test_crs_over_any_prj_is_said_but_not_over_geojson_wgs84(tmp_path):
    g = gpd.GeoDataFrame({"id": ["A"]}, geometry=[Point(118.17, 26.64)], crs=4326)
    g.to_file(tmp_path / "wgs.shp")
    g.to_file(tmp_path / "wgs.geojson")
    shp = read_sites(tmp_path / "wgs.shp", crs=4490)
    assert any("--crs overrides the file's EPSG:4326" in w for w in shp["warnings"].iloc[0])
    gj = read_sites(tmp_path / "wgs.geojson", crs=4490)
    assert not any("overrides" in w for w in gj["warnings"].iloc[0])


# ---------------------------------------------------------------------------------------------
# 7. XLSX formulas without a saved value
def test_xlsx_formulas_without_saved_values(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["表1 项目点位"])
    ws.append(["id", "lon", "lat", "备注"])
    ws.append(["A", "=118+0.17", 26.64, '=HYPERLINK("http://example.org/a","资料")'])
    ws.append(["B", 118.2, 26.65, "普通备注"])
    wb.save(tmp_path / "f.xlsx")
    sites = read_sites(tmp_path / "f.xlsx", on_error="flag")
    a, b = sites.iloc[0], sites.iloc[1]
    assert "cell B3" in a["error"] and "=118+0.17" in a["error"] and "open and save it in Excel" in a["error"]
    assert "单元格 B3" in a["error"] and "请在 Excel 中打开并保存后再导出，或填入数值" in a["error"]
    assert "empty geometry" not in a["error"]
    assert a["备注"] == '=HYPERLINK("http://example.org/a","资料")'  # kept, not silently emptied
    assert b["error"] is None and b["备注"] == "普通备注" and (b.geometry.x, b.geometry.y) == (118.2, 26.65)
    with pytest.raises(ZoningError, match="cell B3"):
        read_sites(tmp_path / "f.xlsx")


def test_xlsx_formula_in_a_corner_table(tmp_path):
    pairs, _ = _corners_gk(True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["地块编号", "点号", "X", "Y"])
    for i, (n, e) in enumerate(pairs, 1):
        ws.append(["D1", i, f"={n:.3f}+0" if i == 3 else n, e])
    wb.save(tmp_path / "c.xlsx")
    with pytest.raises(ZoningError) as err:
        read_sites(tmp_path / "c.xlsx")
    assert "cell C4" in err.value.en and "without a saved value" in err.value.en
