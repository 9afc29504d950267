"""The layer catalog: which file plays which role, with field mapping and provenance.

Code reads layers only through a catalog (YAML). Paths are relative to the catalog file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from zoning.geo.crs import STORAGE_EPSG, parse_crs
from zoning.vocabulary import ROLES, UNIT_CLASSES  # noqa: F401 (re-exported for checks)
from zoning.errors import CatalogError, InputFileNotFound, LayerError, ZoningError
from zoning.io.inputs import load_yaml, mapping_entries, path_exists, path_is_dir, read_text
from zoning.io.vector import read_vector

#: largest catalog file read (bytes); a real one is a few KB
MAX_CATALOG_BYTES = 5 * 1024 * 1024

_ENTRY_KEYS = {"name", "role", "kind", "path", "layer", "fields", "vintage", "synthetic", "source",
               "licence", "crs", "units", "pools", "encoding", "description", "coverage", "table",
               "original_crs"}
#: the ``coverage:`` of an entry that covers exactly its own features
COVERAGE_SELF = "self"
#: the default coverage of every layer: the area of the admin layer (the layer set's area)
COVERAGE_DEFAULT = "admin"


@dataclass
class LayerSpec:
    """One catalog entry."""

    name: str
    role: str
    kind: str
    path: Path
    layer: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # source field -> canonical field
    vintage: str = ""
    synthetic: bool = False
    source: str = ""
    licence: str = ""
    crs: str | None = None  # declared CRS for files that lack one
    units: str | None = None  # rasters: e.g. "t C/ha"
    pools: str | None = None
    encoding: str | None = None
    description: str = ""
    #: the area this layer is complete for: "admin" (default: the admin layer's area), "self"
    #: (its own features), or another layer's role or name. Outside it, the layer says nothing.
    coverage: str = COVERAGE_DEFAULT
    #: a PostGIS table ``schema.name`` (then ``source`` is its ``postgresql://`` URL and ``path`` unused)
    table: str | None = None
    #: the CRS the layer was delivered in before it was stored in EPSG:4490 (``zoning layers import``)
    original_crs: str | None = None

    @property
    def location(self) -> str:
        """Where the layer is read from: its file, or ``postgresql://user@host/db#schema.table``."""
        return f"{_safe_source(self.source)}#{self.table}" if self.table else str(self.path)

    @property
    def role_zh(self) -> str:
        return ROLES[self.role][0]

    def as_record(self) -> dict[str, Any]:
        return {
            "role": self.role, "role_zh": self.role_zh, "name": self.name, "kind": self.kind,
            "path": self.location, "layer": self.layer, "vintage": self.vintage,
            "synthetic": self.synthetic, "source": _safe_source(self.source), "licence": self.licence,
            "units": self.units, "pools": self.pools, "coverage": self.coverage,
        }


@dataclass
class Catalog:
    """A parsed catalog file."""

    path: Path
    name: str
    layers: list[LayerSpec]
    rule_pack: Path | None = None
    #: the access-list clause library (``clauses:``), versioned next to the catalog; None: none
    clauses: Path | None = None

    def by_role(self, role: str) -> list[LayerSpec]:
        return [spec for spec in self.layers if spec.role == role]

    def one(self, role: str) -> LayerSpec:
        specs = self.by_role(role)
        if not specs:
            raise CatalogError(f"目录 {self.path} 中没有 {role}（{ROLES[role][0]}）图层",
                               f"catalog {self.path} has no {role} layer")
        return specs[0]

    @property
    def synthetic(self) -> bool:
        return any(spec.synthetic for spec in self.layers)

    def missing_files(self) -> list[LayerSpec]:
        return [spec for spec in self.layers if not spec.table and not spec.path.exists()]


def default_catalog_path() -> Path:
    """``$ZONING_CATALOG``, else ``./layers/catalog.yaml``, else the one beside the package."""
    env = os.environ.get("ZONING_CATALOG")
    if env:
        return Path(env)
    here = Path.cwd() / "layers" / "catalog.yaml"
    if here.exists():
        return here
    return Path(__file__).resolve().parents[1] / "layers" / "catalog.yaml"


def _bad(path: Path, where: str, zh: str, en: str) -> CatalogError:
    return CatalogError(f"{path}：{where}：{zh}", f"{path}: {where}: {en}")


