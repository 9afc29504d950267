"""The same screening and zonal functions, run on Dask for batches that outgrow one machine.

Sites are ordered along a Hilbert curve (neighbours share a partition, so each task touches
few zones and few raster windows) and split into dask-geopandas partitions; the layer set and
rule pack are broadcast to every worker once; each partition runs the ordinary local
functions (:func:`zoning.screening.pipeline.screen`, :func:`zoning.carbon.density.stock`). Results come back in
input order and equal the local engine's.

    zoning screen sites.gpkg --engine dask                       # a LocalCluster on this machine
    zoning screen sites.gpkg --engine dask --scheduler tcp://10.0.0.5:8786   # an existing cluster
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from zoning.errors import ZoningError, DaskUnavailable



@contextmanager
def dask_client(scheduler: str | None = None, n_workers: int | None = None, timeout: str = "20s"):
    """A distributed Client: to ``scheduler`` if given, else a LocalCluster of processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskUnavailable("未安装 Dask：pip install 'zoning[dask]'", "Dask is not installed: "
                              "pip install 'zoning[dask]' (dask-geopandas, distributed)") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise DaskUnavailable(f"无法连接 Dask 调度器 {scheduler}：{exc}",
                                  f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=n_workers or max(1, min(2, os.cpu_count() or 1)), threads_per_worker=1,
                           processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def hilbert_partitions(frame: gpd.GeoDataFrame, npartitions: int) -> list[gpd.GeoDataFrame]:
    """dask-geopandas partitions of ``frame`` in Hilbert order; each keeps an ``_order`` column."""
    import dask_geopandas

    ok = ~(frame.geometry.isna() | frame.geometry.is_empty)
    frame = frame.assign(_order=np.arange(len(frame)))
    key = np.zeros(len(frame), dtype="int64")
    if ok.any():
        key[ok.to_numpy()] = frame.geometry[ok].hilbert_distance(total_bounds=frame.geometry[ok].total_bounds)
    frame = frame.assign(_hilbert=key).sort_values("_hilbert", kind="stable").drop(columns="_hilbert")
    import dask

    # keep object columns (e.g. the list of warnings) as they are: no conversion to strings
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dask_geopandas.from_geopandas(frame, npartitions=max(1, min(npartitions, len(frame))), sort=False)
        return ddf.to_delayed()


def _screen_part(part: gpd.GeoDataFrame, layers, pack, attributes, buffers_m, base_year):
    from zoning.screening.pipeline import screen

    order = part["_order"].to_numpy()
    results = screen(part.drop(columns="_order"), layers=layers, rule_pack=pack, attributes=attributes,
                     buffers_m=buffers_m, base_year=base_year)
    return list(zip(order.tolist(), results))


def screen_dask(sites: gpd.GeoDataFrame, *, layers, rule_pack, attributes=None, buffers_m=(500.0, 1000.0, 5000.0),
                base_year=None, scheduler: str | None = None, n_workers: int | None = None,
                npartitions: int | None = None) -> list:
    """Screen sites (the output of read_sites) on Dask; results in input order."""
    import dask

    with dask_client(scheduler, n_workers) as client:
        workers = max(1, len(client.scheduler_info()["workers"]))
        parts = hilbert_partitions(sites, npartitions or max(workers * 4, len(sites) // 5000))
        layers_f, pack_f = client.scatter([layers, rule_pack], broadcast=True)
        tasks = [dask.delayed(_screen_part)(p, layers_f, pack_f, attributes, buffers_m, base_year) for p in parts]
        chunks = client.gather(client.compute(tasks))
    ordered = sorted((pair for chunk in chunks for pair in chunk), key=lambda pair: pair[0])
    return [r for _, r in ordered]


def _stock_part(part: gpd.GeoDataFrame, raster, units, id_field):
    from zoning.carbon.density import stock

    out = stock(part.drop(columns="_order"), raster, units=units, id_field=id_field, workers=1)
    out["_order"] = part["_order"].to_numpy()
    return out


def stock_dask(polygons: gpd.GeoDataFrame, raster: Path | str, *, units: str | None = None,
               id_field: str | None = None, scheduler: str | None = None, n_workers: int | None = None,
               npartitions: int | None = None) -> gpd.GeoDataFrame:
    """:func:`zoning.carbon.density.stock` on Dask: each partition reads only the raster windows it needs."""
    import dask

    from zoning.carbon.density import open_density

    info = open_density(raster, units=units)  # refuse a bad raster before any task starts
    frame = polygons.reset_index(drop=True)
    if id_field is None and "site_id" not in frame:
        frame = frame.assign(site_id=[str(i + 1) for i in range(len(frame))])
    with dask_client(scheduler, n_workers) as client:
        workers = max(1, len(client.scheduler_info()["workers"]))
        parts = hilbert_partitions(frame, npartitions or max(workers * 4, len(frame) // 10_000))
        tasks = [dask.delayed(_stock_part)(p, str(info.path), units, id_field) for p in parts]
        pieces = client.gather(client.compute(tasks))
    out = pd.concat(pieces, ignore_index=True).sort_values("_order").drop(columns="_order").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=polygons.crs)
