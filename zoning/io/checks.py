"""``zoning layers check``: validate every layer of a catalog.

Per-layer checks (:mod:`zoning.io.validate`, shared with screening): file present and readable,
CRS present and fitting the coordinates, canonical fields present, geometries valid, non-empty
and in range (unusable features named by id), role-specific values (unit classes and ZH codes), raster CRS/units/nodata, and
that the control units partition the admin area (gap and overlap areas in m², with where).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from zoning.io.catalog import Catalog
from zoning.geo.crs import (EQUAL_AREA_CRS, GK_CM117_EPSG, GK_CM120_EPSG, GK_ZONE_BOUNDARY_LON, STORAGE_EPSG,
                            project, transform)
from zoning.io.validate import UNIT_CODE_RE, Finding, validate_catalog  # noqa: F401 (re-exported)
from zoning.vocabulary import CORE_ROLES, OPTIONAL_ROLES, ROLES

#: gap + overlap area (m²) below which the control units count as a clean partition
PARTITION_TOLERANCE_M2 = 1.0


def _ea_areas(geoms) -> np.ndarray:
    """Areas (m²) of lon/lat pieces with straight lon/lat edges, via the equal-area CRS.

    Geodesic areas would treat a 20 km long hair-thin sliver's edges as geodesics, which bow
    away from the straight lon/lat edges and invent thousands of m² that are not there; the
    pieces are densified ring by ring (~50 m) so their edges stay straight in lon/lat.
    """
    geoms = list(geoms)
    if not geoms:
        return np.zeros(0)
    return shapely.area(project(np.asarray(geoms, dtype=object), EQUAL_AREA_CRS, max_segment=0.0005))


def _where(geom, n: int = 3, *, epsg: int | None = None) -> str:
    """Lon/lat of the largest pieces of a geometry (lon/lat, or in ``epsg``), for humans to look at."""
    parts = np.asarray(shapely.get_parts(geom))
    areas = _ea_areas(parts) if epsg is None else shapely.area(parts)
    order = np.argsort(-areas)[:n]
    points = shapely.point_on_surface(parts[order])
    if epsg is not None:
        points = transform(points, epsg, STORAGE_EPSG)
    return "; ".join(f"{p.x:.5f},{p.y:.5f} ({a:.3g} m²)" for p, a in zip(points, areas[order]))


def _defect_pieces(u, a_union) -> dict:
    """Gap, overlap and spill geometries of units ``u`` against the admin union (same CRS)."""
    u_union = shapely.union_all(u)
    tree = shapely.STRtree(u)
    left, right = tree.query(u, predicate="intersects")
    keep = left < right
    overlaps = [g for g in shapely.intersection(u[left[keep]], u[right[keep]]) if shapely.area(g) > 0]
    return {"gap": shapely.difference(a_union, u_union),
            "overlap": shapely.union_all(overlaps) if overlaps else shapely.Polygon(),
            "spill": shapely.difference(u_union, a_union)}


#: Defects narrower than this (m) in the screening space are hairlines left by floating point and
#: by the densified projection (≤ 3.2 mm, see zoning.geo.crs.DENSIFY_DEG): no site ≥ 0.5 m from
#: an edge can fall in one. Wider pieces are counted whole.
SLIVER_WIDTH_M = 0.05


def _screening_space_defects(u_ll, a_union_ll) -> dict:
    """Defect pieces where screening looks: each half of the area in its own GK zone
    (EPSG:4548 west of 118°30'E, 4549 east), the layers densified then projected as
    :meth:`zoning.io.layerset.LayerSet.projected` does. -> {key: [(epsg, geometry), ...]}"""
    out: dict = {k: [] for k in ("gap", "overlap", "spill")}
    minx, miny, maxx, maxy = a_union_ll.bounds
    west = shapely.box(min(minx, GK_ZONE_BOUNDARY_LON) - 1, miny - 1, GK_ZONE_BOUNDARY_LON, maxy + 1)
    east = shapely.box(GK_ZONE_BOUNDARY_LON, miny - 1, max(maxx, GK_ZONE_BOUNDARY_LON) + 1, maxy + 1)
    tree = shapely.STRtree(u_ll)
    for epsg, half in ((GK_CM117_EPSG, west), (GK_CM120_EPSG, east)):
        if not shapely.intersects(half, a_union_ll):
            continue
        sel = np.sort(tree.query(shapely.intersection(half, shapely.envelope(a_union_ll)), predicate="intersects"))
        up = shapely.make_valid(project(u_ll[sel], epsg))
        ap, hp = shapely.make_valid(project([a_union_ll, half], epsg))
        for key, geom in _defect_pieces(up, ap).items():
            geom = shapely.intersection(geom, hp)
            if not geom.is_empty:
                out[key].append((epsg, geom))
    return out


def partition_defects(units: gpd.GeoDataFrame, admin: gpd.GeoDataFrame) -> dict:
    """Gap, overlap and spill areas (m²) of ``units`` against ``admin``, where screening sees them.

    ``gap_m2``, ``overlap_m2``, ``spill_m2``: measured in the screening space (each half of
    the area in its own GK zone, the layers densified then projected exactly as screening
    does; GK planar m²), counting pieces at least ``SLIVER_WIDTH_M`` wide; narrower pieces are
    summed in ``*_hairline_m2``. ``stored_*_m2``: the same defects of the stored lon/lat
    geometry (overlay in EPSG:4490, pieces measured on the ellipsoid). A defect of the data and
    a defect that only projection creates are both seen.
    """
    u = shapely.make_valid(units.to_crs(STORAGE_EPSG).geometry.values)
    a = shapely.union_all(admin.to_crs(STORAGE_EPSG).geometry.values)
    out: dict = {}
    for key, geom in _defect_pieces(u, a).items():
        area = float(_ea_areas(shapely.get_parts(geom)).sum()) if not geom.is_empty else 0.0
        out[f"stored_{key}_m2"] = area
        out[f"stored_{key}_where"] = _where(geom) if area > 0 else ""
    for key, pieces in _screening_space_defects(u, a).items():
        wide_m2, hair_m2, where = 0.0, 0.0, []
        for epsg, geom in pieces:
            parts = np.asarray(shapely.get_parts(geom))
            parts = parts[shapely.area(parts) > 0]
            if not len(parts):
                continue
            wide = ~shapely.is_empty(shapely.buffer(parts, -SLIVER_WIDTH_M / 2))
            areas = shapely.area(parts)
            wide_m2 += float(areas[wide].sum())
            hair_m2 += float(areas[~wide].sum())
            if wide.any():
                where.append(_where(shapely.MultiPolygon(list(parts[wide])), epsg=epsg))
        out[f"{key}_m2"] = wide_m2
        out[f"{key}_hairline_m2"] = hair_m2
        out[f"{key}_where"] = "; ".join(where)
    return out


def check_catalog(catalog: Catalog, *, engine: str = "pyogrio",
                  tolerance_m2: float = PARTITION_TOLERANCE_M2) -> list[Finding]:
    """Run every check over ``catalog``; a clean catalog gives findings that are all ok.

    The per-layer checks are :func:`zoning.io.validate.validate_layer`, the same validation
    screening runs when it loads the layers (so what fails here is never "ok" in a result).
    """
    findings: list[Finding] = []
    loaded: dict[str, gpd.GeoDataFrame] = {}
    for check in validate_catalog(catalog.layers, engine=engine):
        findings += check.findings
        if check.frame is not None and check.spec.role not in loaded:
            loaded[check.spec.role] = check.frame
    if "control_unit" in loaded and "admin" in loaded:
        d = partition_defects(loaded["control_unit"], loaded["admin"])
        total = d["gap_m2"] + d["overlap_m2"] + d["spill_m2"]
        stored = d["stored_gap_m2"] + d["stored_overlap_m2"] + d["stored_spill_m2"]
        hairlines = d["gap_hairline_m2"] + d["overlap_hairline_m2"] + d["spill_hairline_m2"]
        detail = (f"gaps {d['gap_m2']:.4g} m², overlaps {d['overlap_m2']:.4g} m², "
                  f"outside admin {d['spill_m2']:.4g} m² as screened (GK zones, densified; pieces ≥ "
                  f"{SLIVER_WIDTH_M * 100:g} cm wide, + {hairlines:.3g} m² of hairlines); stored lon/lat: gaps "
                  f"{d['stored_gap_m2']:.4g} m², overlaps {d['stored_overlap_m2']:.4g} m², outside admin "
                  f"{d['stored_spill_m2']:.4g} m²")
        for key in ("gap", "overlap", "spill"):
            if d[f"{key}_where"]:
                detail += f"; {key} at {d[f'{key}_where']}"
            elif d[f"stored_{key}_where"] and stored >= tolerance_m2:
                detail += f"; stored {key} at {d[f'stored_{key}_where']}"
        spec = catalog.one("control_unit")
        findings.append(Finding(spec.name, "control_unit", "partition",
                                total < tolerance_m2 and stored < tolerance_m2, detail))
    findings += _missing_roles(catalog)
    return findings


def _missing_roles(catalog: Catalog) -> list[Finding]:
    """A finding per role the catalog has no layer for: a core role (counties, red lines, control
    units) fails the check; any other role the rules may need is listed, as a note, because its
    rules will be needs_info (so an import that lost a layer never passes silently)."""
    out = []
    for role, (zh, kind, _, en) in ROLES.items():
        if kind != "vector" or role in OPTIONAL_ROLES or catalog.by_role(role):
            continue
        core = role in CORE_ROLES
        out.append(Finding("—", role, "present", not core,
                           f"目录中没有{zh}图层，依赖它的规则将为“需补充信息” / the catalog has no {en} layer: "
                           f"rules that need it will be needs_info" + ("" if core else " (note)")))
    return out
