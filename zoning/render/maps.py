"""Maps as ``folium.Map`` objects that work with no network at all.

:func:`build_map` draws a layer set, screening results and extra layer groups into ONE
``folium.Map`` (a new one, or the user's ``m``). Notebook users display and extend it; the CLI
and the service save it with :func:`save_map`.

Offline by construction:

- Leaflet comes from the ``django-js-lib-leaflet`` wheel (its images become data: URIs) and is
  set as data: URIs on the map INSTANCE (``m.default_js`` / ``m.default_css``); folium's class
  lists (CDN Leaflet, jQuery, Bootstrap, Font Awesome, awesome-markers) are never touched, and
  none of those is needed: popups and tooltips are built by our own JS, not folium's jQuery code.
- Our controls (title and notices, legend, pointer position, full screen, geodesic measure,
  draw and export) are ``MacroElement`` subclasses whose JS/CSS are this package's files in
  ``zoning/render/assets``, again as per-instance data: URIs.
- :func:`assert_offline` inspects the rendered page at DOM level and refuses any http(s) or
  protocol-relative reference other than a configured tile template.

Escaping by construction: data text reaches the page only as JSON in JavaScript (:func:`js_data`)
and is put into the DOM with ``textContent``; where Leaflet itself inserts HTML (layer-switcher
labels, tile attributions) the text is HTML-escaped first (:func:`html_text`).
"""
from __future__ import annotations

import base64
import functools
import importlib.util
import io
import os
import re
from binascii import Error as BinasciiError
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import unquote_to_bytes

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template
from folium.utilities import JsCode

from zoning.errors import OfflineViolation, ZoningError
from zoning.escape import html_text, js_data
from zoning.geo.crs import EQUAL_AREA_CRS
from zoning.geo.measure import ellipsoidal_areas
from zoning.io.atomic import check_writable, write_text
from zoning.io.inputs import path_is_dir
from zoning.io.layerset import LayerSet
from zoning.render.labels import outcome_label, role_label, t
from zoning.screening.result import ScreenResult
from zoning.vocabulary import (GENERAL, KEY, NATURE_AREA_FILTER, OUTCOMES, PRIORITY, UNIT_CLASS_EN,
                               WATER_SOURCE_FILTER)

__all__ = ["build_map", "map_html", "save_map", "basemaps_from_env", "assert_offline", "html_text", "js_data",
           "leaflet_assets", "GeoJsonGroup", "InfoBox", "Legend", "MousePosition", "Fullscreen", "Measure", "DrawExport", "ScaleBar"]

ASSETS = Path(__file__).parent / "assets"


# --- escaping: the one function per sink lives in zoning.escape (re-exported here) -----------
# --- words shown on the map -----------------------------------------------------------------
LABELS = {
    "zh": {"fold": "点击折叠/展开图例", "no_basemap": "无底图", "layer": "图层", "source": "数据", "code": "编码", "name": "名称", "cls": "类别",
           "area": "面积（椭球面）", "legend": "图例", "length": "长度（椭球面）", "fullscreen": "全屏", "measure": "量算",
           "draw": "绘制范围", "export": "导出 GeoJSON", "measure_help": "单击添加点，双击结束；Esc 取消",
           "draw_help": "单击添加顶点，双击完成多边形；然后点“导出 GeoJSON”", "nothing_drawn": "尚未绘制多边形",
           "drawn_name": "绘制的项目范围", "drawn_done": "已完成，可导出 GeoJSON 供 zoning screen 使用",
           "verdict": "结论", "rules": "触发规则", "carbon": "碳储量", "no_carbon_data": "无数据（不是 0 吨）",
           "loss": "清除碳损失", "county": "县区",
           "forest": "森林", "sites": "项目站点", "title": "南平市生态环境分区管控图",
           "synthetic": "注意：图层为合成示例数据，非官方成果",
           "offset": "警告：底图“{name}”（高德/百度/腾讯）采用 GCJ-02/BD-09 偏移坐标，与本图 CGCS2000 数据相差数百米",
           "units": "{cls}单元"},
    "en": {"fold": "Click to fold or unfold the legend", "no_basemap": "No basemap", "layer": "Layer", "source": "Data", "code": "Code", "name": "Name",
           "cls": "Class", "area": "Area (ellipsoidal)", "legend": "Legend", "length": "Length (ellipsoidal)",
           "fullscreen": "Full screen",
           "measure": "Measure", "draw": "Draw site", "export": "Export GeoJSON",
           "measure_help": "Click to add points, double-click to finish; Esc cancels",
           "draw_help": "Click vertices, double-click to close the polygon, then Export GeoJSON",
           "nothing_drawn": "Nothing drawn yet", "drawn_name": "Drawn project site",
           "drawn_done": "Done: export the GeoJSON and pass it to zoning screen", "verdict": "Verdict",
           "rules": "Rules", "carbon": "Carbon stock", "no_carbon_data": "no data (not 0 t)",
           "loss": "Loss if cleared", "county": "County",
           "forest": "forest", "sites": "Project sites", "title": "Nanping environmental zoning map",
           "synthetic": "Notice: SYNTHETIC sample layers, not official data",
           "offset": "Warning: basemap “{name}” (AutoNavi/Baidu/Tencent) uses GCJ-02/BD-09 offset coordinates, "
                     "hundreds of metres off the CGCS2000 data",
           "units": "{cls} units"},
}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class _Group:
    """A layer group: a role, optionally filtered, drawn in one style."""

    key: str
    role: str
    where: tuple  # ((field, (values, ...)), ...) as LayerSet.projected takes it
    stroke: str
    fill: str
    fill_opacity: float
    weight: float
    visible: bool
    topic: str | None = None  # a vocabulary topic naming a part of the role
    unit_class: str | None = None

    def title(self, lang: str) -> str:
        if self.unit_class:
            cls = UNIT_CLASS_EN[self.unit_class] if lang == "en" else self.unit_class
            return _cap(LABELS[lang]["units"].format(cls=cls))
        name = role_label(self.topic or self.role, lang)
        return _cap(name) if lang == "en" else name


