"""Forest carbon in footprints: exact pixel coverage, explicit units, pools and areas.

Stock S = Σ c_i·a_i·D_i (t C) with c_i the exact fraction of pixel i covered by the polygon,
a_i the pixel's area (ha; per pixel on the ellipsoid when the raster is geographic) and D_i
the density (t C/ha). CO2 = C × 44/12.

Engine: the exact-coverage kernel of extractrs (Rust; the exactextract algorithm, equal to
exactextract's results), driven here in row strips: each strip reads only the raster window
its polygons need, builds the coverage once and applies it to every array it needs (density,
forest mask, pixel areas); strips run in parallel processes. See README for measured figures.
"""
from __future__ import annotations

import math
import os
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS
from rasterio.windows import Window

from zoning.errors import CarbonError, InputFileNotFound
from zoning.geo.crs import GEOD
from zoning.geo.measure import ellipsoidal_areas

CO2_PER_C = 44.0 / 12.0
#: accepted density units -> factor to t C/ha
DENSITY_UNITS = {
    "t c/ha": 1.0, "tc/ha": 1.0, "mg c/ha": 1.0, "mgc/ha": 1.0, "t c ha-1": 1.0, "t c/hm2": 1.0,
    "kg c/m2": 10.0, "kgc/m2": 10.0, "t co2/ha": 1.0 / CO2_PER_C, "tco2/ha": 1.0 / CO2_PER_C,
}
COVERAGE_TOLERANCE = 0.005  # relative difference of Σc·a vs geodesic area that is flagged
MIN_PIXELS = 10
STRIP_ROWS = 256

#: open datasets, per thread (a dataset is not thread-safe) and per process (never across a fork)
_OPEN = threading.local()


def _dataset(path: Path | str):
    """``rasterio.open(path)``, kept open for the next read of the same unchanged file in this
    thread and process: opening costs ~10 ms, a small window read well under 1 ms. A changed
    file (mtime, size or inode) is opened again."""
    try:
        st = os.stat(path)
    except OSError:
        return rasterio.open(path)  # gone or unreadable: rasterio says why, as it always did
    key = (str(path), st.st_mtime_ns, st.st_size, st.st_ino, os.getpid())
    cache = getattr(_OPEN, "datasets", None)
    if cache is None:
        cache = _OPEN.datasets = {}
    src = cache.get(key)
    if src is None or src.closed:
        for old in [k for k in cache if k[0] == key[0] or k[4] != key[4]]:
            stale = cache.pop(old)
            if old[4] == key[4]:
                stale.close()
        src = rasterio.open(path)
        cache[key] = src
    return src


def _forget_dataset(path: Path | str) -> None:
    """Close and drop the kept dataset of ``path`` (after a read failed)."""
    cache = getattr(_OPEN, "datasets", None) or {}
    for k in [k for k in cache if k[0] == str(path)]:
        stale = cache.pop(k)
        if k[4] == os.getpid():
            stale.close()



@dataclass(frozen=True)
class DensityRaster:
    path: Path
    crs: CRS
    transform: rasterio.Affine
    width: int
    height: int
    nodata: float | None
    units: str
    factor: float  # raster value x factor = t C/ha
    pools: str
    geographic: bool


#: what open_density found for an unchanged file (its description is immutable): (file key, units, pools) -> raster
_DESCRIBED: dict = {}


def open_density(path: Path | str, *, units: str | None = None, pools: str | None = None) -> DensityRaster:
    """Open a carbon density raster, refusing one without CRS or (declared) units.

    The description of a file read before and unchanged since (mtime, size, inode) is reused:
    reading its CRS costs more than screening a site."""
    path = Path(path)
    if not path.exists():
        raise CarbonError(f"碳密度栅格不存在：{path}", f"carbon density raster not found: {path}")
    try:
        st = os.stat(path)
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size, st.st_ino, units, pools)
    except OSError:
        key = None
    found = _DESCRIBED.get(key) if key is not None else None
    if found is not None:
        _dataset(path)  # kept open for the window reads that follow, as below
        return found
    raster = _describe(path, units=units, pools=pools)
    if key is not None:
        if len(_DESCRIBED) > 64:
            _DESCRIBED.clear()
        _DESCRIBED[key] = raster
    return raster


