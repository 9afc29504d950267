"""Reading project sites from the forms reviewers actually receive.

``read_sites`` accepts GeoJSON, GeoPackage, Shapefile (UTF-8 or GBK DBF, with or without
``.cpg``), KML, CSV of points (lon/lat columns), CSV of boundary corner points (界址点: site id,
point order, X = northing, Y = easting), a GeoDataFrame, or a literal coordinate string.
It returns a GeoDataFrame in EPSG:4490 with ``site_id``, ``crs_in``, ``warnings`` and the
input's attribute columns. Nothing is converted silently: offset datums (GCJ-02, BD-09) are
accepted only when the caller says so, and the conversion is recorded on each site.
"""
from __future__ import annotations

import html
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Point, Polygon

from zoning.geo.crs import (CHINA_LAT, CHINA_LON, GK_PLAIN_OF_PREFIXED, GK_ZONE_BOUNDARY_LON, GK_ZONE_OF_PREFIX_EPSG,
                            GK_ZONE_PREFIX_EPSG, OFFSET_TO_WGS84, STORAGE_EPSG, crs_label, parse_crs, parse_dms_pair,
                            transform, wgs84_to_bd09, wgs84_to_gcj02)
from zoning.errors import CRSProblem, InputFileNotFound, SiteError, UnreadableInput, ZoningError
from zoning.io import tables
from zoning.io.archive import LOCAL_LIMITS, unpack_zip
from zoning.io.inputs import path_exists, path_is_dir
from zoning.io.vector import needs_plain_path, not_valid_file, read_vector, shapefile_encoding
from zoning.geo.measure import geodesic_area, polygon_ring_areas

#: relative area change above which a repaired polygon is refused instead of accepted
MAX_REPAIR_CHANGE = 0.01
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".kml", ".kmz", ".fgb"}
#: id columns, in order of preference (Chinese names and their pinyin initials: XMBH 项目编号, DKBH 地块编号, ZDH 宗地号)
ID_COLUMNS = ("site_id", "id", "项目编号", "地块编号", "编号", "宗地号", "parcel_id", "code", "xmbh", "dkbh", "zdh", "zdbh")
LON_COLUMNS = ("lon", "lng", "long", "longitude", "经度", "东经")
LAT_COLUMNS = ("lat", "latitude", "纬度", "北纬")
X_COLUMNS = ("x", "x坐标", "北坐标", "纵坐标x")
Y_COLUMNS = ("y", "y坐标", "东坐标", "横坐标y")
ORDER_COLUMNS = ("点号", "序号", "order", "seq", "point", "point_no", "pt", "界址点号")
JZD_ID_COLUMNS = ("地块编号", "宗地号", "site_id", "id", "项目编号", "编号", "parcel", "parcel_id", "dkbh", "zdh", "xmbh")


#: how messages name typed coordinates (no file): the Chinese half says it in Chinese
LITERAL_LABEL = "coordinates"


def _err(zh: str, en: str, cls=SiteError):
    if zh.startswith(LITERAL_LABEL):
        zh = "坐标" + zh[len(LITERAL_LABEL):]
    return cls(zh, en)


def _find(columns, names) -> str | None:
    low = {str(c).strip().lower(): c for c in columns}
    for n in names:
        if n.lower() in low:
            return low[n.lower()]
    return None


# ---------------------------------------------------------------------------------------
# literal coordinate strings
_GK_RE = re.compile(r"X\s*[=:：]\s*(-?[\d.]+)\s*[,，;；\s]\s*Y\s*[=:：]\s*(-?[\d.]+)", re.IGNORECASE)
_NUM = r"-?\d+(?:\.\d+)?"
_PAIR_RE = re.compile(rf"^\s*\(?\s*({_NUM})\s*[,，\s]\s*({_NUM})\s*\)?\s*$")


def looks_like_coordinates(text: str) -> bool:
    """True when ``text`` is a coordinate literal rather than a file name."""
    s = text.strip()
    return bool(_GK_RE.search(s) or _PAIR_RE.match(s) or ("°" in s or "度" in s)
                or (";" in s and all(_PAIR_RE.match(p) for p in s.split(";") if p.strip())))


#: characters of a caller's text quoted back in a message (escaped, "…" when cut)
EXCERPT_CHARS = 60
#: the coordinate forms a text site may take (zh, en)
_EXAMPLES = ("示例：118.17,26.64 或 118°10'30\"E 26°38'24\"N 或 X=2947123.4 Y=39521456.7",
             "examples: 118.17,26.64 | 118°10'30\"E 26°38'24\"N | X=2947123.4 Y=39521456.7")


def excerpt(text, n: int = EXCERPT_CHARS) -> str:
    """A short, escaped quotation of ``text`` for a message: at most ``n`` characters once control
    characters, line breaks and unprintable characters are escaped (as ``repr`` does), "…" when cut."""
    out = ""
    for ch in str(text).strip():
        piece = "\\'" if ch == "'" else repr(ch)[1:-1]  # "\n", "\x1f", "\U0001da8c": escaped
        if len(out) + len(piece) > n:
            return f"'{out}…'"
        out += piece
    return f"'{out}'"


def _parse_literal(text: str, crs) -> tuple[gpd.GeoDataFrame, str]:
    """A one-line coordinate literal. Text that is no coordinate form is a :class:`SiteError`
    (it is not a coordinate system problem); values no coordinate system has are a CRSProblem."""
    try:
        frame, kind = _parse_literal_values(text, crs)
    except CRSProblem as exc:  # the 度分秒 reader's refusals quote the whole text: quote a short excerpt
        if "°" in text or "度" in text:
            raise SiteError(f"无法解析坐标 {excerpt(text)}：度分秒需要经度和纬度两个角度，分、秒须小于 60；{_EXAMPLES[0]}",
                            f"cannot parse coordinates {excerpt(text)}: degrees-minutes-seconds need two angles "
                            f"(longitude and latitude), minutes and seconds below 60; {_EXAMPLES[1]}") \
                from None
        raise
    except SiteError:
        raise
    except ValueError:  # "X=1.2.3 Y=4": not a number
        raise SiteError(f"无法解析坐标 {excerpt(text)}：坐标应为数字；{_EXAMPLES[0]}",
                        f"cannot parse coordinates {excerpt(text)}: coordinates must be numbers; {_EXAMPLES[1]}") \
            from None
    coords = shapely.get_coordinates(frame.geometry.values)
    if not np.isfinite(coords).all() or (coords.size and np.abs(coords).max() > MAX_COORDINATE):
        raise CRSProblem(f"坐标值超出任何坐标系的范围：{excerpt(text)}", f"coordinate values beyond any coordinate system: "
                         f"{excerpt(text)}")
    return frame, kind


def _parse_literal_values(text: str, crs) -> tuple[gpd.GeoDataFrame, str]:
    s = text.strip()
    m = _GK_RE.search(s)
    if m:
        northing, easting = float(m.group(1)), float(m.group(2))
        frame = gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[Point(easting, northing)])
        return frame, "gk"
    if "°" in s or "度" in s:
        lon, lat = parse_dms_pair(s)
        return gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[Point(lon, lat)]), "deg"
    if ";" in s:
        pts = []
        for part in s.split(";"):
            if part.strip():
                pm = _PAIR_RE.match(part)
                if pm is None:
                    raise _err(f"无法解析坐标：多边形第 {len(pts) + 1} 个顶点 {excerpt(part)} 不是“经度,纬度”两个数；"
                               f"示例：118.1,26.6;118.2,26.6;118.2,26.7",
                               f"cannot parse coordinates: polygon vertex {len(pts) + 1} {excerpt(part)} is not two "
                               f"numbers (longitude,latitude); example: 118.1,26.6;118.2,26.6;118.2,26.7")
                pts.append((float(pm.group(1)), float(pm.group(2))))
        if len(pts) < 3:
            raise _err("无法解析坐标：多边形至少需要 3 个顶点（用 ; 分隔）",
                       "cannot parse coordinates: a polygon literal needs at least 3 vertices separated by ';'")
        return gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[Polygon(pts)]), "deg"
    m = _PAIR_RE.match(s)
    if m:
        a, b = float(m.group(1)), float(m.group(2))
        return gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[Point(a, b)]), "deg"
    _refuse_number_words(s)  # "1e400,5", "nan,26.6": numbers, but not finite decimal ones
    if re.fullmatch(rf"\s*\(?\s*{_NUM}\s*\)?\s*", s):
        raise _err(f"无法解析坐标 {excerpt(text)}：点需要经度和纬度两个数；{_EXAMPLES[0]}",
                   f"cannot parse coordinates {excerpt(text)}: a point needs two numbers (longitude and latitude); "
                   f"{_EXAMPLES[1]}")
    raise _err(f"无法解析坐标 {excerpt(text)}：不是坐标或界址点文本；{_EXAMPLES[0]}",
               f"cannot parse coordinates {excerpt(text)}: this is neither coordinates nor 界址点 text; {_EXAMPLES[1]}")


# ---------------------------------------------------------------------------------------
# GeoJSON geometries from a client: what is wrong, said plainly (not the parser's own words)
#: nesting depth of the positions of each GeoJSON geometry type, and how its coordinates look
_GEOJSON_SHAPES = {"Point": (0, "[118.17, 26.64]"), "MultiPoint": (1, "[[118.17, 26.64], …]"),
                   "LineString": (1, "[[118.17, 26.64], [118.18, 26.65], …]"),
                   "MultiLineString": (2, "[[[118.17, 26.64], [118.18, 26.65], …], …]"),
                   "Polygon": (2, "[[[118.17, 26.64], [118.18, 26.64], [118.18, 26.65], [118.17, 26.64]]]"),
                   "MultiPolygon": (3, "[[[[118.17, 26.64], …]], …]")}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def geojson_problem(geometry) -> tuple[str, str] | None:
    """What is wrong with a GeoJSON geometry object, as (zh, en), or None when its structure is
    sound: the type, the nesting of its coordinates, positions of two or three numbers, rings of
    at least three points. (Values out of any CRS are judged later, with the site.)"""
    if not isinstance(geometry, dict):
        return "几何应为 GeoJSON 对象 {\"type\": …, \"coordinates\": …}", \
            "the geometry must be a GeoJSON object {\"type\": …, \"coordinates\": …}"
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        if not isinstance(parts, list):
            return "GeometryCollection 的 geometries 应为列表", "the geometries of a GeometryCollection must be a list"
        return next((p for p in map(geojson_problem, parts) if p), None)
    if kind not in _GEOJSON_SHAPES:
        return (f"不支持的几何类型 {excerpt(kind, 30)}；应为 Point、LineString、Polygon 或其 Multi 形式",
                f"unsupported geometry type {excerpt(kind, 30)}; use Point, LineString, Polygon or their Multi forms")
    depth, example = _GEOJSON_SHAPES[kind]
    nesting = (f"坐标的嵌套层数不对：{kind} 的 coordinates 应为 {example}",
               f"the coordinates are nested wrongly: the coordinates of a {kind} look like {example}")
    stack = [(geometry.get("coordinates"), depth)]
    while stack:
        value, level = stack.pop()
        if not isinstance(value, list):
            return nesting
        if level == 0:  # a position
            if any(isinstance(v, list) for v in value):
                return nesting
            bad = [v for v in value if not _is_number(v)]
            if bad:
                found = json_text(bad[0])
                found = found if len(found) <= 30 else found[:29] + "…"
                return f"坐标应为数字（见到 {found}）", f"coordinates must be numbers (found {found})"
            if len(value) < 2:
                return ("点需要经度和纬度两个数（如 [118.17, 26.64]）",
                        "a point needs two numbers, longitude and latitude (e.g. [118.17, 26.64])")
            if len(value) > 3:
                return ("一个点最多三个数（经度、纬度、高程）", "a position has at most three numbers (lon, lat, height)")
            continue
        if any(not isinstance(v, list) for v in value):
            return nesting
        closed = len(value) > 1 and value[0] == value[-1]
        if value and level == 1 and kind in ("Polygon", "MultiPolygon") and len(value) - closed < 3:
            return ("多边形的每个环至少需要 3 个不同的点", "each polygon ring needs at least 3 distinct points")
        if level == 1 and kind in ("LineString", "MultiLineString") and len(value) == 1:
            return ("线至少需要 2 个点", "a line needs at least 2 points")
        stack += [(v, level - 1) for v in value]
    return None


