"""Official 三线一单 results in (issue 12, items 2, 3 and 5): `zoning layers import` on the
official-style delivery of the sample set (GBK shapefiles in GK zone 39, pinyin fields, a file
geodatabase, a list table) and on a hand-made messy variant (Chinese field names cut at
10 bytes, UTF-8, geographic CRS, codes with spaces, class as text, one .prj missing, zipped).

Truth is independent of the importer: the sample layers as generated (areas on the CGCS2000
ellipsoid with pyproj.Geod), the clause texts zoning/sample/clauses.py wrote, and screening
with the sample catalog.
"""
from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

import zoning
from zoning.cli import main
from zoning.io.official import list_clauses, unit_class_of
from zoning.sample.clauses import GENERAL_CLAUSES, RULED_UNIT_CLAUSES, sample_clause_library
from zoning.sample.official import (DELIVERY_EPSG, GDB_NAME, LIST_NAME, SHP_DIR, can_write_filegdb,
                                    write_official_delivery)
from zoning.screening.clauses import load_clause_library, split_clauses
from zoning.vocabulary import CLAUSE_TIERS, COUNTY_TIER, DIMENSIONS, UNIT_CLASSES, UNIT_TIER

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "layers" / "nanping" / "generated"
PROJECTS = SAMPLE / "sample_projects.gpkg"
GEOD = Geod(ellps="GRS80")
#: pinyin (official) -> Chinese field names of the messy variant; Chinese names longer than
#: 10 UTF-8 bytes are cut by the shapefile writer (as real UTF-8 deliveries are)
MESSY_FIELDS = {
    "HJZHGKDYBM": "单元编码", "HJZHGKDYMC": "单元名称", "ZHGKDYFL": "分类", "PROV": "省", "CITY": "市",
    "AREA": "区县", "KJBJYS": "空间布局约束", "PWWPFGK": "污染物排放管控", "HJFXFK": "环境风险防控",
    "ZYKFXLYQ": "资源开发效率要求",
    "HXBM": "编号", "HXMC": "名称", "HXLX": "类型",
    "YQBM": "编号", "YQMC": "名称", "YQJB": "级别", "ZDCY": "主导产业", "SFHGYQ": "化工园区",
    "BHDBM": "编号", "BHDMC": "名称", "BHDLX": "类型", "BHDJB": "级别",
    "JRQBM": "编号", "JRQMC": "名称",
    "XZQDM": "区县代码",
}
CLASS_TEXT = {"1": "优先保护单元", "2": "重点管控单元", "3": "一般管控单元"}


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def delivery(catalog, tmp_path_factory) -> Path:
    """A fresh official-style delivery of the sample set (what `zoning sample build` writes)."""
    return write_official_delivery(SAMPLE, tmp_path_factory.mktemp("official") / "official")


@pytest.fixture(scope="module")
def imported(delivery, tmp_path_factory):
    out = tmp_path_factory.mktemp("imported") / "set"
    return zoning.import_layers(delivery / SHP_DIR, out, clause_list=delivery / LIST_NAME)


