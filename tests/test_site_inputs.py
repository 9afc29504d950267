"""Site inputs as reviewers receive them (issue 12, item 1): every form is read to the right
geometry (geodesic area against pyproj.Geod on the corners as drawn) and its attributes
under their canonical names; no attribute column is dropped without a warning."""
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer
from shapely.geometry import Polygon

from zoning.errors import SiteError, UnreadableInput
from zoning.io import tables
from zoning.io.sites import read_sites

GEOD = Geod(ellps="GRS80")
#: coordinates are written to the millimetre (GK) or 0.0001" (~3 mm): over a ~1 km perimeter that moves
#: the area by at most ~1.5 m² of 66,000 (2e-5); measured here 7e-7
REL = 2e-5
TO_GK = Transformer.from_crs(4490, 4527, always_xy=True)  # CGCS2000 3-degree zone 39 (CM 117E), prefixed
#: a parcel near 建瓯 (lon, lat), about 300 m x 220 m, and a hole inside it
OUTER = [(118.3000, 27.0200), (118.3030, 27.0200), (118.3030, 27.0220), (118.3000, 27.0220)]
HOLE = [(118.3010, 27.0205), (118.3015, 27.0205), (118.3015, 27.0210), (118.3010, 27.0210)]
OTHER = [(118.3100, 27.0300), (118.3110, 27.0300), (118.3110, 27.0310), (118.3100, 27.0310)]


def geod_area(rings) -> float:
    """|shell| - sum |holes|, geodesic, on the lon/lat corners (independent of zoning)."""
    shell, *holes = rings
    area = abs(GEOD.polygon_area_perimeter(*zip(*shell))[0])
    return area - sum(abs(GEOD.polygon_area_perimeter(*zip(*h))[0]) for h in holes)


def read_area(geom) -> float:
    """Geodesic area of a read geometry (oriented first: pyproj sums signed ring areas)."""
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0])


def gk(points):
    """(X = northing, Y = easting with zone prefix) of lon/lat points."""
    e, n = TO_GK.transform(*zip(*points))
    return list(zip(n, e))


def dms_parts(value: float, places: int = 4):
    """(degrees, minutes, seconds) of ``value``, seconds rounded to ``places`` (never 60)."""
    total = round(value * 3600 * 10 ** places)
    d, rest = divmod(total, 3600 * 10 ** places)
    m, s = divmod(rest, 60 * 10 ** places)
    return d, m, s / 10 ** places


def dms(value: float, hemi: str) -> str:
    d, m, s = dms_parts(value)
    return f"{d}°{m}'{s:.4f}\"{hemi}"


def warnings_of(sites, i=0) -> str:
    return " | ".join(sites["warnings"].iloc[i])


# ------------------------------------------------------------------------------------------
def test_excel_title_rows_units_and_pinyin(tmp_path):
    rows = [["表2-1 项目用地界址点坐标表（2000国家大地坐标系，3度带，第39带）", "", "", "", "", "", ""],
            ["", "", "", "", "", "", ""],
            ["界址点号", "X坐标(m)", "Y坐标(m)", "XMMC", "年综合能耗(吨标煤)", "HYDM", "备注"]]
    for i, (x, y) in enumerate(gk(OUTER), start=1):
        rows.append([f"J{i}", f"{x:.3f}", f"{y:.3f}", "建瓯食品厂" if i == 1 else "", "1200" if i == 1 else "",
                     "C1371" if i == 1 else "", "实测"])
    path = tmp_path / "jzd.xlsx"
    pd.DataFrame(rows).to_excel(path, header=False, index=False)
    sites = read_sites(path)
    assert len(sites) == 1
    assert read_area(sites.geometry.iloc[0]) == pytest.approx(geod_area([OUTER]), rel=REL)
    row = sites.iloc[0]
    assert (row["name"], float(row["energy_tce"]), row["industry"]) == ("建瓯食品厂", 1200.0, "C1371")
    assert "备注" in sites.columns and "备注" in warnings_of(sites)  # kept and named, not dropped


