"""Coordinate reference systems, Chinese coordinate conventions and offset datums.

Storage CRS is CGCS2000 geographic (EPSG:4490). Lengths and areas are measured in metres in
the CGCS2000 3-degree Gauss-Kruger zone that fits the site (CM 117°E west of 118°30'E,
CM 120°E east of it) or, for city-wide sums, in one Albers equal-area CRS.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer

from zoning.errors import CRSProblem

STORAGE_EPSG = 4490
STORAGE_CRS = CRS.from_epsg(STORAGE_EPSG)
GK_CM117_EPSG = 4548  # CGCS2000 / 3-degree Gauss-Kruger CM 117E (no zone prefix)
GK_CM120_EPSG = 4549  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
GK_ZONE_BOUNDARY_LON = 118.5
#: zone-prefixed Gauss-Kruger eastings: first digits of the easting (the zone) -> EPSG, for every
#: CGCS2000 zone of China: 3-degree zones 25-45 (EPSG:4513-4533; Nanping 39/40) and 6-degree
#: zones 13-23 (EPSG:4491-4501; Nanping 20). The two ranges do not overlap: a prefix names one.
GK_ZONE_PREFIX_EPSG = {**{z: 4513 + z - 25 for z in range(25, 46)}, **{z: 4491 + z - 13 for z in range(13, 24)}}
#: the zone of a zone-prefixed Gauss-Kruger EPSG code
GK_ZONE_OF_PREFIX_EPSG = {epsg: zone for zone, epsg in GK_ZONE_PREFIX_EPSG.items()}
#: a zone-prefixed CGCS2000 3-degree EPSG code -> the same zone without the prefix (by central
#: meridian: zone 39 EPSG:4527 -> CM 117E EPSG:4548)
GK_PLAIN_OF_PREFIXED = {4513 + z - 25: 4534 + z - 25 for z in range(25, 46)}
#: Albers equal-area on the CGCS2000 (GRS80) ellipsoid, fitted to Nanping, for city-wide sums.
EQUAL_AREA_CRS = CRS.from_proj4(
    "+proj=aea +lat_0=27 +lon_0=118 +lat_1=26 +lat_2=28.5 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"
)
#: CGCS2000 uses GRS80's parameters to within 0.1 mm of semi-minor axis.
GEOD = Geod(ellps="GRS80")
#: rough box of mainland China and islands, for sanity checks of geographic coordinates
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)

OFFSET_DATUMS = {"gcj02", "bd09"}

#: Longest edge (degrees) a stored lon/lat geometry keeps before it is projected. An edge is a
#: straight line in the stored CRS (EPSG:4490) but a curve in Gauss-Kruger or Albers; projecting
#: only its vertices puts a chord in its place, off by about 129 m × (L / 1°)² in the middle
#: (measured over Nanping, 116.9-119.6°E, 26-28.5°N, in EPSG:4548, EPSG:4549 and EQUAL_AREA_CRS:
#: 16.7 m for the 0.36° edges of the sample units, 1.3 m for 0.1°, 1.3 cm for 0.01°). Edges cut
#: to 0.005° (~500 m) stay within 3.2 mm of the true edge (tests/test_geometry_truth.py).
DENSIFY_DEG = 0.005
#: the same for geometries stored in a projected CRS (metres)
DENSIFY_M = 500.0


def gk_epsg_for_lon(lon: float) -> int:
    """The 3-degree Gauss-Kruger CRS (EPSG code) for a site at longitude ``lon`` (degrees)."""
    return GK_CM117_EPSG if lon < GK_ZONE_BOUNDARY_LON else GK_CM120_EPSG


def densify(geoms, max_segment: float = DENSIFY_DEG) -> np.ndarray:
    """Geometries with extra vertices so no edge is longer than ``max_segment`` (CRS units).

    Vertices are inserted on the straight edges in the geometry's own CRS, so the shape does not
    change there (areas equal to 1e-13); projected afterwards, the edges follow their true
    curves. Rings and lines are densified one by one and the polygons rebuilt: GEOS densifies a
    polygon and then "repairs" it with buffer(0), which drops parts of valid MultiPolygons
    (seen with GEOS 3.14 on the sample control units), so polygons never go through it whole.
    """
    arr = np.array(geoms, dtype=object, copy=True).ravel()
    if len(arr) == 0:
        return arr
    with np.errstate(invalid="ignore"):  # a NaN vertex stays NaN (the caller refuses it), without a warning
        return _densify(arr, max_segment)


def _densify(arr: np.ndarray, max_segment: float) -> np.ndarray:
    tid = shapely.get_type_id(arr)
    filled = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    # no edge is longer than the bounding box's diagonal: small geometries need nothing
    b = shapely.bounds(arr)
    filled &= ~(np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) <= max_segment)
    # infinite coordinates cannot be cut into segments: left as they are for the caller to refuse
    filled &= np.isfinite(b).all(axis=1)
    polys = np.flatnonzero(np.isin(tid, (3, 6)) & filled)
    if len(polys):
        parts, part_of = shapely.get_parts(arr[polys], return_index=True)
        parts_ok = ~shapely.is_empty(parts)
        parts, part_of = parts[parts_ok], part_of[parts_ok]
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        rebuilt = shapely.polygons(shapely.segmentize(rings, max_segment), indices=ring_of)
        single = (tid[polys] == 3) & (np.bincount(part_of, minlength=len(polys)) == 1)
        first = np.searchsorted(part_of, np.arange(len(polys)))
        arr[polys[single]] = rebuilt[first[single]]
        multi = np.flatnonzero(~single)
        if len(multi):
            keep = np.isin(part_of, multi)
            arr[polys[multi]] = shapely.multipolygons(rebuilt[keep], indices=np.searchsorted(multi, part_of[keep]))
    lines = np.flatnonzero(np.isin(tid, (1, 2, 5)) & filled)
    if len(lines):
        arr[lines] = shapely.segmentize(arr[lines], max_segment)
    for i in np.flatnonzero((tid == 7) & filled):  # collections: part by part
        arr[i] = shapely.GeometryCollection(list(densify(shapely.get_parts(arr[i]), max_segment)))
    return arr


@lru_cache(maxsize=64)
def transformer(src, dst) -> Transformer:
    """A cached always-xy transformer between two CRSs (EPSG codes or CRS objects)."""
    return Transformer.from_crs(src, dst, always_xy=True)


def transform(geoms, src, dst) -> np.ndarray:
    """Geometries' vertices moved from ``src`` to ``dst`` (no densification: see :func:`project`)."""
    tr = transformer(src if isinstance(src, (int, str)) else CRS.from_user_input(src),
                     dst if isinstance(dst, (int, str)) else CRS.from_user_input(dst))

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    arr = np.array(geoms, dtype=object, copy=True).ravel()
    return shapely.transform(arr, move) if len(arr) else arr


