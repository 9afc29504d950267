"""Pairs of geometries that meet, found through an STRtree of the larger ones.

``STRtree.query(geoms, predicate=...)`` tests each candidate pair with the *input* geometry
prepared: for small sites against long outlines (units, red lines, counties) that rebuilds
nothing useful and walks the whole outline for every pair. Here the tree only supplies the
candidates (boxes that meet), and the predicate runs with the *tree* geometry prepared (built
once, kept by the geometry): 5-25 times faster on the sample layers (benchmarks/service.py), the
same pairs (tests/test_performance_paths.py).
"""
from __future__ import annotations

import numpy as np
import shapely


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
    s_idx, t_idx = s_idx[keep], t_idx[keep]
    order = np.lexsort((t_idx, s_idx))
    return s_idx[order], t_idx[order]