def json_text(value) -> str:
    """``value`` as it was written in JSON (a string with its quotes, null, true; line breaks and
    control characters escaped)."""
    import json

    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


# ---------------------------------------------------------------------------------------
# CRS inference for coordinates that arrive without one
def _zone_epsg(eastings: np.ndarray) -> int | None:
    """EPSG of zone-prefixed GK eastings (e.g. 39521456.7 -> zone 39 -> EPSG:4527)."""
    eastings = eastings[np.isfinite(eastings)]
    if eastings.size == 0 or not np.all(eastings >= 1e7):
        return None
    zones = np.unique(np.floor(eastings / 1e6).astype(int))
    if zones.size == 1 and int(zones[0]) in GK_ZONE_PREFIX_EPSG:
        return GK_ZONE_PREFIX_EPSG[int(zones[0])]
    return None


def _zones_of_rows(geoms) -> np.ndarray | None:
    """Per row: the Gauss-Kruger zone its eastings' prefix names (39 for 39521456.7), 0 for a site
    whose eastings carry two zones, -1 for a row without geometry; None unless every site's
    coordinates are zone-prefixed eastings with survey northings."""
    values = np.asarray(geoms, dtype=object)
    ok = ~(shapely.is_missing(values) | shapely.is_empty(values))
    if not ok.any():
        return None
    with np.errstate(invalid="ignore"):
        b = shapely.bounds(values[ok])
    if not (np.all(b[:, 0] >= 1e7) and np.all(b[:, 2] < 1e8) and np.all(b[:, 1] > 1e5) and np.all(b[:, 3] < 1e7)):
        return None
    low, high = np.floor(b[:, 0] / 1e6).astype(int), np.floor(b[:, 2] / 1e6).astype(int)
    if not set(np.concatenate([low, high]).tolist()) <= GK_ZONE_PREFIX_EPSG.keys():
        return None
    out = np.full(len(values), -1)
    out[ok] = np.where(low == high, low, 0)
    return out


def _zone_mismatch(sid, zone: int, crs) -> CRSProblem:
    epsg = GK_ZONE_PREFIX_EPSG[zone]
    return CRSProblem(f"站点 {excerpt(sid)} 的东坐标带号为 {zone}，与坐标系 {crs_label(crs)}（{GK_ZONE_OF_PREFIX_EPSG[crs.to_epsg()]} "
                      f"带）不符；请按带号把坐标系设为 {epsg}（--crs {epsg}），或不指定坐标系",
                      f"site {excerpt(sid)}: its eastings carry the zone prefix {zone}, which does not match "
                      f"{crs_label(crs)} (zone {GK_ZONE_OF_PREFIX_EPSG[crs.to_epsg()]}); set the CRS to {epsg} "
                      f"(--crs {epsg}) or give none")


def _read_each_zone(gdf: gpd.GeoDataFrame, zones: np.ndarray, label: str, row_errors: dict, on_error: str):
    """Sites of several GK zones (zone-prefixed eastings), each moved to EPSG:4490 from its own
    zone: (frame in EPSG:4490, CRS per row, crs_in label per row). A site whose eastings carry
    two prefixes becomes an error row (raised when ``on_error`` is "raise")."""
    values = np.asarray(gdf.geometry.values, dtype=object)
    moved = values.copy()
    site_crs: list = [None] * len(values)
    labels: list = [None] * len(values)
    for zone in sorted(set(zones[zones > 0].tolist())):
        rows = np.flatnonzero(zones == zone)
        epsg = GK_ZONE_PREFIX_EPSG[zone]
        moved[rows] = transform(values[rows], CRS.from_epsg(epsg), STORAGE_EPSG)
        for i in rows:
            site_crs[i], labels[i] = CRS.from_epsg(epsg), f"EPSG:{epsg} (from the zone prefix of the eastings)"
    for i in np.flatnonzero(zones == 0):
        sid = gdf["site_id"].iloc[i]
        err = CRSProblem(f"{label}：站点 {excerpt(sid)} 的界址点东坐标带有两个不同的带号，无法确定坐标系；请检查坐标",
                         f"{label}: the eastings of site {excerpt(sid)} carry two different zone prefixes; its "
                         f"coordinate system cannot be told: check the coordinates")
        if on_error == "raise":
            raise err
        row_errors.setdefault(int(i), err)
        moved[i] = None
    out = gdf.set_geometry(gpd.GeoSeries(moved, index=gdf.index, crs=STORAGE_EPSG))
    return out, site_crs, labels


def _prefix_of_plain_zone(gdf: gpd.GeoDataFrame, notes: list) -> gpd.GeoDataFrame:
    """Zone-prefixed eastings under the same zone's CRS without the prefix (39xxxxxx with
    EPSG:4548, CM 117E = zone 39): read in the prefixed CRS (EPSG:4527), with a note. Read as
    they are they would lie 39,000 km east, and the prefix leaves no doubt which zone is meant."""
    epsg = gdf.crs.to_epsg() if gdf.crs is not None else None
    prefixed = {plain: pre for pre, plain in GK_PLAIN_OF_PREFIXED.items()}.get(epsg)
    if prefixed is None:
        return gdf
    if _zones_of_rows(gdf.geometry.values) is None:  # not every site's eastings carry a prefix
        return gdf
    # sites whose prefix names another zone are then refused one by one (_refuse_other_zones)
    notes.append(f"东坐标带有带号 {GK_ZONE_OF_PREFIX_EPSG[prefixed]}：按 EPSG:{prefixed}（同一中央经线，含带号）读取 / "
                 f"the eastings carry the zone prefix {GK_ZONE_OF_PREFIX_EPSG[prefixed]}: read as EPSG:{prefixed} (the "
                 f"same central meridian, with the prefix)")
    return gdf.set_crs(prefixed, allow_override=True)


def _refuse_other_zones(gdf: gpd.GeoDataFrame, label: str, row_errors: dict, on_error: str) -> None:
    """Sites whose eastings carry a zone prefix other than the zone of the frame's zone-prefixed
    GK CRS (given with --crs, or by the file) are error rows: read in that CRS they would land a
    zone width (about 300 km) away, often still in China."""
    epsg = gdf.crs.to_epsg() if gdf.crs is not None else None
    if epsg not in GK_ZONE_OF_PREFIX_EPSG:
        return
    zones = _zones_of_rows(gdf.geometry.values)
    if zones is None:
        return
    for i in np.flatnonzero((zones > 0) & (zones != GK_ZONE_OF_PREFIX_EPSG[epsg])):
        err = _zone_mismatch(gdf["site_id"].iloc[i], int(zones[i]), gdf.crs)
        if on_error == "raise":
            raise err
        row_errors.setdefault(int(i), err)


def _in_box(x: np.ndarray, y: np.ndarray, lon=CHINA_LON, lat=CHINA_LAT) -> bool:
    return bool(np.all((x >= lon[0]) & (x <= lon[1]) & (y >= lat[0]) & (y <= lat[1])))


def _infer_crs(xs: np.ndarray, ys: np.ndarray, source: str):
    """Decide the CRS of bare coordinates (x = easting/lon, y = northing/lat) or explain why not."""
    if _in_box(xs, ys):
        return CRS.from_epsg(STORAGE_EPSG), "EPSG:4490 (assumed: lon/lat degrees without a CRS)"
    if _in_box(ys, xs):
        raise _err(f"{source}：经纬度疑似颠倒（经度 {xs[0]:.4f}、纬度 {ys[0]:.4f}）；请交换经度、纬度两列",
                   f"{source}: longitude and latitude look swapped (lon={xs[0]:.4f}, lat={ys[0]:.4f}); "
                   f"swap the two columns/values", CRSProblem)
    epsg = _zone_epsg(xs)
    if epsg:
        return CRS.from_epsg(epsg), f"EPSG:{epsg} (from the zone prefix of the eastings)"
    if np.all(np.abs(xs) <= 180) and np.all(np.abs(ys) <= 90):
        raise _err(f"{source}：坐标（{xs[0]:.4f}, {ys[0]:.4f}）位于中国范围以外；请检查坐标值或坐标系（--crs）",
                   f"{source}: coordinates ({xs[0]:.4f}, {ys[0]:.4f}) lie outside China; check the values or the "
                   f"CRS (--crs)", CRSProblem)
    if _zone_epsg(ys) and np.all(xs < 1e7):
        raise _err(f"{source}：X、Y 疑似颠倒（测量坐标中 X 为北坐标、Y 为带带号的东坐标）；请交换 X、Y",
                   f"{source}: X and Y look swapped (survey tables give X = northing, Y = easting with "
                   f"zone prefix); swap X and Y", CRSProblem)
    if np.all((ys > 1e5) & (ys < 1e6)) and np.all((xs > 1e6) & (xs < 1e7)):
        # a 7-digit value where the easting belongs and a 6-digit one where the northing does: the
        # columns are swapped (bare GK eastings are 6 digits, northings in China 7)
        raise _err(f"{source}：X、Y 疑似颠倒（测量坐标中 X 为 7 位北坐标、Y 为 6 位东坐标）；请交换 X、Y，"
                   f"东坐标没有带号时再把坐标系设为 4548（中央经线 117°E）或 4549（120°E）",
                   f"{source}: X and Y look swapped (survey tables give X = northing, 7 digits, Y = easting, 6 "
                   f"digits without a zone prefix); swap X and Y, then set the CRS to 4548 (CM 117E) or 4549 (CM 120E) "
                   f"if the eastings carry no zone prefix", CRSProblem)
    if np.all((xs > 1e5) & (xs < 1e6)) and np.all((ys > 1e6) & (ys < 1e7)):
        raise _err(f"{source}：高斯-克吕格坐标缺少带号，无法确定中央经线；请把坐标系设为 4548（中央经线 117°E，--crs 4548）"
                   f"或 4549（120°E，--crs 4549）",
                   f"{source}: Gauss-Kruger coordinates without a zone prefix are ambiguous; set the CRS to "
                   f"4548 (CM 117E, --crs 4548) or 4549 (CM 120E, --crs 4549)", CRSProblem)
    raise _err(f"{source}：没有坐标系且无法从坐标值判断；请指定坐标系（--crs），如 4490、4548",
               f"{source}: no CRS and the coordinate values do not identify one; give the CRS (--crs), e.g. 4490 or "
               f"4548", CRSProblem)


