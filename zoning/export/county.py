"""County exports for ArcGIS / QGIS users: shapefiles that open cleanly, plus GPKG, GeoJSON,
KML and CSV, a bilingual data dictionary and a manifest with checksums.

Shapefile conventions: a ``.cpg`` always (``UTF-8``, or ``936`` for GBK), an ESRI ``.prj``
naming the CGCS2000 CRS, ASCII field names of at most 10 bytes from a fixed mapping, string
widths measured in bytes of the target encoding (never truncated; values over 254 bytes move to
the GeoPackage), one geometry type per file, each layer zipped as ``<county>_<layer>.zip``.
Everything is built in a temporary folder and renamed into place: a failed export leaves
nothing half-written.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Proj

from zoning.vocabulary import role_name
from zoning.escape import csv_frame, xlsx_frame
from zoning.io.atomic import check_folder_writable, ensure_folder, staged_folder
from zoning.errors import OutputExists, OutputProblem, ZoningError, ExportError
from zoning.io.layerset import LayerSet
from zoning.geo.crs import STORAGE_EPSG, densify, gk_epsg_for_lon, project
from zoning.geo.measure import ellipsoidal_areas

FORMATS = ("shp", "gpkg", "geojson", "kml", "csv")
EXPORT_ROLES = ("admin", "red_line", "control_unit", "park", "protected", "no_burn", "program")
SHP_MAX_BYTES = 254
SHP_MAX_FIELDS = 255
SHP_MAX_FILE = 2 * 1024 ** 3
MIN_PIECE_HA = 1e-4  # 1 m²
#: canonical field -> (shapefile field, 中文名, meaning, unit)
FIELD_MAP = {
    "id": ("FEAT_ID", "要素编号", "feature id", ""),
    "code": ("ZONE_CODE", "编码", "zone or unit code (环境管控单元编码 ZH…, 行政区划代码)", ""),
    "name": ("ZONE_NAME", "名称", "name", ""),
    "class": ("ZONE_CLS", "管控类别", "control-unit class 优先保护/重点管控/一般管控", ""),
    "type": ("RL_TYPE", "红线类型", "red-line type 水源涵养/生物多样性维护/水土保持", ""),
    "kind": ("PA_KIND", "保护地类型", "protected-area kind 国家公园/自然保护区/饮用水水源保护区", ""),
    "grade": ("PA_GRADE", "保护级别", "grade 国家级/省级/一级/二级", ""),
    "level": ("PARK_LVL", "园区级别", "park level 国家级/省级", ""),
    "industries": ("INDUSTRY", "主导产业", "leading industries", ""),
    "chemical": ("CHEM_PARK", "化工园区", "recognised chemical park (1 = yes)", ""),
    "county_code": ("CNTY_CODE", "区县代码", "county code (GB/T 2260)", ""),
    "county_name": ("CNTY_NAME", "区县名称", "county name", ""),
    "program": ("PROGRAM", "项目类型", "forest programme", ""),
    "area_ha": ("AREA_HA", "面积", "area after clipping to the county: planar in the output CRS when that CRS keeps "
                "the county's areas within 0.1 % (its own 3-degree Gauss-Kruger zone with --crs auto: the area "
                "official results use; UTM, equal-area CRSs), else ellipsoidal (EPSG:4490, Web Mercator, far "
                "zones); manifest.json area_ha says which", "ha"),
    "site_id": ("SITE_ID", "站点编号", "project site id", ""),
    "verdict": ("VERDICT", "结论", "screening verdict prohibited/conditional/needs_info/compliant", ""),
    "verdict_zh": ("VERDICT_ZH", "结论（中文）", "screening verdict in Chinese", ""),
    "county": ("COUNTY", "所在县区", "county of the site", ""),
    "unit_code": ("UNIT_CODE", "管控单元编码", "the control unit holding most of the site", ""),
    "unit_name": ("UNIT_NAME", "管控单元名称", "name of that control unit", ""),
    "unit_class": ("UNIT_CLS", "管控单元类别", "class of that control unit 优先保护/重点管控/一般管控", ""),
    "units": ("UNITS", "涉及管控单元", "every control unit the site touches, with class and share, largest first", ""),
    "red_line_m2": ("RED_M2", "占生态保护红线面积", "overlap with ecological red lines, in the site's Gauss-Kruger zone; "
                    "empty where the layers do not reach", "m²"),
    "geom_type": ("GEOM_TYPE", "几何类型", "geometry type of the site", ""),
    "area_m2": ("AREA_M2", "站点面积（椭球面）", "site area on the CGCS2000 ellipsoid (geodesic)", "m²"),
    "area_gk_m2": ("AREA_GK_M2", "站点面积（高斯平面）", "site area, planar in its 3-degree Gauss-Kruger zone (the area "
                   "land surveys and official results use)", "m²"),
    "length_m": ("LENGTH_M", "站点长度", "length of a line site (geodesic)", "m"),
    "restrictive_rules": ("RULES", "禁止/有条件规则", "rules that fired as prohibited or conditional", ""),
    "needs_info_rules": ("NEED_INFO", "需补充信息规则", "rules that need more information", ""),
    "crs_used": ("CRS_USED", "量算坐标系", "CRS the overlay was measured in", ""),
    "forest_ha": ("FOREST_HA", "森林面积", "forest area in the footprint", "ha"),
    "stock_tC": ("STOCK_TC", "碳储量", "forest carbon stock", "t C"),
    "stock_tCO2": ("STOCK_CO2", "碳储量（CO2）", "forest carbon stock as CO2 (× 44/12)", "t CO2"),
    "loss_tCO2": ("LOSS_CO2", "清除碳损失", "carbon lost if the footprint is cleared", "t CO2"),
    "carbon_status": ("C_STATUS", "碳储量状态", "carbon section status: ok (measured), outside (no raster data, not 0), "
                      "no_footprint (point or line), failed", ""),
    "mean_tC_ha": ("MEAN_TCHA", "平均碳密度", "mean carbon density of forest", "t C/ha"),
    "pixels": ("PIXELS", "像元数", "coverage-weighted count of valid pixels", ""),
    "flags": ("FLAGS", "提示", "carbon computation flags", ""),
    "error": ("ERROR", "错误", "why a site could not be screened", ""),
}
_SAFE = re.compile(r"[^0-9A-Za-z_\-]+")



def sanitize(text: str) -> str:
    """A file-name-safe token: ASCII letters, digits, _ and - only; never empty, no path parts."""
    token = re.sub(r"_+", "_", _SAFE.sub("_", str(text))).strip("._-")
    return token or "x"


@dataclass
class CountyTarget:
    code: str
    name: str
    name_en: str
    geometry: object  # EPSG:4490

    @property
    def stem(self) -> str:
        return sanitize(f"{self.code}_{self.name_en}")


def resolve_counties(admin: gpd.GeoDataFrame, county: str) -> list[CountyTarget]:
    """``all``, a 6-digit code, a Chinese name or an English name -> county targets."""
    en = admin["name_en"] if "name_en" in admin else admin["code"]
    rows = list(zip(admin["code"].astype(str), admin["name"].astype(str), en.astype(str), admin.geometry))
    if county.strip().lower() == "all":
        return [CountyTarget(*r) for r in rows]
    want = county.strip()
    hits = [r for r in rows if want in (r[0], r[1]) or want.lower() == r[2].lower()]
    if not hits:
        raise ExportError(f"未知县区 {county!r}；可选：{'、'.join(r[1] for r in rows)} 或 all",
                          f"unknown county {county!r}; use a code, a name ({', '.join(r[1] for r in rows)}) or all")
    return [CountyTarget(*hits[0])]


def resolve_roles(layers_opt: str, available: list[str]) -> list[str]:
    if layers_opt.strip().lower() == "all":
        return [r for r in EXPORT_ROLES if r in available]
    roles = [r.strip() for r in layers_opt.split(",") if r.strip()]
    unknown = [r for r in roles if r not in EXPORT_ROLES]
    if unknown:
        raise ExportError(f"未知图层 {unknown}；可选：{', '.join(EXPORT_ROLES)} 或 all",
                          f"unknown layer(s) {unknown}; choose from {', '.join(EXPORT_ROLES)} or all")
    missing = [r for r in roles if r not in available]
    if missing:
        raise ExportError(f"图层目录中没有 {missing}", f"the catalog has no {missing} layer (or it failed to load)")
    return roles


#: planar areas in an export CRS may differ from the ellipsoid by this much (relative) before
#: AREA_HA is computed on the ellipsoid instead
MAX_AREA_SCALE_ERROR = 0.001
AUTO_CRS = "auto"


def auto_crs(county: "CountyTarget") -> CRS:
    """The county's own 3-degree GK zone: EPSG:4548 west of 118°30'E, 4549 east (by its centroid)."""
    return CRS.from_epsg(gk_epsg_for_lon(county.geometry.centroid.x))


def _tm_zone(crs: CRS) -> tuple[float, float] | None:
    """(central meridian, half width in degrees) of a Transverse Mercator CRS, else None."""
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in (op.method_name or "").lower():
        return None
    cm = next((p.value for p in op.params if p.name == "Longitude of natural origin"), None)
    if cm is None:
        return None
    name = crs.name.lower()
    return float(cm), 1.5 if "3-degree" in name else 3.0


def area_mode(out_crs: CRS, county: "CountyTarget") -> tuple[str, float, list[str]]:
    """How AREA_HA is measured for ``county`` in ``out_crs``.

    Returns ("planar" | "ellipsoidal", the largest relative error of planar areas anywhere in
    the county (areal scale factor − 1 at its vertices, so every feature in it is within this),
    bilingual warnings). Planar only while that error is ≤ MAX_AREA_SCALE_ERROR (0.1 %).
    """
    if out_crs.is_geographic:
        return "ellipsoidal", 0.0, []
    xy = shapely.get_coordinates(densify([county.geometry], 0.05)[0])
    scale = np.asarray(Proj(out_crs).get_factors(xy[:, 0], xy[:, 1]).areal_scale, dtype="float64") - 1
    scale = scale[np.isfinite(scale)]
    error = float(scale[np.argmax(np.abs(scale))]) if len(scale) else float("inf")
    label = f"EPSG:{out_crs.to_epsg()}"
    warnings = []
    zone = _tm_zone(out_crs)
    lon = county.geometry.centroid.x
    if zone is not None and abs(lon - zone[0]) > zone[1]:
        own = gk_epsg_for_lon(lon)
        warnings.append(f"{county.name}（中心经度 {lon:.2f}°E）位于所选投影带 {label}（中央经线 {zone[0]:g}°E，"
                        f"{zone[0] - zone[1]:g}-{zone[0] + zone[1]:g}°E）以外，平面面积偏差最大 {error:+.2%}；"
                        f"建议使用 --crs auto（本县为 EPSG:{own}） / {county.name_en} (centroid {lon:.2f}°E) lies "
                        f"outside the chosen zone {label} (central meridian {zone[0]:g}°E, {zone[0] - zone[1]:g}-"
                        f"{zone[0] + zone[1]:g}°E): planar areas are off by up to {error:+.2%}; use --crs auto "
                        f"(EPSG:{own} for this county)")
    if not abs(error) <= MAX_AREA_SCALE_ERROR:
        warnings.append(f"{label} 在{county.name}的面积变形最大 {error:+.2%}（> 0.1%），AREA_HA 按椭球面面积计算 / "
                        f"{label} distorts areas over {county.name_en} by up to {error:+.2%} (> 0.1 %): AREA_HA "
                        f"is the ellipsoidal (geodesic) area, not the planar area in this CRS")
        return "ellipsoidal", error, warnings
    return "planar", error, warnings


def _area_ha_note(out_crs: CRS, county: "CountyTarget", mode: str, error: float) -> str:
    """What AREA_HA is in this county's export (written to manifest.json)."""
    label = f"EPSG:{out_crs.to_epsg()}"
    if mode == "ellipsoidal":
        return "ellipsoidal (geodesic, CGCS2000 ellipsoid)" + (
            "" if out_crs.is_geographic else f"; planar areas in {label} would be off by up to {error:+.2%}")
    own = out_crs.to_epsg() == gk_epsg_for_lon(county.geometry.centroid.x)
    return (f"planar in {label} (within {abs(error):.3%} of the ellipsoidal area anywhere in this county)"
            + ("; the county's own 3-degree Gauss-Kruger zone: the area official results use" if own else ""))


