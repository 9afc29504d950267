"""Official 三线一单 / 生态环境分区管控 results in (``zoning layers import``).

A delivery (a folder, a .zip, a file geodatabase or a GeoPackage) is searched for layers;
each is given a role and its fields canonical names by the conventions of
《"三线一单"成果数据规范（试行）》 (pinyin initials or Chinese names, case and stray spaces or
line breaks ignored; ``zoning/data/official_conventions.yaml``), or as a mapping file says.
Values are normalised (codes without spaces, names without line breaks, unit classes as the
canonical words), every layer is stored as GeoPackage in EPSG:4490 with its original CRS
recorded, and the folder gets ``catalog.yaml`` (the field mapping used), ``clauses.yaml``
(the units' four access-list texts split into numbered clauses, plus the general requirements
of a list table) and a copy of the rule pack: a self-contained layer set.

Nothing is placed silently: the report lists what was recognised, what was guessed (and why)
and what could not be placed, with a hint to pass a mapping file.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import yaml
from pyproj import CRS

from zoning.errors import CRSProblem, UnreadableInput
from zoning.geo.crs import CHINA_LAT, CHINA_LON, GK_ZONE_PREFIX_EPSG, STORAGE_EPSG, crs_label, parse_crs
from zoning.io import tables
from zoning.io.archive import unpack_zip
from zoning.io.atomic import staged_folder
from zoning.io.inputs import load_yaml, read_text
from zoning.io.vector import read_vector, shapefile_encoding
from zoning.vocabulary import CLAUSE_TIERS, DIMENSIONS, NATURE_AREA_KINDS, ROLES, UNIT_CLASSES, WATER_SOURCE_KINDS

CONVENTIONS_PATH = Path(__file__).resolve().parents[1] / "data" / "official_conventions.yaml"
#: the canonical fields holding a unit's four access-list texts, in the order of DIMENSIONS
LIST_FIELDS = ("list_1", "list_2", "list_3", "list_4")
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json")
RASTER_SUFFIXES = (".tif", ".tiff")
HINT = ("请用 --mapping 映射文件指明（格式见 README“Official results in”）",
        "pass --mapping FILE.yaml to place it (format: README, 'Official results in')")


# ------------------------------------------------------------------------------------------
# conventions
def key(name) -> str:
    """A layer or field name as compared: no whitespace or line breaks, case-folded."""
    return re.sub(r"\s+", "", str(name)).casefold()


@lru_cache(maxsize=1)
def conventions() -> dict:
    doc = yaml.safe_load(CONVENTIONS_PATH.read_text(encoding="utf-8"))
    assert set(doc["fields"]) <= set(ROLES) and set(doc["unit_class_words"]) <= set(UNIT_CLASSES)
    assert len(doc["tier_words"]) == len(CLAUSE_TIERS) and len(doc["dimension_words"]) == len(DIMENSIONS)
    return doc


def _word_table(rows, targets) -> dict[str, str]:
    return {key(w): target for words, target in zip(rows, targets) for w in words}


def tier_of(value) -> str | None:
    return _word_table(conventions()["tier_words"], CLAUSE_TIERS).get(key(value))


def dimension_of(value) -> str | None:
    return _word_table(conventions()["dimension_words"], DIMENSIONS).get(key(value))


def unit_class_of(value) -> str | None:
    """The canonical unit class of a ZHGKDYFL value: 1/2/3 or a class word (``优先保护单元`` …)."""
    text = key(value)
    if text in ("", "nan", "none"):
        return None
    digits = {str(d): c for c, d in UNIT_CLASSES.items()}
    if re.fullmatch(r"0*[123](\.0+)?", text):
        return digits[str(int(float(text)))]
    for cls, words in conventions()["unit_class_words"].items():
        if text in {key(w) for w in words}:
            return cls
    for cls in UNIT_CLASSES:  # "XX县优先保护单元" and the like
        if key(cls) in text:
            return cls
    return None


def _cut_match(name: str, aliases: dict[str, str]) -> str | None:
    """A shapefile field cut at 10 bytes (GBK or UTF-8) matches the one alias it begins."""
    raw = re.sub(r"\s+", "", name)
    cut = any(9 <= len(raw.encode(enc, errors="replace")) <= 10 for enc in ("utf-8", "gbk"))
    if not cut or len(raw) < 2:
        return None
    hits = {canon for alias, canon in aliases.items() if alias.startswith(key(raw)) and alias != key(raw)}
    return hits.pop() if len(hits) == 1 else None


def match_fields(columns, role: str) -> tuple[dict[str, str], list[str]]:
    """{source column: canonical} for ``role`` by the conventions, and notes on guesses."""
    table = conventions()["fields"].get(role, {})
    aliases: dict[str, str] = {}
    for canon, names in table.items():
        for n in names:
            aliases.setdefault(key(n), canon)
    out: dict[str, str] = {}
    notes: list[str] = []
    taken: set[str] = set()
    # exact names first (in the order the conventions list them), then cut names
    position = {key(n): i for names in table.values() for i, n in reversed(list(enumerate(names)))}
    ranked = sorted(((position[key(c)], c) for c in columns if key(c) in aliases), key=lambda t: t[0])
    for _, col in ranked:
        canon = aliases[key(col)]
        if canon not in taken:
            out[col], taken = canon, taken | {canon}
    for col in columns:
        if col in out or col == "geometry":
            continue
        canon = _cut_match(col, aliases)
        if canon and canon not in taken:
            out[col], taken = canon, taken | {canon}
            notes.append(f"{col} -> {canon}（字段名疑似在 10 字节处截断 / field name looks cut at 10 bytes）")
    return out, notes


def role_by_fields(columns) -> str | None:
    keys = {key(c) for c in columns}
    for role, names in conventions()["signature_fields"].items():
        if keys & {key(n) for n in names}:
            return role
    return None


def role_by_name(name: str) -> str | None:
    text = key(name)
    for role, words in conventions()["layer_keywords"]:
        if any(key(w) in text for w in words):
            return role
    return None


# ------------------------------------------------------------------------------------------
# the mapping file
def load_mapping(path) -> dict:
    """A mapping file: ``layers: {LAYER: {role: R, fields: {SRC: CANON}, crs: EPSG} | skip}``,
    ``fields: {SRC: CANON}`` (for every layer). Unknown roles or keys are refused."""
    if path is None:
        return {"layers": {}, "fields": {}}
    if isinstance(path, dict):
        doc = path
        name = "mapping"
    else:
        path = Path(path)
        name = path.name
        doc = load_yaml(read_text(path, "映射文件", "mapping file", max_bytes=1024 * 1024), name, error=UnreadableInput)
    if not isinstance(doc, dict) or set(doc) - {"layers", "fields"}:
        raise UnreadableInput(f"映射文件 {name} 应只含 layers 和 fields", f"mapping file {name} may hold only "
                              f"'layers' and 'fields'")
    layers = doc.get("layers") or {}
    fields = doc.get("fields") or {}
    if not isinstance(layers, dict) or not isinstance(fields, dict):
        raise UnreadableInput(f"映射文件 {name}：layers、fields 应为映射", f"mapping file {name}: 'layers' and 'fields' "
                              f"must be mappings")
    out = {}
    for lname, spec in layers.items():
        if spec in ("skip", None, False):
            out[key(lname)] = {"skip": True}
            continue
        if isinstance(spec, str):
            spec = {"role": spec}
        if not isinstance(spec, dict) or set(spec) - {"role", "fields", "crs", "name"}:
            raise UnreadableInput(f"映射文件 {name}：图层 {lname} 应写 role、fields、crs、name",
                                  f"mapping file {name}: layer {lname} takes role, fields, crs, name")
        if spec.get("role") is not None and spec["role"] not in ROLES:
            raise UnreadableInput(f"映射文件 {name}：图层 {lname} 的角色 {spec['role']!r} 未知",
                                  f"mapping file {name}: layer {lname}: unknown role {spec['role']!r}; roles: "
                                  f"{', '.join(ROLES)}")
        if spec.get("crs") is not None:
            parse_crs(spec["crs"])
        out[key(lname)] = {**spec, "fields": {str(k): str(v) for k, v in (spec.get("fields") or {}).items()}}
    return {"layers": out, "fields": {str(k): str(v) for k, v in fields.items()}}


# ------------------------------------------------------------------------------------------
# finding layers in a delivery
@dataclass
class Source:
    """One layer of a delivery: a file (and a layer inside it) or a raster."""

    path: Path
    layer: str | None
    kind: str  # vector | raster
    label: str  # as shown: relative file name [and layer]

    @property
    def name(self) -> str:
        return self.layer or self.path.stem


def safe_extract(path: Path, into: Path) -> None:
    """Unpack a delivery zip: ``../``/absolute entries, links and zip bombs are refused, not skipped."""
    unpack_zip(path, into)


def _layers_in(path: Path, base: Path) -> list[Source]:
    rel = str(path.relative_to(base)) if path != base and base in path.parents else path.name
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL raises many types: all mean "cannot read this"
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnreadableInput(f"无法读取 {rel}：{msg}", f"cannot read {rel}: {msg}") from None
    if path.suffix.lower() in (".gpkg", ".gdb") or len(names) > 1:
        return [Source(path, n, "vector", f"{rel}:{n}") for n in names]
    return [Source(path, None, "vector", rel)]


def find_sources(folder: Path, base: Path | None = None) -> list[Source]:
    """Every vector layer (shapefiles, GeoPackage layers, GeoJSON, file geodatabase layers) and
    raster under ``folder``, recursively, in a stable order."""
    base = base or folder
    out: list[Source] = []
    for p in sorted(folder.rglob("*")):
        if p.name.startswith(("._", ".")) or "__MACOSX" in p.parts or any(q.suffix.lower() == ".gdb" for q in
                                                                          p.parents if base in q.parents):
            continue
        suffix = p.suffix.lower()
        if p.is_dir() and suffix == ".gdb":
            out += _layers_in(p, base)
        elif p.is_file() and suffix in VECTOR_SUFFIXES:
            try:
                out += _layers_in(p, base)
            except UnreadableInput:
                if suffix != ".json":  # a .json beside the layers is often metadata, not a layer
                    raise
        elif p.is_file() and suffix in RASTER_SUFFIXES:
            out.append(Source(p, None, "raster", str(p.relative_to(base))))
    return out


def open_delivery(src: Path, stack: ExitStack) -> list[Source]:
    src = Path(src)
    if not src.exists():
        raise UnreadableInput(f"成果数据不存在：{src}", f"delivery not found: {src}")
    suffix = src.suffix.lower()
    if src.is_file() and suffix == ".zip":
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="zoning-import-")))
        safe_extract(src, tmp)
        found = find_sources(tmp)
    elif src.is_dir() and suffix == ".gdb":
        found = _layers_in(src, src.parent)
    elif src.is_dir():
        found = find_sources(src)
    elif suffix in VECTOR_SUFFIXES:
        found = _layers_in(src, src.parent)
    else:
        raise UnreadableInput(f"{src.name} 不是文件夹、zip、文件地理数据库（.gdb）或 GeoPackage",
                              f"{src.name} is not a folder, .zip, file geodatabase (.gdb) or GeoPackage")
    if not found:
        raise UnreadableInput(f"{src.name} 中没有找到图层（.shp/.gpkg/.geojson/.gdb）",
                              f"no layers found in {src.name} (.shp/.gpkg/.geojson/.gdb)")
    return found


# ------------------------------------------------------------------------------------------
# reading and normalising one layer
def _read(source: Source) -> tuple[gpd.GeoDataFrame, list[str]]:
    notes: list[str] = []
    if source.path.suffix.lower() == ".shp":
        dbf = source.path.with_suffix(".dbf")
        codec, how = shapefile_encoding(source.path)
        if "detected" in how:
            notes.append(f"{source.label}: 属性编码推断为 {codec}（无 .cpg）/ attribute encoding guessed as {codec} "
                         f"({how})")
        if dbf.exists() and codec == "utf-8" and tables.dbf_needs_repair(dbf):
            with tempfile.TemporaryDirectory(prefix="zoning-shp-") as tmp:
                copy = tables.copy_shapefile(source.path, Path(tmp))
                tables.repair_dbf_field_names(copy.with_suffix(".dbf"))
                return read_vector(copy, encoding=codec), notes
        return read_vector(source.path, encoding=codec), notes
    return read_vector(source.path, layer=source.layer), notes


def _guess_crs(gdf: gpd.GeoDataFrame, label: str) -> tuple[CRS, str]:
    """The CRS of a layer without one, from its coordinate ranges, or a refusal with a hint."""
    b = gdf.total_bounds
    if not np.all(np.isfinite(b)):
        raise CRSProblem(f"{label} 没有坐标系（缺 .prj）且没有可用坐标", f"{label} has no CRS (no .prj) and no coordinates")
    if CHINA_LON[0] <= b[0] and b[2] <= CHINA_LON[1] and CHINA_LAT[0] <= b[1] and b[3] <= CHINA_LAT[1]:
        return CRS.from_epsg(STORAGE_EPSG), "EPSG:4490（坐标为经纬度 / coordinates are degrees）"
    zones = {int(np.floor(b[0] / 1e6)), int(np.floor(b[2] / 1e6))}
    if len(zones) == 1 and zones <= set(GK_ZONE_PREFIX_EPSG) and 1e6 < b[1] < 1e7:
        epsg = GK_ZONE_PREFIX_EPSG[zones.pop()]
        return CRS.from_epsg(epsg), f"EPSG:{epsg}（东坐标带号 / from the zone prefix of the eastings）"
    raise CRSProblem(f"{label} 没有坐标系（缺 .prj），且坐标值无法判断坐标系；请补 .prj 或在映射文件中写 crs:",
                     f"{label} has no CRS (no .prj) and its coordinates do not identify one; add the .prj or give "
                     f"'crs:' for it in a mapping file (--mapping)")


def _clean_text(value) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value)
    if re.search(r"[\u4e00-\u9fff]", text):
        return re.sub(r"\s+", "", text)  # Chinese text: line breaks and stray spaces carry nothing
    return re.sub(r"\s+", " ", text).strip()


def _clean_code(value) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", "", str(value))


_TRUE = {"是", "1", "true", "yes", "y", "t", "化工园区"}
_FALSE = {"否", "0", "false", "no", "n", "f", ""}


def _flag(value) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = key(value)
    return True if text in _TRUE else False if text in _FALSE else None


@dataclass
class ImportedLayer:
    source: str
    role: str
    name: str
    fields: dict[str, str]  # stored column -> canonical
    original_crs: str
    features: int
    how: str  # "fields" | "name" | "mapping"
    frame: gpd.GeoDataFrame | None = None
    path: Path | None = None  # the raster's source file
    synthetic: bool = False  # known to be synthetic (a raster's own metadata says so)
    unused: list[str] = field(default_factory=list)

    def as_record(self) -> dict:
        return {"source": self.source, "role": self.role, "name": self.name, "fields": self.fields,
                "original_crs": self.original_crs, "features": self.features, "recognised_by": self.how,
                "unused_fields": self.unused}


@dataclass
class ImportReport:
    """What ``zoning layers import`` did: layers placed, guesses, what could not be placed."""

    src: str
    out_dir: Path | None = None
    catalog: Path | None = None
    clauses: Path | None = None
    layers: list[ImportedLayer] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    clause_count: int = 0
    clause_version: str = ""
    findings: list = field(default_factory=list)

    @property
    def failed_checks(self) -> list:
        return [f for f in self.findings if not f.ok]

    def as_dict(self) -> dict:
        return {"src": self.src, "out_dir": str(self.out_dir) if self.out_dir else None,
                "catalog": str(self.catalog) if self.catalog else None,
                "clauses": str(self.clauses) if self.clauses else None,
                "layers": [lay.as_record() for lay in self.layers], "guessed": self.guessed,
                "unplaced": self.unplaced, "notes": self.notes, "clause_count": self.clause_count,
                "clause_version": self.clause_version,
                "checks": [f.as_record() for f in self.findings]}

    def lines(self, lang: str = "zh") -> list[str]:
        en = lang == "en"
        out = [("Recognised:" if en else "已识别 / recognised:")]
        for lay in self.layers:
            role = ROLES[lay.role].en if en else ROLES[lay.role].zh
            what = f"{lay.features} features" if lay.frame is not None else "raster"
            out.append(f"  {lay.source} -> {lay.role} ({role}), {what}, CRS {lay.original_crs}")
            for src, canon in lay.fields.items():
                out.append(f"      {src} -> {canon}")
            if lay.unused:
                out.append(("      not used: " if en else "      未使用字段 / not used: ") + ", ".join(lay.unused))
        if self.clause_count:
            out.append(f"  clauses.yaml: {self.clause_count} clauses, version {self.clause_version}")
        if self.guessed:
            out.append("Guessed:" if en else "推断 / guessed:")
            out += [f"  {g}" for g in self.guessed]
        if self.unplaced:
            out.append("Not placed:" if en else "未能识别 / not placed:")
            out += [f"  {u}" for u in self.unplaced]
            out.append(f"  {HINT[1] if en else HINT[0] + ' / ' + HINT[1]}")
        out += [f"  {n}" for n in self.notes]
        return out


def _county_from_code(code) -> str | None:
    m = re.match(r"^ZH(\d{6})", str(code or ""))
    return m.group(1) if m else None


def import_layer(source: Source, mapping: dict, report: ImportReport) -> ImportedLayer | None:
    """Read, recognise and normalise one vector layer; None when it cannot be placed."""
    spec = mapping["layers"].get(key(source.name)) or mapping["layers"].get(key(source.label)) or {}
    if spec.get("skip"):
        report.notes.append(f"{source.label}: 按映射文件跳过 / skipped as the mapping file says")
        return None
    gdf, notes = _read(source)
    report.guessed += notes
    gdf = gdf.rename(columns={c: re.sub(r"\s+", "", str(c)) for c in gdf.columns if c != "geometry"})
    columns = [c for c in gdf.columns if c != "geometry"]
    role, how = spec.get("role"), "mapping"
    if role is None:
        role, how = role_by_fields(columns), "fields"
    if role is None:
        role, how = role_by_name(source.label), "name"
        if role is not None:
            report.guessed.append(f"{source.label} -> {role}（按图层名 / by its layer name）")
    if role is None or ROLES[role].kind != "vector":
        report.unplaced.append(f"{source.label}: 无法判断图层角色 / cannot tell the layer's role "
                               f"(fields: {', '.join(columns[:12])})")
        return None
    found, cut_notes = match_fields(columns, role)
    report.guessed += [f"{source.label}: {n}" for n in cut_notes]
    forced = {**{k: v for k, v in mapping["fields"].items() if k in columns},
              **{k: v for k, v in spec.get("fields", {}).items()}}
    for src, canon in forced.items():
        if src not in gdf.columns:
            raise UnreadableInput(f"映射文件：{source.label} 没有字段 {src}", f"mapping file: {source.label} has no "
                                  f"field {src} (fields: {', '.join(columns)})")
        found = {k: v for k, v in found.items() if v != canon and k != src}
        found[src] = canon
    # normalise values
    canon_of = dict(found)
    col = {v: k for k, v in canon_of.items()}
    for c in columns:
        if canon_of.get(c) in LIST_FIELDS:
            continue  # requirement texts: split into clauses later, their spaces kept
        if gdf[c].dtype == object or pd.api.types.is_string_dtype(gdf[c].dtype):
            gdf[c] = gdf[c].map(_clean_code if canon_of.get(c) in ("code", "id", "county_code") else _clean_text)
    if role == "control_unit" and "class" in col:
        raw = gdf[col["class"]]
        gdf[col["class"]] = raw.map(unit_class_of)
        unknown = sorted({str(v) for v, c in zip(raw, gdf[col["class"]]) if c is None})
        if unknown:
            report.unplaced.append(f"{source.label}: 无法识别的单元分类 / unknown unit classes {unknown[:5]}")
    if role == "park" and "chemical" in col:
        gdf[col["chemical"]] = gdf[col["chemical"]].map(_flag)
    if role in ("control_unit", "admin", "water_zone", "air_zone", "eco_zone") and "code" in col:
        gdf[col["code"]] = gdf[col["code"]].map(_clean_code)
    if role == "control_unit" and "county_code" not in col and "code" in col:
        derived = gdf[col["code"]].map(_county_from_code)
        area_col = col.get("county_name")
        if derived.isna().any() and area_col is not None and gdf[area_col].astype(str).str.fullmatch(r"\d{6}").all():
            derived = gdf[area_col].astype(str)
        if derived.notna().all():
            gdf["county_code"] = derived
            report.guessed.append(f"{source.label}: county_code <- {col['code']}（单元编码第 3-8 位 / digits 3-8 of the "
                                  f"unit code）")
    if role == "control_unit" and "county_name" in col:
        names = gdf[col["county_name"]].astype(str)
        if names.str.fullmatch(r"\d{6}").all() and "county_code" not in col and "county_code" not in gdf.columns:
            gdf["county_code"] = names
    _fill_missing(gdf, role, canon_of, source, report)
    missing = [f for f in ROLES[role].fields if f not in canon_of.values() and f not in gdf.columns]
    if missing:
        report.unplaced.append(f"{source.label} ({role}): 缺少字段 / fields not found {missing} "
                               f"(fields: {', '.join(columns[:15])})")
        return None
    # CRS
    crs_text = spec.get("crs")
    if crs_text is not None:
        gdf = gdf.set_crs(parse_crs(crs_text), allow_override=True)
        original = crs_label(gdf.crs)
    elif gdf.crs is None:
        crs, why = _guess_crs(gdf, source.label)
        gdf = gdf.set_crs(crs)
        original = crs_label(crs)
        report.guessed.append(f"{source.label}: 无 .prj，坐标系推断为 / no .prj, CRS guessed as {why}")
    else:
        original = crs_label(gdf.crs)
    gdf = gdf.to_crs(STORAGE_EPSG)
    gdf["geometry"] = shapely.force_2d(gdf.geometry.values)
    gdf, repaired, worst = repair_polygons(gdf)
    if repaired:
        report.notes.append(f"{source.label}: {repaired} 个要素转换到 EPSG:4490 后无效，已修复（面积最大变化 {worst:.1e}）/ "
                            f"{repaired} features invalid in EPSG:4490 were made valid (largest area change "
                            f"{worst:.1e})")
    unused = [c for c in columns if c not in canon_of]
    keep = [c for c in columns if c not in ("Shape_Length", "Shape_Area", "SHAPE_Leng", "SHAPE_Area")]
    added = [c for c in gdf.columns if c not in columns and c != "geometry"]  # derived canonical fields
    gdf = gdf[keep + added + ["geometry"]]
    return ImportedLayer(source.label, role, source.name, canon_of, original, len(gdf), how, frame=gdf,
                         unused=[u for u in unused if key(u) not in ("shape_length", "shape_area", "shape_leng")])


#: a repair (make_valid) that changes a feature's area by more than this share is not made
MAX_REPAIR_SHARE = 0.01


def _polygonal(geom):
    if geom is None or geom.is_empty or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom


def repair_polygons(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int, float]:
    """Make invalid polygons valid (their polygonal part) where that changes the area by at most
    :data:`MAX_REPAIR_SHARE`; others stay as they are (``layers check`` names them). Reprojecting
    a hair-thin sliver can make a valid polygon invalid. Returns the frame, the number repaired
    and the largest relative area change."""
    geoms = gdf.geometry.values
    bad = np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_missing(geoms))
    if bad.size == 0:
        return gdf, 0, 0.0
    out = np.array(geoms, dtype=object)
    worst, n = 0.0, 0
    for i in bad:
        fixed = _polygonal(shapely.make_valid(geoms[i]))
        before = abs(shapely.area(shapely.make_valid(geoms[i]))) or 1.0
        share = abs(fixed.area - geoms[i].area) / max(abs(geoms[i].area), before)
        if fixed.geom_type in ("Polygon", "MultiPolygon") and share <= MAX_REPAIR_SHARE:
            out[i], worst, n = fixed, max(worst, share), n + 1
    gdf = gdf.copy()
    gdf["geometry"] = gpd.GeoSeries(list(out), crs=gdf.crs, index=gdf.index)
    return gdf, n, worst


def _fill_missing(gdf: gpd.GeoDataFrame, role: str, canon_of: dict[str, str], source: Source,
                  report: ImportReport) -> None:
    """Fields a role needs that a delivery often leaves out, filled where they can be told from
    the layer itself, each reported as a guess: ids numbered by row, a protected area's kind from
    the layer name, a park's chemical flag from its name, a red line's type left unspecified."""
    have = set(canon_of.values()) | set(gdf.columns)
    col = {v: k for k, v in canon_of.items()}

    def guess(fld: str, values, why: str) -> None:
        gdf[fld] = values
        report.guessed.append(f"{source.label}: {fld} <- {why}")

    if "id" in ROLES[role].fields and "id" not in have:
        base = gdf[col["code"]].astype(str) if "code" in col else None
        guess("id", base if base is not None else [f"{source.name}-{i}" for i in range(1, len(gdf) + 1)],
              "编码或行号 / the code, else the row number")
    if role == "protected" and "kind" not in have:
        kinds = [k for k in (*NATURE_AREA_KINDS, *WATER_SOURCE_KINDS) if k in key(source.label)]
        if not kinds and "水源" in source.label:
            kinds = list(WATER_SOURCE_KINDS)
        if len(kinds) == 1:
            guess("kind", kinds[0], f"图层名 / the layer name ({kinds[0]})")
    if role == "park" and "chemical" not in have and "name" in col:
        guess("chemical", gdf[col["name"]].astype(str).str.contains("化工"), "名称含“化工” / name contains 化工")
    if role == "red_line" and "type" not in have:
        guess("type", "", "未注明 / not given")


def _ids(layer: ImportedLayer) -> tuple:
    col = {v: k for k, v in layer.fields.items()}
    name = col.get("code") or col.get("id") or ("id" if "id" in layer.frame.columns else None)
    return tuple(sorted(layer.frame[name].astype(str))) if name else ()


def _same_layer(a: ImportedLayer, b: ImportedLayer) -> bool:
    """The same layer delivered twice (same role, features and codes)."""
    if a.frame is None or b.frame is None or a.role != b.role or a.features != b.features:
        return False
    ids = _ids(a)
    return bool(ids) and ids == _ids(b)


def derive_admin(units: ImportedLayer) -> ImportedLayer:
    """County boundaries by dissolving the control units by county (when a delivery has none)."""
    gdf = units.frame
    col = {v: k for k, v in units.fields.items()}
    cc = col.get("county_code", "county_code")
    names = gdf[col["county_name"]] if "county_name" in col else gdf[cc]
    frame = gpd.GeoDataFrame({"code": gdf[cc].astype(str), "name": names.astype(str)}, geometry=gdf.geometry.values,
                             crs=gdf.crs)
    parts = []
    for code, group in frame.groupby("code", sort=True):
        parts.append({"code": code, "name": group["name"].iloc[0],
                      "geometry": shapely.make_valid(shapely.union_all(shapely.make_valid(group.geometry.values)))})
    out = gpd.GeoDataFrame(parts, geometry="geometry", crs=gdf.crs)
    return ImportedLayer(f"{units.source} (dissolved by AREA)", "admin", "admin", {}, units.original_crs, len(out),
                         "derived", frame=out)


# ------------------------------------------------------------------------------------------
# clauses: the units' four texts and the list table
def unit_clauses(units: ImportedLayer, split: Callable[[str], list[str]]) -> list[dict]:
    gdf = units.frame
    col = {v: k for k, v in units.fields.items()}
    out = []
    for _, row in gdf.sort_values(col["code"]).iterrows():
        for dim, fname in zip(DIMENSIONS, LIST_FIELDS):
            if fname not in col:
                continue
            value = row[col[fname]]
            blank = value is None or (not isinstance(value, str) and pd.isna(value))
            for n, text in enumerate(split("" if blank else str(value)), 1):
                out.append({"tier": CLAUSE_TIERS[3], "unit_code": str(row[col["code"]]), "dimension": dim,
                            "number": str(n), "text": text})
    return out


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        try:
            raw = pd.read_excel(path, dtype=str, header=None)
        except Exception as exc:
            raise UnreadableInput(f"无法读取清单表 {path.name}：{exc}", f"cannot read the list table {path.name}: {exc}") \
                from None
    else:
        from io import StringIO

        text = read_text(path, "清单表", "list table", max_bytes=50 * 1024 ** 2)
        try:
            raw = pd.read_csv(StringIO(text), dtype=str, header=None, sep=None, engine="python")
        except Exception as exc:
            raise UnreadableInput(f"无法读取清单表 {path.name}：{exc}", f"cannot read the list table {path.name}: {exc}") \
                from None
    raw = raw.fillna("")
    heads = {k: {key(n) for n in names} for k, names in conventions()["list_headers"].items()}
    dims = _word_table(conventions()["dimension_words"], DIMENSIONS)
    for i in range(min(20, len(raw))):
        cells = [key(v) for v in raw.iloc[i].tolist()]
        named = sum(1 for c in cells if any(c in h for h in heads.values()) or c in dims)
        if named >= 2:
            body = raw.iloc[i + 1:].reset_index(drop=True)
            body.columns = [str(v).strip() for v in raw.iloc[i].tolist()]
            return body[body.apply(lambda r: any(str(v).strip() for v in r), axis=1)]
    raise UnreadableInput(f"清单表 {path.name} 没有可识别的表头（需要 范围/层级/维度/条款内容 等列）",
                          f"list table {path.name} has no header naming its columns (scope, tier, dimension, text …)")


def list_clauses(path: Path, *, counties: dict[str, str], unit_codes: set[str],
                 split: Callable[[str], list[str]]) -> tuple[list[dict], list[str]]:
    """Clauses from a list table (one row per clause, or one column per dimension). Returns the
    clauses and notes. ``counties``: county name -> code (scope by county name)."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableInput(f"清单表不存在：{path}", f"list table not found: {path}")
    body = _read_table(path)
    heads = conventions()["list_headers"]
    col = {}
    for canon, names in heads.items():
        for c in body.columns:
            if key(c) in {key(n) for n in names} and c not in col.values():
                col[canon] = c
                break
    dim_cols = {c: dimension_of(c) for c in body.columns if dimension_of(c) and c not in col.values()}
    if "text" not in col and not dim_cols:
        raise UnreadableInput(f"清单表 {path.name} 没有条款内容列（条款内容/text）或四个维度列",
                              f"list table {path.name} has neither a clause text column nor one column per dimension")
    if "text" in col and "dimension" not in col:
        raise UnreadableInput(f"清单表 {path.name} 缺少维度列（维度/dimension）", f"list table {path.name} has no "
                              f"dimension column")
    by_name = {key(k): v for k, v in counties.items()}
    out, notes = [], []
    numbers: dict[tuple, int] = {}
    for i, row in body.iterrows():
        where = f"{path.name} 第 {i + 2} 行 / row {i + 2}"
        scope = re.sub(r"\s+", "", str(row.get(col.get("scope"), "") if "scope" in col else ""))
        tier = tier_of(row[col["tier"]]) if "tier" in col and str(row[col["tier"]]).strip() else None
        entry: dict = {}
        cls = unit_class_of(row[col["unit_class"]]) if "unit_class" in col else None
        scope_cls = unit_class_of(scope) if scope and not re.match(r"^ZH\d", scope) else None
        if cls or (scope_cls and tier_of(scope) is None and key(scope) not in by_name):
            entry["unit_class"] = cls or scope_cls
        if re.fullmatch(r"ZH\d{6}[123]\d{4}", scope):
            tier, entry["unit_code"] = CLAUSE_TIERS[3], scope
            if scope not in unit_codes:
                notes.append(f"{where}: 单元 {scope} 不在管控单元图层中 / unit {scope} is not in the unit layer")
        elif re.fullmatch(r"\d{6}", scope) or key(scope) in by_name:
            tier, entry["county_code"] = CLAUSE_TIERS[2], scope if scope.isdigit() else by_name[key(scope)]
        elif tier is None and scope:
            tier = tier_of(scope) or (CLAUSE_TIERS[0] if scope.endswith("省") else CLAUSE_TIERS[1]
                                      if scope.endswith("市") else None)
        if tier is None:
            raise UnreadableInput(f"{where}：无法判断层级（省级/市级/县级/单元）", f"{where}: cannot tell the tier "
                                  f"(province/city/county/unit)")
        if tier == CLAUSE_TIERS[2] and "county_code" not in entry:
            raise UnreadableInput(f"{where}：县级条款需要区县代码或名称（范围列）", f"{where}: a county clause needs the "
                                  f"county code or name in the scope column")
        if tier == CLAUSE_TIERS[3] and "unit_code" not in entry:
            raise UnreadableInput(f"{where}：单元条款需要单元编码（范围列）", f"{where}: a unit clause needs the unit "
                                  f"code in the scope column")
        rule = str(row[col["rule"]]).strip() if "rule" in col else ""
        if "text" in col:
            dim = dimension_of(row[col["dimension"]])
            if dim is None:
                raise UnreadableInput(f"{where}：未知维度 {row[col['dimension']]!r}", f"{where}: unknown dimension "
                                      f"{row[col['dimension']]!r}; use one of {', '.join(DIMENSIONS)}")
            text = re.sub(r"\s*\n\s*", "", str(row[col["text"]])).strip()
            texts = [(dim, text)] if text else []
        else:
            texts = [(d, t) for c, d in dim_cols.items() for t in split(str(row[c]))]
        for dim, text in texts:
            if not text:
                continue
            k = (tier, entry.get("unit_class"), entry.get("unit_code"), entry.get("county_code"), dim)
            numbers[k] = numbers.get(k, 0) + 1
            number = str(row[col["number"]]).strip() if "number" in col and "text" in col and \
                str(row[col["number"]]).strip() else str(numbers[k])
            out.append({"tier": tier, **entry, "dimension": dim, "number": number, "text": text,
                        **({"rule": rule} if rule else {})})
    return out, notes


