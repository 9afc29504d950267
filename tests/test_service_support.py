"""Helpers for the service tests (no tests here): a throw-away PostgreSQL server, a live
uvicorn server, sample files.

PostgreSQL runs from Debian's binaries (/usr/lib/postgresql/*/bin) in a temporary folder, on a
free port of 127.0.0.1, trust authentication, fsync off; as root it runs as the ``postgres``
system user (root cannot run postgres). Where PostgreSQL (or PostGIS) is not installed the
tests that need it skip, saying so; ``make test`` installs both as root on Debian.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

PG_SKIP = "PostgreSQL is not installed (make test installs postgresql and postgis when run as root on Debian)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir() -> Path | None:
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(cand).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


class TempPostgres:
    """A PostgreSQL cluster in a temporary folder: ``url`` points at database ``zoning_test``."""

    def __init__(self):
        self.bindir = pg_bindir()
        if self.bindir is None or not (self.bindir / "pg_ctl").exists():
            pytest.skip(PG_SKIP)
        self.as_user = None
        if os.geteuid() == 0:
            try:
                self.as_user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no 'postgres' user to run the server as")
        self.root = Path(tempfile.mkdtemp(prefix="zoning-pg-"))
        if self.as_user:
            os.chown(self.root, self.as_user.pw_uid, self.as_user.pw_gid)
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://zoning@127.0.0.1:{self.port}/zoning_test"
        self.version = self.bindir.parent.name

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        full = [str(self.bindir / cmd[0]), *cmd[1:]]
        if self.as_user:
            full = ["runuser", "-u", "postgres", "--", *full]
        return subprocess.run(full, capture_output=True, text=True, check=check, cwd=self.root, timeout=120)

    def start(self) -> "TempPostgres":
        try:
            self._run("initdb", "-D", str(self.data), "-U", "zoning", "--auth=trust", "-E", "UTF8", "--no-locale")
            opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                    f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=40")
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log.txt"), "-o", opts, "-w", "-t", "60",
                      "start")
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "zoning", "zoning_test")
        except subprocess.CalledProcessError as exc:
            log = (self.root / "log.txt").read_text(errors="replace")[-2000:] if (self.root / "log.txt").exists() else ""
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc.stdout}\n{log}") from None
        return self

    @property
    def has_postgis(self) -> bool:
        return bool(glob.glob(f"/usr/share/postgresql/{self.version}/extension/postgis.control"))

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """A running throw-away PostgreSQL (session-wide); skips where PostgreSQL is not installed."""
    server = TempPostgres().start()
    yield server
    server.stop()


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a background thread."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def write_gbk_shapefile(frame, folder: Path, stem: str = "项目") -> list[Path]:
    """``frame`` as a shapefile with a GBK DBF and no .cpg (as Chinese desktop GIS writes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.shp"
    frame.to_file(path, driver="ESRI Shapefile", encoding="gbk", engine="pyogrio")
    for cpg in folder.glob(f"{stem}.cpg"):
        cpg.unlink()
    return sorted(folder.glob(f"{stem}.*"))