def _describe(path: Path, *, units: str | None, pools: str | None) -> DensityRaster:
    try:
        src = _dataset(path)  # kept open for the window reads that follow
        tags, band = src.tags(), src.tags(1)
        crs, transform, width, height, nodata = src.crs, src.transform, src.width, src.height, src.nodata
    except rasterio.errors.RasterioIOError as exc:
        raise CarbonError(f"无法读取栅格 {path}：{exc}", f"cannot read raster {path}: {exc}") from None
    if crs is None:
        raise CarbonError(f"栅格 {path.name} 没有坐标系；请先为其指定坐标系（如 gdal_edit.py -a_srs）",
                          f"raster {path.name} has no CRS; assign one first (e.g. gdal_edit.py -a_srs EPSG:4490)")
    if transform.b != 0 or transform.d != 0:
        raise CarbonError(f"栅格 {path.name} 有旋转，不支持", f"raster {path.name} is rotated; warp it north-up first")
    declared = units or tags.get("units") or band.get("units")
    if not declared:
        raise CarbonError(f"栅格 {path.name} 的元数据中没有单位；请用 --units 声明（如 \"t C/ha\"）",
                          f"raster {path.name} declares no units; pass --units (e.g. \"t C/ha\")")
    factor = DENSITY_UNITS.get(" ".join(declared.lower().replace("·", " ").split()))
    if factor is None:
        raise CarbonError(f"栅格单位 {declared!r} 不是碳密度单位；支持 t C/ha、Mg C/ha、kg C/m2、t CO2/ha",
                          f"raster units {declared!r} are not a carbon density; use t C/ha, Mg C/ha, kg C/m2 or t CO2/ha")
    crs = CRS.from_user_input(crs)
    return DensityRaster(path, crs, transform, width, height,
                         None if nodata is None or (isinstance(nodata, float) and math.isnan(nodata)) else float(nodata),
                         declared, factor, pools or tags.get("pools") or band.get("pools") or "unspecified",
                         crs.is_geographic)


def _cell_area_ha(raster: DensityRaster, row_off: int, rows: int) -> np.ndarray:
    """Area (ha) of one cell per row: on the ellipsoid for geographic rasters, else nominal."""
    t = raster.transform
    if not raster.geographic:
        return np.full(rows, abs(t.a * t.e) / 1e4)
    top = t.f + t.e * np.arange(row_off, row_off + rows)
    bottom = top + t.e
    lon0, lon1 = t.c, t.c + t.a
    out = np.empty(rows)
    for i, (a, b) in enumerate(zip(top, bottom)):
        area, _ = GEOD.polygon_area_perimeter([lon0, lon1, lon1, lon0], [a, a, b, b])
        out[i] = abs(area) / 1e4
    return out


@dataclass
class _Strip:
    row_off: int
    col_off: int
    rows: int
    cols: int
    positions: np.ndarray  # polygon positions (into the input order)
    wkbs: list


