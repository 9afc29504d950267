"""The layer catalog: which file plays which role, with field mapping and provenance.

Code reads layers only through a catalog (YAML). Paths are relative to the catalog file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import yaml

from zoning.geo.crs import STORAGE_EPSG, parse_crs
from zoning.vocabulary import ROLES, UNIT_CLASSES  # noqa: F401 (re-exported for checks)
from zoning.errors import CatalogError, InputFileNotFound, LayerError, ZoningError
from zoning.io.vector import read_vector

_ENTRY_KEYS = {"name", "role", "kind", "path", "layer", "fields", "vintage", "synthetic", "source",
               "licence", "crs", "units", "pools", "encoding", "description"}


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

    @property
    def role_zh(self) -> str:
        return ROLES[self.role][0]

    def as_record(self) -> dict[str, Any]:
        return {
            "role": self.role, "role_zh": self.role_zh, "name": self.name, "kind": self.kind,
            "path": str(self.path), "layer": self.layer, "vintage": self.vintage,
            "synthetic": self.synthetic, "source": self.source, "licence": self.licence,
            "units": self.units, "pools": self.pools,
        }


@dataclass
class Catalog:
    """A parsed catalog file."""

    path: Path
    name: str
    layers: list[LayerSpec]
    rule_pack: Path | None = None

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
        return [spec for spec in self.layers if not spec.path.exists()]


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


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Parse and validate a catalog file (structure only; files are checked by ``check``)."""
    path = Path(path) if path is not None else default_catalog_path()
    if not path.exists():
        raise InputFileNotFound(f"图层目录不存在：{path}（用 --catalog 指定，或先运行 zoning sample build）",
                                f"layer catalog not found: {path} (pass --catalog, or run zoning sample build)")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise _bad(path, where, "YAML 语法错误", f"YAML syntax error ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
        raise _bad(path, "top level", "需要包含 layers 列表", "expected a mapping with a 'layers' list")
    base = path.parent
    specs: list[LayerSpec] = []
    names: set[str] = set()
    for i, entry in enumerate(doc["layers"], 1):
        where = f"layers[{i}]"
        if not isinstance(entry, dict):
            raise _bad(path, where, "应为映射", "each layer must be a mapping")
        unknown = set(entry) - _ENTRY_KEYS
        if unknown:
            raise _bad(path, where, f"未知字段 {sorted(unknown)}", f"unknown keys {sorted(unknown)}; "
                       f"allowed: {', '.join(sorted(_ENTRY_KEYS))}")
        role = entry.get("role")
        if role not in ROLES:
            raise _bad(path, where, f"未知角色 {role!r}", f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        name = str(entry.get("name") or role)
        if name in names:
            raise _bad(path, where, f"图层名重复 {name!r}", f"duplicate layer name {name!r}")
        names.add(name)
        if not entry.get("path"):
            raise _bad(path, where, "缺少 path", "missing 'path'")
        src = str(entry["path"])
        if "://" in src or src.startswith("PG:"):
            raise _bad(path, where, "暂不支持数据库图层源（PostGIS），请先导出为 GeoPackage",
                       "database sources (PostGIS) are not supported yet; export the table to GeoPackage")
        fields = entry.get("fields") or {}
        if not isinstance(fields, dict):
            raise _bad(path, where, "fields 应为 源字段: 标准字段 映射", "'fields' must map source field -> canonical field")
        kind = entry.get("kind") or ROLES[role][1]
        if kind not in ("vector", "raster"):
            raise _bad(path, where, f"kind 应为 vector 或 raster", f"kind must be vector or raster, not {kind!r}")
        if entry.get("crs"):
            parse_crs(entry["crs"])  # validate early
        specs.append(LayerSpec(
            name=name, role=role, kind=kind, path=(base / src).resolve(), layer=entry.get("layer"),
            fields={str(k): str(v) for k, v in fields.items()}, vintage=str(entry.get("vintage") or ""),
            synthetic=bool(entry.get("synthetic", False)), source=str(entry.get("source") or ""),
            licence=str(entry.get("licence") or ""), crs=entry.get("crs"), units=entry.get("units"),
            pools=entry.get("pools"), encoding=entry.get("encoding"),
            description=str(entry.get("description") or ""),
        ))
    rules = doc.get("rules")
    return Catalog(path=path.resolve(), name=str(doc.get("name") or path.stem), layers=specs,
                   rule_pack=(base / rules).resolve() if rules else None)


def load_layer(spec: LayerSpec, *, engine: str = "pyogrio") -> gpd.GeoDataFrame:
    """Read a vector layer, rename its fields to canonical names and return it in EPSG:4490.

    Raises :class:`LayerError` naming the layer and the problem.
    """
    if spec.kind != "vector":
        raise LayerError(f"图层 {spec.name} 是栅格，不能按矢量读取", f"layer {spec.name} is a raster, not a vector")
    try:
        gdf = read_vector(spec.path, layer=spec.layer, engine=engine, encoding=spec.encoding)
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
