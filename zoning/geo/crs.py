"""Coordinate reference systems, Chinese coordinate conventions and offset datums.

Storage CRS is CGCS2000 geographic (EPSG:4490). Lengths and areas are measured in metres in
the CGCS2000 3-degree Gauss-Kruger zone that fits the site (CM 117°E west of 118°30'E,
CM 120°E east of it) or, for city-wide sums, in one Albers equal-area CRS.
"""
from __future__ import annotations

import re

import numpy as np
from pyproj import CRS, Geod

from zoning.errors import CRSProblem

STORAGE_EPSG = 4490
STORAGE_CRS = CRS.from_epsg(STORAGE_EPSG)
GK_CM117_EPSG = 4548  # CGCS2000 / 3-degree Gauss-Kruger CM 117E (no zone prefix)
GK_CM120_EPSG = 4549  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
GK_ZONE_BOUNDARY_LON = 118.5
#: zone-prefixed Gauss-Kruger eastings: first digits of the easting -> EPSG
GK_ZONE_PREFIX_EPSG = {39: 4527, 40: 4528, 20: 4498}
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


def gk_epsg_for_lon(lon: float) -> int:
    """The 3-degree Gauss-Kruger CRS (EPSG code) for a site at longitude ``lon`` (degrees)."""
    return GK_CM117_EPSG if lon < GK_ZONE_BOUNDARY_LON else GK_CM120_EPSG


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