# ---------------------------------------------------------------------------------------
# CSV forms
def _decode_text(path: Path) -> str:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UnreadableInput(f"{path} 不是 UTF-8 或 GBK 编码", f"{path} is neither UTF-8 nor GBK text")  # pragma: no cover


def _csv_sites(path: Path) -> tuple[gpd.GeoDataFrame, str, list[str]]:
    """Sites from a table (CSV/TXT/XLSX) or a 界址点 coordinate text file: (frame, kind, coordinate columns)."""
    if path.suffix.lower() in (".xlsx", ".xls"):
        return _table_sites(tables.read_excel_rows(path), path.name)
    return _text_sites(_decode_text(path), path.name, path)


def _text_sites(text: str, name: str, path: Path | None = None) -> tuple[gpd.GeoDataFrame, str, list[str]]:
    """Sites from the text of a 界址点 coordinate file (勘测定界 TXT: ``[属性描述]`` … ``[地块坐标]``)
    or of a CSV/TXT table; read from memory: a client's text is the same as the same file."""
    if tables.is_jzd_text(text):
        frame, _meta, notes = tables.read_jzd_text(text, name)
        gdf = gpd.GeoDataFrame(frame, geometry="geometry")
        gdf.attrs["notes"] = notes
        return gdf, "gk", []
    return _table_sites(tables.read_csv_rows(text, path if path is not None else Path(name)), name)


def _table_sites(df: pd.DataFrame, name: str) -> tuple[gpd.GeoDataFrame, str, list[str]]:
    """Sites from the rows of a table: points (lon/lat) or corner points (X/Y, lon/lat with a point column)."""
    path = Path(name)  # messages name the table by its name only
    if df.empty:
        raise _err(f"{path.name} 没有数据行", f"{path.name} has no data rows")
    lon_c, lat_c = tables.find_column(df.columns, tables.LON_NAMES), tables.find_column(df.columns, tables.LAT_NAMES)
    x_c, y_c = tables.find_column(df.columns, tables.X_NAMES), tables.find_column(df.columns, tables.Y_NAMES)
    id_c = tables.find_column(df.columns, tables.PART_ID_NAMES)
    ring_c = tables.find_column(df.columns, tables.RING_NAMES)
    bad: dict[int, tuple[str, str]] = {}  # row position -> (zh, en): that row is an error row, not the file
    if lon_c and lat_c:
        lon = _column_values(tables.angle_values, df, lon_c, path.name, bad)
        lat = _column_values(tables.angle_values, df, lat_c, path.name, bad)
        corner_c = tables.find_column(df.columns, tables.CORNER_NAMES)
        if corner_c or ring_c:  # a corner table (拐点编号/经度/纬度): one polygon per site id
            order_c = corner_c or tables.find_column(df.columns, tables.ORDER_NAMES)
            frame = _corner_frame(df, id_c, ring_c, order_c, lon, lat, [lon_c, lat_c])
            return _mark_corner_errors(frame, df, id_c, bad), "deg", [lon_c, lat_c]
        missing = np.isnan(lon) | np.isnan(lat)
        geoms = [None if m else Point(x, y) for x, y, m in zip(lon, lat, missing)]
        attrs = df.drop(columns=[lon_c, lat_c])
        if bad:
            attrs = attrs.assign(_row_error=[bad.get(i) for i in range(len(attrs))])
        return gpd.GeoDataFrame(attrs, geometry=geoms), "deg", [lon_c, lat_c]
    if x_c and y_c:
        order_c = tables.find_column(df.columns, tables.ORDER_NAMES)
        north = _column_values(tables.number_values, df, x_c, path.name, bad)
        east = _column_values(tables.number_values, df, y_c, path.name, bad)
        frame = _corner_frame(df, id_c, ring_c, order_c, east, north, [x_c, y_c])
        return _mark_corner_errors(frame, df, id_c, bad), "gk", [x_c, y_c]
    raise UnreadableInput(
        f"{path.name}：找不到坐标列。点位需要 lon/lat（经度/纬度）列；界址点需要 X、Y 列（及地块编号、点号）",
        f"{path.name}: no coordinate columns. Points need lon/lat (经度/纬度) columns; boundary corner "
        f"points (界址点) need X and Y columns (plus a site id and point order column)")


def _column_values(convert, df: pd.DataFrame, column: str, source: str, bad: dict) -> np.ndarray:
    """``convert(df[column], …)`` (a tables.*_values reader); a cell it refuses makes its row an
    entry of ``bad`` (and NaN) instead of refusing the whole file."""
    try:
        return convert(df[column], column, source)
    except UnreadableInput:
        pass
    out = np.full(len(df), np.nan)
    formulas = df.attrs.get("formula_cells", {})
    for i in range(len(df)):
        try:
            out[i] = convert(df[column].iloc[i:i + 1], column, source)[0]
        except UnreadableInput as exc:
            if (i, column) in formulas:  # a formula Excel never computed (openpyxl finds no saved value)
                cell = formulas[(i, column)]
                bad.setdefault(i, (f"{source} 单元格 {cell}（第 {i + 1} 个数据行 {column} 列）是公式 "
                                   f"{excerpt(df[column].iloc[i], 40)}，没有保存计算结果；请在 Excel 中打开并保存后再导出，或填入数值",
                                   f"{source} cell {cell} (data row {i + 1}, column {column}) is the formula "
                                   f"{excerpt(df[column].iloc[i], 40)} without a saved value; open and save it in Excel, "
                                   f"or enter the value"))
                continue
            bad.setdefault(i, (f"{source} 第 {i + 1} 个数据行 {column} 列不是数字：{str(df[column].iloc[i])[:60]!r}",
                               f"{source} data row {i + 1}: column {column} is not a number: "
                               f"{str(df[column].iloc[i])[:60]!r}"))
    return out


def _mark_corner_errors(frame: gpd.GeoDataFrame, df: pd.DataFrame, id_c, bad: dict) -> gpd.GeoDataFrame:
    """A corner table's sites any of whose rows was refused become error rows (a polygon missing
    a corner would be a wrong polygon, not a smaller one)."""
    if not bad:
        return frame
    ids = df[id_c].astype(str).str.strip() if id_c else pd.Series(["S1"] * len(df))
    by_site: dict[str, tuple[str, str]] = {}
    for i, message in sorted(bad.items()):
        by_site.setdefault(str(ids.iloc[i]), message)
    return frame.assign(_row_error=[by_site.get(str(sid)) for sid in frame["site_id"]])


def _corner_frame(df, id_c, ring_c, order_c, xs, ys, coord_cols) -> gpd.GeoDataFrame:
    """One polygon per site id from corner rows; the other columns keep each site's first value."""
    ids = df[id_c].astype(str).str.strip() if id_c else pd.Series(["S1"] * len(df))
    rings = df[ring_c].astype(str).str.strip() if ring_c else pd.Series(["1"] * len(df))
    order = tables.order_numbers(df[order_c]) if order_c else np.arange(len(df), dtype=float)
    ok = ~(np.isnan(xs) | np.isnan(ys))
    built = tables.corner_polygons(ids[ok], rings[ok], order[ok], xs[ok], ys[ok])
    done = {sid for sid, _, _ in built}
    # a site none of whose corners could be read is still a row (its error row, not a lost site)
    built += [(sid, None, 0) for sid in dict.fromkeys(ids) if sid not in done]
    position = {sid: i for i, sid in enumerate(dict.fromkeys(ids))}
    built.sort(key=lambda b: position.get(b[0], len(position)))
    rest = [c for c in df.columns if c not in set(coord_cols) | {id_c, ring_c, order_c}]
    first = df.assign(_sid=ids)[["_sid"] + rest].groupby("_sid", sort=False).first()
    rows = []
    for sid, geom, n in built:
        row = {"site_id": sid, "geometry": geom, "_n": n}
        for c in rest:
            value = first.loc[sid, c]
            if str(value).strip():
                row[c] = value
        rows.append(row)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry")


# ---------------------------------------------------------------------------------------
_KML_STYLE_COLUMNS = ("timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude", "visibility",
                      "drawOrder", "icon")


def _main_kml(files: list[Path], root: Path) -> Path | None:
    """The KML of a KMZ that Google Earth opens: ``doc.kml`` at the top, else the first KML at the
    top, else the first KML anywhere (in archive order)."""
    kmls = [f for f in files if f.suffix.lower() == ".kml"]
    top = [f for f in kmls if f.parent == root]
    for f in top:
        if f.name.lower() == "doc.kml":
            return f
    return (top or kmls or [None])[0]


def _read_kmz(path: Path, engine: str) -> gpd.GeoDataFrame:
    """A KMZ read exactly as the KML inside it: unpacked through the one safe archive reader
    (zoning.io.archive: ``../`` entries, links and zip bombs refused) into a private temporary
    folder. GDAL's own KMZ reading loses every ExtendedData/SchemaData attribute."""
    if not zipfile.is_zipfile(path):  # empty, truncated or not a KMZ at all: said plainly
        raise not_valid_file(path.name, path)
    with tempfile.TemporaryDirectory(prefix="zoning-kmz-") as tmp:
        root = Path(tmp).resolve()
        files = unpack_zip(path, root, LOCAL_LIMITS, keep=lambda name: name.lower().endswith(".kml"))
        main = _main_kml(files, root)
        if main is None:
            raise UnreadableInput(f"{path.name} 中没有 KML 文件（KMZ 应含 doc.kml）",
                                  f"{path.name} holds no KML file (a KMZ holds doc.kml)")
        try:
            return _read_kml(main, engine, name=path.name)
        except ZoningError as exc:  # the KMZ is named, never the temporary folder
            exc.zh, exc.en = (t.replace(str(main), path.name) for t in (exc.zh, exc.en))
            exc.args = (exc.en,)
            raise


