"""Where sites are: centroid, geodesic size, county, and whether the layer set covers them."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from .crs import EQUAL_AREA_CRS, STORAGE_EPSG, gk_epsg_for_lon
from .measure import geodesic_area, geodesic_length


def site_centroids(sites: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Centroids in EPSG:4490, computed in each site's Gauss-Kruger zone (metres)."""
    out = gpd.GeoSeries([None] * len(sites), index=sites.index, crs=STORAGE_EPSG)
    ok = ~(sites.geometry.isna() | sites.geometry.is_empty)
    if not ok.any():
        return out
    lon = sites.geometry[ok].bounds[["minx", "maxx"]].mean(axis=1)
    zones = lon.map(gk_epsg_for_lon)
    for epsg, idx in zones.groupby(zones).groups.items():
        proj = sites.geometry.loc[idx].to_crs(epsg)
        out.loc[idx] = proj.centroid.to_crs(STORAGE_EPSG).values
    return out


def locate_sites(sites: gpd.GeoDataFrame, admin: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Add ``county``/``county_code`` and warn about sites outside the layer set's area.

    A site belongs to the county holding most of it (points: the county containing it).
    """
    out = sites.copy()
    out["county"] = None
    out["county_code"] = None
    if admin is None or len(out) == 0:
        return out
    ok = ~(out.geometry.isna() | out.geometry.is_empty)
    site_ea = out.geometry[ok].to_crs(EQUAL_AREA_CRS)
    admin_ea = admin.to_crs(EQUAL_AREA_CRS)
    tree = shapely.STRtree(admin_ea.geometry.values)
    city = shapely.union_all(admin_ea.geometry.values)
    warnings = list(out["warnings"]) if "warnings" in out else [[] for _ in range(len(out))]
    positions = {idx: pos for pos, idx in enumerate(out.index)}
    for idx, geom in site_ea.items():
        cand = tree.query(geom, predicate="intersects")
        best, best_share = None, 0.0
        for c in cand:
            inter = shapely.intersection(geom, admin_ea.geometry.values[c])
            share = inter.area if geom.area > 0 else (inter.length if geom.length > 0 else 1.0)
            if share > best_share or best is None:
                best, best_share = c, share
        pos = positions[idx]
        w = list(warnings[pos])
        if best is None:
            dist_km = geom.distance(city) / 1000
            w.append(f"站点位于图层覆盖范围以外（距边界 {dist_km:.1f} km），相关规则将为“需补充信息” / "
                     f"site lies outside the layer set's area ({dist_km:.1f} km from its edge); "
                     f"dependent rules will be needs_info")
        else:
            out.at[idx, "county"] = admin["name"].iloc[best]
            out.at[idx, "county_code"] = admin["code"].iloc[best]
            if geom.area > 0 and not city.contains(geom):
                w.append("站点部分超出图层覆盖范围 / site extends beyond the layer set's area")
        warnings[pos] = w
    out["warnings"] = warnings
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
            "area_m2": round(geodesic_area(geom), 2) if has and geom.geom_type.endswith("Polygon") else 0.0,
            "length_m": round(geodesic_length(geom), 2) if has and geom.geom_type.endswith("LineString") else None,
            "county": s.get("county"),
            "warnings": list(s.get("warnings") or []) + ([s["error"]] if s.get("error") else []),
        })
    return pd.DataFrame(rows)


__all__ = ["locate_sites", "site_summary", "site_centroids"]
