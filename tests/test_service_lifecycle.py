"""``zoning serve`` starting, stopping and dying: and the request checks a cold tester found missing.

1. A start that cannot work fails with one line (Chinese, then English) and exit 2 before any
   banner, bind or server process: a missing catalog (also with two api-workers, which used to
   restart crashing workers for ever), a port in use, a database that cannot be opened; a failed
   start leaves no new ./zoning_history.sqlite behind.
2. Jobs of a server process that is gone (killed) fail with ``interrupted`` once their heartbeat
   is older than ``Settings.job_stale_s``; jobs of a live server sharing the database do not;
   a server stopped normally fails its queued jobs at once; rows of schema version 2 migrate.
3. The files of a failed job: 409 ``job_failed`` with the job's reason.
4. ``limit`` and ``lang`` are validated; 5. a Basic header is ``unauthorized``, not ``invalid_token``;
6. limits below 1 MiB are stated exactly ("0.5 MiB", "200 KiB"), never "0 MiB".

The truth here is the OS (a real listening socket, a real SIGKILL of a real server process),
the database rows written by hand, and hand-computed byte counts.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from zoning.io.archive import mib
from zoning.service import Limits, Settings, create_app
from zoning.service.history import LATEST, History, jobs as jobs_table, normalise_url, safe_url
from zoning.service.jobs import JobRunner

from conftest import CATALOG, job_results

ROOT = Path(__file__).resolve().parents[1]
POLY = {"type": "Polygon", "coordinates": [[[118.17, 26.64], [118.172, 26.64], [118.172, 26.642], [118.17, 26.64]]]}
POINT_FC = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"id": "P1"}, "geometry": {"type": "Point", "coordinates": [118.17, 26.64]}}]})
HAN = re.compile(r"[\u4e00-\u9fff]")


def error_of(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text[:500]
    body = resp.json()
    assert set(body) == {"error", "message_zh", "message_en"}, body
    assert body["error"] == code, body
    assert "\n" not in body["message_zh"] + body["message_en"] and "Traceback" not in resp.text
    return body


def one_line_bilingual(text: str) -> str:
    """The single line of a refusal: ``错误：… | Error: …`` with Chinese first, no traceback."""
    lines = [x for x in text.strip().splitlines() if x.strip()]
    assert len(lines) == 1, text[-2000:]
    line = lines[0]
    assert "Traceback" not in text and "Uvicorn running" not in text and "Started server process" not in text
    zh, sep, en = line.partition(" | Error: ")
    assert sep and HAN.search(zh) and not HAN.search(en.split("(")[0][:10]), line
    return line


def run_serve(args: list[str], cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ZONING_DB", None)
    return subprocess.run([sys.executable, "-m", "zoning", "serve", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- 1. startup failures: one line, exit 2, nothing bound or started, no new database --------------
def test_missing_catalog_with_two_api_workers_is_one_line_before_any_worker(tmp_path):
    """Used to print "Uvicorn running" and restart crashing workers for ever (the timeout here)."""
    res = run_serve(["--catalog", "missing.yaml", "--api-workers", "2", "--port", str(free_port())], tmp_path)
    assert res.returncode == 2, (res.returncode, res.stderr[-1500:])
    line = one_line_bilingual(res.stderr)
    assert "missing.yaml" in line and res.stdout == ""
    assert "zoning serve: http" not in res.stderr  # no banner either
    assert not list(tmp_path.glob("zoning_history.sqlite*"))


def test_port_in_use_is_one_line_and_leaves_no_database(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = run_serve(["--catalog", str(CATALOG), "--port", str(port), "--api-workers", "1"], tmp_path)
    assert res.returncode == 2, (res.returncode, res.stderr[-1500:])
    line = one_line_bilingual(res.stderr)
    assert f"端口 {port} 已被占用" in line and f"port {port} is already in use" in line
    assert "Errno" not in line and "zoning serve: http" not in res.stderr
    assert not list(tmp_path.glob("zoning_history.sqlite*"))  # (used to be created before the bind failed)


def test_unopenable_database_is_one_line_without_the_password(tmp_path):
    res = run_serve(["--catalog", str(CATALOG), "--port", str(free_port()), "--api-workers", "2",
                     "--db", "postgresql://reviewer:s3cret-pw@127.0.0.1:1/zoning"], tmp_path)
    assert res.returncode == 2, (res.returncode, res.stderr[-1500:])
    line = one_line_bilingual(res.stderr)
    assert "s3cret-pw" not in line and "history database" in line


class _Stop(Exception):
    pass


@pytest.fixture
def no_uvicorn(monkeypatch):
    """uvicorn.run replaced: a test fails if a start that should be refused reaches it."""
    import uvicorn

    calls = []

    def fake_run(*args, **kwargs):
        calls.append((args, kwargs))
        raise _Stop
    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def _invoke(args: list[str], cwd: Path, monkeypatch):
    from click.testing import CliRunner

    from zoning.cli import main

    monkeypatch.chdir(cwd)
    monkeypatch.delenv("ZONING_DB", raising=False)
    return CliRunner().invoke(main, ["serve", *args])


@pytest.mark.parametrize("stage", ["catalog", "rule_pack", "migrate", "tmp_dir"])
def test_each_startup_check_refuses_before_uvicorn_and_removes_a_new_database(stage, tmp_path, monkeypatch,
                                                                              no_uvicorn):
    import zoning.screening.pipeline as pipeline
    from zoning.errors import HistoryError, RulePackError

    args = ["--catalog", str(CATALOG), "--port", str(free_port())]
    if stage == "catalog":
        args[1] = str(tmp_path / "nope.yaml")
    elif stage == "rule_pack":
        def broken(*a, **k):
            raise RulePackError("规则包无法读取（测试）", "the rule pack cannot be read (test)")
        monkeypatch.setattr(pipeline, "resolve_rule_pack", broken)
    elif stage == "migrate":  # the file exists by now: it must be removed again
        def broken_migrate(self, target=LATEST):
            self._run(lambda c: c.execute(sa.text("CREATE TABLE probe (x INTEGER)")), write=True)
            raise HistoryError("迁移失败（测试）", "migration failed (test)")
        monkeypatch.setattr(History, "migrate", broken_migrate)
    else:
        (tmp_path / "file").write_text("x")
        args += ["--tmp-dir", str(tmp_path / "file" / "sub")]
    res = _invoke(args, tmp_path, monkeypatch)
    assert res.exit_code == 2, res.output
    one_line_bilingual(res.output)
    assert no_uvicorn == []
    assert not list(tmp_path.glob("zoning_history.sqlite*"))


def test_a_start_that_passes_the_checks_keeps_its_database(tmp_path, monkeypatch, no_uvicorn):
    res = _invoke(["--catalog", str(CATALOG), "--port", str(free_port()), "--api-workers", "1",
                   "--tmp-dir", str(tmp_path / "w")], tmp_path, monkeypatch)
    assert len(no_uvicorn) == 1, res.output  # reached uvicorn (the fake stops there)
    assert (tmp_path / "zoning_history.sqlite").exists()  # created once the checks passed
    assert "zoning serve: http" in res.output


def test_uvicorn_failing_after_the_checks_removes_the_new_database(tmp_path, layers, monkeypatch):
    """The port taken between the check and uvicorn's own bind: uvicorn exits 3; the database
    this start created goes with it."""
    import uvicorn

    from zoning.service.app import Prepared, serve

    db = tmp_path / "h.sqlite"
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: sys.exit(3))
    prepared = Prepared(layers=layers, history=History(f"sqlite:///{db}"), new_db=db)
    assert db.exists()
    with pytest.raises(SystemExit):
        serve(Settings(db=str(db), tmp_dir=tmp_path / "w"), port=free_port(), prepared=prepared)
    assert not list(tmp_path.glob("h.sqlite*"))


# -- 2. jobs of a server that is gone ------------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys, time
    import zoning.service.jobs as J
    J.read_upload = lambda *a, **k: time.sleep(3600)  # the job stays running until the process dies
    from fastapi.testclient import TestClient
    from zoning.service import Settings, create_app
    db, work, stale, catalog = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    app = create_app(Settings(catalog=catalog, db=db, tmp_dir=work, job_stale_s=stale))
    client = TestClient(app).__enter__()
    doc = open(sys.argv[5], "rb").read()
    for _ in range(2):  # one running, one queued behind it
        print(client.post("/api/v1/jobs", files={"file": ("p.geojson", doc)}).json()["id"], flush=True)
    time.sleep(3600)
""")


