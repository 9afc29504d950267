"""The benchmark workloads; each prints JSON rows. Run through benchmarks/run.py.

    python benchmarks/workloads.py W2 [--quick]
"""
from __future__ import annotations

import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
PROVINCE = ROOT / "benchmarks" / "province"


def _median(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _setup(catalog_path=ROOT / "layers" / "catalog.yaml"):
    from zoning.io.catalog import load_catalog
    from zoning.io.layerset import load_layerset
    from zoning.screening.rules import load_rule_pack

    cat = load_catalog(catalog_path)
    return cat, load_layerset(cat), load_rule_pack(cat.rule_pack)


def land_sites(layers, n: int, *, polygons: float = 0.5, seed: int = 3) -> gpd.GeoDataFrame:
    """Random sites on land: points and squares of 1-16 ha."""
    rng = np.random.default_rng(seed)
    city = shapely.union_all(layers.frames["admin"].geometry.values)
    shapely.prepare(city)
    minx, miny, maxx, maxy = city.bounds
    lon, lat = rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)
    keep = shapely.contains_xy(city, lon, lat)
    lon, lat = lon[keep][:n], lat[keep][:n]
    h = rng.uniform(0.0005, 0.002, n)
    poly = rng.uniform(0, 1, n) < polygons
    geoms = np.where(poly, shapely.box(lon - h, lat - h, lon + h, lat + h), shapely.points(lon, lat))
    return gpd.GeoDataFrame({"id": [f"R{i}" for i in range(n)], "industry": "C2041", "two_high": False,
                             "chemical": False}, geometry=geoms, crs=4490)


def naive(sites, layers) -> None:
    """Baseline: per site, geopandas.overlay (polygons) or intersects (points) + distance, per layer."""
    frames = {r: layers.frames[r].to_crs(4548) for r in ("red_line", "control_unit", "park", "protected", "no_burn")}
    for i in range(len(sites)):
        one = sites.iloc[[i]].to_crs(4548)
        for frame in frames.values():
            if one.geom_type.iloc[0] == "Polygon":
                gpd.overlay(one[["geometry"]], frame[["geometry"]], how="intersection").area.sum()
            else:
                frame.intersects(one.geometry.iloc[0]).any()
            frame.distance(one.geometry.iloc[0]).min()


def w1(quick):
    from zoning.screening.pipeline import screen

    cat, layers, pack = _setup()
    attrs = {"industry": "C2041", "two_high": False, "chemical": False}
    screen("118.30,27.00", layers=layers, rule_pack=pack, attributes=attrs)
    pts = iter(f"{118.0 + i * 0.013:.3f},{26.8 + i * 0.011:.3f}" for i in range(1000))
    warm = _median(lambda: screen(next(pts), layers=layers, rule_pack=pack, attributes=attrs), 30)
    one = land_sites(layers, 1, polygons=1.0)
    base = _median(lambda: naive(one, layers), 5)
    cli = _median(lambda: subprocess.run([str(ROOT / ".venv" / "bin" / "zoning"), "screen", "118.30,27.00", "--json",
                                          "-a", "industry=C2041"], capture_output=True, check=True, cwd=ROOT), 3)
    return [{"workload": "W1 one site, in-process, warm", "seconds": warm, "baseline": "naive overlay of one site",
             "baseline_seconds": base},
            {"workload": "W1 one site, CLI end-to-end (cold start)", "seconds": cli, "baseline": None}]


def w2(quick):
    from zoning.screening.pipeline import screen

    cat, layers, pack = _setup()
    rows = []
    sizes = (10_000,) if quick else (10_000, 100_000)
    for n in sizes:
        for kind, share in (("points", 0.0), ("polygons", 1.0)):
            sites = land_sites(layers, n, polygons=share, seed=n + int(share))
            t = time.perf_counter()
            screen(sites, layers=layers, rule_pack=pack)
            ours = time.perf_counter() - t
            sub = 100 if quick else 300
            t = time.perf_counter()
            naive(sites.iloc[:sub], layers)
            base = (time.perf_counter() - t) * n / sub
            rows.append({"workload": f"W2 batch {n:,} {kind}", "seconds": ours,
                         "baseline": f"naive per-site loop ({sub} measured, extrapolated)", "baseline_seconds": base})
    return rows


