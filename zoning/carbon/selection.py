"""Where the programmes fall: candidate stands chosen by a documented rule, or a given layer.

Rule (when the catalog has no ``program`` layer):

- 森林质量精准提升 (quality): forest pixels (density > 0) outside red lines, parks, protected
  areas and no-burn zones; per county, the lowest-density forest first, in contiguous stands of
  at least ``min_stand_ha``, until the county's quota is met.
- 商品林赎买 (buy-back of commercial forest in key ecological locations): forest inside red
  lines but outside the national park and nature reserves (already public), highest density
  first (most carbon exposed to harvest), same stand rule.
- Quotas: the target area split over counties by their share of forest area, or a quota file
  (CSV: county (code or name), quota_ha).

Selection runs on the density raster's grid; stands are polygonized, measured exactly with
:func:`zoning.carbon.density.stock`, and returned in EPSG:4490.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely

from zoning.carbon.density import open_density, stock
from zoning.io.layerset import LayerSet
from zoning.vocabulary import NATURE_AREA_KINDS
from zoning.carbon.programme import ProgramError

QUALITY = "森林质量精准提升"
BUYBACK = "商品林赎买"


@dataclass
class Selection:
    program: str
    target_ha: float
    stands: gpd.GeoDataFrame  # EPSG:4490: id, program, county_code, county, area_ha, forest_ha, stock_tC, mean_tC_ha
    by_county: pd.DataFrame  # county_code, county, quota_ha, selected_ha
    source: str  # "rule" or "layer"
    mask: np.ndarray | None = None  # selected pixels (rule), for overlap checks
    pixel_ha: float | None = None  # area of one pixel of ``mask`` (ha)

    @property
    def selected_ha(self) -> float:
        return float(self.by_county["selected_ha"].sum())

    @property
    def match(self) -> float:
        """Selected / target − 1 (0 = exact)."""
        return self.selected_ha / self.target_ha - 1 if self.target_ha else 0.0


def read_quota(path: Path | str, admin: gpd.GeoDataFrame) -> dict[str, float]:
    path = Path(path)
    if not path.exists():
        raise ProgramError(f"配额文件不存在：{path}", f"quota file not found: {path}")
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    cols = {c.strip().lower(): c for c in df.columns}
    if "county" not in cols or "quota_ha" not in cols:
        raise ProgramError(f"配额文件 {path.name} 需要 county、quota_ha 两列", f"quota file {path.name} needs columns county, quota_ha")
    by_name = dict(zip(admin["name"], admin["code"]))
    codes = set(admin["code"])
    out: dict[str, float] = {}
    for county, quota in zip(df[cols["county"]], df[cols["quota_ha"]]):
        code = county if county in codes else by_name.get(county)
        if code is None:
            raise ProgramError(f"配额文件中的县区 {county!r} 不存在", f"unknown county {county!r} in {path.name}; "
                               f"use a code or name: {', '.join(admin['name'])}")
        try:
            out[code] = float(quota)
        except ValueError:
            raise ProgramError(f"配额不是数字：{quota!r}", f"quota is not a number: {quota!r}") from None
    return out


def _burn(frame: gpd.GeoDataFrame | None, shape, transform, crs) -> np.ndarray:
    if frame is None or len(frame) == 0:
        return np.zeros(shape, dtype=bool)
    geoms = frame.to_crs(crs).geometry
    return rasterio.features.rasterize(((g, 1) for g in geoms if g is not None and not g.is_empty), out_shape=shape,
                                       transform=transform, fill=0, dtype="uint8").astype(bool)


def _pick(dens: np.ndarray, eligible: np.ndarray, quota_px: float, min_px: int, lowest: bool) -> np.ndarray:
    """Smallest density threshold whose sieved stands reach ``quota_px`` pixels (bisection)."""
    values = dens[eligible]
    if values.size == 0 or quota_px <= 0:
        return np.zeros_like(eligible)

    def stands(thr: float) -> np.ndarray:
        m = eligible & ((dens <= thr) if lowest else (dens >= thr))
        if not m.any():
            return m
        sieved = rasterio.features.sieve(m.astype("uint8"), size=min_px, connectivity=4).astype(bool)
        return sieved & m

    full = stands(values.max() if lowest else values.min())
    if full.sum() <= quota_px:
        return full  # not enough eligible forest: take all of it, the shortfall is reported
    # bisection on the threshold: with `lowest` the selected area grows with it, otherwise it shrinks
    lo, hi = float(values.min()), float(values.max())
    for _ in range(22):
        mid = (lo + hi) / 2
        if (stands(mid).sum() >= quota_px) == lowest:
            hi = mid
        else:
            lo = mid
    return stands(hi if lowest else lo)


def select_by_rule(layers: LayerSet, raster_path: Path, *, program: str, target_ha: float, min_stand_ha: float = 5.0,
                   quota: dict[str, float] | None = None) -> Selection:
    """Select candidate stands for ``program`` (QUALITY or BUYBACK) by the module's rule."""
    info = open_density(raster_path)
    if info.geographic:
        raise ProgramError("候选区选择需要投影坐标系的碳密度栅格（等面积投影），请先重投影",
                           "selecting stands needs a projected (equal-area) density raster; warp it first")
    with rasterio.open(raster_path) as src:
        dens = src.read(1, masked=True).filled(np.nan).astype("float64") * info.factor
        transform, crs, shape = src.transform, src.crs, (src.height, src.width)
    px_ha = abs(transform.a * transform.e) / 1e4
    admin = layers.frames["admin"]
    forest = np.isfinite(dens) & (dens > 0)
    protected = layers.frames.get("protected")
    reserves = protected[protected["kind"].isin(NATURE_AREA_KINDS)] if protected is not None else None
    red = _burn(layers.frames.get("red_line"), shape, transform, crs)
    blocked = _burn(layers.frames.get("park"), shape, transform, crs) | _burn(layers.frames.get("no_burn"), shape,
                                                                                 transform, crs)
    if program == QUALITY:
        eligible = forest & ~red & ~blocked & ~_burn(protected, shape, transform, crs)
        lowest = True
    elif program == BUYBACK:
        eligible = forest & red & ~blocked & ~_burn(reserves, shape, transform, crs)
        lowest = False
    else:
        raise ProgramError(f"未知项目 {program}", f"unknown programme {program}")
    counties = admin.to_crs(crs)
    county_id = rasterio.features.rasterize(((g, i + 1) for i, g in enumerate(counties.geometry)), out_shape=shape,
                                            transform=transform, fill=0, dtype="int32")
    forest_px = np.bincount(county_id[forest].ravel(), minlength=len(admin) + 1)[1:]
    if quota is None:
        shares = forest_px / forest_px.sum()
        quota = {code: target_ha * s for code, s in zip(admin["code"], shares)}
    min_px = max(1, int(round(min_stand_ha / px_ha)))
    selected = np.zeros(shape, dtype=bool)
    rows = []
    for i, (code, name) in enumerate(zip(admin["code"], admin["name"]), 1):
        rr, cc = np.nonzero(county_id == i)
        if rr.size == 0:
            continue
        win = (slice(rr.min(), rr.max() + 1), slice(cc.min(), cc.max() + 1))
        pick = _pick(dens[win], eligible[win] & (county_id[win] == i), quota.get(code, 0.0) / px_ha, min_px, lowest)
        selected[win] |= pick
        rows.append({"county_code": code, "county": name, "quota_ha": quota.get(code, 0.0),
                     "selected_ha": float(pick.sum() * px_ha)})
    stands = _polygonize(selected, county_id, transform, crs, admin, program)
    if len(stands):
        measured = stock(stands, raster_path, workers=1)
        stands["area_ha"] = measured["covered_ha"].to_numpy()
        stands["forest_ha"] = measured["forest_ha"].to_numpy()
        stands["stock_tC"] = measured["stock_tC"].to_numpy()
        stands["mean_tC_ha"] = measured["mean_tC_ha"].to_numpy()
    return Selection(program, target_ha, stands.to_crs(4490), pd.DataFrame(rows), "rule", selected, px_ha)


