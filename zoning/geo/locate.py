"""Where sites are: centroid, geodesic size, county, and whether the layer set covers them."""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.geo.crs import EQUAL_AREA_CRS, STORAGE_EPSG, gk_epsg_for_lon, project, transform
from zoning.geo.measure import DISTANCE_OUTLINE_DEG, distances_to_outline_m, geodesic_area, geodesic_length
from zoning.geo.query import query_pairs


def site_centroids(sites: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Centroids in EPSG:4490, computed in each site's Gauss-Kruger zone (metres)."""
    geoms = np.asarray(sites.geometry.values, dtype=object)
    out = np.full(len(geoms), None, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if ok.any():
        pos = np.flatnonzero(ok)
        b = shapely.bounds(geoms[pos])
        zones = np.array([gk_epsg_for_lon(x) for x in (b[:, 0] + b[:, 2]) / 2])
        src = sites.crs or STORAGE_EPSG
        for epsg in np.unique(zones):
            idx = pos[zones == epsg]
            out[idx] = transform(shapely.centroid(transform(geoms[idx], src, int(epsg))), int(epsg), STORAGE_EPSG)
    return gpd.GeoSeries(out, index=sites.index, crs=STORAGE_EPSG)


@dataclass
class AdminIndex:
    """The admin layer prepared once for locating many sites (equal-area CRS, metres)."""

    names: np.ndarray
    codes: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree
    city: object  # union of all counties, prepared
    outline: object  # the city in EPSG:4490, simplified by ~20 m, for "how far outside" figures (geodesic)


def admin_index(admin: gpd.GeoDataFrame) -> AdminIndex:
    geoms = shapely.make_valid(project(admin.geometry.values, EQUAL_AREA_CRS, src=admin.crs or STORAGE_EPSG))
    city = shapely.union_all(geoms)
    lonlat = admin.geometry if admin.crs is None or admin.crs.equals(STORAGE_EPSG) else admin.geometry.to_crs(STORAGE_EPSG)
    outline = shapely.union_all(shapely.make_valid(np.asarray(lonlat.values, dtype=object))).simplify(
        DISTANCE_OUTLINE_DEG)
    shapely.prepare(city)
    return AdminIndex(admin["name"].to_numpy(), admin["code"].to_numpy(), geoms, shapely.STRtree(geoms), city,
                      outline)


#: a county holding less of a site than this (area, or length for lines) is not named as spanned:
#: boundary slivers of digitising, not a site across a boundary
SPAN_MIN_SHARE = 0.001


def locate_sites(sites: gpd.GeoDataFrame, admin: gpd.GeoDataFrame | AdminIndex | None, *,
                 notes_column: bool = False) -> gpd.GeoDataFrame:
    """Add ``county``/``county_code`` and warn about sites outside the layer set's area;
    With ``notes_column``, ``county_notes`` holds the note on a site across county boundaries on
    its own (it is in ``warnings`` either way).

    A site belongs to the county holding most of it (points: the county containing it).
    Vectorised: one bulk STRtree query and one array of intersections for all sites.
    ``admin`` may be an :class:`AdminIndex` built once (``LayerSet.admin_index()``).
    """
    out = sites.copy()
    out["county"] = None
    out["county_code"] = None
    if notes_column:
        out["county_notes"] = [[] for _ in range(len(out))]
    if admin is None or len(out) == 0:
        return out
    index = admin if isinstance(admin, AdminIndex) else admin_index(admin)
    geoms = out.geometry
    ok = ~(geoms.isna() | geoms.is_empty).to_numpy()
    projected = project(geoms[ok].values, EQUAL_AREA_CRS, src=geoms.crs or STORAGE_EPSG)
    # a site whose coordinates do not project (NaN, inf, latitude beyond 90°) is in no county
    coords, owner = shapely.get_coordinates(projected, return_index=True)
    finite = np.ones(len(projected), dtype=bool)
    finite[np.unique(owner[~np.isfinite(coords).all(axis=1)])] = False
    ok[np.flatnonzero(ok)[~finite]] = False
    pos_ok = np.flatnonzero(ok)
    site_ea = shapely.make_valid(projected[finite])
    admin_ea = index.geoms
    s_idx, a_idx = query_pairs(index.tree, admin_ea, site_ea)
    best = np.full(len(site_ea), -1)
    if len(s_idx):
        # a site in a county's interior meets no other county (counties partition the land): its
        # share is whole and only the others need an intersection with the (long) county outline
        whole = shapely.contains_properly(admin_ea[a_idx], site_ea[s_idx])
        inter = site_ea[s_idx].copy()
        inter[~whole] = shapely.intersection(site_ea[s_idx][~whole], admin_ea[a_idx][~whole])
        site_area, site_length = shapely.area(site_ea[s_idx]), shapely.length(site_ea[s_idx])
        measure = np.where(site_area > 0, shapely.area(inter), np.where(site_length > 0, shapely.length(inter), 1.0))
        order = np.lexsort((-measure, s_idx))  # per site, the largest share first
        first = np.unique(s_idx[order], return_index=True)[1]
        best[s_idx[order][first]] = a_idx[order][first]
        # sites across a county boundary: every county holding a share of them, largest first
        extent = np.where(site_area > 0, site_area, site_length)
        share = np.divide(measure, extent, out=np.zeros(len(measure)), where=extent > 0)
        spans: dict[int, list[tuple[int, float]]] = {}
        for s, a, f in zip(s_idx[order].tolist(), a_idx[order].tolist(), share[order].tolist()):
            if f >= SPAN_MIN_SHARE:
                spans.setdefault(s, []).append((a, f))
    city, outline, names, codes = index.city, index.outline, index.names, index.codes
    warnings = list(out["warnings"]) if "warnings" in out else [[] for _ in range(len(out))]
    partial = (best >= 0) & (shapely.area(site_ea) > 0) & ~shapely.contains(city, site_ea)
    far = np.flatnonzero(best < 0)
    # on the ellipsoid, as screening measures it (the equal-area plane stretches distances)
    lonlat = np.asarray(geoms[ok].values, dtype=object)
    dist_km = distances_to_outline_m(lonlat[far], outline) / 1000 if len(far) else np.zeros(0)
    county = out["county"].to_numpy(dtype=object, copy=True)
    county_code = out["county_code"].to_numpy(dtype=object, copy=True)
    hit = best >= 0
    county[pos_ok[hit]] = names[best[hit]]
    county_code[pos_ok[hit]] = codes[best[hit]]
    for k, d in zip(far, dist_km):
        p = pos_ok[k]
        warnings[p] = list(warnings[p]) + [
            f"站点位于图层覆盖范围以外（距边界约 {d:.1f} km），相关规则将为“需补充信息” / site lies outside the layer "
            f"set's area (about {d:.1f} km from its edge); dependent rules will be needs_info"]
    for k in np.flatnonzero(partial):
        p = pos_ok[k]
        warnings[p] = list(warnings[p]) + ["站点部分超出图层覆盖范围 / site extends beyond the layer set's area"]
    county_notes: list[list[str]] = [[] for _ in range(len(out))]
    for k, held in (spans.items() if len(s_idx) else ()):
        if len(held) > 1:
            zh = "、".join(f"{names[a]}（{f:.1%}）" for a, f in held)
            en = ", ".join(f"{names[a]} ({f:.1%})" for a, f in held)
            p = pos_ok[k]
            county_notes[p] = [
                f"站点跨越 {len(held)} 个县区：{zh}；按面积（线按长度）归属 {names[held[0][0]]} / the site spans "
                f"{len(held)} counties: {en}; it is placed in {names[held[0][0]]}, which holds most of it"]
            warnings[p] = list(warnings[p]) + county_notes[p]
    out["county"] = county
    out["county_code"] = county_code
    out["warnings"] = warnings
    if notes_column:
        out["county_notes"] = county_notes
    return out


def site_summary(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per site: id, geom_type, crs_in, lon, lat, area_m2 (geodesic), county, warnings."""
    cents = site_centroids(sites)
    rows = []
    for (idx, s), c in zip(sites.iterrows(), cents):
        geom = s.geometry
        has = geom is not None and not geom.is_empty
        rows.append({
            "id": s["site_id"],
            "geom_type": geom.geom_type if has else None,
            "crs_in": s.get("crs_in"),
            "lon": round(c.x, 7) if c is not None else None,
            "lat": round(c.y, 7) if c is not None else None,
            "area_m2": (round(geodesic_area(geom), 2) if geom.geom_type.endswith("Polygon") else 0.0) if has else None,
            "length_m": round(geodesic_length(geom), 2) if has and geom.geom_type.endswith("LineString") else None,
            "county": s.get("county"),
            "warnings": list(s.get("warnings") or []) + ([s["error"]] if s.get("error") else []),
        })
    return pd.DataFrame(rows)


__all__ = ["locate_sites", "site_summary", "site_centroids"]
