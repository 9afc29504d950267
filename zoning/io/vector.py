"""Vector file reading and writing with explicit engines and encodings.

pyogrio is the default engine; fiona is used where a caller asks for it (``engine="fiona"``).
Shapefile DBF encodings are resolved before GDAL sees the file, because without a ``.cpg``
GDAL assumes ISO-8859-1 and silently turns GBK text into mojibake.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import geopandas as gpd

from zoning.io.atomic import atomic_path
from zoning.errors import EncodingProblem, InputFileNotFound, UnreadableInput

ENGINES = ("pyogrio", "fiona")
#: .cpg contents and what Python codec they mean
_CPG_CODECS = {
    "utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8",
    "936": "gbk", "gbk": "gbk", "cp936": "gbk", "gb2312": "gbk", "gb18030": "gb18030",
    "ansi 936": "gbk", "big5": "big5", "950": "big5",
    "iso-8859-1": "latin-1", "88591": "latin-1", "iso88591": "latin-1", "1252": "cp1252",
}
#: DBF language driver ids (header byte 29) that name an encoding
_LDID_CODECS = {0x4D: "gbk", 0x7A: "gbk", 0x78: "big5"}


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise UnreadableInput(f"未知读写引擎 {engine!r}，可选 {', '.join(ENGINES)}",
                              f"unknown I/O engine {engine!r}; choose one of {', '.join(ENGINES)}")


def _dbf_text_bytes(dbf: Path, limit: int = 2000) -> bytes:
    """Concatenated bytes of the character fields of the first ``limit`` DBF records."""
    with open(dbf, "rb") as fh:
        header = fh.read(32)
        if len(header) < 32:
            return b""
        nrec, hlen, rlen = struct.unpack("<IHH", header[4:12])
        fields = []
        offset = 1  # deletion flag
        while fh.tell() < hlen - 1:
            desc = fh.read(32)
            if not desc or desc[0] == 0x0D:
                break
            ftype, flen = chr(desc[11]), desc[16]
            if ftype == "C":
                fields.append((offset, flen))
            offset += flen
        fh.seek(hlen)
        out = bytearray()
        for _ in range(min(nrec, limit)):
            rec = fh.read(rlen)
            if len(rec) < rlen:
                break
            for off, ln in fields:
                out += rec[off:off + ln].rstrip(b" \x00") + b"\n"
        return bytes(out)


def dbf_ldid(dbf: Path) -> int:
    """The language driver id byte of a DBF header (0 when unset)."""
    with open(dbf, "rb") as fh:
        header = fh.read(32)
    return header[29] if len(header) >= 30 else 0


def shapefile_encoding(path: Path | str) -> tuple[str, str]:
    """Decide a shapefile's DBF encoding. Returns (codec, how it was decided).

    Order: the ``.cpg`` file; the DBF language driver id; else sniff the bytes: valid UTF-8
    is UTF-8, otherwise GBK if it decodes as GBK. Raises :class:`EncodingProblem` when the
    declared encoding does not decode the text or nothing fits.
    """
    path = Path(path)
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        dbf = path.with_suffix(".DBF")
    if not dbf.exists():
        return "utf-8", "no .dbf"
    data = _dbf_text_bytes(dbf)
    cpg = next((p for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG")) if p.exists()), None)
    if cpg is not None:
        declared = cpg.read_text(encoding="ascii", errors="replace").strip().lower()
        codec = _CPG_CODECS.get(declared)
        if codec is None:
            raise EncodingProblem(f"{cpg} 声明了未知编码 {declared!r}；请改为 UTF-8 或 936（GBK）",
                                  f"{cpg} declares unknown encoding {declared!r}; set it to UTF-8 or 936 (GBK)")
        try:
            data.decode(codec)
        except UnicodeDecodeError:
            raise EncodingProblem(
                f"{dbf.name} 的属性文本不是 .cpg 声明的 {declared} 编码；请修正 .cpg 文件（GBK 写 936）",
                f"attribute text in {dbf.name} is not {declared} as its .cpg says; fix the .cpg "
                f"(936 for GBK) or delete it to let zoning detect the encoding",
            ) from None
        return codec, f".cpg ({declared})"
    ldid = dbf_ldid(dbf)
    if ldid in _LDID_CODECS:
        return _LDID_CODECS[ldid], f"DBF language id 0x{ldid:02X}"
    try:
        data.decode("utf-8")
        return "utf-8", "detected (valid UTF-8)"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gbk")
        return "gbk", "detected (GBK; no .cpg)"
    except UnicodeDecodeError:
        raise EncodingProblem(
            f"无法识别 {dbf.name} 的属性编码（既非 UTF-8 也非 GBK）；请添加 .cpg 文件声明编码",
            f"cannot tell the encoding of {dbf.name} (neither UTF-8 nor GBK); add a .cpg file naming it",
        ) from None


def read_vector(path: Path | str, *, layer: str | int | None = None, engine: str = "pyogrio",
                encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame, resolving shapefile encodings first."""
    _check_engine(engine)
    path = Path(path)
    if not path.exists():
        raise InputFileNotFound(f"文件不存在：{path}", f"file not found: {path}")
    kwargs: dict = {}
    if layer is not None:
        kwargs["layer"] = layer
    if path.suffix.lower() == ".shp":
        if encoding is None:
            encoding, _ = shapefile_encoding(path)
        kwargs["encoding"] = encoding
    elif encoding is not None:
        kwargs["encoding"] = encoding
    try:
        return gpd.read_file(path, engine=engine, **kwargs)
    except (InputFileNotFound, EncodingProblem):
        raise
    except UnicodeDecodeError as exc:
        raise EncodingProblem(f"{path.name} 属性编码错误：{exc.reason}",
                              f"{path.name}: attribute text cannot be decoded ({exc.reason})") from None
    except Exception as exc:  # GDAL/fiona raise many types; all mean "cannot read this file"
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnreadableInput(f"无法读取 {path}：{msg}", f"cannot read {path}: {msg}") from None


SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def write_vector(gdf: gpd.GeoDataFrame, path: Path | str, *, driver: str | None = None,
                 engine: str = "pyogrio", encoding: str | None = None, layer: str | None = None,
                 overwrite: bool = True) -> Path:
    """Write ``gdf`` atomically. Shapefiles get every part moved into place together.

    ``encoding`` applies to shapefile DBFs (``utf-8`` or ``gbk``); a ``.cpg`` is always written.
    """
    _check_engine(engine)
    path = Path(path)
    kwargs: dict = {}
    if driver:
        kwargs["driver"] = driver
    if layer:
        kwargs["layer"] = layer
    is_shp = path.suffix.lower() == ".shp"
    if is_shp:
        codec = (encoding or "utf-8").lower()
        kwargs["encoding"] = {"gbk": "GBK", "cp936": "GBK", "936": "GBK"}.get(codec, "UTF-8")
    with atomic_path(path, overwrite=overwrite) as tmp:
        gdf.to_file(tmp, engine=engine, **kwargs)
        if is_shp:
            cpg = "936" if kwargs["encoding"] == "GBK" else "UTF-8"
            tmp.with_suffix(".cpg").write_text(cpg, encoding="ascii")
            # the .shp itself is renamed by atomic_path last; its siblings go first
            for ext in SHAPEFILE_PARTS[1:]:
                part = tmp.with_suffix(ext)
                if part.exists():
                    os.replace(part, path.with_suffix(ext))
    return path
