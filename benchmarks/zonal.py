"""W3: zonal carbon stock of 100,000 polygons (1-30 ha) on the 30 m sample raster.

Compares, in one run: our path (zoning.carbon.density.stock), exactextract called directly (its
fastest strategy here), extractrs called directly (cache + sum on the whole raster), and
rasterstats on a subset (extrapolated, and said so). Checks that our stocks equal
exactextract's within 1e-6 relative for every polygon.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely

from zoning.sample.geometry import rectangles

ROOT = Path(__file__).resolve().parents[1]


def polygons(raster: Path, n: int, seed: int = 11) -> gpd.GeoDataFrame:
    """Random rectangles of 1-30 ha whose centres fall on city land (not nodata)."""
    with rasterio.open(raster) as src:
        data = src.read(1, out_shape=(src.height // 10, src.width // 10))
        t = src.transform @ rasterio.Affine.scale(10)
        crs = src.crs
    rows, cols = np.nonzero(data != src.nodata)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, rows.size, n)
    cx = t.c + (cols[pick] + rng.uniform(0, 1, n)) * t.a
    cy = t.f + (rows[pick] + rng.uniform(0, 1, n)) * t.e
    geoms = rectangles(cx, cy, rng.uniform(1e4, 30e4, n), rng.uniform(1, 2, n), np.deg2rad(rng.uniform(0, 180, n)))
    return gpd.GeoDataFrame({"site_id": [f"F{i}" for i in range(n)]}, geometry=geoms, crs=crs)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run(n: int = 100_000, rasterstats_n: int = 10_000, workers: int = 2) -> list[dict]:
    from exactextract import exact_extract
    import extractrs

    from zoning.carbon.density import stock

    raster = ROOT / "layers" / "nanping" / "generated" / "forest_carbon_30m.tif"
    if not raster.exists():
        sys.exit("missing 30 m raster: run `zoning sample build --resolution 30` first (make bench does)")
    gdf = polygons(raster, n)
    with rasterio.open(raster) as src:
        px_ha = abs(src.res[0] * src.res[1]) / 1e4
        decoded_mib = src.width * src.height * 4 / 2**20
        b, t = src.bounds, src.transform
    rows = []
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ours_s, ours = timed(lambda: stock(gdf, raster, workers=workers))
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ee_s, ee = timed(lambda: exact_extract(str(raster), gdf, ["sum"], output="pandas", strategy="raster-sequential"))
    ee_fs_s, _ = timed(lambda: exact_extract(str(raster), gdf.iloc[:20_000], ["sum"], output="pandas",
                                             strategy="feature-sequential"))
    ee_fs_s *= n / 20_000

    def _extractrs():
        with rasterio.open(raster) as src:
            data = src.read(1).astype("float64")
        cache = extractrs.build_cache([g.wkb for g in gdf.geometry], list(range(n)), b.left, b.bottom, b.right,
                                      b.top, t.a, -t.e)
        return extractrs.apply_stat(cache, data, float(src.nodata), "sum")

    xr_s, _ = timed(_extractrs)
    from rasterstats import zonal_stats

    rs_s, _ = timed(lambda: zonal_stats(gdf.iloc[:rasterstats_n], str(raster), stats=["sum"], nodata=-9999.0,
                                        all_touched=False))
    rs_s *= n / rasterstats_n
    ref = ee["sum"].to_numpy() * px_ha
    rel = np.abs(ours["stock_tC"].to_numpy() - ref) / np.maximum(np.abs(ref), 1e-9)
    rel[np.abs(ref) < 1e-9] = np.abs(ours["stock_tC"].to_numpy()[np.abs(ref) < 1e-9])
    rows.append({"workload": f"W3 zonal stock, {n:,} polygons, 30 m raster", "ours_s": ours_s,
                 "exactextract_s": ee_s, "exactextract_feature_sequential_s (extrapolated from 20k)": ee_fs_s,
                 "extractrs_s": xr_s, f"rasterstats_s (extrapolated from {rasterstats_n:,})": rs_s,
                 "speedup_vs_exactextract": ee_s / ours_s, "ratio_to_extractrs": ours_s / xr_s,
                 "speedup_vs_rasterstats": rs_s / ours_s, "max_rel_diff_vs_exactextract": float(rel.max()),
                 "raster_decoded_MiB": decoded_mib, "peak_rss_main_MiB": rss_self, "peak_rss_worker_MiB": rss_child,
                 "baseline_rss_MiB": base_rss, "workers": workers})
    return rows


def main() -> None:
    quick = "--quick" in sys.argv
    rows = run(n=20_000 if quick else 100_000, rasterstats_n=2_000 if quick else 10_000)
    for r in rows:
        for k, v in r.items():
            print(f"{k:60s} {v:.4g}" if isinstance(v, float) else f"{k:60s} {v}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "zonal.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
