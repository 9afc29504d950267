"""Pages in Chromium: hostile text in every field of every page zoning writes runs no script and
makes no request. A handful of pages, each carrying hostile text everywhere it can reach:

- the map (catalog names of every layer, site ids and names, rule ids and texts in popups, an
  extra group and its feature names, the tile layer's name), with every popup opened;
- the screening report (HTML) of a site whose rule pack is hostile (ids, titles, messages,
  citations) and whose name and attributes are hostile;
- the carbon programme page of stands with hostile ids, forest types and counties;
- the notebook table of results (``_repr_html_``).
"""
from __future__ import annotations

import dataclasses
import random

import geopandas as gpd
import pytest
import shapely
import yaml

from fuzz_support import CATALOG, HOSTILE, check_result, check_written, chromium, cli, patch_layers, record

HTML_HOSTILE = [h for h in HOSTILE if "<" in h or "javascript:" in h or '"' in h]
GENERATED = CATALOG.parent / "nanping" / "generated"


@pytest.fixture(scope="module")
def pages(catalog, tmp_path_factory):
    if chromium() is None:
        pytest.skip("no Chromium (make test installs it when run as root)")
    pytest.importorskip("playwright.sync_api")
    from zoning.api import ScreenResults
    from zoning.io.catalog import Catalog
    from zoning.io.layerset import load_layerset
    from zoning.render.maps import basemaps_from_env, build_map, save_map
    from zoning.screening.pipeline import screen

    rng = random.Random(15)
    tmp = tmp_path_factory.mktemp("pages")
    # a rule pack whose every text is hostile
    doc = yaml.safe_load((CATALOG.parent / "rules" / "nanping.yaml").read_text(encoding="utf-8"))
    for i, rule in enumerate(doc["rules"]):
        evil = HTML_HOSTILE[i % len(HTML_HOSTILE)]
        rule["id"] = f"{rule['id']}{evil}"
        rule["message"] = {"zh": evil + "中文", "en": evil}
        rule["title"] = {"zh": evil, "en": evil}
        rule["citation"] = evil
    pack = tmp / "pack.yaml"
    pack.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    specs = [dataclasses.replace(s, name=f"{rng.choice(HTML_HOSTILE)} {s.name}", vintage=rng.choice(HTML_HOSTILE))
             for s in catalog.layers]
    layers = load_layerset(Catalog(catalog.path, catalog.name, specs, pack))
    sites = gpd.read_file(GENERATED / "sample_projects.gpkg")
    sites["name"] = [rng.choice(HTML_HOSTILE) for _ in range(len(sites))]
    sites["id"] = [f"{i}{rng.choice(HTML_HOSTILE)}" for i in sites["id"]]
    results = screen(sites, layers=layers)
    extra = gpd.GeoDataFrame({"id": [HTML_HOSTILE[0]], "name": [HTML_HOSTILE[1]]},
                             geometry=[shapely.box(118.40, 26.80, 118.45, 26.84)], crs=4490)
    m = build_map(layers, results, basemaps=basemaps_from_env(tiles="http://127.0.0.1:9/{z}/{x}/{y}.png",
                                                              tiles_name=HTML_HOSTILE[2]),
                  extra_layers=[(HTML_HOSTILE[3], extra)])
    out = {"map": tmp / "map.html"}
    save_map(m, out["map"])
    # reports through the command (hostile pack, name and attribute text)
    with pytest.MonkeyPatch.context() as mp:
        patch_layers(mp)
        report = tmp / "report"
        res = cli("screen", "118.17,26.64", "--rules", pack, "-a", f"name={HTML_HOSTILE[0]}",
                  "-a", f"boiler_fuel={HTML_HOSTILE[1]}", "-o", report)
        check_result(res, "screen report")
        if res.exit_code == 2:  # the hostile fuel is refused: screen the site without it
            res = cli("screen", "118.17,26.64", "--rules", pack, "-a", f"name={HTML_HOSTILE[0]}", "-o", report)
            assert check_result(res, "screen report") == "ok"
        check_written(report)
        out["report"] = report / "report.html"
        stands = gpd.read_file(GENERATED / "sample_stands.gpkg").head(12)
        stands["小班号"] = [f"{i}{rng.choice(HTML_HOSTILE)}" for i in range(len(stands))]
        stands["树种"] = [rng.choice(HTML_HOSTILE) for _ in range(len(stands))]
        stands_file = tmp / "stands.gpkg"
        stands.to_file(stands_file, engine="pyogrio")
        program = tmp / "program"
        res = cli("carbon", "program", "--stands", stands_file, "--id-field", "小班号", "--draws", "200", "-o", program)
        check_result(res, "carbon program")
        if res.exit_code != 2:
            check_written(program)
            out["program"] = program / "program.html"
    table = tmp / "table.html"
    table.write_text("<!DOCTYPE html><meta charset='utf-8'>" + ScreenResults(results, layers)._repr_html_(),
                     encoding="utf-8")
    out["table"] = table
    return out


def open_popups(page, path):
    if path.name == "map.html":  # every feature popup (site verdicts, rule ids, layer names)
        opened = page.evaluate("""() => { let n = 0; zoningMap.eachLayer(l => {
            if (n < 400 && l.getPopup && l.getPopup() && (l.getLatLng || l.getBounds)) {
                l.openPopup(l.getLatLng ? l.getLatLng() : l.getBounds().getCenter()); n += 1; } }); return n; }""")
        record(map_popups_opened=opened)
        page.wait_for_timeout(200)


def test_no_page_runs_script_or_makes_a_request(pages):
    from fuzz_support import browse

    seen = browse(list(pages.values()), act=open_popups)
    record(chromium_pages=seen["pages"], chromium_script_runs=len(seen["script_runs"]),
           chromium_requests=len(seen["requests"]))
    assert seen["pages"] == len(pages) >= 3
    assert seen["script_runs"] == [], seen["script_runs"]
    assert seen["requests"] == [], seen["requests"]
