"""The history of every screening and batch job: SQLite by default, PostgreSQL when configured.

One schema (SQLAlchemy Core tables below) and one ordered list of migrations serve both
databases. ``zoning_schema_version`` records each migration applied; opening a database
applies the missing ones in order, inside one transaction (PostgreSQL: under an advisory
lock, so two servers starting at once do not race). A database written by a newer zoning
(a version we do not know) is refused rather than changed.

Each screening row keeps what a reviewer needs to reproduce it: the inputs (attributes, CRS,
file names, the site as sent), the result JSON (``result.schema.json``), the layer vintages,
the rule-pack name and version, the zoning version and the time (UTC).
"""
from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import secrets
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from zoning.errors import HistoryError, NotFound

metadata = sa.MetaData()

schema_version = sa.Table(
    "zoning_schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.String(32), nullable=False),
)

screenings = sa.Table(
    "zoning_screenings", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.String(32), nullable=False),  # ISO 8601, UTC
    sa.Column("source", sa.String(16), nullable=False),  # json | upload | job
    sa.Column("job_id", sa.String(32), nullable=True),
    sa.Column("seq", sa.Integer, nullable=False),  # position in its request or job
    sa.Column("site_id", sa.Text, nullable=True),
    sa.Column("verdict", sa.String(16), nullable=True),  # None: the site could not be screened
    sa.Column("inputs", sa.Text, nullable=False),  # JSON
    sa.Column("result", sa.Text, nullable=False),  # JSON, zoning/schema/result.schema.json
    sa.Column("layer_vintages", sa.Text, nullable=False),  # JSON list of {role, name, vintage, status}
    sa.Column("rule_pack", sa.Text, nullable=True),
    sa.Column("rule_pack_version", sa.Text, nullable=True),
    sa.Column("zoning_version", sa.Text, nullable=True),
)

jobs = sa.Table(
    "zoning_jobs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # queued | running | done | failed
    sa.Column("progress", sa.Float, nullable=False),  # 0-1
    sa.Column("done", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=True),
    sa.Column("input_name", sa.Text, nullable=True),
    sa.Column("inputs", sa.Text, nullable=False),  # JSON: attributes, crs, file names
    sa.Column("counts", sa.Text, nullable=True),  # JSON: verdict -> sites
    sa.Column("error", sa.Text, nullable=True),  # JSON: {error, message_zh, message_en}
    sa.Column("workers", sa.Integer, nullable=True),
    sa.Column("seconds", sa.Float, nullable=True),
    sa.Column("owner", sa.String(64), nullable=True),  # boot id of the server process that took the job
    sa.Column("heartbeat_at", sa.String(32), nullable=True),  # refreshed by that process while it lives
)

#: the states of a job that is not finished: its server process must keep it alive (heartbeat)
ACTIVE_STATES = ("queued", "running")


# Migrations are frozen: each builds its own table objects as they were at that version (never
# the module-level ones above, which show the latest shape), so a later migration that alters a
# table still finds it as its predecessors left it.
def _v1(conn) -> None:
    t = sa.Table(
        "zoning_screenings", sa.MetaData(),
        sa.Column("id", sa.String(32), primary_key=True), sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False), sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("seq", sa.Integer, nullable=False), sa.Column("site_id", sa.Text, nullable=True),
        sa.Column("verdict", sa.String(16), nullable=True), sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=False), sa.Column("layer_vintages", sa.Text, nullable=False),
        sa.Column("rule_pack", sa.Text, nullable=True), sa.Column("rule_pack_version", sa.Text, nullable=True),
        sa.Column("zoning_version", sa.Text, nullable=True))
    t.create(conn)
    sa.Index("ix_zoning_screenings_created_at", t.c.created_at).create(conn)


