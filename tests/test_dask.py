"""The Dask engine gives the local engine's results (LocalCluster, 2 workers)."""
import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

pytest.importorskip("dask_geopandas")
pytest.importorskip("distributed")

from zoning.cli import main  # noqa: E402
from zoning.engines.dask_engine import DaskUnavailable, dask_client, screen_dask, stock_dask  # noqa: E402
from zoning.io.layerset import load_layerset  # noqa: E402
from zoning.screening.rules import load_rule_pack  # noqa: E402
from zoning.screening.pipeline import screen  # noqa: E402
from zoning.io.sites import read_sites  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield c.scheduler_address
    c.close()


@pytest.fixture(scope="module")
def mixed_sites(catalog):
    """The sample projects plus random points and polygons, one of them broken."""
    sample = gpd.read_file(catalog.one("red_line").path.parent / "sample_projects.gpkg")
    rng = np.random.default_rng(9)
    n = 600
    x, y = rng.uniform(117.1, 119.2, n), rng.uniform(26.3, 28.3, n)
    h = rng.uniform(0.0005, 0.002, n)
    geoms = [shapely.box(a - d, b - d, a + d, b + d) if i % 2 else shapely.Point(a, b)
             for i, (a, b, d) in enumerate(zip(x, y, h))]
    extra = gpd.GeoDataFrame({"id": [f"R{i}" for i in range(n)], "industry": "C2041", "two_high": False,
                              "chemical": False}, geometry=geoms, crs=4490)
    bowtie = gpd.GeoDataFrame({"id": ["BAD"]}, geometry=[shapely.Polygon(
        [(118.17, 26.64), (118.172, 26.642), (118.172, 26.64), (118.17, 26.642)])], crs=4490)
    frame = gpd.GeoDataFrame(pd_concat([sample, extra, bowtie]), geometry="geometry", crs=4490)
    return read_sites(frame, on_error="flag")


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def test_screen_dask_equals_local(catalog, cluster, mixed_sites):
    layers = load_layerset(catalog)
    pack = load_rule_pack(catalog.rule_pack)
    local = screen(mixed_sites, layers=layers, rule_pack=pack, base_year=2025)
    dask = screen_dask(mixed_sites, layers=layers, rule_pack=pack, base_year=2025, scheduler=cluster, npartitions=7)
    assert [r.site_id for r in dask] == [r.site_id for r in local]  # input order kept
    assert [r.to_dict() for r in dask] == [r.to_dict() for r in local]
    assert any(r.error for r in dask) and {r.verdict for r in dask} >= {"prohibited", "compliant", "needs_info"}


def test_stock_dask_equals_local(catalog, cluster):
    from zoning.carbon.density import stock

    raster = catalog.one("forest_carbon").path
    rng = np.random.default_rng(4)
    n = 2000
    x, y = rng.uniform(117.3, 119.0, n), rng.uniform(26.5, 28.1, n)
    polys = gpd.GeoDataFrame({"site_id": [f"F{i}" for i in range(n)]},
                             geometry=[shapely.Point(a, b).buffer(0.003) for a, b in zip(x, y)], crs=4490)
    local = stock(polys, raster, workers=1)
    dask = stock_dask(polys, raster, scheduler=cluster, npartitions=5)
    assert list(dask["id"]) == list(local["id"])
    for col in ("forest_ha", "stock_tC", "pixels", "covered_ha", "area_ha"):
        assert np.array_equal(dask[col].to_numpy(), local[col].to_numpy(), equal_nan=True), col  # NA off-raster


def test_cli_engine_dask(catalog, cluster, tmp_path):
    src = catalog.one("red_line").path.parent / "sample_projects.gpkg"
    res = CliRunner().invoke(main, ["screen", str(src), "--engine", "dask", "--scheduler", cluster, "-o",
                                    str(tmp_path / "d"), "--base-year", "2025", "--catalog", str(catalog.path)])
    assert res.exit_code == 0, res.output
    res2 = CliRunner().invoke(main, ["screen", str(src), "-o", str(tmp_path / "l"), "--base-year", "2025",
                                     "--catalog", str(catalog.path)])
    assert res2.exit_code == 0
    assert (tmp_path / "d" / "summary.csv").read_bytes() == (tmp_path / "l" / "summary.csv").read_bytes()


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(DaskUnavailable, match="cannot reach"):
        with dask_client("tcp://127.0.0.1:1", timeout="2s"):
            pass
