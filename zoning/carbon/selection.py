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

from zoning.carbon.density import open_density, read_footprints, stock
from zoning.carbon.programme import ProgramError, check_year, read_table
from zoning.io.layerset import LayerSet
from zoning.vocabulary import (BUYBACK, FOREST_TYPE_ALIASES, NATURE_AREA_KINDS, OTHER_FOREST, PROGRAMME_ALIASES,
                               QUALITY, STAND_FIELDS)

#: overlap with a registered carbon project above which a stand is excluded from creditable removals (m²);
#: below it the two only share a boundary (digitising noise)
REGISTERED_TOLERANCE_M2 = 1.0


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
    """County quotas (ha) from a CSV/XLSX with columns county (code or name) and quota_ha; UTF-8 or GBK."""
    path = Path(path)
    df = read_table(path, "配额 quota ")
    cols = {str(c).strip().lower(): c for c in df.columns}
    cols.update({k: cols[v] for k, v in (("county", "县区"), ("county", "县"), ("quota_ha", "配额"), ("quota_ha", "面积"))
                 if v in cols and k not in cols})
    if "county" not in cols or "quota_ha" not in cols:
        raise ProgramError(f"配额文件 {path.name} 需要 county、quota_ha 两列", f"quota file {path.name} needs columns county, quota_ha")
    by_name = dict(zip(admin["name"], admin["code"]))
    codes = set(admin["code"])
    out: dict[str, float] = {}
    for county, quota in zip(df[cols["county"]], df[cols["quota_ha"]]):
        county = str(county).strip()
        code = county if county in codes else by_name.get(county)
        if code is None:
            raise ProgramError(f"配额文件中的县区 {county!r} 不存在", f"unknown county {county!r} in {path.name}; "
                               f"use a code or name: {', '.join(admin['name'])}")
        try:
            value = float(str(quota).replace(",", "").strip())
        except ValueError:
            raise ProgramError(f"配额不是数字：{quota!r}", f"quota is not a number: {quota!r}") from None
        if not np.isfinite(value) or value < 0:
            raise ProgramError(f"配额须为不小于 0 的数：{county} {quota}", f"quota must be a number >= 0: {county} {quota}")
        out[code] = out.get(code, 0.0) + value
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
    from zoning.io.catalog import load_layer

    frame = load_layer(layers.catalog.one("program"))
    stands, _ = normalise_stands(frame, admin=layers.frames.get("admin"), label="program layer")
    return stands_selection(stands, program=program, target_ha=target_ha, source="layer")


def stands_selection(stands: gpd.GeoDataFrame, *, program: str, target_ha: float, source: str) -> Selection:
    """The stands of one programme (from :func:`normalise_stands`) as a :class:`Selection`."""
    mine = stands[stands["programme"] == program].copy()
    if mine.empty:
        raise ProgramError(f"林分中没有 {program} 要素", f"the stands hold no {program} features")
    by_county = mine.groupby(["county_code", "county"], dropna=False)["area_ha"].sum().reset_index()
    by_county = by_county.rename(columns={"area_ha": "selected_ha"})
    by_county.insert(2, "quota_ha", np.nan)
    return Selection(program, target_ha, mine, by_county, source)


def _column(frame: pd.DataFrame, key: str, given: str | None = None) -> str | None:
    if given is not None:
        if given not in frame.columns:
            raise ProgramError(f"字段 {given!r} 不在林分文件中", f"field {given!r} is not in the stand file; fields: "
                               f"{', '.join(str(c) for c in frame.columns if c != 'geometry')}")
        return given
    lower = {str(c).strip().lower(): c for c in frame.columns if c != "geometry"}
    return next((lower[n.lower()] for n in STAND_FIELDS[key] if n.lower() in lower), None)


