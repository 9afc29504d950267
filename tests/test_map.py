"""The folium map: offline (file and notebook repr), per-map assets, user maps, escaping, tools, size."""
import copy
import dataclasses
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import folium
import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from zoning.errors import OfflineViolation
from zoning.io.catalog import Catalog
from zoning.io.layerset import load_layerset
from zoning.io.sites import read_sites
from zoning.render.maps import (assert_offline, basemaps_from_env, build_map, html_text, js_data, map_html,
                                save_map)
from zoning.screening.pipeline import screen

OUTPUT = Path(__file__).parent / "output"
EVIL = "<img src=x onerror=\"window.__pwned=1\"></script><script>window.__pwned=2</script>"
GROUPS_ZH = ["县级行政区", "优先保护单元", "重点管控单元", "一般管控单元", "生态保护红线", "自然保护地", "饮用水水源保护区",
             "工业园区", "高污染燃料禁燃区"]
MB2 = 2 * 1024 * 1024
GRS80 = Geod(ellps="GRS80")


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_results(catalog, layers):
    return screen(catalog.one("red_line").path.parent / "sample_projects.gpkg", layers=layers)


@pytest.fixture(scope="module")
def evil_layers(catalog):
    """The sample layers with hostile catalog names for the red lines and the carbon raster."""
    specs = [dataclasses.replace(s, name=EVIL + " " + s.name) if s.role in ("red_line", "forest_carbon") else s
             for s in catalog.layers]
    return load_layerset(Catalog(catalog.path, catalog.name, specs, catalog.rule_pack))


@pytest.fixture(scope="module")
def evil_map(catalog, evil_layers, tmp_path_factory):
    """A map whose site name, catalog names, extra group title and tile name are all hostile markup."""
    sites = read_sites(catalog.one("red_line").path.parent / "sample_projects.gpkg")
    sites.loc[sites["site_id"] == "P05", "name"] = EVIL
    results = screen(sites, layers=evil_layers)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ZONING_TIANDITU_KEY", raising=False)
        mp.delenv("TIANDITU_KEY", raising=False)
        basemaps = basemaps_from_env(tiles="http://127.0.0.1:9/{z}/{x}/{y}.png", tiles_name=EVIL)
    extra = gpd.GeoDataFrame({"id": ["X1"], "name": [EVIL]},
                             geometry=[shapely.box(118.40, 26.80, 118.45, 26.84)], crs=4490)
    m = build_map(evil_layers, results, basemaps=basemaps, extra_layers=[("选区 " + EVIL, extra)])
    path = tmp_path_factory.mktemp("map") / "map.html"
    size = save_map(m, path)
    return {"map": m, "path": path, "size": size, "results": results}


def _remote_refs(page: str) -> list[str]:
    """http(s) or protocol-relative script/link/img/iframe references and CSS url()s, found independently of
    assert_offline with plain regular expressions."""
    refs = re.findall(r"<(?:script|img|iframe|source|video|audio|embed)[^>]*\ssrc\s*=\s*['\"]?\s*((?:https?:)?//[^'\" >]+)",
                      page, re.I)
    refs += re.findall(r"<link[^>]*\shref\s*=\s*['\"]?\s*((?:https?:)?//[^'\" >]+)", page, re.I)
    refs += re.findall(r"url\(\s*['\"]?\s*((?:https?:)?//[^'\")]+)", page, re.I)
    refs += re.findall(r"@import\s+['\"]((?:https?:)?//[^'\"]+)", page, re.I)
    return refs


class _Srcdoc(HTMLParser):
    def __init__(self):
        super().__init__()
        self.docs = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "iframe" and a.get("srcdoc"):
            self.docs.append(a["srcdoc"])


def srcdoc_pages(repr_html: str) -> list[str]:
    p = _Srcdoc()
    p.feed(repr_html)
    return p.docs


# --- the map object, its assets and its size -------------------------------------------------
def test_build_map_returns_folium_map(layers):
    m = build_map(layers, raster=False)
    assert isinstance(m, folium.Map)
    # Leaflet comes inline from the django-js-lib-leaflet wheel; jQuery, Bootstrap, Font Awesome and
    # awesome-markers are not used at all
    assert [n for n, _ in m.default_js] == ["leaflet", "zoning_leaflet_icons"]
    assert [n for n, _ in m.default_css] == ["leaflet_css"]
    assert all(u.startswith("data:") for _, u in m.default_js + m.default_css)