def _coverage_key(path: Path, where: str, value) -> str:
    if value is None or value == "":
        return COVERAGE_DEFAULT
    if not isinstance(value, str):
        raise _bad(path, where, "coverage 应为图层名、角色或 self", "'coverage' must be a layer name, a role or 'self'")
    return value.strip()


def _safe_source(source: str) -> str:
    from zoning.io.postgis import is_database_url, safe_url

    return safe_url(source) if is_database_url(source) else source


def _postgis_entry(path: Path, where: str, entry: dict) -> str | None:
    """``schema.name`` of a PostGIS entry (``source: postgresql://…`` + ``table:``), else None."""
    from zoning.io.postgis import is_database_url, split_table

    table, source = entry.get("table"), str(entry.get("source") or "")
    if not table and not is_database_url(source):
        return None
    if not table or not is_database_url(source):
        raise _bad(path, where, "PostGIS 图层需要 source: postgresql://… 和 table: 模式.表名",
                   "a PostGIS layer needs both 'source: postgresql://…' and 'table: schema.name'")
    if entry.get("path"):
        raise _bad(path, where, "PostGIS 图层不用 path", "a PostGIS layer takes 'source' and 'table', not 'path'")
    if (entry.get("kind") or "vector") != "vector":
        raise _bad(path, where, "PostGIS 只支持矢量图层", "PostGIS layers must be vector layers")
    try:
        schema, name = split_table(str(table))
    except CatalogError as exc:
        raise _bad(path, where, exc.zh, exc.en) from None
    return f"{schema}.{name}"