def read_stands(source, *, id_field: str | None = None, layer: str | None = None, crs=None, engine: str = "pyogrio",
                admin: gpd.GeoDataFrame | None = None, default_programme: str = QUALITY
                ) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The programme's stands from a user file: GeoPackage/Shapefile/GeoJSON polygons (any CRS), a
    table with lon/lat or corner coordinates, or an attribute table (CSV/XLSX, UTF-8 or GBK) with an
    area and a county per stand. Returns (stands, warnings); see :func:`normalise_stands`."""
    from zoning.io.sites import VECTOR_SUFFIXES

    notes: list[str] = []
    path = Path(str(source)) if not isinstance(source, gpd.GeoDataFrame) else None
    if path is not None and not path.exists():
        raise ProgramError(f"林分文件不存在：{path}", f"stand file not found: {path}")
    if path is not None and path.suffix.lower() in (".csv", ".txt", ".xlsx", ".xls"):
        table = read_table(path, "林分 stands ")
        lower = {str(c).strip().lower() for c in table.columns}
        spatial = lower & {"lon", "lng", "longitude", "经度", "x", "y", "x坐标", "y坐标", "北坐标", "东坐标"}
        if not spatial:
            frame = gpd.GeoDataFrame(table, geometry=[None] * len(table), crs=4490)
            return normalise_stands(frame, id_field=id_field, admin=admin, default_programme=default_programme,
                                    label=path.name, notes=notes)
    elif path is not None and path.suffix.lower() not in VECTOR_SUFFIXES and not path.is_dir():
        raise ProgramError(f"不支持的林分文件类型 {path.suffix}", f"unsupported stand file type {path.suffix!r}; use "
                           f"GeoPackage, Shapefile, GeoJSON, CSV or XLSX")
    frame, notes = read_footprints(source, crs=crs, layer=layer, engine=engine)
    for column in ("site_id", "crs_in", "warnings"):  # bookkeeping of read_sites, not the user's
        if column in frame.columns and column not in getattr(source, "columns", ()):
            frame = frame.drop(columns=column)
    return normalise_stands(frame, id_field=id_field, admin=admin, default_programme=default_programme,
                            label=path.name if path is not None else "stands", notes=notes)


def normalise_stands(frame: gpd.GeoDataFrame, *, id_field: str | None = None, admin: gpd.GeoDataFrame | None = None,
                     default_programme: str = QUALITY, label: str = "stands",
                     notes: list[str] | None = None) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Canonical stand columns beside the user's own, in EPSG:4490.

    ``stand_id`` (ids as given), ``programme`` (QUALITY/BUYBACK), ``forest_type`` (杉木/马尾松/阔叶林/
    其他), ``age`` (yr, NaN if unknown), ``year`` (treatment year, NaN: spread by the schedule),
    ``county_code``/``county`` (from the file, else located on the admin layer), ``area_ha``
    (ellipsoidal area of the polygon; the file's area for an attribute table), ``declared_area_ha``.
    """
    from zoning.geo.locate import locate_sites
    from zoning.geo.measure import ellipsoidal_areas

    notes = list(notes or [])
    if len(frame) == 0:
        raise ProgramError(f"{label} 中没有林分", f"{label} contains no stands")
    frame = frame.reset_index(drop=True)
    out = frame.copy()
    id_col = _column(frame, "id", id_field)
    ids = frame[id_col].astype(str).str.strip() if id_col else pd.Series([f"S{i}" for i in range(1, len(frame) + 1)])
    if ids.duplicated().any():
        notes.append(f"{label}：林分编号重复 {ids[ids.duplicated()].unique().tolist()[:5]} / duplicate stand ids")
    out.insert(0, "stand_id", ids.to_numpy())
    # programme
    col = _column(frame, "program")
    if col is None:
        programme = np.full(len(frame), default_programme, dtype=object)
    else:
        values = frame[col].astype(str).str.strip()
        programme = values.str.lower().map(PROGRAMME_ALIASES)
        unknown = sorted(set(values[programme.isna() & frame[col].notna()]))
        if unknown:
            raise ProgramError(f"{label}：未知项目类型 {unknown[:5]}；可用 {QUALITY} 或 {BUYBACK}",
                               f"{label}: unknown programme values {unknown[:5]}; use {QUALITY} (quality) or "
                               f"{BUYBACK} (buyback)")
        programme = programme.fillna(default_programme).to_numpy(dtype=object)
    out["programme"] = programme
    # forest type
    col = _column(frame, "forest_type")
    if col is None:
        out["forest_type"] = OTHER_FOREST
    else:
        raw = frame[col].astype(str).str.strip()
        kind = raw.str.lower().map(FOREST_TYPE_ALIASES)
        unknown = sorted(set(raw[kind.isna() & frame[col].notna() & (raw != "")]))
        if unknown:
            notes.append(f"{label}：树种 {unknown[:5]} 按“其他”计 / forest types {unknown[:5]} counted as other")
        out["forest_type"] = kind.fillna(OTHER_FOREST).to_numpy(dtype=object)
    # age and treatment year
    col = _column(frame, "age")
    age = pd.to_numeric(frame[col], errors="coerce") if col else pd.Series(np.nan, index=frame.index)
    if col is not None:
        bad = (frame[col].notna() & age.isna()) | (age < 0) | (age > 500) | ~np.isfinite(age.fillna(0))
        if bad.any():
            raise ProgramError(f"{label}：林龄无效 {frame.loc[bad, col].astype(str).tolist()[:5]}（应为 0–500 年）",
                               f"{label}: invalid stand ages {frame.loc[bad, col].astype(str).tolist()[:5]} (0-500 yr)")
    out["age"] = age.astype("float64").to_numpy()
    col = _column(frame, "year")
    years = np.full(len(frame), np.nan)
    if col is not None:
        for i, value in enumerate(frame[col]):
            if value is not None and str(value).strip() not in ("", "nan", "None"):
                years[i] = check_year(value, f"{label} 林分 stand {ids.iloc[i]}")
    out["year"] = years
    # area
    geoms = frame.geometry
    polygonal = np.array([g is not None and not g.is_empty and g.geom_type.endswith("Polygon") for g in geoms])
    col = _column(frame, "area_ha")
    declared = pd.to_numeric(frame[col].astype(str).str.replace(",", ""), errors="coerce") if col else         pd.Series(np.nan, index=frame.index)
    area = np.where(polygonal, ellipsoidal_areas(geoms.to_crs(4490) if frame.crs else geoms) / 1e4, declared)
    missing = ~np.isfinite(area) | (area <= 0)
    if missing.any():
        raise ProgramError(f"{label}：林分 {ids[missing].tolist()[:5]} 没有面积（既无面几何也无面积字段）",
                           f"{label}: stands {ids[missing].tolist()[:5]} have no area (no polygon and no area field "
                           f"such as area_ha/面积)")
    out["area_ha"] = area
    out["declared_area_ha"] = declared.to_numpy(dtype="float64")
    off = polygonal & np.isfinite(declared.to_numpy(dtype="float64")) & (
        np.abs(declared.to_numpy(dtype="float64") - area) > 0.05 * area)
    if off.any():
        notes.append(f"{label}：{int(off.sum())} 个林分的面积字段与几何面积相差 5% 以上（按几何面积计） / "
                     f"{int(off.sum())} stand(s) declare an area more than 5 % off their polygon's (the polygon's is used)")
    # county: code field, name field, else the admin layer
    code_col, name_col = _column(frame, "county_code"), _column(frame, "county")
    codes = names = None
    if admin is not None and len(admin):
        by_code = dict(zip(admin["code"].astype(str), admin["name"]))
        by_name = dict(zip(admin["name"], admin["code"].astype(str)))
        if code_col is not None:
            codes = frame[code_col].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
            bad = ~codes.isin(by_code)
            if bad.any():
                raise ProgramError(f"{label}：未知县区代码 {codes[bad].unique().tolist()[:5]}",
                                   f"{label}: unknown county codes {codes[bad].unique().tolist()[:5]}")
            names = codes.map(by_code)
        elif name_col is not None:
            names = frame[name_col].astype(str).str.strip()
            bad = ~names.isin(by_name)
            if bad.any():
                raise ProgramError(f"{label}：未知县区 {names[bad].unique().tolist()[:5]}；可用 {', '.join(by_name)}",
                                   f"{label}: unknown counties {names[bad].unique().tolist()[:5]}; use one of "
                                   f"{', '.join(by_name)}")
            codes = names.map(by_name)
        elif polygonal.any() or geoms.notna().any():
            located = locate_sites(gpd.GeoDataFrame(geometry=geoms.values, crs=frame.crs or 4490), admin)
            codes, names = located["county_code"], located["county"]
            if codes.isna().any():
                notes.append(f"{label}：{int(codes.isna().sum())} 个林分在南平县界以外 / {int(codes.isna().sum())} "
                             f"stand(s) lie outside the counties")
    elif code_col is not None or name_col is not None:
        codes = frame[code_col].astype(str) if code_col else pd.Series([None] * len(frame))
        names = frame[name_col].astype(str) if name_col else codes
    if codes is None:
        raise ProgramError(f"{label}：无法确定林分所在县区（没有县区字段，也没有几何或行政区图层）",
                           f"{label}: cannot tell the stands' counties (no county field, no geometry or admin layer)")
    out["county_code"] = pd.Series(codes).to_numpy(dtype=object)
    out["county"] = pd.Series(names).to_numpy(dtype=object)
    gdf = gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=frame.crs or 4490)
    if gdf.crs is not None and not gdf.crs.equals(4490) and gdf.geometry.notna().any():
        gdf = gdf.to_crs(4490)
    return gdf, notes


