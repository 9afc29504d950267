"""The history database: one schema and one list of migrations for SQLite and PostgreSQL.

Checked on both (PostgreSQL: a throw-away server, skipped where PostgreSQL is not installed):
fresh databases reach the latest version; a database at version 1 with data is migrated and
keeps its data; a newer schema is refused; screenings and jobs round-trip; both databases end
with the same tables and columns; passwords never appear in messages.
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from zoning.api import load_layers, screen
from zoning.errors import HistoryError, NotFound
from zoning.service.history import LATEST, MIGRATIONS, History, normalise_url, safe_url, schema_version

from conftest import CATALOG


@pytest.fixture(scope="module")
def results():
    layers = load_layers(CATALOG)
    return list(screen("118.17,26.64;118.172,26.64;118.172,26.642", layers=layers, attributes={"boiler_th": 8}))




def _shape(history: History) -> dict:
    insp = sa.inspect(history.engine)
    return {t: sorted(c["name"] for c in insp.get_columns(t)) for t in sorted(insp.get_table_names())}


def test_fresh_database_is_migrated_to_latest(db_url):
    h = History(db_url)
    assert h.version() == LATEST == len(MIGRATIONS)
    assert History(db_url).migrate() == []  # opening again applies nothing
    with h.engine.connect() as c:
        rows = c.execute(sa.select(schema_version.c.version)).scalars().all()
    assert rows == [v for v, _, _ in MIGRATIONS]
    h.close()


def test_version_1_database_keeps_its_data_when_migrated(db_url, results):
    h = History.__new__(History)  # open without migrating to the latest version
    h.url, h.label = normalise_url(db_url), safe_url(db_url)
    h.engine = sa.create_engine(h.url)
    import threading

    h._lock = threading.Lock()
    assert h.migrate(target=1) == [1]
    assert "zoning_jobs" not in sa.inspect(h.engine).get_table_names()
    key = h.add_screenings(results, source="json", inputs={"attributes": {"boiler_th": 8}})[0]
    h.engine.dispose()
    h2 = History(db_url)  # migrates 1 -> latest
    assert h2.version() == LATEST and "zoning_jobs" in sa.inspect(h2.engine).get_table_names()
    row = h2.screening(key)
    assert json.loads(row["result"])["site_id"] == results[0].site_id
    assert row["inputs"] == {"attributes": {"boiler_th": 8}}
    h2.close()


def test_newer_schema_is_refused(db_url):
    h = History(db_url)
    with h.engine.begin() as c:
        c.execute(schema_version.insert().values(version=LATEST + 7, description="future", applied_at="x"))
    h.close()
    with pytest.raises(HistoryError, match=f"schema version {LATEST + 7}"):
        History(db_url)


def test_screenings_and_jobs_round_trip(db_url, results):
    h = History(db_url)
    keys = h.add_screenings(results * 3, source="job", job_id="j1", inputs={"files": ["a.gpkg"]}, batch=2)
    assert len(set(keys)) == 3 and all(len(k) == 32 for k in keys)
    row = h.screening(keys[1])
    doc = json.loads(row["result"])
    r = results[0]
    assert doc["id"] == keys[1] and doc["verdict"] == r.verdict == row["verdict"]
    assert row["rule_pack"] == r.rule_pack["name"] and row["rule_pack_version"] == str(r.rule_pack["version"])
    assert row["layer_vintages"] == [{"role": x.role, "name": x.name, "vintage": x.vintage, "status": x.status}
                                     for x in r.layers]
    assert row["zoning_version"] == r.zoning_version and row["created_at"].endswith("+00:00")
    assert [k for k, _, _ in h.screenings_of_job("j1")] == keys  # stored order
    job = h.add_job(input_name="a.gpkg", inputs={"files": ["a.gpkg"]}, workers=2)
    assert h.job(job)["state"] == "queued" and h.job(job)["progress"] == 0
    h.update_job(job, state="done", progress=1.0, done=3, total=3, counts={"prohibited": 3})
    got = h.job(job)
    assert (got["state"], got["progress"], got["counts"]) == ("done", 1.0, {"prohibited": 3})
    assert [x["id"] for x in h.recent(2)] and len(h.recent(2)) == 2
    with pytest.raises(NotFound):
        h.screening("0" * 32)
    with pytest.raises(NotFound):
        h.job("nope")
    h.close()


def test_sqlite_and_postgresql_have_the_same_schema(tmp_path, postgres_server):
    lite = History(f"sqlite:///{tmp_path / 'a.sqlite'}")
    pg = History(postgres_server.url)
    assert _shape(lite) == _shape(pg)
    assert set(_shape(lite)) == {"zoning_schema_version", "zoning_screenings", "zoning_jobs"}
    lite.close()
    pg.close()


def test_unreachable_database_message_hides_the_password():
    with pytest.raises(HistoryError) as err:
        History("postgresql://reviewer:s3cret-pw@127.0.0.1:1/zoning")
    assert "s3cret-pw" not in err.value.zh + err.value.en and "***" in err.value.en
    assert safe_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"


def test_bad_url_is_a_history_error():
    with pytest.raises(HistoryError, match="invalid history database URL"):
        History("nosuchdialect://x")
