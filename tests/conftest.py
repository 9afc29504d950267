from contextlib import contextmanager
from pathlib import Path

import pytest

from zoning.io.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
CATALOG = ROOT / "layers" / "catalog.yaml"


@pytest.fixture(scope="session")
def catalog():
    """The bundled sample catalog, building the synthetic layers when missing."""
    cat = load_catalog(CATALOG)
    if cat.missing_files():
        from zoning.sample import build_sample

        build_sample(cat.one("red_line").path.parent, admin_path=cat.one("admin").path)
    return cat


@pytest.fixture(scope="session")
def layers(catalog):
    """The sample layer set, loaded once for the whole run (tests read it; none changes it)."""
    from zoning.io.layerset import load_layerset

    return load_layerset(catalog)


@pytest.fixture(scope="session")
def admin(catalog):
    from zoning.io.catalog import load_layer

    return load_layer(catalog.one("admin"))


@pytest.fixture
def data():
    return DATA


def one_line_refusal(args: list[str], out: Path) -> str:
    """Run the CLI with ``args`` and check it refuses: exit 2, one line, Chinese first, no
    traceback, and nothing written at ``out``. Returns the line."""
    from click.testing import CliRunner

    from zoning.cli import main

    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line, res.output
    assert any("\u4e00" <= ch <= "\u9fff" for ch in line[:line.index("|")])  # Chinese first
    assert not out.exists()
    return line


#: the service tests' request limits (small, so that limits are reachable in a test)
SERVICE_LIMITS = {"max_upload_bytes": 2 * 1024 * 1024, "max_unpacked_bytes": 20 * 1024 * 1024, "max_sites": 30,
                  "max_vertices": 5_000}


@contextmanager
def service_client(layers, tmp: Path, **limits):
    """A test client of a service on the sample layers with its history and work folder in
    ``tmp``; ``limits`` override SERVICE_LIMITS. ``client.svc`` is the app's service object."""
    from fastapi.testclient import TestClient

    from zoning.service import Limits, Settings, create_app

    settings = Settings(catalog=CATALOG, db=str(tmp / "history.sqlite"), tmp_dir=tmp / "work",
                        limits=Limits(**{**SERVICE_LIMITS, **limits}))
    app = create_app(settings, layers=layers)
    with TestClient(app) as client:
        client.svc = app.state.service
        yield client


def job_results(client, path, *, timeout_s: float = 180) -> dict[str, dict]:
    """Run a batch job of the site file ``path`` through a service test client: post it, wait until
    it is done (a failed job fails the test), and return its results.zip documents by site id."""
    import io
    import json
    import time
    import zipfile

    key = client.post("/api/v1/jobs", files={"file": (path.name, path.read_bytes())}).json()["id"]
    deadline = time.time() + timeout_s
    while (state := client.get(f"/api/v1/jobs/{key}").json())["state"] not in ("done", "failed"):
        assert time.time() < deadline, state
        time.sleep(0.1)
    assert state["state"] == "done", state
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/jobs/{key}/results.zip").content))
    return {d["site_id"]: d for d in (json.loads(z.read(n)) for n in z.namelist() if n.startswith("results/"))}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh history database of each kind: an SQLite file, and a new database on the test run's
    PostgreSQL (skipped with the reason where PostgreSQL cannot run)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'history.sqlite'}"
        return
    import sqlalchemy as sa

    from zoning.service.history import normalise_url

    server = request.getfixturevalue("postgres_server")
    name = f"h_{abs(hash(request.node.nodeid)) % 10**8}"
    admin = sa.create_engine(normalise_url(server.url), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    yield server.url.rsplit("/", 1)[0] + "/" + name


# one throw-away PostgreSQL for every test that needs it (tests/test_service_support.py)
from test_service_support import postgres_server  # noqa: E402,F401