@pytest.mark.parametrize("with_sites", [False, True], ids=["layers", "layers+23 sites"])
def test_city_map_offline_and_at_most_2mb(layers, sample_results, tmp_path, with_sites):
    m = build_map(layers, sample_results if with_sites else None)
    path = tmp_path / "city.html"
    size = save_map(m, path)
    saved = path.read_text(encoding="utf-8")
    assert size == len(saved.encode("utf-8")) == path.stat().st_size
    print(f"city map {'with 23 sites' if with_sites else 'layers only'}: {size / 1e6:.3f} MB")
    assert size <= MB2, size
    repr_html = m._repr_html_()
    docs = srcdoc_pages(repr_html)
    assert len(docs) == 1 and "leaflet" in docs[0].lower()
    for page in (saved, repr_html, docs[0]):
        assert _remote_refs(page) == []
        assert_offline(page)
    for lib in ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers"):
        assert lib not in saved.lower(), lib
    assert "<title>南平市生态环境分区管控图</title>" in saved


def test_save_map_refuses_to_overwrite(layers, tmp_path):
    from zoning.errors import OutputExists

    m = build_map(layers, raster=False)
    path = tmp_path / "m.html"
    assert save_map(m, path) > 0
    with pytest.raises(OutputExists):
        save_map(m, path)
    assert save_map(m, path, overwrite=True) == path.stat().st_size


def test_folium_class_lists_unchanged(layers):
    import folium.folium as ff
    from folium.elements import JSCSSMixin

    before = (copy.deepcopy(folium.Map.default_js), copy.deepcopy(folium.Map.default_css),
              copy.deepcopy(ff._default_js), copy.deepcopy(ff._default_css),
              list(JSCSSMixin.default_js), list(JSCSSMixin.default_css))
    m = build_map(layers, raster=False)
    map_html(m)
    m._repr_html_()
    after = (folium.Map.default_js, folium.Map.default_css, ff._default_js, ff._default_css,
             JSCSSMixin.default_js, JSCSSMixin.default_css)
    assert before == after
    assert m.default_js is not folium.Map.default_js
    plain = folium.Map()
    assert plain.default_js is folium.Map.default_js and plain.default_css is folium.Map.default_css
    page = plain.get_root().render()
    assert f'<script src="{dict(folium.Map.default_js)["leaflet"]}">' in page  # folium's own default, unchanged


def test_draws_into_a_user_map(layers, sample_results):
    class_js, class_css = list(folium.Map.default_js), list(folium.Map.default_css)
    user = folium.Map(location=[27.3, 118.1], zoom_start=9, tiles=None)
    folium.CircleMarker([27.3, 118.1], radius=4).add_to(user)
    out = build_map(layers, sample_results[:3], m=user, raster=False)
    assert out is user
    page = user.get_root().render()
    assert "ZoningMap.featureBinder" in page and "ZoningMap.addMeasure" in page
    assert "CircleMarker" in page or "circleMarker" in page  # the user's own layer stays
    # the user's map is made offline on the instance: folium's class lists are untouched
    assert user.default_js != class_js and _remote_refs(page) == []
    assert_offline(map_html(user))
    assert folium.Map.default_js == class_js and folium.Map.default_css == class_css
    assert folium.Map().default_js == class_js
    # drawing more sites into a zoning map adds the sites only: no second set of layers or controls
    again = build_map(layers, sample_results[3:6], m=user, raster=False)
    page2 = again.get_root().render()
    assert page2.count("ZoningMap.addMeasure") == page.count("ZoningMap.addMeasure") == 1
    assert page2.count("ZoningMap.featureBinder") == page.count("ZoningMap.featureBinder")
    assert page2.count("L.control.layers(") == 1
    assert page2.count("siteBinder") == page.count("siteBinder") + 1