@pytest.mark.parametrize("x_name,y_name", [("北坐标", "东坐标"), ("纵坐标", "横坐标"), ("X(m)", "Y(m)")])
def test_xy_synonyms_in_csv(tmp_path, x_name, y_name):
    lines = [f"宗地号,点号,{x_name},{y_name}"] + [f"Z1,{i},{x:.3f},{y:.3f}" for i, (x, y) in enumerate(gk(OUTER), 1)]
    path = tmp_path / "z.csv"
    path.write_text("\n".join(lines), encoding="gbk")
    sites = read_sites(path)
    assert list(sites["site_id"]) == ["Z1"]
    assert read_area(sites.geometry.iloc[0]) == pytest.approx(geod_area([OUTER]), rel=REL)


def test_dms_corner_table_is_a_polygon_with_mixed_rows(tmp_path):
    lines = ["拐点编号,经度,纬度,项目名称"]
    for i, (lon, lat) in enumerate(OUTER, start=1):
        lon_s = f"{lon:.6f}" if i == 2 else dms(lon, "E")  # one row in decimal degrees
        lines.append(f"{i},{lon_s},{dms(lat, 'N')},{'武夷新区项目' if i == 1 else ''}")
    path = tmp_path / "dms.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    sites = read_sites(path)
    assert len(sites) == 1 and sites.geometry.iloc[0].geom_type == "Polygon"
    assert read_area(sites.geometry.iloc[0]) == pytest.approx(geod_area([OUTER]), rel=REL)
    assert sites["name"].iloc[0] == "武夷新区项目"


def test_ring_numbers_make_holes_and_parts(tmp_path):
    lines = ["地块编号,圈号,点号,X,Y"]
    for ring_no, ring in ((1, OUTER), (2, HOLE), (3, OTHER)):
        for i, (x, y) in enumerate(gk(ring), start=1):
            lines.append(f"D1,{ring_no},J{i},{x:.3f},{y:.3f}")
    path = tmp_path / "rings.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    sites = read_sites(path)
    geom = sites.geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert sum(len(p.interiors) for p in geom.geoms) == 1
    assert read_area(geom) == pytest.approx(geod_area([OUTER, HOLE]) + geod_area([OTHER]), rel=REL)


def test_jzd_coordinate_text_file(tmp_path):
    pts = gk(OUTER) + gk(OUTER)[:1]
    hole = gk(HOLE) + gk(HOLE)[:1]
    body = "\n".join(f"J{i},1,{x:.3f},{y:.3f}" for i, (x, y) in enumerate(pts, 1))
    body += "\n" + "\n".join(f"K{i},2,{x:.3f},{y:.3f}" for i, (x, y) in enumerate(hole, 1))
    other = "\n".join(f"J{i},1,{x:.3f},{y - 39e6:.3f}" for i, (x, y) in enumerate(gk(OTHER) + gk(OTHER)[:1], 1))
    text = ("[属性描述]\n格式版本号=1.01版本\n数据产生单位=某测绘院\n坐标系=2000国家大地坐标系\n几度分带=3\n"
            "投影类型=高斯克吕格\n计量单位=米\n带号=39\n精度=0.001\n[地块坐标]\n"
            f"10,6.6,JO-001,建瓯某厂,面,G50G012345,工业用地,0601,@\n{body}\n"
            f"5,1.2,JO-002,二号地块,面,,,,@\n{other}\n")
    path = tmp_path / "界址点.txt"
    path.write_text(text, encoding="gbk")
    sites = read_sites(path)
    assert list(sites["site_id"]) == ["JO-001", "JO-002"]
    assert read_area(sites.geometry.iloc[0]) == pytest.approx(geod_area([OUTER, HOLE]), rel=REL)
    # the second parcel's eastings carry no zone: the header's 带号 gives it
    assert read_area(sites.geometry.iloc[1]) == pytest.approx(geod_area([OTHER]), rel=REL)
    assert list(sites["name"]) == ["建瓯某厂", "二号地块"]
    assert "地块用途" in sites.columns and "地块用途" in warnings_of(sites)


def _frame(attrs=None, rings=(OUTER,)):
    return gpd.GeoDataFrame(attrs or {"XMMC": ["光泽食品厂"], "HYDM": ["C1371"]},
                            geometry=[Polygon(rings[0], rings[1:])], crs=4490)


