"""W5: the folium map's file size, build time and headless-browser load time, against today's page.

Three pages per case, in one run:

- ours: ``zoning.render.maps.build_map`` saved with ``save_map`` (a folium.Map, every asset inline);
- baseline: the hand-written Leaflet page it replaced (``benchmarks/legacy_webmap.py``);
- folium: a plain folium.GeoJson page with the same data unsimplified at full precision, its CDN
  <script>/<link> tags swapped for the same inlined Leaflet (other CDN assets dropped) so that it
  can load at all with the network blocked — as delivered, a folium page shows nothing offline.

Ratios are baseline / ours (above 1: ours is smaller or faster).

    python benchmarks/maps.py [--quick]
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def folium_page(frames: dict[str, gpd.GeoDataFrame]) -> str:
    import folium

    from zoning.render.maps import leaflet_assets

    m = folium.Map(location=[27.3, 118.1], zoom_start=8, tiles=None)
    for name, frame in frames.items():
        folium.GeoJson(frame.to_crs(4326).to_json(), name=name).add_to(m)
    folium.LayerControl().add_to(m)
    html = m.get_root().render()
    css, js = leaflet_assets()
    html = re.sub(r'<script src="[^"]*leaflet[^"]*\.js"></script>', lambda _: f"<script>{js}</script>", html, count=1)
    html = re.sub(r'<script src="https?://[^"]+"></script>', "", html)
    html = re.sub(r'<link rel="stylesheet" href="[^"]*leaflet\.css"/?>', lambda _: f"<style>{css}</style>", html, count=1)
    html = re.sub(r'<link rel="stylesheet" href="https?://[^"]+"/?>', "", html)
    # mark readiness after folium's own script has added every layer
    return html.replace("</body>", "<script>window.zoningReady = true;</script></body>")


def load_times(paths: list[Path], repeat: int = 3) -> list[float | None]:
    """Median time from navigation to the page's ready flag plus two frames, per page; every request
    other than file:/data:/blob: is blocked."""
    exe = shutil.which("chromium") or shutil.which("google-chrome")
    if exe is None:
        return [None] * len(paths)
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        for path in paths:
            times = []
            for _ in range(repeat):
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "blob:"))
                           else r.abort())
                t = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_function("window.zoningReady === true", timeout=120_000)
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                times.append(time.perf_counter() - t)
                page.close()
            out.append(float(np.median(times)))
        browser.close()
    return out


def stands(n: int, seed: int = 5) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    cx, cy = rng.uniform(117.3, 119.0, n), rng.uniform(26.4, 28.1, n)
    r = np.sqrt(rng.uniform(1e4, 30e4, n) / np.pi) / 111_000
    geoms = [shapely.Point(x, y).buffer(rr, quad_segs=4) for x, y, rr in zip(cx, cy, r)]
    return gpd.GeoDataFrame({"id": [f"S{i}" for i in range(n)], "name": "stand"}, geometry=geoms, crs=4490)


def _ratio(base, ours):
    return base / ours if base and ours else None


def run(quick: bool = False) -> list[dict]:
    from legacy_webmap import build_page

    from zoning.io.catalog import load_catalog
    from zoning.io.layerset import load_layerset
    from zoning.render.maps import build_map, save_map
    from zoning.screening.pipeline import screen

    catalog = load_catalog(ROOT / "layers" / "catalog.yaml")
    layers = load_layerset(catalog)
    results = screen(catalog.one("red_line").path.parent / "sample_projects.gpkg", layers=layers)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    n = 10_000 if quick else 50_000
    many = stands(n)
    cases = {
        "city-wide layer set": (layers, {}, {r: f for r, f in layers.frames.items()}),
        f"city-wide layer set + {len(results)} screened sites": (layers, {"results": results},
                                                                 {r: f for r, f in layers.frames.items()}),
        f"{n:,}-polygon layer": (_empty(layers), {"extra_layers": [("stands", many)], "raster": False},
                                 {"stands": many}),
    }
    rows = []
    for i, (name, (lset, kwargs, frames)) in enumerate(cases.items()):
        p_ours, p_base, p_folium = (out / f"map_{kind}_{i}.html" for kind in ("ours", "legacy", "folium"))
        t = time.perf_counter()
        m = build_map(lset, kwargs.get("results"), **{k: v for k, v in kwargs.items() if k != "results"})
        p_ours.unlink(missing_ok=True)
        ours_bytes = save_map(m, p_ours, overwrite=True)
        ours_build = time.perf_counter() - t
        t = time.perf_counter()
        legacy = build_page(lset, kwargs.get("results"), **{k: v for k, v in kwargs.items() if k != "results"})
        base_build = time.perf_counter() - t
        p_base.write_text(legacy, encoding="utf-8")
        plain = folium_page(frames)
        p_folium.write_text(plain, encoding="utf-8")
        ours_load, base_load, folium_load = load_times([p_ours, p_base, p_folium])
        row = {"workload": f"W5 map: {name}",
               "ours_MB": ours_bytes / 1e6, "baseline_MB": len(legacy.encode()) / 1e6,
               "folium_MB": len(plain.encode()) / 1e6,
               "ours_build_s": ours_build, "baseline_build_s": base_build,
               "ours_load_s": ours_load, "baseline_load_s": base_load, "folium_load_s": folium_load,
               "baseline": "hand-written Leaflet page (benchmarks/legacy_webmap.py)"}
        row["size_ratio"] = _ratio(row["baseline_MB"], row["ours_MB"])
        row["load_ratio"] = _ratio(base_load, ours_load)
        row["build_ratio"] = _ratio(base_build, ours_build)
        rows.append(row)
    return rows


def _empty(layers):
    from zoning.io.layerset import LayerSet

    return LayerSet(layers.catalog, {"admin": layers.frames["admin"]}, {"admin": layers.info["admin"]},
                    layers.coverage)


def main() -> None:
    rows = run(quick="--quick" in sys.argv)
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))
    print(f"\n{'workload':58s} {'MB ours':>8s} {'MB base':>8s} {'ratio':>6s} {'load s ours':>11s} "
          f"{'load s base':>11s} {'ratio':>6s}")
    for r in rows:
        fmt = (lambda v, d=3: "-" if v is None else f"{v:.{d}f}")
        print(f"{r['workload'][:58]:58s} {r['ours_MB']:8.3f} {r['baseline_MB']:8.3f} {fmt(r['size_ratio'], 2):>6s} "
              f"{fmt(r['ours_load_s']):>11s} {fmt(r['baseline_load_s']):>11s} {fmt(r['load_ratio'], 2):>6s}")
    (ROOT / "benchmarks" / "results" / "maps.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