def registered_overlaps(stands: gpd.GeoDataFrame, registered: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Every overlap of a stand with a registered carbon project or carbon-ticket parcel.

    Columns: ``stand_id``, ``programme``, ``registered_id``, ``registered_name``, ``scheme``,
    ``overlap_m2`` (ellipsoidal), ``overlap_share`` (of the stand) and ``excluded`` (overlap above
    :data:`REGISTERED_TOLERANCE_M2`: the whole stand leaves the creditable removals).
    """
    from zoning.geo.crs import EQUAL_AREA_CRS, project

    cols = ["stand_id", "programme", "registered_id", "registered_name", "scheme", "overlap_m2", "overlap_share",
            "excluded"]
    if registered is None or len(registered) == 0 or len(stands) == 0:
        return pd.DataFrame(columns=cols)
    ok = stands.geometry.notna().to_numpy() & ~stands.geometry.is_empty.to_numpy()
    if not ok.any():
        return pd.DataFrame(columns=cols)
    reg = registered[registered.geometry.notna() & ~registered.geometry.is_empty].reset_index(drop=True)
    a = shapely.make_valid(project(stands.geometry.values[ok], EQUAL_AREA_CRS, src=stands.crs or 4490))
    b = shapely.make_valid(project(reg.geometry.values, EQUAL_AREA_CRS, src=reg.crs or 4490))
    tree = shapely.STRtree(b)
    ia, ib = tree.query(a, predicate="intersects")
    if len(ia) == 0:
        return pd.DataFrame(columns=cols)
    inter = shapely.area(shapely.intersection(a[ia], b[ib]))
    pos = np.flatnonzero(ok)[ia]
    stand_area = shapely.area(a[ia])
    frame = pd.DataFrame({
        "stand_id": stands["stand_id"].to_numpy()[pos], "programme": stands["programme"].to_numpy()[pos],
        "registered_id": reg["id"].astype(str).to_numpy()[ib],
        "registered_name": reg["name"].astype(str).to_numpy()[ib] if "name" in reg else "",
        "scheme": reg["scheme"].astype(str).to_numpy()[ib] if "scheme" in reg else "",
        "overlap_m2": inter, "overlap_share": np.where(stand_area > 0, inter / np.where(stand_area > 0, stand_area, 1), 0.0),
    })
    frame = frame[frame["overlap_m2"] > 0].reset_index(drop=True)
    frame["excluded"] = frame["overlap_m2"] > REGISTERED_TOLERANCE_M2
    frame["_pos"] = pos[inter > 0]
    return frame


def overlap_ha(a: Selection, b: Selection) -> float:
    """Area (ha) counted by both programmes: pixel overlap (rule) or polygon overlap (layer)."""
    if a.mask is not None and b.mask is not None and a.mask.shape == b.mask.shape:
        return float((a.mask & b.mask).sum()) * float(a.pixel_ha)
    inter = shapely.intersection(shapely.union_all(a.stands.geometry.values), shapely.union_all(b.stands.geometry.values))
    if inter.is_empty:
        return 0.0
    from zoning.geo.measure import ellipsoidal_areas

    return float(ellipsoidal_areas(gpd.GeoSeries([inter], crs=4490))[0] / 1e4)