def test_zipped_shapefiles_one_and_several_layers(tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    _frame().to_crs(4527).to_file(one / "项目红线.shp", engine="pyogrio", encoding="GBK")
    z1 = tmp_path / "one.zip"
    with zipfile.ZipFile(z1, "w") as z:
        for p in one.iterdir():
            z.write(p, f"红线/{p.name}")
    sites = read_sites(z1)
    assert read_area(sites.geometry.iloc[0]) == pytest.approx(geod_area([OUTER]), rel=REL)
    assert (sites["name"].iloc[0], sites["industry"].iloc[0]) == ("光泽食品厂", "C1371")
    two = tmp_path / "two"
    two.mkdir()
    _frame().to_file(two / "a.shp", engine="pyogrio", encoding="UTF-8")
    _frame({"XMMC": ["二期"], "HYDM": ["C2614"]}, rings=(OTHER,)).to_file(two / "b.shp", engine="pyogrio")
    z2 = tmp_path / "two.zip"
    with zipfile.ZipFile(z2, "w") as z:
        for p in two.iterdir():
            z.write(p, p.name)
    both = read_sites(z2)
    assert list(both["name"]) == ["光泽食品厂", "二期"] and list(both["layer"]) == ["a", "b"]
    assert read_area(both.geometry.iloc[1]) == pytest.approx(geod_area([OTHER]), rel=REL)
    only_b = read_sites(z2, layer="b")
    assert list(only_b["industry"]) == ["C2614"]


def test_own_export_zip_reads_back(tmp_path):
    from zoning.io.vector import write_vector
    folder = tmp_path / "exp"
    folder.mkdir()
    write_vector(_frame().to_crs(4527), folder / "jianou_sites.shp", encoding="gbk")
    zpath = tmp_path / "jianou_sites.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        for p in folder.iterdir():
            z.write(p, p.name)
    sites = read_sites(zpath)
    assert read_area(sites.geometry.iloc[0]) == pytest.approx(geod_area([OUTER]), rel=REL)
    assert sites["name"].iloc[0] == "光泽食品厂"


def test_folder_with_one_shapefile_keeps_attributes(tmp_path):
    _frame({"项目名称": ["顺昌木业"], "行业代码": ["C2021"], "年综合能耗": [350.0]}).to_file(
        tmp_path / "s.shp", engine="pyogrio", encoding="UTF-8")
    sites = read_sites(tmp_path)
    row = sites.iloc[0]
    assert (row["name"], row["industry"], float(row["energy_tce"])) == ("顺昌木业", "C2021", 350.0)
    assert read_area(sites.geometry.iloc[0]) == pytest.approx(geod_area([OUTER]), rel=REL)


def test_gdal_utf8_field_names_cut_mid_character(tmp_path):
    frame = _frame({"项目名称": ["邵武化工"], "年综合能耗吨": [12.5], "行业代码": ["C2614"], "建设单位名称": ["某公司"]})
    frame.to_file(tmp_path / "cut.shp", engine="pyogrio", encoding="UTF-8")
    raw = (tmp_path / "cut.dbf").read_bytes()[32:64]
    with pytest.raises(UnicodeDecodeError):
        raw[:10].rstrip(b"\0").decode("utf-8")  # the name really is cut mid-character
    sites = read_sites(tmp_path / "cut.shp")
    row = sites.iloc[0]
    assert (row["name"], float(row["energy_tce"]), row["industry"]) == ("邵武化工", 12.5, "C2614")
    assert "截断" in warnings_of(sites)
    leftover = [c for c in sites.columns if str(c).startswith("建设")]
    assert leftover and leftover[0] in warnings_of(sites)  # an unknown column is kept and named


def test_kml_and_kmz_with_names_only(tmp_path):
    coords = " ".join(f"{x},{y},0" for x, y in OUTER + OUTER[:1])
    kml = ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           f'<Placemark><name>建瓯食品厂</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}'
           '</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>'
           '<Placemark><name>二号地块</name><Point><coordinates>118.32,27.04,0</coordinates></Point></Placemark>'
           '</Document></kml>')
    (tmp_path / "a.kml").write_text(kml, encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "a.kmz", "w") as z:
        z.writestr("doc.kml", kml)
    for name in ("a.kml", "a.kmz"):
        sites = read_sites(tmp_path / name)
        assert list(sites["site_id"]) == ["建瓯食品厂", "二号地块"]
        assert list(sites["name"]) == ["建瓯食品厂", "二号地块"]
        assert read_area(sites.geometry.iloc[0]) == pytest.approx(geod_area([OUTER]), rel=REL)