def _v2(conn) -> None:
    t = sa.Table(
        "zoning_jobs", sa.MetaData(),
        sa.Column("id", sa.String(32), primary_key=True), sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False), sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=False), sa.Column("done", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=True), sa.Column("input_name", sa.Text, nullable=True),
        sa.Column("inputs", sa.Text, nullable=False), sa.Column("counts", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True), sa.Column("workers", sa.Integer, nullable=True),
        sa.Column("seconds", sa.Float, nullable=True))
    t.create(conn)
    sa.Index("ix_zoning_screenings_job_id", sa.Table("zoning_screenings", sa.MetaData(),
                                                     sa.Column("job_id", sa.String(32))).c.job_id).create(conn)


def _v3(conn) -> None:
    # plain ALTER TABLE … ADD COLUMN: the same statement on SQLite and PostgreSQL; rows of
    # earlier versions have neither (their updated_at stands in for the heartbeat)
    conn.execute(sa.text("ALTER TABLE zoning_jobs ADD COLUMN owner VARCHAR(64)"))
    conn.execute(sa.text("ALTER TABLE zoning_jobs ADD COLUMN heartbeat_at VARCHAR(32)"))


#: (version, description, apply): applied in order, each once, on SQLite and PostgreSQL alike
MIGRATIONS: list[tuple[int, str, Callable]] = [
    (1, "screenings: inputs, result, layer vintages, rule-pack version, time", _v1),
    (2, "batch jobs: state, progress, counts; screenings by job", _v2),
    (3, "batch jobs: owning server process and its heartbeat (jobs of a stopped server fail)", _v3),
]
LATEST = MIGRATIONS[-1][0]


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def new_id() -> str:
    """A random key (128 bits, hex): unguessable, so a screening's address is its only capability."""
    return secrets.token_hex(16)


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3; other URLs as given."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown only by scheme
        return url.split("://", 1)[0] + "://…"


#: the databases the history schema and its migrations are written and tested for
SUPPORTED_SCHEMES = ("sqlite", "postgresql")


