"""What ``zoning serve`` is started with: layers, history database, token, limits."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: history database when none is given: an SQLite file in the working folder ($ZONING_DB overrides)
DEFAULT_DB = "zoning_history.sqlite"


@dataclass
class Limits:
    """Upload limits; each is refused with a message naming the limit (HTTP 413)."""

    #: bytes of one request body (every uploaded file together)
    max_upload_bytes: int = 50 * 1024 * 1024
    #: bytes of one batch job's upload (POST /api/v1/jobs; streamed to disk, so it may be far larger)
    max_job_upload_bytes: int = 1024 * 1024 * 1024
    #: bytes of a zip (or KMZ, XLSX) once unpacked: more is a zip bomb
    max_unpacked_bytes: int = 500 * 1024 * 1024
    #: unpacked / packed size of one archive entry: more is a zip bomb
    max_ratio: float = 200.0
    #: files in one archive or one upload
    max_files: int = 200
    #: sites per POST /api/v1/screen (larger files go to POST /api/v1/jobs)
    max_sites: int = 1_000
    #: sites per batch job
    max_job_sites: int = 200_000
    #: vertices of every site of one request together
    max_vertices: int = 200_000
    #: vertices of every site of one batch job together
    max_job_vertices: int = 20_000_000


@dataclass
class Settings:
    """``zoning serve`` options (see ``zoning serve --help``)."""

    catalog: Path | str | None = None
    #: SQLAlchemy URL or a file path (SQLite); None: $ZONING_DB, else ./zoning_history.sqlite
    db: str | None = None
    #: bearer token; None: no token needed
    token: str | None = None
    limits: Limits = field(default_factory=Limits)
    #: processes for batch jobs; None: every core
    workers: int | None = None
    #: where uploads and job outputs go (a fresh folder under the system temp folder by default)
    tmp_dir: Path | None = None
    engine: str = "pyogrio"
    #: tile templates for a basemap (none by default: no request leaves the machine)
    basemaps: list = field(default_factory=list)
    #: server processes answering requests (each loads the layers once); jobs run in the one that took them
    api_workers: int = 1
    #: a work folder shared by the server processes (set by ``serve``); None: a fresh one per process
    work: Path | None = None
    #: a queued or running job whose server process has not refreshed its heartbeat for this many
    #: seconds is failed when read ("the server stopped before the job finished"); servers sharing
    #: one database should use the same value (each refreshes its jobs every quarter of it, at most 15 s)
    job_stale_s: float = 120.0

    def heartbeat_s(self) -> float:
        """How often a server process refreshes the heartbeat of its unfinished jobs."""
        return max(0.05, min(15.0, self.job_stale_s / 4))

    def to_json(self) -> str:
        doc = asdict(self)
        for key in ("catalog", "tmp_dir", "work"):
            doc[key] = None if doc[key] is None else str(doc[key])
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> "Settings":
        doc = json.loads(text)
        doc["limits"] = Limits(**doc["limits"])
        for key in ("tmp_dir", "work"):
            doc[key] = None if doc[key] is None else Path(doc[key])
        return cls(**doc)

    def db_url(self) -> str:
        db = self.db or os.environ.get("ZONING_DB") or DEFAULT_DB
        if "://" in db:
            return db
        return f"sqlite:///{Path(db).expanduser().resolve()}"

    def work_dir(self) -> Path:
        if self.work is not None:
            Path(self.work).mkdir(parents=True, exist_ok=True)
            return Path(self.work)
        base = Path(self.tmp_dir) if self.tmp_dir else Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="zoning-serve-", dir=base))