def merge_clauses(units: list[dict], listed: list[dict]) -> list[dict]:
    """Unit clauses from the layer plus the list's; a list row repeating a unit clause (same
    unit, dimension and text) gives it its rule instead of a second copy."""
    index = {(c["unit_code"], c["dimension"], c["text"]): c for c in units}
    out = list(units)
    # a list row for a unit continues that unit's numbering in its dimension (never a second "1")
    last: dict[tuple, int] = {}
    for c in units:
        k = (c["unit_code"], c["dimension"])
        last[k] = max(last.get(k, 0), int(c["number"]) if str(c["number"]).isdigit() else 0)
    for c in listed:
        same = index.get((c.get("unit_code"), c["dimension"], c["text"])) if c.get("unit_code") else None
        if same is not None:
            if c.get("rule"):
                same["rule"] = c["rule"]
            continue
        if c.get("unit_code"):
            k = (c["unit_code"], c["dimension"])
            taken = {str(u["number"]) for u in out if u.get("unit_code") == c["unit_code"]
                     and u["dimension"] == c["dimension"] and u["tier"] == c["tier"]}
            if str(c["number"]) in taken:
                last[k] = last.get(k, 0) + 1
                c = {**c, "number": str(last[k])}
            elif str(c["number"]).isdigit():
                last[k] = max(last.get(k, 0), int(c["number"]))
        out.append(c)
    tier_at = {t: i for i, t in enumerate(CLAUSE_TIERS)}
    dim_at = {d: i for i, d in enumerate(DIMENSIONS)}
    out.sort(key=lambda c: (tier_at[c["tier"]], c.get("county_code") or "", c.get("unit_code") or "",
                            dim_at[c["dimension"]]))
    return out


