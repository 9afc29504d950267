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

    zoning.screen("sites.gpkg", layers=layers, compute="processes")            # every core
    zoning.screen("sites.gpkg", layers=layers, compute="processes", workers=2)
"""
from __future__ import annotations

import dataclasses
import math
import multiprocessing as mp
import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
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


def _init(layers, pack) -> None:
    _STATE["layers"], _STATE["pack"] = layers, pack


def _screen_chunk(start: int, part: gpd.GeoDataFrame, attributes, buffers_m, base_year):
    from zoning.screening.pipeline import screen

    return start, screen(part, layers=_STATE["layers"], rule_pack=_STATE["pack"], attributes=attributes,
                         buffers_m=buffers_m, base_year=base_year)


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


def screen_processes(frame: gpd.GeoDataFrame, *, layers, rule_pack, attributes=None, buffers_m=(), base_year=None,
                     workers: int | None = None, chunk: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> list:
    """Screen prepared sites (:func:`zoning.screening.pipeline.prepare_sites`) on ``workers``
    processes (default: every core). Returns the results in input order."""
    n = len(frame)
    workers = max(1, workers or default_workers())
    if n == 0:
        return []
    order = spatial_order(frame)
    frame = frame.iloc[order].reset_index(drop=True)
    size = chunk or chunk_size(n, workers)
    ctx = pool_context()
    shared = layers if ctx.get_start_method() == "fork" else portable(layers)
    out: list = [None] * n
    done = 0
    with ProcessPoolExecutor(max_workers=min(workers, math.ceil(n / size)), mp_context=ctx, initializer=_init,
                             initargs=(shared, rule_pack)) as pool:
        pending = {pool.submit(_screen_chunk, start, frame.iloc[start:start + size], attributes, tuple(buffers_m),
                               base_year) for start in range(0, n, size)}
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
