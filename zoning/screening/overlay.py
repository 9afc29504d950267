"""Overlay of sites on the zoning layers, in each site's Gauss-Kruger zone (metres).

For every site: the features it hits (overlap area and share of the site; crossing length
and length share for lines; containment for points), the nearest feature of each target
(m), and the features in buffer rings. Sites and layers are densified in lon/lat before they
are projected (:func:`zoning.geo.crs.project`), so containment and areas agree with the same
overlay on the stored lon/lat geometry (edges within millimetres).

What each number is:
- hit ``area_m2``: overlap area, planar in the site's 3-degree GK zone (``crs_used``), the
  area land surveys and official results use; ``area_ellipsoidal_m2``: the same overlap on
  the CGCS2000 ellipsoid (geodesic); ``share``: overlap / site area (GK, polygons) or crossing
  length / site length (lines); ``length_m``: geodesic length of a line inside the feature.
- distances: geodesic (ellipsoidal) distance between the nearest points found in GK.

Work is vectorised per zone and layer: one STRtree bulk query for all sites, vectorised
intersections and distances; no per-site overlay loop.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from zoning.geo.crs import (EQUAL_AREA_CRS, GEOD, GK_CM117_EPSG, GK_CM120_EPSG, GK_PLAIN_OF_PREFIXED, STORAGE_EPSG,
                            gk_epsg_for_lon, project, transform, transformer)
from zoning.geo.measure import ellipsoidal_areas, geodesic_lengths
from zoning.geo.query import query_pairs
from zoning.io.layerset import LayerSet
from zoning.vocabulary import NATURE_AREA_FILTER, WATER_SOURCE_FILTER
from zoning.screening.result import BufferRecord, HitRecord, NearestRecord

#: roles whose hits are reported (admin is used for the county only)
HIT_ROLES = ("red_line", "control_unit", "park", "protected", "no_burn", "program", "water_zone", "air_zone",
             "eco_zone")
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
    area_m2: float  # planar in the GK zone crs_used (densified projection)
    length_m: float  # planar in the GK zone
    in_coverage: str  # inside | partial | outside | unknown
    hits: list[HitRecord] = field(default_factory=list)
    nearest: list[NearestRecord] = field(default_factory=list)
    buffers: list[BufferRecord] = field(default_factory=list)
    area_ellipsoidal_m2: float = 0.0  # on the CGCS2000 ellipsoid
    length_geodesic_m: float = 0.0  # on the CGCS2000 ellipsoid


def _cls_of(role: str, row) -> str | None:
    """The class shown for a feature: unit class, protected kind·grade, red-line type, park level."""
    if role in ("control_unit", "water_zone", "air_zone", "eco_zone"):
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


#: Overlap pieces are cut finer (~5 m, chord within 0.3 µm of the edge) before they are measured:
#: a piece may be a hair-thin sliver along a shared edge (units that overlap by floating point),
#: whose two long sides, cut differently, would part by the 3 mm chord error of DENSIFY_DEG and
#: invent ~0.5 m² (seen in tests/test_geometry_truth.py). Pieces are small, so this is cheap.
PIECE_DENSIFY_DEG = 5e-5
#: an overlap smaller than 1 cm² (a crossing shorter than 1 mm) is a touch, not a hit: shared edges
#: of neighbouring zones overlap by floating point in hair-thin slivers (~1e-6 m²)
TOUCH_M2 = 1e-4
TOUCH_M = 1e-3


def _records(layers: LayerSet, frame) -> list[dict]:
    """The attribute rows of a projected frame, converted once per frame (cached with the layers)."""
    key = ("__records__", id(frame))
    cache = layers._proj  # the layer set's own cache: lives and dies with the frames
    if key not in cache:
        cache[key] = frame.drop(columns="geometry").to_dict("records")
    return cache[key]


def site_zones(sites: gpd.GeoDataFrame) -> np.ndarray:
    """Gauss-Kruger EPSG per site (CM 117E or 120E): the zone its coordinates were given in when
    that is one of the two (a 界址点 table surveyed in zone 40 for a site just west of 118°30′ keeps
    its surveyed area and corners), else the zone of the middle of its bounds."""
    b = shapely.bounds(np.asarray(sites.geometry.values, dtype=object))
    zones = np.array([gk_epsg_for_lon(x) for x in (b[:, 0] + b[:, 2]) / 2])
    if "crs_in" in sites.columns:
        given = np.array([surveyed_zone(c) for c in sites["crs_in"]], dtype=object)
        has = np.array([g is not None for g in given], dtype=bool)
        zones[has] = given[has].astype(zones.dtype)
    return zones


def surveyed_zone(crs_in) -> int | None:
    """The CM 117E/120E Gauss-Kruger EPSG a site's ``crs_in`` label names (with the zone prefix,
    EPSG:4527/4528, or without, EPSG:4548/4549); None for any other CRS."""
    m = re.match(r"EPSG:(\d+)", str(crs_in or ""))
    if not m:
        return None
    epsg = int(m.group(1))
    plain = GK_PLAIN_OF_PREFIXED.get(epsg, epsg)
    return plain if plain in (GK_CM117_EPSG, GK_CM120_EPSG) else None


def overlay_sites(sites: gpd.GeoDataFrame, layers: LayerSet, *,
                  buffers_m: tuple[float, ...] = DEFAULT_BUFFERS_M) -> list[SiteOverlay]:
    """Overlay every site (EPSG:4490, valid non-empty geometries) on ``layers``."""
    buffers_m = tuple(sorted(float(b) for b in buffers_m))
    zones = site_zones(sites)
    results: list[SiteOverlay | None] = [None] * len(sites)
    for epsg in np.unique(zones):
        idx = np.flatnonzero(zones == epsg)
        lonlat = sites.geometry.iloc[idx]
        if lonlat.crs is not None and not lonlat.crs.equals(STORAGE_EPSG):
            lonlat = lonlat.to_crs(STORAGE_EPSG)
        geoms = shapely.make_valid(project(lonlat.values, int(epsg)))  # densified first: edges stay put
        areas = shapely.area(geoms)
        lengths = shapely.length(geoms)
        ell_areas = np.where(areas > 0, ellipsoidal_areas(lonlat.reset_index(drop=True)), 0.0)
        geo_lengths = np.zeros(len(idx))
        is_line = (areas <= 0) & (lengths > 0)
        geo_lengths[is_line] = geodesic_lengths(lonlat.values[is_line])
        cov = layers.coverage_in(int(epsg))
        if cov is None:
            covered = ["unknown"] * len(idx)
        else:
            inside = shapely.contains(cov, geoms)  # cov is prepared: the fast direction
            touching = inside | shapely.intersects(cov, geoms)
            covered = ["inside" if a else ("partial" if b else "outside") for a, b in zip(inside, touching)]
        site_areas = _surveyed_areas(sites, idx, lonlat, int(epsg), areas)
        zone_results = [SiteOverlay(int(epsg), float(a), float(ln), c, area_ellipsoidal_m2=float(ea),
                                    length_geodesic_m=float(gl))
                        for a, ln, c, ea, gl in zip(site_areas, lengths, covered, ell_areas, geo_lengths)]
        _hits(shapely.make_valid(lonlat.values), areas, lengths, ell_areas, geo_lengths, layers, int(epsg),
              zone_results)
        close = _rings(geoms, layers, int(epsg), buffers_m, zone_results)
        _nearest(geoms, layers, int(epsg), zone_results, close)
        for i, r in zip(idx, zone_results):
            results[i] = r
    return results  # type: ignore[return-value]


def _surveyed_areas(sites, idx, lonlat, epsg: int, areas: np.ndarray) -> np.ndarray:
    """The GK planar area of each site; for a site read from corner coordinates in this very GK
    zone (a 勘测定界 table, with or without the zone prefix) the shoelace area of those corners:
    its stored vertices are moved back without densifying, so the straight edges of the survey
    are measured, not the lon/lat-straight edges between them (a few ppm apart)."""
    if "crs_in" not in sites.columns:
        return areas
    labels = sites["crs_in"].iloc[idx].astype(str).to_numpy()
    mine = _meridian(epsg)
    same = np.isin(labels, [c for c in set(labels) if _input_meridian(c) == mine])  # one parse per label
    if not same.any():
        return areas
    out = areas.copy()
    polygonal = same & (areas > 0)
    if polygonal.any():
        out[polygonal] = shapely.area(shapely.make_valid(transform(lonlat.values[polygonal], STORAGE_EPSG, epsg)))
    return out


@lru_cache(maxsize=64)
def _meridian(epsg: int) -> float | None:
    """Central meridian of a Transverse Mercator CRS (None for anything else)."""
    try:  # the operation's own parameters (to_dict() goes through a PROJ string, with a warning)
        op = CRS.from_epsg(int(epsg)).coordinate_operation
    except Exception:  # noqa: BLE001 - an unknown code: no meridian
        return None
    if op is None or op.method_name != "Transverse Mercator":
        return None
    lon = [p.value for p in op.params if p.name == "Longitude of natural origin"]
    return float(lon[0]) if lon else None


def _input_meridian(crs_in) -> float | None:
    m = re.match(r"EPSG:(\d+)", str(crs_in or ""))
    return _meridian(int(m.group(1))) if m else None


def geodesic_distances(a, b, epsg: int) -> np.ndarray:
    """Geodesic distance (m) between the nearest points of GK geometries ``a[i]`` and ``b[i]``.

    The nearest points are found in the plane; the distance between them is measured on the
    ellipsoid, which removes the GK scale error (up to 0.03 % at 1.5° from the central meridian).
    """
    if len(a) == 0:
        return np.zeros(0)
    xy = shapely.get_coordinates(shapely.shortest_line(a, b))
    lon, lat = transformer(epsg, STORAGE_EPSG).transform(xy[:, 0], xy[:, 1])
    return np.asarray(GEOD.inv(lon[0::2], lat[0::2], lon[1::2], lat[1::2])[2], dtype="float64")


def _hits(lonlat, areas, lengths, ell_areas, geo_lengths, layers: LayerSet, epsg: int,
          out: list[SiteOverlay]) -> None:
    """Features each site hits, found on the stored geometry (EPSG:4490: edges straight in lon/lat, as
    stored, so containment is exact); overlap pieces are then densified and measured in the GK zone
    (``area_m2``) and in the equal-area CRS (``area_ellipsoidal_m2``), crossing lengths on the ellipsoid."""
    for role in HIT_ROLES:
        if role not in layers.frames or layers.info[role].status != "ok":
            continue
        stored, tree, records = layers.stored(role)
        s_idx, f_idx = query_pairs(tree, stored, lonlat)
        if len(s_idx) == 0:
            continue
        features = stored[f_idx]
        # most sites lie wholly inside the unit/zone they hit: no intersection needed for those
        whole = shapely.contains(features, lonlat[s_idx])
        inter_area = np.where(whole, areas[s_idx], 0.0)
        inter_len = np.where(whole, lengths[s_idx], 0.0)
        inter_ell = np.where(whole, ell_areas[s_idx], 0.0)
        inter_geo_len = np.where(whole, geo_lengths[s_idx], 0.0)
        part = np.flatnonzero(~whole)
        if len(part):
            inter = shapely.intersection(lonlat[s_idx[part]], features[part])
            polygonal = areas[s_idx[part]] > 0
            linear = ~polygonal & (lengths[s_idx[part]] > 0)
            if polygonal.any():
                pieces = inter[polygonal]
                inter_area[part[polygonal]] = shapely.area(project(pieces, epsg, max_segment=PIECE_DENSIFY_DEG))
                inter_ell[part[polygonal]] = shapely.area(project(pieces, EQUAL_AREA_CRS,
                                                                  max_segment=PIECE_DENSIFY_DEG))
            if linear.any():
                pieces = inter[linear]
                inter_len[part[linear]] = shapely.length(project(pieces, epsg))
                inter_geo_len[part[linear]] = geodesic_lengths(pieces)
        for s, f, a, ln, ea, gl in zip(s_idx, f_idx, inter_area, inter_len, inter_ell, inter_geo_len):
            site_area, site_len = areas[s], lengths[s]
            if site_area > 0:
                if a < TOUCH_M2:
                    continue  # touches along an edge (or a hair-thin floating-point overlap) only
                share = a / site_area
                gl = 0.0
            elif site_len > 0:
                if ln < TOUCH_M and gl < TOUCH_M:
                    continue  # touches at a point only
                share = gl / geo_lengths[s] if geo_lengths[s] > 0 else ln / site_len
            else:
                share = 1.0  # a point inside (or on the edge of) the feature
            row = records[f]
            out[s].hits.append(HitRecord(role, _feature_id(row), str(row.get("name", "")), _cls_of(role, row),
                                         round(float(a), 4), round(float(min(share, 1.0)), 6), _props(row),
                                         area_ellipsoidal_m2=round(float(ea), 4), length_m=round(float(gl), 3)))


def nearest_exact(geoms, layers: LayerSet, role: str, epsg: int, where: tuple = ()):
    """Exact nearest feature and distance (m) for each site (GK geometries of zone ``epsg``).

    A site that touches or overlaps features is at 0 m from the lowest-numbered of them; for the
    others the tree of outline pieces (:meth:`LayerSet.outline_pieces`) gives the nearest piece,
    whose distance is the exact distance to its feature (a site outside a polygon is nearest to
    its outline); ties go to the lowest-numbered feature. The distance returned is geodesic
    (between the nearest points found in GK; see :func:`geodesic_distances`).
    Returns (site positions, feature rows in :meth:`LayerSet.projected` order, distances m).
    """
    geoms = np.asarray(geoms, dtype=object)
    frame, tree = layers.projected(role, epsg, where)
    s_touch, f_touch = query_pairs(tree, frame.geometry.values, geoms)
    s_touch, f_touch = _first_per_site(s_touch, f_touch)
    rest = np.setdiff1d(np.arange(len(geoms)), s_touch)
    pieces, owner, piece_tree = layers.outline_pieces(role, epsg, where)
    if not len(rest) or not len(pieces):
        return s_touch, f_touch, np.zeros(len(s_touch))
    cells = layers._proj.setdefault(("__bound_cells__", role, epsg, where), {})
    s_near, p_near, dist = _nearest_pieces(geoms[rest], pieces, piece_tree, cells)
    order = np.lexsort((owner[p_near], dist, s_near))  # per site: nearest first, then lowest feature
    first = np.unique(s_near[order], return_index=True)[1]
    s_near, p_near = s_near[order][first], p_near[order][first]
    far = geodesic_distances(geoms[rest][s_near], pieces[p_near], epsg)
    sites = np.concatenate([s_touch, rest[s_near]])
    order = np.argsort(sites, kind="stable")
    return (sites[order], np.concatenate([f_touch, owner[p_near]])[order],
            np.concatenate([np.zeros(len(s_touch)), far])[order])


#: side (m) of the grid cells whose centres keep their nearest outline piece (see _nearest_pieces)
BOUND_CELL_M = 2000.0
#: most cells kept per layer, zone and filter (a cell is a few bytes; sites all over a country stay bounded)
MAX_BOUND_CELLS = 200_000


def _nearest_pieces(geoms: np.ndarray, pieces: np.ndarray, tree, cells: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(site, piece, planar distance) of every piece nearest to each site (all of them on a tie).

    A tree's nearest search costs far more than a distance, so it is made once per grid cell
    (:data:`BOUND_CELL_M`), from the cell's centre, and kept in ``cells``. For a site, the distance
    from one of its own vertices to the piece nearest its cell's centre bounds the site's distance
    from above (any piece does); only pieces within that bound of the site can be nearest, and
    their exact distances to the site are measured pair by pair."""
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    first = np.unique(owner, return_index=True)[1]  # one vertex of each site (every site has one)
    xy = xy[first]
    cell = np.floor(xy / BOUND_CELL_M).astype(np.int64)
    keys = list(zip(cell[:, 0].tolist(), cell[:, 1].tolist()))
    # a local copy of what is needed: another thread of a server may clear the shared cells meanwhile
    known = {k: p for k in set(keys) if (p := cells.get(k)) is not None}
    missing = sorted(set(keys) - known.keys())
    if missing:
        centres = (np.array(missing, dtype="float64") + 0.5) * BOUND_CELL_M
        (c_idx, p_idx) = tree.query_nearest(shapely.points(centres), all_matches=False)
        found = dict(zip((missing[i] for i in c_idx), p_idx.tolist()))
        known.update(found)
        if len(cells) + len(found) > MAX_BOUND_CELLS:
            cells.clear()
        cells.update(found)
    near = np.array([known[k] for k in keys], dtype=np.int64)
    reach = shapely.distance(shapely.points(xy), pieces[near])
    s_idx, p_idx = query_pairs(tree, pieces, geoms, "dwithin", reach * (1 + 1e-9) + 1e-6)
    dist = shapely.distance(geoms[s_idx], pieces[p_idx])
    best = np.full(len(geoms), np.inf)
    np.minimum.at(best, s_idx, dist)
    nearest = dist <= best[s_idx]
    return s_idx[nearest], p_idx[nearest], dist[nearest]