def _wait(client, key, states, timeout=30.0) -> dict:
    deadline = time.time() + timeout
    while (job := client.get(f"/api/v1/jobs/{key}").json())["state"] not in states:
        assert time.time() < deadline, job
        time.sleep(0.05)
    return job


def test_jobs_of_a_killed_server_fail_and_a_live_servers_do_not(tmp_path, layers):
    stale = 1.0
    db = tmp_path / "h.sqlite"
    History(f"sqlite:///{db}").close()
    site = tmp_path / "p.geojson"
    site.write_text(POINT_FC)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(tmp_path / "w1"), str(stale), str(CATALOG),
                              str(site)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        keys = [child.stdout.readline().strip() for _ in range(2)]
        assert all(len(k) == 32 for k in keys), (keys, child.stderr.read() if child.poll() is not None else "")
        # a second server on the same database (a restart next to a live one, or another api-worker)
        app = create_app(Settings(db=str(db), tmp_dir=tmp_path / "w2", job_stale_s=stale), layers=layers)
        with TestClient(app) as c:
            _wait(c, keys[0], ("running",))
            t_end = time.time() + 4 * stale  # the other server lives: its jobs stay unfinished
            while time.time() < t_end:
                assert [c.get(f"/api/v1/jobs/{k}").json()["state"] for k in keys] == ["running", "queued"]
                time.sleep(0.1)
            error_of(c.get(f"/api/v1/jobs/{keys[0]}/results.zip"), 404, "not_found")  # not done yet
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            killed = time.time()
            for k in keys:
                job = _wait(c, k, ("failed", "done"), timeout=stale + 20)
                assert job["state"] == "failed" and job["error"]["error"] == "interrupted", job
                assert "服务在任务完成前停止" in job["error"]["message_zh"]
                assert "the server stopped before the job finished" in job["error"]["message_en"]
                body = error_of(c.get(f"/api/v1/jobs/{k}/summary.csv"), 409, "job_failed")
                assert "the server stopped before the job finished" in body["message_en"]
                assert "not done yet" not in body["message_en"]
            assert time.time() - killed >= 0.5 * stale  # not failed at once: only once the heartbeat is stale
            # and it stays failed (no second server's read turns it back)
            assert c.get(f"/api/v1/jobs/{keys[0]}").json()["state"] == "failed"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)