def clause_document(clauses: list[dict], src_name: str, today: str | None = None) -> dict:
    body = yaml.safe_dump(clauses, allow_unicode=True, sort_keys=True)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:8]
    version = f"{today or date.today().isoformat()}-{digest}"
    return {"name": f"生态环境准入清单条款库（导入自 {src_name}）/ access-list clauses imported from {src_name}",
            "version": version, "synthetic": False, "clauses": clauses}


# ------------------------------------------------------------------------------------------
# the whole import
def import_delivery(src, out_dir, *, mapping=None, clause_list=None, rules=None, overwrite: bool = False,
                    split: Callable[[str], list[str]], default_rules: Path | None = None,
                    progress: Callable[[str], None] | None = None) -> ImportReport:
    """Import an official delivery into ``out_dir`` (see the module docstring). ``split`` splits a
    requirement text into its numbered clauses. Returns the :class:`ImportReport` (``findings``
    left empty: the caller runs ``layers check``)."""
    src = Path(src)
    report = ImportReport(src=str(src))
    maps = load_mapping(mapping)
    rules_path = Path(rules) if rules is not None else default_rules
    if rules_path is not None and not rules_path.is_file():
        raise UnreadableInput(f"规则包不存在：{rules_path}", f"rule pack not found: {rules_path}")
    with ExitStack() as stack:
        sources = open_delivery(src, stack)
        imported: list[ImportedLayer] = []
        for source in sources:
            if progress:
                progress(source.label)
            if source.kind == "raster":
                spec = maps["layers"].get(key(source.name)) or {}
                role = spec.get("role") if not spec.get("skip") else None
                role = role or (None if spec.get("skip") else role_by_name(source.label))
                if role is not None and ROLES[role].kind == "raster":
                    imported.append(ImportedLayer(source.label, role, source.name, {}, _raster_crs(source.path), 1,
                                                  "name", path=source.path))
                elif not spec.get("skip"):
                    report.unplaced.append(f"{source.label}: 无法判断栅格的角色 / cannot tell the raster's role")
                continue
            layer = import_layer(source, maps, report)
            if layer is None:
                continue
            twin = next((lay for lay in imported if _same_layer(lay, layer)), None)
            if twin is not None:  # a delivery often holds the same layer as shapefile and in a .gdb
                report.notes.append(f"{layer.source}: 与 {twin.source} 内容相同，已跳过 / same features as "
                                    f"{twin.source}; skipped")
                continue
            imported.append(layer)
        units = [lay for lay in imported if lay.role == "control_unit"]
        if not any(lay.role == "admin" for lay in imported) and units:
            imported.append(derive_admin(units[0]))
            report.guessed.append("admin: 成果中无行政区图层，由管控单元按区县（AREA）融合得到 / no county layer in the "
                                  "delivery: derived by dissolving the control units by county (AREA)")
        order = list(ROLES)
        imported.sort(key=lambda lay: order.index(lay.role))
        if not imported:
            raise UnreadableInput(f"{src.name} 中没有可识别的图层：" + "；".join(report.unplaced[:3]),
                                  f"nothing in {src.name} could be placed; {HINT[1]}")
        # clauses
        clauses: list[dict] = []
        if units:
            clauses = unit_clauses(units[0], split)
        if clause_list is not None:
            counties = {}
            codes: set[str] = set()
            if units:
                col = {v: k for k, v in units[0].fields.items()}
                frame = units[0].frame
                cc = col.get("county_code", "county_code")
                codes = set(frame[col["code"]].astype(str))
                if "county_name" in col and cc in frame.columns:
                    counties = dict(zip(frame[col["county_name"]].astype(str), frame[cc].astype(str)))
            listed, notes = list_clauses(Path(clause_list), counties=counties, unit_codes=codes, split=split)
            report.notes += notes
            clauses = merge_clauses(clauses, listed)
        with staged_folder(out_dir, overwrite=overwrite) as stage:
            report.out_dir = Path(out_dir)
            _write(stage, imported, clauses, report, rules_path, src)
    return report


