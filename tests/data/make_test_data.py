"""Regenerate the tiny input files in tests/data (committed; run by hand when they change).

    .venv/bin/python tests/data/make_test_data.py
"""
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, Polygon

HERE = Path(__file__).parent
# two parcels near 延平 (CM 117 zone) and one point near 建瓯
SQ = Polygon([(118.170, 26.640), (118.172, 26.640), (118.172, 26.642), (118.170, 26.642)])
SQ2 = Polygon([(118.300, 27.000), (118.303, 27.000), (118.303, 27.002), (118.300, 27.002)])
PT = Point(118.310, 27.030)


def sites_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ["A1", "A2", "A3"], "name": ["延平区竹木加工厂", "建瓯市茶叶精制厂", "建瓯市光伏电站"],
                             "industry": ["C2041", "C1530", "D4416"]}, geometry=[SQ, SQ2, PT], crs=4490)


def main() -> None:
    gdf = sites_frame()
    polys = gdf.iloc[:2]
    gdf.to_file(HERE / "sites.geojson", driver="GeoJSON", engine="pyogrio")
    gdf.to_file(HERE / "sites.gpkg", driver="GPKG", engine="pyogrio")
    polys.to_file(HERE / "sites.kml", driver="KML", engine="pyogrio")
    # shapefiles: UTF-8 with .cpg; GBK without .cpg (as many county offices send them)
    polys.to_file(HERE / "sites_utf8.shp", engine="pyogrio", encoding="UTF-8")
    (HERE / "sites_utf8.cpg").write_text("UTF-8")
    polys.to_file(HERE / "sites_gbk.shp", engine="pyogrio", encoding="GBK")
    for junk in (HERE / "sites_gbk.cpg",):
        junk.unlink(missing_ok=True)
    # projected coordinates (CM 117E, no zone prefix) and no .prj: ambiguous without --crs
    polys.to_crs(4548).to_file(HERE / "sites_noprj.shp", engine="pyogrio")
    (HERE / "sites_noprj.prj").unlink()
    # CSV of points: Chinese headers, UTF-8 with BOM; a GBK one; a swapped one; DMS values
    pd.DataFrame({"项目编号": ["B1", "B2"], "项目名称": ["竹制品厂", "茶厂"], "经度": [118.171, 118.301],
                  "纬度": [26.641, 27.001]}).to_csv(HERE / "points.csv", index=False, encoding="utf-8-sig")
    pd.DataFrame({"id": ["G1"], "name": ["建瓯市食品厂"], "lon": [118.31], "lat": [27.03]}).to_csv(
        HERE / "points_gbk.csv", index=False, encoding="gbk")
    pd.DataFrame({"id": ["W1"], "lon": [26.641], "lat": [118.171]}).to_csv(HERE / "points_swapped.csv", index=False)
    pd.DataFrame({"id": ["D1"], "经度": ["118°10'15.6\""], "纬度": ["26°38'27.6\""]}).to_csv(
        HERE / "points_dms.csv", index=False, encoding="utf-8-sig")
    # 界址点 (X = northing, Y = easting with zone prefix 39), shuffled rows, closed ring
    gk = polys.to_crs(4527)
    rows = []
    for pid, geom in zip(gdf["id"][:2], gk.geometry):
        coords = list(geom.exterior.coords)
        for i, (e, n) in enumerate(coords, 1):
            rows.append({"地块编号": pid, "点号": f"J{i}", "X": round(n, 3), "Y": round(e, 3)})
    jzd = pd.DataFrame(rows).sample(frac=1.0, random_state=1)
    jzd.to_csv(HERE / "jzd.csv", index=False, encoding="utf-8-sig")
    nozone = jzd.copy()
    nozone["Y"] = (nozone["Y"] - 39_000_000).round(3)
    nozone.to_csv(HERE / "jzd_nozone.csv", index=False, encoding="utf-8-sig")
    swapped = jzd.rename(columns={"X": "Y", "Y": "X"})
    swapped.to_csv(HERE / "jzd_swapped.csv", index=False, encoding="utf-8-sig")
    # geometry problems
    # a 0.002-deg square whose west edge has a tiny self-crossing "bow" (area change ~0.01 %)
    unit = [(0, 0), (10, 0), (10, 10), (0, 10), (0, 5.1), (-0.1, 4.9), (-0.1, 5.1), (0, 4.9)]
    spike = Polygon([(118.170 + 0.0002 * x, 26.640 + 0.0002 * y) for x, y in unit])
    bowtie = Polygon([(118.170, 26.640), (118.172, 26.642), (118.172, 26.640), (118.170, 26.642)])
    flat = Polygon([(118.170, 26.640), (118.171, 26.640), (118.172, 26.640)])
    gpd.GeoDataFrame({"id": ["V1"]}, geometry=[spike], crs=4490).to_file(HERE / "invalid_small.geojson")
    gpd.GeoDataFrame({"id": ["V2"]}, geometry=[bowtie], crs=4490).to_file(HERE / "bowtie.geojson")
    gpd.GeoDataFrame({"id": ["V3"]}, geometry=[flat], crs=4490).to_file(HERE / "degenerate.geojson")
    z = Polygon([(x, y, 120.0) for x, y in SQ.exterior.coords])
    gpd.GeoDataFrame({"id": ["Z1"]}, geometry=[z], crs=4490).to_file(HERE / "with_z.geojson")
    gpd.GeoDataFrame({"id": ["E1", "E2"]}, geometry=[SQ, None], crs=4490).to_file(HERE / "null_geom.geojson")
    gpd.GeoDataFrame({"id": ["L1"]}, geometry=[LineString([(118.17, 26.64), (118.18, 26.65)])],
                     crs=4490).to_file(HERE / "line.geojson")
    gpd.GeoDataFrame({"id": ["F1"]}, geometry=[Point(116.40, 39.90)], crs=4490).to_file(HERE / "beijing.geojson")
    gpd.GeoDataFrame({"id": ["X1", "X1"]}, geometry=[SQ, SQ2], crs=4490).to_file(HERE / "dup_ids.geojson")


if __name__ == "__main__":
    main()