def _output_crs(text: str | int) -> CRS | None:
    """The export CRS, or None for ``auto`` (each county in its own GK zone)."""
    if str(text).strip().lower() == AUTO_CRS:
        return None
    try:
        crs = CRS.from_user_input(f"EPSG:{text}" if str(text).isdigit() else text)
    except Exception:
        raise ExportError(f"无法识别的坐标系 {text!r}", f"unrecognised CRS {text!r}; e.g. 4490, 4548, 4549") from None
    if crs.to_epsg() is None:
        raise ExportError("导出坐标系需要 EPSG 代码", "the export CRS needs an EPSG code")
    return crs


def clip_to_county(frame: gpd.GeoDataFrame, county: CountyTarget, out_crs: CRS, *,
                   mode: str | None = None) -> gpd.GeoDataFrame:
    """Features of ``frame`` clipped to the county, in ``out_crs``, with ``area_ha`` recomputed:
    planar in ``out_crs`` or on the ellipsoid (``mode``, default :func:`area_mode`). Geometries
    are densified before they are projected, so their edges stay where they are stored."""
    mode = mode or area_mode(out_crs, county)[0]
    sub = frame[frame.intersects(county.geometry)].copy()
    if len(sub) == 0:
        return sub.assign(area_ha=pd.Series(dtype="float64")).to_crs(out_crs)
    clipped = shapely.intersection(sub.geometry.values, county.geometry)
    polys = [shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"])
             if g.geom_type == "GeometryCollection" else g for g in clipped]
    sub["geometry"] = polys
    sub = sub[~sub.geometry.is_empty & (shapely.area(sub.geometry.values) > 0)]
    ellipsoidal = ellipsoidal_areas(sub.geometry) / 1e4
    if not out_crs.is_geographic:
        sub = gpd.GeoDataFrame(sub.drop(columns="geometry"), geometry=project(sub.geometry.values, out_crs),
                               crs=out_crs)
    sub["area_ha"] = ellipsoidal if mode == "ellipsoidal" else sub.area.to_numpy() / 1e4
    # neighbours' features that share the county edge leave sub-m² slivers after clipping
    return sub[sub["area_ha"] >= MIN_PIECE_HA]


