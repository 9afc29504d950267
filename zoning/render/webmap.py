"""One self-contained HTML map that works with no network at all.

Leaflet 1.9.4 (from the ``django-js-lib-leaflet`` wheel: the library's own files, no other
dependency) and this package's small controls are inlined with the data; images become data:
URIs. :func:`assert_offline` refuses any script, link, image or CSS url() that points at an
http(s) address other than a configured basemap's tile template.
"""
from __future__ import annotations

from zoning.errors import OfflineViolation

import base64
import importlib.util
import io
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from zoning.geo.crs import EQUAL_AREA_CRS
from zoning.io.layerset import LayerSet
from zoning.geo.measure import ellipsoidal_areas
from zoning.screening.result import ScreenResult
from zoning.render.labels import outcome_label

ASSETS = Path(__file__).parent / "assets"
#: key, Chinese title, English title, role, (field, values) filter, stroke, fill, fill opacity, weight, visible
GROUPS = [
    ("admin", "县级行政区", "Counties", "admin", None, "#37474f", "#ffffff", 0.0, 1.4, True),
    ("unit_1", "优先保护单元", "Priority-protection units", "control_unit", ("class", ["优先保护"]), "#2e7d32",
     "#81c784", 0.35, 0.5, False),
    ("unit_2", "重点管控单元", "Key-control units", "control_unit", ("class", ["重点管控"]), "#e65100", "#ffb74d",
     0.45, 0.5, False),
    ("unit_3", "一般管控单元", "General-control units", "control_unit", ("class", ["一般管控"]), "#9e9d24", "#fff59d",
     0.35, 0.5, False),
    ("red_line", "生态保护红线", "Ecological red lines", "red_line", None, "#b71c1c", "#e53935", 0.35, 0.8, True),
    ("protected", "自然保护地", "National park and nature reserves", "protected",
     ("kind", ["国家公园", "自然保护区"]), "#1b5e20", "#2e7d32", 0.25, 1.2, True),
    ("water", "饮用水水源保护区", "Drinking-water source zones", "protected", ("kind", ["饮用水水源保护区"]), "#0d47a1",
     "#42a5f5", 0.5, 1.0, True),
    ("park", "工业园区", "Industrial parks", "park", None, "#4a148c", "#ab47bc", 0.45, 1.0, True),
    ("no_burn", "高污染燃料禁燃区", "High-polluting-fuel no-burn zones", "no_burn", None, "#5d4037", "#a1887f", 0.35,
     1.0, True),
]
VERDICT_COLORS = {"prohibited": "#c62828", "conditional": "#ef6c00", "needs_info": "#8d6e63", "compliant": "#2e7d32"}
RAMP = ["#ffffcc", "#d9f0a3", "#addd8e", "#78c679", "#31a354", "#006837"]
OFFSET_TILE_HOSTS = re.compile(r"autonavi|amap|gaode|baidu|bdimg|bdstatic|map\.qq|gtimg|tencent", re.I)
LABELS = {
    "zh": {"no_basemap": "无底图", "layer": "图层", "code": "编码", "name": "名称", "cls": "类别", "area": "面积",
           "sites": "项目站点", "legend": "图例", "length": "长度", "fullscreen": "全屏", "measure": "量算",
           "draw": "绘制范围", "export": "导出 GeoJSON", "measure_help": "单击添加点，双击结束；Esc 取消",
           "draw_help": "单击添加顶点，双击完成多边形；然后点“导出 GeoJSON”", "nothing_drawn": "尚未绘制多边形",
           "drawn_name": "绘制的项目范围", "drawn_done": "已完成，可导出 GeoJSON 供 zoning screen 使用",
           "verdict": "结论", "rules": "触发规则", "carbon": "碳储量", "loss": "清除碳损失", "county": "县区"},
    "en": {"no_basemap": "No basemap", "layer": "Layer", "code": "Code", "name": "Name", "cls": "Class",
           "area": "Area", "sites": "Project sites", "legend": "Legend", "length": "Length", "fullscreen": "Full screen",
           "measure": "Measure", "draw": "Draw site", "export": "Export GeoJSON",
           "measure_help": "Click to add points, double-click to finish; Esc cancels",
           "draw_help": "Click vertices, double-click to close the polygon, then Export GeoJSON",
           "nothing_drawn": "Nothing drawn yet", "drawn_name": "Drawn project site",
           "drawn_done": "Done: export the GeoJSON and pass it to zoning screen", "verdict": "Verdict",
           "rules": "Rules", "carbon": "Carbon stock", "loss": "Loss if cleared", "county": "County"},
}



