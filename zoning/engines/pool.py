"""Screening on every core of this machine: a process pool over chunks of sites.

The sites are read and checked once (in this process, as :func:`zoning.screen` does), then
cut into contiguous chunks; each worker process screens its chunks with the ordinary local
function (:func:`zoning.screening.pipeline.screen`) against the same layer set and rule pack,
which it receives once when it starts. Screening a site depends on that site alone, so the
results equal the one-process results, in input order (tests/test_service_pool.py checks it).

Workers start by ``fork`` when this process runs a single thread (the CLI, a script: the
loaded layers are shared copy-on-write, nothing is pickled), otherwise by ``forkserver`` (a
server, a notebook with threads) with the layers pickled once per worker; forking a process
that runs other threads is not safe.

Costs kept down (figures: ``make bench``, benchmarks/service.py): the layer set's per-zone
caches are built once before the workers start (fork: inherited) or once per worker when it
starts (forkserver), never per chunk; the cyclic garbage collector is paused while results are
built and unpickled (its passes would walk every object again and again: ~70 % of unpickling);
a :class:`WarmPool` keeps its workers between batches (the service's jobs).

    zoning.screen("sites.gpkg", layers=layers, compute="processes")            # every core
    zoning.screen("sites.gpkg", layers=layers, compute="processes", workers=2)
"""
from __future__ import annotations

import dataclasses
import gc
import math
import multiprocessing as mp
import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

import geopandas as gpd
import numpy as np

#: ``compute="auto"`` uses the pool from this many sites on (below it, starting workers costs more than it saves)
AUTO_MIN_SITES = 2_000
#: at most this many sites per task: small enough for an even load and a lively progress bar
MAX_CHUNK = 1_000

_STATE: dict = {}


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


def pool_context():
    """``fork`` where it is safe (Linux, one thread), else ``forkserver`` (or ``spawn``)."""
    methods = mp.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def portable(layers):
    """The layer set without its per-process caches (projections, STRtrees), for pickling."""
    return dataclasses.replace(layers, _proj={})


def _init(layers, pack, warm=None) -> None:
    _STATE["layers"], _STATE["pack"] = layers, pack
    if warm is not None and len(warm):  # forkserver/spawn: build this worker's caches before the first chunk
        _warm(warm, layers, pack)
    # the layer set (inherited or unpickled) lives as long as the worker: out of the collector's
    # sight, full collections stop walking it (and, after a fork, stop copying its pages). No
    # gc.collect() first: after a fork it would walk (and copy) the whole inherited heap.
    gc.freeze()


def _screen_chunk(start: int, part: gpd.GeoDataFrame, attributes, buffers_m, base_year):
    from zoning.screening.pipeline import screen

    with collector_paused():
        return start, screen(part, layers=_STATE["layers"], rule_pack=_STATE["pack"], attributes=attributes,
                             buffers_m=buffers_m, base_year=base_year)


class collector_paused:
    """Pause Python's cyclic garbage collector while many long-lived objects are built (results
    of a chunk, unpickled results): its passes would walk every object again and again (~10-20 %
    of screening, ~70 % of unpickling). Reference counting still frees what is dropped; the
    few cycles made meanwhile are collected when the collector runs again. Re-entrant."""

    def __enter__(self):
        self.was = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc):
        if self.was:
            gc.enable()
        return False


