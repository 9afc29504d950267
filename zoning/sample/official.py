"""An official-style delivery of the SAMPLE layer set (issue 12, item 5), to test
``zoning layers import`` on: what a 三线一单 results delivery looks like, made from the
synthetic layers.

- ``成果数据/``: GBK shapefiles without .cpg, all in one CGCS2000 3-degree Gauss-Kruger zone with
  the zone prefix (EPSG:4527, zone 39, CM 117°E, as one-zone deliveries of the city do),
  pinyin field names (HJZHGKDYBM, HJZHGKDYMC, ZHGKDYFL 1/2/3, PROV/CITY/AREA, the four
  access-list texts KJBJYS/PWWPFGK/HJFXFK/ZYKFXLYQ with numbered clauses), unit names with a
  stray line break; red lines, parks, protected areas, no-burn zones, and element zones for
  water (SHJGKFQBM, 流域 LY, 河段 HD), air (DQHJGKFQBM) and ecology (STKJBM); no county layer
  (the importer derives it); and the forest carbon raster as an attachment.
- ``南平市三线一单成果.gdb``: the same vector layers as a file geodatabase (when GDAL can write one).
- ``生态环境准入清单.xlsx``: the general requirements at three tiers (省级/市级/县级) in the four
  dimensions, one row per clause under a title row, with the rule ids of the clauses a rule
  decides (and the units' ruled clauses, so their rule links survive the import).

Everything here is SYNTHETIC and labelled so.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from zoning.io.atomic import staged_folder
from zoning.io.vector import read_vector
from zoning.sample.clauses import GENERAL_CLAUSES, RULED_UNIT_CLAUSES, sample_clause_library
from zoning.vocabulary import COUNTY_TIER, DIMENSIONS, UNIT_CLASSES, UNIT_TIER

#: the one GK zone of the delivery: CGCS2000 3-degree zone 39 (CM 117°E) with zone prefix
DELIVERY_EPSG = 4527
SHP_DIR = "成果数据"
GDB_NAME = "南平市三线一单成果.gdb"
LIST_NAME = "生态环境准入清单.xlsx"
RASTER_NAME = "附件_森林碳密度（合成）.tif"
PROVINCE, CITY = "福建省", "南平市"
#: pinyin field of each access-list dimension, in the order of DIMENSIONS
LIST_FIELDS = ("KJBJYS", "PWWPFGK", "HJFXFK", "ZYKFXLYQ")
#: county code -> (basin, reach) of its water element zone (synthetic)
BASINS = {"350702": ("闽江", "闽江南平段"), "350703": ("建溪", "崇阳溪建阳段"), "350721": ("富屯溪", "富屯溪顺昌段"),
          "350722": ("南浦溪", "南浦溪浦城段"), "350723": ("富屯溪", "北溪光泽段"), "350724": ("松溪", "松溪松溪段"),
          "350725": ("松溪", "七星溪政和段"), "350781": ("富屯溪", "富屯溪邵武段"), "350782": ("建溪", "崇阳溪武夷山段"),
          "350783": ("建溪", "建溪建瓯段")}
#: county-tier general requirements (synthetic): dimension index -> text; {county} is its name
COUNTY_CLAUSES = (
    "{county}新建工业项目原则上进入依法设立的工业园区，严禁在城市建成区新建重污染项目。",
    "{county}新建涉挥发性有机物排放项目须落实区域削减替代。",
    "{county}沿江沿河工业企业应建设事故应急池，落实雨污分流。",
    "{county}新建项目单位产品能耗应达到国内先进水平，严格控制用水总量。",
)


def _gk(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """In the delivery's GK zone, vertex for vertex. Some hair-thin slivers of the synthetic units
    are invalid once projected (a bow-tie a few mm wide); they are written as they are, so that
    the units still share every edge and come back valid and exact in EPSG:4490."""
    return gdf.to_crs(DELIVERY_EPSG)


def _stray_break(name: str, i: int) -> str:
    """Every other unit name gets a line break (and a space) as hand-typed attribute tables do."""
    if i % 2 or len(name) < 4:
        return name
    return name[:3] + "\n " + name[3:]


def delivery_layers(generated: Path) -> dict[str, gpd.GeoDataFrame]:
    """The delivery's vector layers (EPSG:4490) by file stem, with official field names."""
    units = read_vector(generated / "control_unit.gpkg")
    lib = sample_clause_library(units)
    texts: dict[tuple[str, str], list[str]] = {}
    for c in lib["clauses"]:
        if c["tier"] == UNIT_TIER:
            texts.setdefault((c["unit_code"], c["dimension"]), []).append(c["text"])
    units = units.sort_values("单元编码").reset_index(drop=True)
    cu = pd.DataFrame({
        "HJZHGKDYBM": units["单元编码"],
        "HJZHGKDYMC": [_stray_break(n, i) for i, n in enumerate(units["单元名称"])],
        "ZHGKDYFL": [str(UNIT_CLASSES[c]) for c in units["管控类别"]],
        "PROV": PROVINCE, "CITY": CITY, "AREA": units["区县名称"],
    })
    for dim, fld in zip(DIMENSIONS, LIST_FIELDS):
        cu[fld] = ["\n".join(f"{n}.{t}" for n, t in enumerate(texts.get((code, dim), []), 1))
                   for code in units["单元编码"]]
    out = {"南平市环境管控单元": gpd.GeoDataFrame(cu, geometry=units.geometry.values, crs=units.crs)}
    red = read_vector(generated / "red_line.gpkg")
    out["南平市生态保护红线"] = gpd.GeoDataFrame(
        {"HXBM": red["红线编号"], "HXMC": red["红线名称"], "HXLX": red["红线类型"], "XZQDM": red["区县代码"]},
        geometry=red.geometry.values, crs=red.crs)
    park = read_vector(generated / "park.gpkg")
    out["南平市工业园区"] = gpd.GeoDataFrame(
        {"YQBM": park["id"], "YQMC": park["name"], "YQJB": park["level"], "ZDCY": park["industries"],
         "SFHGYQ": ["是" if bool(v) else "否" for v in park["chemical"]], "XZQDM": park["county_code"]},
        geometry=park.geometry.values, crs=park.crs)
    prot = read_vector(generated / "protected.gpkg")
    out["南平市自然保护地及饮用水水源保护区"] = gpd.GeoDataFrame(
        {"BHDBM": prot["id"], "BHDMC": prot["name"], "BHDLX": prot["kind"], "BHDJB": prot["grade"],
         "XZQDM": prot["county_code"]}, geometry=prot.geometry.values, crs=prot.crs)
    nb = read_vector(generated / "no_burn.gpkg")
    out["南平市高污染燃料禁燃区"] = gpd.GeoDataFrame(
        {"JRQBM": nb["id"], "JRQMC": nb["name"], "XZQDM": nb["county_code"]}, geometry=nb.geometry.values, crs=nb.crs)
    out.update(_element_zones(units))
    return out


