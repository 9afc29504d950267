"""Nodata pixels of the carbon raster are no forest of 0 ha (cold trial: a footprint over a
nodata hole came out compliant with "forest 0 ha, status ok", where the real raster gives WY-01
conditional). A footprint with only nodata pixels has status ``nodata``, one partly covered
``partial`` (the figures a lower bound); rules on forest area are needs_info for both, and the
summary leaves the figures empty for ``nodata``.

Truth: the raster as written here (rasterio), the same sites screened with the intact raster.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
import yaml
from rasterio.windows import from_bounds

from zoning.api import load_layers, screen, write_screen_outputs

from conftest import CATALOG

#: sample project P19: 25 ha of forest in the 武夷山 belt; all of it cleared, WY-01 (> 5 ha) is conditional
_SAMPLE = gpd.read_file(CATALOG.parent / "nanping" / "generated" / "sample_projects.gpkg")
SITE = _SAMPLE.set_index("id").to_crs(4490).geometry["P19"]


def _catalog_with_hole(tmp_path, hole: shapely.Polygon):
    """The sample catalog with a copy of its carbon raster whose pixels in ``hole`` are nodata."""
    doc = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    base = CATALOG.parent
    for key in ("rules", "clauses"):
        if doc.get(key):
            doc[key] = str(base / doc[key])
    for entry in doc["layers"]:
        entry["path"] = str(base / entry["path"])
        if entry["role"] == "forest_carbon":
            src = entry["path"]
            entry["path"] = str(tmp_path / "carbon_hole.tif")
    with rasterio.open(src) as r:
        data, profile = r.read(1), r.profile
        hole_r = gpd.GeoSeries([hole], crs=4490).to_crs(r.crs).iloc[0]  # the raster's own (Albers) CRS
        win = from_bounds(*hole_r.bounds, transform=r.transform).round_offsets().round_lengths()
        nodata = profile.get("nodata")
        if nodata is None:
            nodata = -9999.0
            profile["nodata"] = nodata
        rows = slice(max(int(win.row_off), 0), int(win.row_off + win.height) + 1)
        cols = slice(max(int(win.col_off), 0), int(win.col_off + win.width) + 1)
        data[rows, cols] = nodata
    with rasterio.open(tmp_path / "carbon_hole.tif", "w", **profile) as out:
        out.write(data, 1)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_layers(path)


def _site(geom):
    return gpd.GeoDataFrame({"site_id": ["S"], "industry": ["C1371"], "clear_share": [1.0], "boiler_th": [0]},
                            geometry=[geom], crs=4490)


def test_a_nodata_footprint_is_no_forest_of_0_ha(tmp_path, layers):
    intact = screen(_site(SITE), layers=layers)[0]
    assert intact.carbon["status"] == "ok" and intact.carbon["forest_ha"] > 5
    wy = {x.id: x.outcome for x in intact.rules}.get("WY-01")
    assert wy == "conditional"
    holed = _catalog_with_hole(tmp_path, SITE.buffer(0.003))
    r = screen(_site(SITE), layers=holed)[0]
    assert r.carbon["status"] == "nodata" and "not 0 t" in r.carbon["detail"]
    assert {x.id: x.outcome for x in r.rules}["WY-01"] == "needs_info" and r.verdict != "compliant"
    # no figures, not 0 t, in the result itself (the JSON an API user reads)
    assert all(r.carbon[k] is None for k in ("forest_ha", "stock_tC", "stock_tCO2", "loss_tCO2", "mean_tC_ha"))
    assert r.carbon["forgone_sink"]["per_year_tCO2"] is None
    # the reason names what is missing: carbon data, not an attribute the project gave (clear_share)
    assert any("for want of forest carbon data" in v for v in r.verdict_reasons)
    assert not any("clear_share" in v for v in r.verdict_reasons)
    from zoning.render.maps import _site_feature
    import shapely as _sh
    popup = dict(_site_feature(r, _sh.from_wkt(r.site.wkt), [], "zh")[0]["properties"]["popup"])
    assert popup["碳储量"] == "无数据（不是 0 吨）"
    write_screen_outputs(screen(_site(SITE), layers=holed), tmp_path / "o", layers=holed, reports=False)
    row = pd.read_csv(tmp_path / "o" / "summary.csv", encoding="utf-8-sig").iloc[0]
    assert row["碳储量状态"] == "nodata" and pd.isna(row["森林面积（公顷）"]) and pd.isna(row["碳储量（吨CO2）"])


def test_a_partly_nodata_footprint_is_a_lower_bound(tmp_path, layers):
    west = shapely.box(SITE.bounds[0] - 0.01, SITE.bounds[1] - 0.01, (SITE.bounds[0] + SITE.bounds[2]) / 2,
                       SITE.bounds[3] + 0.01)
    holed = _catalog_with_hole(tmp_path, west)
    r = screen(_site(SITE), layers=holed)[0]
    intact = screen(_site(SITE), layers=layers)[0]
    assert r.carbon["status"] == "partial"
    assert 0 < r.carbon["forest_ha"] < intact.carbon["forest_ha"]  # measured where there is data
    share = float(np.round(r.carbon["forest_ha"] / intact.carbon["forest_ha"], 1))
    assert 0.2 <= share <= 0.8
    assert {x.id: x.outcome for x in r.rules}["WY-01"] == "needs_info"
    assert any("part of the site only" in reason for x in r.rules if x.id == "WY-01" for reason in x.reasons)
    from zoning.render.maps import _site_feature
    popup = dict(_site_feature(r, shapely.from_wkt(r.site.wkt), [], "en")[0]["properties"]["popup"])
    assert popup["Carbon stock"].startswith("≥ ")  # a lower bound, said
