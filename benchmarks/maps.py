"""W5: map file size and headless-browser load time, against a plain folium.GeoJson page.

The folium baseline gets the same data unsimplified at full precision (folium.GeoJson per
layer). Its CDN <script>/<link> tags are swapped for the same inlined Leaflet (other CDN
assets dropped) so that it can load at all with the network blocked — as delivered, a folium
page shows nothing offline.
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


def folium_page(frames: dict[str, gpd.GeoDataFrame]) -> str:
    import folium

    from zoning.render.webmap import leaflet_assets

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


def load_time(path: Path, repeat: int = 3) -> float | None:
    exe = shutil.which("chromium") or shutil.which("google-chrome")
    if exe is None:
        return None
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
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
        browser.close()
    return float(np.median(times))


def stands(n: int, seed: int = 5) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    cx, cy = rng.uniform(117.3, 119.0, n), rng.uniform(26.4, 28.1, n)
    r = np.sqrt(rng.uniform(1e4, 30e4, n) / np.pi) / 111_000
    geoms = [shapely.Point(x, y).buffer(rr, quad_segs=4) for x, y, rr in zip(cx, cy, r)]
    return gpd.GeoDataFrame({"id": [f"S{i}" for i in range(n)], "name": "stand"}, geometry=geoms, crs=4490)


def run(quick: bool = False) -> list[dict]:
    from zoning.io.catalog import load_catalog
    from zoning.io.layerset import load_layerset
    from zoning.render.webmap import build_map

    layers = load_layerset(load_catalog(ROOT / "layers" / "catalog.yaml"))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    n = 10_000 if quick else 50_000
    cases = {"city-wide layer set": ({}, {r: f for r, f in layers.frames.items()}),
             f"{n:,}-polygon layer": ({"extra_layers": [("stands", stands(n))], "raster": False}, {"stands": stands(n)})}
    for name, (kwargs, frames) in cases.items():
        t = time.perf_counter()
        ours = build_map(layers if "extra_layers" not in kwargs else _empty(layers), **kwargs)
        build_s = time.perf_counter() - t
        base = folium_page(frames)
        p1, p2 = out / f"map_ours_{len(rows)}.html", out / f"map_folium_{len(rows)}.html"
        p1.write_text(ours, encoding="utf-8")
        p2.write_text(base, encoding="utf-8")
        rows.append({"workload": f"W5 map: {name}", "ours_MB": len(ours.encode()) / 1e6,
                     "folium_MB": len(base.encode()) / 1e6, "ours_build_s": build_s,
                     "ours_load_s": load_time(p1), "folium_load_s": load_time(p2)})
    return rows


def _empty(layers):
    from zoning.io.layerset import LayerSet

    return LayerSet(layers.catalog, {"admin": layers.frames["admin"]}, {"admin": layers.info["admin"]},
                    layers.coverage)


def main() -> None:
    rows = run(quick="--quick" in sys.argv)
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))
    (ROOT / "benchmarks" / "results" / "maps.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