# --- the offline guard ----------------------------------------------------------------------
@pytest.mark.parametrize("page", [
    '<script src="https://cdn.example.org/leaflet.js"></script>',
    '<script src=" //cdn.example.org/x.js"></script>',
    '<script src="\\\\cdn.example.org/x.js"></script>',
    '<link rel="stylesheet" href="HTTP://x.org/a.css">',
    '<link rel="preconnect" href="//x.org">',
    '<img srcset="a.png 1x, https://x.org/b.png 2x">',
    '<video poster="https://x.org/p.jpg"></video>',
    '<object data="https://x.org/o.svg"></object>',
    '<form action="https://x.org/f"></form>',
    '<button formaction="https://x.org/f">b</button>',
    '<body background="https://x.org/bg.png"></body>',
    '<svg><image xlink:href="https://x.org/i.png"/></svg>',
    '<div style="background:url( \'https://x.org/a.png\' )"></div>',
    '<style>.a{background:url(https://x.org/a.png)}</style>',
    '<style>@import "https://x.org/a.css";</style>',
    '<style>@import url(//x.org/a.css);</style>',
    '<style>.a{background:url(h\\74tps://x.org/a.png)}</style>',
    '<style>@font-face{src:url("https://x.org/f.woff2")}</style>',
    '<iframe srcdoc="&lt;script src=&quot;https://x.org/a.js&quot;&gt;&lt;/script&gt;"></iframe>',
    '<iframe src="data:text/html;base64,PGxpbmsgaHJlZj0iaHR0cHM6Ly94Lm9yZy9hLmNzcyI+"></iframe>',
    '<link rel="stylesheet" href="data:text/css,%40import%20%22https%3A%2F%2Fx.org%2Fa.css%22%3B">',
    '<meta http-equiv="refresh" content="0; url=https://x.org/">',
])
def test_offline_guard_refuses_network_references(page):
    with pytest.raises(OfflineViolation):
        assert_offline(f"<html><head></head><body>{page}</body></html>")


def test_offline_guard_accepts_inline_and_allowed():
    assert_offline('<script src="data:text/javascript;base64,YWxlcnQoMSk="></script><img src="data:image/png;base64,AA==">'
                   '<style>.a{background:url(data:image/png;base64,AA==)}</style><a href="#x">x</a>'
                   '<script>var u = "https://not-an-attribute.example";</script><img src="images/a.png">')
    tpl = "https://t{s}.tianditu.gov.cn/x?tk=1&a={z}"
    assert_offline(f'<link href="{html_text(tpl)}">', allowed=(tpl,))
    with pytest.raises(OfflineViolation):
        assert_offline(f'<link href="{html_text(tpl)}">')


def test_js_data_cannot_break_out_of_a_script():
    s = js_data({"a": "</script><!-- \u2028\u2029 & '\""})
    assert not set("<>&") & set(s) and "\u2028" not in s and "\u2029" not in s
    assert json.loads(s) == {"a": "</script><!-- \u2028\u2029 & '\""}
    assert html_text('<b a="1">&') == "&lt;b a=&quot;1&quot;&gt;&amp;"


def test_gcj_basemap_gets_a_visible_warning(layers):
    bm = [{"name": "高德", "urls": ["https://webrd0{s}.is.autonavi.com/{z}/{x}/{y}"], "subdomains": "1234",
           "attribution": "AutoNavi"}]
    m = build_map(layers, basemaps=bm, raster=False)
    page = map_html(m)  # the configured tile template is allowed
    assert "GCJ-02" in page and "zn-warn" in page


def test_english_labels(layers):
    page = map_html(build_map(layers, lang="en", raster=False))
    for word in ("Nanping environmental zoning map", "Ecological red line", "Priority protection units",
                 "Measure", "Legend", "SYNTHETIC"):
        assert word in page, word


def test_hostile_text_never_reaches_the_page_as_markup(evil_map):
    page = evil_map["path"].read_text(encoding="utf-8")
    assert "<img src=x" not in page and 'onerror="window' not in page and "window.__pwned=2</script>" not in page
    assert page.count("<script") == page.lower().count("<script")  # no mixed-case tricks either
    assert evil_map["size"] <= MB2


# --- in Chromium, with every request blocked --------------------------------------------------
def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def launch(p):
    return p.chromium.launch(executable_path=_chromium(), headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])


