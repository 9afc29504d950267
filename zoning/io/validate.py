"""One validation of a catalog layer, shared by ``zoning layers check`` and screening.

:func:`validate_layer` reads a layer once and says what is usable: the layer's status
(``ok``, ``empty``, ``partial`` = some features unusable, ``failed`` = nothing usable), the ids
of unusable features with the reason, the usable features (canonical fields, EPSG:4490) and
the findings ``layers check`` prints. Screening (:func:`zoning.io.layerset.load_layerset`)
takes the same status into every result, so a layer ``layers check`` fails is never "ok" in a
screening, and a feature ``layers check`` reports is never silently dropped.

Per feature: null or empty geometry, coordinates out of range (not finite, or outside China),
invalid geometry, wrong geometry type, unknown unit class.
Per layer: unreadable, no CRS, missing canonical fields, and coordinates that do not fit the
declared CRS (every feature out of range, e.g. Gauss-Kruger metres labelled EPSG:4490, or none
near the layer set's area, e.g. a mislabelled Gauss-Kruger zone).
Rasters: unreadable or corrupt (first and last block of every band are decoded), no CRS,
no units, extent outside China.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.warp
import shapely
from pyproj import CRS, Transformer

from zoning.errors import ZoningError
from zoning.geo.crs import CHINA_LAT, CHINA_LON, STORAGE_EPSG, crs_label, parse_crs
from zoning.io.catalog import LayerSpec, read_source
from zoning.vocabulary import ROLES, UNIT_CLASSES

UNIT_CODE_RE = re.compile(r"^ZH(\d{6})([123])(\d{4})$")
#: a layer none of whose features comes within this (degrees) of the layer set's area does not fit its CRS
AREA_MARGIN_DEG = 0.5
#: at most this many ids of unusable features are named in a one-line detail
DETAIL_IDS = 10


@dataclass
class Finding:
    layer: str
    role: str
    check: str
    ok: bool
    detail: str

    def as_record(self) -> dict:
        return asdict(self)


@dataclass
class LayerCheck:
    """What :func:`validate_layer` found in one catalog entry."""

    spec: LayerSpec
    status: str  # ok | empty | partial | failed
    detail: str
    findings: list[Finding] = field(default_factory=list)
    #: problem -> ids of the features with that problem (in file order)
    bad: dict[str, list[str]] = field(default_factory=dict)
    #: usable features, canonical fields, EPSG:4490 (vector layers that did not fail), else None
    frame: gpd.GeoDataFrame | None = None
    n_features: int = 0

    @property
    def bad_ids(self) -> list[str]:
        return list(dict.fromkeys(i for ids in self.bad.values() for i in ids))


def feature_ids(gdf: pd.DataFrame, role: str) -> list[str]:
    """A name for every feature: its unit/county ``code`` or ``id``, else ``#n`` (1-based row)."""
    key = "code" if (role in ("admin", "control_unit") or "id" not in gdf.columns) and "code" in gdf.columns else "id"
    values = gdf[key].tolist() if key in gdf.columns else [None] * len(gdf)
    out = []
    for i, v in enumerate(values, 1):
        text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
        out.append(text or f"#{i}")
    return out


def bad_detail(bad: dict[str, list[str]], total: int, limit: int = DETAIL_IDS) -> str:
    """``"2 of 63 features unusable: null geometry: RL-7; invalid geometry: RL-9 (Self-intersection)"``."""
    ids = list(dict.fromkeys(i for v in bad.values() for i in v))
    parts = []
    for problem, which in bad.items():
        shown = ", ".join(which[:limit]) + (f" … (+{len(which) - limit})" if len(which) > limit else "")
        parts.append(f"{problem}: {shown}")
    return f"{len(ids)} of {total} features unusable: " + "; ".join(parts)