GROUPS: tuple[_Group, ...] = (
    _Group("admin", "admin", (), "#37474f", "#ffffff", 0.0, 1.4, True),
    _Group("unit_1", "control_unit", (("class", (PRIORITY,)),), "#2e7d32", "#81c784", 0.35, 0.5, False,
           unit_class=PRIORITY),
    _Group("unit_2", "control_unit", (("class", (KEY,)),), "#e65100", "#ffb74d", 0.45, 0.5, False, unit_class=KEY),
    _Group("unit_3", "control_unit", (("class", (GENERAL,)),), "#9e9d24", "#fff59d", 0.35, 0.5, False,
           unit_class=GENERAL),
    _Group("red_line", "red_line", (), "#b71c1c", "#e53935", 0.35, 0.8, True),
    _Group("nature_area", "protected", NATURE_AREA_FILTER, "#1b5e20", "#2e7d32", 0.25, 1.2, True, topic="nature_area"),
    _Group("water_source", "protected", WATER_SOURCE_FILTER, "#0d47a1", "#42a5f5", 0.5, 1.0, True,
           topic="water_source"),
    _Group("park", "park", (), "#4a148c", "#ab47bc", 0.45, 1.0, True),
    _Group("no_burn", "no_burn", (), "#5d4037", "#a1887f", 0.35, 1.0, True),
    # element zones of imported official results (issue 12); drawn only when a catalog has them, off by default
    _Group("water_zone", "water_zone", (), "#01579b", "#4fc3f7", 0.2, 0.6, False),
    _Group("air_zone", "air_zone", (), "#455a64", "#b0bec5", 0.2, 0.6, False),
    _Group("eco_zone", "eco_zone", (), "#33691e", "#aed581", 0.2, 0.6, False),
)
VERDICT_COLORS = {"prohibited": "#c62828", "conditional": "#ef6c00", "needs_info": "#00acc1", "compliant": "#2e7d32"}
ERROR_COLOR = "#424242"
EXTRA_COLORS = ("#00838f", "#6d4c41", "#283593")
RAMP = ["#ffffcc", "#d9f0a3", "#addd8e", "#78c679", "#31a354", "#006837"]
OFFSET_TILE_HOSTS = re.compile(r"autonavi|amap|gaode|baidu|bdimg|bdstatic|map\.qq|gtimg|tencent", re.I)


# --- assets: Leaflet from its wheel, our controls from zoning/render/assets ----------------
def _leaflet_dir() -> Path:
    spec = importlib.util.find_spec("js_lib_leaflet")
    if spec is None or not spec.submodule_search_locations:
        raise OfflineViolation("缺少 Leaflet 资源：请安装 django-js-lib-leaflet（pip install zoning 会自动安装）",
                               "Leaflet assets missing: install django-js-lib-leaflet (pip install zoning pulls it in)")
    return Path(list(spec.submodule_search_locations)[0]) / "static" / "js_lib_leaflet"


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")


@functools.lru_cache(maxsize=None)
def leaflet_assets() -> tuple[str, str]:
    """(css, js) of Leaflet with every image turned into a data: URI and no source-map reference."""
    folder = _leaflet_dir()
    css = (folder / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"url\((?:['\"])?images/([\w\-.]+\.png)(?:['\"])?\)",
                 lambda m: f"url({_data_uri((folder / 'images' / m.group(1)).read_bytes(), 'image/png')})", css)
    js = _SOURCE_MAP.sub("\n", (folder / "leaflet.js").read_text(encoding="utf-8"))
    return css, js


@functools.lru_cache(maxsize=None)
def _leaflet_uris() -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(js, css) (name, data: URI) pairs for a map we create: Leaflet and its default marker icons."""
    css, js = leaflet_assets()
    images = _leaflet_dir() / "images"
    icons = {k: _data_uri((images / f).read_bytes(), "image/png") for k, f in
             (("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"),
              ("shadowUrl", "marker-shadow.png"))}
    # L.Icon.Default would prefix a path detected from the CSS; give it whole data: URIs instead
    fix = ("(function(){if(!window.L||!L.Icon||!L.Icon.Default)return;L.Icon.Default.mergeOptions("
           + js_data(icons) + ");L.Icon.Default.prototype._getIconUrl=function(n){return this.options[n+'Url'];};})();")
    return ((("leaflet", _data_uri(js.encode("utf-8"), "text/javascript")),
             ("zoning_leaflet_icons", _data_uri(fix.encode("utf-8"), "text/javascript"))),
            (("leaflet_css", _data_uri(css.encode("utf-8"), "text/css")),))


@functools.lru_cache(maxsize=None)
def _asset_uri(name: str) -> str:
    mime = "text/css" if name.endswith(".css") else "text/javascript"
    return _data_uri((ASSETS / name).read_bytes(), mime)


class _OfflineControl(JSCSSMixin):
    """A control whose JS/CSS are this package's asset files, set per instance as data: URIs."""

    js_files: tuple[str, ...] = ()
    css_files: tuple[str, ...] = ()

    def __init__(self):
        super().__init__()
        js = ("zn-core.js",) + tuple(f for f in self.js_files if f != "zn-core.js")
        css = ("zn-core.css",) + tuple(f for f in self.css_files if f != "zn-core.css")
        # instance attributes: folium's class-level lists stay as they are
        self.default_js = [(f"zoning_{f}", _asset_uri(f)) for f in js]
        self.default_css = [(f"zoning_{f}", _asset_uri(f)) for f in css]