# ---------------------------------------------------------------------------------------
def _leaflet_dir() -> Path:
    spec = importlib.util.find_spec("js_lib_leaflet")
    if spec is None or not spec.submodule_search_locations:
        raise OfflineViolation("Leaflet assets missing: install django-js-lib-leaflet (pip install zoning pulls it in)")
    return Path(list(spec.submodule_search_locations)[0]) / "static" / "js_lib_leaflet"


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def leaflet_assets() -> tuple[str, str]:
    """(css, js) of Leaflet with every image turned into a data: URI."""
    folder = _leaflet_dir()
    css = (folder / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"url\((?:['\"])?images/([\w\-.]+\.png)(?:['\"])?\)",
                 lambda m: f"url({_data_uri(folder / 'images' / m.group(1), 'image/png')})", css)
    return css, (folder / "leaflet.js").read_text(encoding="utf-8")


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video") and a.get("src"):
            self.refs.append(a["src"])
        if tag == "link" and a.get("href"):
            self.refs.append(a["href"])


def assert_offline(html: str, allowed: tuple[str, ...] = ()) -> None:
    """Raise OfflineViolation if an element or CSS url() points at http(s), bar ``allowed`` templates."""
    parser = _Refs()
    parser.feed(html)
    bad = [r for r in parser.refs if re.match(r"(?i)\s*(https?:)?//", r) and r not in allowed]
    bad += [u for u in re.findall(r"(?i)url\(\s*['\"]?((?:https?:)?//[^'\")]+)", html) if u not in allowed]
    if bad:
        raise OfflineViolation(f"map would load from the network: {bad[:3]}")


# ---------------------------------------------------------------------------------------
def _round_coords(geom, ndigits: int):
    return shapely.transform(geom, lambda c: np.round(c, ndigits))


def _feature_collection(frame: gpd.GeoDataFrame, props: list[dict], tolerance_m: float, coverage: bool) -> dict:
    ea = frame.geometry.to_crs(EQUAL_AREA_CRS).values
    if tolerance_m > 0:
        simplified = None
        if coverage and hasattr(shapely, "coverage_simplify"):
            try:
                simplified = shapely.coverage_simplify(ea, tolerance_m)  # keeps shared edges shared
            except shapely.errors.GEOSException:
                simplified = None  # GEOS refuses some slivers; fall back to per-feature simplification
        ea = simplified if simplified is not None else shapely.simplify(ea, tolerance_m, preserve_topology=True)
    geoms = gpd.GeoSeries(ea, crs=EQUAL_AREA_CRS).to_crs(4326).values
    feats = []
    for g, p in zip(geoms, props):
        if g is None or g.is_empty:
            continue
        feats.append({"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(_round_coords(g, 5))})
    return {"type": "FeatureCollection", "features": feats}


def _group_frames(layers: LayerSet):
    for key, zh, en, role, flt, stroke, fill, fop, weight, visible in GROUPS:
        if role not in layers.frames or layers.info[role].status != "ok":
            continue
        frame = layers.frames[role]
        if flt:
            frame = frame[frame[flt[0]].astype(str).isin(flt[1])]
        if len(frame):
            yield (key, zh, en, role, stroke, fill, fop, weight, visible), frame


def _props(frame: gpd.GeoDataFrame, role: str) -> list[dict]:
    area = ellipsoidal_areas(frame.geometry) / 1e4
    out = []
    for (_, row), a in zip(frame.iterrows(), area):
        ident = row.get("code") if role in ("admin", "control_unit") else row.get("id")
        cls = {"control_unit": row.get("class"), "red_line": row.get("type"), "park": row.get("level"),
               "protected": f"{row.get('kind')}·{row.get('grade')}" if role == "protected" else None}.get(role)
        out.append({"id": str(ident), "name": str(row.get("name", "")), "cls": None if cls is None else str(cls),
                    "area_ha": round(float(a), 2)})
    return out


def _raster_overlay(layers: LayerSet, lang: str, max_px: int = 1000) -> dict | None:
    specs = layers.catalog.by_role("forest_carbon")
    if not specs or not specs[0].path.exists():
        return None
    import rasterio
    from PIL import Image
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    with rasterio.open(specs[0].path) as src:
        transform, width, height = calculate_default_transform(src.crs, "EPSG:3857", src.width, src.height,
                                                               *src.bounds)
        scale = max(width, height) / max_px
        width, height = int(width / scale), int(height / scale)
        transform = transform @ transform.scale(scale)
        dst = np.full((height, width), np.nan, dtype="float32")
        reproject(rasterio.band(src, 1), dst, dst_transform=transform, dst_crs="EPSG:3857",
                  resampling=Resampling.average, dst_nodata=np.nan, src_nodata=src.nodata)
        units = src.tags().get("units") or specs[0].units or ""
    valid = np.isfinite(dst) & (dst > 0)
    vmax = float(np.percentile(dst[valid], 98)) if valid.any() else 1.0
    idx = np.clip(dst / vmax, 0, 1)
    ramp = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in RAMP], dtype="float64")
    pos = np.where(valid, idx, 0) * (len(RAMP) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(RAMP) - 2)
    frac = (pos - lo)[..., None]
    rgb = ramp[lo] * (1 - frac) + ramp[lo + 1] * frac
    rgba = np.dstack([rgb, np.where(valid, 255, 0)]).astype("uint8")
    buf = io.BytesIO()
    # a 64-colour palette: the ramp is smooth, so this is invisible at overview scale and ~4x smaller
    Image.fromarray(rgba, "RGBA").quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(
        buf, format="PNG", optimize=True)
    from pyproj import Transformer

    tr = Transformer.from_crs(3857, 4326, always_xy=True)
    west, north = tr.transform(transform.c, transform.f)
    east, south = tr.transform(transform.c + transform.a * width, transform.f + transform.e * height)
    title = specs[0].name if lang != "en" else "Forest carbon density"
    return {"uri": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"),
            "bounds": [[south, west], [north, east]], "title": title, "min": 0, "max": round(vmax, 1), "units": units,
            "ramp": RAMP}


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