class History:
    """The history database. Thread-safe (one SQLAlchemy engine, a connection per call)."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.label = safe_url(self.url)
        scheme = self.url.split("://", 1)[0].split("+", 1)[0].lower()
        if scheme not in SUPPORTED_SCHEMES:
            raise HistoryError(f"历史数据库地址无效：不支持 {scheme or '（无）'}；支持 SQLite（文件路径或 sqlite:///…）和 "
                               f"PostgreSQL（postgresql://…）",
                               f"invalid history database URL: {scheme or '(none)'!r} is not supported; use SQLite "
                               f"(a file path or sqlite:///…) or PostgreSQL (postgresql://…)")
        if self.url.startswith("postgresql+psycopg") and importlib.util.find_spec("psycopg") is None:
            raise HistoryError("PostgreSQL 历史数据库需要 psycopg：pip install 'psycopg[binary]'",
                               "a PostgreSQL history database needs psycopg: pip install 'psycopg[binary]'")
        try:
            kwargs: dict[str, Any] = {"future": True}
            if self.url.startswith("sqlite"):
                kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            else:
                kwargs["pool_pre_ping"] = True
            self.engine = sa.create_engine(self.url, **kwargs)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            raise HistoryError(f"历史数据库地址无效：{self.label}（{exc}）",
                               f"invalid history database URL {self.label} ({exc})") from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._lock = threading.Lock()
        self.migrate()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def name(self) -> str:
        """The database's name only (SQLite: the file's base name), never a path, host or password."""
        try:
            database = make_url(self.url).database or ""
        except Exception:  # noqa: BLE001
            database = ""
        return database.replace("\\", "/").rsplit("/", 1)[-1] or ":memory:"

    # -- schema --------------------------------------------------------------------------------
    def version(self) -> int:
        def read(conn):
            if not sa.inspect(conn).has_table(schema_version.name):
                return 0
            return conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
        return self._run(read)

    def migrate(self, target: int = LATEST) -> list[int]:
        """Apply the missing migrations up to ``target``; returns the versions applied."""
        applied: list[int] = []

        def run(conn):
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(20211025)"))
            if not sa.inspect(conn).has_table(schema_version.name):
                schema_version.create(conn)
            have = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
            if have > LATEST:
                raise HistoryError(f"历史数据库 {self.label} 的结构版本 {have} 高于本程序支持的 {LATEST}；请升级 zoning",
                                   f"history database {self.label} has schema version {have}, newer than the "
                                   f"{LATEST} this zoning knows; upgrade zoning")
            for version, description, apply in MIGRATIONS:
                if have < version <= target:
                    apply(conn)
                    conn.execute(schema_version.insert().values(version=version, description=description,
                                                                applied_at=now()))
                    applied.append(version)

        self._run(run, write=True)
        return applied

    def _run(self, fn, *, write: bool = False):
        try:
            if write:
                with self.engine.begin() as conn:
                    return fn(conn)
            with self.engine.connect() as conn:
                return fn(conn)
        except sa.exc.OperationalError as exc:
            raise HistoryError(f"无法打开历史数据库 {self.label}：{_first_line(exc)}",
                               f"cannot open the history database {self.label}: {_first_line(exc)}") from None
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(f"历史数据库 {self.label} 出错：{_first_line(exc)}",
                               f"history database {self.label} failed: {_first_line(exc)}") from None

    # -- screenings ----------------------------------------------------------------------------
    def add_screenings(self, results: Sequence, *, source: str, inputs: dict, job_id: str | None = None,
                       seq_base: int = 0, batch: int = 1000, progress=None,
                       columns: Sequence[dict] | None = None) -> list[str]:
        """Store results (:class:`~zoning.screening.result.ScreenResult` or their JSON text);
        returns their new keys in order. The results themselves are not changed. ``progress(done,
        total)`` is called after each batch of rows (each its own transaction: rows stored before
        a failure stay). ``columns``: per result, the site file's own columns (stored with its
        inputs as ``columns``, so a job's summaries can be written again alike)."""
        keys = [new_id() for _ in results]
        created = now()
        inputs_text = json.dumps(inputs, ensure_ascii=False, default=str)

        def rows(start: int) -> list[dict]:
            out = []
            for seq, (key, r) in enumerate(zip(keys[start:start + batch], results[start:start + batch]), start):
                doc = json.loads(r) if isinstance(r, str) else r.to_dict()
                doc["id"] = key
                row_inputs = inputs_text if columns is None else json.dumps(
                    {**inputs, "columns": columns[seq]}, ensure_ascii=False, default=str)
                out.append({"id": key, "created_at": created, "source": source, "job_id": job_id, "seq": seq_base + seq,
                            "site_id": doc.get("site_id"), "verdict": doc.get("verdict"), "inputs": row_inputs,
                            "result": json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
                            "layer_vintages": json.dumps(_vintages(doc), ensure_ascii=False),
                            "rule_pack": (doc.get("rule_pack") or {}).get("name"),
                            "rule_pack_version": str((doc.get("rule_pack") or {}).get("version") or ""),
                            "zoning_version": doc.get("zoning_version")})
            return out

        # a transaction per batch: a long job's rows do not hold the database's write lock for
        # minutes (SQLite: the job's own progress updates and other requests wait for it)
        for start in range(0, len(keys), batch):
            chunk = rows(start)
            self._run(lambda conn: conn.execute(screenings.insert(), chunk), write=True)
            if progress:
                progress(min(start + batch, len(keys)), len(keys))
        return keys

    def screening(self, key: str) -> dict:
        """The stored row (inputs and layer vintages decoded; ``result`` as its JSON text)."""
        row = self._run(lambda c: c.execute(sa.select(screenings).where(screenings.c.id == key)).mappings().first())
        if row is None:
            raise NotFound(f"没有编号为 {key} 的筛查记录", f"no screening with id {key}")
        out = dict(row)
        out["inputs"] = json.loads(out["inputs"])
        out["layer_vintages"] = json.loads(out["layer_vintages"])
        return out

    def screenings_of_job(self, job_id: str) -> Iterable[tuple[str, str, dict]]:
        """(key, result JSON, inputs) of a job's screenings, in the order they were stored."""
        def fetch(conn):
            q = sa.select(screenings.c.id, screenings.c.result, screenings.c.inputs) \
                .where(screenings.c.job_id == job_id)
            return [(key, result, json.loads(inputs or "{}"))
                    for key, result, inputs in conn.execute(q.order_by(screenings.c.seq))]
        return self._run(fetch)

    def recent(self, limit: int = 50) -> list[dict]:
        cols = [screenings.c[c] for c in ("id", "created_at", "source", "job_id", "site_id", "verdict",
                                           "rule_pack", "rule_pack_version")]
        q = sa.select(*cols).order_by(screenings.c.created_at.desc()).limit(limit)
        return self._run(lambda c: [dict(r) for r in c.execute(q).mappings()])

    # -- jobs ----------------------------------------------------------------------------------
    def add_job(self, *, input_name: str | None, inputs: dict, workers: int | None, owner: str | None = None) -> str:
        """A new queued job; ``owner`` is the boot id of the server process that will run it (it
        keeps the job's heartbeat fresh, see :meth:`heartbeat` and :meth:`fail_if_stale`)."""
        key = new_id()
        t = now()
        self._run(lambda c: c.execute(jobs.insert().values(
            id=key, created_at=t, updated_at=t, state="queued", progress=0.0, done=0, total=None,
            input_name=input_name, inputs=json.dumps(inputs, ensure_ascii=False, default=str), workers=workers,
            owner=owner, heartbeat_at=t)),
            write=True)
        return key

    def heartbeat(self, owner: str) -> int:
        """Mark the unfinished jobs of server process ``owner`` alive now; returns how many."""
        q = jobs.update().where(jobs.c.owner == owner, jobs.c.state.in_(ACTIVE_STATES)).values(heartbeat_at=now())
        return self._run(lambda c: c.execute(q).rowcount, write=True)

    def fail_if_stale(self, key: str, stale_after_s: float, error: dict) -> bool:
        """Fail job ``key`` if it is queued or running and neither its heartbeat nor its last update
        is younger than ``stale_after_s`` seconds: its server process is gone. One conditional
        UPDATE, so a live server's heartbeat in between wins. Returns whether it was failed."""
        cutoff = (_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=stale_after_s)) \
            .isoformat(timespec="milliseconds")
        t = now()
        q = (jobs.update()
             .where(jobs.c.id == key, jobs.c.state.in_(ACTIVE_STATES), jobs.c.updated_at < cutoff,
                    sa.or_(jobs.c.heartbeat_at.is_(None), jobs.c.heartbeat_at < cutoff))
             .values(state="failed", error=json.dumps(error, ensure_ascii=False), updated_at=t))
        return bool(self._run(lambda c: c.execute(q).rowcount, write=True))

    def update_job(self, key: str, **values) -> None:
        for name in ("counts", "error"):
            if name in values and values[name] is not None and not isinstance(values[name], str):
                values[name] = json.dumps(values[name], ensure_ascii=False)
        values["updated_at"] = now()
        self._run(lambda c: c.execute(jobs.update().where(jobs.c.id == key).values(**values)), write=True)

    def job(self, key: str) -> dict:
        row = self._run(lambda c: c.execute(sa.select(jobs).where(jobs.c.id == key)).mappings().first())
        if row is None:
            raise NotFound(f"没有编号为 {key} 的批量任务", f"no job with id {key}")
        out = dict(row)
        for name in ("inputs", "counts", "error"):
            out[name] = json.loads(out[name]) if out[name] else None
        return out

    def close(self) -> None:
        self.engine.dispose()


def _vintages(doc: dict) -> list[dict]:
    return [{k: layer.get(k) for k in ("role", "name", "vintage", "status")} for layer in doc.get("layers") or []]


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__


def _sqlite_pragmas(dbapi_conn, record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    # WAL + NORMAL: a commit is one write to the WAL, not an fsync (4 ms -> 0.8 ms per request
    # here). A crash of zoning never loses or corrupts a commit; only a power cut or OS crash may
    # lose the last ones (the database itself stays consistent).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