class InfoBox(_OfflineControl):
    """A text box on the map: the title (``kind="title"``) or a notice (``kind="warning"``)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        new ZoningMap.Box({{ this.payload }}, {position: {{ this.position_js }},
            className: {{ this.class_js }}}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, text: str, *, kind: str = "title", position: str = "topleft"):
        super().__init__()
        self._name = "ZoningInfoBox"
        self.text = text
        self.payload = js_data(str(text))
        self.position_js = js_data(position)
        self.class_js = js_data("zn-warn" if kind == "warning" else "zn-title")


class Legend(_OfflineControl):
    """The legend: layer groups (fill/stroke swatches), site verdicts and the carbon ramp."""

    js_files = ("zn-legend.js",)
    css_files = ("zn-legend.css",)
    _template = Template("""
        {% macro script(this, kwargs) %}
        new ZoningMap.Legend({{ this.payload }}, {position: {{ this.position_js }}})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, data: dict, *, position: str = "bottomright"):
        super().__init__()
        self._name = "ZoningLegend"
        self.data = data
        self.payload = js_data(data)
        self.position_js = js_data(position)


class MousePosition(_OfflineControl):
    """Pointer longitude/latitude (CGCS2000 degrees)."""

    js_files = ("zn-mouseposition.js",)
    css_files = ("zn-mouseposition.css",)
    _template = Template("""
        {% macro script(this, kwargs) %}
        new ZoningMap.MousePosition({position: {{ this.position_js }}}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, *, position: str = "bottomleft"):
        super().__init__()
        self._name = "ZoningMousePosition"
        self.position_js = js_data(position)


class Fullscreen(_OfflineControl):
    """A full-screen toggle button."""

    js_files = ("zn-fullscreen.js",)
    _template = Template("""
        {% macro script(this, kwargs) %}
        ZoningMap.addFullscreen({{ this._parent.get_name() }}, {{ this.payload }});
        {% endmacro %}
    """)

    def __init__(self, label: str = "全屏"):
        super().__init__()
        self._name = "ZoningFullscreen"
        self.payload = js_data(label)


class Measure(_OfflineControl):
    """Geodesic measure tool: length (m, km) and area (m², ha, 亩) on the CGCS2000 ellipsoid."""

    js_files = ("zn-geodesy.js", "zn-sketch.js", "zn-measure.js")
    _template = Template("""
        {% macro script(this, kwargs) %}
        ZoningMap.addMeasure({{ this._parent.get_name() }}, {{ this.payload }});
        {% endmacro %}
    """)

    def __init__(self, labels: dict):
        super().__init__()
        self._name = "ZoningMeasure"
        self.payload = js_data(labels)


class DrawExport(_OfflineControl):
    """Draw a footprint polygon and export it as GeoJSON (CRS84) for ``zoning screen``."""

    js_files = ("zn-geodesy.js", "zn-sketch.js", "zn-draw.js")
    _template = Template("""
        {% macro script(this, kwargs) %}
        ZoningMap.addDraw({{ this._parent.get_name() }}, {{ this.payload }});
        {% endmacro %}
    """)

    def __init__(self, labels: dict):
        super().__init__()
        self._name = "ZoningDrawExport"
        self.payload = js_data(labels)


class ScaleBar(MacroElement):
    """Leaflet's metric scale bar."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 160}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "ZoningScaleBar"


class _LayerControl(folium.LayerControl):
    """folium's layer switcher, built after the whole page script has run.

    It lists every layer the map has when it is rendered, including layers a notebook user
    adds after :func:`build_map`, whose variables are declared later in the script.
    """

    _template = Template("""
        {% macro script(this,kwargs) %}
        setTimeout(function () {
            var layers = {
                base_layers: {
                    {%- for key, val in this.base_layers.items() %}
                    {{ key|tojson }}: {{ val }},
                    {%- endfor %}
                },
                overlays: {
                    {%- for key, val in this.overlays.items() %}
                    {{ key|tojson }}: {{ val }},
                    {%- endfor %}
                },
            };
            window.{{ this.get_name() }} = L.control.layers(layers.base_layers, layers.overlays,
                {{ this.options|tojavascript }}).addTo({{ this._parent.get_name() }});
        }, 0);
        {% endmacro %}
    """)


class _Finish(MacroElement):
    """Last script of the page: attribution prefix, language, initial view, readiness flag."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            if (map.attributionControl) map.attributionControl.setPrefix({{ this.prefix_js }});
            {%- if this.lang_js %}
            document.documentElement.lang = {{ this.lang_js }};
            {%- endif %}
            map.fitBounds({{ this.bounds_js }}, {animate: false});
            {%- for layer in this.front %}
            map.on("overlayadd", function () { if (map.hasLayer({{ layer.get_name() }})) {{ layer.get_name() }}.bringToFront(); });
            {%- endfor %}
            window.zoningMap = map;
            setTimeout(function () { window.zoningReady = true; }, 0);
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, bounds, *, lang: str | None, front: Sequence = (), prefix: str = "Leaflet (offline)"):
        super().__init__()
        self._name = "ZoningFinish"
        self.front = list(front)  # layers kept on top when another overlay is switched on
        self.bounds_js = js_data([[float(v) for v in p] for p in bounds])
        self.lang_js = js_data(lang) if lang else None
        self.prefix_js = js_data(html_text(prefix))


# --- geometry to GeoJSON --------------------------------------------------------------------
def _round_coords(geom, ndigits: int):
    return shapely.transform(geom, lambda c: np.round(c, ndigits))


def _feature_collection(frame: gpd.GeoDataFrame, props: list[dict], tolerance_m: float, coverage: bool) -> dict:
    """GeoJSON (EPSG:4326 ≈ CGCS2000) simplified in the equal-area CRS, coordinates to 1e-5°."""
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
    for group in GROUPS:
        if group.role not in layers.frames or layers.info[group.role].status != "ok":
            continue
        frame = layers.frames[group.role]
        for fld, values in group.where:
            frame = frame[frame[fld].astype(str).isin([str(v) for v in values])]
        if len(frame):
            yield group, frame


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _props(frame: gpd.GeoDataFrame, role: str) -> list[dict]:
    area = ellipsoidal_areas(frame.geometry) / 1e4
    out = []
    for (_, row), a in zip(frame.iterrows(), area):
        ident = row.get("code") if role in ("admin", "control_unit") else row.get("id")
        cls = {"control_unit": row.get("class"), "red_line": row.get("type"), "park": row.get("level"),
               "protected": "·".join(_text(row.get(k)) for k in ("kind", "grade") if _text(row.get(k)))
               }.get(role)
        out.append({"id": _text(ident), "name": _text(row.get("name")), "cls": _text(cls) or None,
                    "area_ha": round(float(a), 2)})
    return out


def _raster_overlay(layers: LayerSet, lang: str, max_px: int = 1000) -> dict | None:
    """The first forest-carbon raster as a coloured PNG (data: URI) in Web Mercator, with its ramp.

    Drawn once per raster file (path, size, modification time), name and language: every map of
    a run (and of a service) reuses it."""
    specs = layers.catalog.by_role("forest_carbon")
    if not specs or not specs[0].path.exists():
        return None
    try:
        stat = specs[0].path.stat()
    except OSError:
        return None
    import rasterio.errors

    try:
        return dict(_raster_overlay_cached(str(specs[0].path), stat.st_size, stat.st_mtime_ns, specs[0].name,
                                           specs[0].units, lang, max_px))
    except (OSError, ValueError, RuntimeError, rasterio.errors.RasterioError):
        # an unreadable or corrupt raster: its layer status says so; no overlay
        return None


@functools.lru_cache(maxsize=8)
def _raster_overlay_cached(path_text: str, _size: int, _mtime: int, name: str, spec_units, lang: str,
                           max_px: int) -> dict:
    import rasterio
    from PIL import Image
    from pyproj import Transformer
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    with rasterio.open(path_text) as src:
        transform, width, height = calculate_default_transform(src.crs, "EPSG:3857", src.width, src.height,
                                                               *src.bounds)
        scale = max(width, height) / max_px
        width, height = int(width / scale), int(height / scale)
        transform = transform @ transform.scale(scale)
        dst = np.full((height, width), np.nan, dtype="float32")
        reproject(rasterio.band(src, 1), dst, dst_transform=transform, dst_crs="EPSG:3857",
                  resampling=Resampling.average, dst_nodata=np.nan, src_nodata=src.nodata)
        units = src.tags().get("units") or spec_units or ""
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
    tr = Transformer.from_crs(3857, 4326, always_xy=True)
    west, north = tr.transform(transform.c, transform.f)
    east, south = tr.transform(transform.c + transform.a * width, transform.f + transform.e * height)
    title = name if lang != "en" else _cap(role_label("forest_carbon", "en"))
    return {"uri": _data_uri(buf.getvalue(), "image/png"), "bounds": [[south, west], [north, east]], "title": title,
            "min": 0, "max": round(vmax, 1), "units": units, "ramp": RAMP}


def _site_rings(results: Sequence[ScreenResult], geoms: list) -> list[list[dict]]:
    """The buffer-ring features of every result (EPSG:4326 outlines, radii in metres): buffered in
    each site's own projected CRS (``crs_used``), one transformation per CRS for all sites."""
    rings: list[list[dict]] = [[] for _ in results]
    by_epsg: dict[int, list[int]] = {}
    for i, r in enumerate(results):
        if geoms[i] is not None and r.crs_used and r.buffer_rings_m:
            by_epsg.setdefault(int(r.crs_used.split(":")[1]), []).append(i)
    for epsg, idx in by_epsg.items():
        proj = gpd.GeoSeries([geoms[i] for i in idx], crs=4490).to_crs(epsg).values
        owner = [i for i in idx for _ in results[i].buffer_rings_m]
        radii = [float(m) for i in idx for m in results[i].buffer_rings_m]
        base = np.repeat(np.asarray(proj, dtype=object), [len(results[i].buffer_rings_m) for i in idx])
        drawn = gpd.GeoSeries(shapely.buffer(base, radii, quad_segs=16), crs=epsg).to_crs(4326).values
        outlines = _round_coords(shapely.boundary(np.asarray(drawn, dtype=object)), 6)
        for i, radius, outline in zip(owner, radii, outlines):
            rings[i].append({"type": "Feature", "properties": {"radius_m": radius},
                             "geometry": shapely.geometry.mapping(outline)})
    return rings


def _site_features(results: Sequence[ScreenResult], lang: str) -> list[tuple[dict, list[dict]]]:
    """(site feature, buffer-ring features) of every result with a geometry, in order."""
    geoms = [shapely.from_wkt(r.site.wkt) if r.site.wkt else None for r in results]
    rings = _site_rings(results, geoms)
    return [_site_feature(r, g, rs, lang) for r, g, rs in zip(results, geoms, rings) if g is not None]


def _site_feature(r: ScreenResult, geom, rings: list[dict], lang: str) -> tuple[dict, list[dict]]:
    """(site feature, its buffer-ring features) of one result with a geometry (EPSG:4490)."""
    L = LABELS[lang]
    fired = [f"{x.id}: {outcome_label(x.outcome, lang)}" for x in r.rules if x.outcome != "compliant"]
    popup = [[L["code"], r.site_id], [L["name"], r.site.name or r.inputs.get("name") or ""],
             [L["verdict"], outcome_label(r.verdict, lang)], [L["county"], r.site.county or "—"],
             [L["rules"], "; ".join(fired) or "—"]]
    if r.error:
        popup.append([t("error", lang), r.error])
    status = (r.carbon or {}).get("status")
    if status in ("ok", "partial"):  # partial: measured where there is data, said as a lower bound
        at_least = ("≥ " if status == "partial" else "")
        popup.append([L["carbon"], f"{at_least}{r.carbon['stock_tCO2']:,.1f} t CO2 ({at_least}"
                                   f"{r.carbon['forest_ha']:,.2f} ha {L['forest']})"])
        popup.append([L["loss"], f"{at_least}{r.carbon['loss_tCO2']:,.1f} t CO2"])
    elif status in ("outside", "nodata"):
        popup.append([L["carbon"], L["no_carbon_data"]])
    props = {"id": str(r.site_id), "verdict": r.verdict, "verdict_label": outcome_label(r.verdict, lang),
             "color": VERDICT_COLORS.get(r.verdict, ERROR_COLOR), "popup": [[str(a), _text(b)] for a, b in popup]}
    return ({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(_round_coords(geom, 7))},
            rings)


def _check_tiles(template: str) -> None:
    """A tile template on this machine (``file://…`` or a plain path) must name a folder that
    exists: otherwise every tile fails to load and the map is silently blank."""
    from urllib.parse import unquote, urlparse

    if any(ord(ch) < 32 or ord(ch) == 127 for ch in template) or "{" not in template:
        raise ZoningError("--tiles 应为瓦片地址模板，含 {z}/{x}/{y}，例如 http://内网服务器/{z}/{x}/{y}.png",
                          "--tiles takes a tile URL template with {z}/{x}/{y}, e.g. http://intranet-server/{z}/{x}/{y}.png")
    parsed = urlparse(template)
    if parsed.scheme.lower() in ("http", "https"):
        return  # a tile server (intranet): reached by the browser, not checked here
    if parsed.scheme not in ("", "file") and not (len(parsed.scheme) == 1 and template[1:2] == ":"):
        raise ZoningError(f"--tiles 只接受 http(s):// 或 file:// 地址，不接受 {parsed.scheme[:20]}:",
                          f"--tiles takes http(s):// or file:// templates only, not {parsed.scheme[:20]}:")
    path = unquote(parsed.path) if parsed.scheme == "file" else template
    prefix = path.split("{", 1)[0]  # the fixed part before the first {z}/{x}/{y}
    folder = Path(prefix) if prefix.endswith(("/", "\\")) else Path(prefix).parent
    if not path_is_dir(folder):
        raise ZoningError(f"底图瓦片文件夹不存在：{folder}（--tiles 应为 file:///路径/{{z}}/{{x}}/{{y}}.png 或瓦片服务地址）",
                          f"tile folder not found: {folder} (--tiles takes file:///path/{{z}}/{{x}}/{{y}}.png or a "
                          f"tile server URL)")


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
        _check_tiles(tiles)
        out.append({"name": tiles_name or "自定义底图 custom tiles", "urls": [tiles], "subdomains": "abc",
                    "attribution": tiles_name or "custom tiles"})
    return out


# --- the map --------------------------------------------------------------------------------
class GeoJsonGroup(folium.GeoJson):
    """``folium.GeoJson`` written compactly, styled and bound by JavaScript we write.

    The data go into the page as compact JSON (:func:`js_data`, about a fifth smaller than
    folium's own serialisation); ``style``, ``on_each_feature`` and ``point_to_layer`` are
    JavaScript functions, so nothing per feature is computed in Python or embedded twice.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {{ this.options|tojavascript }});
        {{ this.get_name() }}.addData({{ this.data_js() }});
        {% endmacro %}
    """)

    def __init__(self, data: dict, *, name: str | None = None, style: dict | str | None = None,
                 on_each_feature: str | None = None, point_to_layer: str | None = None, show: bool = True,
                 control: bool = True, **options):
        super().__init__(data, name=name, show=show, control=control)
        self._name = "GeoJson"
        js = {"style": JsCode(style if isinstance(style, str) else f"function () {{ return {js_data(style)}; }}")
              if style is not None else None,
              "on_each_feature": JsCode(on_each_feature) if on_each_feature else None,
              "point_to_layer": JsCode(point_to_layer) if point_to_layer else None}
        self.options = {k: v for k, v in {**js, **options}.items() if v is not None}

    def data_js(self) -> str:
        return js_data(self.data)

    def render(self, **kwargs):
        folium.map.Layer.render(self, **kwargs)