def warm_sites(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One screenable site per Gauss-Kruger zone of ``frame``: screening them builds the layer set's
    per-zone caches (projected layers, STRtrees, outline pieces; ~1 s a zone)."""
    from zoning.screening.overlay import site_zones

    geoms = frame.geometry
    ok = ~(geoms.isna() | geoms.is_empty).to_numpy()
    if "error" in frame.columns:
        ok &= np.array([not (isinstance(e, str) and e) for e in frame["error"]], dtype=bool)
    pos = np.flatnonzero(ok)
    if not len(pos):
        return frame.iloc[:0]
    zones = site_zones(frame.iloc[pos])
    first = np.unique(zones, return_index=True)[1]
    return frame.iloc[pos[np.sort(first)]]


def _warm(warm: gpd.GeoDataFrame, layers, pack) -> None:
    from zoning.screening.pipeline import screen

    try:
        screen(warm, layers=layers, rule_pack=pack, buffers_m=(100.0,))
    except Exception:  # noqa: BLE001 - warming is an optimisation: the chunks say what is wrong
        pass


def spatial_order(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Row positions along a Hilbert curve (rows without geometry last, in input order): each
    chunk then covers a small area, so it touches few raster windows and one GK zone."""
    geoms = frame.geometry
    ok = ~(geoms.isna() | geoms.is_empty).to_numpy()
    key = np.full(len(frame), np.iinfo(np.int64).max, dtype=np.int64)
    if ok.any():
        key[ok] = geoms[ok].hilbert_distance(total_bounds=geoms[ok].total_bounds).to_numpy()
    return np.argsort(key, kind="stable")


def chunk_size(n: int, workers: int) -> int:
    """About four tasks per worker, at most :data:`MAX_CHUNK` sites each."""
    return max(1, min(MAX_CHUNK, math.ceil(n / (workers * 4))))


def coverage_warm_sites(layers) -> gpd.GeoDataFrame:
    """A point inside the layer set's area in each Gauss-Kruger zone it spans (for warming a pool
    before any site is known)."""
    import shapely

    from zoning.geo.crs import GK_ZONE_BOUNDARY_LON, STORAGE_EPSG

    area = layers.coverage
    points = []
    if area is not None and not area.is_empty:
        for box in (shapely.box(-180, -90, GK_ZONE_BOUNDARY_LON - 1e-9, 90), shapely.box(GK_ZONE_BOUNDARY_LON, -90, 180, 90)):
            part = shapely.intersection(area, box)
            if not part.is_empty and shapely.area(part) > 0:
                points.append(shapely.point_on_surface(part))
    return gpd.GeoDataFrame({"site_id": [f"warm{i}" for i in range(len(points))]}, geometry=points,
                            crs=STORAGE_EPSG)


class WarmPool:
    """A process pool kept between batches (the service's jobs): started on first use, each worker
    holding the layer set and rule pack with its caches built, so a job does not pay ~3 s of
    worker start-up (forkserver: import, unpickle, build caches). Broken pools are replaced."""

    def __init__(self, layers, rule_pack, *, workers: int | None = None):
        self.layers, self.rule_pack = layers, rule_pack
        self.workers = max(1, workers or default_workers())
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                ctx = pool_context()
                fork = ctx.get_start_method() == "fork"
                warm = coverage_warm_sites(self.layers)
                if fork:
                    _warm(warm, self.layers, self.rule_pack)
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=ctx, initializer=_init,
                    initargs=(self.layers if fork else portable(self.layers), self.rule_pack, None if fork else warm))
            return self._executor

    def discard(self) -> None:
        """Drop a pool that broke (a worker died): the next batch starts a new one."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def screen_processes(frame: gpd.GeoDataFrame, *, layers, rule_pack, attributes=None, buffers_m=(), base_year=None,
                     workers: int | None = None, chunk: int | None = None,
                     progress: Callable[[int, int], None] | None = None, pool: WarmPool | None = None) -> list:
    """Screen prepared sites (:func:`zoning.screening.pipeline.prepare_sites`) on ``workers``
    processes (default: every core), or on a kept :class:`WarmPool` (started for the same layer
    set and rule pack). Returns the results in input order."""
    n = len(frame)
    workers = max(1, (pool.workers if pool is not None else workers) or default_workers())
    if n == 0:
        return []
    order = spatial_order(frame)
    frame = frame.iloc[order].reset_index(drop=True)
    size = chunk or chunk_size(n, workers)
    if pool is not None:
        try:
            return _run_chunks(pool.executor(), frame, order, size, attributes, buffers_m, base_year, progress)
        except BrokenProcessPool:
            pool.discard()
            raise
    ctx = pool_context()
    warm = warm_sites(frame)
    if ctx.get_start_method() == "fork":
        # build the per-zone caches once, here: every worker inherits them instead of building its own
        _warm(warm, layers, rule_pack)
        shared, warm = layers, None
    else:
        shared = portable(layers)
    with ProcessPoolExecutor(max_workers=min(workers, math.ceil(n / size)), mp_context=ctx, initializer=_init,
                             initargs=(shared, rule_pack, warm)) as executor:
        return _run_chunks(executor, frame, order, size, attributes, buffers_m, base_year, progress)


def _run_chunks(executor, frame, order, size, attributes, buffers_m, base_year, progress) -> list:
    n = len(frame)
    out: list = [None] * n
    done = 0
    with collector_paused():
        pending = {executor.submit(_screen_chunk, start, frame.iloc[start:start + size], attributes,
                                   tuple(buffers_m), base_year) for start in range(0, n, size)}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    start, results = future.result()
                    for k, result in enumerate(results):
                        out[order[start + k]] = result
                    done += len(results)
                    if progress:
                        progress(done, n)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return out
