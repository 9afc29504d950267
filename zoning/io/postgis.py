"""Catalog layers that live in PostGIS tables.

A catalog entry names the database and the table instead of a file::

    - name: 生态保护红线
      role: red_line
      source: postgresql://reader@db.example/zoning     # password: PGPASSWORD or ~/.pgpass
      table: zoning.red_line                             # schema.name (schema defaults to public)
      fields: {红线编号: id, 红线名称: name, 红线类型: type}

:func:`read_postgis_table` returns the table like :func:`zoning.io.vector.read_vector` returns
a file: attribute columns (numeric → float, integers stay integers) and the geometry column
with the CRS of its SRID, rows in primary-key order. The catalog's ``fields``, ``crs`` and the
validation (:mod:`zoning.io.validate`) then treat it exactly like a file layer, so screening
from PostGIS gives the same results as from the files the tables were loaded from.

:func:`write_postgis_table` loads a GeoDataFrame into a table (``fid`` primary key in frame
order, a GiST index), e.g. to move the sample layers or an official delivery into PostGIS.
"""
from __future__ import annotations

import decimal
import importlib.util
import re
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from zoning.errors import CatalogError, LayerError

_URL = re.compile(r"^postgres(?:ql)?(?:\+\w+)?://", re.I)
_NAME = r"[A-Za-z_\u4e00-\u9fff][0-9A-Za-z_$\u4e00-\u9fff]{0,62}"
_TABLE = re.compile(rf"^(?:({_NAME})\.)?({_NAME})$")
#: primary-key columns GDAL and this module create; not attributes of the layer
SURROGATE_KEYS = ("fid", "ogc_fid", "gid")
_ENGINES: dict[str, sa.Engine] = {}
_LOCK = threading.Lock()


def is_database_url(text: str | None) -> bool:
    return bool(text) and bool(_URL.match(str(text).strip()))