def test_a_server_stopped_normally_fails_its_queued_jobs_at_once(tmp_path, layers, monkeypatch):
    import zoning.service.jobs as J

    release = threading.Event()

    def blocked(*a, **k):
        release.wait(60)
        raise RuntimeError("stopped")
    monkeypatch.setattr(J, "read_upload", blocked)
    db = tmp_path / "h.sqlite"
    settings = Settings(db=str(db), tmp_dir=tmp_path / "w", job_stale_s=3600)
    try:
        with TestClient(create_app(settings, layers=layers)) as c:
            keys = [c.post("/api/v1/jobs", files={"file": ("p.geojson", POINT_FC.encode())}).json()["id"]
                    for _ in range(3)]
            _wait(c, keys[0], ("running",))
        h = History(f"sqlite:///{db}")
        states = [h.job(k) for k in keys]
        assert [s["state"] for s in states[1:]] == ["failed", "failed"]  # no waiting for the stale limit
        assert all(s["error"]["error"] == "interrupted" for s in states[1:])
        h.close()
    finally:
        release.set()


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(beat_age=st.sampled_from([None, 0.0, 5.0, 50.0, 200.0, 4000.0]),
       update_age=st.sampled_from([0.0, 5.0, 50.0, 200.0, 4000.0]),
       stale=st.sampled_from([30.0, 120.0, 1000.0]),
       state=st.sampled_from(["queued", "running", "done", "failed"]), ours=st.booleans())
