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

from zoning.geo.crs import GEOD, STORAGE_EPSG
from zoning.errors import ZoningError, CarbonError
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


def open_density(path: Path | str, *, units: str | None = None, pools: str | None = None) -> DensityRaster:
    """Open a carbon density raster, refusing one without CRS or (declared) units."""
    path = Path(path)
    if not path.exists():
        raise CarbonError(f"碳密度栅格不存在：{path}", f"carbon density raster not found: {path}")
    try:
        with rasterio.open(path) as src:
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
    return DensityRaster(path, CRS.from_user_input(crs), transform, width, height,
                         None if nodata is None or (isinstance(nodata, float) and math.isnan(nodata)) else float(nodata),
                         declared, factor, pools or tags.get("pools") or band.get("pools") or "unspecified",
                         CRS.from_user_input(crs).is_geographic)


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
    key = (r0 // strip_rows).astype(int)
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
    with rasterio.open(raster.path) as src:
        data = src.read(1, window=win, masked=False).astype("float64")
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


def stock(polygons: gpd.GeoDataFrame, raster: Path | str | DensityRaster, *, units: str | None = None,
          id_field: str | None = None, workers: int | None = None, strip_rows: int = STRIP_ROWS,
          ensemble: Path | str | None = None,
          progress: Callable[[int, int], None] | None = None) -> gpd.GeoDataFrame:
    """Forest carbon per polygon, in input order.

    Returns a GeoDataFrame with ``id``, ``forest_ha`` (ha of forest, density > 0),
    ``stock_tC`` (t C), ``stock_tCO2`` (t CO2 = t C × 44/12), ``mean_tC_ha`` (t C/ha of
    forest), ``pixels`` (coverage-weighted count of valid pixels), ``covered_ha`` (Σ c·a over
    the raster, ha), ``area_ha`` (geodesic polygon area, ha), ``coverage_diff`` (relative),
    ``flags`` (semicolon-separated) and the input geometry.

    ``ensemble``: a multi-band raster on the same grid whose bands are realisations of the
    density (e.g. Monte Carlo draws of a density model, same units). The coverage of each strip
    is computed once and applied to every band; adds ``stock_tC_p2_5``, ``stock_tC_p50`` and
    ``stock_tC_p97_5`` (t C) over the realisations.
    """
    info = raster if isinstance(raster, DensityRaster) else open_density(raster, units=units)
    if polygons.crs is None:
        raise CarbonError("面要素没有坐标系", "the polygons have no CRS")
    frame = polygons.reset_index(drop=True)
    ids = frame[id_field].astype(str) if id_field else (
        frame["site_id"].astype(str) if "site_id" in frame else pd.Series([str(i + 1) for i in range(len(frame))]))
    in_raster_crs = frame.geometry if frame.crs.equals(info.crs) else frame.geometry.to_crs(info.crs)
    geoms = np.asarray(in_raster_crs.values, dtype=object)
    bad = ~shapely.is_valid(geoms) & ~shapely.is_empty(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad])
    strips, outside = _plan_strips(geoms, info, strip_rows)
    sums = np.zeros((len(frame), 5))
    workers = workers if workers is not None else (os.cpu_count() or 1)
    ens = _check_ensemble(ensemble, info) if ensemble is not None else None
    tasks = [(info, s, ens) for s in strips]
    members = None
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and len(strips) > 1 and len(frame) >= 2000 else None
    try:
        parts = pool.map(_run_strip, tasks) if pool else map(_run_strip, tasks)
        # while the workers run: areas on the ellipsoid and, for projected grids, Σ c·a
        area_ha = ellipsoidal_areas(gpd.GeoSeries(geoms, crs=info.crs)) / 1e4
        covered_geom = None
        if not info.geographic:
            # Σ c_i·a_i over a projected grid is the polygon's planar area inside the raster extent
            t, w, h = info.transform, info.width, info.height
            ext = (min(t.c, t.c + t.a * w), min(t.f, t.f + t.e * h), max(t.c, t.c + t.a * w), max(t.f, t.f + t.e * h))
            covered_geom = shapely.area(geoms)
            b = shapely.bounds(geoms)
            edge = ~((b[:, 0] >= ext[0]) & (b[:, 1] >= ext[1]) & (b[:, 2] <= ext[2]) & (b[:, 3] <= ext[3]))
            covered_geom[edge] = shapely.area(shapely.intersection(geoms[edge], shapely.box(*ext)))
            covered_geom = covered_geom / 1e4
        for done, (pos, part) in enumerate(parts, 1):
            if ens is not None:
                part, part_members = part
                if members is None:
                    members = np.zeros((len(frame), part_members.shape[1]))
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
    diff = np.where(area_ha > 0, (covered - area_ha) / np.where(area_ha > 0, area_ha, 1), 0.0)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    outside &= polygonal
    inside = ~outside & polygonal
    conditions = [
        ("not_a_polygon", ~polygonal),
        ("outside_raster", outside),
        ("coverage_mismatch", inside & (area_ha > 0) & (np.abs(diff) > COVERAGE_TOLERANCE)),
        ("nodata_in_footprint", inside & (valid < covered * (1 - 1e-6)) & (valid > 0)),
        ("nodata_only", inside & (valid <= 0) & (covered > 0)),
        ("few_pixels", inside & (pixels > 0) & (pixels < MIN_PIXELS)),
    ]
    flags = np.full(len(frame), "", dtype=object)
    for name, mask in conditions:
        if mask.any():
            flags[mask] = [f"{f};{name}" if f else name for f in flags[mask]]
    out = gpd.GeoDataFrame({
        "id": ids.values, "forest_ha": forest, "stock_tC": stock_tc, "stock_tCO2": stock_tc * CO2_PER_C,
        "mean_tC_ha": np.where(forest > 0, stock_tc / np.where(forest > 0, forest, 1), 0.0), "pixels": pixels,
        "covered_ha": covered, "area_ha": area_ha, "coverage_diff": diff, "flags": flags,
    }, geometry=frame.geometry.values, crs=frame.crs)
    if ens is not None:
        m = members if members is not None else np.zeros((len(frame), 1))
        for name, q in (("p2_5", 2.5), ("p50", 50), ("p97_5", 97.5)):
            out.insert(out.columns.get_loc("stock_tCO2"), f"stock_tC_{name}", np.percentile(m, q, axis=1))
    return out


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
    forest = float(row["forest_ha"])
    stock_tc = float(row["stock_tC"])
    cleared_forest = forest * share
    years_2030 = max(0, 2030 - base_year)
    years_2060 = max(0, 2060 - base_year)
    per_year = cleared_forest * sink_rate
    return {
        "status": "ok",
        "raster": raster_meta,
        "forest_ha": forest, "stock_tC": stock_tc, "stock_tCO2": stock_tc * CO2_PER_C,
        "mean_tC_ha": float(row["mean_tC_ha"]), "pixels": float(row["pixels"]),
        "covered_ha": float(row["covered_ha"]), "area_ha": float(row["area_ha"]),
        "coverage_diff": float(row["coverage_diff"]), "flags": [f for f in str(row["flags"]).split(";") if f],
        "clear_share": share, "clear_share_given": clear_share is not None,
        "forest_loss_ha": cleared_forest,
        "loss_tC": stock_tc * share, "loss_tCO2": stock_tc * share * CO2_PER_C,
        "forgone_sink": {"rate_tCO2_per_ha_yr": sink_rate, "base_year": base_year,
                         "per_year_tCO2": per_year,
                         "to_2030_tCO2": per_year * years_2030, "years_to_2030": years_2030,
                         "to_2060_tCO2": per_year * years_2060, "years_to_2060": years_2060},
        "parameters": [
            {"name": "carbon density", "value": raster_meta.get("name"), "unit": raster_meta.get("units"),
             "source": f"{raster_meta.get('source', '')} (pools: {raster_meta.get('pools')}; vintage "
                       f"{raster_meta.get('vintage')})"},
            {"name": "CO2/C", "value": round(CO2_PER_C, 6), "unit": "t CO2 / t C",
             "source": "molecular weights 44/12 (IPCC 2006 GL)"},
            {"name": "clear_share", "value": share, "unit": "share of footprint",
             "source": "stated by the project" if clear_share is not None else "zoning default: all forest cleared"},
            {"name": "sink rate r", "value": sink_rate, "unit": "t CO2/ha/yr",
             "source": f"{SEED_DOC} 一、（二）: Nanping biomass sink 1.97 t CO2/ha/yr"},
        ],
        "note": "forgone sink is reported separately and never added to the loss",
    }


def carbon_unavailable(status: str, detail: str) -> dict:
    """Carbon section when there is nothing to measure (a point) or the raster failed."""
    return {"status": status, "detail": detail}
