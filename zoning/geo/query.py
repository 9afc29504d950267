"""Pairs of geometries that meet, found through an STRtree of the larger ones.

``STRtree.query(geoms, predicate=...)`` tests each candidate pair with the *input* geometry
prepared: for small sites against long outlines (units, red lines, counties) that rebuilds
nothing useful and walks the whole outline for every pair. Here the tree only supplies the
candidates (boxes that meet), and the predicate runs with the *tree* geometry prepared (built
once, kept by the geometry): 5-25 times faster on the sample layers (benchmarks/service.py), the
same pairs (tests/test_screening_fast_paths.py).

GEOS 3.14 answers a *prepared* ``dwithin`` wrongly (False at any distance) when either geometry
has a part of zero extent: a line whose vertices all coincide, a polygon collapsed to a point.
Pairs with such a geometry (found once per tree on the tree side, per call on the other) are
tested by their plain distance.
"""
from __future__ import annotations

import weakref

import numpy as np
import shapely

_UNSAFE_PREPARED: "weakref.WeakKeyDictionary[shapely.STRtree, np.ndarray]" = weakref.WeakKeyDictionary()


def collapsed_parts(geoms) -> np.ndarray:
    """Per geometry: True where one of its lines or rings has zero extent (all its vertices at one
    place), or where it nests collections; prepared predicates cannot be trusted on those."""
    geoms = np.asarray(geoms, dtype=object)
    bad = np.zeros(len(geoms), dtype=bool)
    if not len(geoms):
        return bad
    # a part whose vertices all coincide has two equal vertices in a row: only geometries with such
    # a pair are looked into (6 times faster on 100,000 sites, where there is usually none)
    xy, at = shapely.get_coordinates(geoms, return_index=True)
    repeated = (xy[1:] == xy[:-1]).all(axis=1) & (at[1:] == at[:-1])
    suspects = np.unique(at[1:][repeated])
    nested = np.flatnonzero(shapely.get_type_id(geoms) == 7)  # collections: their members unseen here
    suspects = np.union1d(suspects, nested)
    if not len(suspects):
        return bad
    bad[suspects] = _collapsed_parts(geoms[suspects])
    return bad


def _collapsed_parts(geoms: np.ndarray) -> np.ndarray:
    bad = np.zeros(len(geoms), dtype=bool)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    kind = shapely.get_type_id(parts)
    bad[owner[kind == 7]] = True  # a collection inside a collection: not looked into, tested unprepared
    polygon = kind == 3
    rings, ring_of = shapely.get_rings(parts[polygon], return_index=True)
    line = (kind == 1) | (kind == 2)
    lines = np.concatenate([parts[line], rings])
    line_owner = np.concatenate([owner[line], owner[polygon][ring_of]])
    if len(lines):
        b = shapely.bounds(lines)
        bad[line_owner[(b[:, 0] == b[:, 2]) & (b[:, 1] == b[:, 3])]] = True
    return bad


def _unsafe_prepared(tree: shapely.STRtree, tree_geoms: np.ndarray) -> np.ndarray:
    found = _UNSAFE_PREPARED.get(tree)
    if found is None or len(found) != len(tree_geoms):
        found = _UNSAFE_PREPARED[tree] = collapsed_parts(tree_geoms)
    return found


def query_pairs(tree: shapely.STRtree, tree_geoms: np.ndarray, geoms, predicate: str = "intersects",
                distance=None) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``geoms``, positions in ``tree_geoms``) of the pairs that meet, as
    ``tree.query(geoms, predicate=predicate, distance=distance)`` finds them, ordered by input
    position, then tree position.

    ``tree`` is ``STRtree(tree_geoms)``. ``predicate``: ``"intersects"``, or ``"dwithin"`` with
    ``distance`` in the geometries' units (one value, or one per input geometry). Both are
    symmetric, so it does not matter which side is prepared.
    """
    geoms = np.asarray(geoms, dtype=object)
    tree_geoms = np.asarray(tree_geoms, dtype=object)  # the same geometry objects: preparation kept
    if predicate == "dwithin":
        reach = np.broadcast_to(np.asarray(distance, dtype="float64"), (len(geoms),))
        with np.errstate(invalid="ignore"):
            b = shapely.bounds(geoms)
        s_idx, t_idx = tree.query(shapely.box(b[:, 0] - reach, b[:, 1] - reach, b[:, 2] + reach, b[:, 3] + reach))
    elif predicate == "intersects":
        s_idx, t_idx = tree.query(geoms)
    else:
        raise ValueError(f"unsupported predicate {predicate!r}: use intersects or dwithin")
    if not len(s_idx):
        return s_idx, t_idx
    shapely.prepare(tree_geoms)  # a no-op for geometries already prepared
    if predicate == "intersects":
        keep = shapely.intersects(tree_geoms[t_idx], geoms[s_idx])
    else:
        keep = shapely.dwithin(tree_geoms[t_idx], geoms[s_idx], reach[s_idx])
    unsafe = _unsafe_prepared(tree, tree_geoms)[t_idx] | collapsed_parts(geoms)[s_idx]
    if unsafe.any():  # unprepared: the distance itself (intersects: at distance 0)
        gap = shapely.distance(tree_geoms[t_idx[unsafe]], geoms[s_idx[unsafe]])
        keep[unsafe] = gap <= (0.0 if predicate == "intersects" else reach[s_idx[unsafe]])
    s_idx, t_idx = s_idx[keep], t_idx[keep]
    order = np.lexsort((t_idx, s_idx))
    return s_idx[order], t_idx[order]