def _polygonize(selected, county_id, transform, crs, admin, program) -> gpd.GeoDataFrame:
    shapes = rasterio.features.shapes(np.where(selected, county_id, 0).astype("int32"), mask=selected,
                                      transform=transform, connectivity=4)
    rows = []
    for geom, value in shapes:
        code = admin["code"].iloc[int(value) - 1]
        rows.append({"program": program, "county_code": code, "county": admin["name"].iloc[int(value) - 1],
                     "geometry": shapely.geometry.shape(geom)})
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["program", "county_code", "county", "geometry"]),
                             geometry="geometry", crs=crs)
    frame.insert(0, "id", [f"{'ZL' if program == QUALITY else 'SM'}{i:05d}" for i in range(1, len(frame) + 1)])
    return frame


def select_from_layer(layers: LayerSet, *, program: str, target_ha: float) -> Selection:
    """Use the catalog's ``program`` layer (features whose ``program`` field names the programme)."""
    frame = layers.frames["program"]
    stands = frame[frame["program"].astype(str) == program].copy()
    if stands.empty:
        raise ProgramError(f"program 图层中没有 {program} 要素", f"the program layer has no {program} features")
    from zoning.geo.locate import locate_sites
    from zoning.geo.measure import ellipsoidal_areas

    stands["area_ha"] = ellipsoidal_areas(stands.geometry) / 1e4
    located = locate_sites(stands.assign(site_id=stands["id"].astype(str), warnings=[[] for _ in range(len(stands))]),
                           layers.frames.get("admin"))
    stands["county_code"] = located["county_code"].to_numpy()
    stands["county"] = located["county"].to_numpy()
    by_county = stands.groupby(["county_code", "county"], dropna=False)["area_ha"].sum().reset_index()
    by_county = by_county.rename(columns={"area_ha": "selected_ha"})
    by_county.insert(2, "quota_ha", np.nan)
    return Selection(program, target_ha, stands.to_crs(4490), by_county, "layer")


def overlap_ha(a: Selection, b: Selection) -> float:
    """Area (ha) counted by both programmes: pixel overlap (rule) or polygon overlap (layer)."""
    if a.mask is not None and b.mask is not None and a.mask.shape == b.mask.shape:
        return float((a.mask & b.mask).sum()) * float(a.pixel_ha)
    inter = shapely.intersection(shapely.union_all(a.stands.geometry.values), shapely.union_all(b.stands.geometry.values))
    if inter.is_empty:
        return 0.0
    from zoning.geo.measure import ellipsoidal_areas

    return float(ellipsoidal_areas(gpd.GeoSeries([inter], crs=4490))[0] / 1e4)