def w2_dask(quick):
    from zoning.engines.dask_engine import screen_dask

    cat, layers, pack = _setup()
    sites = land_sites(layers, 10_000 if quick else 40_000, polygons=1.0, seed=11)
    from zoning.io.sites import read_sites

    sites = read_sites(sites, on_error="flag")
    rows, first = [], None
    for workers in (1, 2):
        t = time.perf_counter()
        screen_dask(sites, layers=layers, rule_pack=pack, n_workers=workers)
        dt = time.perf_counter() - t
        first = first or dt
        rows.append({"workload": f"W2 dask LocalCluster, {len(sites):,} polygons, {workers} worker(s)", "seconds": dt,
                     "baseline": "same run with 1 worker", "baseline_seconds": first})
    return rows


def w3(quick):
    from zonal import run

    rows = run(n=20_000 if quick else 100_000, rasterstats_n=2_000 if quick else 10_000)
    r = rows[0]
    return [{"workload": r["workload"], "seconds": r["ours_s"], "baseline": "exactextract (raster-sequential)",
             "baseline_seconds": r["exactextract_s"]},
            {"workload": "W3 … vs extractrs direct", "seconds": r["ours_s"], "baseline": "extractrs direct",
             "baseline_seconds": r["extractrs_s"]},
            {"workload": "W3 … vs rasterstats", "seconds": r["ours_s"], "baseline": "rasterstats (extrapolated)",
             "baseline_seconds": r[[k for k in r if k.startswith("rasterstats")][0]],
             "note": f"max rel diff vs exactextract {r['max_rel_diff_vs_exactextract']:.1e}"}]


def w4(quick):
    from zoning.export.county import export_county

    cat, layers, pack = _setup()
    out = Path(tempfile.mkdtemp())
    t = time.perf_counter()
    export_county(layers, out / "ours", county="all", roles="all", formats=("shp",))
    ours = time.perf_counter() - t
    base = None
    if shutil.which("ogr2ogr"):
        admin = layers.frames["admin"]
        specs = {s.role: s for s in cat.layers if s.kind == "vector"}
        clips = {}
        for code, geom in zip(admin["code"], admin.geometry):
            clips[code] = out / "clip" / f"{code}.geojson"
            clips[code].parent.mkdir(parents=True, exist_ok=True)
            gpd.GeoDataFrame(geometry=[geom], crs=4490).to_file(clips[code])
        t = time.perf_counter()
        for code in admin["code"]:
            for role, spec in specs.items():
                dst = out / "ogr" / code / f"{role}.shp"
                dst.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(["ogr2ogr", "-f", "ESRI Shapefile", "-clipsrc", str(clips[code]), "-nlt",
                                "PROMOTE_TO_MULTI", "-skipfailures", "-lco", "ENCODING=UTF-8", str(dst), str(spec.path),
                                spec.layer or ""], check=True, capture_output=True)
        base = time.perf_counter() - t
    shutil.rmtree(out, ignore_errors=True)
    return [{"workload": "W4 export all layers, 10 counties (zipped shp + dictionary + manifest)", "seconds": ours,
             "baseline": "ogr2ogr -clipsrc per county and layer (plain shp; -skipfailures drops clipped features that "
                         "became geometry collections, which our export keeps)", "baseline_seconds": base}]


def w5(quick):
    from maps import run

    rows = []
    for r in run(quick=quick):
        rows.append({"workload": r["workload"] + " — load time", "seconds": r["ours_load_s"],
                     "baseline": "the hand-written Leaflet page it replaced", "baseline_seconds": r["baseline_load_s"],
                     "note": f"size {r['ours_MB']:.2f} MB vs {r['baseline_MB']:.2f} MB "
                             f"(plain folium.GeoJson {r['folium_MB']:.2f} MB, {r['folium_load_s']:.2f} s)"})
    return rows