def _range_mask(bounds: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """(out of range, lon/lat bounds) per feature from its bounds in ``crs``: not finite, or
    outside China."""
    n = len(bounds)
    lonlat = np.full((n, 4), np.nan)
    finite = np.isfinite(bounds).all(axis=1)
    if crs.is_geographic:
        lonlat[finite] = bounds[finite]
    elif finite.any():
        tr = Transformer.from_crs(crs, STORAGE_EPSG, always_xy=True)
        b = bounds[finite]
        xs = np.column_stack([b[:, 0], b[:, 2], b[:, 0], b[:, 2]])
        ys = np.column_stack([b[:, 1], b[:, 1], b[:, 3], b[:, 3]])
        with np.errstate(all="ignore"):
            lon, lat = tr.transform(xs, ys, errcheck=False)
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        lonlat[finite] = np.column_stack([lon.min(axis=1), lat.min(axis=1), lon.max(axis=1), lat.max(axis=1)])
    ok = np.isfinite(lonlat).all(axis=1)
    ok &= (lonlat[:, 0] >= CHINA_LON[0]) & (lonlat[:, 2] <= CHINA_LON[1])
    ok &= (lonlat[:, 1] >= CHINA_LAT[0]) & (lonlat[:, 3] <= CHINA_LAT[1])
    return ~ok, lonlat


def _near_area(lonlat: np.ndarray, area_box) -> np.ndarray:
    """Features whose lon/lat bounds come within AREA_MARGIN_DEG of the layer set's area."""
    x0, y0, x1, y1 = area_box
    m = AREA_MARGIN_DEG
    with np.errstate(invalid="ignore"):
        return (lonlat[:, 2] >= x0 - m) & (lonlat[:, 0] <= x1 + m) & (lonlat[:, 3] >= y0 - m) & (lonlat[:, 1] <= y1 + m)


def _crs_misfit(bounds: np.ndarray, crs: CRS, lonlat: np.ndarray, area_box) -> tuple[str, str]:
    """Why every feature is out of range: a sentence (zh, en) about the declared CRS."""
    b = bounds[np.isfinite(bounds).all(axis=1)]
    span = (f"x {b[:, 0].min():.6g}…{b[:, 2].max():.6g}, y {b[:, 1].min():.6g}…{b[:, 3].max():.6g}"
            if len(b) else "no finite coordinates")
    label = crs_label(crs)
    if crs.is_geographic and len(b) and np.nanmax(np.abs(b)) > 360:
        hint_zh, hint_en = "数值像投影坐标（米，如高斯-克吕格），而非经纬度", "the values look like projected metres " \
            "(e.g. Gauss-Kruger), not degrees"
    elif not crs.is_geographic and len(b) and np.nanmax(np.abs(b)) <= 180:
        hint_zh, hint_en = "数值像经纬度，而非投影坐标（米）", "the values look like degrees, not projected metres"
    elif area_box is not None and np.isfinite(lonlat).all(axis=1).any():
        hint_zh, hint_en = "图层落在图层集范围以外，坐标系（如投影带）可能标注错误", \
            "the layer lands outside the layer set's area: its CRS (e.g. the Gauss-Kruger zone) is probably mislabelled"
    else:
        hint_zh, hint_en = "坐标超出该坐标系的合理范围", "the coordinates are out of range for this CRS"
    return (f"坐标与声明的坐标系 {label} 不符（{span}）：{hint_zh}；请修正文件的坐标系",
            f"coordinates do not fit the declared CRS {label} ({span}): {hint_en}; fix the file's CRS")


def validate_vector(spec: LayerSpec, *, engine: str = "pyogrio", area_box=None) -> LayerCheck:
    """Validate a vector layer (see the module docstring). ``area_box``: lon/lat bounds of the
    layer set's area (the admin layer), or None (then only China's extent is checked)."""
    findings: list[Finding] = []
    add = lambda check, ok, detail="": findings.append(Finding(spec.name, spec.role, check, ok, detail))  # noqa: E731

    def failed(detail: str) -> LayerCheck:
        return LayerCheck(spec, "failed", detail, findings)

    if not spec.table and not spec.path.exists():
        add("exists", False, f"missing file {spec.path} (run `zoning sample build` for the sample set)")
        return failed(f"missing file {spec.path}")
    try:
        raw = read_source(spec, engine=engine)  # a file, or a PostGIS table
    except ZoningError as exc:
        add("readable", False, exc.en)
        return failed(f"cannot be read: {exc.en}")
    add("readable", True, f"{len(raw)} features")
    crs = raw.crs
    if crs is None:
        if not spec.crs:
            add("crs", False, "no CRS (missing .prj?) and none declared in the catalog")
            return failed("no CRS (missing .prj?); declare it with 'crs:' in the catalog")
        crs = parse_crs(spec.crs)
        raw = raw.set_crs(crs)
    add("crs", True, str(raw.crs.to_string() if raw.crs is not None else spec.crs)[:80])
    gdf = raw.rename(columns={k: v for k, v in spec.fields.items() if k in raw.columns})
    missing = [f for f in ROLES[spec.role].fields if f not in gdf.columns]
    if missing:
        detail = (f"layer {spec.name} lacks canonical fields {missing}; map them under 'fields' in the catalog "
                  f"(source fields present: {[c for c in raw.columns if c != 'geometry']})")
        add("fields", False, detail)
        return failed(detail)
    add("fields", True, ", ".join(ROLES[spec.role].fields))
    n = len(gdf)
    ids = feature_ids(gdf, spec.role)
    geoms = gdf.geometry.values
    null = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms), dtype=bool)
    bounds = shapely.bounds(geoms)
    out_of_range, lonlat = _range_mask(bounds, CRS.from_user_input(crs))
    out_of_range &= ~null
    present = ~null
    # the layer as a whole must fit its CRS: not every feature out of range, and (when the layer
    # set's area is known) some feature near it. Single features far away are kept: a provincial
    # layer may well reach beyond a city's area.
    misfit = bool(present.any()) and (bool(out_of_range[present].all()) or (
        area_box is not None and not _near_area(lonlat[present & ~out_of_range], area_box).any()))
    if n and misfit:
        zh, en = _crs_misfit(bounds[present], CRS.from_user_input(crs), lonlat[present], area_box)
        add("crs fit", False, en)
        return failed(en)
    add("crs fit", True, f"coordinates fit {crs_label(CRS.from_user_input(crs))}")
    usable = present & ~out_of_range
    invalid = np.zeros(n, dtype=bool)
    invalid[usable] = ~shapely.is_valid(geoms[usable])
    polygonal = np.asarray([g is not None and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms])
    wrong_type = usable & ~invalid & ~polygonal if spec.role != "program" else np.zeros(n, dtype=bool)
    bad: dict[str, list[str]] = {}  # problem -> feature ids
    why: dict[str, list[str]] = {}  # problem -> "id (reason)" for the findings

    def mark(problem: str, mask: np.ndarray, reason=None) -> None:
        if mask.any():
            bad[problem] = [ids[i] for i in np.flatnonzero(mask)]
            why[problem] = [ids[i] + (f" ({reason(i)})" if reason else "") for i in np.flatnonzero(mask)]

    mark("null or empty geometry", null)
    mark("coordinates out of range", out_of_range)
    mark("invalid geometry", invalid, lambda i: shapely.is_valid_reason(geoms[i]))
    mark("not a polygon", wrong_type, lambda i: geoms[i].geom_type)
    unknown_class = np.zeros(n, dtype=bool)
    if spec.role == "control_unit":
        unknown_class = ~gdf["class"].astype(str).isin(list(UNIT_CLASSES)).to_numpy()
        mark("unknown unit class", unknown_class, lambda i: str(gdf["class"].iloc[i]))
    geom_bad = null | out_of_range | invalid | wrong_type
    add("geometry", not geom_bad.any(),
        bad_detail({k: v for k, v in why.items() if k != "unknown unit class"}, n) if geom_bad.any()
        else f"{n} features: none null, empty, out of range or invalid")
    _role_findings(spec, gdf, add)
    unusable = geom_bad | unknown_class
    bad_ids = bad
    keep = [c for c in gdf.columns if c != "geometry"]
    good = gpd.GeoDataFrame(gdf.loc[~unusable, keep], geometry=gdf.geometry[~unusable], crs=crs)
    if good.crs.to_epsg() != STORAGE_EPSG:
        good = good.to_crs(STORAGE_EPSG)
    if n == 0:
        return LayerCheck(spec, "empty", "0 features", findings, {}, good, 0)
    if unusable.all():
        return LayerCheck(spec, "failed", "no usable feature: " + bad_detail(bad_ids, n), findings, bad_ids, None, n)
    if unusable.any():
        return LayerCheck(spec, "partial", bad_detail(bad_ids, n), findings, bad_ids, good, n)
    return LayerCheck(spec, "ok", f"{n} features", findings, {}, good, n)


