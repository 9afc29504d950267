"""Overlay of sites on the zoning layers, in each site's Gauss-Kruger zone (metres).

For every site: the features it hits (area in m² and share of the site; containment for
points), the nearest feature of each target not hit (m), and the features in buffer rings.
Work is vectorised per zone and layer: one STRtree bulk query for all sites, vectorised
intersections and distances; no per-site overlay loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from zoning.geo.crs import gk_epsg_for_lon
from zoning.io.layerset import LayerSet
from zoning.vocabulary import NATURE_AREA_FILTER, WATER_SOURCE_FILTER
from zoning.screening.result import BufferRecord, HitRecord, NearestRecord

#: roles whose hits are reported (admin is used for the county only)
HIT_ROLES = ("red_line", "control_unit", "park", "protected", "no_burn", "program")
#: nearest-distance targets: name -> (role, filter)
NEAREST_TARGETS: dict[str, tuple[str, tuple]] = {
    "red_line": ("red_line", ()),
    "protected": ("protected", NATURE_AREA_FILTER),
    "water_source": ("protected", WATER_SOURCE_FILTER),
    "park": ("park", ()),
    "no_burn": ("no_burn", ()),
}
#: roles listed in buffer rings
BUFFER_ROLES = ("red_line", "protected", "park", "no_burn")
DEFAULT_BUFFERS_M = (500.0, 1000.0, 5000.0)


@dataclass
class SiteOverlay:
    crs_used: int
    area_m2: float
    length_m: float
    in_coverage: str  # inside | partial | outside | unknown
    hits: list[HitRecord] = field(default_factory=list)
    nearest: list[NearestRecord] = field(default_factory=list)
    buffers: list[BufferRecord] = field(default_factory=list)


def _cls_of(role: str, row) -> str | None:
    """The class shown for a feature: unit class, protected kind·grade, red-line type, park level."""
    if role == "control_unit":
        return row.get("class")
    if role == "protected":
        return f"{row.get('kind')}·{row.get('grade')}"
    if role == "red_line":
        return row.get("type")
    if role == "park":
        return row.get("level")
    return None


def _props(row) -> dict:
    return {k: (bool(v) if isinstance(v, (bool, np.bool_)) else v) for k, v in row.items()
            if k not in ("geometry", "layer") and v is not None and not (isinstance(v, float) and np.isnan(v))}


def _feature_id(row) -> str:
    return str(row.get("code") if row.get("code") not in (None, "") and "code" in row else row.get("id"))


def site_zones(sites: gpd.GeoDataFrame) -> np.ndarray:
    """Gauss-Kruger EPSG per site (CM 117E or 120E), from the middle of its bounds."""
    b = sites.geometry.bounds
    return np.array([gk_epsg_for_lon(x) for x in ((b["minx"] + b["maxx"]) / 2).to_numpy()])


def overlay_sites(sites: gpd.GeoDataFrame, layers: LayerSet, *,
                  buffers_m: tuple[float, ...] = DEFAULT_BUFFERS_M) -> list[SiteOverlay]:
    """Overlay every site (EPSG:4490, valid non-empty geometries) on ``layers``."""
    buffers_m = tuple(sorted(float(b) for b in buffers_m))
    zones = site_zones(sites)
    results: list[SiteOverlay | None] = [None] * len(sites)
    for epsg in np.unique(zones):
        idx = np.flatnonzero(zones == epsg)
        geoms = shapely.make_valid(sites.geometry.iloc[idx].to_crs(int(epsg)).values)
        areas = shapely.area(geoms)
        lengths = shapely.length(geoms)
        cov = layers.coverage_in(int(epsg))
        if cov is None:
            covered = ["unknown"] * len(idx)
        else:
            inside = shapely.contains(cov, geoms)  # cov is prepared: the fast direction
            touching = inside | shapely.intersects(cov, geoms)
            covered = ["inside" if a else ("partial" if b else "outside") for a, b in zip(inside, touching)]
        zone_results = [SiteOverlay(int(epsg), float(a), float(ln), c) for a, ln, c in zip(areas, lengths, covered)]
        _hits(geoms, areas, lengths, layers, int(epsg), zone_results)
        _nearest(geoms, layers, int(epsg), zone_results)
        _rings(geoms, layers, int(epsg), buffers_m, zone_results)
        for i, r in zip(idx, zone_results):
            results[i] = r
    return results  # type: ignore[return-value]


def _hits(geoms, areas, lengths, layers: LayerSet, epsg: int, out: list[SiteOverlay]) -> None:
    for role in HIT_ROLES:
        if role not in layers.frames or layers.info[role].status != "ok":
            continue
        frame, tree = layers.projected(role, epsg)
        s_idx, f_idx = tree.query(geoms, predicate="intersects")
        if len(s_idx) == 0:
            continue
        features = frame.geometry.values[f_idx]
        # most sites lie wholly inside the unit/zone they hit: no intersection needed for those
        whole = shapely.contains(features, geoms[s_idx])
        inter_area = np.where(whole, areas[s_idx], 0.0)
        inter_len = np.where(whole, lengths[s_idx], 0.0)
        part = ~whole
        if part.any():
            inter = shapely.intersection(geoms[s_idx[part]], features[part])
            inter_area[part] = shapely.area(inter)
            inter_len[part] = shapely.length(inter)
        records = frame.drop(columns="geometry").to_dict("records")
        for s, f, a, ln in zip(s_idx, f_idx, inter_area, inter_len):
            site_area, site_len = areas[s], lengths[s]
            if site_area > 0:
                if a <= 0:
                    continue  # touches along an edge only
                share = a / site_area
            elif site_len > 0:
                if ln <= 0:
                    continue
                share = ln / site_len
            else:
                share = 1.0  # a point inside (or on the edge of) the feature
            row = records[f]
            out[s].hits.append(HitRecord(role, _feature_id(row), str(row.get("name", "")), _cls_of(role, row),
                                         round(float(a), 2), round(float(min(share, 1.0)), 6), _props(row)))


SIMPLIFY_M = 25.0


def nearest_exact(geoms, layers: LayerSet, role: str, epsg: int, where: tuple = ()):
    """Exact nearest feature and distance (m) for each site, computing few exact distances.

    Candidates come from the zones simplified by SIMPLIFY_M (cheap distances, each within
    SIMPLIFY_M of the exact one); only features within the simplified minimum + 2·SIMPLIFY_M
    can be nearest, and only those get an exact distance.
    """
    frame, _ = layers.projected(role, epsg, where)
    simple, stree = layers.simplified(role, epsg, where, SIMPLIFY_M)
    (s0, _), d_simple = stree.query_nearest(geoms, return_distance=True, all_matches=False)
    bound = np.full(len(geoms), np.inf)
    bound[s0] = d_simple + 2 * SIMPLIFY_M
    s_idx, f_idx = stree.query(geoms, predicate="dwithin", distance=bound)
    exact = shapely.distance(geoms[s_idx], frame.geometry.values[f_idx])
    order = np.lexsort((exact, s_idx))
    first = np.unique(s_idx[order], return_index=True)[1]
    return s_idx[order][first], f_idx[order][first], exact[order][first]


def _nearest(geoms, layers: LayerSet, epsg: int, out: list[SiteOverlay]) -> None:
    for target, (role, where) in NEAREST_TARGETS.items():
        if role not in layers.frames or layers.info[role].status != "ok":
            continue
        frame, tree = layers.projected(role, epsg, where)
        if len(frame) == 0:
            continue
        s_idx, f_idx, dist = nearest_exact(geoms, layers, role, epsg, where)
        records = frame.drop(columns="geometry").to_dict("records")
        for s, f, d in zip(s_idx, f_idx, dist):
            row = records[f]
            out[s].nearest.append(NearestRecord(target, role, _feature_id(row), str(row.get("name", "")),
                                                round(float(d), 1)))


def _rings(geoms, layers: LayerSet, epsg: int, buffers_m: tuple[float, ...], out: list[SiteOverlay]) -> None:
    if not buffers_m:
        return
    limit = buffers_m[-1]
    edges = np.asarray(buffers_m)
    for role in BUFFER_ROLES:
        if role not in layers.frames or layers.info[role].status != "ok":
            continue
        frame, tree = layers.projected(role, epsg)
        s_idx, f_idx = tree.query(geoms, predicate="dwithin", distance=limit)
        if len(s_idx) == 0:
            continue
        dist = shapely.distance(geoms[s_idx], frame.geometry.values[f_idx])
        records = frame.drop(columns="geometry").to_dict("records")
        for s, f, d in zip(s_idx, f_idx, dist):
            if d <= 0:
                continue  # a hit, reported as such
            ring = float(edges[np.searchsorted(edges, d)])
            row = records[f]
            out[s].buffers.append(BufferRecord(ring, role, _feature_id(row), str(row.get("name", "")),
                                               _cls_of(role, row), round(float(d), 1)))
