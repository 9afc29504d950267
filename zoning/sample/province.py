"""A province-size SYNTHETIC layer set for benchmarks (Fujian is ~124,000 km²).

- ~84 counties and 2,000 environmental control units partitioning the province. Unit and
  red-line outlines are polygonized from 250 m label rasters, so they carry hundreds to
  thousands of vertices like real red lines (simple shapes would flatter every overlay and
  distance timing), and units still share edges exactly.
- red lines on ~27 % of the land, a few parks, protected areas and no-burn zones.
- 500,000 forest stands (1-30 ha) as polygons, for zonal statistics at scale.
- a 30 m forest carbon density raster as a tiled, overviewed Cloud-Optimized GeoTIFF, written
  in row strips so memory stays bounded.
Deterministic (fixed seed). Written with its own catalog.yaml.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import rasterio.shutil
import shapely
import yaml
from affine import Affine
from rasterio.enums import Resampling
from rasterio.warp import reproject

from zoning.geo.crs import EQUAL_AREA_CRS, STORAGE_EPSG
from zoning.io.vector import write_vector
from zoning.sample.geometry import blob, rectangles, smooth_noise

SEED = 20240601
CELL = 100.0  # label grid: outlines get a vertex every step, like digitised red lines


def _say(cb, msg):
    if cb:
        cb(msg)


def _label_polygons(labels: np.ndarray, transform: Affine) -> dict[int, object]:
    """label -> (multi)polygon, from a label raster (0 = none)."""
    parts: dict[int, list] = {}
    for geom, value in rasterio.features.shapes(labels.astype("int32"), mask=labels > 0, transform=transform):
        parts.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    # parts of one label have disjoint interiors: a MultiPolygon keeps their vertices exactly
    # (a union would re-node them and open hair-thin gaps against the neighbours). Outlines are
    # densified to every pixel corner: polygonize drops collinear corners differently on each
    # side of a shared edge, and after reprojection a straight edge with an extra vertex no longer
    # coincides with its neighbour's.
    return {k: shapely.segmentize(v[0] if len(v) == 1 else shapely.MultiPolygon(v), CELL)
            for k, v in parts.items()}


def build_province(out_dir: Path | str, *, units: int = 2000, stands: int = 500_000, resolution: float = 30.0,
                   seed: int = SEED, raster: bool = True, progress: Callable[[str], None] | None = None) -> Path:
    """Generate the province set into ``out_dir``; returns the path of its catalog.yaml."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # a province-shaped region of ~124,000 km² around 118E, 26N (Fujian-like), in metres
    _say(progress, "region")
    region = blob(rng, 0.0, -110_000.0, 198_000.0, aspect=1.02, angle_deg=40, wobble=0.18, n=720)
    minx, miny, maxx, maxy = region.bounds
    minx, miny = np.floor(minx / CELL) * CELL, np.floor(miny / CELL) * CELL
    shape = (int(np.ceil((maxy - miny) / CELL)), int(np.ceil((maxx - minx) / CELL)))
    tr = Affine(CELL, 0, minx, 0, -CELL, miny + shape[0] * CELL)
    land = rasterio.features.rasterize([(region, 1)], out_shape=shape, transform=tr, fill=0).astype(bool)
    rows, cols = np.nonzero(land)
    xs = tr.c + (cols + 0.5) * CELL
    ys = tr.f - (rows + 0.5) * CELL
    warp = smooth_noise(rng, shape, 25) * 5000.0 + smooth_noise(rng, shape, 6) * 1200.0  # wiggly boundaries

    def voronoi_labels(n_seeds: int, warp_scale: float) -> np.ndarray:
        pick = rng.choice(rows.size, n_seeds, replace=False)
        seeds = np.column_stack([xs[pick], ys[pick]])
        tree = shapely.STRtree(shapely.points(seeds))
        wx = xs + warp[rows, cols] * warp_scale
        wy = ys - warp[rows, cols] * warp_scale
        nearest = tree.nearest(shapely.points(wx, wy))
        lab = np.zeros(shape, dtype="int32")
        lab[rows, cols] = nearest + 1
        return lab

    _say(progress, "counties and control units")
    county_lab = voronoi_labels(84, 1.0)
    unit_lab = voronoi_labels(int(units * 0.62), 0.5)  # cutting by county edges adds ~60 % more units
    counties = _label_polygons(county_lab, tr)
    codes = {k: f"35{k // 10 + 1:02d}{k % 10 + 1:02d}" for k in counties}
    # each unit belongs to the county holding most of it; the unit is cut by county edges so the
    # partition holds (a unit label split by a county edge becomes two units)
    combo = np.where(land, unit_lab.astype("int64") * 1000 + county_lab, 0)
    uniq, inv = np.unique(combo, return_inverse=True)
    unit_parts = _label_polygons(inv.reshape(shape).astype("int32"), tr)
    elev = 0.6 * smooth_noise(rng, shape, 100) + 0.3 * smooth_noise(rng, shape, 25) + 0.1 * smooth_noise(rng, shape, 4)
    red_mask = land & (elev > np.quantile(elev[land], 0.73))
    red_share = {}
    for k in unit_parts:
        red_share[k] = 0.0
    label_img = inv.reshape(shape)
    counts = np.bincount(label_img[land].ravel(), minlength=len(uniq))
    red_counts = np.bincount(label_img[red_mask].ravel(), minlength=len(uniq))
    unit_rows = []
    seq: dict[tuple, int] = {}
    for k, geom in unit_parts.items():
        combo_val = uniq[k]
        if combo_val == 0:
            continue
        county = codes[int(combo_val % 1000)]
        share = red_counts[k] / max(counts[k], 1)
        cls = 1 if share > 0.5 else (2 if rng.uniform() < 0.12 else 3)
        seq[(county, cls)] = seq.get((county, cls), 0) + 1
        unit_rows.append({"code": f"ZH{county}{cls}{seq[(county, cls)]:04d}",
                          "name": f"合成单元{county}-{cls}-{seq[(county, cls)]}",
                          "class": {1: "优先保护", 2: "重点管控", 3: "一般管控"}[cls], "county_code": county,
                          "geometry": geom})
    units_gdf = gpd.GeoDataFrame(pd.DataFrame(unit_rows), geometry="geometry", crs=EQUAL_AREA_CRS)
    admin_gdf = gpd.GeoDataFrame({"code": [codes[k] for k in counties], "name": [f"合成县{codes[k]}" for k in counties],
                                  "name_en": [f"County{codes[k]}" for k in counties]},
                                 geometry=list(counties.values()), crs=EQUAL_AREA_CRS)
    _say(progress, "red lines")
    red_lab = np.zeros(shape, dtype="int32")
    red_lab[red_mask] = county_lab[red_mask]
    red_parts = _label_polygons(red_lab, tr)
    red_rows = []
    for k, geom in red_parts.items():
        for j, poly in enumerate(shapely.get_parts(geom), 1):
            if poly.area < 3e6:  # keep real red-line-sized pieces
                continue
            red_rows.append({"id": f"HX{codes[k]}{j:04d}", "name": f"合成红线{codes[k]}-{j}",
                             "type": ["水源涵养", "生物多样性维护", "水土保持"][j % 3], "county_code": codes[k],
                             "geometry": poly})
    red_gdf = gpd.GeoDataFrame(pd.DataFrame(red_rows), geometry="geometry", crs=EQUAL_AREA_CRS)
    _say(progress, "parks, protected areas, no-burn zones")
    cent = admin_gdf.geometry.representative_point()
    park_rows, prot_rows, nb_rows = [], [], []
    for code, c in zip(admin_gdf["code"], cent):
        nb_rows.append({"id": f"JR{code}", "name": f"{code}城区禁燃区", "county_code": code,
                        "geometry": blob(rng, c.x, c.y, 3500)})
        park_rows.append({"id": f"YQ{code}", "name": f"{code}工业园区", "level": "省级", "industries": "综合",
                          "chemical": bool(rng.uniform() < 0.1), "county_code": code,
                          "geometry": blob(rng, c.x + 7000, c.y, 1500)})
        prot_rows.append({"id": f"BH{code}1", "name": f"{code}水源一级保护区", "kind": "饮用水水源保护区", "grade": "一级",
                          "county_code": code, "geometry": blob(rng, c.x - 7000, c.y, 800)})
    for i in range(12):
        p = rng.integers(0, rows.size)
        prot_rows.append({"id": f"ZR{i:02d}", "name": f"合成自然保护区{i}", "kind": "自然保护区", "grade": "省级",
                          "county_code": "", "geometry": blob(rng, xs[p], ys[p], 6000)})

    def store(rows_, crs=EQUAL_AREA_CRS):
        g = gpd.GeoDataFrame(pd.DataFrame(rows_), geometry="geometry", crs=crs).to_crs(STORAGE_EPSG)
        g["geometry"] = shapely.make_valid(g.geometry.values)
        return g

    files = {"admin": admin_gdf.to_crs(STORAGE_EPSG), "control_unit": units_gdf.to_crs(STORAGE_EPSG),
             "red_line": red_gdf.to_crs(STORAGE_EPSG), "park": store(park_rows), "protected": store(prot_rows),
             "no_burn": store(nb_rows)}
    for key, g in files.items():
        write_vector(g, out_dir / f"{key}.gpkg", driver="GPKG", layer=key)
    _say(progress, f"{stands:,} forest stands")
    forest_px = np.flatnonzero(land.ravel())
    pick = rng.choice(forest_px, stands)
    pr, pc = np.divmod(pick, shape[1])
    cx = tr.c + (pc + rng.uniform(0, 1, stands)) * CELL
    cy = tr.f - (pr + rng.uniform(0, 1, stands)) * CELL
    geoms = rectangles(cx, cy, rng.uniform(1e4, 30e4, stands), rng.uniform(1, 2, stands),
                       np.deg2rad(rng.uniform(0, 180, stands)))
    stand_gdf = gpd.GeoDataFrame({"id": [f"XB{i:06d}" for i in range(stands)]}, geometry=geoms, crs=EQUAL_AREA_CRS)
    write_vector(stand_gdf.to_crs(STORAGE_EPSG), out_dir / "stands.gpkg", driver="GPKG", layer="stands")
    if raster:
        _say(progress, f"{resolution:g} m carbon raster (COG)")
        _write_cog(out_dir / f"forest_carbon_{int(resolution)}m.tif", elev=elev, tr=tr, land_shape=shape,
                   region=region, resolution=resolution, rng=np.random.default_rng(seed + 1))
    catalog = {
        "name": "合成省级图层（基准测试用）/ SYNTHETIC province-size layer set for benchmarks",
        "rules": str((Path(__file__).resolve().parents[2] / "layers" / "rules" / "nanping.yaml")),
        "layers": [{"name": f"{k}（合成省级）", "role": k, "path": f"{k}.gpkg", "layer": k, "synthetic": True,
                    "vintage": "synthetic", "source": "zoning sample build --province", "licence": "CC0"}
                   for k in files] + ([{"name": "森林碳密度（合成省级 30 m）", "role": "forest_carbon", "kind": "raster",
                                       "path": f"forest_carbon_{int(resolution)}m.tif", "units": "t C/ha",
                                       "synthetic": True, "vintage": "synthetic"}] if raster else []),
    }
    path = out_dir / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _write_cog(path: Path, *, elev, tr, land_shape, region, resolution, rng, strip_rows: int = 1024) -> None:
    res = float(resolution)
    minx, miny, maxx, maxy = region.bounds
    minx, miny = np.floor(minx / res) * res, np.floor(miny / res) * res
    width, height = int(np.ceil((maxx - minx) / res)), int(np.ceil((maxy - miny) / res))
    ftr = Affine(res, 0, minx, 0, -res, miny + height * res)
    tex = smooth_noise(rng, land_shape, 15)
    tmp = path.with_suffix(".tmp.tif")
    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="float32", crs=EQUAL_AREA_CRS.to_wkt(),
                   transform=ftr, nodata=-9999.0, tiled=True, blockxsize=512, blockysize=512, compress="deflate",
                   predictor=3, BIGTIFF="YES")
    with rasterio.open(tmp, "w", **profile) as dst:
        for r0 in range(0, height, strip_rows):
            h = min(strip_rows, height - r0)
            wtr = ftr @ Affine.translation(0, r0)
            e = np.zeros((h, width), dtype="float32")
            t = np.zeros((h, width), dtype="float32")
            for src_arr, dst_arr in ((elev, e), (tex, t)):
                reproject(src_arr.astype("float32"), dst_arr, src_transform=tr, src_crs=EQUAL_AREA_CRS,
                          dst_transform=wtr, dst_crs=EQUAL_AREA_CRS, resampling=Resampling.bilinear)
            land = rasterio.features.rasterize([(region, 1)], out_shape=(h, width), transform=wtr, fill=0).astype(bool)
            score = 0.55 * e + 0.8 * t
            dens = np.where(score > -0.6, np.clip(40.0 * np.exp(0.3 * t + 0.12 * e), 5, 160), 0.0)
            dst.write(np.where(land, np.round(dens, 2), -9999.0).astype("float32"), 1,
                      window=rasterio.windows.Window(0, r0, width, h))
        dst.update_tags(units="t C/ha", pools="aboveground+belowground biomass", synthetic="true")
    with rasterio.open(tmp) as src:
        rasterio.shutil.copy(src, path, driver="COG", compress="DEFLATE", predictor="3", overview_resampling="average",
                             blocksize=512, BIGTIFF="YES")
    tmp.unlink()