def project(geoms, dst, *, src=STORAGE_EPSG, max_segment: float | None = None) -> np.ndarray:
    """Stored geometries faithfully in ``dst``: densified in ``src`` first, then projected.

    Containment, areas and distances measured on the result agree with the stored geometry
    (edges straight in ``src``) to a few millimetres. ``max_segment`` defaults to
    :data:`DENSIFY_DEG` for a geographic ``src`` and :data:`DENSIFY_M` for a projected one.
    """
    if max_segment is None:
        max_segment = DENSIFY_DEG if CRS.from_user_input(src).is_geographic else DENSIFY_M
    return transform(densify(geoms, max_segment), src, dst)


def parse_crs(text: str | int | None) -> CRS | str | None:
    """Parse a user CRS option: ``4490``, ``EPSG:4548``, a WKT/PROJ string, or gcj02/bd09.

    Returns a pyproj CRS, or the string ``"gcj02"``/``"bd09"`` for the offset datums.
    """
    if text is None or text == "":
        return None
    if isinstance(text, CRS):
        return text
    s = str(text).strip()
    low = s.lower().replace("-", "").replace("_", "")
    if low in OFFSET_DATUMS:
        return low
    if low in {"wgs84", "cgcs2000"}:
        return CRS.from_epsg(4326 if low == "wgs84" else 4490)
    if s.isdigit():
        s = f"EPSG:{s}"
    try:
        return CRS.from_user_input(s)
    except Exception:
        raise CRSProblem(
            f"无法识别的坐标系 {text!r}；请使用 EPSG 代码（如 4490、4548）或 gcj02/bd09",
            f"unrecognised CRS {text!r}; use an EPSG code (e.g. 4490, 4548) or gcj02/bd09",
        ) from None