# ------------------------------------------------------------------------------------------
def test_field_option_and_mapping_file(tmp_path):
    lines = ["编号,lon,lat,项目,能耗,锅炉", "P1,118.30,27.02,甲厂,800,4"]
    path = tmp_path / "p.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    plain = read_sites(path)
    assert "energy_tce" not in plain.columns
    assert all(c in warnings_of(plain) for c in ("项目", "能耗", "锅炉"))  # listed, not dropped
    mapped = read_sites(path, fields=["energy_tce=能耗", "name=项目"])
    assert (mapped["energy_tce"].iloc[0], mapped["name"].iloc[0]) == ("800", "甲厂")
    mfile = tmp_path / "fields.yaml"
    mfile.write_text("boiler_th: 锅炉\nname: 项目\n", encoding="utf-8")
    by_file = read_sites(path, fields=mfile)
    assert (by_file["boiler_th"].iloc[0], by_file["name"].iloc[0]) == ("4", "甲厂")
    with pytest.raises(SiteError, match="unknown attribute"):
        read_sites(path, fields={"energy": "能耗"})
    with pytest.raises(SiteError, match="do not exist"):
        read_sites(path, fields={"energy_tce": "能源"})


def test_units_in_ten_thousands_are_scaled(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("lon,lat,年综合能耗(万吨标煤)\n118.30,27.02,1.5\n", encoding="utf-8")
    sites = read_sites(path)
    assert float(sites["energy_tce"].iloc[0]) == 15000.0
    assert "10000" in warnings_of(sites)


def test_cli_sites_and_screen_show_canonical_attributes(tmp_path, catalog):
    from zoning.cli import main
    path = tmp_path / "p.csv"
    path.write_text("编号,lon,lat,XMMC,HYDM,能耗\nP1,118.30,27.02,甲厂,C1371,800\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(main, ["sites", str(path), "--json", "--catalog", str(catalog.path),
                               "--field", "energy_tce=能耗"])
    assert res.exit_code == 0, res.output
    record = json.loads(res.output)[0]
    assert record["attributes"] == {"name": "甲厂", "industry": "C1371", "energy_tce": "800"}
    res = runner.invoke(main, ["screen", str(path), "--json", "--catalog", str(catalog.path), "--field",
                               "energy_tce=能耗"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.output)
    assert result["inputs"]["energy_tce"] == 800.0 and result["inputs"]["industry"] == "C1371"


# ------------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(lon=st.floats(73.5, 135.0), lat=st.floats(3.9, 53.5), style=st.sampled_from(["suffix", "prefix", "zh"]))
def test_parse_angle_round_trips_dms(lon, lat, style):
    def text(v, hemi, zh):
        d, m, s = dms_parts(v, 6)
        if style == "zh":
            return f"{zh}{d}度{m}分{s:.6f}秒"
        return f"{hemi}{d}°{m}′{s:.6f}″" if style == "prefix" else f"{d}°{m}'{s:.6f}\"{hemi}"
    assert tables.parse_angle(text(lon, "E", "东经")) == pytest.approx(lon, abs=1e-8)
    assert tables.parse_angle(text(lat, "N", "北纬")) == pytest.approx(lat, abs=1e-8)
    assert tables.parse_angle(f"{lon:.7f}") == pytest.approx(lon, abs=1e-7)


def test_parse_angle_refuses_nonsense():
    for bad in ("abc", "118°75'00\"E", "118°10'70\"E"):
        with pytest.raises(ValueError):
            tables.parse_angle(bad)
    assert tables.parse_angle("118°10'12\"W") == pytest.approx(-(118 + 10 / 60 + 12 / 3600))
    assert np.isnan(tables.parse_angle(""))


def test_attribute_headers_match_screening_attributes():
    from zoning.screening.attributes import ATTRIBUTES
    assert set(tables.CANONICAL_ATTRIBUTES) == set(ATTRIBUTES)


def test_not_a_table_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UnreadableInput, match="no coordinate columns"):
        read_sites(path)