def basemaps_from_env(tiles: str | None = None, tiles_name: str | None = None) -> list[dict]:
    """Tianditu when a key is configured (ZONING_TIANDITU_KEY or TIANDITU_KEY); plus ``tiles``."""
    out = []
    key = os.environ.get("ZONING_TIANDITU_KEY") or os.environ.get("TIANDITU_KEY")
    if key:
        def wmts(layer):
            return (f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                    f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                    f"&TILECOL={{x}}&tk={key}")
        out.append({"name": "天地图矢量 Tianditu vector", "urls": [wmts("vec"), wmts("cva")], "subdomains": "01234567",
                    "attribution": "天地图 Tianditu"})
        out.append({"name": "天地图影像 Tianditu imagery", "urls": [wmts("img"), wmts("cia")], "subdomains": "01234567",
                    "attribution": "天地图 Tianditu"})
    if tiles:
        out.append({"name": tiles_name or "自定义底图 custom tiles", "urls": [tiles], "subdomains": "abc",
                    "attribution": tiles_name or "custom tiles"})
    return out


def build_map(layers: LayerSet, results: list[ScreenResult] | None = None, *, lang: str = "zh",
              title: str | None = None, basemaps: list[dict] | None = None, raster: bool = True,
              tolerance_m: float | None = None, extra_layers: list[tuple[str, gpd.GeoDataFrame]] = ()) -> str:
    """The map page as one HTML string.

    ``extra_layers`` adds (title, GeoDataFrame) groups, e.g. a programme selection; their
    ``id``/``name`` columns feed the popups.
    """
    results = list(results or [])
    L = LABELS[lang]
    extent = layers.coverage.bounds if layers.coverage is not None else (117.0, 26.2, 119.3, 28.4)
    width_m = (extent[2] - extent[0]) * 111_000 * np.cos(np.deg2rad((extent[1] + extent[3]) / 2))
    tol = tolerance_m if tolerance_m is not None else max(1.0, width_m / 20_000)
    layer_specs = []
    for (key, zh, en, role, stroke, fill, fop, weight, visible), frame in _group_frames(layers):
        fc = _feature_collection(frame, _props(frame, role), tol, coverage=role in ("admin", "control_unit"))
        layer_specs.append({"key": key, "title": en if lang == "en" else zh, "stroke": stroke, "fill": fill,
                            "fillOpacity": fop, "weight": weight, "visible": visible, "geojson": fc})
    for i, (name, frame) in enumerate(extra_layers):
        frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
        area = ellipsoidal_areas(frame.geometry) / 1e4
        props = [{"id": str(i_), "name": str(n), "cls": None, "area_ha": round(float(a), 2)} for i_, n, a in
                 zip(frame["id"] if "id" in frame else range(len(frame)),
                     frame["name"] if "name" in frame else [name] * len(frame), area)]
        colour = ["#00838f", "#6d4c41", "#283593"][i % 3]
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
    warnings = []
    if layers.synthetic:
        warnings.append("注意：图层为合成示例数据，非官方成果" if lang != "en" else
                        "Notice: SYNTHETIC sample layers, not official data")
    for bm in basemaps:
        if any(OFFSET_TILE_HOSTS.search(u) for u in bm["urls"]):
            warnings.append("警告：该底图（高德/百度/腾讯）采用 GCJ-02/BD-09 偏移坐标，与本图 CGCS2000 数据相差数百米"
                            " / Warning: this basemap uses GCJ-02/BD-09 offset coordinates, hundreds of metres off "
                            "the CGCS2000 data")
    data = {"title": title or ("南平市生态环境分区管控图" if lang != "en" else "Nanping environmental zoning map"),
            "labels": L, "layers": layer_specs, "sites": sites, "bounds": bounds, "basemaps": basemaps,
            "warnings": warnings, "raster": _raster_overlay(layers, lang) if raster else None,
            "verdict_colors": {k: [v, outcome_label(k, lang)] for k, v in VERDICT_COLORS.items()}}
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # "<", ">" and "&" only occur inside JSON strings: as \u escapes they cannot end or open an element
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
    allowed = tuple(u for bm in basemaps for u in bm["urls"])
    assert_offline(html, allowed)
    return html