def _canonical_columns(frame: gpd.GeoDataFrame) -> list[str]:
    return [c for c in FIELD_MAP if c in frame.columns]


@dataclass
class WrittenFile:
    path: Path
    layer: str
    fmt: str
    features: int
    crs: str
    encoding: str | None
    notes: list[str] = field(default_factory=list)


def _byte_width(values: pd.Series, codec: str) -> int:
    widths = [len(str(v).encode(codec)) for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]
    return max(widths, default=1)


def write_shapefile(frame: gpd.GeoDataFrame, stem: Path, *, encoding: str) -> list[tuple[Path, str, list[str]]]:
    """Write ``frame`` as one shapefile per geometry kind; returns (shp path, kind, notes)."""
    import fiona
    from fiona.crs import CRS as FionaCRS

    codec = "gbk" if encoding == "gbk" else "utf-8"
    cols = _canonical_columns(frame)
    if len(cols) > SHP_MAX_FIELDS:
        raise ExportError(f"字段数 {len(cols)} 超过 shapefile 上限 255", f"{len(cols)} fields exceed the shapefile limit of 255")
    notes, schema_props, keep = [], {}, []
    for c in cols:
        series = frame[c]
        if c in ("area_ha", "area_m2", "area_gk_m2", "length_m", "forest_ha", "stock_tC", "stock_tCO2", "loss_tCO2",
                 "mean_tC_ha", "pixels", "red_line_m2"):
            schema_props[FIELD_MAP[c][0]] = "float:19.2" if c in ("area_m2", "area_gk_m2", "length_m") else "float:19.6"
        elif c == "chemical":
            schema_props[FIELD_MAP[c][0]] = "int:1"
        else:
            try:
                width = _byte_width(series, codec)
            except UnicodeEncodeError as exc:
                raise ExportError(f"字段 {c} 中有 GBK 无法表示的字符：{exc.object[exc.start:exc.end]!r}；请用 --encoding utf-8",
                                  f"field {c} has characters GBK cannot encode "
                                  f"({exc.object[exc.start:exc.end]!r}); use --encoding utf-8") from None
            if width > SHP_MAX_BYTES:
                notes.append(f"field {c} has values of {width} bytes (> 254): left out of the shapefile, kept in "
                             f"the GeoPackage")
                continue
            schema_props[FIELD_MAP[c][0]] = f"str:{max(width, 1)}"
        keep.append(c)
    out = []
    kinds = {"Polygon": "Polygon", "MultiPolygon": "Polygon", "Point": "Point", "MultiPoint": "Point",
             "LineString": "LineString", "MultiLineString": "LineString"}
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    groups = frame.geom_type.map(kinds)
    multi = len(set(groups)) > 1
    for kind in sorted(set(groups)):
        part = frame[groups == kind]
        path = stem.with_name(f"{stem.name}_{kind.lower()}.shp" if multi else f"{stem.name}.shp")
        geom_type = {"Polygon": "MultiPolygon", "Point": "Point", "LineString": "MultiLineString"}[kind]
        schema = {"geometry": geom_type, "properties": schema_props}
        with fiona.open(path, "w", driver="ESRI Shapefile", schema=schema, encoding=codec,
                        crs=FionaCRS.from_wkt(part.crs.to_wkt())) as dst:
            for (_, row), geom in zip(part.iterrows(), part.geometry):
                if kind == "Polygon" and geom.geom_type == "Polygon":
                    geom = shapely.MultiPolygon([geom])
                elif kind == "LineString" and geom.geom_type == "LineString":
                    geom = shapely.MultiLineString([geom])
                props = {}
                for c in keep:
                    v = row[c]
                    if v is None or (isinstance(v, float) and np.isnan(v)):
                        props[FIELD_MAP[c][0]] = None
                    elif c == "chemical":
                        props[FIELD_MAP[c][0]] = int(bool(v))
                    elif schema_props[FIELD_MAP[c][0]].startswith("float"):
                        props[FIELD_MAP[c][0]] = float(v)
                    else:
                        props[FIELD_MAP[c][0]] = str(v)
                dst.write({"geometry": shapely.geometry.mapping(geom), "properties": props})
        path.with_suffix(".cpg").write_text("936" if codec == "gbk" else "UTF-8", encoding="ascii")
        # ESRI-flavoured WKT so ArcGIS names the CGCS2000 CRS; QGIS reads it as well
        path.with_suffix(".prj").write_text(part.crs.to_wkt("WKT1_ESRI"), encoding="ascii")
        size = sum(path.with_suffix(e).stat().st_size for e in (".shp", ".dbf"))
        if size > SHP_MAX_FILE:
            raise ExportError(f"{path.name} 超过 shapefile 2 GB 上限，请改用 gpkg", f"{path.name} exceeds the 2 GB "
                              "shapefile limit; export as gpkg")
        out.append((path, kind, notes))
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dictionary_frame(layer_columns: dict[str, list[str]]) -> pd.DataFrame:
    rows = []
    for layer, cols in layer_columns.items():
        for c in cols:
            shp, zh, meaning, unit = FIELD_MAP[c]
            rows.append({"layer": layer, "图层": role_name(layer, "zh"), "field": c, "shp_field": shp,
                         "中文名": zh, "meaning": meaning, "unit": unit})
    return pd.DataFrame(rows)