def _geojson_layer(fc: dict, *, name: str | None, style, on_each_feature: str | None = None, show: bool = True,
                   control: bool = True, **options) -> GeoJsonGroup:
    return GeoJsonGroup(fc, name=html_text(name) if name is not None else None, style=style,
                        on_each_feature=on_each_feature, show=show, control=control, **options)


def _inline_assets(m: folium.Map) -> None:
    """Leaflet inlined on THIS map instance (folium's class-level CDN lists stay as they are, so a
    plain folium.Map() made afterwards still gets folium's own defaults). jQuery, Bootstrap and
    Font Awesome, which folium lists by default, are not needed by anything zoning draws."""
    js, css = _leaflet_uris()
    m.default_js = [tuple(x) for x in js]
    m.default_css = [tuple(x) for x in css]


def _new_map(center: tuple[float, float], title: str) -> folium.Map:
    m = folium.Map(location=list(center), zoom_start=8, tiles=None, prefer_canvas=True, zoom_control=True,
                   font_size="12px")
    _inline_assets(m)
    figure = m.get_root()
    if isinstance(figure, Figure):
        figure.title = html_text(title)
    return m


def _has_base_layer(m: folium.Map) -> bool:
    return any(isinstance(c, folium.map.Layer) and c.control and not c.overlay for c in m._children.values())


