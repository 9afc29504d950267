"""``zoning layers check``: validate every layer of a catalog.

Checks: file present and readable, CRS present, canonical fields present, geometries valid
and non-empty, role-specific values (unit classes and ZH codes), raster CRS/units/nodata, and
that the control units partition the admin area (gap and overlap areas in m², with where).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import rasterio
import shapely

from zoning.io.catalog import Catalog, LayerSpec, load_layer
from zoning.vocabulary import ROLES, UNIT_CLASSES
from zoning.geo.crs import EQUAL_AREA_CRS, STORAGE_EPSG
from zoning.errors import ZoningError
from zoning.io.vector import read_vector

UNIT_CODE_RE = re.compile(r"^ZH(\d{6})([123])(\d{4})$")
#: gap + overlap area (m²) below which the control units count as a clean partition
PARTITION_TOLERANCE_M2 = 1.0


@dataclass
class Finding:
    layer: str
    role: str
    check: str
    ok: bool
    detail: str

    def as_record(self) -> dict:
        return asdict(self)


def _ea_areas(geoms) -> np.ndarray:
    """Areas (m²) of lon/lat pieces with straight lon/lat edges, via the equal-area CRS.

    Geodesic areas would treat a 20 km long hair-thin sliver's edges as geodesics, which bow
    away from the straight lon/lat edges and invent thousands of m² that are not there.
    """
    geoms = list(geoms)
    if not geoms:
        return np.zeros(0)
    dense = shapely.segmentize(np.asarray(geoms, dtype=object), 0.0005)  # ~50 m: keep edges straight in lon/lat
    return gpd.GeoSeries(dense, crs=STORAGE_EPSG).to_crs(EQUAL_AREA_CRS).area.to_numpy()


def _where(geom, n: int = 3) -> str:
    """Lon/lat of the largest pieces of a lon/lat geometry, for humans to look at."""
    parts = list(shapely.get_parts(geom))
    areas = _ea_areas(parts)
    order = np.argsort(-areas)[:n]
    return "; ".join(f"{parts[i].representative_point().x:.5f},{parts[i].representative_point().y:.5f} "
                     f"({areas[i]:.3g} m²)" for i in order)


def partition_defects(units: gpd.GeoDataFrame, admin: gpd.GeoDataFrame) -> dict:
    """Gap, overlap and spill areas (m²) of ``units`` against ``admin``.

    The overlay runs in the storage CRS (EPSG:4490): topology does not depend on the CRS, and
    reprojecting first would turn hair-thin shared edges into spurious slivers. Only the
    defect pieces are measured, geodesically.
    """
    u = shapely.make_valid(units.to_crs(STORAGE_EPSG).geometry.values)
    a = shapely.union_all(admin.to_crs(STORAGE_EPSG).geometry.values)
    u_union = shapely.union_all(u)
    gap = shapely.difference(a, u_union)
    spill = shapely.difference(u_union, a)
    tree = shapely.STRtree(u)
    left, right = tree.query(u, predicate="intersects")
    keep = left < right
    overlaps = [g for g in shapely.intersection(u[left[keep]], u[right[keep]]) if shapely.area(g) > 0]
    overlap = shapely.union_all(overlaps) if overlaps else shapely.Polygon()
    out = {}
    for key, geom in (("gap", gap), ("overlap", overlap), ("spill", spill)):
        area = float(_ea_areas(shapely.get_parts(geom)).sum()) if not geom.is_empty else 0.0
        out[f"{key}_m2"] = float(area)
        out[f"{key}_where"] = _where(geom) if area > 0 else ""
    return out


def _check_vector(spec: LayerSpec, engine: str, findings: list[Finding]) -> gpd.GeoDataFrame | None:
    add = lambda check, ok, detail="": findings.append(Finding(spec.name, spec.role, check, ok, detail))  # noqa: E731
    try:
        raw = read_vector(spec.path, layer=spec.layer, engine=engine, encoding=spec.encoding)
    except ZoningError as exc:
        add("readable", False, exc.en)
        return None
    add("readable", True, f"{len(raw)} features")
    if raw.crs is None and not spec.crs:
        add("crs", False, "no CRS (missing .prj?) and none declared in the catalog")
    else:
        add("crs", True, str(raw.crs.to_string() if raw.crs is not None else spec.crs))
    try:
        gdf = load_layer(spec, engine=engine)
    except ZoningError as exc:
        add("fields", False, exc.en)
        return None
    add("fields", True, ", ".join(ROLES[spec.role][2]))
    geoms = gdf.geometry
    null = int((geoms.isna() | geoms.is_empty).sum())
    invalid_mask = ~geoms.is_valid & ~(geoms.isna() | geoms.is_empty)
    invalid = int(invalid_mask.sum())
    detail = f"{null} empty, {invalid} invalid"
    if invalid:
        first = gdf[invalid_mask].iloc[0]
        ident = first.get("code", first.get("id", first.name))
        detail += f"; first invalid: {ident} ({shapely.is_valid_reason(first.geometry)})"
    add("geometry", null == 0 and invalid == 0, detail)
    kinds = set(geoms.dropna().geom_type)
    if spec.role != "program" and not kinds <= {"Polygon", "MultiPolygon"}:
        add("geometry type", False, f"zones must be polygons, found {sorted(kinds)}")
    if spec.role == "control_unit":
        bad_class = sorted(set(gdf["class"].astype(str)) - set(UNIT_CLASSES))
        add("unit classes", not bad_class,
            f"unknown classes {bad_class}; expected {'/'.join(UNIT_CLASSES)}" if bad_class else "/".join(UNIT_CLASSES))
        problems = []
        for code, cls, county in zip(gdf["code"].astype(str), gdf["class"].astype(str), gdf["county_code"].astype(str)):
            m = UNIT_CODE_RE.match(code)
            if not m:
                problems.append(f"{code}: not ZH + 6-digit county + class digit + 4-digit sequence")
            elif UNIT_CLASSES.get(cls) != int(m.group(2)):
                problems.append(f"{code}: class digit {m.group(2)} does not match {cls}")
            elif m.group(1) != county:
                problems.append(f"{code}: county part {m.group(1)} differs from county_code {county}")
        dups = gdf["code"][gdf["code"].duplicated()].unique().tolist()
        if dups:
            problems.append(f"duplicate codes {dups[:5]}")
        add("unit codes", not problems, "; ".join(problems[:5]) if problems else f"{len(gdf)} codes well formed")
    if spec.role in ("admin", "park", "protected", "red_line", "no_burn"):
        key = "code" if spec.role == "admin" else "id"
        dups = gdf[key][gdf[key].duplicated()].unique().tolist()
        add("unique ids", not dups, f"duplicates {dups[:5]}" if dups else f"{len(gdf)} unique")
    return gdf


def _check_raster(spec: LayerSpec, findings: list[Finding]) -> None:
    add = lambda check, ok, detail="": findings.append(Finding(spec.name, spec.role, check, ok, detail))  # noqa: E731
    try:
        with rasterio.open(spec.path) as src:
            add("readable", True, f"{src.width}x{src.height} px, {abs(src.res[0]):g} x {abs(src.res[1]):g}")
            add("crs", src.crs is not None, src.crs.to_string()[:60] if src.crs else "raster has no CRS")
            units = src.tags().get("units") or src.tags(1).get("units") or spec.units
            add("units", bool(units), units or "no units in metadata or catalog (e.g. units: t C/ha)")
            add("nodata", src.nodata is not None, f"nodata = {src.nodata}" if src.nodata is not None else "no nodata value")
    except rasterio.errors.RasterioIOError as exc:
        add("readable", False, str(exc).splitlines()[0])


def check_catalog(catalog: Catalog, *, engine: str = "pyogrio",
                  tolerance_m2: float = PARTITION_TOLERANCE_M2) -> list[Finding]:
    """Run every check over ``catalog``; a clean catalog gives findings that are all ok."""
    findings: list[Finding] = []
    loaded: dict[str, gpd.GeoDataFrame] = {}
    for spec in catalog.layers:
        if not spec.path.exists():
            findings.append(Finding(spec.name, spec.role, "exists", False,
                                    f"missing file {spec.path} (run `zoning sample build` for the sample set)"))
            continue
        if spec.kind == "raster":
            _check_raster(spec, findings)
        else:
            gdf = _check_vector(spec, engine, findings)
            if gdf is not None and spec.role not in loaded:
                loaded[spec.role] = gdf
    if "control_unit" in loaded and "admin" in loaded:
        d = partition_defects(loaded["control_unit"], loaded["admin"])
        total = d["gap_m2"] + d["overlap_m2"] + d["spill_m2"]
        detail = (f"gaps {d['gap_m2']:.4g} m², overlaps {d['overlap_m2']:.4g} m², "
                  f"outside admin {d['spill_m2']:.4g} m²")
        for key in ("gap", "overlap", "spill"):
            if d[f"{key}_where"]:
                detail += f"; {key} at {d[f'{key}_where']}"
        spec = catalog.one("control_unit")
        findings.append(Finding(spec.name, "control_unit", "partition", total < tolerance_m2, detail))
    return findings