def _role_findings(spec: LayerSpec, gdf: gpd.GeoDataFrame, add) -> None:
    """Findings that do not make a feature unusable: geometry types, unit codes, duplicate ids."""
    kinds = set(gdf.geometry.dropna().geom_type)
    if spec.role != "program" and not kinds <= {"Polygon", "MultiPolygon"}:
        add("geometry type", False, f"zones must be polygons, found {sorted(kinds)}")
    if spec.role == "control_unit":
        bad_class = sorted(set(gdf["class"].astype(str)) - set(UNIT_CLASSES))
        add("unit classes", not bad_class,
            f"unknown classes {bad_class}; expected {'/'.join(UNIT_CLASSES)}" if bad_class else "/".join(UNIT_CLASSES))
        problems = []
        for code, cls, county in zip(gdf["code"].astype(str), gdf["class"].astype(str), gdf["county_code"].astype(str)):
            m = UNIT_CODE_RE.match(code)
            if not m:
                problems.append(f"{code}: not ZH + 6-digit county + class digit + 4-digit sequence")
            elif UNIT_CLASSES.get(cls) != int(m.group(2)):
                problems.append(f"{code}: class digit {m.group(2)} does not match {cls}")
            elif m.group(1) != county:
                problems.append(f"{code}: county part {m.group(1)} differs from county_code {county}")
        dups = gdf["code"][gdf["code"].duplicated()].unique().tolist()
        if dups:
            problems.append(f"duplicate codes {dups[:5]}")
        add("unit codes", not problems, "; ".join(problems[:5]) if problems else f"{len(gdf)} codes well formed")
    if spec.role in ("admin", "park", "protected", "red_line", "no_burn", "water_zone", "air_zone", "eco_zone"):
        key = "code" if spec.role in ("admin", "water_zone", "air_zone", "eco_zone") else "id"
        dups = gdf[key][gdf[key].duplicated()].unique().tolist()
        add("unique ids", not dups, f"duplicates {dups[:5]}" if dups else f"{len(gdf)} unique")


