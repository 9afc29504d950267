"""The process pool gives the same results as one process (every field of every result, in input
order), with ``fork`` and with ``forkserver`` workers, through ``zoning.screen`` and through a
batch job of the service. The speed figures are in ``make bench`` (benchmarks/service.py)."""
from __future__ import annotations

import json
import multiprocessing as mp

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from zoning.api import screen
from zoning.engines import pool
from zoning.service import Settings, create_app
from zoning.service import jobs as service_jobs

from conftest import job_results


def random_sites(layers, n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = layers.coverage.bounds
    lon, lat = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    h = rng.uniform(0.0005, 0.003, n)
    geoms = [shapely.box(x - d, y - d, x + d, y + d) if i % 3 else shapely.Point(x, y)
             for i, (x, y, d) in enumerate(zip(lon, lat, h))]
    industries = rng.choice(["C3011", "C2614", "C1371", "C2041", None], n)
    return gpd.GeoDataFrame({"site_id": [f"R{i:03d}" for i in range(n)], "industry": industries,
                             "boiler_th": rng.choice([None, 4.0, 12.0], n)}, geometry=geoms, crs=4490)


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_pool_equals_one_process(layers, monkeypatch, method):
    sites = random_sites(layers, 90, seed=7)
    sites.loc[5, "geometry"] = shapely.Polygon()  # an error row travels through the pool too
    one = screen(sites, layers=layers, compute="local", attributes={"chemical": False})
    monkeypatch.setattr(pool, "pool_context", lambda: mp.get_context(method))
    monkeypatch.setattr(pool, "MAX_CHUNK", 7)  # many small chunks, finishing out of order
    seen = []
    many = screen(sites, layers=layers, compute="processes", workers=2, attributes={"chemical": False},
                  progress=lambda d, n: seen.append((d, n)))
    assert len(one) == len(many) == 90
    assert [r.site_id for r in many] == list(sites["site_id"])
    for a, b in zip(one, many):
        assert json.loads(a.to_json()) == json.loads(b.to_json()), a.site_id
    assert many[5].error and seen[-1] == (90, 90) and len(seen) > 5
    assert {r.verdict for r in many} >= {"prohibited", "compliant"}


def test_auto_uses_the_pool_only_for_large_batches(layers, monkeypatch):
    calls = []
    real = pool.screen_processes
    monkeypatch.setattr(pool, "screen_processes", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    sites = random_sites(layers, 12, seed=3)
    screen(sites, layers=layers)  # auto, below AUTO_MIN_SITES: this process
    assert calls == []
    monkeypatch.setattr(pool, "AUTO_MIN_SITES", 10)
    auto = screen(sites, layers=layers, workers=2)
    assert calls == [12]
    assert auto.to_json() == screen(sites, layers=layers, compute="local").to_json()
    with pytest.raises(Exception, match="unknown attribute"):
        screen(sites, layers=layers, compute="processes", attributes={"colour": "red"})


def test_batch_job_on_the_pool_equals_one_process(layers, tmp_path, monkeypatch):
    monkeypatch.setattr(service_jobs, "POOL_MIN_SITES", 10)
    sites = random_sites(layers, 40, seed=11)
    path = tmp_path / "sites.gpkg"
    sites.to_file(path, driver="GPKG")
    app = create_app(Settings(db=str(tmp_path / "h.sqlite"), tmp_dir=tmp_path / "w", workers=2), layers=layers)
    with TestClient(app) as c:
        got = job_results(c, path, timeout_s=120)
    want = screen(path, layers=layers, compute="local")
    assert len(got) == len(want) == 40
    for r in want:
        doc, expected = dict(got[r.site_id]), json.loads(r.to_json())
        assert doc.pop("id") and expected.pop("id") is None
        assert doc == expected, r.site_id
