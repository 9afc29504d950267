"""Derive layers/nanping/admin.gpkg from the cnmaps package data (run once, by a developer).

cnmaps (MIT/BSD) ships Amap (GCJ-02) boundaries and converts them to WGS84 itself
(``wgs84=True``). We store them as CGCS2000 geographic (EPSG:4490; WGS84 and CGCS2000 agree
to well under 1 m at this scale). cnmaps is NOT a run-time dependency of zoning.

    pip install cnmaps && python tools/derive_admin.py
"""
from pathlib import Path

import geopandas as gpd
import shapely
from cnmaps import get_adm_maps

CODES = {"延平区": "350702", "建阳区": "350703", "顺昌县": "350721", "浦城县": "350722",
         "光泽县": "350723", "松溪县": "350724", "政和县": "350725", "邵武市": "350781",
         "武夷山市": "350782", "建瓯市": "350783"}
NAMES_EN = {"延平区": "Yanping", "建阳区": "Jianyang", "顺昌县": "Shunchang", "浦城县": "Pucheng",
            "光泽县": "Guangze", "松溪县": "Songxi", "政和县": "Zhenghe", "邵武市": "Shaowu",
            "武夷山市": "Wuyishan", "建瓯市": "Jian'ou"}

records = get_adm_maps(city="南平市", level="区县", record="all", wgs84=True)
rows = []
for r in records:
    name = r["district"]
    geom = shapely.set_precision(shapely.from_wkb(r["geometry"].wkb), 1e-7)  # ~1 cm; keeps shared edges shared
    rows.append({"code": CODES[name], "name": name, "name_en": NAMES_EN[name], "geometry": geom})
gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=4490).sort_values("code").reset_index(drop=True)
assert len(gdf) == 10 and gdf.is_valid.all()
out = Path(__file__).resolve().parents[1] / "layers" / "nanping" / "admin.gpkg"
gdf.to_file(out, driver="GPKG", layer="admin", engine="pyogrio")
print(f"wrote {out} ({out.stat().st_size} bytes)")