@pytest.fixture(scope="module")
def messy_zip(delivery, tmp_path_factory) -> Path:
    """The hand-made messy variant, made from the official delivery."""
    base = tmp_path_factory.mktemp("messy")
    folder = base / "南平 成果（修改版）" / "矢量"
    folder.mkdir(parents=True)
    for shp in sorted((delivery / SHP_DIR).glob("*.shp")):
        if "生态空间" in shp.stem or "大气" in shp.stem or "水环境" in shp.stem:
            continue  # element zones are tested with the official delivery
        gdf = gpd.read_file(shp, encoding="gbk").to_crs(4490)
        if "HJZHGKDYBM" in gdf.columns:
            gdf["HJZHGKDYBM"] = [f" {c[:8]} {c[8:]}" for c in gdf["HJZHGKDYBM"]]  # codes with spaces
            gdf["ZHGKDYFL"] = gdf["ZHGKDYFL"].map(CLASS_TEXT)  # class as text
        gdf = gdf.rename(columns=MESSY_FIELDS)
        stem = shp.stem.replace("南平市", "")
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GDAL says it cuts the long Chinese field names
            gdf.to_file(folder / f"{stem}.shp", encoding="UTF-8", engine="pyogrio")
    (folder / "生态保护红线.prj").unlink()  # one .prj missing (degrees: the importer guesses 4490)
    shutil.copy2(next((delivery / SHP_DIR).glob("*.tif")), folder / "森林碳密度.tif")
    path = base / "messy.zip"
    with zipfile.ZipFile(path, "w") as z:
        for f in sorted(folder.rglob("*")):
            z.write(f, f.relative_to(base), compress_type=zipfile.ZIP_STORED if f.suffix == ".tif"
                    else zipfile.ZIP_DEFLATED)
    return path


@pytest.fixture(scope="module")
def messy(messy_zip, tmp_path_factory):
    return zoning.import_layers(messy_zip, tmp_path_factory.mktemp("messy_imported") / "set")


@pytest.fixture(scope="module")
def reference(catalog):
    return _verdicts(zoning.screen(PROJECTS, catalog=catalog))


def _verdicts(results) -> dict:
    gdf = results.to_geodataframe()
    return {r.site_id: (r.verdict, r.unit_code, r.county, r.rules) for r in gdf.itertuples()}


