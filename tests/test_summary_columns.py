"""summary.csv gives a reviewer what a site's result says without opening its JSON: the control
unit holding most of the site, the red-line overlap, and carbon figures only where they were
measured (outside the carbon raster: empty with the status ``outside``, never 0 t).

Truth: each result's own hits (shares, m²) re-read from results/*.json, and shapely/pyproj on
the red-line layer file for one site.
"""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.api import screen, write_screen_outputs
from zoning.geo.crs import STORAGE_EPSG


def _sites(layers, n: int = 30, seed: int = 2) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = layers.coverage.bounds
    x, y = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    geoms = [shapely.box(a, b, a + 0.01, b + 0.01) for a, b in zip(x, y)]
    geoms.append(shapely.box(125.96, 27.56, 125.97, 27.57))  # far outside the layers and the raster
    return gpd.GeoDataFrame({"site_id": [f"U{i}" for i in range(len(geoms))]}, geometry=geoms, crs=STORAGE_EPSG)


def test_summary_unit_red_line_and_carbon_columns(layers, tmp_path):
    results = screen(_sites(layers), layers=layers, compute="local")
    write_screen_outputs(results, tmp_path / "o", layers=layers, reports=False)
    csv = pd.read_csv(tmp_path / "o" / "summary.csv", encoding="utf-8-sig", dtype={"管控单元编码": str})
    docs = {d["site_id"]: d for d in (json.loads(p.read_text(encoding="utf-8"))
                                      for p in (tmp_path / "o" / "results").glob("*.json"))}
    seen_unit = seen_red = 0
    for _, row in csv.iterrows():
        d = docs[row["站点编号"]]
        units = [h for h in d["hits"] if h["role"] == "control_unit"]
        if units:
            best = max(units, key=lambda h: (h["share"], h["area_m2"]))
            assert row["管控单元编码"] == best["id"] and row["管控单元类别"] == best["cls"]
            seen_unit += 1
        red = sum(h["area_m2"] for h in d["hits"] if h["role"] == "red_line")
        if d["site"]["coverage"] == "outside":
            assert pd.isna(row["占生态保护红线面积（平方米）"])
        else:
            assert abs(row["占生态保护红线面积（平方米）"] - red) < 1e-6
            seen_red += red > 0
        carbon = d["carbon"] or {}
        assert row["碳储量状态"] == carbon.get("status")
        if carbon.get("status") == "ok":
            assert abs(row["碳储量（吨CO2）"] - carbon["stock_tCO2"]) < 1e-6
        else:
            assert pd.isna(row["碳储量（吨CO2）"]) and pd.isna(row["森林面积（公顷）"])
    assert seen_unit >= 15 and seen_red >= 1
    far = csv.set_index("站点编号").loc["U30"]
    assert far["碳储量状态"] == "outside" and pd.isna(far["清除碳损失（吨CO2）"])


def test_red_line_overlap_against_the_layer_file(layers, tmp_path):
    """The summary's red-line m² for a site laid over a red-line polygon, against shapely in the
    site's GK zone on the layer as stored."""
    spec = next(x for x in layers.catalog.layers if x.role == "red_line")
    red = gpd.read_file(spec.path)
    target = red.geometry.iloc[int(np.argmax(red.geometry.to_crs(3857).area.to_numpy()))]  # the largest, roughly
    c = target.representative_point()
    site = shapely.box(c.x - 0.01, c.y - 0.01, c.x + 0.01, c.y + 0.01)
    results = screen(gpd.GeoDataFrame({"site_id": ["R"]}, geometry=[site], crs=STORAGE_EPSG), layers=layers)
    epsg = int(results[0].crs_used.split(":")[1])
    ours = results.to_geodataframe()["red_line_m2"].iloc[0]
    truth = gpd.GeoSeries([site], crs=STORAGE_EPSG).to_crs(epsg).iloc[0].intersection(
        gpd.GeoSeries(list(red.geometry), crs=red.crs).to_crs(epsg).union_all()).area
    assert truth > 0 and abs(ours - truth) / truth < 2e-3  # edges densified before projection: within 0.2 %
    write_screen_outputs(results, tmp_path / "one", layers=layers, reports=False)
    csv = pd.read_csv(tmp_path / "one" / "summary.csv", encoding="utf-8-sig")
    assert abs(csv["占生态保护红线面积（平方米）"].iloc[0] - ours) < 1e-6


def test_a_footprint_without_forest_has_no_mean_density_in_the_reports(layers):
    """Mean carbon density of forest where there is no forest is no figure (README: NA), not 0."""
    from zoning.render.carbon_rows import carbon_rows

    found = None
    for x in np.linspace(117.9, 118.6, 29):
        r = screen(f"{x},26.64;{x + 0.001},26.64;{x + 0.001},26.641", layers=layers)[0]
        if (r.carbon or {}).get("status") == "ok" and r.carbon["forest_ha"] == 0:
            found = r
            break
    assert found is not None
    rows = dict(carbon_rows(found.carbon, "zh"))
    assert rows["森林平均碳密度"] == "—（占地范围内无森林）"
    assert "0.0 t C/ha" not in dict(carbon_rows(found.carbon, "en")).values()


def test_a_site_split_between_units_lists_every_unit(layers, tmp_path):
    """The main unit columns show the largest share; 涉及管控单元 lists them all (cold trial: a
    site half in a 优先保护 unit showed only its 一般管控 unit)."""
    results = screen(_sites(layers, 40, 7), layers=layers, compute="local")
    write_screen_outputs(results, tmp_path / "o", layers=layers, reports=False)
    csv = pd.read_csv(tmp_path / "o" / "summary.csv", encoding="utf-8-sig").set_index("站点编号")
    split = 0
    for r in results:
        units = [h for h in r.hits if h.role == "control_unit"]
        cell = csv.loc[r.site_id, "涉及管控单元（类别，占比）"]
        if not units:
            assert pd.isna(cell)
            continue
        listed = [part.split("(")[0] for part in cell.split("; ")]
        assert sorted(listed) == sorted(h.id for h in units)
        split += len(units) > 1
    assert split >= 1