def _first_per_site(s_idx: np.ndarray, f_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of pairs (site, feature), the lowest feature of each site, sites ascending."""
    if not len(s_idx):
        return s_idx.astype(np.int64), f_idx.astype(np.int64)
    order = np.lexsort((f_idx, s_idx))
    first = np.unique(s_idx[order], return_index=True)[1]
    return s_idx[order][first], f_idx[order][first]


def _nearest(geoms, layers: LayerSet, epsg: int, out: list[SiteOverlay], close: dict | None = None) -> None:
    """The nearest feature of every target (:data:`NEAREST_TARGETS`) and its geodesic distance (m).

    A site that overlaps features of the target (its hits) is at 0 m from the one holding most of it.
    ``close``: role -> (limit m, site, feature, geodesic distance m) of every feature within the
    largest buffer ring (from :func:`_rings`). A site with a feature of the target there is nearest
    to the closest of them (ties: the lowest feature row) and needs no search: every feature farther
    away is, on the ellipsoid, beyond the ring. Only the other sites are searched (:func:`nearest_exact`).
    """
    close = close or {}
    hits_of: dict[str, list] = {}  # role -> [(site, its hits of the role)]
    for k, r in enumerate(out):
        for h in r.hits:
            mine = hits_of.setdefault(h.role, [])
            if mine and mine[-1][0] == k:
                mine[-1][1].append(h)
            else:
                mine.append((k, [h]))
    for target, (role, where) in NEAREST_TARGETS.items():
        if role not in layers.frames or layers.info[role].status != "ok":
            continue
        frame, tree = layers.projected(role, epsg, where)
        if len(frame) == 0:
            continue
        found = np.zeros(len(geoms), dtype=bool)
        # a site that overlaps features of the target is at 0 m from the one holding most of it
        # (its first hit of that share): the same feature the hits name first, not any it touches
        allowed = [(fld, {str(v) for v in values}) for fld, values in where]
        for s, hits in hits_of.get(role, ()):
            mine = [h for h in hits if all(str(h.props.get(f)) in v for f, v in allowed)]
            if mine:
                best = max(mine, key=lambda h: h.share)
                out[s].nearest.append(NearestRecord(target, role, best.id, best.name, 0.0))
                found[s] = True
        if role in close:
            limit, s_idx, f_idx, dist = close[role]
            keep = layers.matching(role, where)[f_idx] & (dist <= limit) & ~found[s_idx]
            s_idx, f_idx, dist = s_idx[keep], f_idx[keep], dist[keep]
            order = np.lexsort((f_idx, dist, s_idx))
            first = np.unique(s_idx[order], return_index=True)[1]
            records = _records(layers, layers.projected(role, epsg)[0])
            for s, f, d in zip(s_idx[order][first], f_idx[order][first], dist[order][first]):
                row = records[f]
                out[s].nearest.append(NearestRecord(target, role, _feature_id(row), str(row.get("name", "")),
                                                    round(float(d), 1)))
                found[s] = True
        rest = np.flatnonzero(~found)
        if not len(rest):
            continue
        s_idx, f_idx, dist = nearest_exact(geoms[rest], layers, role, epsg, where)
        records = _records(layers, frame)
        for s, f, d in zip(rest[s_idx], f_idx, dist):
            row = records[f]
            out[s].nearest.append(NearestRecord(target, role, _feature_id(row), str(row.get("name", "")),
                                                round(float(d), 1)))


def _rings(geoms, layers: LayerSet, epsg: int, buffers_m: tuple[float, ...], out: list[SiteOverlay]) -> dict:
    """Features within each buffer ring of each site. Returns, by role, (limit m, site, feature,
    geodesic distance m) of every feature found within the largest ring (or closer: hits are 0 m)."""
    close: dict = {}
    if not buffers_m:
        return close
    limit = buffers_m[-1]
    edges = np.asarray(buffers_m)
    for role in BUFFER_ROLES:
        if role not in layers.frames or layers.info[role].status != "ok":
            continue
        frame, tree = layers.projected(role, epsg)
        # GK distances exceed geodesic ones by the scale factor (< 0.06 % in a 3-degree zone)
        s_idx, f_idx = query_pairs(tree, frame.geometry.values, geoms, "dwithin", limit * 1.001)
        dist = geodesic_distances(geoms[s_idx], frame.geometry.values[f_idx], epsg)
        close[role] = (limit, s_idx, f_idx, dist)
        if len(s_idx) == 0:
            continue
        records = _records(layers, frame)
        for s, f, d in zip(s_idx, f_idx, dist):
            if d <= 0 or d > limit:
                continue  # a hit (reported as such), or beyond the last ring on the ellipsoid
            ring = float(edges[np.searchsorted(edges, d)])
            row = records[f]
            out[s].buffers.append(BufferRecord(ring, role, _feature_id(row), str(row.get("name", "")),
                                               _cls_of(role, row), round(float(d), 1)))
    return close