def _plan_strips(geoms: np.ndarray, raster: DensityRaster, strip_rows: int) -> tuple[list[_Strip], np.ndarray]:
    """Group polygons by the row strip holding their top edge; a strip's window spans its polygons."""
    inv = ~raster.transform
    b = shapely.bounds(geoms)
    c0, r0 = inv @ (b[:, 0], b[:, 3])
    c1, r1 = inv @ (b[:, 2], b[:, 1])
    c0, c1 = np.floor(np.minimum(c0, c1)), np.ceil(np.maximum(c0, c1))
    r0, r1 = np.floor(np.minimum(r0, r1)), np.ceil(np.maximum(r0, r1))
    c0, r0 = np.clip(c0, 0, raster.width), np.clip(r0, 0, raster.height)
    c1, r1 = np.clip(c1, 0, raster.width), np.clip(r1, 0, raster.height)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))  # the kernel takes (multi)polygons only
    inside = (c1 > c0) & (r1 > r0) & ~shapely.is_empty(geoms) & polygonal
    strips = []
    key = np.where(inside, r0 // np.maximum(strip_rows, 1), -1).astype(int)  # no NaN casts for empty rows
    for k in np.unique(key[inside]):
        pos = np.flatnonzero(inside & (key == k))
        row_off, col_off = int(r0[pos].min()), int(c0[pos].min())
        strips.append(_Strip(row_off, col_off, int(r1[pos].max()) - row_off, int(c1[pos].max()) - col_off, pos,
                             list(shapely.to_wkb(geoms[pos]))))
    return strips, ~inside


def _ensemble_sums(cache, ensemble: Path, strip: _Strip, factor: float, px_ha: float, chunk: int = 16) -> np.ndarray:
    """Stock (t C) per polygon for every band of ``ensemble``, reusing the strip's coverage."""
    import extractrs

    nodata = -3.0e38
    win = Window(strip.col_off, strip.row_off, strip.cols, strip.rows)
    with rasterio.open(ensemble) as src:
        bands, nd = src.count, src.nodata
        out = []
        for b0 in range(1, bands + 1, chunk):  # a few bands at a time keeps memory bounded
            idx = list(range(b0, min(bands, b0 + chunk - 1) + 1))
            data = src.read(idx, window=win).astype("float64")
            bad = ~np.isfinite(data) | ((data == nd) if nd is not None else False)
            data = data * factor
            data[bad] = nodata
            out.append(np.asarray(extractrs.apply_stat_batch(cache, data, nodata, "sum")) * px_ha)
    return np.vstack(out)  # (bands, polygons present in the cache)


def _strip_sums(raster: DensityRaster, strip: _Strip, ensemble: Path | None = None):
    """For each polygon of a strip: [covered_ha, valid_ha, forest_ha, stock_tC, pixels].

    One coverage cache per strip, applied to every array needed. For projected rasters the
    pixel area is constant, so plain sums suffice (one batched pass for density and forest,
    one count); geographic rasters weight every pixel by its ellipsoidal area.
    """
    import extractrs

    win = Window(strip.col_off, strip.row_off, strip.cols, strip.rows)
    try:
        data = _dataset(raster.path).read(1, window=win, masked=False).astype("float64")
    except rasterio.errors.RasterioError as exc:  # a corrupt block: the carbon section fails, with the reason
        _forget_dataset(raster.path)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CarbonError(f"碳密度栅格损坏，无法读取 {raster.path.name} 的窗口 {win} : {reason}",
                          f"corrupt carbon raster {raster.path.name}: window {win} does not decode: {reason}") from exc
    nodata = -3.0e38
    valid = np.isfinite(data)
    if raster.nodata is not None:
        valid &= data != raster.nodata
    data *= raster.factor
    data[~valid] = nodata
    # layers: density, forest indicator, valid indicator (its coverage-weighted sum = pixel count)
    stack = np.empty((3,) + data.shape)
    stack[0] = data
    np.greater(data, 0, out=stack[1])
    stack[1][~valid] = nodata
    stack[2] = 1.0
    stack[2][~valid] = nodata
    forest = stack[1]
    t = raster.transform @ rasterio.Affine.translation(strip.col_off, strip.row_off)
    xmin, ymax = t.c, t.f
    xmax, ymin = t.c + t.a * strip.cols, t.f + t.e * strip.rows
    cache = extractrs.build_cache(strip.wkbs, list(range(len(strip.wkbs))), xmin, min(ymin, ymax), xmax,
                                  max(ymin, ymax), abs(t.a), abs(t.e))
    if raster.geographic:
        pixels = np.asarray(extractrs.apply_stat(cache, data, nodata, "count"))
        area = np.repeat(_cell_area_ha(raster, strip.row_off, strip.rows)[:, None], strip.cols, axis=1)
        ones = np.ones_like(data)

        def ws(arr):
            return np.asarray(extractrs.apply_stat_weights(cache, arr, area, nodata, nodata, "weighted_sum"))

        cols = np.column_stack([ws(ones), ws(np.where(valid, 1.0, nodata)), ws(forest), ws(data), pixels])
    else:
        px_ha = abs(t.a * t.e) / 1e4
        sums = np.asarray(extractrs.apply_stat_batch(cache, stack, nodata, "sum"))
        pixels = sums[2]
        cols = np.column_stack([np.full(len(pixels), np.nan), pixels * px_ha, sums[1] * px_ha, sums[0] * px_ha,
                                pixels])
    out = np.zeros((len(strip.wkbs), 5))
    ids = np.asarray(cache.ids(), dtype=int)
    out[ids] = cols  # polygons that touch no cell are absent from the kernel's output
    if not raster.geographic:
        out[:, 0] = np.nan  # filled geometrically by the caller (exactly Σ c·a for a projected grid)
    if ensemble is None:
        return out
    members = np.zeros((len(strip.wkbs), 0))
    if not raster.geographic:
        sums = _ensemble_sums(cache, ensemble, strip, raster.factor, abs(t.a * t.e) / 1e4)
        members = np.zeros((len(strip.wkbs), sums.shape[0]))
        members[ids] = sums.T
    return out, members


def _run_strip(args):
    raster, strip, ensemble = args
    return strip.positions, _strip_sums(raster, strip, ensemble)


#: the columns :func:`stock` computes, in order (an input attribute of the same name is kept as ``<name>_input``)
STOCK_COLUMNS = ("id", "forest_ha", "stock_tC", "stock_tCO2", "mean_tC_ha", "pixels", "covered_ha", "valid_ha",
                 "coverage_share", "area_ha", "coverage_diff", "flags")
#: columns of a site frame that are bookkeeping of :func:`zoning.io.sites.read_sites`, not the user's attributes
_NOT_ATTRIBUTES = ("warnings", "crs_in")
#: share below which a footprint counts as partly covered (numerical noise of Σ c·a aside)
FULL_COVERAGE = 1 - 1e-6


def default_id_field(frame: pd.DataFrame) -> str | None:
    """The column that names the features when none is given: the usual stand and parcel id fields
    (小班号, stand_id, site_id, id, 编号 …), the first whose values are all present; None for 1..n."""
    from zoning.vocabulary import STAND_FIELDS

    lower = {str(c).lower(): c for c in frame.columns}
    for name in STAND_FIELDS["id"] + ("项目编号", "地块编号", "宗地号", "parcel_id"):
        col = lower.get(name.lower())
        if col is not None and col != "geometry" and frame[col].notna().all():
            return col
    return None


def measure(geoms, info: DensityRaster, ids=None, *, workers: int | None = None, strip_rows: int = STRIP_ROWS,
            ensemble=None, progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """The columns of :func:`stock` (from ``id`` to ``flags``, without the input's attributes) for
    polygons already in the raster's CRS, as arrays: what screening uses without building a frame.
    ``ids``: the polygons' ids (None: "1".."n", never duplicates); ``ensemble``: an opened
    ensemble (see :func:`stock`)."""
    n = len(geoms)
    if ids is None:
        ids_out = np.array([str(i + 1) for i in range(n)], dtype=object)
    else:
        ids_out = ids
    ens = ensemble
    geoms = np.asarray(geoms, dtype=object)
    geoms = np.array([None if g is None or (isinstance(g, float)) else g for g in geoms], dtype=object)
    # NaN/inf coordinates (or a transform that overflowed): no geometry to measure, flagged, never a crash
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    nonfinite = np.zeros(len(geoms), dtype=bool)
    nonfinite[np.unique(owner[~np.isfinite(coords).all(axis=1)])] = True
    geoms[nonfinite] = None
    present = ~shapely.is_missing(geoms)
    polygonal_in = np.isin(shapely.get_type_id(geoms), (3, 6))
    bad = present & polygonal_in & ~shapely.is_valid(geoms) & ~shapely.is_empty(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad])
    strips, outside = _plan_strips(geoms, info, strip_rows)
    sums = np.zeros((n, 5))
    workers = workers if workers is not None else (os.cpu_count() or 1)
    tasks = [(info, s, ens) for s in strips]
    members = None
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and len(strips) > 1 and n >= 2000 else None
    try:
        parts = pool.map(_run_strip, tasks) if pool else map(_run_strip, tasks)
        # while the workers run: areas on the ellipsoid and, for projected grids, Σ c·a
        area_ha = ellipsoidal_areas(gpd.GeoSeries(geoms, crs=info.crs)) / 1e4
        covered_geom = None
        # the footprint's area in the measure Σ c·a uses (planar in a projected grid, ellipsoidal in a geographic one)
        full_ha = np.asarray(area_ha, dtype="float64").copy()
        if not info.geographic:
            # Σ c_i·a_i over a projected grid is the polygon's planar area inside the raster extent
            t, w, h = info.transform, info.width, info.height
            ext = (min(t.c, t.c + t.a * w), min(t.f, t.f + t.e * h), max(t.c, t.c + t.a * w), max(t.f, t.f + t.e * h))
            covered_geom = shapely.area(geoms)
            full_ha = np.nan_to_num(covered_geom / 1e4)
            b = shapely.bounds(geoms)
            edge = present & ~((b[:, 0] >= ext[0]) & (b[:, 1] >= ext[1]) & (b[:, 2] <= ext[2]) & (b[:, 3] <= ext[3]))
            covered_geom[edge] = shapely.area(shapely.intersection(geoms[edge], shapely.box(*ext)))
            covered_geom = np.nan_to_num(covered_geom / 1e4)
        for done, (pos, part) in enumerate(parts, 1):
            if ens is not None:
                part, part_members = part
                if members is None:
                    members = np.zeros((n, part_members.shape[1]))
                members[pos] = part_members
            sums[pos] = part
            if progress:
                progress(done, len(tasks))
    finally:
        if pool:
            pool.shutdown()
    covered, valid, forest, stock_tc, pixels = sums.T
    if covered_geom is not None:
        covered = covered_geom
    area_ha = np.nan_to_num(np.asarray(area_ha, dtype="float64"))
    diff = np.where(area_ha > 0, (covered - area_ha) / np.where(area_ha > 0, area_ha, 1), 0.0)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    outside &= polygonal
    inside = ~outside & polygonal
    share = np.where(full_ha > 0, np.clip(valid / np.where(full_ha > 0, full_ha, 1.0), 0.0, 1.0), 0.0)
    share = np.where(share > FULL_COVERAGE, 1.0, share)
    measured = polygonal & (valid > 0)
    conditions = [
        ("bad_coordinates", nonfinite),
        ("duplicate_id", np.zeros(n, dtype=bool) if ids is None else
         pd.Series(ids, dtype=object).duplicated(keep=False).to_numpy() & pd.notna(pd.Series(ids, dtype=object)).to_numpy()),
        ("no_geometry", ~nonfinite & (shapely.is_missing(geoms) | shapely.is_empty(geoms))),
        ("not_a_polygon", ~polygonal),
        ("repaired_invalid", bad & polygonal),  # self-intersecting: measured as repaired by make_valid
        ("outside_raster", outside),
        ("partly_outside_raster", inside & (full_ha > 0) & (covered < full_ha * FULL_COVERAGE)),
        ("coverage_mismatch", inside & (area_ha > 0) & (np.abs(diff) > COVERAGE_TOLERANCE)),
        ("nodata_in_footprint", inside & (valid < covered * FULL_COVERAGE) & (valid > 0)),
        ("nodata_only", inside & (valid <= 0) & (covered > 0)),
        ("few_pixels", inside & (pixels > 0) & (pixels < MIN_PIXELS)),
    ]
    flags = np.full(n, "", dtype=object)
    for name, mask in conditions:
        if mask.any():
            flags[mask] = [f"{f};{name}" if f else name for f in flags[mask]]
    na = np.where(measured, 1.0, np.nan)  # nothing measured: NA, not 0
    columns = {"id": ids_out, "forest_ha": forest * na, "stock_tC": stock_tc * na}
    if ens is not None:
        m = members if members is not None else np.zeros((n, 1))
        for name, q in (("p2_5", 2.5), ("p50", 50), ("p97_5", 97.5)):
            columns[f"stock_tC_{name}"] = np.percentile(m, q, axis=1) * na
    columns.update({
        "stock_tCO2": stock_tc * CO2_PER_C * na,
        "mean_tC_ha": np.where(forest > 0, stock_tc / np.where(forest > 0, forest, 1), np.nan) * na, "pixels": pixels,
        "covered_ha": covered, "valid_ha": valid, "coverage_share": np.where(polygonal, share, np.nan),
        "area_ha": area_ha, "coverage_diff": diff, "flags": flags,
    })
    return columns


def stock(polygons: gpd.GeoDataFrame, raster: Path | str | DensityRaster, *, units: str | None = None,
          id_field: str | None = None, workers: int | None = None, strip_rows: int = STRIP_ROWS,
          ensemble: Path | str | None = None, attributes: bool = True,
          progress: Callable[[int, int], None] | None = None) -> gpd.GeoDataFrame:
    """Forest carbon per polygon, in input order, in the input's CRS, with the input's attributes.

    Returns a GeoDataFrame with ``id`` (the ``id_field`` values as given; else ``site_id``, a
    stand/parcel id column such as 小班号, or "1".."n"), ``forest_ha`` (ha of forest, density
    > 0), ``stock_tC`` (t C), ``stock_tCO2`` (t CO2 = t C × 44/12), ``mean_tC_ha`` (t C/ha of
    forest), ``pixels`` (coverage-weighted count of valid pixels), ``covered_ha`` (Σ c·a over the
    raster's extent, ha), ``valid_ha`` (Σ c·a over pixels with data, ha), ``coverage_share``
    (share of the footprint with raster data, 0-1), ``area_ha`` (ellipsoidal polygon area, ha),
    ``coverage_diff`` (relative, covered vs ellipsoidal area), ``flags`` (semicolon-separated) and,
    with ``attributes``, every input column (a column named like a computed one is kept as
    ``<name>_input``), then the input geometry.

    A footprint without any pixel with data (outside the raster, on nodata only, not a polygon)
    has NA (NaN) stock, forest area and mean density, never 0: nothing was measured there. One
    partly outside the raster or partly on nodata has the stock of its measured part and
    ``coverage_share`` < 1, flagged ``partly_outside_raster`` / ``nodata_in_footprint``.

    ``ensemble``: a multi-band raster on the same grid whose bands are realisations of the
    density (e.g. Monte Carlo draws of a density model, same units). The coverage of each strip
    is computed once and applied to every band; adds ``stock_tC_p2_5``, ``stock_tC_p50`` and
    ``stock_tC_p97_5`` (t C) over the realisations.
    """
    info = raster if isinstance(raster, DensityRaster) else open_density(raster, units=units)
    if polygons.crs is None:
        raise CarbonError("面要素没有坐标系；请用 --crs 声明", "the polygons have no CRS; pass --crs")
    frame = polygons.reset_index(drop=True)
    if id_field is not None and id_field not in frame.columns:
        raise CarbonError(f"字段 {id_field!r} 不在输入中", f"field {id_field!r} is not in the input; fields: "
                          f"{', '.join(str(c) for c in frame.columns if c != frame.geometry.name)}")
    id_col = id_field or default_id_field(frame)
    ids = frame[id_col].to_numpy(dtype=object) if id_col else np.array([str(i + 1) for i in range(len(frame))],
                                                                       dtype=object)
    in_raster_crs = frame.geometry if frame.crs.equals(info.crs) else frame.geometry.to_crs(info.crs)
    ens = _check_ensemble(ensemble, info) if ensemble is not None else None
    columns = measure(in_raster_crs.values, info, ids, workers=workers, strip_rows=strip_rows, ensemble=ens,
                      progress=progress)
    out = gpd.GeoDataFrame(columns, geometry=frame.geometry.values, crs=frame.crs)
    if attributes:
        out = add_attributes(out, frame, skip=(id_col,) if id_col == "id" else ())
    return out


#: years a raster or a programme may plausibly refer to
YEAR_RANGE = (1950, 2200)


def raster_year(path: Path | str, given: int | None = None) -> int | None:
    """The inventory year of a density raster: ``given``, else its ``year``/``vintage``/``date`` tag."""
    import re

    if given is not None:
        year = given
    else:
        with rasterio.open(path) as src:
            tags = {**src.tags(), **src.tags(1)}
        text = next((str(tags[k]) for k in ("year", "YEAR", "vintage", "date", "TIFFTAG_DATETIME") if k in tags), "")
        found = re.search(r"(1[89]\d\d|2[01]\d\d)", text)
        if not found:
            return None
        year = int(found.group(1))
    if not (isinstance(year, (int, np.integer)) and YEAR_RANGE[0] <= int(year) <= YEAR_RANGE[1]):
        raise CarbonError(f"栅格年份 {year} 不合理（应在 {YEAR_RANGE[0]}–{YEAR_RANGE[1]} 之间）",
                          f"raster year {year} is implausible (expected {YEAR_RANGE[0]}-{YEAR_RANGE[1]})")
    return int(year)


def stock_change(polygons: gpd.GeoDataFrame, raster_before, raster_after, *, units: str | None = None,
                 year_before: int | None = None, year_after: int | None = None,
                 workers: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Stock change per polygon between two inventory rasters (stock difference), in input order.

    Columns: ``stock_before_tC``, ``stock_after_tC`` (t C), ``change_tC``, ``change_tCO2`` (t CO2;
    positive = removal), ``change_tCO2_per_yr`` (when both years are known), ``coverage_before``
    and ``coverage_after`` (shares 0-1). A change is NA unless both rasters cover the whole
    footprint with data: a partial footprint would compare different areas. Returns (table, meta)
    with the years and the rasters' names.
    """
    before = stock(polygons, raster_before, units=units, workers=workers, attributes=False)
    after = stock(polygons, raster_after, units=units, workers=workers, attributes=False)
    y0, y1 = raster_year(raster_before, year_before), raster_year(raster_after, year_after)
    if y0 is not None and y1 is not None and y1 <= y0:
        raise CarbonError(f"后一期栅格年份 {y1} 不晚于前一期 {y0}", f"the after raster's year {y1} is not later than "
                          f"the before raster's {y0}")
    full = (before["coverage_share"].to_numpy() >= 1.0) & (after["coverage_share"].to_numpy() >= 1.0)
    change = np.where(full, after["stock_tC"].to_numpy() - before["stock_tC"].to_numpy(), np.nan)
    table = pd.DataFrame({
        "stock_before_tC": before["stock_tC"].to_numpy(), "stock_after_tC": after["stock_tC"].to_numpy(),
        "change_tC": change, "change_tCO2": change * CO2_PER_C,
        "coverage_before": before["coverage_share"].to_numpy(), "coverage_after": after["coverage_share"].to_numpy(),
    })
    if y0 is not None and y1 is not None:
        table.insert(4, "change_tCO2_per_yr", change * CO2_PER_C / (y1 - y0))
    meta = {"raster_before": Path(str(raster_before)).name, "raster_after": Path(str(raster_after)).name,
            "year_before": y0, "year_after": y1, "complete": int(full.sum()), "incomplete": int((~full).sum())}
    return table, meta


def read_footprints(source, *, crs=None, layer: str | None = None,
                    engine: str = "pyogrio") -> tuple[gpd.GeoDataFrame, list[str]]:
    """Footprints (stands, parcels) as the user gave them: every attribute, the ids, and the CRS.

    A GeoDataFrame or a vector file (GeoPackage, Shapefile, GeoJSON …) is kept in its own CRS
    with its own columns; ``crs`` declares the CRS when the input has none, or overrides a
    wrong one (said in the returned warnings). Tables (CSV/XLSX corner or lon/lat tables),
    KML, coordinate strings, files without a CRS that zoning has to recognise, and offset
    datums (gcj02/bd09) go through :func:`zoning.io.sites.read_sites` and come back in
    CGCS2000 (EPSG:4490). Returns (frame, warnings).
    """
    from zoning.geo.crs import crs_label, parse_crs
    from zoning.io.sites import VECTOR_SUFFIXES, read_sites
    from zoning.io.vector import read_vector

    user_crs = parse_crs(crs)
    notes: list[str] = []
    frame = None
    if isinstance(source, gpd.GeoDataFrame):
        frame = source.copy()
    elif not isinstance(user_crs, str):
        path = Path(str(source))
        if not path.exists() and path.suffix.lower() in (VECTOR_SUFFIXES | {".csv", ".txt", ".xlsx", ".xls", ".kml",
                                                                            ".kmz", ".zip"}):
            raise InputFileNotFound(f"林分/小班文件不存在：{path}", f"stand file not found: {path}")
        if path.exists() and (path.suffix.lower() in VECTOR_SUFFIXES - {".kml", ".kmz"} or path.is_dir()):
            if layer is None:
                layer = _only_layer(path, notes)
            with warnings.catch_warnings():  # library warnings never reach the console before our one line
                warnings.simplefilter("ignore")
                frame = read_vector(path, layer=layer, engine=engine)
    if frame is not None and not isinstance(user_crs, str):
        if user_crs is not None:
            if frame.crs is not None and not frame.crs.equals(user_crs):
                notes.append(f"--crs {crs_label(user_crs)} 覆盖了输入声明的 {crs_label(frame.crs)} / "
                             f"--crs overrides the input's {crs_label(frame.crs)}")
            frame = frame.set_crs(user_crs, allow_override=True)
        if frame.crs is not None:
            if len(frame) == 0:
                raise CarbonError("输入中没有要素", "the input has no features")
            return frame.reset_index(drop=True), notes
        if isinstance(source, gpd.GeoDataFrame):
            raise CarbonError("面要素没有坐标系；请用 --crs 声明", "the polygons have no CRS; pass --crs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # one unusable row (outside China, swapped, duplicate id …) never stops the batch: its row
        # comes back without geometry and with the reason in ``error``; its flags say no_geometry
        sites = read_sites(source, crs=crs, engine=engine, layer=layer, on_error="flag")
    notes += list(dict.fromkeys(w for ws in sites["warnings"] for w in ws))
    if "error" in sites.columns and sites["error"].notna().any():
        bad = sites.loc[sites["error"].notna(), "site_id"].astype(str).tolist()
        notes.append(f"{len(bad)} 个要素无法读取，见 error 列（{', '.join(bad[:5])}{' …' if len(bad) > 5 else ''}）/ "
                     f"{len(bad)} feature(s) could not be read: see the error column")
    return sites.reset_index(drop=True), notes


def _only_layer(path: Path, notes: list[str]) -> str | None:
    """The layer to read from ``path`` when none was given: its only layer, or the first of several
    (said in ``notes``, with the list, so the user can pass --layer)."""
    try:
        import pyogrio

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception:  # noqa: BLE001 - unreadable files are reported by the reader itself, in one line
        return None
    if len(names) > 1:
        notes.append(f"{path.name} 有 {len(names)} 个图层（{', '.join(names)}），读取了第一个 {names[0]!r}；"
                     f"用 --layer 指定 / {path.name} has {len(names)} layers ({', '.join(names)}); read the first, "
                     f"{names[0]!r}; pass --layer to choose")
    return names[0] if names else None


def add_attributes(out: gpd.GeoDataFrame, frame: pd.DataFrame, *, skip: tuple = ()) -> gpd.GeoDataFrame:
    """``out`` with every attribute column of ``frame`` appended as given (same row order).

    A column whose name ``out`` already uses is kept as ``<name>_input`` (``id`` when it is the id
    field itself is not repeated). The geometry stays the last column.
    """
    geom_name = out.geometry.name
    extra = {}
    for column in frame.columns:
        if column == frame.geometry.name or column in _NOT_ATTRIBUTES or column in skip:
            continue
        if column == "error" and "site_id" in frame.columns and not frame[column].notna().any():
            continue  # read_sites' reason column, empty: nothing to carry
        name = column if column not in out.columns and column not in extra else f"{column}_input"
        extra[name] = frame[column].to_numpy()
    if not extra:
        return out
    data = pd.concat([pd.DataFrame(out.drop(columns=geom_name)), pd.DataFrame(extra, index=out.index)], axis=1)
    return gpd.GeoDataFrame(data, geometry=out.geometry.values, crs=out.crs)


def _check_ensemble(path: Path | str, info: DensityRaster) -> Path:
    """An ensemble must share the density raster's grid; refuse it otherwise."""
    path = Path(path)
    if not path.exists():
        raise CarbonError(f"集合栅格不存在：{path}", f"ensemble raster not found: {path}")
    if info.geographic:
        raise CarbonError("集合栅格暂只支持投影坐标系的碳密度栅格", "ensembles need a projected density raster")
    with rasterio.open(path) as src:
        same = (src.crs is not None and CRS.from_user_input(src.crs).equals(info.crs) and src.transform == info.transform
                and (src.width, src.height) == (info.width, info.height))
        bands = src.count
    if not same:
        raise CarbonError(f"集合栅格 {path.name} 与碳密度栅格网格不一致（坐标系、范围或分辨率）",
                          f"ensemble {path.name} is not on the density raster's grid (CRS, extent or resolution differ)")
    if bands < 2:
        raise CarbonError(f"集合栅格 {path.name} 只有 {bands} 个波段", f"ensemble {path.name} has only {bands} band(s)")
    return path


# ---------------------------------------------------------------------------------------
# footprint carbon for screening
SEED_DOC = "南平市减污降碳协同增效实施方案（征求意见稿）"
NANPING_SINK_RATE = 1.97  # t CO2/ha/yr, seed document 一、（二）


def footprint_carbon(row: dict, *, clear_share: float | None, base_year: int, raster_meta: dict,
                     sink_rate: float = NANPING_SINK_RATE) -> dict:
    """The carbon section of a screening result, from one row of :func:`stock`.

    Loss if cleared = stock × clear_share (default 1: all forest in the footprint cleared).
    The forgone sink (cleared forest area × r × years) is reported separately, never added to
    the loss: it is a future flow, the loss is a stock.
    """
    share = 1.0 if clear_share is None else float(clear_share)
    # a footprint without raster data has NA stock in :func:`stock`; the screening section keeps 0 with
    # the flag (outside_raster / nodata_only) and the caller's status, so the result stays strict JSON
    forest = _finite(row["forest_ha"])
    stock_tc = _finite(row["stock_tC"])
    cleared_forest = forest * share
    years_2030 = max(0, 2030 - base_year)
    years_2060 = max(0, 2060 - base_year)
    per_year = cleared_forest * sink_rate
    return {
        "status": "ok",
        "raster": raster_meta,
        "forest_ha": forest, "stock_tC": stock_tc, "stock_tCO2": stock_tc * CO2_PER_C,
        "mean_tC_ha": _finite(row["mean_tC_ha"]), "pixels": float(row["pixels"]),
        "covered_ha": float(row["covered_ha"]), "area_ha": float(row["area_ha"]),
        "coverage_diff": float(row["coverage_diff"]), "flags": [f for f in str(row["flags"]).split(";") if f],
        "clear_share": share, "clear_share_given": clear_share is not None,
        "forest_loss_ha": cleared_forest,
        "loss_tC": stock_tc * share, "loss_tCO2": stock_tc * share * CO2_PER_C,
        "forgone_sink": {"rate_tCO2_per_ha_yr": sink_rate, "base_year": base_year,
                         "per_year_tCO2": per_year,
                         "to_2030_tCO2": per_year * years_2030, "years_to_2030": years_2030,
                         "to_2060_tCO2": per_year * years_2060, "years_to_2060": years_2060},
        "parameters": _parameters(raster_meta, share, clear_share is not None, sink_rate),
        "note": "forgone sink is reported separately and never added to the loss",
    }


_PARAMETERS: dict = {}


def _parameters(raster_meta: dict, share: float, given: bool, sink_rate: float) -> list[dict]:
    """The parameter table of a carbon section. The same inputs give the very same table (shared by
    the sections of a batch, which never change it): made once, pickled once per chunk."""
    key = (tuple(raster_meta.get(k) for k in ("name", "units", "source", "pools", "vintage")), share, given,
           sink_rate)
    table = _PARAMETERS.get(key)
    if table is None:
        table = [
            {"name": "carbon density", "value": raster_meta.get("name"), "unit": raster_meta.get("units"),
             "source": f"{raster_meta.get('source', '')} (pools: {raster_meta.get('pools')}; vintage "
                       f"{raster_meta.get('vintage')})"},
            {"name": "CO2/C", "value": round(CO2_PER_C, 6), "unit": "t CO2 / t C",
             "source": "molecular weights 44/12 (IPCC 2006 GL)"},
            {"name": "clear_share", "value": share, "unit": "share of footprint",
             "source": "stated by the project" if given else "zoning default: all forest cleared"},
            {"name": "sink rate r", "value": sink_rate, "unit": "t CO2/ha/yr",
             "source": f"{SEED_DOC} 一、（二）: Nanping biomass sink 1.97 t CO2/ha/yr"},
        ]
        if len(_PARAMETERS) > 1024:  # many distinct clear shares: keep the cache small
            _PARAMETERS.clear()
        _PARAMETERS[key] = table
    return table


def _finite(value) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0


def carbon_unavailable(status: str, detail: str) -> dict:
    """Carbon section when there is nothing to measure (a point) or the raster failed."""
    return {"status": status, "detail": detail}