def read_source(spec: LayerSpec, *, engine: str = "pyogrio") -> gpd.GeoDataFrame:
    """The raw features of a vector entry: its file, or its PostGIS table."""
    if spec.table:
        from zoning.io.postgis import read_postgis_table

        return read_postgis_table(spec.source, spec.table)
    return read_vector(spec.path, layer=spec.layer, engine=engine, encoding=spec.encoding)


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Parse and validate a catalog file (structure only; files are checked by ``check``).

    A folder holding ``catalog.yaml`` (what ``zoning layers import -o DIR`` writes) stands for it."""
    path = Path(path) if path is not None else default_catalog_path()
    if path_is_dir(path) and path_exists(path / "catalog.yaml"):
        path = path / "catalog.yaml"
    if not path_exists(path):
        raise InputFileNotFound(f"图层目录不存在：{path}（用 --catalog 指定，或先运行 zoning sample build）",
                                f"layer catalog not found: {path} (pass --catalog, or run zoning sample build)")
    # UTF-8 or GBK; bounded in size, nesting and alias expansion; one line for every failure
    doc = load_yaml(read_text(path, "图层目录", "layer catalog", error=CatalogError, max_bytes=MAX_CATALOG_BYTES),
                    path.name, error=CatalogError)
    base = path.parent
    specs: list[LayerSpec] = []
    names: set[str] = set()
    for i, where, entry in mapping_entries(doc, "layers", _ENTRY_KEYS, lambda w, zh, en: _bad(path, w, zh, en)):
        for key in sorted(_ENTRY_KEYS - {"fields", "synthetic"}, key=str):
            value = entry.get(key)
            if value is not None and (not isinstance(value, (str, int, float)) or isinstance(value, bool)
                                      or "\x00" in str(value)):
                raise _bad(path, where, f"{key} 应为文本", f"'{key}' must be text, not {value!r}")
        role = entry.get("role")
        if role not in ROLES:
            raise _bad(path, where, f"未知角色 {role!r}", f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        name = str(entry.get("name") or role)
        if name in names:
            raise _bad(path, where, f"图层名重复 {name!r}", f"duplicate layer name {name!r}")
        names.add(name)
        table = _postgis_entry(path, where, entry)
        if not table and not entry.get("path"):
            raise _bad(path, where, "缺少 path（或 PostGIS 的 source + table）",
                       "missing 'path' (or 'source: postgresql://…' and 'table: schema.name' for PostGIS)")
        src = str(entry.get("path") or table)
        if not table and ("://" in src or src.startswith("PG:")):
            raise _bad(path, where, "PostGIS 数据库图层请写 source: postgresql://… 与 table: 模式.表名，不用 path",
                       "for a PostGIS layer write 'source: postgresql://…' and 'table: schema.name' instead of path")
        fields = entry.get("fields") or {}
        if not isinstance(fields, dict) or any(isinstance(v, (dict, list)) for v in fields.values()):
            raise _bad(path, where, "fields 应为 源字段: 标准字段 映射", "'fields' must map source field -> canonical field")
        kind = entry.get("kind") or ROLES[role][1]
        if kind not in ("vector", "raster"):
            raise _bad(path, where, f"kind 应为 vector 或 raster", f"kind must be vector or raster, not {kind!r}")
        if entry.get("crs"):
            parse_crs(entry["crs"])  # validate early
        specs.append(LayerSpec(
            name=name, role=role, kind=kind, path=(base / src).resolve(),
            layer=str(entry["layer"]) if entry.get("layer") is not None else None,
            fields={str(k): str(v) for k, v in fields.items()}, vintage=str(entry.get("vintage") or ""),
            synthetic=bool(entry.get("synthetic", False)), source=str(entry.get("source") or ""),
            licence=str(entry.get("licence") or ""), crs=entry.get("crs"),
            units=str(entry["units"]) if entry.get("units") is not None else None,
            pools=str(entry["pools"]) if entry.get("pools") is not None else None,
            encoding=str(entry["encoding"]) if entry.get("encoding") is not None else None,
            description=str(entry.get("description") or ""),
            coverage=_coverage_key(path, where, entry.get("coverage")), table=table,
            original_crs=str(entry["original_crs"]) if entry.get("original_crs") is not None else None,
        ))
    for i, spec in enumerate(specs, 1):
        if spec.coverage not in (COVERAGE_SELF, COVERAGE_DEFAULT) and spec.coverage not in ROLES \
                and spec.coverage not in names:
            raise _bad(path, f"layers[{i}]", f"coverage {spec.coverage!r} 不是图层名、角色或 self",
                       f"coverage {spec.coverage!r} is neither a layer name, a role nor 'self'")
    rules = doc.get("rules")
    if rules is not None and (not isinstance(rules, str) or "\x00" in rules):
        raise _bad(path, "rules", "rules 应为规则包文件路径", f"'rules' must be the path of a rule pack, not {rules!r}")
    clauses = doc.get("clauses")
    if clauses is not None and (not isinstance(clauses, str) or "\x00" in clauses):
        raise _bad(path, "clauses", "clauses 应为条款库文件路径", f"'clauses' must be the path of a clause library, "
                   f"not {clauses!r}")
    return Catalog(path=path.resolve(), name=str(doc.get("name") or path.stem), layers=specs,
                   rule_pack=(base / rules).resolve() if rules else None,
                   clauses=(base / clauses).resolve() if clauses else None)


def load_layer(spec: LayerSpec, *, engine: str = "pyogrio") -> gpd.GeoDataFrame:
    """Read a vector layer, rename its fields to canonical names and return it in EPSG:4490.

    Raises :class:`LayerError` naming the layer and the problem.
    """
    if spec.kind != "vector":
        raise LayerError(f"图层 {spec.name} 是栅格，不能按矢量读取", f"layer {spec.name} is a raster, not a vector")
    try:
        gdf = read_source(spec, engine=engine)
    except ZoningError as exc:
        raise LayerError(f"图层 {spec.name}（{spec.role}）无法读取：{exc.zh}",
                         f"layer {spec.name} ({spec.role}) cannot be read: {exc.en}") from None
    gdf = gdf.rename(columns={k: v for k, v in spec.fields.items() if k in gdf.columns})
    missing = [f for f in ROLES[spec.role][2] if f not in gdf.columns]
    if missing:
        raise LayerError(
            f"图层 {spec.name} 缺少标准字段 {missing}；请在目录 fields 中映射源字段",
            f"layer {spec.name} lacks canonical fields {missing}; map them under 'fields' in the catalog "
            f"(source fields present: {[c for c in gdf.columns if c != 'geometry']})",
        )
    if gdf.crs is None:
        if not spec.crs:
            raise LayerError(f"图层 {spec.name} 没有坐标系（缺 .prj）；请在目录中用 crs: 声明",
                             f"layer {spec.name} has no CRS (missing .prj?); declare it with 'crs:' in the catalog")
        gdf = gdf.set_crs(parse_crs(spec.crs))
    if gdf.crs.to_epsg() != STORAGE_EPSG:
        gdf = gdf.to_crs(STORAGE_EPSG)
    return gdf