def build_map(layers: LayerSet, results: Sequence[ScreenResult] | None = None, *, lang: str = "zh",
              title: str | None = None, basemaps: list[dict] | None = None, raster: bool = True,
              tolerance_m: float | None = None, extra_layers: Iterable[tuple[str, gpd.GeoDataFrame]] = (),
              m: folium.Map | None = None) -> folium.Map:
    """Draw the layer set (and screened sites, and extra groups) into one offline ``folium.Map``.

    ``layers``: a loaded :class:`~zoning.io.layerset.LayerSet` (EPSG:4490).
    ``results``: screening results; each site is drawn in its verdict's colour with its buffer
    rings and a popup. ``lang``: "zh" (default) or "en". ``basemaps``: tile layers as
    :func:`basemaps_from_env` returns them (none by default: the map needs no network).
    ``raster``: add the forest-carbon overlay. ``tolerance_m``: simplification tolerance in
    metres (default: 1/20,000 of the extent's width). ``extra_layers``: (title, GeoDataFrame)
    groups, e.g. a programme selection (``id``/``name`` columns feed the popups). ``m``: a map
    to draw into (its own assets are left alone; what is added here is inline).
    """
    lang = "en" if lang == "en" else "zh"
    L = LABELS[lang]
    results = list(results or [])
    title = title or L["title"]
    extent = layers.coverage.bounds if layers.coverage is not None else (117.0, 26.2, 119.3, 28.4)
    width_m = (extent[2] - extent[0]) * 111_000 * np.cos(np.deg2rad((extent[1] + extent[3]) / 2))
    tol = tolerance_m if tolerance_m is not None else max(1.0, width_m / 20_000)
    user_map = m is not None
    if m is None:
        m = _new_map(((extent[1] + extent[3]) / 2, (extent[0] + extent[2]) / 2), title)
    elif isinstance(m, folium.Map) and not getattr(m, "_zoning_controls", False):
        _inline_assets(m)  # the user's map loads Leaflet from folium's CDN list: make it offline too
    # drawing into a map that already shows this layer set (e.g. results.explore()) adds only the sites
    layers_drawn = getattr(m, "_zoning_layer_sets", set())
    again = id(layers) in layers_drawn
    m._zoning_layer_sets = layers_drawn | {id(layers)}

    # basemaps: none shown by default, so the page makes no request until the user picks one
    basemaps = list(basemaps or [])
    if not _has_base_layer(m):
        folium.FeatureGroup(name=html_text(L["no_basemap"]), overlay=False, show=True).add_to(m)
    for bm in basemaps:
        group = folium.FeatureGroup(name=html_text(bm["name"]), overlay=False, show=False)
        for url in bm["urls"]:
            folium.TileLayer(tiles=url, attr=html_text(bm.get("attribution") or bm["name"]),
                             subdomains=bm.get("subdomains") or "abc", max_zoom=18, control=False).add_to(group)
        group.add_to(m)
    m._zoning_tile_templates = tuple(getattr(m, "_zoning_tile_templates", ())) + tuple(
        u for bm in basemaps for u in bm["urls"])

    labels = {k: L[k] for k in ("layer", "source", "code", "name", "cls", "area")}
    legend_groups = []
    for group, frame in ([] if again else _group_frames(layers)):
        name = group.title(lang)
        fc = _feature_collection(frame, _props(frame, group.role), tol,
                                 coverage=group.role in ("admin", "control_unit"))
        info = layers.info.get(group.role)
        spec = {"title": name, "source": info.name if info else "", "labels": labels}
        style = {"color": group.stroke, "weight": group.weight, "fillColor": group.fill,
                 "fillOpacity": group.fill_opacity, "opacity": 0.9}
        _geojson_layer(fc, name=name, style=style, on_each_feature=f"ZoningMap.featureBinder({js_data(spec)})",
                       show=group.visible).add_to(m)
        legend_groups.append({"title": name, "fill": group.fill, "stroke": group.stroke,
                              "opacity": group.fill_opacity})
    for i, (name, frame) in enumerate(extra_layers):
        frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
        area = ellipsoidal_areas(frame.geometry) / 1e4
        ids = frame["id"] if "id" in frame else range(len(frame))
        names = frame["name"] if "name" in frame else [name] * len(frame)
        props = [{"id": _text(i_), "name": _text(n), "cls": None, "area_ha": round(float(a), 2)}
                 for i_, n, a in zip(ids, names, area)]
        colour = EXTRA_COLORS[i % len(EXTRA_COLORS)]
        spec = {"title": str(name), "source": "", "labels": labels}
        style = {"color": colour, "weight": 0.8, "fillColor": colour, "fillOpacity": 0.3, "opacity": 0.9}
        _geojson_layer(_feature_collection(frame, props, tol, False), name=str(name), style=style,
                       on_each_feature=f"ZoningMap.featureBinder({js_data(spec)})").add_to(m)
        legend_groups.append({"title": str(name), "fill": colour, "stroke": colour, "opacity": 0.3})

    overlay = _raster_overlay(layers, lang) if raster and not again else None
    if overlay:
        # its own pane under the vectors (which share one canvas in the overlay pane), never catching clicks
        folium.map.CustomPane("zoning-raster", z_index=350, pointer_events=False).add_to(m)
        folium.raster_layers.ImageOverlay(overlay["uri"], overlay["bounds"], name=html_text(overlay["title"]),
                                          opacity=0.75, interactive=False, pixelated=False, show=False,
                                          pane="zoning-raster").add_to(m)

    sites = _site_features(results, lang)
    front = []
    if sites:
        group = folium.FeatureGroup(name=html_text(L["sites"]), show=True)
        rings = {"type": "FeatureCollection", "features": [ring for _, rs in sites for ring in rs]}
        if rings["features"]:
            _geojson_layer(rings, name=None, control=False, on_each_feature=None, interactive=False,
                           style={"color": "#455a64", "weight": 1, "dashArray": "4 4", "fill": False}).add_to(group)
        _geojson_layer({"type": "FeatureCollection", "features": [f for f, _ in sites]}, name=None, control=False,
                       on_each_feature="ZoningMap.siteBinder()",
                       style="function (f) { return {color: '#212121', weight: 2, fillOpacity: 0.75, "
                             "fillColor: f.properties.color}; }",
                       point_to_layer="function (f, ll) { return L.circleMarker(ll, {radius: 8}); }").add_to(group)
        group.add_to(m)
        front.append(group)
        b = gpd.GeoSeries([shapely.from_wkt(r.site.wkt) for r in results if r.site.wkt], crs=4490)
        buffer = max((max(r.buffer_rings_m or [0]) for r in results), default=0)
        minx, miny, maxx, maxy = b.to_crs(EQUAL_AREA_CRS).buffer(max(buffer, 500)).to_crs(4326).total_bounds
        bounds = [[miny, minx], [maxy, maxx]]
    else:
        bounds = [[extent[1], extent[0]], [extent[3], extent[2]]]

    if getattr(m, "_zoning_controls", False):  # controls are on the map already: just show the new sites
        _Finish(bounds, lang=None, front=front).add_to(m)
        return m
    m._zoning_controls = True
    # controls: title and notices, legend, pointer position, scale, tools, layer switcher
    InfoBox(title, kind="title").add_to(m)
    if layers.synthetic:
        InfoBox(L["synthetic"], kind="warning").add_to(m)
    for bm in basemaps:
        if any(OFFSET_TILE_HOSTS.search(u) for u in bm["urls"]):
            InfoBox(L["offset"].format(name=bm["name"]), kind="warning").add_to(m)
    legend = {"id": "zn-legend", "title": L["legend"], "groups": legend_groups, "sites_title": L["verdict"],
              "verdicts": ([[VERDICT_COLORS[o], outcome_label(o, lang)] for o in OUTCOMES]
                           + ([[ERROR_COLOR, outcome_label(None, lang)]] if any(r.verdict is None for r in results)
                              else [])) if sites else [],
              "fold": L["fold"],
              "raster": None}
    if overlay:
        legend["raster"] = {k: overlay[k] for k in ("title", "min", "max", "units", "ramp")}
    Legend(legend).add_to(m)
    MousePosition().add_to(m)
    if not getattr(m, "control_scale", False):
        ScaleBar().add_to(m)
    Fullscreen(L["fullscreen"]).add_to(m)
    Measure({"button": L["measure"], "help": L["measure_help"], "length": L["length"], "area": L["area"]}).add_to(m)
    DrawExport({"button": L["draw"], "export": L["export"], "help": L["draw_help"], "area": L["area"],
                "nothing": L["nothing_drawn"], "drawn_name": L["drawn_name"], "done": L["drawn_done"]}).add_to(m)
    _LayerControl(position="topright", collapsed=False).add_to(m)
    _Finish(bounds, lang=None if user_map else ("en" if lang == "en" else "zh-CN"), front=front).add_to(m)
    return m


