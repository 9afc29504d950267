"""The review office's flow in a real browser (Playwright + Debian's Chromium), with every request
that leaves 127.0.0.1:<port> blocked and recorded:

upload a zipped GBK shapefile → screen → the answer page's verdict equals ``zoning.screen`` on
the same file; download the DOCX report; draw a polygon on the map → screen it → its verdict
equals ``zoning.screen`` of the drawn polygon. No outside request is attempted, no console error
(a CSP violation would be one) occurs. Screenshots: tests/output/service_*.png.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from zoning.api import load_layers, read_sites, screen
from zoning.service import Settings, create_app

from conftest import CATALOG
from test_map import _chromium, launch
from test_service_support import LiveServer, write_gbk_shapefile

SAMPLE = CATALOG.parent / "nanping" / "generated" / "sample_projects.gpkg"
OUTPUT = Path(__file__).parent / "output"


@pytest.fixture(scope="module")
def flow(tmp_path_factory, catalog):
    if _chromium() is None:
        pytest.skip("no Chromium on this machine (make test installs Debian's chromium when run as root)")
    pw = pytest.importorskip("playwright.sync_api")
    tmp = tmp_path_factory.mktemp("browser")
    layers = load_layers(CATALOG)
    # a zipped GBK shapefile (no .cpg) with a Chinese project name and attributes
    frame = read_sites(SAMPLE).iloc[[0]].drop(columns=["warnings", "crs_in"]).assign(name="采石场扩建项目")
    files = write_gbk_shapefile(frame[["site_id", "name", "industry", "geometry"]], tmp / "shp", stem="采石场")
    zpath = tmp / "采石场.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for f in files:
            z.write(f, f.name)
    expected_upload = screen(next(f for f in files if f.suffix == ".shp"), layers=layers)[0]
    app = create_app(Settings(db=str(tmp / "h.sqlite"), tmp_dir=tmp / "w"), layers=layers)
    out: dict = {"expected_upload": expected_upload}
    with LiveServer(app) as server, pw.sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 950}, accept_downloads=True, locale="zh-CN")
        outside, errors = [], []
        local = (server.url + "/", "data:", "blob:", "about:")

        def route(r):
            if r.request.url.startswith(local):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        # 1. upload the zipped GBK shapefile and screen it
        page.goto(server.url + "/")
        page.frame_locator("#map").locator(".leaflet-container").wait_for(timeout=30_000)
        page.set_input_files("#file", str(zpath))
        page.select_option("#a-two_high", "false")
        page.click("#screen")
        page.wait_for_url("**/screenings/*", timeout=60_000)
        out["upload_verdict"] = page.get_attribute("#verdict", "data-verdict")
        out["upload_site"] = page.inner_text("#site-id")
        out["upload_name"] = page.inner_text("#site-name")
        out["compliance_rows"] = page.locator("#compliance tbody tr").count()
        page.frame_locator("#map").locator(".leaflet-container").wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "service_answer.png"), full_page=False)
        with page.expect_download() as dl:
            page.click("#dl-docx")
        docx = dl.value
        out["docx_name"] = docx.suggested_filename
        with zipfile.ZipFile(io.BytesIO(Path(docx.path()).read_bytes())) as z:
            out["docx_xml"] = z.read("word/document.xml").decode("utf-8")

        # 2. draw a polygon on the map and screen it
        page.goto(server.url + "/?lang=zh")
        frame = page.frame(url=lambda u: "/map" in u)
        frame.wait_for_function("window.zoningReady === true", timeout=30_000)
        red = layers.frames["red_line"].geometry.iloc[0].representative_point()
        frame.evaluate(f"() => {{ zoningMap.setView([{red.y}, {red.x}], 15, {{animate: false}}); }}")
        page.wait_for_timeout(400)
        box = page.locator("#map").bounding_box()
        centre = frame.evaluate(f"() => {{ const p = zoningMap.latLngToContainerPoint([{red.y}, {red.x}]); "
                                "return [p.x, p.y]; }")
        page.fill("#a-industry", "B1012")  # a quarry, as P01
        frame.locator("#zn-draw").click()
        cx, cy = box["x"] + centre[0], box["y"] + centre[1]
        for dx, dy in ((-60, -40), (60, -40), (60, 40)):
            page.mouse.click(cx + dx, cy + dy)
            page.wait_for_timeout(150)
        page.mouse.dblclick(cx - 60, cy + 40)
        page.wait_for_timeout(400)
        out["drawn"] = frame.evaluate("window.zoningDrawn || null")
        page.click("#screen-drawn")
        page.wait_for_url("**/screenings/*", timeout=60_000)
        out["drawn_verdict"] = page.get_attribute("#verdict", "data-verdict")
        page.frame_locator("#map").locator(".leaflet-container").wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(OUTPUT / "service_drawn.png"), full_page=False)
        page.goto(server.url + "/?lang=en")
        out["english"] = page.inner_text("#screen")
        out["outside"], out["errors"] = list(outside), list(errors)
        browser.close()
    out["layers"] = layers
    return out


def test_upload_of_a_zipped_gbk_shapefile(flow):
    want = flow["expected_upload"]
    assert flow["upload_verdict"] == want.verdict == "prohibited"
    assert flow["upload_site"] == want.site_id and flow["upload_name"] == "采石场扩建项目"
    assert flow["compliance_rows"] == 4  # 红线, 底线, 上线, 准入清单


def test_docx_download(flow):
    assert flow["docx_name"].endswith(".docx") and flow["expected_upload"].site_id in flow["docx_xml"]


def test_drawn_polygon(flow, tmp_path):
    drawn = flow["drawn"]
    assert drawn and drawn["features"][0]["geometry"]["type"] == "Polygon"
    path = tmp_path / "drawn.geojson"
    import json

    path.write_text(json.dumps(drawn), encoding="utf-8")
    want = screen(path, layers=flow["layers"], attributes={"industry": "B1012"})[0]
    assert flow["drawn_verdict"] == want.verdict
    assert want.verdict == "prohibited"  # a quarry drawn inside a red line


def test_no_outside_request_and_no_console_error(flow):
    assert flow["outside"] == []
    assert flow["errors"] == []
    assert flow["english"] == "Screen"