# <Data name="…"> (untyped ExtendedData, what Google Earth and 奥维 write): GDAL turns every byte
# of a non-ASCII name into "_" (行业代码 → "____________", two such names → one column)
_KML_DATA_NAME = re.compile(rb"""(<(?:[\w.-]+:)?Data\s+name\s*=\s*)(?:"([^"<]*)"|'([^'<]*)')""")
_KML_TOKEN = "zoning_kml_data_{}"


def _kml_ascii_names(raw: bytes) -> tuple[bytes, dict[str, str]]:
    """``raw`` with every non-ASCII ``<Data name>`` replaced by an ASCII token, and token → the
    name as written (entities resolved). Unchanged when no name needs it or the text is not UTF-8."""
    tokens: dict[str, str] = {}
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw, tokens
    by_name: dict[str, str] = {}

    def swap(m: re.Match) -> bytes:
        written = m.group(2) if m.group(2) is not None else m.group(3)
        if written.isascii():
            return m.group(0)
        name = html.unescape(written.decode("utf-8")).strip()
        token = by_name.setdefault(name, _KML_TOKEN.format(len(by_name)))
        tokens[token] = name
        return m.group(1) + b'"' + token.encode() + b'"'

    return _KML_DATA_NAME.sub(swap, raw), tokens


_KML_P = rb"(?:[\w.-]+:)?"  # an optional namespace prefix (kml:Schema)
_KML_SCHEMA = re.compile(rb"<" + _KML_P + rb"Schema\b[^>]*?(?:/>|>.*?</" + _KML_P + rb"Schema\s*>)", re.S)
_KML_SCHEMA_DATA = re.compile(rb"</?" + _KML_P + rb"SchemaData\b[^>]*>")
_KML_SIMPLE_DATA = re.compile(rb"<(" + _KML_P + rb")SimpleData(\s+name\s*=\s*(?:\"[^\"]*\"|'[^']*'))\s*"
                              rb"(?:/>|>(.*?)</" + _KML_P + rb"SimpleData\s*>)", re.S)
_KML_UNTYPED_DATA = re.compile(rb"<" + _KML_P + rb"Data\s+name\s*=")


def _kml_untyped(raw: bytes) -> bytes:
    """A KML holding both typed (``<Schema>``/``<SchemaData>``) and untyped (``<Data>``)
    ExtendedData, with every field written untyped: GDAL reads one form per file (with a Schema
    present it drops every ``<Data>``, silently). ``raw`` itself when there is nothing to do."""
    if not (_KML_UNTYPED_DATA.search(raw) and (_KML_SCHEMA.search(raw) or _KML_SCHEMA_DATA.search(raw))):
        return raw
    out = _KML_SCHEMA.sub(b"", raw)
    out = _KML_SIMPLE_DATA.sub(lambda m: b"<" + m.group(1) + b"Data" + m.group(2) + b"><" + m.group(1) + b"value>"
                               + (m.group(3) or b"") + b"</" + m.group(1) + b"value></" + m.group(1) + b"Data>", out)
    return _KML_SCHEMA_DATA.sub(b"", out)


def _read_kml(path: Path, engine: str, *, name: str | None = None) -> gpd.GeoDataFrame:
    """A KML file's placemarks (every layer); ``name`` is how messages call it (a KMZ's name).
    Chinese ``<Data name>`` fields keep their names (read through an ASCII-named copy)."""
    name = name or path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableInput(f"无法读取 KML {name}：{exc.strerror}", f"cannot read KML {name}: {exc.strerror}") from None
    untyped = _kml_untyped(raw)
    rewritten, tokens = _kml_ascii_names(untyped)
    if not tokens and untyped is raw and not needs_plain_path(path):
        return _read_kml_layers(path, engine, name, {}, raw)
    with tempfile.TemporaryDirectory(prefix="zoning-kml-") as tmp:
        copy = Path(tmp) / "sites.kml"
        copy.write_bytes(rewritten)
        try:
            return _read_kml_layers(copy, engine, name, tokens, raw)
        except ZoningError as exc:  # the file is named, never the temporary copy
            exc.zh, exc.en = (t.replace(str(copy), name) for t in (exc.zh, exc.en))
            exc.args = (exc.en,)
            raise


def _kml_names_back(frame: gpd.GeoDataFrame, tokens: dict[str, str]) -> gpd.GeoDataFrame:
    """Token columns renamed to the names written; a name that is already a column (the same field
    as SchemaData elsewhere in the layer) fills that column's gaps."""
    for token in [c for c in frame.columns if c in tokens]:
        written = tokens[token]
        if written in frame.columns:
            frame[written] = frame[written].where(frame[written].notna(), frame[token])
            frame = frame.drop(columns=[token])
        else:
            frame = frame.rename(columns={token: written})
    return frame


_KML_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)


def _read_kml_layers(path: Path, engine: str, name: str, tokens: dict[str, str],
                     raw: bytes = b"") -> gpd.GeoDataFrame:
    if engine != "pyogrio":
        engine = "pyogrio"  # fiona's wheels ship without a KML driver
    try:
        layers = [layer for layer, _ in pyogrio.list_layers(path)]
    except Exception:  # GDAL's words ("parsing aborted on line 2") help nobody: say what it means
        if _KML_DTD.search(raw[:4096]):
            raise UnreadableInput(f"无法读取 KML {name}：文件含 DOCTYPE 或实体（ENTITY）声明，出于安全不予解析；请删除 "
                                  f"<!DOCTYPE …> 声明后重新导出",
                                  f"cannot read KML {name}: it holds a DOCTYPE or entity declaration, which is not "
                                  f"parsed for safety; remove the <!DOCTYPE …> declaration or export it again") from None
        raise not_valid_file(name, path) from None
    frames = [read_vector(path, layer=layer, engine=engine, name=name) for layer in layers]
    frames = [_kml_names_back(f, tokens) for f in frames]
    frames = [f for f in frames if len(f)]
    if not frames:
        raise _err(f"{name} 中没有要素", f"{name} contains no features")
    out = pd.concat(frames, ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=frames[0].crs)
    # LIBKML puts the <Placemark id> in "id" and an ExtendedData field "id" in "id2"
    names = out["Name"].astype(object).where(out["Name"].notna(), "").astype(str).str.strip() \
        if "Name" in out.columns else None
    blank_ids = "id" in out.columns and out["id"].astype(object).where(out["id"].notna(), "").astype(str) \
        .str.strip().isin(["", "nan", "None"]).all()
    if blank_ids:  # placemarks with names only (Google Earth, 奥维互动地图): the names are the ids
        out = out.drop(columns=["id"])
        if names is not None and names.ne("").all() and names.is_unique:
            out["site_id"] = names
    elif "id2" in out.columns:
        out = out.rename(columns={"id": "kml_id", "id2": "id"})
    elif "id" in out.columns and out["id"].astype(str).str.fullmatch(r".+\.\d+").all():
        # ids like "doc.1" are made up by the writer: the placemark names are what users see
        out = out.rename(columns={"id": "kml_id"})
        names = out["Name"].astype(str).str.strip() if "Name" in out.columns else None
        if names is not None and names.ne("").all() and names.is_unique:
            out["site_id"] = names
    out = out.drop(columns=[c for c in _KML_STYLE_COLUMNS if c in out.columns])
    # the project name in ExtendedData (项目名称, XMMC …) is the site's name, as in the GeoJSON,
    # shapefile and table forms of the same sites; the placemark's own <name> is then kept as
    # placemark_name (and stays the site id where it is one)
    index = tables.header_index()
    named = [c for c in out.columns if c != "Name" and isinstance(c, str) and index.get(tables.norm(c)) == "name"
             and not tables.blank_column(out[c])]
    return out.rename(columns={"Name": "placemark_name" if named else "name", "Description": "description"})


def _read_shapefile(shp: Path, engine: str, name: str | None = None) -> tuple[gpd.GeoDataFrame, list[str], bool]:
    """A shapefile; UTF-8 field names cut mid-character at 10 bytes are repaired on a copy.
    ``name``: how messages call it (default: the path as given)."""
    name = name or str(shp)
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None or shapefile_encoding(shp)[0] != "utf-8" or not tables.dbf_needs_repair(dbf):
        return read_vector(shp, engine=engine, name=name), [], False
    with tempfile.TemporaryDirectory(prefix="zoning-shp-") as tmp:
        copy = tables.copy_shapefile(shp, Path(tmp))
        tables.repair_dbf_field_names(copy.with_suffix(dbf.suffix))
        gdf = read_vector(copy, engine=engine, name=name)
    note = (f"{shp.name} 的字段名在 10 字节处被截断（UTF-8 汉字被切开），已按可读部分读取 / field names of {shp.name} "
            f"were cut mid-character at 10 bytes; read by their readable part")
    return gdf, [note], True


def _read_vector_source(path: Path, layer, engine: str) -> tuple[gpd.GeoDataFrame, list[str], bool]:
    """A vector file, a .zip of shapefiles (or other vector files) or a folder holding them.

    Several layers in a zip or folder: ``layer`` picks one by name; without it they are read
    together, with their layer name in a ``layer`` column.
    """
    if path.suffix.lower() == ".shp":
        return _read_shapefile(path, engine)
    if path.suffix.lower() not in (".zip",) and not path.is_dir():
        return read_vector(path, layer=layer, engine=engine), [], False
    if path.suffix.lower() == ".zip" and not path.is_dir() and not zipfile.is_zipfile(path):
        raise not_valid_file(path.name, path)
    tmp = tables.extract_zip(path) if path.suffix.lower() == ".zip" else None
    try:
        folder = Path(tmp.name) if tmp else path
        files = tables.vector_files(folder)
        if layer is not None:
            files = [f for f in files if f.stem == str(layer)] or files[:0]
            if not files:
                raise UnreadableInput(f"{path.name} 中没有名为 {layer} 的图层", f"{path.name} has no layer named {layer}")
        if not files:
            raise UnreadableInput(f"{path.name} 中没有 shapefile 或其他矢量文件",
                                  f"{path.name} holds no shapefile or other vector file")
        frames, notes, truncated = [], [], False
        for f in files:
            # a file inside a zip is named by the zip and its place in it, never the temporary folder
            shown = f"{path.name}/{f.relative_to(folder).as_posix()}" if tmp else str(f)
            if f.suffix.lower() == ".shp":
                frame, more, cut = _read_shapefile(f, engine, shown)
            elif f.suffix.lower() == ".kml":
                frame, more, cut = _read_kml(f, engine, name=shown), [], False
            else:
                frame, more, cut = read_vector(f, engine=engine, name=shown), [], False
            notes += more
            truncated |= cut
            if len(files) > 1:
                frame = frame.to_crs(frames[0].crs) if frames and frame.crs is not None and frames[0].crs is not None \
                    else frame
                # each layer's headers are read on their own (one GBK, one with GDAL-cut UTF-8 names):
                # what is left unrecognised is reported once, by the caller, for the merged frame
                frame, _ = tables.canonical_attributes(frame, None, truncated=cut)
                frame["layer"] = f.stem
            frames.append(frame)
        if len(frames) > 1:
            notes.append(f"{path.name} 含 {len(frames)} 个图层，已合并读取（layer 列记录来源；--layer 可只读一个）/ "
                         f"{path.name} holds {len(frames)} layers, read together (column layer; --layer picks one)")
            gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
            truncated = False  # cut names were matched layer by layer above
        else:
            gdf = frames[0]
        return gdf, notes, truncated
    finally:
        if tmp is not None:
            tmp.cleanup()