# --- output ---------------------------------------------------------------------------------
def map_html(m: folium.Map, *, allowed: Iterable[str] = ()) -> str:
    """The map as one standalone HTML page; raises OfflineViolation if it would load from the network."""
    page = m.get_root().render()
    assert_offline(page, tuple(allowed) + tuple(getattr(m, "_zoning_tile_templates", ())))
    return page


def save_map(m: folium.Map, path, *, overwrite: bool = False) -> int:
    """Write the standalone page atomically; returns the number of bytes written."""
    path = Path(path)
    check_writable(path, overwrite=overwrite)
    page = map_html(m)
    write_text(path, page, overwrite=overwrite)
    return len(page.encode("utf-8"))


# --- the offline guard ----------------------------------------------------------------------
#: attributes whose value is (or holds) a URL the browser may load or navigate to
_URL_ATTRS = {"src", "href", "srcset", "imagesrcset", "poster", "data", "action", "formaction", "background",
              "xlink:href", "codebase", "cite", "longdesc", "manifest", "ping", "lowsrc", "dynsrc", "icon",
              "profile", "archive", "classid", "itemtype"}
_LIST_ATTRS = {"srcset", "imagesrcset"}  # "url descriptor, url descriptor"
_SPACE_ATTRS = {"ping", "archive"}  # whitespace-separated URLs
_CSS_URL = re.compile(r"url\(\s*(?:\"([^\"]*)\"|'([^']*)'|([^)\s]*))\s*\)", re.I)
_CSS_IMPORT = re.compile(r"@import\s+(?:\"([^\"]*)\"|'([^']*)')", re.I)
_CSS_STRINGS_IN_IMAGE_SET = re.compile(r"image-set\(([^)]*)\)", re.I)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.S)


