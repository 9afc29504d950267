"""Layers from PostGIS: the sample layers loaded into a real PostgreSQL + PostGIS (a throw-away
server in a temporary folder), a catalog naming the tables, and screening the sample projects
from it gives results identical to the file catalog (every field of every result).

Skipped, with the reason, where PostgreSQL or PostGIS is not installed (make test installs both).
"""
from __future__ import annotations

import json

import pytest
import shapely
import sqlalchemy as sa
import yaml

from zoning.api import load_catalog, load_layers, screen
from zoning.errors import CatalogError
from zoning.io.catalog import load_layer, read_source
from zoning.io.postgis import driver_url, read_postgis_table, safe_url, split_table, write_postgis_table

from conftest import CATALOG

SAMPLE = CATALOG.parent / "nanping" / "generated" / "sample_projects.gpkg"


@pytest.fixture(scope="module")
def postgis(postgres_server):
    if not postgres_server.has_postgis:
        pytest.skip(f"PostGIS is not installed for PostgreSQL {postgres_server.version} "
                    f"(make test installs postgresql-{postgres_server.version}-postgis-3 as root on Debian)")
    eng = sa.create_engine(driver_url(postgres_server.url), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text("DROP DATABASE IF EXISTS gis"))
        c.execute(sa.text("CREATE DATABASE gis"))
    eng.dispose()
    url = postgres_server.url.rsplit("/", 1)[0] + "/gis"
    with sa.create_engine(driver_url(url)).begin() as c:
        c.execute(sa.text("CREATE EXTENSION postgis"))
    return url


@pytest.fixture(scope="module")
def pg_catalog(postgis, tmp_path_factory, catalog):
    """The sample catalog with every vector layer moved into PostGIS tables (schema zoning)."""
    doc = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    for entry, spec in zip(doc["layers"], catalog.layers):
        if spec.kind != "vector":
            entry["path"] = str(spec.path)  # the raster stays a file
            continue
        raw = read_source(spec)  # the file as it is: source field names, source CRS
        write_postgis_table(raw, postgis, f"zoning.{spec.role}", replace=True)
        entry.pop("path")
        entry.pop("layer", None)
        entry["source"] = postgis
        entry["table"] = f"zoning.{spec.role}"
    doc["rules"] = str(catalog.rule_pack)
    doc["clauses"] = str(catalog.clauses)  # issue 12: the clause library, like the rule pack
    path = tmp_path_factory.mktemp("pgcat") / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_tables_hold_the_files_features(pg_catalog, catalog):
    pg = load_catalog(pg_catalog)
    for spec, file_spec in zip(pg.layers, catalog.layers):
        if file_spec.kind != "vector":
            continue
        a, b = load_layer(spec), load_layer(file_spec)
        assert len(a) == len(b) and a.crs.to_epsg() == b.crs.to_epsg() == 4490
        assert list(a.columns) == list(b.columns)
        assert all(shapely.equals_exact(x, y, 0) for x, y in zip(a.geometry, b.geometry)), spec.name
        assert a.drop(columns="geometry").astype(str).equals(b.drop(columns="geometry").astype(str)), spec.name


def test_screening_from_postgis_equals_the_file_catalog(pg_catalog):
    from_files = screen(SAMPLE, layers=load_layers(CATALOG))
    pg_layers = load_layers(pg_catalog)
    assert {r: i.status for r, i in pg_layers.info.items()} == {r: "ok" for r in pg_layers.info}
    from_db = screen(SAMPLE, layers=pg_layers)
    assert len(from_files) == len(from_db) == 23
    for a, b in zip(from_files, from_db):
        assert json.loads(a.to_json()) == json.loads(b.to_json()), a.site_id
    verdicts = {r.site_id: r.verdict for r in from_db}
    assert verdicts["P01"] == "prohibited" and verdicts["P17"] == "needs_info"


def test_missing_table_fails_the_layer_not_the_run(pg_catalog, postgis, tmp_path):
    doc = yaml.safe_load(pg_catalog.read_text(encoding="utf-8"))
    red = next(e for e in doc["layers"] if e["role"] == "red_line")
    red["table"] = "zoning.no_such_table"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    layers = load_layers(path)
    assert layers.info["red_line"].status == "failed"
    assert "no such PostGIS table" in layers.info["red_line"].detail
    r = screen("118.17,26.64", layers=layers)[0]
    assert r.verdict != "compliant"  # a failed layer is never a silent pass


def test_connection_error_hides_the_password():
    with pytest.raises(Exception) as err:
        read_postgis_table("postgresql://reader:top-secret@127.0.0.1:1/gis", "zoning.red_line")
    assert "top-secret" not in str(err.value) and "cannot read the PostGIS layer" in str(err.value)
    assert "top-secret" not in safe_url("postgresql://reader:top-secret@h/db")


@pytest.mark.parametrize("entry, match", [
    ({"role": "red_line", "source": "postgresql://h/db"}, "needs both"),
    ({"role": "red_line", "table": "zoning.red_line"}, "needs both"),
    ({"role": "red_line", "source": "postgresql://h/db", "table": "x; DROP TABLE y"}, "invalid PostGIS table name"),
    ({"role": "red_line", "source": "postgresql://h/db", "table": "a.b", "path": "x.gpkg"}, "not 'path'"),
    ({"role": "forest_carbon", "kind": "raster", "source": "postgresql://h/db", "table": "a.b"}, "vector"),
    ({"role": "red_line", "path": "postgresql://h/db"}, "PostGIS"),
])
def test_catalog_entries_are_checked(tmp_path, entry, match):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"layers": [entry]}), encoding="utf-8")
    with pytest.raises(CatalogError, match=match):
        load_catalog(path)


def test_layers_list_masks_the_password(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"layers": [{"role": "red_line", "source": "postgresql://u:pw123@h/db",
                                                "table": "zoning.red_line"}]}), encoding="utf-8")
    record = load_catalog(path).layers[0].as_record()
    assert "pw123" not in json.dumps(record) and record["path"].endswith("#zoning.red_line")
    assert split_table("red_line") == ("public", "red_line")