def _apply_offset(gdf: gpd.GeoDataFrame, datum: str) -> gpd.GeoDataFrame:
    func = OFFSET_TO_WGS84[datum]

    def conv(coords: np.ndarray) -> np.ndarray:
        lon, lat = func(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    out = gdf.copy()
    out["geometry"] = shapely.transform(gdf.geometry.values, conv)
    return out.set_crs(STORAGE_EPSG, allow_override=True)


#: largest absolute coordinate value accepted (GK eastings with a zone prefix reach 4.6e7)
MAX_COORDINATE = 1e8


def _row_errors(gdf: gpd.GeoDataFrame, label: str) -> dict[int, SiteError]:
    """Per row: the problem found while reading (``_row_error`` column of a table reader), or a
    geometry with a non-finite (NaN, infinity, overflow) or absurd coordinate. Keys are positions."""
    out: dict[int, SiteError] = {}
    if "_row_error" in gdf.columns:
        for i, message in enumerate(gdf.pop("_row_error")):
            if isinstance(message, tuple):
                out[i] = UnreadableInput(*message)
    geoms = gdf.geometry.values
    for i, geom in enumerate(geoms):
        if i in out or geom is None or geom.is_empty:
            continue
        coords = shapely.get_coordinates(geom)
        if not np.isfinite(coords).all():
            out[i] = CRSProblem(f"{label} 第 {i + 1} 个站点的坐标不是有限数值（NaN 或无穷大）",
                                f"{label} site {i + 1}: coordinates are not finite numbers (NaN or infinity)")
        elif np.abs(coords[:, :2]).max() > MAX_COORDINATE:
            big = float(np.abs(coords[:, :2]).max())
            out[i] = CRSProblem(f"{label} 第 {i + 1} 个站点的坐标值 {big:.4g} 超出任何坐标系的范围",
                                f"{label} site {i + 1}: coordinate value {big:.4g} is beyond any coordinate system")
    return out


_MISSING_IDS = {"", "nan", "none", "null", "<na>", "nat"}


def _id_text(value) -> str:
    """An id as text: missing values (None, NaN, pandas NA, "nan") are "", 3.0 is "3"."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    return "" if text.lower() in _MISSING_IDS else text


def _choose_ids(gdf: gpd.GeoDataFrame, source: str, *, on_error: str = "raise") -> tuple[pd.Series, dict]:
    """Site ids: the id column (or names when they are unique, set by the readers), missing ones
    generated (S1, S2 … never clashing with a given id). Duplicate ids refuse the file, or, in a
    batch (``on_error="flag"``), make every row that shares one an error row. Returns (ids, errors)."""
    if "site_id" in gdf.columns:
        given = gdf["site_id"]
    else:
        col = _find(gdf.columns, ID_COLUMNS)
        given = gdf[col] if col else pd.Series([None] * len(gdf), index=gdf.index)
    ids = [_id_text(v) for v in given]
    taken = {i.lower() for i in ids if i}
    n = 0
    for k, value in enumerate(ids):
        if not value:
            n += 1
            while f"s{n}" in taken:
                n += 1
            ids[k] = f"S{n}"
            taken.add(f"s{n}")
    series = pd.Series(ids, index=gdf.index, dtype=object)
    dup = series[series.duplicated(keep=False)]
    errors: dict[int, SiteError] = {}
    if len(dup):
        if on_error == "raise":
            shown = dup.unique().tolist()[:5]
            raise _err(f"{source}：站点编号重复 {shown}；每个站点需要唯一编号",
                       f"{source}: duplicate site ids {shown}; every site needs a unique id")
        for value, rows in dup.groupby(dup, sort=False).groups.items():
            positions = [int(gdf.index.get_loc(r)) for r in rows]
            where = ", ".join(str(p + 1) for p in positions[:5])
            for p in positions:
                errors[p] = _err(f"站点编号 {value!r} 重复（第 {where} 个站点）；每个站点需要唯一编号",
                                 f"duplicate site id {value!r} (sites {where}); every site needs a unique id")
    return series, errors


def _infer_crs_rows(bounds: pd.DataFrame, xs: np.ndarray, ys: np.ndarray, source: str, on_error: str):
    """:func:`_infer_crs` for a batch: when the sites together fit no reading (one bad row), the
    reading that fits some sites wins and the others become error rows (plausibility per site)."""
    try:
        return _infer_crs(xs, ys, source)
    except CRSProblem:
        if on_error != "flag" or len(bounds) < 2:
            raise
        in_deg = ((bounds["minx"] >= CHINA_LON[0]) & (bounds["maxx"] <= CHINA_LON[1])
                  & (bounds["miny"] >= CHINA_LAT[0]) & (bounds["maxy"] <= CHINA_LAT[1])).to_numpy()
        if in_deg.any():
            return CRS.from_epsg(STORAGE_EPSG), "EPSG:4490 (assumed: lon/lat degrees without a CRS)"
        zones = [_zone_epsg(np.array([a, b])) for a, b in zip(bounds["minx"], bounds["maxx"])]
        found = pd.Series([z for z in zones if z is not None])
        if len(found):
            epsg = int(found.value_counts().index[0])
            return CRS.from_epsg(epsg), f"EPSG:{epsg} (from the zone prefix of the eastings)"
        raise


_NUMBER_WORDS = re.compile(r"^\s*\(?\s*[-+]?(?:\d[\d.eE+-]*|inf(?:inity)?|nan)\s*[,，\s]\s*[-+]?(?:\d[\d.eE+-]*|"
                           r"inf(?:inity)?|nan)\s*\)?\s*$", re.I)


def _refuse_number_words(text: str) -> None:
    """A coordinate pair with NaN, infinity or an exponent is refused as such, not as a missing file."""
    parts = [p for p in re.split(r"[;；]", text) if p.strip()]  # a point or a polygon literal "x,y;x,y;…"
    if parts and all(_NUMBER_WORDS.match(p) for p in parts) and re.search(r"(?i)inf|nan|e", text):
        raise CRSProblem(f"坐标应为有限的十进制数：{excerpt(text)}（不接受 NaN、inf 或指数形式）",
                         f"coordinates must be finite decimal numbers: {excerpt(text)} (no NaN, inf or exponents)")


def _plain_rows(geoms) -> np.ndarray:
    """Rows :func:`_check_plausible` and :func:`_check_geometry` would pass unchanged and without a
    word, found for all rows at once (a large file is mostly such rows): a finite 2D point, line of
    some length or valid polygon of some area, inside China. The others go through the checks."""
    arr = np.asarray(geoms, dtype=object)
    if not len(arr):
        return np.zeros(0, dtype=bool)
    with np.errstate(invalid="ignore"):
        bounds = shapely.bounds(arr)  # NaN for missing and empty geometries
        inside = ((bounds[:, 0] >= CHINA_LON[0]) & (bounds[:, 2] <= CHINA_LON[1])
                  & (bounds[:, 1] >= CHINA_LAT[0]) & (bounds[:, 3] <= CHINA_LAT[1]))
    kind = shapely.get_type_id(arr)
    flat = ~shapely.has_z(arr)
    with np.errstate(invalid="ignore"):  # non-finite coordinates (a wrong CRS): such rows are not plain
        polygon = np.isin(kind, (3, 6)) & (shapely.area(arr) >= 1e-9) & (shapely.get_num_coordinates(arr) >= 4)
        polygon[polygon] = shapely.is_valid(arr[polygon])
        line = np.isin(kind, (1, 5)) & (shapely.length(arr) > 0)
    point = np.isin(kind, (0, 4))
    return inside & flat & (polygon | line | point)


def _repaired_polygons(geom):
    """The polygonal part of ``make_valid(geom)`` (empty when nothing of it has an area)."""
    fixed = shapely.make_valid(geom)
    polys = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else shapely.Polygon()


#: GEOS validity reasons in Chinese (the location GEOS gives is kept)
_GEOS_REASONS = {"Self-intersection": "自相交", "Ring Self-intersection": "环自相交", "Too few points": "点数过少",
                "Interior is disconnected": "内部不连通", "Hole lies outside shell": "内环位于外环之外",
                "Nested holes": "内环嵌套", "Nested shells": "外环嵌套", "Duplicate Rings": "环重复",
                "Invalid Coordinate": "坐标无效", "Ring is not closed": "环未闭合"}


def _short_reason(reason: str) -> str:
    """GEOS's reason with its location cut to 6 decimals: ``Self-intersection[118.884500 27.566500]``."""
    return re.sub(r"-?\d+\.\d{7,}", lambda m: f"{float(m.group(0)):.6f}", reason)


def _reason_zh(reason: str) -> str:
    """``Self-intersection[118.8845 27.5665]`` → ``自相交，位置 118.8845 27.5665``."""
    m = re.match(r"([^\[]+)(?:\[(.*)\])?", reason)
    if not m:
        return reason
    head, where = m.group(1).strip(), m.group(2)
    zh = _GEOS_REASONS.get(head, head)
    return f"{zh}，位置 {where}" if where else zh


def _collection_as_one(geom, sid: str) -> tuple[object, str]:
    """A geometry collection as the one kind screening takes: its polygons (points and lines
    ignored), else its lines, else its points; with the note saying what was left out."""
    parts = [p for p in shapely.get_parts(shapely.force_2d(geom)) if not p.is_empty]
    for kinds, zh, en in ((("Polygon", "MultiPolygon"), "面", "polygons"),
                          (("LineString", "MultiLineString"), "线", "lines"), (("Point", "MultiPoint"), "点", "points")):
        kept = [p for p in parts if p.geom_type in kinds]
        if kept:
            dropped = len(parts) - len(kept)
            one = shapely.union_all(kept) if kinds[0] == "Polygon" else (
                shapely.MultiLineString(list(shapely.get_parts(kept))) if kinds[0] == "LineString"
                else shapely.MultiPoint(list(shapely.get_parts(kept))))
            if one.geom_type.startswith("Multi") and len(shapely.get_parts(one)) == 1:
                one = shapely.get_parts(one)[0]
            return one, (f"站点 {sid} 是几何集合：按其中的{zh}筛查，另外 {dropped} 个部分（点、线）已忽略 / site {sid} is a "
                         f"geometry collection: screened by its {en}; {dropped} other part(s) (points, lines) ignored"
                         if dropped else f"站点 {sid} 是几何集合，按其中的{zh}筛查 / site {sid} is a geometry "
                         f"collection: screened by its {en}")
    raise _err(f"站点 {sid} 几何集合为空（没有可用的坐标）", f"site {sid}: an empty geometry collection (no usable coordinates)")


def _check_geometry(geom, sid: str) -> tuple[object, list[str]]:
    """Drop Z, refuse empty/degenerate, repair invalid polygons (or refuse if area changes > 1 %)."""
    warnings: list[str] = []
    if geom is None or geom.is_empty:
        raise _err(f"站点 {sid} 几何为空（没有可用的坐标）", f"site {sid} has an empty geometry (no usable coordinates)")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
        warnings.append("已忽略 Z 坐标 / Z coordinates dropped")
    kind = geom.geom_type
    if kind == "GeometryCollection":  # KML <MultiGeometry>: a polygon with its label point, say
        geom, note = _collection_as_one(geom, sid)
        warnings.append(note)
        kind = geom.geom_type
    if kind.endswith("Polygon"):
        degenerate = _err(f"站点 {sid} 多边形面积为零（退化）", f"site {sid}: degenerate polygon with zero area")
        if shapely.get_num_coordinates(geom) < 4:
            raise degenerate
        # zero area is judged on the polygon as repaired, never on the signed (shoelace) area: a
        # self-intersecting "bow-tie" has a signed area of zero but covers ground, and its real
        # problem (self-intersection, and what a repair would do to its area) is said below
        if geom.is_valid and shapely.area(geom) == 0:
            raise degenerate
        if not geom.is_valid:
            reason = _short_reason(shapely.is_valid_reason(geom))
            fixed = _repaired_polygons(geom)
            if fixed.is_empty or geodesic_area(fixed) < 1e-3:
                raise degenerate  # every point on a line: nothing to repair
            # the area as drawn, whatever the winding: per polygon |shell| − Σ|holes|
            rings = polygon_ring_areas(geom)
            for shell, holes in rings:
                if holes and sum(holes) >= shell:
                    raise _err(f"站点 {sid} 多边形无效（{_reason_zh(reason)}）：内环面积 {sum(holes):,.1f} m² 不小于外环 "
                               f"{shell:,.1f} m²，外环与内环可能颠倒；请把外边界写在第一环",
                               f"site {sid}: invalid polygon ({reason}): its holes ({sum(holes):,.1f} m²) are not "
                               f"smaller than its shell ({shell:,.1f} m²); the rings are probably swapped: put the "
                               f"outer boundary first")
            before = sum(shell - sum(holes) for shell, holes in rings)
            after = geodesic_area(fixed)
            # the change relative to the larger of the two areas: a bow-tie whose signed area cancels
            # (0 m² as drawn) changes by 100 %, not by an infinite share
            change = abs(after - before) / max(before, after, 1e-9)
            if fixed.is_empty or change > MAX_REPAIR_CHANGE:
                raise _err(f"站点 {sid} 多边形无效（{_reason_zh(reason)}），修复后面积变化 {after - before:+,.1f} m²"
                           f"（{change:.1%}）超过 1%；请检查边界点顺序",
                           f"site {sid}: invalid polygon ({reason}); repair would change its area by "
                           f"{after - before:+,.1f} m² ({change:.1%}, > 1 %); check the order of its boundary points")
            warnings.append(f"多边形无效已修复（{_reason_zh(reason)}，面积变化 {after - before:+,.1f} m²，{change:.3%}）/ "
                            f"invalid polygon repaired ({reason}; area change {after - before:+,.1f} m², "
                            f"{change:.3%})")
            geom = fixed
        # a lon/lat area of 1e-9 deg² is >= 7 m² anywhere in China (checked above): only smaller
        # polygons need the (slower) geodesic test
        if shapely.area(geom) < 1e-9 and geodesic_area(geom) < 1e-3:
            raise _err(f"站点 {sid} 多边形面积为零（退化）", f"site {sid}: degenerate polygon with zero area")
    elif kind.endswith("LineString"):
        if shapely.length(geom) == 0:
            raise _err(f"站点 {sid} 线长度为零（退化）", f"site {sid}: degenerate line with zero length")
    elif kind not in ("Point", "MultiPoint"):
        raise _err(f"站点 {sid} 几何类型 {kind} 不受支持", f"site {sid}: geometry type {kind} is not supported")
    return geom, warnings


# ---------------------------------------------------------------------------------------
# CRS plausibility: the other ways the same numbers could have been meant
#: CGCS2000 3-degree Gauss-Kruger zone z (25..45, CM = 3z °E): with zone prefix, and without
#: the largest easting offset (m) from a 3-degree zone's central meridian worth suggesting (±1.5° is ~170 km)
MAX_GK_OFFSET_M = 400_000


def _gk_prefixed_epsg(zone: int) -> int:
    return 4488 + zone


def _gk_bare_epsg(zone: int) -> int:
    return 4509 + zone


def _gk_zone(epsg: int | None) -> tuple[int, bool] | None:
    """(zone, prefixed) of a CGCS2000 3-degree GK EPSG code, else None."""
    if epsg is None:
        return None
    if 4513 <= epsg <= 4533:
        return epsg - 4488, True
    if 4534 <= epsg <= 4554:
        return epsg - 4509, False
    return None


#: the one sentence for swapped survey X/Y (zh, en)
_SWAP_XY = ("X、Y 可能颠倒（X 为北坐标、Y 为东坐标）：请交换 X、Y 两列",
            "X and Y look swapped (X = northing, Y = easting): swap the two columns")


@dataclass(frozen=True)
class Reading:
    """Another reading of a site's coordinates: what to pass or change, in Chinese and English."""

    option: str  # e.g. "--crs 4548", "swap X/Y", "--crs gcj02"
    zh: str
    en: str

    def text(self) -> str:
        return f"{self.zh} / {self.en}"


def source_crs(crs_in: str | None):
    """The CRS (pyproj CRS, or "gcj02"/"bd09") a site was read in, from its ``crs_in`` label."""
    if not crs_in:
        return None
    if crs_in.startswith("GCJ-02"):
        return "gcj02"
    if crs_in.startswith("BD-09"):
        return "bd09"
    m = re.match(r"EPSG:(\d+)", crs_in)
    return CRS.from_epsg(int(m.group(1))) if m else None


def _transform(geom, func):
    """``geom`` with ``func(x, y) -> (x, y)`` applied to every vertex; None if any is not finite."""
    def conv(coords):
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    with np.errstate(all="ignore"):
        try:
            out = shapely.transform(geom, conv)
        except (shapely.errors.GEOSException, ValueError):  # e.g. a ring no longer closed: not a reading
            return None
    return out if np.isfinite(shapely.get_coordinates(out)).all() else None


def _proj(src, dst):
    tr = Transformer.from_crs(src, dst, always_xy=True)
    return lambda x, y: tr.transform(x, y, errcheck=False)


def to_source(geom, src):
    """A stored (EPSG:4490) geometry back in the numbers it was given in (``src`` from :func:`source_crs`)."""
    if isinstance(src, str):
        forward = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}[src]
        return _transform(geom, forward)
    if src.to_epsg() == STORAGE_EPSG:
        return geom
    return _transform(geom, _proj(STORAGE_EPSG, src))