def _is_remote(url: str) -> bool:
    """True for http(s)/ftp/ws(s) URLs and protocol-relative ones, as a browser would parse them."""
    u = re.sub(r"[\t\n\r]", "", url).strip("".join(chr(c) for c in range(0x21)))
    return bool(re.match(r"(?i)(?:https?|ftp|wss?):", u) or re.match(r"[\\/]{2}", u))


def _data_uri_mime(url: str) -> str | None:
    """The media type of a data: URI ("text/plain" when empty), or None when it is not one."""
    m = re.match(r"(?is)\s*data:([^,]*),", url)
    return (m.group(1).split(";")[0].strip().lower() or "text/plain") if m else None


def _decode_data_uri(url: str) -> str:
    """The text of a data: URI (base64 or percent-encoded); "" when it cannot be decoded."""
    meta, _, payload = url.strip()[5:].partition(",")
    try:
        if ";base64" in meta.lower():
            data = re.sub(r"\s", "", unquote_to_bytes(payload).decode("latin-1"))
            raw = base64.b64decode(data + "=" * (-len(data) % 4))
        else:
            raw = unquote_to_bytes(payload)
    except (BinasciiError, ValueError):
        return ""
    return raw.decode("utf-8", "replace")


def _css_unescape(css: str) -> str:
    def repl(m):
        if m.group(1):
            try:
                return chr(int(m.group(1), 16))
            except (ValueError, OverflowError):
                return "\ufffd"
        return m.group(2)
    return _CSS_ESCAPE.sub(repl, css)


