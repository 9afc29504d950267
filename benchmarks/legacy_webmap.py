"""Bench baseline only: the hand-written Leaflet page that ``zoning.render.maps`` replaced.

This is the page builder ``zoning/render/webmap.py`` had (one HTML string: Leaflet from the
django-js-lib-leaflet wheel, the data as one JSON object, our controls in
``benchmarks/legacy_assets/map.js`` / ``map.css``). It is kept so that ``make bench`` (W5) can
compare the folium map's size and load time against it; nothing in the package uses it.
Geometry, words and assets come from the package (``zoning.render.maps``) wherever they can, so
both pages carry the same simplified data.
"""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from zoning.geo.crs import EQUAL_AREA_CRS
from zoning.geo.measure import ellipsoidal_areas
from zoning.io.layerset import LayerSet
from zoning.render.labels import outcome_label
from zoning.render.maps import (EXTRA_COLORS, LABELS, OFFSET_TILE_HOSTS, VERDICT_COLORS, _feature_collection,
                                _group_frames, _props, _raster_overlay, _round_coords, assert_offline,
                                leaflet_assets)
from zoning.screening.result import ScreenResult

ASSETS = Path(__file__).parent / "legacy_assets"


def _site_entry(r: ScreenResult, lang: str) -> dict | None:
    if not r.site.wkt:
        return None
    L = LABELS[lang]
    geom = shapely.from_wkt(r.site.wkt)
    rings = []
    if r.crs_used:
        epsg = int(r.crs_used.split(":")[1])
        proj = gpd.GeoSeries([geom], crs=4490).to_crs(epsg)
        for radius in r.buffer_rings_m:
            ring = gpd.GeoSeries([proj.iloc[0].buffer(radius, quad_segs=16)], crs=epsg).to_crs(4326).iloc[0]
            rings.append({"radius_m": radius, "geojson": shapely.geometry.mapping(_round_coords(ring, 6))})
    fired = [f"{x.id}: {outcome_label(x.outcome, lang)}" for x in r.rules if x.outcome != "compliant"]
    popup = [[L["code"], r.site_id], [L["name"], r.site.name or r.inputs.get("name") or ""],
             [L["verdict"], outcome_label(r.verdict, lang)], [L["county"], r.site.county or "—"],
             [L["rules"], "; ".join(fired) or "—"]]
    if r.carbon and r.carbon.get("status") == "ok":
        popup.append([L["carbon"], f"{r.carbon['stock_tCO2']:,.1f} t CO2 ({r.carbon['forest_ha']:,.2f} ha forest)"])
        popup.append([L["loss"], f"{r.carbon['loss_tCO2']:,.1f} t CO2"])
    return {"id": r.site_id, "verdict": r.verdict, "verdict_label": outcome_label(r.verdict, lang),
            "color": VERDICT_COLORS.get(r.verdict, "#424242"), "popup": popup, "rings": rings,
            "geojson": shapely.geometry.mapping(_round_coords(geom, 7))}


def build_page(layers: LayerSet, results: list[ScreenResult] | None = None, *, lang: str = "zh",
               title: str | None = None, basemaps: list[dict] | None = None, raster: bool = True,
               tolerance_m: float | None = None, extra_layers=()) -> str:
    """The legacy map page as one HTML string (what ``webmap.build_map`` returned)."""
    results = list(results or [])
    lang = "en" if lang == "en" else "zh"
    L = LABELS[lang]
    extent = layers.coverage.bounds if layers.coverage is not None else (117.0, 26.2, 119.3, 28.4)
    width_m = (extent[2] - extent[0]) * 111_000 * np.cos(np.deg2rad((extent[1] + extent[3]) / 2))
    tol = tolerance_m if tolerance_m is not None else max(1.0, width_m / 20_000)
    layer_specs = []
    for group, frame in _group_frames(layers):
        fc = _feature_collection(frame, _props(frame, group.role), tol,
                                 coverage=group.role in ("admin", "control_unit"))
        layer_specs.append({"key": group.key, "title": group.title(lang), "stroke": group.stroke, "fill": group.fill,
                            "fillOpacity": group.fill_opacity, "weight": group.weight, "visible": group.visible,
                            "geojson": fc})
    for i, (name, frame) in enumerate(extra_layers):
        frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
        area = ellipsoidal_areas(frame.geometry) / 1e4
        props = [{"id": str(i_), "name": str(n), "cls": None, "area_ha": round(float(a), 2)} for i_, n, a in
                 zip(frame["id"] if "id" in frame else range(len(frame)),
                     frame["name"] if "name" in frame else [name] * len(frame), area)]
        colour = EXTRA_COLORS[i % len(EXTRA_COLORS)]
        layer_specs.append({"key": f"extra_{i}", "title": name, "stroke": colour, "fill": colour, "fillOpacity": 0.3,
                            "weight": 0.8, "visible": True, "geojson": _feature_collection(frame, props, tol, False)})
    sites = [s for s in (_site_entry(r, lang) for r in results) if s]
    if sites:
        b = gpd.GeoSeries([shapely.from_wkt(r.site.wkt) for r in results if r.site.wkt], crs=4490)
        buffer = max((max(r.buffer_rings_m or [0]) for r in results), default=0)
        minx, miny, maxx, maxy = b.to_crs(EQUAL_AREA_CRS).buffer(max(buffer, 500)).to_crs(4326).total_bounds
        bounds = [[miny, minx], [maxy, maxx]]
    else:
        bounds = [[extent[1], extent[0]], [extent[3], extent[2]]]
    basemaps = list(basemaps or [])
    warnings = [L["synthetic"]] if layers.synthetic else []
    for bm in basemaps:
        if any(OFFSET_TILE_HOSTS.search(u) for u in bm["urls"]):
            warnings.append(L["offset"].format(name=bm["name"]))
    data = {"title": title or L["title"], "labels": L, "layers": layer_specs, "sites": sites, "bounds": bounds,
            "basemaps": basemaps, "warnings": warnings, "raster": _raster_overlay(layers, lang) if raster else None,
            "verdict_colors": {k: [v, outcome_label(k, lang)] for k, v in VERDICT_COLORS.items()}}
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    payload = (payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
               .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    css, js = leaflet_assets()
    own_css = (ASSETS / "map.css").read_text(encoding="utf-8")
    own_js = (ASSETS / "map.js").read_text(encoding="utf-8")
    page_title = data["title"].replace("<", "&lt;").replace(">", "&gt;")
    html = (f"<!DOCTYPE html><html lang=\"{'en' if lang == 'en' else 'zh-CN'}\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{page_title}</title>"
            f"<style>{css}\n{own_css}</style></head><body><div id=\"map\"></div>"
            f"<script>{js}</script><script>window.ZONING={payload};</script><script>{own_js}</script></body></html>")
    assert_offline(html, tuple(u for bm in basemaps for u in bm["urls"]))
    return html