def _swap(x, y):
    return y, x


def _candidate_zones(area_bounds) -> list[int]:
    """GK zones whose central meridian is within 3° of the area (EPSG:4490 bounds)."""
    x0, _, x1, _ = area_bounds
    return [z for z in range(25, 46) if x0 - 3 <= 3 * z <= x1 + 3]


def alternative_readings(geom_src, src, area_bounds) -> list[tuple[Reading, object]]:
    """Other readings of the numbers in ``geom_src`` (as given, in ``src``) and where each puts the
    site (EPSG:4490, or None when it is nowhere). Never applied silently: they become suggestions."""
    out: list[tuple[Reading, object]] = []

    def add(reading: Reading, func):
        out.append((reading, _transform(geom_src, func)))

    coords = shapely.get_coordinates(geom_src)
    degrees = bool(len(coords)) and bool(np.all(np.abs(coords[:, 0]) <= 180) and np.all(np.abs(coords[:, 1]) <= 90))
    if not isinstance(src, str) and not src.is_geographic and degrees:
        # degree values under a projected CRS (a .prj or --crs naming a GK zone for lon/lat numbers):
        # read as metres they sit a few hundred metres from the zone's origin, near the equator
        add(Reading(f"--crs {STORAGE_EPSG}", f"坐标值是经纬度（度），不是 {crs_label(src)} 的米：请用 --crs {STORAGE_EPSG}",
                    f"the values are lon/lat degrees, not metres of {crs_label(src)}: try --crs {STORAGE_EPSG}"),
            lambda x, y: (x, y))
        add(Reading("swap lon/lat", f"坐标值是经纬度且可能颠倒：请交换经度、纬度，并用 --crs {STORAGE_EPSG}",
                    f"the values are lon/lat degrees, probably swapped: swap them and use --crs {STORAGE_EPSG}"), _swap)
        return out
    if isinstance(src, str) or (src.is_geographic and (degrees or not len(coords))):
        current = src if isinstance(src, str) else "plain"
        if current != "plain":
            add(Reading(f"--crs {STORAGE_EPSG}", f"坐标可能已是 CGCS2000/WGS84：改用 --crs {STORAGE_EPSG}（不做转换）",
                        f"the coordinates may already be CGCS2000/WGS84: try --crs {STORAGE_EPSG} (no conversion)"),
                lambda x, y: (x, y))
        swapped = Reading("swap lon/lat", "经纬度可能颠倒：请交换经度、纬度", "longitude and latitude look swapped: "
                          "swap them")
        add(swapped, (lambda x, y: OFFSET_TO_WGS84[current](*_swap(x, y))) if current != "plain" else _swap)
        for datum, zh, en in (("gcj02", "高德/腾讯地图", "Amap/Tencent"), ("bd09", "百度地图", "Baidu")):
            if datum != current:
                add(Reading(f"--crs {datum}", f"若坐标来自{zh}，请加 --crs {datum}",
                            f"if the coordinates come from {en}, pass --crs {datum}"), OFFSET_TO_WGS84[datum])
        return out
    metres_as_degrees = bool(src.is_geographic)  # metre values under a lon/lat CRS (a .prj saying 4490 over GK)
    if metres_as_degrees and area_bounds[2] - area_bounds[0] > 9:
        # China-wide: every bare zone would put the site somewhere in China; name the zones of the
        # area this tool is set up for (Nanping: 117°E and 120°E), not 20 equally likely ones
        area_bounds = (GK_ZONE_BOUNDARY_LON, area_bounds[1], GK_ZONE_BOUNDARY_LON, area_bounds[3])
    xs = shapely.get_coordinates(geom_src)[:, 0]
    zone_now = _gk_zone(src.to_epsg())
    prefixed_values = bool(len(xs)) and bool(np.all(xs >= 1e7))
    for swap in (False, True):
        first = shapely.get_coordinates(geom_src)[:, 1 if swap else 0]
        if len(first) and np.all(first >= 1e7):  # the easting carries its zone: trust it
            zones = sorted({int(z) for z in np.floor(first / 1e6)})
            options = [(z, True) for z in zones if 25 <= z <= 45]
        else:
            options = [(z, False) for z in _candidate_zones(area_bounds)]
        if zone_now is not None:  # the zone that was meant is most likely the one named, or its neighbour
            options.sort(key=lambda o: abs(o[0] - zone_now[0]))
        for zone, prefixed in options:
            epsg = _gk_prefixed_epsg(zone) if prefixed else _gk_bare_epsg(zone)
            if not swap and epsg == src.to_epsg():
                continue
            false_easting = zone * 1e6 * prefixed + 500_000
            if len(first) and np.max(np.abs(first - false_easting)) > MAX_GK_OFFSET_M:
                continue  # no point of a 3-degree zone lies that far from its central meridian
            cm = 3 * zone
            crs = CRS.from_epsg(epsg)
            func = _proj(crs, STORAGE_EPSG)
            if swap:
                zh = _SWAP_XY[0] + ("" if epsg == src.to_epsg() else f"，并把坐标系设为 {epsg}（--crs {epsg}）")
                en = _SWAP_XY[1] + ("" if epsg == src.to_epsg() else f" and set the CRS to {epsg} (--crs {epsg})")
                add(Reading(f"swap X/Y" + ("" if epsg == src.to_epsg() else f" --crs {epsg}"), zh, en),
                    lambda x, y, f=func: f(y, x))
                continue
            if metres_as_degrees:
                zh = f"{_METRES[0].format(crs_label(src))}{epsg}（中央经线 {cm}°E）"
                en = f"{_METRES[1].format(crs_label(src))}{epsg} (CM {cm}E)"
            elif prefixed:
                zh = f"东坐标带有带号 {zone}：请用 --crs {epsg}（3度带第 {zone} 带，中央经线 {cm}°E）"
                en = f"the eastings carry the zone prefix {zone}: try --crs {epsg} (3-degree zone {zone}, CM {cm}E)"
            elif zone_now is not None and zone_now[1] and not prefixed_values:
                zh = (f"东坐标没有带号：请在东坐标前加带号 {zone}，或用 --crs {epsg}（中央经线 {cm}°E）")
                en = (f"the eastings carry no zone prefix: add {zone} in front of them, or try --crs {epsg} "
                      f"(CM {cm}E)")
            else:
                zh = f"可能是另一投影带：请用 --crs {epsg}（CGCS2000 3度带，中央经线 {cm}°E）"
                en = f"another Gauss-Kruger zone: try --crs {epsg} (CGCS2000 3-degree zone, CM {cm}E)"
            add(Reading(f"--crs {epsg}", zh, en), func)
    return out