#: above this many pixels (all bands), `layers check` decodes an even sample of blocks, not every one
MAX_DECODE_PX = 200_000_000


def _decode_blocks(src, max_px: int = MAX_DECODE_PX) -> tuple[list, int, int]:
    """Decode every block of every band (an even sample for huge rasters): the failing windows,
    how many blocks were read and how many there are."""
    bad: list = []
    read = total = 0
    for band in src.indexes:
        windows = [w for _, w in src.block_windows(band)]
        total += len(windows)
        step = 1
        px = src.width * src.height * src.count
        if px > max_px and windows:
            step = max(1, int(np.ceil(px / max_px)))
        picks = windows[::step]
        if windows and picks[-1] is not windows[-1]:
            picks.append(windows[-1])
        for w in picks:
            read += 1
            try:
                src.read(band, window=w)
            except (rasterio.errors.RasterioError, MemoryError) as exc:
                bad.append((band, w, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
    return bad, read, total


def validate_raster(spec: LayerSpec) -> LayerCheck:
    """Validate a raster layer: readable, not corrupt (every block of every band decodes; an
    even sample above MAX_DECODE_PX pixels), CRS, units, nodata, and an extent inside China."""
    findings: list[Finding] = []
    add = lambda check, ok, detail="": findings.append(Finding(spec.name, spec.role, check, ok, detail))  # noqa: E731
    if not spec.path.exists():
        add("exists", False, f"missing file {spec.path} (run `zoning sample build` for the sample set)")
        return LayerCheck(spec, "failed", f"missing file {spec.path}", findings)
    problems: list[str] = []
    try:
        with rasterio.open(spec.path) as src:
            add("readable", True, f"{src.width}x{src.height} px, {abs(src.res[0]):g} x {abs(src.res[1]):g}")
            bad, read, total = _decode_blocks(src)
            if bad:
                shown = "; ".join(f"band {b} window col {w.col_off} row {w.row_off} {w.width}x{w.height}: {why}"
                                  for b, w, why in bad[:5])
                msg = f"corrupt raster: {len(bad)} of {read} blocks read do not decode ({shown})"
                add("blocks", False, msg)
                problems.append(msg)
            else:
                add("blocks", True, f"all {total} blocks of every band decode" if read == total else
                    f"{read} of {total} blocks (evenly sampled) decode")
            add("crs", src.crs is not None, src.crs.to_string()[:60] if src.crs else "raster has no CRS")
            if src.crs is None:
                problems.append("raster has no CRS")
            else:
                try:
                    x0, y0, x1, y1 = rasterio.warp.transform_bounds(src.crs, "EPSG:4490", *src.bounds)
                    inside = CHINA_LON[0] <= x0 and x1 <= CHINA_LON[1] and CHINA_LAT[0] <= y0 and y1 <= CHINA_LAT[1]
                except Exception:  # noqa: BLE001 - any projection failure means the extent does not fit
                    inside, x0 = False, float("nan")
                add("crs fit", inside, "extent inside China" if inside else
                    f"extent does not fit the declared CRS {crs_label(CRS.from_user_input(src.crs))}")
                if not inside:
                    problems.append("raster extent does not fit its CRS")
            units = src.tags().get("units") or src.tags(1).get("units") or spec.units
            add("units", bool(units), units or "no units in metadata or catalog (e.g. units: t C/ha)")
            if not units:
                problems.append("no units in metadata or catalog")
            add("nodata", src.nodata is not None, f"nodata = {src.nodata}" if src.nodata is not None else "no nodata value")
    except rasterio.errors.RasterioIOError as exc:
        msg = str(exc).splitlines()[0]
        add("readable", False, msg)
        return LayerCheck(spec, "failed", f"cannot be read: {msg}", findings)
    if problems:
        return LayerCheck(spec, "failed", "; ".join(problems), findings)
    return LayerCheck(spec, "ok", "raster readable", findings)


def validate_layer(spec: LayerSpec, *, engine: str = "pyogrio", area_box=None) -> LayerCheck:
    """Validate one catalog entry (vector or raster); the one check ``layers check`` and screening share."""
    if spec.kind == "raster":
        return validate_raster(spec)
    return validate_vector(spec, engine=engine, area_box=area_box)


def validate_catalog(specs, *, engine: str = "pyogrio") -> list[LayerCheck]:
    """Every entry validated, admin layers first (their extent is the area the others must fit)."""
    specs = list(specs)
    order = sorted(range(len(specs)), key=lambda i: specs[i].role != "admin")
    checks: dict[int, LayerCheck] = {}
    area_box = None
    for i in order:
        spec = specs[i]
        check = validate_layer(spec, engine=engine, area_box=None if spec.role == "admin" else area_box)
        if spec.role == "admin" and check.frame is not None and len(check.frame) and area_box is None:
            area_box = tuple(check.frame.total_bounds)
        checks[i] = check
    return [checks[i] for i in range(len(specs))]