# ------------------------------------------------------------------------------------------
# item 6: the 界址点 table of a polygon site in the result and the reports
def test_corner_table_in_result_and_reports(tmp_path, catalog):
    import io

    import docx
    import jsonschema

    from zoning.api import load_layers, screen
    from zoning.render.docx_report import render_docx
    from zoning.render.html_report import render_html
    from zoning.screening.result import ScreenResult

    to_gk = Transformer.from_crs(4490, 4548, always_xy=True)  # the zone of 118.17E (CM 117E)
    lonlat = [(118.17, 26.64), (118.172, 26.64), (118.172, 26.642), (118.17, 26.642)]
    hole = [(118.1705, 26.6405), (118.1705, 26.6410), (118.1710, 26.6410), (118.1710, 26.6405)]
    lines = ["地块编号,圈号,界址点号,X坐标(m),Y坐标(m)"]
    n = 0
    expected = []
    for ring_no, ring in ((1, lonlat), (2, hole)):
        for lon, lat in ring:
            n += 1
            e, nn = to_gk.transform(lon, lat)
            lines.append(f"A1,{ring_no},J{n},{nn:.3f},{e:.3f}")
            expected.append((f"J{n}", ring_no, round(nn, 3), round(e, 3)))
    path = tmp_path / "jzd.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = screen(path, layers=load_layers(catalog.path), crs=4548)[0]
    site = result.site
    assert site.corners_crs == "EPSG:4548"
    got = [(c["point"], c["ring"], c["x"], c["y"]) for c in site.corners]
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    assert np.allclose([g[2:] for g in got], [e[2:] for e in expected], atol=0.002)  # mm round trip
    doc = json.loads(result.to_json())
    schema = json.loads((Path(__file__).parents[1] / "zoning/schema/result.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    old = json.loads(result.to_json())
    old["site"].pop("corners"), old["site"].pop("corners_crs")
    assert ScreenResult.from_dict(old).site.corners == []  # older result files still read
    html = render_html(result)
    assert "界址点坐标表" in html and f"{expected[5][2]:.3f}" in html and "EPSG:4548" in html
    assert "Boundary corner points" in render_html(result, lang="en")
    d = docx.Document(io.BytesIO(render_docx(result)))
    cells = [c.text for tb in d.tables for row in tb.rows for c in row.cells]
    assert "J8" in cells and f"{expected[7][3]:.3f}" in cells


def test_no_column_is_displaced_silently(tmp_path):
    path = tmp_path / "two_names.csv"
    path.write_text("项目名称,lon,lat,name,能耗\n甲,118.30,27.02,乙,5\n", encoding="utf-8")
    sites = read_sites(path)
    assert sites["name"].iloc[0] == "乙"  # the canonical column wins
    assert sites["项目名称"].iloc[0] == "甲" and "项目名称" in warnings_of(sites)  # the alias is kept and named
    mapped = read_sites(path, fields={"name": "能耗"})
    assert mapped["name"].iloc[0] == "5" and mapped["name_原列"].iloc[0] == "乙"
    assert "name_原列" in warnings_of(mapped)


def test_pinyin_project_number_is_the_site_id(tmp_path):
    """XMBH (项目编号) names the sites like 项目编号 does, so a batch joins back to the register."""
    from zoning.io.sites import read_sites

    path = tmp_path / "p.csv"
    path.write_text("XMBH,XMMC,HYDM,lon,lat\nNP-2024-001,甲,C1371,118.17,26.64\nNP-2024-002,乙,C1371,118.18,26.64\n",
                    encoding="utf-8")
    sites = read_sites(path)
    assert sites["site_id"].tolist() == ["NP-2024-001", "NP-2024-002"] and sites["name"].tolist() == ["甲", "乙"]


def test_zip_of_two_layers_reads_each_layers_headers_on_their_own(tmp_path):
    """One GBK shapefile with whole Chinese names and one GDAL UTF-8 shapefile with cut names in
    one zip: each keeps its name, industry and energy (cut-name matching applied per layer)."""
    a = _frame({"项目名称": ["甲项目"], "行业代码": ["C3982"], "年综合能耗": [3200.0]})
    a.to_file(tmp_path / "a.shp", engine="pyogrio", encoding="gbk")
    (tmp_path / "a.cpg").unlink(missing_ok=True)
    b = _frame({"项目名称": ["乙项目"], "行业代码": ["C3011"], "年综合能耗吨": [5000.0]})
    b.to_file(tmp_path / "b.shp", engine="pyogrio", encoding="UTF-8")
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        for f in tmp_path.iterdir():
            if f.stem in ("a", "b") and f.suffix != ".zip":
                z.write(f, f.name)
    sites = read_sites(tmp_path / "two.zip")
    got = {r["name"]: (r["industry"], float(r["energy_tce"])) for _, r in sites.iterrows()}
    assert got == {"甲项目": ("C3982", 3200.0), "乙项目": ("C3011", 5000.0)}, got