def crs_label(crs: CRS | str | None) -> str:
    """Short label for a CRS, e.g. ``EPSG:4548`` or ``GCJ-02``."""
    if crs is None:
        return "unknown"
    if isinstance(crs, str):
        return {"gcj02": "GCJ-02", "bd09": "BD-09"}.get(crs, crs)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


# ---------------------------------------------------------------------------------------
# GCJ-02 / BD-09. The forward GCJ-02 obfuscation is the published algorithm; the inverses are
# computed by fixed-point iteration on the forward function (error well under 1 mm).
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """WGS84/CGCS2000 degrees -> GCJ-02 degrees (vectorised)."""
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_bd09(lon, lat):
    """GCJ-02 degrees -> BD-09 degrees (vectorised)."""
    x = np.asarray(lon, dtype="float64")
    y = np.asarray(lat, dtype="float64")
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def wgs84_to_bd09(lon, lat):
    """WGS84/CGCS2000 degrees -> BD-09 degrees (vectorised)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(forward, lon, lat, *, tol: float = 1e-10, max_iter: int = 50):
    """Solve forward(w) = (lon, lat) for w by fixed-point iteration (Jacobian ~ identity)."""
    tlon = np.asarray(lon, dtype="float64")
    tlat = np.asarray(lat, dtype="float64")
    wlon, wlat = tlon.copy(), tlat.copy()
    for _ in range(max_iter):
        flon, flat = forward(wlon, wlat)
        elon, elat = flon - tlon, flat - tlat
        wlon = wlon - elon
        wlat = wlat - elat
        if np.nanmax(np.abs(np.concatenate([np.ravel(elon), np.ravel(elat)])), initial=0.0) < tol:
            break
    return wlon, wlat


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 degrees -> WGS84/CGCS2000 degrees (vectorised inverse, error < 1 mm)."""
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_wgs84(lon, lat):
    """BD-09 degrees -> WGS84/CGCS2000 degrees (vectorised inverse, error < 1 mm)."""
    return _invert(wgs84_to_bd09, lon, lat)


OFFSET_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


# ---------------------------------------------------------------------------------------
# Degrees given as 度分秒
_DMS_RE = re.compile(
    r"""(?P<deg>\d+(?:\.\d+)?)\s*(?:°|º|度)\s*
        (?:(?P<min>\d+(?:\.\d+)?)\s*(?:'|′|’|分)\s*)?
        (?:(?P<sec>\d+(?:\.\d+)?)\s*(?:"|″|”|''|′′|秒)\s*)?
        (?P<hem>[NSEWnsew](?![A-Za-z])|[东西南北](?![纬经]))?""",
    re.VERBOSE,
)
_HEM_PREFIX_RE = re.compile(r"(东经|北纬|南纬|西经|[NSEWnsew])\s*$")


def parse_dms_pair(text: str) -> tuple[float, float]:
    """Parse two angles written in 度分秒 (e.g. ``118°10'30"E 26°38'24"N``) into (lon, lat).

    Hemisphere letters (N/E, 北纬/东经, before or after the number) decide which is which;
    without them the order is taken as given and checked by value later.
    """
    values: list[tuple[float, str | None]] = []
    for m in _DMS_RE.finditer(text):
        deg = float(m.group("deg"))
        minutes = float(m.group("min") or 0)
        seconds = float(m.group("sec") or 0)
        if minutes >= 60 or seconds >= 60:
            raise CRSProblem(f"度分秒格式错误：{m.group(0)!r}（分、秒须小于 60）",
                             f"bad degrees-minutes-seconds {m.group(0)!r}: minutes and seconds must be < 60")
        hem = m.group("hem")
        if hem is None:
            prefix = _HEM_PREFIX_RE.search(text[: m.start()])
            hem = prefix.group(1) if prefix else None
        values.append((deg + minutes / 60 + seconds / 3600, hem))
    if len(values) != 2:
        raise CRSProblem(f"无法解析度分秒坐标 {text!r}：需要两个角度（经度和纬度）",
                         f"cannot parse {text!r}: expected two angles (longitude and latitude)")
    (a, ha), (b, hb) = values
    sign = {"S": -1, "s": -1, "W": -1, "w": -1, "南": -1, "西": -1, "南纬": -1, "西经": -1}
    a *= sign.get(ha or "", 1)
    b *= sign.get(hb or "", 1)
    lat_marks = {"N", "n", "S", "s", "北", "南", "北纬", "南纬"}
    if (ha in lat_marks) or (hb is not None and hb not in lat_marks):
        return b, a
    return a, b
