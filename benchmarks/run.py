"""Benchmarks: each workload timed against a baseline in the same run.

    python benchmarks/run.py [--quick]

Prints a table of medians and ratios and writes benchmarks/results/latest.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
import resource
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from zoning.catalog import load_catalog
from zoning.layerset import load_layerset
from zoning.rules import load_rule_pack
from zoning.screen import screen

ROOT = Path(__file__).resolve().parents[1]


def _timeit(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def random_sites(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(117.05, 119.2, n), rng.uniform(26.3, 28.25, n)
    half = rng.uniform(0.0003, 0.002, n)
    geoms = [shapely.box(x - h, y - h, x + h, y + h) if i % 2 else shapely.Point(x, y)
             for i, (x, y, h) in enumerate(zip(lon, lat, half))]
    return gpd.GeoDataFrame({"id": [f"R{i}" for i in range(n)], "industry": "C2041", "two_high": False,
                             "chemical": False}, geometry=geoms, crs=4490)


def naive_overlay(sites: gpd.GeoDataFrame, layers) -> None:
    """The baseline a GIS script would write: per site, geopandas.overlay + distance per layer
    (layers projected once, outside the loop, to keep the baseline fair)."""
    frames = {role: layers.frames[role].to_crs(4548)
              for role in ("red_line", "control_unit", "park", "protected", "no_burn")}
    for i in range(len(sites)):
        one = sites.iloc[[i]].to_crs(4548)
        for frame in frames.values():
            if one.geom_type.iloc[0] == "Polygon":
                gpd.overlay(one[["geometry"]], frame[["geometry"]], how="intersection").area.sum()
            else:
                frame.intersects(one.geometry.iloc[0]).any()
            frame.distance(one.geometry.iloc[0]).min()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    cat = load_catalog(ROOT / "layers" / "catalog.yaml")
    layers = load_layerset(cat)
    pack = load_rule_pack(cat.rule_pack)
    rows = []

    attrs = {"industry": "C2041", "two_high": False, "chemical": False}
    screen("118.30,27.00", layers=layers, rule_pack=pack, attributes=attrs)  # warm caches
    w1 = _timeit(lambda: screen("118.31,27.01", layers=layers, rule_pack=pack, attributes=attrs), 30)
    rows.append({"workload": "W1 single site, in-process warm", "seconds": w1, "baseline": None, "ratio": None})

    n = 2000 if args.quick else 10000
    sites = random_sites(n)
    t = time.perf_counter()
    screen(sites, layers=layers, rule_pack=pack)
    w2 = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    sub = 100 if args.quick else 300
    t = time.perf_counter()
    naive_overlay(sites.iloc[:sub], layers)
    naive = (time.perf_counter() - t) * n / sub
    rows.append({"workload": f"W2 batch {n} sites (overlay+nearest+rings+rules)", "seconds": w2,
                 "baseline": f"naive per-site overlay, {sub} sites extrapolated to {n}", "baseline_seconds": naive,
                 "ratio": naive / w2, "peak_rss_MiB": peak})

    print(f"{'workload':55s} {'median s':>10s} {'baseline s':>11s} {'speed-up':>9s}")
    for r in rows:
        base = r.get("baseline_seconds")
        base_txt = "-" if base is None else f"{base:.2f}"
        ratio_txt = "-" if r["ratio"] is None else f"{r['ratio']:.1f}x"
        print(f"{r['workload']:55s} {r['seconds']:10.4f} {base_txt:>11s} {ratio_txt:>9s}")
    print(f"peak RSS of this process: {rows[-1]['peak_rss_MiB']:.0f} MiB")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