def _results_frame(results_dir: Path) -> dict[str, gpd.GeoDataFrame]:
    """Screening results (result.json, results/*.json) and carbon stock (stock.gpkg) of a folder."""
    from zoning.io.inputs import path_is_dir
    from zoning.render.summary import summary_geoframe
    from zoning.screening.result import read_results, result_files

    out: dict[str, gpd.GeoDataFrame] = {}
    if not path_is_dir(results_dir):
        raise ExportError(f"结果目录不存在：{results_dir}", f"results folder not found: {results_dir}")
    if result_files(results_dir):  # the one reader of result files: every file checked, one line if broken
        frame = summary_geoframe(read_results(results_dir))
        kept = frame[~(frame.geometry.isna())].copy()
        # sites that could not be screened have no geometry, hence no county: named in every manifest
        kept.attrs["unscreened"] = frame.loc[frame.geometry.isna(), "site_id"].astype(str).tolist()
        out["results"] = kept
    if (results_dir / "stock.gpkg").exists():
        try:
            out["carbon_stock"] = gpd.read_file(results_dir / "stock.gpkg").rename(columns={"id": "site_id"})
        except Exception as exc:  # noqa: BLE001 - GDAL's errors for a broken GeoPackage
            raise ExportError(f"无法读取 {results_dir / 'stock.gpkg'}：{str(exc).splitlines()[0] if str(exc) else exc}",
                              f"cannot read {results_dir / 'stock.gpkg'}: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if not out:
        raise ExportError(f"{results_dir} 中没有 result.json、results/*.json 或 stock.gpkg",
                          f"{results_dir} holds no result.json, results/*.json or stock.gpkg")
    return out


def export_county(layers: LayerSet, out_dir: Path | str, *, county: str = "all", roles: str = "all",
                  formats: tuple[str, ...] = ("shp",), encoding: str = "utf-8", crs: str | int = AUTO_CRS,
                  results_dir: Path | str | None = None, overwrite: bool = False) -> list[dict]:
    """Export layers (and results) per county. Returns the manifest records written."""
    formats = tuple(dict.fromkeys(f.lower() for f in formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ExportError(f"未知格式 {bad}", f"unknown format(s) {bad}; choose from {', '.join(FORMATS)}")
    if encoding.lower() not in ("utf-8", "utf8", "gbk"):
        raise ExportError("编码只能是 utf-8 或 gbk", "encoding must be utf-8 or gbk")
    encoding = "gbk" if encoding.lower() == "gbk" else "utf-8"
    chosen_crs = _output_crs(crs)  # None: each county in its own GK zone
    admin = layers.frames.get("admin")
    if admin is None:
        raise ExportError("图层目录中没有县级行政区图层", "the catalog has no admin layer to clip by")
    targets = resolve_counties(admin, county)
    available = [r for r in EXPORT_ROLES if r in layers.frames and layers.info[r].status == "ok"]
    chosen = resolve_roles(roles, available)
    extra = _results_frame(Path(results_dir)) if results_dir else {}
    unscreened = extra["results"].attrs.get("unscreened", []) if "results" in extra else []
    outside = _outside_every_county(extra.get("results"), admin)
    out_dir = ensure_folder(Path(out_dir))  # one line when it cannot be created or written
    finals = [out_dir / t.stem for t in targets]
    for final in finals:  # refuse before writing anything
        check_folder_writable(final, overwrite=overwrite)
    manifests = []
    for target, final in zip(targets, finals):
        with staged_folder(final, overwrite=overwrite) as stage:
            manifest = _export_one(layers, target, stage, chosen, extra, formats, encoding,
                                   chosen_crs or auto_crs(target), auto=chosen_crs is None, unscreened=unscreened,
                                   outside=outside)
        manifest["folder"] = str(final)
        manifests.append(manifest)
    return manifests


def _outside_every_county(results: gpd.GeoDataFrame | None, admin: gpd.GeoDataFrame) -> list[str]:
    """Ids of screened sites (with a geometry) that meet no county of the admin layer: they go into
    no county's folder, and every manifest says so."""
    if results is None or not len(results):
        return []
    land = admin.to_crs(4490).union_all()
    meets = results.to_crs(4490).intersects(land).to_numpy()
    return results.loc[~meets, "site_id"].astype(str).tolist()


def _shown(ids: list[str]) -> str:
    return ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")


def _export_one(layers, target: CountyTarget, stage: Path, roles, extra, formats, encoding, out_crs,
                auto: bool = False, unscreened: list[str] = (), outside: list[str] = ()) -> dict:
    mode, error, warnings = area_mode(out_crs, target)
    if unscreened:
        warnings = warnings + [f"{len(unscreened)} 个站点无法筛查（无几何，无法归县），未导出：{_shown(unscreened)} / "
                               f"{len(unscreened)} site(s) could not be screened (no geometry, no county) and are "
                               f"not exported: {_shown(unscreened)}"]
    if outside:
        warnings = warnings + [f"{len(outside)} 个站点不在任何县区内，未导出到任何县区：{_shown(outside)} / "
                               f"{len(outside)} site(s) lie in no county and are exported to none: {_shown(outside)}"]
    frames: dict[str, gpd.GeoDataFrame] = {}
    for role in roles:
        frame = layers.frames[role].drop(columns=["layer"], errors="ignore")
        frames[role] = clip_to_county(frame, target, out_crs, mode=mode)
    for key, frame in extra.items():
        inside = frame[frame.to_crs(4490).intersects(target.geometry)] if len(frame) else frame
        frames[key] = inside.to_crs(out_crs) if out_crs.is_geographic else gpd.GeoDataFrame(
            inside.drop(columns=inside.geometry.name), geometry=project(inside.geometry.values, out_crs,
                                                                        src=inside.crs or STORAGE_EPSG), crs=out_crs)
    files: list[WrittenFile] = []
    columns: dict[str, list[str]] = {}
    notes_all: list[str] = list(warnings)
    for name, frame in frames.items():
        cols = _canonical_columns(frame)
        columns[name] = cols
        base = f"{target.stem}_{sanitize(name)}"
        if "shp" in formats and len(frame):
            tmp = stage / f".{base}"
            tmp.mkdir()
            written = write_shapefile(frame[cols + ["geometry"]], tmp / base, encoding=encoding)
            zip_path = stage / f"{base}.zip"
            buf = io.BytesIO()  # zipped in memory: a full disk fails the one write below, not inside zipfile
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for shp, kind, notes in written:
                    for part in sorted(tmp.glob(f"{shp.stem}.*")):
                        z.write(part, part.name)
                    notes_all += [f"{name}: {n}" for n in notes]
            zip_path.write_bytes(buf.getvalue())
            shutil.rmtree(tmp)
            files.append(WrittenFile(zip_path, name, "shp (zip)", len(frame), f"EPSG:{out_crs.to_epsg()}", encoding,
                                     sorted({n for _, _, ns in written for n in ns})))
        if "geojson" in formats:
            path = stage / f"{base}.geojson"
            frame[cols + ["geometry"]].to_crs(4490).to_file(path, driver="GeoJSON", engine="pyogrio",
                                                            layer_options={"RFC7946": "NO", "WRITE_NAME": "NO"})
            files.append(WrittenFile(path, name, "geojson", len(frame), "EPSG:4490", "utf-8"))
        if "kml" in formats:
            path = stage / f"{base}.kml"
            kml = frame[cols + ["geometry"]].to_crs(4326)
            if "name" not in kml.columns:
                kml = kml.assign(name=kml[cols[0]] if cols else name)
            kml.to_file(path, driver="KML", engine="pyogrio")
            files.append(WrittenFile(path, name, "kml", len(frame), "EPSG:4326 (= CGCS2000 within 1 m)", "utf-8"))
        if "csv" in formats:
            path = stage / f"{base}.csv"
            table = pd.DataFrame(frame[cols]).assign(wkt=shapely.to_wkt(frame.to_crs(4490).geometry.values,
                                                                        rounding_precision=7))
            csv_frame(table).to_csv(path, index=False, encoding="utf-8-sig")  # no cell runs as a formula
            files.append(WrittenFile(path, name, "csv", len(frame), "EPSG:4490 (wkt column)", "utf-8 BOM"))
    moved = bool(notes_all)
    if "gpkg" in formats or moved:
        path = stage / f"{target.stem}.gpkg"
        import pyogrio

        for name, frame in frames.items():
            cols = _canonical_columns(frame)
            pyogrio.write_dataframe(frame[cols + ["geometry"]], path, layer=sanitize(name), driver="GPKG")
        files.append(WrittenFile(path, "all", "gpkg", sum(len(f) for f in frames.values()), f"EPSG:{out_crs.to_epsg()}",
                                 "utf-8", ["one layer per role, full field names"]))
    dictionary = dictionary_frame(columns)
    csv_frame(dictionary).to_csv(stage / f"{target.stem}_data_dictionary.csv", index=False, encoding="utf-8-sig")
    book = io.BytesIO()
    xlsx_frame(dictionary).to_excel(book, index=False)
    (stage / f"{target.stem}_data_dictionary.xlsx").write_bytes(book.getvalue())
    manifest = {
        "county": {"code": target.code, "name": target.name, "name_en": target.name_en},
        "crs": f"EPSG:{out_crs.to_epsg()}", "crs_name": out_crs.name, "encoding": encoding,
        "crs_choice": "auto: the county's own 3-degree Gauss-Kruger zone (by its centroid)" if auto else "as given",
        "area_ha": _area_ha_note(out_crs, target, mode, error),
        "warnings": warnings,
        "synthetic_layers": [r for r in frames if r in layers.info and layers.info[r].synthetic],
        "notes": notes_all,
        "unscreened": list(unscreened),
        "outside_counties": list(outside),
        "files": [{"file": f.path.name, "layer": f.layer, "format": f.fmt, "features": f.features, "crs": f.crs,
                   "encoding": f.encoding, "sha256": _sha256(f.path), "bytes": f.path.stat().st_size,
                   "notes": f.notes} for f in files],
        "data_dictionary": [f"{target.stem}_data_dictionary.csv", f"{target.stem}_data_dictionary.xlsx"],
    }
    (stage / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest
