"""Build the Nanping sample layer set deterministically.

County boundaries are real (``layers/nanping/admin.gpkg``, derived from cnmaps). Everything
else is SYNTHETIC but plausible: red lines on "mountain" terrain drawn from a seeded noise
field and around Wuyishan, a full partition of every county into environmental control
units, parks, protected areas, no-burn zones, a forest carbon density raster, and sample
projects placed so that screening exercises every verdict.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.warp import reproject
from shapely.geometry import Point

from zoning.io.atomic import atomic_path
from zoning.geo.crs import EQUAL_AREA_CRS, STORAGE_EPSG
from zoning.io.vector import read_vector, write_vector
from zoning.sample.geometry import blob, footprint, gaussian_bump, interior_point, polygonize, smooth_noise

SEED = 20211025
SYNTHETIC_NOTE = "合成示例数据，非官方成果 / SYNTHETIC sample data, not an official layer"
NODATA = -9999.0

#: county code -> (name, seat lon, seat lat)
COUNTY_SEATS = {
    "350702": ("延平区", 118.178, 26.642), "350703": ("建阳区", 118.120, 27.332),
    "350721": ("顺昌县", 117.810, 26.793), "350722": ("浦城县", 118.541, 27.917),
    "350723": ("光泽县", 117.334, 27.541), "350724": ("松溪县", 118.785, 27.526),
    "350725": ("政和县", 118.858, 27.366), "350781": ("邵武市", 117.492, 27.340),
    "350782": ("武夷山市", 118.035, 27.757), "350783": ("建瓯市", 118.305, 27.023),
}
#: name, county, level, leading industries, chemical park, lon, lat, radius (m)
PARKS = [
    ("荣华山产业组团", "350702", "省级", "机电制造;新材料;食品加工", False, 118.062, 26.598, 2300),
    ("南平工业园区", "350702", "国家级", "竹木加工;装备制造", False, 118.265, 26.700, 1600),
    ("建阳经济开发区", "350703", "省级", "竹木加工;汽车零部件", False, 118.170, 27.290, 1700),
    ("顺昌经济开发区", "350721", "省级", "竹木加工;建材", False, 117.865, 26.760, 1500),
    ("浦城工业园区", "350722", "省级", "食品加工;机械制造", False, 118.500, 27.870, 1400),
    ("光泽工业园区", "350723", "省级", "食品加工;禽类加工", False, 117.390, 27.520, 1400),
    ("松溪经济开发区", "350724", "省级", "竹木加工;电子", False, 118.740, 27.490, 1200),
    ("政和经济开发区", "350725", "省级", "竹木加工;茶加工", False, 118.900, 27.330, 1200),
    ("邵武经济开发区", "350781", "省级", "电子信息;装备制造", False, 117.540, 27.300, 1700),
    ("邵武金塘工业园区", "350781", "省级", "氟化工;精细化工", True, 117.445, 27.265, 1900),
    ("武夷山经济开发区", "350782", "省级", "茶加工;食品加工", False, 118.080, 27.710, 1200),
    ("建瓯经济开发区", "350783", "省级", "竹木加工;医药", False, 118.360, 27.060, 1600),
]
#: name, county, grade, lon, lat, radius (m)
RESERVES = [
    ("茫荡山自然保护区", "350702", "国家级", 118.110, 26.730, 5200),
    ("万木林自然保护区", "350783", "省级", 118.140, 27.120, 3500),
    ("龙湖山自然保护区", "350781", "省级", 117.300, 27.150, 4500),
    ("洞宫山自然保护区", "350725", "省级", 119.050, 27.180, 4500),
]
NATIONAL_PARK = ("武夷山国家公园", "350782", 117.800, 27.760, 15500)


def _progress(cb: Callable[[str], None] | None, msg: str) -> None:
    if cb:
        cb(msg)


def _to_ea(lon: float, lat: float) -> tuple[float, float]:
    return Transformer.from_crs(STORAGE_EPSG, EQUAL_AREA_CRS, always_xy=True).transform(lon, lat)


def _gdf(rows: list[dict], crs=EQUAL_AREA_CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=crs)


def _clip_to_counties(geom_ea, admin: gpd.GeoDataFrame) -> list[tuple[str, object]]:
    """Split an equal-area geometry by county; returns (county code, geometry in EPSG:4490)."""
    g4490 = gpd.GeoSeries([geom_ea], crs=EQUAL_AREA_CRS).to_crs(STORAGE_EPSG).iloc[0]
    out = []
    for code, county in zip(admin["code"], admin.geometry):
        part = shapely.intersection(g4490, county)
        if not part.is_empty and part.area > 0:
            out.append((code, shapely.make_valid(part)))
    return out


def _polygonal(geom):
    """Only the polygon parts of ``geom`` (overlays can add stray lines and points)."""
    parts = _polys(geom)
    if not parts:
        return shapely.MultiPolygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _polys(geom):
    return [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and g.area > 0]


def build_sample(out_dir: Path | str, *, admin_path: Path | str, resolution: float = 100.0,
                 seed: int = SEED, with_vectors: bool = True,
                 progress: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Generate the sample layers into ``out_dir``; returns role/name -> written path.

    ``resolution`` is the carbon raster's pixel size in metres (100 for the bundled set,
    30 for benchmarks). The same seed always gives the same layers.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    admin = read_vector(admin_path).to_crs(STORAGE_EPSG).sort_values("code").reset_index(drop=True)
    admin_ea = admin.to_crs(EQUAL_AREA_CRS)
    city_ea = shapely.union_all(admin_ea.geometry.values)
    county_ea = dict(zip(admin_ea["code"], admin_ea.geometry))
    seats = {c: Point(_to_ea(lon, lat)) for c, (_, lon, lat) in COUNTY_SEATS.items()}
    # shapes are clipped loosely here and exactly in EPSG:4490 later, so that no boundary runs
    # a hair's breadth inside a county edge (which would break the unit partition)
    county_loose = {c: g.buffer(50) for c, g in county_ea.items()}
    city_loose = city_ea.buffer(50)

    # --- terrain-like field on a 250 m grid --------------------------------------------------
    _progress(progress, "terrain")
    cell = 250.0
    minx, miny, maxx, maxy = city_ea.bounds
    minx, miny = np.floor(minx / cell) * cell - 5000, np.floor(miny / cell) * cell - 5000
    maxx, maxy = np.ceil(maxx / cell) * cell + 5000, np.ceil(maxy / cell) * cell + 5000
    shape = (int((maxy - miny) / cell), int((maxx - minx) / cell))
    tr = Affine(cell, 0, minx, 0, -cell, maxy)
    elev = 0.6 * smooth_noise(rng, shape, 40) + 0.4 * smooth_noise(rng, shape, 10)
    np_name, np_county, np_lon, np_lat, np_r = NATIONAL_PARK
    npx, npy = _to_ea(np_lon, np_lat)
    elev += 2.2 * gaussian_bump(shape, tr, npx, npy, 22000)
    for seat in seats.values():
        elev -= 2.5 * gaussian_bump(shape, tr, seat.x, seat.y, 9000)
    land = rasterio.features.rasterize([(city_ea, 1)], out_shape=shape, transform=tr, fill=0).astype(bool)

    # --- protected areas ----------------------------------------------------------------------
    _progress(progress, "protected areas")
    prot_rows: list[dict] = []
    park_geom = blob(rng, npx, npy, np_r, aspect=1.45, angle_deg=35, wobble=0.3)
    nat_park = shapely.intersection(park_geom, county_loose[np_county])
    prot_rows.append({"name": np_name, "kind": "国家公园", "grade": "国家级", "county_code": np_county,
                      "geometry": nat_park})
    for name, county, grade, lon, lat, r in RESERVES:
        x, y = _to_ea(lon, lat)
        geom = shapely.intersection(blob(rng, x, y, r, aspect=rng.uniform(1.0, 1.5),
                                         angle_deg=rng.uniform(0, 180)), county_loose[county])
        prot_rows.append({"name": name, "kind": "自然保护区", "grade": grade, "county_code": county,
                          "geometry": geom})
    water1, water2 = {}, {}
    for code, seat in seats.items():
        name = COUNTY_SEATS[code][0]
        ang = rng.uniform(0, 2 * np.pi)
        ix, iy = seat.x + 6500 * np.cos(ang), seat.y + 6500 * np.sin(ang)
        w1 = shapely.intersection(blob(rng, ix, iy, 800, aspect=1.6, angle_deg=np.rad2deg(ang)), county_loose[code])
        w2 = shapely.difference(shapely.intersection(
            blob(rng, ix, iy, 2600, aspect=1.6, angle_deg=np.rad2deg(ang)), county_loose[code]), w1)
        water1[code], water2[code] = w1, w2
        prot_rows.append({"name": f"{name}城区饮用水水源一级保护区", "kind": "饮用水水源保护区",
                          "grade": "一级", "county_code": code, "geometry": w1})
        prot_rows.append({"name": f"{name}城区饮用水水源二级保护区", "kind": "饮用水水源保护区",
                          "grade": "二级", "county_code": code, "geometry": w2})
    water_all = shapely.union_all(list(water1.values()) + list(water2.values()))
    reserves_all = shapely.union_all([r["geometry"] for r in prot_rows if r["kind"] != "饮用水水源保护区"])

    # --- no-burn zones (built-up areas) and parks ----------------------------------------------
    _progress(progress, "no-burn zones and parks")
    nb_rows = []
    for code, seat in seats.items():
        radius = 5200 if code in ("350702", "350703") else 3400
        geom = shapely.difference(
            shapely.intersection(blob(rng, seat.x, seat.y, radius, aspect=rng.uniform(1.0, 1.6),
                                      angle_deg=rng.uniform(0, 180)), county_loose[code]), water_all)
        nb_rows.append({"name": f"{COUNTY_SEATS[code][0]}城区高污染燃料禁燃区", "county_code": code,
                        "geometry": geom})
    no_burn_all = shapely.union_all([r["geometry"] for r in nb_rows])
    park_rows = []
    for name, county, level, industries, chemical, lon, lat, r in PARKS:
        x, y = _to_ea(lon, lat)
        geom = shapely.intersection(blob(rng, x, y, r, aspect=rng.uniform(1.0, 1.7),
                                         angle_deg=rng.uniform(0, 180)), county_loose[county])
        geom = shapely.difference(geom, shapely.union_all([no_burn_all, water_all, reserves_all]))
        park_rows.append({"name": name, "level": level, "industries": industries, "chemical": chemical,
                          "county_code": county, "geometry": geom})
    parks_all = shapely.union_all([r["geometry"] for r in park_rows])

    # --- red lines: high terrain + national park + reserves, never parks or built-up areas -----
    _progress(progress, "red lines")
    keep_out = shapely.union_all([parks_all.buffer(1500), no_burn_all.buffer(2000)])
    out_mask = rasterio.features.rasterize([(keep_out, 1)], out_shape=shape, transform=tr, fill=0).astype(bool)
    candidate = land & ~out_mask
    threshold = np.quantile(elev[candidate], 1 - 0.255 * land.sum() / candidate.sum())
    mask = candidate & (elev > threshold)
    red = polygonize(mask, tr, smooth_m=400, simplify_m=30)
    red = shapely.union_all([red, nat_park, reserves_all])
    red = shapely.difference(shapely.intersection(red, city_loose), shapely.union_all([parks_all, no_burn_all, water_all]))
    red = shapely.union_all([p for p in _polys(red) if p.area >= 3e5])  # drop slivers < 0.3 km²
    wuyi_zone = Point(npx, npy).buffer(45000)
    red_rows = []
    seq: dict[str, int] = {}
    for code, part in _clip_to_counties(red, admin):
        for poly in _polys(part):
            seq[code] = seq.get(code, 0) + 1
            c_ea = gpd.GeoSeries([poly.representative_point()], crs=STORAGE_EPSG).to_crs(EQUAL_AREA_CRS).iloc[0]
            if wuyi_zone.contains(c_ea):
                kind = "生物多样性维护"
            else:
                kind = ["水源涵养", "水土保持", "水源涵养", "生物多样性维护"][int(rng.integers(0, 4))]
            red_rows.append({"红线编号": f"HX{code}{seq[code]:03d}",
                             "红线名称": f"{COUNTY_SEATS[code][0]}{kind}生态保护红线{seq[code]}区",
                             "红线类型": kind, "区县代码": code, "geometry": poly})
    red_gdf = gpd.GeoDataFrame(pd.DataFrame(red_rows), geometry="geometry", crs=STORAGE_EPSG)

    # --- layers to EPSG:4490, split by county -------------------------------------------------
    county_4490 = dict(zip(admin["code"], admin.geometry))

    def to_storage(rows: list[dict], prefix: str) -> gpd.GeoDataFrame:
        gdf = _gdf(rows).to_crs(STORAGE_EPSG)
        gdf["geometry"] = [shapely.intersection(g, county_4490[c]) for g, c in zip(gdf.geometry, gdf["county_code"])]
        counters: dict[str, int] = {}
        ids = []
        for code in gdf["county_code"]:
            counters[code] = counters.get(code, 0) + 1
            ids.append(f"{prefix}{code}{counters[code]:02d}")
        gdf.insert(0, "id", ids)
        gdf["geometry"] = [_polygonal(g) for g in shapely.make_valid(gdf.geometry.values)]
        return gdf[~gdf.geometry.is_empty].reset_index(drop=True)

    prot_gdf = to_storage(prot_rows, "BH")
    nb_gdf = to_storage(nb_rows, "JR")
    park_gdf = to_storage(park_rows, "YQ")

    # --- control units: a partition of each county -------------------------------------------
    # All boundaries are noded together once and polygonized into faces; every face goes to
    # exactly one unit, so units share edges vertex for vertex: no gaps, no overlaps.
    _progress(progress, "control units")
    unit_gdf = _control_units(admin, red_gdf, prot_gdf, park_gdf, nb_gdf, rng)

    written: dict[str, Path] = {}
    if with_vectors:
        _progress(progress, "writing vectors")
        for key, gdf in (("red_line", red_gdf), ("control_unit", unit_gdf), ("park", park_gdf),
                         ("protected", prot_gdf), ("no_burn", nb_gdf)):
            path = out_dir / f"{key}.gpkg"
            write_vector(gdf, path, driver="GPKG", layer=key)
            written[key] = path
        from zoning.sample.clauses import write_sample_clauses  # issue 12: the units' access-list clauses
        written["clauses"] = write_sample_clauses(unit_gdf, out_dir / "clauses.yaml")

    # --- forest carbon raster ------------------------------------------------------------------
    _progress(progress, f"forest carbon raster ({resolution:g} m)")
    written["forest_carbon"] = _write_carbon(
        out_dir / f"forest_carbon_{int(resolution)}m.tif", rng=np.random.default_rng(seed + 1),
        city_ea=city_ea, elev=elev, elev_tr=tr, resolution=resolution,
        non_forest=shapely.union_all([no_burn_all, parks_all]))

    if with_vectors:
        _progress(progress, "sample projects")
        written.update(_write_projects(out_dir, np.random.default_rng(seed + 2), admin=admin,
                                       red=red_gdf, units=unit_gdf, parks=park_gdf, prot=prot_gdf,
                                       no_burn=nb_gdf))
    if with_vectors:  # forest-carbon samples (issue 14): registered carbon projects and programme stands
        _progress(progress, "registered carbon projects and sample stands")
        written.update(_write_carbon_samples(out_dir, np.random.default_rng(seed + 3), admin=admin, red=red_gdf,
                                             prot=prot_gdf, parks=park_gdf, no_burn=nb_gdf))
    if with_vectors and resolution == 100.0:  # issue 12: an official-style delivery of the sample set
        from zoning.sample.official import write_official_delivery

        _progress(progress, "official-style delivery")
        written["official"] = write_official_delivery(out_dir, out_dir / "official", overwrite=True)
    return written


def _control_units(admin, red_gdf, prot_gdf, park_gdf, nb_gdf, rng) -> gpd.GeoDataFrame:
    priority = shapely.union_all(list(red_gdf.geometry) + list(prot_gdf.geometry))
    key_zones = [(f"{r['name']}重点管控单元", r.geometry, r["county_code"]) for _, r in park_gdf.iterrows()]
    key_zones += [(f"{COUNTY_SEATS[r['county_code']][0]}城镇重点管控单元", r.geometry, r["county_code"])
                  for _, r in nb_gdf.iterrows()]
    assignment: dict[tuple, list] = {}
    for code, county in zip(admin["code"], admin.geometry):
        cname = COUNTY_SEATS[code][0]
        # Carve the county step by step: each piece and the remainder come from the same pair
        # of operands, so they share every computed vertex; the last piece is what is left.
        remaining = county
        cells = _voronoi_cells(county, rng, 3)
        pri_here = shapely.intersection(priority, county)
        for i, cell in enumerate(cells, 1):
            piece = shapely.intersection(remaining, shapely.intersection(pri_here, cell))
            remaining = shapely.difference(remaining, piece)
            assignment.setdefault((code, 1, f"{cname}生态保护红线及自然保护地优先保护单元{i}", i), []).append(piece)
        for name, zone, zc in key_zones:
            if zc == code:
                piece = shapely.intersection(remaining, zone)
                remaining = shapely.difference(remaining, piece)
                assignment.setdefault((code, 2, name, 0), []).append(piece)
        for i, cell in enumerate(cells, 1):
            piece = remaining if i == len(cells) else shapely.intersection(remaining, cell)
            remaining = shapely.difference(remaining, piece)
            assignment.setdefault((code, 3, f"{cname}一般管控单元{i}", i), []).append(piece)
    rows = []
    counters: dict[tuple, int] = {}
    for (code, cls, name, _), parts in sorted(assignment.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][3], kv[0][2])):
        counters[(code, cls)] = counters.get((code, cls), 0) + 1
        geom = _polygonal(shapely.union_all(parts))
        if geom.is_empty:
            continue
        rows.append({"单元编码": f"ZH{code}{cls}{counters[(code, cls)]:04d}", "单元名称": name,
                     "管控类别": {1: "优先保护", 2: "重点管控", 3: "一般管控"}[cls],
                     "区县代码": code, "区县名称": COUNTY_SEATS[code][0], "geometry": geom})
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=STORAGE_EPSG)


def _voronoi_cells(county, rng: np.random.Generator, n: int) -> list:
    """``n`` Voronoi cells of seeded points inside ``county`` (lon/lat), covering its bounds."""
    pts = []
    minx, miny, maxx, maxy = county.bounds
    prepared = shapely.prepared.prep(county)
    while len(pts) < n:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if prepared.contains(p):
            pts.append(p)
    env = shapely.box(minx - 1, miny - 1, maxx + 1, maxy + 1)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=env))
    return [shapely.intersection(c, env) for c in cells]


def _write_carbon(path: Path, *, rng, city_ea, elev, elev_tr, resolution: float, non_forest) -> Path:
    """Forest carbon density (t C/ha, above+below-ground biomass) on an equal-area grid."""
    res = float(resolution)
    minx, miny, maxx, maxy = city_ea.bounds
    minx, miny = np.floor(minx / res) * res, np.floor(miny / res) * res
    maxx, maxy = np.ceil(maxx / res) * res, np.ceil(maxy / res) * res
    shape = (int(round((maxy - miny) / res)), int(round((maxx - minx) / res)))
    tr = Affine(res, 0, minx, 0, -res, maxy)

    def upsample(src: np.ndarray, src_tr: Affine) -> np.ndarray:
        dst = np.zeros(shape, dtype="float32")
        reproject(src.astype("float32"), dst, src_transform=src_tr, src_crs=EQUAL_AREA_CRS,
                  dst_transform=tr, dst_crs=EQUAL_AREA_CRS, resampling=Resampling.bilinear)
        return dst

    # texture fields on a 100 m grid regardless of output resolution, so 30 m and 100 m agree
    tex_cell = 100.0
    tex_shape = (int(np.ceil((maxy - miny) / tex_cell)), int(np.ceil((maxx - minx) / tex_cell)))
    tex_tr = Affine(tex_cell, 0, minx, 0, -tex_cell, maxy)
    e = upsample(elev, elev_tr)
    stand = upsample(smooth_noise(rng, tex_shape, 6), tex_tr)
    dens = upsample(smooth_noise(rng, tex_shape, 12), tex_tr)
    land = rasterio.features.rasterize([(city_ea, 1)], out_shape=shape, transform=tr, fill=0).astype(bool)
    built = rasterio.features.rasterize([(non_forest, 1)], out_shape=shape, transform=tr, fill=0).astype(bool)
    score = 0.55 * e + 0.8 * stand
    candidate = land & ~built
    threshold = np.quantile(score[candidate], 1 - 0.78 * land.sum() / candidate.sum())
    forest = candidate & (score > threshold)
    raw = np.exp(0.32 * dens + 0.12 * e)
    density = np.clip(raw * (40.0 / raw[forest].mean()), 5.0, 160.0)
    out = np.where(forest, density, 0.0)
    out = np.where(land, np.round(out, 2), NODATA).astype("float32")
    profile = dict(driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="float32",
                   crs=EQUAL_AREA_CRS.to_wkt(), transform=tr, nodata=NODATA, tiled=True,
                   blockxsize=256, blockysize=256, compress="deflate", predictor=3, BIGTIFF="IF_SAFER")
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(out, 1)
            dst.update_tags(units="t C/ha", pools="aboveground+belowground biomass",
                            synthetic="true", seed=str(SEED), note=SYNTHETIC_NOTE,
                            description="森林碳密度（合成）/ forest carbon density (synthetic)")
            dst.update_tags(1, units="t C/ha")
            dst.set_band_description(1, "forest carbon density t C/ha")
            dst.build_overviews([2, 4, 8, 16], Resampling.average)
            dst.update_tags(ns="rio_overview", resampling="average")
    return path


def _write_projects(out_dir: Path, rng, *, admin, red, units, parks, prot, no_burn) -> dict[str, Path]:
    """Sample projects placed in chosen zones so screening produces every verdict."""
    def ea(gdf):
        out = gdf.to_crs(EQUAL_AREA_CRS)
        out["geometry"] = shapely.make_valid(out.geometry.values)
        return out

    red_ea, units_ea, parks_ea, prot_ea, nb_ea = ea(red), ea(units), ea(parks), ea(prot), ea(no_burn)
    county_ea = dict(zip(admin["code"], ea(admin).geometry))
    general = {c: shapely.union_all(units_ea[(units_ea["管控类别"] == "一般管控") & (units_ea["区县代码"] == c)].geometry.values)
               for c in county_ea}
    # keep general-unit sites clear of protected/red-line edges so buffers tell a clean story
    sensitive = shapely.union_all(list(red_ea.geometry) + list(prot_ea.geometry)).buffer(1200)

    def in_red(code):
        geoms = red_ea[red_ea["区县代码"] == code].geometry
        return max(geoms, key=lambda g: g.area)

    def park(name):
        return parks_ea[parks_ea["name"] == name].geometry.iloc[0]

    def prot(name):
        return prot_ea[prot_ea["name"] == name].geometry.iloc[0]

    def nb(code):
        return nb_ea[nb_ea["county_code"] == code].geometry.iloc[0]

    def gen(code):
        return shapely.difference(general[code], sensitive)

    # id, name, region, margin, footprint ha (None = point), attributes, scenario note
    specs = [
        ("P01", "建阳区某建筑石料采石场", in_red("350703"), 600, 4.0,
         dict(industry="B1012", two_high=False, chemical=False, clear_share=1.0), "红线内采矿：禁止"),
        ("P02", "延平区森林公园游步道", in_red("350702"), 500, None,
         dict(industry="N7862", two_high=False, chemical=False, clear_share=0.1), "红线内有限人为活动：有条件"),
        ("P03", "延平区食品厂燃煤锅炉", nb("350702"), 400, None,
         dict(industry="C1371", two_high=False, chemical=False, boiler_th=8, boiler_fuel="coal",
              energy_tce=3000), "禁燃区 10 蒸吨以下燃煤锅炉：禁止"),
        ("P04", "建阳区热电联产燃煤锅炉", nb("350703"), 400, 3.0,
         dict(industry="D4412", two_high=True, chemical=False, boiler_th=75, boiler_fuel="coal",
              energy_tce=60000), "禁燃区内新建燃煤设施（大气法第三十八条）：禁止；35 蒸吨及以上超低排放、两高：有条件"),
        ("P05", "顺昌县有机化学原料项目", gen("350721"), 800, 6.0,
         dict(industry="C2614", two_high=True, chemical=True, energy_tce=20000), "化工园区外化工项目：禁止"),
        ("P06", "邵武金塘氟化工精细化学品项目", park("邵武金塘工业园区"), 300, 5.0,
         dict(industry="C2662", two_high=False, chemical=True, energy_tce=4000, clear_share=0.0),
         "化工园区内化工：有条件"),
        ("P07", "邵武电解铝项目", park("邵武经济开发区"), 300, 12.0,
         dict(industry="C3216", two_high=True, chemical=False, energy_tce=150000, renewable_share=0.2,
              clear_share=0.0),
         "电解铝可再生能源比例不足 30%：有条件"),
        ("P08", "浦城电解铝扩建项目（缺可再生能源比例）", park("浦城工业园区"), 300, 8.0,
         dict(industry="C3216", two_high=True, chemical=False, energy_tce=90000), "两高有条件；缺可再生能源比例需补充"),
        ("P09", "建瓯水泥熟料生产线", gen("350783"), 800, 15.0,
         dict(industry="C3011", two_high=True, chemical=False, energy_tce=120000), "两高项目：有条件"),
        ("P10", "荣华山食品加工厂", park("荣华山产业组团"), 300, None,
         dict(industry="C1371", two_high=False, chemical=False, boiler_th=4, boiler_fuel="gas",
              energy_tce=800), "园区内一般项目：符合"),
        ("P11", "建瓯竹制品加工厂", gen("350783"), 800, 2.0,
         dict(industry="C2041", two_high=False, chemical=False, energy_tce=500, clear_share=0.0),
         "一般管控单元内竹制品：符合"),
        ("P12", "政和白茶精制加工厂", gen("350725"), 800, 1.5,
         dict(industry="C1530", two_high=False, chemical=False, energy_tce=300, clear_share=0.0),
         "一般管控单元内茶加工：符合"),
        ("P13", "延平区水源地旁酒店", prot("延平区城区饮用水水源一级保护区"), 150, None,
         dict(industry="H6110", two_high=False, chemical=False), "饮用水一级保护区：禁止"),
        ("P14", "建瓯水源二级保护区造纸厂", prot("建瓯市城区饮用水水源二级保护区"), 200, 3.0,
         dict(industry="C2221", two_high=False, chemical=False, energy_tce=5000), "二级保护区排污项目：禁止"),
        ("P15", "武夷山国家公园内度假酒店", prot("武夷山国家公园"), 1500, 2.0,
         dict(industry="H6110", two_high=False, chemical=False, clear_share=0.8), "国家公园内开发：禁止"),
        ("P16", "茫荡山保护区内养殖场", prot("茫荡山自然保护区"), 800, None,
         dict(industry="A0311", two_high=False, chemical=False), "自然保护区内：禁止"),
        ("P17", "松溪县未申报行业的厂房", gen("350724"), 800, 1.0,
         dict(two_high=False, chemical=False), "缺少行业代码：需补充"),
        ("P18", "光泽县行业代码有误的项目", gen("350723"), 800, None,
         dict(industry="C9999", two_high=False, chemical=False), "行业代码无效：需补充"),
        ("P19", "武夷山市毁林建设项目", gen("350782"), 800, 25.0,
         dict(industry="E4790", two_high=False, chemical=False, clear_share=1.0),
         "环武夷山保护发展带内清除林木：有条件"),
        ("P20", "浦城县锂电池材料项目", gen("350722"), 800, 8.0,
         dict(industry="C3841", two_high=False, chemical=False, energy_tce=6000, renewable_share=0.35),
         "一般管控单元内一般工业：符合"),
        ("P21", "光泽禽类屠宰加工厂", park("光泽工业园区"), 300, 4.0,
         dict(industry="C1352", two_high=False, chemical=False, boiler_th=6, boiler_fuel="biomass",
              energy_tce=2000), "园区内项目：符合"),
        ("P22", "松溪县天然气锅炉改造", nb("350724"), 300, None,
         dict(industry="D4430", two_high=False, chemical=False, boiler_th=6, boiler_fuel="gas"),
         "禁燃区天然气锅炉：符合"),
    ]
    rows = []
    for pid, name, region, margin, ha, attrs, note in specs:
        p = interior_point(region, rng, margin)
        geom = p if ha is None else footprint(p, ha, rng)
        rows.append({"id": pid, "name": name, **attrs, "note": note, "geometry": geom})
    # P23 straddles a red-line edge (part inside, part outside): overlap share decides
    edge_poly = in_red("350783")
    ring = edge_poly.exterior
    p = ring.interpolate(rng.uniform(0, ring.length))
    rows.append({"id": "P23", "name": "建瓯市跨红线边界的仓储项目", "industry": "G5920", "two_high": False,
                 "chemical": False, "clear_share": 1.0, "note": "部分占用红线：禁止",
                 "geometry": footprint(p, 6.0, rng)})
    cols = ["id", "name", "industry", "two_high", "chemical", "boiler_th", "boiler_fuel", "energy_tce",
            "renewable_share", "clear_share", "note", "geometry"]
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=EQUAL_AREA_CRS).to_crs(STORAGE_EPSG)
    gdf = gdf.reindex(columns=cols)
    gdf["boiler_th"] = gdf["boiler_th"].astype("float64")
    gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-7)
    out: dict[str, Path] = {}
    path = out_dir / "sample_projects.gpkg"
    write_vector(gdf, path, driver="GPKG", layer="sample_projects")
    out["sample_projects"] = path
    # the point projects as a lon/lat CSV (UTF-8 with BOM, as Excel users send them)
    pts = gdf[gdf.geom_type == "Point"].copy()
    pts.insert(2, "lon", pts.geometry.x.round(7))
    pts.insert(3, "lat", pts.geometry.y.round(7))
    path = out_dir / "sample_points.csv"
    with atomic_path(path) as tmp:
        pd.DataFrame(pts.drop(columns="geometry")).to_csv(tmp, index=False, encoding="utf-8-sig")
    out["sample_points"] = path
    # polygon projects as a 界址点 table in Gauss-Kruger zone 39 (X = northing, Y = easting with
    # the zone prefix), the form survey reports use
    polys = gdf[gdf.geom_type == "Polygon"].to_crs(4527)
    jzd = []
    for pid, geom in zip(polys["id"], polys.geometry):
        for i, (x, y) in enumerate(list(geom.exterior.coords)[:-1], 1):
            jzd.append({"地块编号": pid, "点号": f"J{i}", "X": round(y, 3), "Y": round(x, 3)})
    path = out_dir / "sample_parcels_jzd.csv"
    with atomic_path(path) as tmp:
        pd.DataFrame(jzd).to_csv(tmp, index=False, encoding="utf-8-sig")
    out["sample_parcels_jzd"] = path
    return out


# --- forest-carbon samples (issue 14) -----------------------------------------------------------------
#: CRS of the sample stand file: CGCS2000 3-degree Gauss-Kruger zone 39 with the zone prefix, as
#: Fujian forest-inventory (二类调查) deliveries often come; zoning keeps it
STANDS_EPSG = 4527
#: registered carbon projects: name, scheme, county, registered year, radius (m), where (lon, lat)
REGISTERED = [
    ("建阳区国有林场森林经营碳汇项目（合成）", "FFCER", "350703", 2019, 1700, 118.210, 27.420),
    ("顺昌县国有林场森林经营碳汇项目（合成）", "FFCER", "350721", 2018, 1500, 117.720, 26.880),
    ("邵武市森林经营碳汇项目（合成）", "CCER", "350781", 2017, 1800, 117.560, 27.180),
    ("延平区林业碳票地块（合成）", "林业碳票", "350702", 2022, 600, 118.300, 26.560),
    ("建瓯市林业碳票地块（合成）", "林业碳票", "350783", 2022, 550, 118.420, 27.150),
    ("政和县林业碳票地块（合成）", "林业碳票", "350725", 2023, 500, 118.980, 27.250),
]


def _write_carbon_samples(out_dir: Path, rng, *, admin, red, prot, parks, no_burn) -> dict[str, Path]:
    """A ``registered_carbon`` layer (CCER/FFCER projects and 林业碳票 parcels) and a programme stand
    file (小班) that the quality programme and the buy-back can be run on; a few stands overlap
    registered parcels so that the double-counting guard has something to catch. Synthetic."""
    import shapely.affinity

    from zoning.vocabulary import NATURE_AREA_KINDS

    def ea(gdf):
        out = gdf.to_crs(EQUAL_AREA_CRS)
        out["geometry"] = shapely.make_valid(out.geometry.values)
        return out

    county_ea = dict(zip(admin["code"], ea(admin).geometry))
    blocked = shapely.union_all(list(ea(parks).geometry) + list(ea(no_burn).geometry)).buffer(300)
    prot_ea = ea(prot)
    reserves = shapely.union_all(list(prot_ea[prot_ea["kind"].isin(NATURE_AREA_KINDS)].geometry))
    red_ea = ea(red)
    rows = []
    for i, (name, scheme, code, year, radius, lon, lat) in enumerate(REGISTERED, 1):
        x, y = _to_ea(lon, lat)
        geom = blob(rng, x, y, radius, wobble=0.18, aspect=rng.uniform(1.0, 1.4), angle_deg=rng.uniform(0, 180))
        geom = _polygonal(shapely.difference(shapely.intersection(geom, county_ea[code].buffer(-200)), blocked))
        rows.append({"id": f"RC{i:02d}-{scheme if scheme.isascii() else 'TP'}-{code}", "name": name, "scheme": scheme,
                     "county_code": code, "registered_year": year, "status": "已登记 registered",
                     "note": SYNTHETIC_NOTE, "geometry": geom})
    reg = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=EQUAL_AREA_CRS)
    reg["area_ha"] = (reg.geometry.area / 1e4).round(2)
    reg_4490 = reg.to_crs(STORAGE_EPSG)
    reg_4490["geometry"] = shapely.set_precision(reg_4490.geometry.values, 1e-7)
    out: dict[str, Path] = {}
    path = out_dir / "registered_carbon.gpkg"
    write_vector(reg_4490, path, driver="GPKG", layer="registered_carbon")
    out["registered_carbon"] = path

    # stands: quality stands in general forest land, buy-back stands in red lines outside reserves
    kinds = ["杉木", "马尾松", "阔叶林"]
    codes = sorted(county_ea)
    stands = []

    def rectangle(cx, cy, ha):
        ratio = rng.uniform(1.0, 2.2)
        h = np.sqrt(ha * 1e4 / ratio)
        box = shapely.box(cx - h * ratio / 2, cy - h / 2, cx + h * ratio / 2, cy + h / 2)
        return shapely.affinity.rotate(box, rng.uniform(0, 180), origin=(cx, cy))

    def add(region, programme, code, n, overlap_with=None):
        for _ in range(n):
            ha = float(rng.uniform(6, 40))
            if overlap_with is not None:
                c = overlap_with.representative_point()
                cx, cy = c.x + rng.uniform(-150, 150), c.y + rng.uniform(-150, 150)
            else:
                pt = interior_point(region, rng, 400)
                cx, cy = pt.x, pt.y
            geom = shapely.intersection(rectangle(cx, cy, ha), county_ea[code].buffer(-50))
            if geom.is_empty or geom.area < 5e4:
                continue
            stands.append({"programme": programme, "code": code, "geometry": _polygonal(geom)})

    for code in codes:
        general = shapely.difference(county_ea[code], shapely.union_all([blocked, reserves, red_ea.geometry.union_all()]))
        add(general, "森林质量精准提升", code, 4)
        buy_region = shapely.difference(shapely.intersection(red_ea.geometry.union_all(), county_ea[code]),
                                        shapely.union_all([blocked, reserves]))
        if not buy_region.is_empty and buy_region.area > 4e6:
            add(buy_region, "商品林赎买", code, 1)
    for geom, code in zip(reg.geometry.iloc[:3], reg["county_code"].iloc[:3]):  # stands on FFCER/CCER projects
        add(None, "森林质量精准提升", code, 1, overlap_with=geom)
    add(None, "商品林赎买", reg["county_code"].iloc[3], 1, overlap_with=reg.geometry.iloc[3])  # one on a 碳票 parcel
    frame = gpd.GeoDataFrame(pd.DataFrame(stands), geometry="geometry", crs=EQUAL_AREA_CRS)
    # no two stands overlap: later ones give way to earlier ones
    kept, taken = [], shapely.Polygon()
    for g in frame.geometry:
        g2 = _polygonal(shapely.difference(g, taken))
        kept.append(g2)
        taken = shapely.union(taken, g2)
    frame["geometry"] = kept
    frame = frame[~frame.geometry.is_empty & (frame.geometry.area > 5e4)].reset_index(drop=True)
    names = dict(zip(admin["code"], admin["name"]))
    counter: dict[str, int] = {}
    ids, compartments = [], []
    for code in frame["code"]:
        counter[code] = counter.get(code, 0) + 1
        compartments.append(f"{(counter[code] - 1) // 3 + 1:03d}")
        ids.append(f"{code}-{compartments[-1]}-{counter[code]:04d}")
    frame.insert(0, "小班号", ids)
    frame.insert(1, "林班号", compartments)
    frame["县"] = frame["code"].map(names)
    frame["树种"] = [kinds[int(k)] for k in rng.integers(0, 3, len(frame))]
    frame["林龄"] = [int(a) for a in np.where(frame["programme"] == "商品林赎买", rng.integers(18, 36, len(frame)),
                                               rng.integers(4, 30, len(frame)))]
    frame["项目"] = frame["programme"]
    frame["实施年度"] = [int(y) for y in rng.integers(2021, 2026, len(frame))]
    frame["面积"] = (frame.geometry.area / 1e4).round(1)
    frame["起源"] = np.where(frame["树种"] == "阔叶林", "天然", "人工")
    frame["备注"] = SYNTHETIC_NOTE
    stands_out = frame.drop(columns=["programme", "code"]).to_crs(STANDS_EPSG)
    stands_out["geometry"] = shapely.set_precision(stands_out.geometry.values, 0.001)
    path = out_dir / "sample_stands.gpkg"
    write_vector(stands_out, path, driver="GPKG", layer="stands")
    out["sample_stands"] = path
    return out