def watch(page):
    """Block and record every request that is not file:, data: or blob:; record console errors."""
    requests, errors = [], []

    def route(r):
        url = r.request.url
        if url.startswith(("file://", "data:", "blob:")):
            r.continue_()
        else:
            r.abort()  # recorded by the "request" listener below

    page.route("**/*", route)
    page.on("request", lambda r: None if r.url.startswith(("file://", "data:", "blob:")) else requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return requests, errors


def _click_latlng(page, lat, lon, zoom):
    page.evaluate(f"() => {{ zoningMap.setView([{lat}, {lon}], {zoom}, {{animate: false}}); }}")
    page.wait_for_timeout(300)
    x, y = page.evaluate(f"""(() => {{ const p = zoningMap.latLngToContainerPoint([{lat}, {lon}]);
        const r = zoningMap.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }})()""")
    page.mouse.click(x, y)
    page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    text = page.locator(".leaflet-popup-content").inner_text()
    page.evaluate("() => { zoningMap.closePopup(); }")
    return text


def _numbers(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"[\d,]+(?:\.\d+)?", text)]


@pytest.fixture(scope="module")
def page_results(evil_map, evil_layers):
    if _chromium() is None:
        pytest.skip("no Chromium on this machine (make test installs Debian's chromium when run as root)")
    pw = pytest.importorskip("playwright.sync_api")
    out = {}
    with pw.sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page = context.new_page()
        requests, errors = watch(page)
        page.goto(evil_map["path"].as_uri())
        page.wait_for_function("window.zoningReady === true", timeout=30_000)
        out["overlays"] = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        out["bases"] = page.locator(".leaflet-control-layers-base label").all_inner_texts()
        out["legend_visible"] = page.locator("#zn-legend").is_visible()
        out["legend"] = page.locator("#zn-legend").inner_text()
        out["boxes"] = page.locator(".zn-box").all_inner_texts()
        out["controls"] = {sel: page.locator(sel).is_visible() for sel in
                           ("#zn-full", "#zn-measure", "#zn-draw", "#zn-export", ".zn-pos",
                            ".leaflet-control-scale", ".leaflet-control-zoom")}
        out["paths"] = page.evaluate("document.querySelectorAll('.leaflet-overlay-pane canvas').length")
        # a site popup (hostile project name) and a red-line popup (hostile catalog name), by clicking
        site = next(r for r in evil_map["results"] if r.site_id == "P05")
        pt = shapely.from_wkt(site.site.wkt).representative_point()
        out["site_popup"] = _click_latlng(page, pt.y, pt.x, 15)
        red = evil_layers.frames["red_line"].geometry.iloc[0].representative_point()
        out["red_popup"] = _click_latlng(page, red.y, red.x, 13)
        # the measure tool: a line and a polygon of a few km, clicked on the map
        page.evaluate("() => { zoningMap.setView([27.30, 118.10], 13, {animate: false}); }")
        page.wait_for_timeout(300)
        box = page.locator(".folium-map").bounding_box()
        ox, oy = round(box["x"]), round(box["y"])
        out["measure"] = []
        # pixels clear of the controls (tool bar, layer switcher and legend, widened by the hostile names)
        for shape in ([(380, 400), (640, 560)], [(380, 400), (620, 400), (640, 640), (400, 620)]):
            page.locator("#zn-measure").click()
            for x, y in shape[:-1]:
                page.mouse.click(ox + x, oy + y)
                page.wait_for_timeout(120)
            page.mouse.dblclick(ox + shape[-1][0], oy + shape[-1][1])
            page.wait_for_timeout(300)
            points = page.evaluate("zoningMap._znMeasure.points.map(p => [p.lat, p.lng])")
            expected = page.evaluate(f"""{json.dumps(shape)}.map(c => {{
                const ll = zoningMap.containerPointToLatLng(c); return [ll.lat, ll.lng]; }})""")
            out["measure"].append({"points": points, "expected": expected,
                                   "length": page.locator(".zn-m-length").inner_text(),
                                   "area": page.locator(".zn-m-area").inner_text()
                                   if page.locator(".zn-m-area").count() else None})
            page.keyboard.press("Escape")
        # the draw tool: three clicks and a double-click make a polygon; export downloads it
        page.evaluate("() => { zoningMap.setView([27.0, 118.3], 14, {animate: false}); }")
        page.wait_for_timeout(300)
        page.locator("#zn-draw").click()
        cx, cy = ox + box["width"] / 2, oy + box["height"] / 2
        for dx, dy in ((0, 0), (120, 0), (120, 100)):
            page.mouse.click(cx + dx, cy + dy)
            page.wait_for_timeout(150)
        page.mouse.dblclick(cx, cy + 100)
        page.wait_for_timeout(300)
        out["drawn"] = page.evaluate("window.zoningDrawn || null")
        with page.expect_download() as dl:
            page.locator("#zn-export").click()
        out["download"] = dl.value.path().read_text(encoding="utf-8")
        out["pwned"] = page.evaluate("window.__pwned === undefined ? null : window.__pwned")
        # screenshot of the whole map with the layer groups drawn
        page.evaluate("() => { zoningMap.setView([27.32, 118.25], 9, {animate: false}); }")
        page.wait_for_timeout(500)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "map_screenshot.png"))
        out["requests"], out["errors"] = list(requests), list(errors)
        browser.close()
    return out