def crs_suggestions(geom, crs_in: str | None, area, *, limit: int = 3) -> list[Reading]:
    """The readings of ``geom``'s coordinates (stored, EPSG:4490; read as ``crs_in``) that would put
    it wholly inside ``area`` (EPSG:4490) while it is not there now. Suggestions only: nothing is
    converted. Empty when there is no such reading, no area, or the input CRS is unknown."""
    src = source_crs(crs_in)
    if geom is None or geom.is_empty or area is None or src is None:
        return []
    if shapely.covers(area, geom):
        return []
    original = to_source(geom, src)
    if original is None:
        return []
    found: list[Reading] = []
    for reading, moved in alternative_readings(original, src, area.bounds):
        if moved is not None and _in_box(*shapely.get_coordinates(moved).T) and shapely.covers(area, moved):
            if reading not in found:
                found.append(reading)
    return found[:limit]


def _alternatives(values: list[str], zh: bool) -> str:
    """"4547" | "4547 或 4549" | "4548、4547 或 4549" (English: "4548, 4547 or 4549")."""
    if len(values) == 1:
        return values[0]
    return ("、" if zh else ", ").join(values[:-1]) + (" 或 " if zh else " or ") + values[-1]


def _merge_swaps(readings: list[Reading]) -> list[Reading]:
    """The X/Y swap readings as one (swap the columns, with the CRSs that fit): the same
    sentence is never said twice."""
    swaps = [r for r in readings if r.option.startswith("swap X/Y")]
    if len(swaps) < 2:
        return readings
    same = any("--crs" not in r.option for r in swaps)
    codes = [r.option.split("--crs", 1)[1].strip() for r in swaps if "--crs" in r.option]
    if same:
        zh = _SWAP_XY[0] + f"（坐标系不变，或把坐标系（--crs）设为 {_alternatives(codes, True)}）"
        en = _SWAP_XY[1] + f" (keeping the CRS, or setting the CRS (--crs) to {_alternatives(codes, False)})"
    else:
        zh = _SWAP_XY[0] + f"，并把坐标系（--crs）设为 {_alternatives(codes, True)}"
        en = _SWAP_XY[1] + f" and set the CRS (--crs) to {_alternatives(codes, False)}"
    return _replace_group(readings, swaps, Reading("swap X/Y", zh, en))


def _replace_group(readings: list[Reading], group: list[Reading], merged: Reading) -> list[Reading]:
    """``readings`` with the members of ``group`` replaced by ``merged``, where the first of them was."""
    out: list[Reading] = []
    for r in readings:
        if r not in group:
            out.append(r)
        elif merged not in out:
            out.append(merged)
    return out


#: metre values under a lon/lat CRS (zh, en; formatted with the CRS, followed by the EPSG code)
_METRES = ("坐标值是米（高斯-克吕格），不是 {} 的经纬度：请用 --crs ",
           "the values are metres (Gauss-Kruger), not lon/lat of {}: try --crs ")


def _merge_metres(readings: list[Reading]) -> list[Reading]:
    """The "metres, not degrees" readings of several zones as one sentence naming each zone."""
    heads = (_METRES[0].split("{}")[0], _METRES[1].split("{}")[0])
    same = [r for r in readings if r.zh.startswith(heads[0]) and r.en.startswith(heads[1])]
    if len(same) < 2:
        return readings
    lead_zh, lead_en = same[0].zh.split("--crs ")[0] + "--crs ", same[0].en.split("--crs ")[0] + "--crs "
    zh = lead_zh + _alternatives([r.zh.split("--crs ", 1)[1] for r in same], True)
    en = lead_en + _alternatives([r.en.split("--crs ", 1)[1] for r in same], False)
    return _replace_group(readings, same, Reading(" | ".join(r.option for r in same), zh, en))


def suggestion_text(readings: list[Reading]) -> tuple[str, str]:
    """One sentence each (zh, en) naming what to try; empty strings when there is nothing.
    Readings that say the same (swap X and Y, in one of several CRSs) are said once."""
    readings = _merge_metres(_merge_swaps(list(dict.fromkeys(readings))))
    if not readings:
        return "", ""
    return ("；".join(r.zh for r in readings), "; or ".join(r.en for r in readings))


def _check_plausible(geom, sid: str, original=None, src=None) -> None:
    x0, y0, x1, y1 = geom.bounds
    xs, ys = np.array([x0, x1]), np.array([y0, y1])
    if _in_box(xs, ys):
        return
    if not np.isfinite([x0, y0]).all() and original is not None and not original.is_empty:
        x0, y0 = original.bounds[:2]  # no position at all in that CRS: name the numbers as given
    if _in_box(ys, xs):
        raise _err(f"站点 {sid} 经纬度疑似颠倒（{x0:.4f}, {y0:.4f}）；请交换经度与纬度",
                   f"site {sid}: longitude/latitude look swapped ({x0:.4f}, {y0:.4f}); swap them", CRSProblem)
    china = shapely.box(CHINA_LON[0], CHINA_LAT[0], CHINA_LON[1], CHINA_LAT[1])
    tries = []
    if original is not None and src is not None:
        tries = [r for r, moved in alternative_readings(original, src, china.bounds)
                 if moved is not None and shapely.covers(china, moved)][:3]
    zh, en = suggestion_text(list(dict.fromkeys(tries)))
    raise _err(f"站点 {sid} 位于中国范围以外（{x0:.4f}, {y0:.4f}）；坐标系（--crs）可能有误" + (f"：{zh}" if zh else
                                                                                "，请检查坐标值与坐标系"),
               f"site {sid} lies outside China ({x0:.4f}, {y0:.4f}); the CRS (--crs) is probably wrong"
               + (f": {en}" if en else "; check the values and the CRS"), CRSProblem)


