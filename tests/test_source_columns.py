"""A site file's own columns (项目编号, 建设单位, 备注 …) that are no screening attribute are
carried into the summaries (summary.csv, the GeoPackage, ``to_geodataframe()``, a job's
results.zip), row for row with the sites, whatever engine screened them.

Truth: the file as written, read back with pandas/pyogrio; the site id column names the row.
"""
from __future__ import annotations

import io
import shutil
import time
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoning.api import screen
from zoning.cli import main
from zoning.cli._common import EXIT_PARTIAL
from zoning.service import Settings, create_app

from conftest import CATALOG

TABLE = """项目编号,建设单位,lon,lat,行业代码,county,备注,站点编号
XM-001,"=HYPERLINK(""http://x"")",118.17,26.64,C3011,自填县,"a,b",内部1
XM-002,南平某公司,118.30,26.90,C2614,,,内部2
XM-003,坏坐标公司,abc,26.90,C2614,,坐标错,内部3
"""


def test_cli_summaries_carry_the_files_own_columns(tmp_path):
    src = tmp_path / "projects.csv"
    src.write_text(TABLE, encoding="utf-8")
    res = CliRunner().invoke(main, ["screen", str(src), "-o", str(tmp_path / "out")])
    assert res.exit_code == EXIT_PARTIAL, res.output  # one row could not be screened: the batch survives it
    csv = pd.read_csv(tmp_path / "out" / "summary.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    own = pd.read_csv(src, dtype=str, keep_default_na=False)
    # 项目编号 is the site id (站点编号): not carried a second time
    assert list(csv.columns[-4:]) == ["建设单位", "county", "备注", "站点编号_原表"] and "项目编号" not in csv.columns
    assert csv["站点编号"].tolist() == own["项目编号"].tolist()
    assert csv["站点编号_原表"].tolist() == own["站点编号"].tolist()
    assert csv["备注"].tolist() == own["备注"].tolist() and csv["county"].tolist() == own["county"].tolist()
    assert csv["建设单位"].tolist()[0] == "'" + own["建设单位"][0]  # no cell runs as a formula
    assert csv["错误"].tolist()[2] and not csv["错误"].tolist()[0]
    gpkg = pyogrio.read_dataframe(tmp_path / "out" / "summary.gpkg")
    assert gpkg["site_id"].tolist() == own["项目编号"].tolist() and gpkg["county_原表"].tolist()[0] == "自填县"
    assert gpkg["county"].tolist()[0] == "延平区"  # the screening's own county is not displaced


def _frame(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(118.0, 118.4, n), rng.uniform(26.6, 27.1, n)
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "编号": [f"B{i:04d}" for i in range(n)],
                             "投资万元": rng.integers(1, 10_000, n), "industry": np.resize(["C3011", "C2614"], n)},
                            geometry=[shapely.box(a, b, a + 0.003, b + 0.002) for a, b in zip(x, y)], crs=4490)


def test_every_engine_keeps_the_columns_with_their_rows(layers):
    sites = _frame(60, 4)
    for compute in ("local", "processes"):
        results = screen(sites, layers=layers, compute=compute, workers=2)
        frame = results.to_geodataframe()
        assert frame["site_id"].tolist() == sites["site_id"].tolist(), compute
        assert frame["编号"].tolist() == sites["编号"].tolist(), compute
        assert frame["投资万元"].tolist() == sites["投资万元"].tolist(), compute
        assert "industry" not in frame.columns  # a screening attribute: in the result, not repeated
        part = results[10:20].to_geodataframe()
        assert part["编号"].tolist() == sites["编号"].tolist()[10:20]


def test_a_job_zip_carries_the_columns(layers, tmp_path):
    sites = _frame(25, 9)
    path = tmp_path / "sites.gpkg"
    sites.to_file(path, driver="GPKG")
    with TestClient(create_app(Settings(db=str(tmp_path / "h.sqlite"), tmp_dir=tmp_path / "w"), layers=layers)) as c:
        key = c.post("/api/v1/jobs", files={"file": (path.name, path.read_bytes())}).json()["id"]
        while c.get(f"/api/v1/jobs/{key}").json()["state"] not in ("done", "failed"):
            time.sleep(0.1)
        z = zipfile.ZipFile(io.BytesIO(c.get(f"/api/v1/jobs/{key}/results.zip").content))
        first = c.get(f"/api/v1/jobs/{key}/summary.csv").content
        shutil.rmtree(c.app.state.service.jobs.folder(key))  # files gone (a restart): written again from the history
        again = c.get(f"/api/v1/jobs/{key}/summary.csv").content
    csv = pd.read_csv(io.BytesIO(z.read("summary.csv")), encoding="utf-8-sig")
    assert csv["编号"].tolist() == sites["编号"].tolist() and csv["投资万元"].tolist() == sites["投资万元"].tolist()
    assert again == first == z.read("summary.csv")


NAMES = st.text(alphabet=st.characters(whitelist_categories=("L", "N"), max_codepoint=0x9FFF), min_size=1,
                max_size=6).filter(lambda t: t.lower() not in ("lon", "lat", "x", "y", "id", "fid"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(columns=st.dictionaries(NAMES, st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
                                                       max_size=10), min_size=3, max_size=3), min_size=1, max_size=4))
def test_any_own_text_column_comes_back_in_summary_csv(tmp_path_factory, layers, columns):
    sites = _frame(3, 1).drop(columns=["编号", "投资万元", "industry"])
    for name, values in columns.items():
        sites[name] = values
    results = screen(sites, layers=layers, compute="local")
    carried = [c for c in results.source.columns]
    out = tmp_path_factory.mktemp("own") / "out"
    from zoning.api import write_screen_outputs

    write_screen_outputs(results, out, layers=layers, reports=False)
    csv = pd.read_csv(out / "summary.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    for name in carried:
        header = [h for h in csv.columns if h == name or h.startswith(name + "_原表")][-1]
        want = ["" if v is None else str(v) for v in sites[name]]
        got = [v[1:] if v.startswith("'") and want[i][:1] in "=+-@\t\r" else v for i, v in enumerate(csv[header])]
        assert [g.strip() for g in got] == [w.strip() for w in want]