class _Inspector(HTMLParser):
    def __init__(self, allowed: tuple[str, ...], depth: int):
        super().__init__(convert_charrefs=True)
        self.allowed = allowed
        self.depth = depth
        self.bad: list[str] = []
        self._in_style = 0

    # URLs --------------------------------------------------------------------------------
    def check_url(self, url: str, where: str) -> None:
        if url is None:
            return
        if _is_remote(url):
            if url.strip() not in self.allowed:
                self.bad.append(f"{where}: {url.strip()[:120]}")
            return
        mime = _data_uri_mime(url)
        if mime is None or self.depth >= 4:
            return
        if mime in ("text/html", "application/xhtml+xml", "image/svg+xml"):
            self.bad += _inspect(_decode_data_uri(url), self.allowed, self.depth + 1, f"{where} (data: {mime})")
        elif mime == "text/css":
            self.check_css(_decode_data_uri(url), f"{where} (data: text/css)")

    def check_css(self, css: str, where: str) -> None:
        css = _css_unescape(re.sub(r"/\*.*?\*/", "", css, flags=re.S))
        for m in _CSS_URL.finditer(css):
            self.check_url(next(g for g in m.groups() if g is not None), f"{where} url()")
        for m in _CSS_IMPORT.finditer(css):
            self.check_url(m.group(1) if m.group(1) is not None else m.group(2), f"{where} @import")
        for m in _CSS_STRINGS_IN_IMAGE_SET.finditer(css):
            for s in re.findall(r"\"([^\"]*)\"|'([^']*)'", m.group(1)):
                self.check_url(s[0] or s[1], f"{where} image-set()")

    # HTML --------------------------------------------------------------------------------
    def handle_starttag(self, tag, attrs):
        self._attrs(tag, attrs)
        if tag == "style":
            self._in_style += 1

    def handle_startendtag(self, tag, attrs):
        self._attrs(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "style" and self._in_style:
            self._in_style -= 1

    def handle_data(self, data):
        if self._in_style:
            self.check_css(data, "<style>")

    def _attrs(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            name = name.lower()
            where = f"<{tag} {name}>"
            if name in _LIST_ATTRS:
                for part in value.split(","):
                    part = part.strip()
                    if part:
                        self.check_url(part.split()[0], where)
            elif name in _SPACE_ATTRS:
                for part in value.split():
                    self.check_url(part, where)
            elif name in _URL_ATTRS or name.endswith(":href"):
                self.check_url(value, where)
            elif name == "style":
                self.check_css(value, where)
            elif name == "srcdoc" and self.depth < 4:
                self.bad += _inspect(value, self.allowed, self.depth + 1, f"<{tag} srcdoc>")
            elif name == "content" and tag == "meta":
                m = re.search(r"(?i)url\s*=\s*['\"]?([^'\";]+)", value)
                if m and dict(attrs).get("http-equiv", "").lower() == "refresh":
                    self.check_url(m.group(1), "<meta refresh>")


def _inspect(page: str, allowed: tuple[str, ...], depth: int = 0, where: str = "") -> list[str]:
    parser = _Inspector(allowed, depth)
    parser.feed(page)
    parser.close()
    return [f"{where} {b}".strip() for b in parser.bad]


def assert_offline(html: str, allowed: Iterable[str] = ()) -> None:
    """Raise OfflineViolation if the page would load anything over the network.

    Inspects every element's URL-bearing attributes (src, href, srcset, poster, data, action,
    formaction, background, xlink:href, …), inline ``style`` and <style> CSS (url(), @import,
    image-set()), iframe ``srcdoc`` documents and data: documents/stylesheets (decoded and
    inspected in turn). http(s), ftp, ws(s) and protocol-relative (``//``) URLs are refused
    unless they equal one of ``allowed`` (configured tile templates).
    """
    bad = _inspect(html, tuple(a.strip() for a in allowed))
    if bad:
        shown = "; ".join(bad[:3]) + (f"; … ({len(bad)} in all)" if len(bad) > 3 else "")
        raise OfflineViolation(f"地图页面会从网络加载资源：{shown}", f"map would load from the network: {shown}")


# --- static pages (reports): no script at all ------------------------------------------------
class _ScriptFinder(HTMLParser):
    """Everything in a page that could run script: <script>, on* handlers, javascript: URLs,
    <iframe>/<object>/<embed>/<base>/<meta refresh>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "base", "frame", "frameset", "applet"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            name = (name or "").lower()
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
            elif value and re.match(r"(?i)\s*(?:javascript|vbscript):", re.sub(r"[\x00-\x20]", "", value)):
                self.found.append(f"<{tag} {name}=javascript:>")
            elif tag == "meta" and name == "http-equiv" and (value or "").lower() == "refresh":
                self.found.append("<meta refresh>")

    handle_startendtag = handle_starttag


def assert_static_page(html: str) -> None:
    """Raise OfflineViolation unless the page is static and offline: no script of any kind (no
    <script>, no on* handler, no javascript: URL) and nothing loaded from the network
    (:func:`assert_offline`). Every report zoning writes passes through this."""
    finder = _ScriptFinder()
    finder.feed(html)
    finder.close()
    if finder.found:
        shown = "; ".join(dict.fromkeys(finder.found[:5]))
        raise OfflineViolation(f"报告页面含有脚本：{shown}", f"a report page would run script: {shown}")
    assert_offline(html)