def _raster_crs(path: Path) -> str:
    import rasterio

    try:
        with rasterio.open(path) as r:
            return crs_label(CRS.from_user_input(r.crs)) if r.crs else "none"
    except Exception as exc:  # noqa: BLE001 - any failure: unreadable raster
        raise UnreadableInput(f"无法读取栅格 {path.name}：{exc}", f"cannot read raster {path.name}: {exc}") from None


def _write(stage: Path, imported: list[ImportedLayer], clauses: list[dict], report: ImportReport,
           rules_path: Path | None, src: Path) -> None:
    (stage / "layers").mkdir()
    entries = []
    counts: dict[str, int] = {}
    stamp = date.today().isoformat()
    for lay in imported:
        counts[lay.role] = counts.get(lay.role, 0) + 1
        stem = lay.role if counts[lay.role] == 1 else f"{lay.role}_{counts[lay.role]}"
        entry = {"name": f"{ROLES[lay.role].zh}（{lay.name}）" if lay.how != "derived" else ROLES[lay.role].zh,
                 "role": lay.role}
        if lay.frame is not None:
            lay.frame.to_file(stage / "layers" / f"{stem}.gpkg", driver="GPKG", layer=stem, engine="pyogrio")
            entry.update({"path": f"layers/{stem}.gpkg", "layer": stem})
            if lay.fields:
                entry["fields"] = {k: v for k, v in lay.fields.items() if k != v}
        else:
            target = stage / "layers" / f"{stem}{lay.path.suffix.lower()}"
            shutil.copy2(lay.path, target)
            entry.update({"kind": "raster", "path": f"layers/{target.name}"})
            units, synthetic = _raster_tags(lay.path)
            if units:
                entry["units"] = units
            lay.synthetic = synthetic
        if lay.role in ("water_zone", "air_zone", "eco_zone", "park", "protected", "no_burn", "red_line"):
            entry["coverage"] = "admin"
        source = f"{src.name}: {lay.source}"
        if lay.how == "derived":
            source += "（由环境管控单元按区县融合 / derived by dissolving the control units by county）"
        entry.update({"original_crs": lay.original_crs, "vintage": f"imported {stamp}", "synthetic": lay.synthetic,
                      "source": source})
        entries.append(entry)
        report.layers.append(lay)
    doc = {"name": f"导入的三线一单成果 / imported official results: {src.name}", "layers": entries}
    if rules_path is not None:
        (stage / "rules").mkdir()
        shutil.copy2(rules_path, stage / "rules" / rules_path.name)
        doc["rules"] = f"rules/{rules_path.name}"
    if clauses:
        lib = clause_document(clauses, src.name)
        head = (f"# Access-list clause library imported by `zoning layers import` from {src.name}\n"
                f"# ({len(clauses)} clauses; version = import date + content hash)\n")
        (stage / "clauses.yaml").write_text(head + yaml.safe_dump(lib, allow_unicode=True, sort_keys=False, width=200),
                                            encoding="utf-8")
        doc["clauses"] = "clauses.yaml"
        report.clause_count, report.clause_version = len(clauses), lib["version"]
        report.clauses = Path(report.out_dir) / "clauses.yaml"
    head = (f"# Layer catalog written by `zoning layers import` from {src}\n"
            f"# fields: SOURCE field -> CANONICAL field; original_crs: the CRS the layer was delivered in\n")
    (stage / "catalog.yaml").write_text(head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=200),
                                        encoding="utf-8")
    report.catalog = Path(report.out_dir) / "catalog.yaml"


def _raster_tags(path: Path) -> tuple[str | None, bool]:
    """A raster's density units and whether it says it is synthetic (its own metadata)."""
    import rasterio

    with rasterio.open(path) as r:
        tags = r.tags()
        return tags.get("units") or r.tags(1).get("units") or None, str(tags.get("synthetic", "")).lower() == "true"


__all__ = ["ImportReport", "import_delivery", "load_mapping", "match_fields", "role_by_fields", "role_by_name",
           "safe_extract", "unit_class_of"]