def _element_zones(units: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Water zones (one per county), air zones (per county and unit class) and ecological space
    (the priority-protection units), all SYNTHETIC, made from the units."""
    water, air, eco = [], [], []
    for county, group in units.groupby("区县代码", sort=True):
        name = group["区县名称"].iloc[0]
        basin, reach = BASINS.get(county, ("闽江", "闽江"))
        water.append({"SHJGKFQBM": f"YS{county}0001", "SHJGKFQMC": f"{name}{reach}水环境控制单元", "LY": basin,
                      "HD": reach, "GKFQLX": "水环境一般管控区", "XZQDM": county,
                      "geometry": shapely.union_all(group.geometry.values)})
        for cls, part in group.groupby("管控类别", sort=True):
            digit = UNIT_CLASSES[cls]
            air.append({"DQHJGKFQBM": f"YA{county}{digit}0001", "DQHJGKFQMC": f"{name}大气环境{cls}区",
                        "GKFQLX": f"大气环境{cls}区", "XZQDM": county,
                        "geometry": shapely.union_all(part.geometry.values)})
        for _, row in group[group["管控类别"] == next(iter(UNIT_CLASSES))].iterrows():
            eco.append({"STKJBM": f"ST{row['单元编码'][2:]}", "STKJMC": f"{row['单元名称']}生态空间",
                        "STKJLX": "一般生态空间", "XZQDM": county, "geometry": row.geometry})
    crs = units.crs
    return {"南平市水环境管控分区": gpd.GeoDataFrame(water, geometry="geometry", crs=crs),
            "南平市大气环境管控分区": gpd.GeoDataFrame(air, geometry="geometry", crs=crs),
            "南平市生态空间": gpd.GeoDataFrame(eco, geometry="geometry", crs=crs)}


def list_table(units: gpd.GeoDataFrame) -> pd.DataFrame:
    """The access-list table: province, city and county general requirements (four dimensions)
    and the units' ruled clauses, one row per clause."""
    rows = []
    for tier, cls, dim, text, rule in GENERAL_CLAUSES:
        rows.append({"适用范围": PROVINCE if tier != "市级" else CITY, "层级": tier, "单元类别": cls or "",
                     "维度": dim, "条款内容": text, "对应规则": rule or ""})
    counties = units.drop_duplicates("区县代码").sort_values("区县代码")
    for code, name in zip(counties["区县代码"], counties["区县名称"]):
        for dim, text in zip(DIMENSIONS, COUNTY_CLAUSES):
            rows.append({"适用范围": name, "层级": COUNTY_TIER, "单元类别": "", "维度": dim,
                         "条款内容": text.format(county=name), "对应规则": ""})
    for code, dim, text, rule in RULED_UNIT_CLAUSES:
        rows.append({"适用范围": code, "层级": UNIT_TIER, "单元类别": "", "维度": dim, "条款内容": text, "对应规则": rule})
    frame = pd.DataFrame(rows)
    frame.insert(0, "序号", range(1, len(frame) + 1))
    return frame


def can_write_filegdb() -> bool:
    return "w" in pyogrio.list_drivers().get("OpenFileGDB", "")


def _write_shapefile_gbk(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """GBK DBF, no .cpg (as many deliveries come)."""
    gdf.to_file(path, engine="pyogrio", encoding="GBK")
    for cpg in (path.with_suffix(".cpg"), path.with_suffix(".CPG")):
        if cpg.exists():
            cpg.unlink()


def write_official_delivery(generated: Path | str, out_dir: Path | str | None = None, *,
                            overwrite: bool = True) -> Path:
    """Write the official-style delivery of the sample set (default ``generated/official``)."""
    generated = Path(generated)
    out_dir = Path(out_dir) if out_dir is not None else generated / "official"
    layers = delivery_layers(generated)
    units = read_vector(generated / "control_unit.gpkg")
    with staged_folder(out_dir, overwrite=overwrite) as stage:
        shp = stage / SHP_DIR
        shp.mkdir()
        for stem, gdf in layers.items():
            _write_shapefile_gbk(_gk(gdf), shp / f"{stem}.shp")
        rasters = sorted(generated.glob("forest_carbon_100m.tif"))
        if rasters:
            try:
                os.link(rasters[0], shp / RASTER_NAME)
            except OSError:
                shutil.copy2(rasters[0], shp / RASTER_NAME)
        if can_write_filegdb():
            gdb = stage / GDB_NAME
            for stem, gdf in layers.items():  # 1 nm grid: the default 0.1 mm one moves the units' shared slivers
                _gk(gdf).to_file(gdb, driver="OpenFileGDB", layer=GDB_LAYERS[stem], engine="pyogrio",
                                 promote_to_multi=True, layer_options={"XYSCALE": "1000000000"})
        table = list_table(units)
        with pd.ExcelWriter(stage / LIST_NAME) as xw:
            pd.DataFrame([["表1 南平市生态环境准入清单（合成示例，非官方成果）"]]).to_excel(
                xw, index=False, header=False, sheet_name="准入清单")
            table.to_excel(xw, index=False, startrow=2, sheet_name="准入清单")
        (stage / "说明.txt").write_text(
            "南平市三线一单成果（合成示例，非官方成果）/ official-style delivery of the SYNTHETIC sample set.\n"
            f"成果数据/: GBK shapefiles, EPSG:{DELIVERY_EPSG} (CGCS2000 3-degree GK zone 39, CM 117E, zone prefix).\n"
            f"{GDB_NAME}: the same layers as a file geodatabase. {LIST_NAME}: 省级/市级/县级 general requirements.\n"
            "Import: zoning layers import 成果数据 --list 生态环境准入清单.xlsx -o DIR\n", encoding="utf-8")
    return out_dir


#: layer names inside the file geodatabase (ASCII, as GDB tables are usually named)
GDB_LAYERS = {"南平市环境管控单元": "HJZHGKDY", "南平市生态保护红线": "STBHHX", "南平市工业园区": "GYYQ",
              "南平市自然保护地及饮用水水源保护区": "ZRBHD", "南平市高污染燃料禁燃区": "GWRRLJRQ",
              "南平市水环境管控分区": "SHJGKFQ", "南平市大气环境管控分区": "DQHJGKFQ", "南平市生态空间": "STKJ"}