def read_sites(source, *, crs=None, engine: str = "pyogrio", layer: str | None = None,
               on_error: str = "raise", fields=None, allow_paths: bool = True) -> gpd.GeoDataFrame:
    """Read project sites from a file, a GeoDataFrame or a coordinate literal.

    Parameters
    ----------
    source : path, GeoDataFrame or str
        A file (GeoJSON, GPKG, SHP, KML, CSV) or a literal such as ``"118.17,26.64"``.
    crs : EPSG code, CRS string, ``"gcj02"`` or ``"bd09"``, optional
        The CRS of the input's coordinates; required when the file has none and the values do
        not identify one. Overrides a file's own CRS (with a warning if they differ).
    fields : mapping, list of ``"CANONICAL=COLUMN"`` or a YAML/JSON mapping file, optional
        Which column holds which attribute, beyond what the headers say (canonical names,
        Chinese names, pinyin initials such as ``XMMC``/``HYDM``, headers with units).
    allow_paths : bool
        ``False``: a string is only ever parsed as coordinates, never opened as a file (a service
        reading text from a client must not reveal or read the server's files).
    on_error : ``"raise"`` or ``"flag"``
        ``"flag"`` keeps unusable sites as rows with an ``error`` message and no geometry
        instead of raising, so a batch is never stopped by one bad site.

    Returns
    -------
    GeoDataFrame in EPSG:4490 with ``site_id``, ``crs_in``, ``warnings`` (list of str), the
    input's attribute columns, and ``error`` when ``on_error="flag"``.
    """
    if on_error not in ("raise", "flag"):
        raise ValueError("on_error must be 'raise' or 'flag'")
    user_crs = parse_crs(crs)
    kind = "file"
    read_notes: list[str] = []
    used_columns: list[str] = []
    truncated = False
    if isinstance(source, gpd.GeoDataFrame):
        gdf, label = source.copy(), "GeoDataFrame"
        kind = "frame"
    else:
        text = str(source)
        if not text.strip():
            raise UnreadableInput("没有给出站点：站点参数为空；请给出站点文件或坐标，如 118.17,26.64",
                                  "no site given: the site argument is empty; pass a site file or coordinates such "
                                  "as 118.17,26.64")
        path = Path(text)
        multi_line = isinstance(source, str) and bool(re.search(r"[\r\n]", text.strip()))
        if not allow_paths:  # text from a client: coordinates or 界址点 text, the file system is never touched
            if not isinstance(source, str):
                raise UnreadableInput("站点应为坐标文本", "the site must be coordinate text")
            exists = False
        else:
            exists = not multi_line and path_exists(path)  # never raises: a 300-digit "name" is ENAMETOOLONG
        if not exists and multi_line:  # 界址点 text or a table, read as the same .txt/.csv file would be
            gdf, kind, used_columns = _text_sites(text, "text")
            read_notes += gdf.attrs.pop("notes", [])
            label = "text"
        elif not allow_paths:
            gdf, kind = _parse_literal(text, user_crs)  # "cannot parse coordinates …" if it is not one
            label = LITERAL_LABEL
        elif not exists and isinstance(source, str) and looks_like_coordinates(text):
            gdf, kind = _parse_literal(text, user_crs)
            label = LITERAL_LABEL
        else:
            if not exists:
                _refuse_number_words(text)
                raise InputFileNotFound(f"站点文件不存在：{path}", f"site file not found: {path}")
            label = path.name
            suffix = path.suffix.lower()
            if suffix in (".csv", ".txt", ".xlsx", ".xls"):
                gdf, kind, used_columns = _csv_sites(path)
                read_notes += gdf.attrs.pop("notes", [])
            elif suffix == ".kml":
                gdf = _read_kml(path, engine)
            elif suffix == ".kmz":
                gdf = _read_kmz(path, engine)
            elif suffix in VECTOR_SUFFIXES or suffix == ".zip" or path_is_dir(path):
                gdf, more, truncated = _read_vector_source(path, layer, engine)
                read_notes += more
            else:
                raise UnreadableInput(
                    f"不支持的站点文件类型 {suffix}；支持 GeoJSON、GPKG、SHP、KML、CSV、XLSX 或坐标字符串",
                    f"unsupported site file type {suffix!r}; use GeoJSON, GPKG, SHP, KML, CSV, XLSX or a coordinate "
                    f"string")
    if len(gdf) == 0:
        raise _err(f"{label} 中没有站点", f"{label} contains no sites")

    gdf = gdf.reset_index(drop=True)
    # per-row problems found while reading (a cell that is not a number, a non-finite or absurd
    # coordinate, a duplicate id): error rows in a batch, the first one raised otherwise
    row_errors = _row_errors(gdf, label)
    gdf["site_id"], id_errors = _choose_ids(gdf, label, on_error=on_error)
    for i, message in id_errors.items():
        row_errors.setdefault(i, message)
    if row_errors and on_error == "raise":
        raise next(iter(row_errors.values()))
    if row_errors:
        gdf.loc[list(row_errors), gdf.geometry.name] = None
    gdf, attr_notes = tables.canonical_attributes(gdf, fields, used=used_columns, truncated=truncated)
    notes: list[str] = read_notes + attr_notes
    file_crs = gdf.crs
    geoms = gdf.geometry
    valid_geoms = geoms[~(geoms.isna() | geoms.is_empty)]
    site_crs: list | None = None  # per row, the CRS its numbers were read in (one for all but mixed GK zones)
    crs_rows: list | None = None  # per row, its crs_in label (the same for all but mixed GK zones)
    originals: list | None = None  # the numbers as given, for plausibility hints
    if isinstance(user_crs, str):  # offset datum, said explicitly by the caller
        if file_crs is not None and file_crs.to_epsg() not in (4326, 4490):
            raise CRSProblem(f"--crs {user_crs} 只能用于经纬度坐标，但 {label} 的坐标系是 {crs_label(file_crs)}",
                             f"--crs {user_crs} applies to lon/lat coordinates, but {label} is in {crs_label(file_crs)}")
        if len(valid_geoms):
            b = valid_geoms.total_bounds
            if not (-180 <= b[0] and b[2] <= 180 and -90 <= b[1] and b[3] <= 90):
                raise CRSProblem(f"--crs {user_crs} 只能用于经纬度坐标，但 {label} 的坐标不是经纬度",
                                 f"--crs {user_crs} applies to lon/lat degrees, but {label} holds projected coordinates")
        gdf = gdf.set_crs(STORAGE_EPSG, allow_override=True)
        originals, site_crs = list(gdf.geometry.values), [user_crs] * len(gdf)  # the numbers as given, for hints
        ok = ~(gdf.geometry.isna() | gdf.geometry.is_empty)
        gdf.loc[ok, "geometry"] = _apply_offset(gdf[ok], user_crs).geometry
        crs_in = f"{crs_label(user_crs)} (converted to CGCS2000)"
        notes.append(f"坐标由 {crs_label(user_crs)} 转换为 CGCS2000 / converted from {crs_label(user_crs)} to CGCS2000")
    else:
        if user_crs is not None:
            # GeoJSON and KML are WGS 84 by definition (GDAL reports 4326 whether or not the file says
            # so): overriding that is no news; any other file's own CRS (a .prj, even a WGS 84 one) is
            if file_crs is not None and kind == "file" and not file_crs.equals(user_crs) \
                    and not (file_crs.to_epsg() == 4326 and label.lower().endswith((".geojson", ".json", ".kml",
                                                                                     ".kmz"))):
                notes.append(f"--crs {crs_label(user_crs)} 覆盖了文件声明的 {crs_label(file_crs)} / "
                             f"--crs overrides the file's {crs_label(file_crs)}")
            gdf = gdf.set_crs(user_crs, allow_override=True)
            crs_in = crs_label(user_crs)
        elif file_crs is not None and kind in ("file", "frame"):
            crs_in = crs_label(file_crs)
        else:
            if len(valid_geoms) == 0:
                raise _err(f"{label} 中没有有效几何", f"{label} has no usable geometry")
            zones = _zones_of_rows(gdf.geometry.values)
            if zones is not None and len(set(zones[zones >= 0].tolist())) > 1:
                # survey tables of a city on a zone boundary (Nanping: 39 and 40): each site in its own
                # zone; a site whose corners carry two prefixes is an error row
                originals = list(gdf.geometry.values)
                gdf, site_crs, crs_rows = _read_each_zone(gdf, zones, label, row_errors, on_error)
                crs_in = None
                notes.append(f"东坐标带号不止一个（{'、'.join(map(str, sorted(set(zones[zones > 0].tolist()))))}）：每个站点按"
                             f"自身带号换算 / the eastings carry several zone prefixes "
                             f"({', '.join(map(str, sorted(set(zones[zones > 0].tolist()))))}): each site is read in "
                             f"its own zone")
            else:
                b = valid_geoms.bounds
                xs = np.concatenate([b["minx"].to_numpy(), b["maxx"].to_numpy()])
                ys = np.concatenate([b["miny"].to_numpy(), b["maxy"].to_numpy()])
                inferred, crs_in = _infer_crs_rows(valid_geoms.bounds, xs, ys, label, on_error)
                gdf = gdf.set_crs(inferred, allow_override=True)
                if inferred.to_epsg() == STORAGE_EPSG:
                    notes.append("未声明坐标系，按 CGCS2000 经纬度处理；若坐标来自高德/腾讯地图，请把坐标系设为 gcj02（--crs gcj02）/ "
                                 "no CRS given: read as CGCS2000 lon/lat; if the coordinates come from Amap/Tencent, "
                                 "set the CRS to gcj02 (--crs gcj02)")
        if site_crs is None:
            gdf = _prefix_of_plain_zone(gdf, notes)
            site_crs = [gdf.crs] * len(gdf)
            crs_in = crs_label(gdf.crs) if user_crs is not None else crs_in
            _refuse_other_zones(gdf, label, row_errors, on_error)
        if originals is None:
            originals = list(gdf.geometry.values)
        if gdf.crs.to_epsg() != STORAGE_EPSG:
            # the vertices moved as GeoDataFrame.to_crs moves them (same always-xy PROJ pipeline), on
            # the array: a one-site request pays no frame indexing for it
            values = np.asarray(gdf.geometry.values, dtype=object)
            ok = ~(shapely.is_missing(values) | shapely.is_empty(values))
            moved = values.copy()
            moved[ok] = transform(values[ok], gdf.crs, STORAGE_EPSG)
            gdf = gdf.set_geometry(gpd.GeoSeries(moved, index=gdf.index, crs=STORAGE_EPSG))

    out_geoms, warnings, errors = [], [], []
    plain = _plain_rows(gdf.geometry.values)
    for i, (sid, geom, original) in enumerate(zip(gdf["site_id"], gdf.geometry, originals)):
        if plain[i] and i not in row_errors:  # nothing for the checks below to say: as it is
            out_geoms.append(geom)
            warnings.append(list(notes))
            errors.append(None)
            continue
        if i in row_errors:
            out_geoms.append(None)
            warnings.append(list(notes))
            errors.append(row_errors[i].one_line(full=True))
            continue
        try:
            if geom is not None and not geom.is_empty:  # first: a wrong CRS can leave non-finite coordinates
                _check_plausible(geom, sid, original, site_crs[i])
            g, w = _check_geometry(geom, sid)
            out_geoms.append(g)
            warnings.append(notes + w)
            errors.append(None)
        except (SiteError, CRSProblem) as exc:  # one implausible site is an error row in a batch
            if on_error == "raise":
                raise
            out_geoms.append(None)
            warnings.append(list(notes))
            errors.append(exc.one_line(full=True))
    # the result in one construction: ids, input CRS, notes (and errors), the input's columns, geometry
    front = ["site_id", "crs_in", "warnings"] + (["error"] if on_error == "flag" else [])
    name = gdf.geometry.name
    rest = [c for c in gdf.columns if c not in front and c not in (name, "geometry", "_n")]
    crs_rows = crs_rows or [crs_in] * len(gdf)
    columns = {"site_id": gdf["site_id"], "crs_in": pd.Series(crs_rows, index=gdf.index),
               "warnings": pd.Series(warnings, index=gdf.index, dtype=object)}
    if on_error == "flag":
        columns["error"] = pd.Series(errors, index=gdf.index, dtype=object)
    columns.update({c: gdf[c] for c in rest})
    columns["geometry"] = gpd.GeoSeries(out_geoms, index=gdf.index, crs=STORAGE_EPSG)
    return gpd.GeoDataFrame(columns, geometry="geometry", crs=STORAGE_EPSG)