def test_browser_no_network_no_errors(page_results):
    assert page_results["requests"] == []
    assert page_results["errors"] == []
    assert page_results["paths"] >= 1  # the canvas renderer drew the layers


def test_browser_layer_groups_controls_and_legend(page_results):
    overlays = " ".join(page_results["overlays"])
    for name in GROUPS_ZH + ["项目站点", "森林碳密度", EVIL]:
        assert name in overlays, name
    assert any("无底图" in b for b in page_results["bases"])
    assert any(EVIL in b for b in page_results["bases"])  # the hostile --tiles-name, shown as text
    assert page_results["legend_visible"]
    for word in ("图例", "生态保护红线", "不符合（禁止）", "森林碳密度", "t C/ha", EVIL):
        assert word in page_results["legend"], word
    assert all(page_results["controls"].values()), page_results["controls"]
    boxes = " ".join(page_results["boxes"])
    assert "南平市生态环境分区管控图" in boxes and "合成示例数据" in boxes
    assert (OUTPUT / "map_screenshot.png").stat().st_size > 10_000


def test_browser_popups_show_hostile_text_as_text(page_results):
    assert "P05" in page_results["site_popup"] and EVIL in page_results["site_popup"]
    assert "不符合" in page_results["site_popup"] or "符合" in page_results["site_popup"]
    assert "生态保护红线" in page_results["red_popup"] and EVIL in page_results["red_popup"]
    assert page_results["pwned"] is None  # ... never executed


def test_browser_measure_is_geodesic_on_grs80(page_results):
    line, poly = page_results["measure"]
    for m in (line, poly):
        assert len(m["points"]) == len(m["expected"])
        for (a, b), (c, d) in zip(m["points"], m["expected"]):
            assert abs(a - c) < 1e-9 and abs(b - d) < 1e-9  # the tool measured the points clicked
    lats, lons = zip(*line["points"])
    true_len = GRS80.line_length(lons, lats)
    shown = _numbers(line["length"])[0] * (1000 if "km" in line["length"] else 1)
    err_len = abs(shown - true_len) / true_len
    lats, lons = zip(*poly["points"])
    true_area = abs(GRS80.polygon_area_perimeter(lons, lats)[0])
    m2, ha, mu = _numbers(poly["area"])[:3]
    err_area = abs(m2 - true_area) / true_area
    print(f"measure: line {shown:.1f} m vs Geod {true_len:.1f} m ({err_len:.5%}); "
          f"polygon {m2:.0f} m² vs Geod {true_area:.0f} m² ({err_area:.5%})")
    assert 2_000 < true_len < 10_000 and 2e6 < true_area < 5e7  # "a few km"
    assert err_len < 1e-3 and err_area < 1e-3
    assert abs(ha - m2 / 1e4) <= 1e-4 * ha and abs(mu - m2 / 666.6667) <= 0.01 + 1e-6 * mu
    assert "亩" in poly["area"] and "ha" in poly["area"] and "m²" in poly["area"]


def test_drawn_polygon_is_accepted_by_screen(page_results, layers, tmp_path):
    drawn = page_results["drawn"]
    assert drawn and drawn["features"][0]["geometry"]["type"] == "Polygon"
    assert json.loads(page_results["download"]) == drawn
    path = tmp_path / "drawn_site.geojson"
    path.write_text(page_results["download"], encoding="utf-8")
    r = screen(path, layers=layers)[0]
    assert r.error is None and r.verdict is not None and r.site.area_m2 > 0