def test_stale_rule(tmp_path_factory, beat_age, update_age, stale, state, ours):
    """A job is failed on read iff it is unfinished, not this process's own, and both its heartbeat
    and its last update are older than the limit (ages chosen ≥ 5 s away from every limit)."""
    tmp = tmp_path_factory.mktemp("stale")
    h = History(f"sqlite:///{tmp / 'h.sqlite'}")
    service = SimpleNamespace(history=h, settings=Settings(job_stale_s=stale), work=tmp)
    runner = JobRunner(service)
    now = dt.datetime.now(dt.timezone.utc)

    def ago(s):
        return None if s is None else (now - dt.timedelta(seconds=s)).isoformat(timespec="milliseconds")
    key = h.add_job(input_name="x", inputs={}, workers=1, owner=runner.owner if ours else "gone:1:abc")
    with h.engine.begin() as conn:
        conn.execute(jobs_table.update().where(jobs_table.c.id == key).values(
            state=state, updated_at=ago(update_age), heartbeat_at=ago(beat_age)))
    if ours:
        runner._active[key] = None
    got = runner.state(key)
    youngest = min(a for a in (beat_age, update_age) if a is not None)
    expect_failed = state in ("queued", "running") and not ours and youngest > stale
    assert (got["state"] == "failed" and (got["error"] or {}).get("error") == "interrupted") == expect_failed, got
    if not expect_failed:
        assert got["state"] == state
    runner._active.clear()
    runner.shutdown()
    h.close()




def test_version_2_jobs_migrate_and_their_orphans_fail(db_url, layers, tmp_path):
    """A database of schema version 2 (no owner, no heartbeat) gains both columns; its job left
    running by a server of that version fails when read, a done one is untouched."""
    h = History.__new__(History)
    h.url, h.label = normalise_url(db_url), safe_url(db_url)
    h.engine = sa.create_engine(h.url)
    h._lock = threading.Lock()
    assert h.migrate(target=2) == [1, 2]
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat(timespec="milliseconds")
    v2 = sa.Table("zoning_jobs", sa.MetaData(), autoload_with=h.engine)
    assert "owner" not in v2.c and "heartbeat_at" not in v2.c
    with h.engine.begin() as conn:
        for key, state in (("a" * 32, "running"), ("b" * 32, "done")):
            conn.execute(v2.insert().values(id=key, created_at=old, updated_at=old, state=state, progress=0.95,
                                            done=0, inputs="{}"))
    h.engine.dispose()
    h2 = History(db_url)
    assert h2.version() == LATEST == 3
    cols = {c["name"] for c in sa.inspect(h2.engine).get_columns("zoning_jobs")}
    assert {"owner", "heartbeat_at"} <= cols
    with TestClient(create_app(Settings(db=db_url, tmp_dir=tmp_path / "w"), layers=layers, history=h2)) as c:
        assert c.get(f"/api/v1/jobs/{'a' * 32}").json()["state"] == "failed"
        assert c.get(f"/api/v1/jobs/{'b' * 32}").json()["state"] == "done"