def driver_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` as SQLAlchemy's psycopg 3 URL."""
    url = url.strip()
    scheme, rest = url.split("://", 1)
    if "+" not in scheme:
        scheme = "postgresql+psycopg"
    return f"{scheme}://{rest}"


def safe_url(url: str) -> str:
    """The URL with its password masked (for messages, logs and ``layers list``)."""
    try:
        return make_url(driver_url(url)).set(drivername="postgresql").render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL shows only its scheme
        return "postgresql://…"


def split_table(table: str) -> tuple[str, str]:
    """(schema, name) of ``schema.name`` or ``name`` (schema public); refuses anything else."""
    m = _TABLE.match(str(table or "").strip())
    if not m:
        raise CatalogError(f"PostGIS 表名无效：{table!r}（应为 模式.表名，例如 zoning.red_line）",
                           f"invalid PostGIS table name {table!r}: write schema.name, e.g. zoning.red_line")
    return m.group(1) or "public", m.group(2)


def engine_for(url: str) -> sa.Engine:
    if importlib.util.find_spec("psycopg") is None:
        raise LayerError("读取 PostGIS 需要 psycopg：pip install 'psycopg[binary]'",
                         "PostGIS layers need psycopg: pip install 'psycopg[binary]'")
    key = driver_url(url)
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = sa.create_engine(key, pool_pre_ping=True, pool_size=2, max_overflow=2)
        return _ENGINES[key]


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _column_value(values: pd.Series) -> pd.Series:
    """numeric (Decimal) columns as floats, as a file driver would give them."""
    if values.dtype == object and values.map(lambda v: isinstance(v, decimal.Decimal)).any():
        return pd.to_numeric(values.map(lambda v: float(v) if isinstance(v, decimal.Decimal) else v))
    return values


def read_postgis_table(url: str, table: str) -> gpd.GeoDataFrame:
    """Every row of a PostGIS table as a GeoDataFrame (CRS from the column's SRID).

    Raises :class:`LayerError` when the database cannot be reached or the table (or its
    geometry column) does not exist; the password never appears in a message.
    """
    schema, name = split_table(table)
    where = f"{safe_url(url)} {schema}.{name}"
    try:
        eng = engine_for(url)
        quote = eng.dialect.identifier_preparer.quote
        with eng.connect() as conn:
            geo = conn.execute(sa.text(
                "SELECT f_geometry_column, srid FROM geometry_columns WHERE f_table_schema = :s AND f_table_name = :t"),
                {"s": schema, "t": name}).first()
            cols = [r[0] for r in conn.execute(sa.text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t "
                "ORDER BY ordinal_position"), {"s": schema, "t": name})]
            if not cols:
                raise LayerError(f"PostGIS 表不存在：{where}", f"no such PostGIS table: {where}")
            if geo is None:
                raise LayerError(f"PostGIS 表 {where} 没有几何列", f"PostGIS table {where} has no geometry column")
            geom_col, srid = geo[0], int(geo[1] or 0)
            pk = [r[0] for r in conn.execute(sa.text(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(:rel AS regclass) AND i.indisprimary "
                "ORDER BY array_position(i.indkey::int2[], a.attnum)"), {"rel": f"{quote(schema)}.{quote(name)}"})]
            if srid == 0:  # a plain geometry column: the SRID of its rows, when they agree
                found = conn.execute(sa.text(
                    f"SELECT DISTINCT ST_SRID({quote(geom_col)}) FROM {quote(schema)}.{quote(name)} LIMIT 2")).all()
                srid = int(found[0][0]) if len(found) == 1 and found[0][0] else 0
            attrs = [c for c in cols if c != geom_col]
            select = ", ".join([quote(c) for c in attrs] + [f"ST_AsBinary({quote(geom_col)})"])
            order = f" ORDER BY {', '.join(quote(c) for c in pk)}" if pk else ""
            rows = conn.execute(sa.text(f"SELECT {select} FROM {quote(schema)}.{quote(name)}{order}")).all()
    except LayerError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise LayerError(f"无法读取 PostGIS 图层 {where}：{_first_line(exc)}",
                         f"cannot read the PostGIS layer {where}: {_first_line(exc)}") from None
    wkb = [bytes(r[-1]) if r[-1] is not None else None for r in rows]
    frame = pd.DataFrame([tuple(r[:-1]) for r in rows], columns=attrs)
    for c in frame.columns:
        frame[c] = _column_value(frame[c])
    frame = frame.drop(columns=[c for c in pk if c in SURROGATE_KEYS and c in frame.columns])
    geoms = shapely.from_wkb(np.array(wkb, dtype=object)) if wkb else np.array([], dtype=object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=srid or None), crs=srid or None)


_SQL_TYPES = (("bool", "BOOLEAN"), ("int", "BIGINT"), ("float", "DOUBLE PRECISION"), ("datetime", "TIMESTAMP"))


def write_postgis_table(frame: gpd.GeoDataFrame, url: str, table: str, *, replace: bool = False,
                        batch: int = 500) -> int:
    """Load ``frame`` into a new PostGIS table (``fid`` primary key in frame order, GiST index).

    The geometry column keeps the frame's CRS as its SRID. ``replace`` drops an existing table
    first; otherwise an existing table is an error. Returns the number of rows written.
    """
    schema, name = split_table(table)
    if frame.crs is None or frame.crs.to_epsg() is None:
        raise LayerError("写入 PostGIS 需要带 EPSG 代码的坐标系", "writing to PostGIS needs a CRS with an EPSG code")
    srid = frame.crs.to_epsg()
    eng = engine_for(url)
    q = eng.dialect.identifier_preparer.quote
    geom_name = frame.geometry.name
    attrs = [c for c in frame.columns if c != geom_name]
    if any(c.lower() in SURROGATE_KEYS for c in attrs):
        raise LayerError(f"字段名 {SURROGATE_KEYS} 保留为主键", f"column names {SURROGATE_KEYS} are reserved for the key")
    types = []
    for c in attrs:
        kind = str(frame[c].dtype)
        types.append(next((sql for key, sql in _SQL_TYPES if kind.startswith(key)), "TEXT"))
    target = f"{q(schema)}.{q(name)}"
    ddl = ", ".join(["fid BIGINT PRIMARY KEY"] + [f"{q(c)} {t}" for c, t in zip(attrs, types)]
                    + [f"geom geometry(Geometry, {srid})"])
    records = []
    for i, (row, geom) in enumerate(zip(frame[attrs].itertuples(index=False, name=None), frame.geometry.values)):
        values = {f"c{j}": _plain(v, t) for j, (v, t) in enumerate(zip(row, types))}
        values["fid"] = i + 1
        values["wkb"] = None if geom is None else shapely.to_wkb(geom)
        records.append(values)
    insert = (f"INSERT INTO {target} (fid, {', '.join(q(c) for c in attrs)}{', ' if attrs else ''}geom) VALUES "
              f"(:fid, {', '.join(f':c{j}' for j in range(len(attrs)))}{', ' if attrs else ''}"
              f"ST_GeomFromWKB(:wkb, {srid}))")
    try:
        with eng.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {q(schema)}"))
            if replace:
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {target}"))
            conn.execute(sa.text(f"CREATE TABLE {target} ({ddl})"))
            for start in range(0, len(records), batch):
                conn.execute(sa.text(insert), records[start:start + batch])
            conn.execute(sa.text(f"CREATE INDEX {q(name + '_geom_gist')} ON {target} USING GIST (geom)"))
    except sa.exc.SQLAlchemyError as exc:
        raise LayerError(f"无法写入 PostGIS 表 {safe_url(url)} {schema}.{name}：{_first_line(exc)}",
                         f"cannot write the PostGIS table {safe_url(url)} {schema}.{name}: {_first_line(exc)}") from None
    return len(records)


def _plain(value, sql_type: str):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if sql_type == "BOOLEAN":
        return bool(value)
    if sql_type == "BIGINT":
        return int(value)
    if sql_type == "DOUBLE PRECISION":
        return float(value)
    if sql_type == "TIMESTAMP":
        return pd.Timestamp(value).to_pydatetime()
    return value if isinstance(value, str) else str(value)