def province(quick):
    if quick:
        return []
    from zoning.carbon.density import stock
    from zoning.sample.province import build_province
    from zoning.screening.pipeline import screen

    catalog = PROVINCE / "catalog.yaml"
    if not catalog.exists():
        t = time.perf_counter()
        build_province(PROVINCE)
        print(json.dumps({"note": f"built the province set in {time.perf_counter() - t:.0f} s"}), file=sys.stderr)
    cat, layers, pack = _setup(catalog)
    sites = land_sites(layers, 20_000, polygons=1.0, seed=21)
    t = time.perf_counter()
    screen(sites, layers=layers, rule_pack=pack)
    w2p = time.perf_counter() - t
    stands = gpd.read_file(PROVINCE / "stands.gpkg")
    t = time.perf_counter()
    stock(stands, PROVINCE / "forest_carbon_30m.tif", workers=2)
    w3p = time.perf_counter() - t
    return [{"workload": "W2 province: 20,000 polygon sites vs ~2,300 complex units", "seconds": w2p, "baseline": None},
            {"workload": f"W3 province: {len(stands):,} stands on the 30 m COG (~190 M px)", "seconds": w3p,
             "baseline": None}]


def proj(quick):
    """Cost of faithful projection (issue 11): layers and sites densified in lon/lat (edges cut to
    zoning.geo.crs.DENSIFY_DEG) before they are projected, vs vertex by vertex (the baseline).
    One warm site (point, polygon) and a 10,000-site batch, each on a fresh LayerSet."""
    import zoning.geo.crs as crs
    from zoning.screening.pipeline import screen

    default = crs.DENSIFY_DEG
    timing = {}
    for label, deg in (("densified", default), ("vertex by vertex", 1e9)):
        crs.DENSIFY_DEG = deg
        cat, layers, pack = _setup()
        attrs = {"industry": "C2041", "two_high": False, "chemical": False}
        t = time.perf_counter()
        screen("118.30,27.00", layers=layers, rule_pack=pack, attributes=attrs)  # builds the zone's layers
        timing[(label, "first")] = time.perf_counter() - t
        pts = iter(f"{118.0 + i * 0.013:.3f},{26.8 + i * 0.011:.3f}" for i in range(1000))
        timing[(label, "point")] = _median(lambda: screen(next(pts), layers=layers, rule_pack=pack, attributes=attrs), 30)
        polys = land_sites(layers, 30, polygons=1.0, seed=5)
        it = iter(range(30))
        timing[(label, "polygon")] = _median(lambda: screen(polys.iloc[[next(it)]], layers=layers, rule_pack=pack,
                                                            attributes=attrs), 30)
        for kind, share in (("points", 0.0), ("polygons", 1.0)):
            sites = land_sites(layers, 10_000, polygons=share, seed=10_000 + int(share))
            t = time.perf_counter()
            screen(sites, layers=layers, rule_pack=pack)
            timing[(label, kind)] = time.perf_counter() - t
    crs.DENSIFY_DEG = default
    names = {"first": "first site (densify + project the layers)", "point": "one point site, warm",
             "polygon": "one polygon site, warm", "points": "batch 10,000 points", "polygons": "batch 10,000 polygons"}
    return [{"workload": f"PROJ {names[k]}, densified to {default}°", "seconds": timing[("densified", k)],
             "baseline": "vertex-by-vertex projection", "baseline_seconds": timing[("vertex by vertex", k)]}
            for k in names]


WORKLOADS = {"W1": w1, "W2": w2, "W2dask": w2_dask, "W3": w3, "W4": w4, "W5": w5, "PROVINCE": province, "PROJ": proj}

if __name__ == "__main__":
    name, quick = sys.argv[1], "--quick" in sys.argv
    rows = WORKLOADS[name](quick)
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    for r in rows:
        r["peak_rss_MiB"] = peak / 1024
        print("ROW " + json.dumps(r, ensure_ascii=False))
