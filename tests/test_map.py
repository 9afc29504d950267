"""The offline map: no network, every layer group, legend, popups, tools; escaping; size."""
import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from zoning.io.layerset import load_layerset
from zoning.render.webmap import OfflineViolation, assert_offline, build_map
from zoning.screening.pipeline import screen
from zoning.io.sites import read_sites

OUTPUT = Path(__file__).parent / "output"
EVIL = "<img src=x onerror=\"window.__pwned=1\"></script><script>window.__pwned=2</script>"
GROUPS_ZH = ["县级行政区", "优先保护单元", "重点管控单元", "一般管控单元", "生态保护红线", "自然保护地", "饮用水水源保护区",
             "工业园区", "高污染燃料禁燃区"]


@pytest.fixture(scope="module")
def layers(catalog):
    return load_layerset(catalog)


@pytest.fixture(scope="module")
def map_html(catalog, layers):
    sites = read_sites(catalog.one("red_line").path.parent / "sample_projects.gpkg")
    sites.loc[sites["site_id"] == "P05", "name"] = EVIL  # attribute text that must never become markup
    results = screen(sites, layers=layers)
    return build_map(layers, results), results


def test_city_map_under_5mb_and_offline(layers):
    html = build_map(layers)
    size = len(html.encode("utf-8"))
    assert size < 5 * 1024 * 1024, size
    assert_offline(html)
    # the wording, checked independently of assert_offline
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src")):
        assert not re.search(rf"<{tag}[^>]*\s{attr}\s*=\s*['\"]?\s*https?:", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*https?:", html, re.I)


def test_offline_guard_catches_urls():
    cdn = "https://cdn." + "example-cdn.net/npm/leaflet.js"  # any public asset URL must be refused
    with pytest.raises(OfflineViolation):
        assert_offline(f'<html><script src="{cdn}"></script></html>')
    with pytest.raises(OfflineViolation):
        assert_offline("<style>.a{background:url(https://x.org/a.png)}</style>")
    assert_offline('<link href="https://t{s}.tianditu.gov.cn/x">', allowed=("https://t{s}.tianditu.gov.cn/x",))


def test_gcj_basemap_gets_a_visible_warning(layers):
    html = build_map(layers, basemaps=[{"name": "高德", "urls": ["https://webrd0{s}.is.autonavi.com/{z}/{x}/{y}"],
                                        "subdomains": "1234", "attribution": "AutoNavi"}], raster=False)
    assert "GCJ-02" in html


def test_script_injection_is_neutralised(map_html):
    html, _ = map_html
    assert html.count("<script>") == 3 and "</script><script>window.__pwned" not in html
    assert "\\u003c/script\\u003e" in html  # the payload's tags were escaped inside the JSON


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def page_results(map_html, tmp_path_factory):
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium on this machine (make test installs Debian's chromium when run as root)")
    pw = pytest.importorskip("playwright.sync_api")
    html, results = map_html
    path = tmp_path_factory.mktemp("map") / "map.html"
    path.write_text(html, encoding="utf-8")
    requests, errors = [], []
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page = context.new_page()

        def route(r):
            url = r.request.url
            if url.startswith(("file://", "data:", "blob:")):
                r.continue_()
            else:
                requests.append(url)
                r.abort()

        page.route("**/*", route)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_function("window.zoningReady === true", timeout=30_000)
        out = {"requests": requests, "errors": errors}
        out["overlays"] = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        out["legend_visible"] = page.locator("#zn-legend").is_visible()
        out["map_present"] = page.locator("#map.leaflet-container").count() == 1
        # click a site: the popup must open, with the (escaped) attribute text shown as text
        site = next(r for r in results if r.site_id == "P05")
        geom = shapely.from_wkt(site.site.wkt).representative_point()
        page.evaluate(f"() => {{ zoningMap.setView([{geom.y}, {geom.x}], 15); }}")
        page.wait_for_timeout(400)
        pt = page.evaluate(f"(() => {{const p = zoningMap.latLngToContainerPoint([{geom.y}, {geom.x}]);"
                           f" const r = document.getElementById('map').getBoundingClientRect();"
                           f" return [p.x + r.left, p.y + r.top];}})()")
        page.mouse.click(pt[0], pt[1])
        page.wait_for_selector(".leaflet-popup-content", timeout=5000)
        out["popup"] = page.locator(".leaflet-popup-content").inner_text()
        out["pwned"] = page.evaluate("window.__pwned === undefined ? null : window.__pwned")
        page.keyboard.press("Escape")
        # draw tool: three clicks and a double-click make a polygon that zoning screen accepts
        page.evaluate("() => { zoningMap.setView([27.0, 118.3], 14); }")
        page.locator("#zn-draw").click()
        box = page.locator("#map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for dx, dy in ((0, 0), (120, 0), (120, 100)):
            page.mouse.click(cx + dx, cy + dy)
            page.wait_for_timeout(250)
        page.mouse.dblclick(cx + 0, cy + 100)
        page.wait_for_timeout(300)
        out["drawn"] = page.evaluate("window.zoningDrawn || null")
        OUTPUT.mkdir(exist_ok=True)
        page.evaluate("() => { zoningMap.fitBounds(window.ZONING.bounds); }")
        page.wait_for_timeout(500)
        page.screenshot(path=str(OUTPUT / "map_screenshot.png"))
        browser.close()
    return out


def test_browser_no_network_no_errors(page_results):
    assert page_results["requests"] == []
    assert page_results["errors"] == []
    assert page_results["map_present"]


def test_browser_layer_groups_and_legend(page_results):
    overlays = " ".join(page_results["overlays"])
    for name in GROUPS_ZH + ["项目站点"]:
        assert name in overlays, name
    assert "森林碳密度" in overlays
    assert page_results["legend_visible"]
    assert (OUTPUT / "map_screenshot.png").stat().st_size > 10_000


def test_browser_popup_escapes_attribute_text(page_results):
    assert "P05" in page_results["popup"]
    assert "<img src=x" in page_results["popup"]  # shown as text ...
    assert page_results["pwned"] is None  # ... never executed


def test_drawn_polygon_is_accepted_by_screen(page_results, layers, tmp_path):
    drawn = page_results["drawn"]
    assert drawn and drawn["features"][0]["geometry"]["type"] == "Polygon"
    path = tmp_path / "drawn_site.geojson"
    path.write_text(json.dumps(drawn), encoding="utf-8")
    r = screen(path, layers=layers)[0]
    assert r.error is None and r.verdict is not None and r.site.area_m2 > 0