# -- 4. query parameters, lang; 5. auth schemes ----------------------------------------------------
@pytest.fixture(scope="module")
def client(layers, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lifecycle")
    settings = Settings(db=str(tmp / "h.sqlite"), tmp_dir=tmp / "w",
                        limits=Limits(max_upload_bytes=int(0.5 * 1024 * 1024), max_job_upload_bytes=200 * 1024))
    with TestClient(create_app(settings, layers=layers)) as c:
        c.key = c.post("/api/v1/screen", json={"site": POLY}).json()["id"]
        yield c


@pytest.mark.parametrize("path,most", [("/api/v1/screenings", 500), ("/api/v1/industries", 100)])
def test_limit_must_be_1_to_n(client, path, most):
    for bad in (-1, -5, 0, most + 1, 10**9):
        body = error_of(client.get(f"{path}?limit={bad}"), 400, "bad_request")
        assert f"limit must be an integer from 1 to {most}" in body["message_en"] and "limit" in body["message_zh"]
    error_of(client.get(f"{path}?limit=abc"), 400, "bad_request")
    for good in (1, most):
        resp = client.get(f"{path}?limit={good}")
        assert resp.status_code == 200 and 1 <= len(resp.json()) <= good


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lang=st.one_of(st.sampled_from(["xx", "fr", "en-US", "zh-CN", "", " ", "EN ", "english", "中文"]),
                      st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_", max_size=6)),
       where=st.sampled_from(["map", "report", "page", "index", "json"]))
def test_lang_is_zh_or_en(client, lang, where):
    ok = lang.strip().lower() in ("zh", "en")
    key = client.key
    if where == "json":
        resp = client.post("/api/v1/screen", json={"site": POLY, "lang": lang})
    else:
        url = {"map": f"/api/v1/screenings/{key}/map.html", "report": f"/api/v1/screenings/{key}/report.html",
               "page": f"/screenings/{key}", "index": "/"}[where]
        resp = client.get(url, params={"lang": lang})
    if ok:
        assert resp.status_code == 200, resp.text[:300]
    else:
        body = error_of(resp, 400, "bad_request")
        assert "lang must be zh or en" in body["message_en"] and "zh 或 en" in body["message_zh"]


def test_lang_of_uploads_and_jobs(client):
    for url in ("/api/v1/screen", "/api/v1/jobs"):
        resp = client.post(url, files={"file": ("p.geojson", POINT_FC.encode())}, data={"lang": "de"})
        assert "lang must be zh or en" in error_of(resp, 400, "bad_request")["message_en"]
    import io
    import zipfile

    maps = {}
    for lang in ("en", "zh"):  # the form's lang makes the job's map (the query's lang would be zh)
        key = client.post("/api/v1/jobs", files={"file": ("p.geojson", POINT_FC.encode())},
                          data={"lang": lang}).json()["id"]
        assert _wait(client, key, ("done", "failed"))["state"] == "done"
        z = zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/jobs/{key}/results.zip").content))
        maps[lang] = z.read("map.html").decode("utf-8")
    titles = {lang: re.search(r"<title>(.*?)</title>", html, flags=re.S).group(1) for lang, html in maps.items()}
    assert not HAN.search(titles["en"]) and HAN.search(titles["zh"]), titles


def test_auth_schemes(layers, tmp_path):
    app = create_app(Settings(db=str(tmp_path / "h.sqlite"), tmp_dir=tmp_path / "w", token="s3cret"), layers=layers)
    with TestClient(app) as c:
        for header in ("Basic czNjcmV0Og==", "Token s3cret", "Bearer", "Bearer   ", "s3cret", "Digest x=1"):
            resp = c.get("/api/v1/screenings", headers={"Authorization": header})
            error_of(resp, 401, "unauthorized")
            assert resp.headers["www-authenticate"] == "Bearer"
        for header in ("Bearer nope", "bearer s3cret2", "BEARER  S3CRET"):
            resp = c.get("/api/v1/screenings", headers={"Authorization": header})
            assert "invalid token" in error_of(resp, 401, "invalid_token")["message_en"]
            assert resp.headers["www-authenticate"] == "Bearer"
        c.cookies.set("zoning_token", "stale")
        error_of(c.get("/api/v1/screenings"), 401, "invalid_token")
        c.cookies.clear()
        assert c.get("/api/v1/screenings", headers={"Authorization": "bearer s3cret"}).status_code == 200
        assert c.get("/api/v1/screenings", headers={"Authorization": "Bearer  s3cret "}).status_code == 200


# -- 6. limits below 1 MiB -----------------------------------------------------------------------
_UNITS = {"MiB": 1024 * 1024, "KiB": 1024, "bytes": 1}


@hsettings(max_examples=300, deadline=None)
@given(n=st.one_of(st.integers(1, 16 * 1024**3), st.sampled_from([1023, 1024, 1048, 524288, 204800, 1048575,
                                                                    1048576, 52428800, 1073741824])))
def test_size_text_is_never_zero_and_within_half_a_percent(n):
    text = mib(n)
    m = re.fullmatch(r"([\d,]+(?:\.\d{1,2})?) (MiB|KiB|bytes)", text)
    assert m, text
    value = float(m.group(1).replace(",", "")) * _UNITS[m.group(2)]
    assert value > 0
    assert abs(value - n) <= max(0.005 * n, 0.005 * _UNITS[m.group(2)] + 1), (n, text)


def test_limits_below_one_mib_are_stated_exactly(client):
    assert mib(int(0.5 * 1024 * 1024)) == "0.5 MiB" and mib(200 * 1024) == "200 KiB" and mib(50 * 1024**2) == "50 MiB"
    big = b'{"type":"FeatureCollection",' + b" " * (700 * 1024) + POINT_FC.encode()[len('{"type":"FeatureCollection",'):]
    body = error_of(client.post("/api/v1/screen", files={"file": ("big.geojson", big)}), 413, "too_large")
    assert "0.5 MiB" in body["message_en"] and "0.5 MiB" in body["message_zh"] and "0 MiB" not in body["message_en"]
    body = error_of(client.post("/api/v1/jobs", files={"file": ("big.geojson", big)}), 413, "too_large")
    assert "200 KiB" in body["message_en"] and "200 KiB" in body["message_zh"]


# -- job progress through every stage (cold trial: it rested at 0.95 while the files were written) --
def test_job_progress_moves_through_screening_storing_and_writing(layers, tmp_path, monkeypatch):
    """Every progress value a job stores, in order: never backwards, screening up to 0.2 with the
    site count, storing the results up to 0.5, writing and zipping the files up to 0.99, then 1."""
    import zoning.service.jobs as jobs_module

    monkeypatch.setattr(jobs_module, "PROGRESS_EVERY", 0.0)  # every call stored, so every stage is seen
    seen: list[tuple[float, int | None]] = []
    update = History.update_job

    def recording(self, job_id, **values):
        if "progress" in values:
            seen.append((values["progress"], values.get("done")))
        return update(self, job_id, **values)

    monkeypatch.setattr(History, "update_job", recording)
    add = History.add_screenings
    monkeypatch.setattr(History, "add_screenings", lambda self, results, **kw: add(self, results, batch=16, **kw))
    rng = np.random.default_rng(3)
    x, y = rng.uniform(118.0, 118.4, 60), rng.uniform(26.6, 27.1, 60)
    sites = gpd.GeoDataFrame({"site_id": [f"G{i}" for i in range(60)]},
                             geometry=[shapely.box(a, b, a + 0.002, b + 0.002) for a, b in zip(x, y)], crs=4490)
    path = tmp_path / "sixty.gpkg"
    sites.to_file(path, driver="GPKG")
    settings = Settings(db=str(tmp_path / "h.sqlite"), tmp_dir=tmp_path / "w")
    with TestClient(create_app(settings, layers=layers)) as c:
        got = job_results(c, path)
    assert len(got) == 60
    shares = [p for p, _ in seen]
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert max(d or 0 for p, d in seen if p <= 0.2) == 60  # screening counts the sites
    assert any(0.2 < p < 0.5 for p in shares) and any(0.5 < p < 0.99 for p in shares)
    assert shares.count(0.5) >= 1 and 0.99 in shares


def test_parameter_refusals_speak_chinese_and_echo_no_huge_number(client):
    for bad in ("NaN", "abc", "1.5", "inf"):
        body = error_of(client.get(f"/api/v1/screenings?limit={bad}"), 400, "bad_request")
        assert body["message_zh"] == "请求参数无效：limit 应为整数", body
        assert not re.search(r"[A-Za-z]{3,}", body["message_zh"].replace("limit", ""))  # no library English
    for huge in ("9" * 23, "-" + "9" * 17):
        body = error_of(client.get(f"/api/v1/screenings?limit={huge}"), 400, "bad_request")
        assert "999999999999" not in body["message_zh"] + body["message_en"] and "e+" not in body["message_en"]