def _geodesic(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


# ------------------------------------------------------------------------------------------
# the delivery (item 5)
def test_delivery_looks_official(delivery):
    shp = delivery / SHP_DIR / "南平市环境管控单元.shp"
    assert not shp.with_suffix(".cpg").exists()
    assert gpd.read_file(shp, encoding="gbk").crs.to_epsg() == DELIVERY_EPSG
    raw = shp.with_suffix(".dbf").read_bytes()
    assert "优先保护单元".encode("gbk") in raw and "优先保护单元".encode("utf-8") not in raw  # GBK text
    units = gpd.read_file(shp, encoding="gbk")
    assert {"HJZHGKDYBM", "HJZHGKDYMC", "ZHGKDYFL", "PROV", "CITY", "AREA", "KJBJYS", "PWWPFGK", "HJFXFK",
            "ZYKFXLYQ"} <= set(units.columns)
    assert units["HJZHGKDYMC"].str.contains("\n").sum() >= 30  # stray line breaks
    assert set(units["ZHGKDYFL"]) == {"1", "2", "3"}
    assert units.total_bounds[0] > 39e6  # zone-prefixed eastings
    table = pd.read_excel(delivery / LIST_NAME, header=2, dtype=str).fillna("")
    general = table[table["层级"] != UNIT_TIER]
    assert set(general["层级"]) == {"省级", "市级", COUNTY_TIER}
    for tier in ("省级", "市级", COUNTY_TIER):
        assert set(general.loc[general["层级"] == tier, "维度"]) == set(DIMENSIONS)
    if can_write_filegdb():
        import pyogrio

        assert len(pyogrio.list_layers(delivery / GDB_NAME)) == 8


# ------------------------------------------------------------------------------------------
# the import (item 2)
def test_official_import_places_every_layer_and_passes_check(imported):
    roles = {lay.role: lay for lay in imported.layers}
    assert set(roles) == {"admin", "red_line", "control_unit", "park", "protected", "no_burn", "forest_carbon",
                          "water_zone", "air_zone", "eco_zone"}
    assert not imported.unplaced
    assert imported.findings and all(f.ok for f in imported.findings), [f for f in imported.findings if not f.ok]
    assert roles["control_unit"].fields["HJZHGKDYBM"] == "code" and roles["control_unit"].fields["ZHGKDYFL"] == "class"
    assert roles["control_unit"].fields["ZYKFXLYQ"] == "list_4"
    assert roles["water_zone"].fields["LY"] == "basin" and roles["water_zone"].fields["HD"] == "reach"
    assert any("admin" in g and "AREA" in g for g in imported.guessed)  # county layer derived, and said so
    cat = yaml.safe_load(imported.catalog.read_text(encoding="utf-8"))
    units = next(e for e in cat["layers"] if e["role"] == "control_unit")
    assert units["original_crs"] == f"EPSG:{DELIVERY_EPSG}" and units["fields"]["HJZHGKDYMC"] == "name"
    admin = next(e for e in cat["layers"] if e["role"] == "admin")
    assert "dissolv" in admin["source"]
    assert (imported.out_dir / cat["rules"]).is_file() and (imported.out_dir / ".zoning-output").exists()
    loaded = zoning.load_catalog(imported.catalog)
    assert loaded.one("control_unit").original_crs == f"EPSG:{DELIVERY_EPSG}"
    stored = zoning.load_layer(loaded.one("control_unit"))
    assert stored.crs.to_epsg() == 4490
    assert not stored["name"].str.contains(r"\s").any()  # line breaks gone
    assert set(stored["class"]) == set(UNIT_CLASSES)


def test_imported_unit_areas_equal_the_originals(imported):
    """Geodesic areas (pyproj.Geod on the stored lon/lat) of every unit, red line and park equal
    those of the generated layers: GK zone 39 and back loses nothing (rel. 1e-6)."""
    loaded = zoning.load_catalog(imported.catalog)
    worst = 0.0
    for role, path, key in (("control_unit", "control_unit.gpkg", "单元编码"), ("red_line", "red_line.gpkg", "红线编号"),
                            ("park", "park.gpkg", "id")):
        original = gpd.read_file(SAMPLE / path).set_index(key)
        ours = zoning.load_layer(loaded.one(role)).set_index("code" if role == "control_unit" else "id")
        assert sorted(ours.index) == sorted(original.index)
        for code, geom in ours.geometry.items():
            a, b = _geodesic(geom), _geodesic(original.geometry[code])
            worst = max(worst, abs(a - b) / b)
    assert worst < 1e-6, worst


def test_imported_catalog_screens_like_the_sample_catalog(imported, reference):
    results = zoning.screen(PROJECTS, catalog=imported.catalog)
    assert _verdicts(results) == reference
    p01 = next(r for r in results if r.site_id == "P01")
    zones = {h.role: h.id for h in p01.hits}
    assert {"water_zone", "air_zone", "eco_zone"} <= set(zones)  # element zone codes reported
    assert zones["water_zone"].startswith("YS350703")
    import json

    import jsonschema

    schema = json.loads((Path(zoning.__file__).parent / "schema" / "result.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(p01.to_json()), schema)


def test_imported_clauses_equal_the_texts_written(imported, catalog):
    lib = load_clause_library(imported.clauses)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-[0-9a-f]{8}", lib.version)
    units = gpd.read_file(SAMPLE / "control_unit.gpkg")
    written = sample_clause_library(units)["clauses"]
    truth = {(c["unit_code"], c["dimension"], c["number"], c["text"]) for c in written if c["tier"] == UNIT_TIER}
    ours = {(c["unit_code"], c["dimension"], c["number"], c["text"]) for c in lib.clauses if c["tier"] == UNIT_TIER}
    assert ours == truth and len(ours) > 150
    ruled = {(code, rule) for code, _, _, rule in RULED_UNIT_CLAUSES}
    assert {(c["unit_code"], c["rule"]) for c in lib.clauses if c["tier"] == UNIT_TIER and c["rule"]} == ruled
    general = {(c["tier"], c["unit_class"], c["dimension"], c["text"], c["rule"]) for c in lib.clauses
               if c["tier"] in ("省级", "市级")}
    assert general == {(t, cls, d, text, rule) for t, cls, d, text, rule in GENERAL_CLAUSES}
    county = [c for c in lib.clauses if c["tier"] == COUNTY_TIER]
    assert len(county) == 40 and {c["county_code"] for c in county} == set(units["区县代码"])
    # screening quotes them: P01 (a priority unit in 建阳区) gets its county's clauses too
    res = zoning.screen(PROJECTS, catalog=imported.catalog)
    p01 = next(r for r in res if r.site_id == "P01")
    tiers = {c["tier"] if isinstance(c, dict) else c.tier for c in p01.clauses}
    assert tiers == set(CLAUSE_TIERS)


def test_file_geodatabase_imports_the_same_layers(delivery, tmp_path):
    if not can_write_filegdb():
        pytest.skip("this GDAL cannot write OpenFileGDB, so the delivery has no .gdb")
    report = zoning.import_layers(delivery / GDB_NAME, tmp_path / "gdb")
    assert all(f.ok for f in report.findings), [f for f in report.findings if not f.ok]
    units = zoning.load_layer(zoning.load_catalog(report.catalog).one("control_unit")).set_index("code")
    original = gpd.read_file(SAMPLE / "control_unit.gpkg").set_index("单元编码")
    assert len(units) == len(original) == 82
    worst = max(abs(_geodesic(g) - _geodesic(original.geometry[c])) / _geodesic(original.geometry[c])
                for c, g in units.geometry.items())
    assert worst < 1e-6


def test_geopackage_with_every_layer(delivery, tmp_path):
    gpkg = tmp_path / "成果.gpkg"
    for shp in sorted((delivery / SHP_DIR).glob("*.shp"))[:4]:
        gpd.read_file(shp, encoding="gbk").to_file(gpkg, layer=shp.stem, driver="GPKG")
    report = zoning.import_layers(gpkg, tmp_path / "out", check=False)
    assert len(report.layers) >= 4 and not report.unplaced


# ------------------------------------------------------------------------------------------
# the messy variant
def test_messy_variant_imports_checks_and_screens_the_same(messy, reference):
    assert messy.findings and all(f.ok for f in messy.findings), [f for f in messy.findings if not f.ok]
    roles = {lay.role: lay for lay in messy.layers}
    assert {"admin", "red_line", "control_unit", "park", "protected", "no_burn", "forest_carbon"} <= set(roles)
    assert roles["control_unit"].original_crs == "EPSG:4490"
    assert any("生态保护红线" in g and ".prj" in g and "4490" in g for g in messy.guessed)
    assert any("10" in g and "单元编" in g for g in messy.guessed)  # cut field names, said so
    units = zoning.load_layer(zoning.load_catalog(messy.catalog).one("control_unit"))
    assert units["code"].str.fullmatch(r"ZH\d{6}[123]\d{4}").all()  # spaces gone
    assert set(units["class"]) == set(UNIT_CLASSES)  # 优先保护单元 -> 优先保护
    original = gpd.read_file(SAMPLE / "control_unit.gpkg").set_index("单元编码")
    worst = max(abs(_geodesic(g) - _geodesic(original.geometry[c])) / _geodesic(original.geometry[c])
                for c, g in units.set_index("code").geometry.items())
    assert worst < 1e-6
    assert _verdicts(zoning.screen(PROJECTS, catalog=messy.catalog)) == reference
    lib = load_clause_library(messy.clauses)
    assert sum(1 for c in lib.clauses if c["tier"] == UNIT_TIER) > 150


# ------------------------------------------------------------------------------------------
# unplaced layers, the mapping file
def _odd_delivery(delivery, folder: Path) -> Path:
    folder.mkdir()
    units = gpd.read_file(delivery / SHP_DIR / "南平市环境管控单元.shp", encoding="gbk")
    units[units["AREA"] == "政和县"].to_file(folder / "环境管控单元.shp", encoding="GBK")  # one county: quick checks
    nb = gpd.read_file(delivery / SHP_DIR / "南平市高污染燃料禁燃区.shp", encoding="gbk")
    nb.rename(columns={"JRQBM": "AAA", "JRQMC": "BBB"}).to_file(folder / "图层7.shp", encoding="UTF-8")
    return folder


def test_unplaced_layer_is_listed_with_a_hint_and_a_mapping_file_places_it(delivery, tmp_path):
    src = _odd_delivery(delivery, tmp_path / "odd")
    result = _run("layers", "import", src, "-o", tmp_path / "out1")
    assert result.exit_code == 0, result.output
    assert "图层7.shp" in result.output and "--mapping" in result.output
    report = zoning.import_layers(src, tmp_path / "out2", check=False)
    assert any("图层7" in u for u in report.unplaced) and not any(lay.role == "no_burn" for lay in report.layers)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("layers:\n  图层7:\n    role: no_burn\n    fields: {AAA: id, BBB: name}\n", encoding="utf-8")
    result = _run("layers", "import", src, "-o", tmp_path / "out3", "--mapping", mapping)
    assert result.exit_code == 0, result.output
    cat = zoning.load_catalog(tmp_path / "out3" / "catalog.yaml")
    nb = zoning.load_layer(cat.one("no_burn"))
    assert len(nb) == 10 and nb["id"].str.startswith("JR").all() and nb["name"].str.endswith("禁燃区").all()
    assert "图层7.shp -> no_burn" in result.output


def test_overwrite_semantics(delivery, tmp_path):
    src = _odd_delivery(delivery, tmp_path / "odd")
    assert _run("layers", "import", src, "-o", tmp_path / "out").exit_code == 0
    again = _run("layers", "import", src, "-o", tmp_path / "out")
    assert again.exit_code == 2 and "--overwrite" in again.output
    result = _run("layers", "import", src, "-o", tmp_path / "out", "--overwrite", "--json")
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.output)  # JSON is YAML
    assert {lay["role"] for lay in doc["layers"]} == {"admin", "control_unit"}
    assert len(doc["unplaced"]) == 1 and "图层7" in doc["unplaced"][0]
    assert all(c["ok"] for c in doc["checks"]) and doc["catalog"].endswith("catalog.yaml")


# ------------------------------------------------------------------------------------------
# bad inputs: one line, Chinese then English, exit 2
def _one_bilingual_line(result) -> str:
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.output
    assert re.search(r"[\u4e00-\u9fff]", lines[0]) and re.search(r"[A-Za-z]{4}", lines[0])
    return lines[0]


def test_zip_with_parent_entries_is_refused(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../evil.shp", b"x")
        z.writestr("ok/readme.txt", b"x")
    line = _one_bilingual_line(_run("layers", "import", bad, "-o", tmp_path / "out"))
    assert "../evil.shp" in line
    assert not (tmp_path / "evil.shp").exists() and not (tmp_path / "out").exists()


def test_unreadable_gdb_and_empty_folder_are_refused(tmp_path):
    gdb = tmp_path / "broken.gdb"
    gdb.mkdir()
    (gdb / "a00000001.gdbtable").write_bytes(b"not a table")
    _one_bilingual_line(_run("layers", "import", gdb, "-o", tmp_path / "out"))
    empty = tmp_path / "empty"
    empty.mkdir()
    line = _one_bilingual_line(_run("layers", "import", empty, "-o", tmp_path / "out"))
    assert "no layers" in line
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------
# the list table, both forms; unit classes as written
_TEXT = st.text(alphabet=st.sampled_from("的项目应须禁止新建排放污染园区企业环境风险防控能源效率用水"), min_size=3, max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.lists(_TEXT, min_size=1, max_size=4), min_size=4, max_size=4),
       encoding=st.sampled_from(["utf-8-sig", "gbk"]), english=st.booleans())
def test_list_table_one_column_per_dimension(tmp_path_factory, texts, encoding, english):
    """A wide CSV (GBK or UTF-8, Chinese or English headers, numbered clauses with stray line
    breaks in each dimension's cell) gives back every clause, numbered in order."""
    heads = ["scope", "tier", *("spatial layout", "pollutant discharge", "environmental risk", "resource efficiency")] \
        if english else ["适用范围", "层级", *DIMENSIONS[:3], "资源开发效率要求"]
    cells = ["\n".join(f"{i}.{t[:len(t) // 2]}\n{t[len(t) // 2:]}。" for i, t in enumerate(dim, 1)) for dim in texts]
    frame = pd.DataFrame([["南平市", "市级", *cells], ["350702", "", *cells]], columns=heads)
    path = tmp_path_factory.mktemp("wide") / "list.csv"
    path.write_bytes(frame.to_csv(index=False).encode(encoding))
    clauses, _ = list_clauses(path, counties={}, unit_codes=set(), split=split_clauses)
    for tier, extra in (("市级", {}), (COUNTY_TIER, {"county_code": "350702"})):
        mine = [c for c in clauses if c["tier"] == tier]
        expect = [(d, str(n), f"{t}。") for d, dim in zip(DIMENSIONS, texts) for n, t in enumerate(dim, 1)]
        assert [(c["dimension"], c["number"], c["text"]) for c in mine] == expect
        assert all(c.get("county_code") == extra.get("county_code") for c in mine)


@settings(max_examples=60, deadline=None)
@given(cls=st.sampled_from(list(UNIT_CLASSES)), form=st.sampled_from(["digit", "word", "unit", "float"]),
       pad=st.sampled_from(["", " ", "\n", " \r\n "]))
def test_unit_class_words(cls, form, pad):
    value = {"digit": str(UNIT_CLASSES[cls]), "word": cls, "unit": f"{cls}单元",
             "float": f"{UNIT_CLASSES[cls]}.0"}[form]
    assert unit_class_of(pad + value + pad) == cls
    assert unit_class_of("") is None and unit_class_of("4") is None


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_field_names_with_any_case_and_stray_whitespace(data):
    """Pinyin and Chinese field names are matched whatever their case and stray spaces/line breaks."""
    from zoning.io.official import conventions, match_fields

    table = conventions()["fields"]["control_unit"]
    canon = data.draw(st.sampled_from(sorted(table)))
    name = data.draw(st.sampled_from(table[canon]))
    chars = [data.draw(st.sampled_from([c.lower(), c.upper()])) for c in name]
    at = data.draw(st.integers(0, len(chars)))
    messy = "".join(chars[:at]) + data.draw(st.sampled_from(["", " ", "\n", "\r\n ", "\t"])) + "".join(chars[at:])
    found, _ = match_fields([messy, "OTHER_FIELD"], "control_unit")
    assert found == {messy: canon}


def test_element_zones_are_listed_and_drawn(imported):
    listed = _run("layers", "list", "--catalog", imported.catalog, "--json")
    assert listed.exit_code == 0
    roles = {r["role"] for r in yaml.safe_load(listed.output)}
    assert {"water_zone", "air_zone", "eco_zone"} <= roles
    html = zoning.explore(layers=zoning.load_layers(imported.catalog)).get_root().render()
    for word in ("水环境管控分区", "大气环境管控分区", "生态空间"):
        assert word in html


def test_shapefile_without_prj_and_no_zone_prefix_is_refused_then_placed_by_crs(delivery, tmp_path):
    src = tmp_path / "noprj"
    src.mkdir()
    units = gpd.read_file(delivery / SHP_DIR / "南平市环境管控单元.shp", encoding="gbk")
    units = units[units["AREA"] == "政和县"].to_crs(4549)  # CM 120°E, no zone prefix: ambiguous without .prj
    units.to_file(src / "环境管控单元.shp", encoding="GBK")
    (src / "环境管控单元.prj").unlink()
    line = _one_bilingual_line(_run("layers", "import", src, "-o", tmp_path / "out"))
    assert ".prj" in line and "--mapping" in line
    mapping = tmp_path / "m.yaml"
    mapping.write_text("layers:\n  环境管控单元: {crs: 4549}\n", encoding="utf-8")
    result = _run("layers", "import", src, "-o", tmp_path / "out", "--mapping", mapping)
    assert result.exit_code == 0, result.output
    ours = zoning.load_layer(zoning.load_catalog(tmp_path / "out" / "catalog.yaml").one("control_unit"))
    original = gpd.read_file(SAMPLE / "control_unit.gpkg").set_index("单元编码")
    for code, geom in ours.set_index("code").geometry.items():
        assert abs(_geodesic(geom) / _geodesic(original.geometry[code]) - 1) < 1e-6


def test_fields_a_delivery_leaves_out_are_filled_and_reported(delivery, tmp_path):
    """A water-source layer without kind or id, a park layer without the chemical flag: filled
    from the layer itself and listed as guesses."""
    from zoning.vocabulary import WATER_SOURCE

    src = tmp_path / "d"
    src.mkdir()
    prot = gpd.read_file(delivery / SHP_DIR / "南平市自然保护地及饮用水水源保护区.shp", encoding="gbk")
    water = prot[prot["BHDLX"] == WATER_SOURCE].drop(columns=["BHDLX", "BHDBM"])
    water.to_file(src / "饮用水水源保护区.shp", encoding="GBK")
    park = gpd.read_file(delivery / SHP_DIR / "南平市工业园区.shp", encoding="gbk").drop(columns=["SFHGYQ"])
    park.to_file(src / "工业园区.shp", encoding="GBK")
    report = zoning.import_layers(src, tmp_path / "out", check=False)
    assert not report.unplaced, report.unplaced
    cat = zoning.load_catalog(report.catalog)
    w = zoning.load_layer(cat.one("protected"))
    assert len(w) == len(water) and set(w["kind"]) == {WATER_SOURCE} and w["id"].is_unique
    p = zoning.load_layer(cat.one("park"))
    assert p.set_index("id")["chemical"].to_dict() == {i: "化工" in n for i, n in zip(park["YQBM"], park["YQMC"])}
    assert any("kind" in g for g in report.guessed) and any("chemical" in g for g in report.guessed)


def test_whole_delivery_folder_takes_each_layer_once(delivery, tmp_path):
    """The delivery folder holds every layer twice (shapefiles and the .gdb): each is imported once."""
    report = zoning.import_layers(delivery, tmp_path / "all", clause_list=delivery / LIST_NAME, check=False)
    roles = [lay.role for lay in report.layers]
    assert len(roles) == len(set(roles)) == 10
    skipped = [n for n in report.notes if "skipped" in n]
    assert len(skipped) == (8 if can_write_filegdb() else 0)


def test_list_rows_for_a_unit_continue_its_numbering():
    """A list-table clause for one unit never repeats a number the unit's own clauses hold in that
    dimension (two "单元 环境风险防控 1" rows: cold trial)."""
    from zoning.io.official import merge_clauses

    dim = "环境风险防控"
    own = [{"tier": "单元", "unit_code": "U1", "dimension": dim, "number": str(n), "text": f"own{n}"} for n in (1, 2)]
    listed = [{"tier": "单元", "unit_code": "U1", "dimension": dim, "number": "1", "text": "list a"},
              {"tier": "单元", "unit_code": "U1", "dimension": dim, "number": "2", "text": "list b"},
              {"tier": "单元", "unit_code": "U1", "dimension": dim, "number": "1", "text": "own1"},  # a repeat
              {"tier": "单元", "unit_code": "U2", "dimension": dim, "number": "1", "text": "other unit"}]
    merged = merge_clauses([dict(c) for c in own], listed)
    u1 = [(c["number"], c["text"]) for c in merged if c["unit_code"] == "U1"]
    assert u1 == [("1", "own1"), ("2", "own2"), ("3", "list a"), ("4", "list b")]
    assert [(c["number"], c["text"]) for c in merged if c["unit_code"] == "U2"] == [("1", "other unit")]
