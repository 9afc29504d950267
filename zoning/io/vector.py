"""Vector file reading and writing with explicit engines and encodings.

pyogrio is the default engine; fiona is used where a caller asks for it (``engine="fiona"``).
Shapefile DBF encodings are resolved before GDAL sees the file, because without a ``.cpg``
GDAL assumes ISO-8859-1 and silently turns GBK text into mojibake.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import tempfile
from contextlib import contextmanager
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


#: the format a suffix promises, as messages name it (the service's upload messages say the same)
FORMAT_NAMES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage", ".shp": "Shapefile", ".kml": "KML",
                ".kmz": "KMZ", ".csv": "CSV", ".txt": "TXT", ".xlsx": "Excel (XLSX)", ".xls": "Excel (XLS)",
                ".fgb": "FlatGeobuf", ".zip": "ZIP"}


def format_name(path: Path | str) -> str:
    suffix = Path(str(path)).suffix.lower()
    return FORMAT_NAMES.get(suffix, suffix.lstrip(".").upper() or "GIS")


def not_valid_file(shown: str, path: Path | str, *, kind: str | None = None) -> UnreadableInput:
    """The one plain sentence for a file no reader can parse (empty, garbage, truncated, the wrong
    format for its suffix): the reader's own words (GDAL's "not recognized as being in a supported
    file format") help nobody. ``shown`` is the file as the user named it; ``kind`` the format it
    should have been (default: from ``shown``'s suffix)."""
    kind = kind or format_name(shown)
    try:
        empty = Path(path).is_file() and Path(path).stat().st_size == 0
    except OSError:
        empty = False
    if empty:
        return UnreadableInput(f"无法读取 {shown}：不是有效的 {kind} 文件（文件为空：0 字节）",
                               f"cannot read {shown}: not a valid {kind} file (the file is empty: 0 bytes)")
    return UnreadableInput(f"无法读取 {shown}：不是有效的 {kind} 文件（格式不对、为空或已损坏）",
                           f"cannot read {shown}: not a valid {kind} file (wrong format, empty or damaged)")


def _unreadable(shown: str, path: Path, exc: Exception, layer) -> UnreadableInput:
    """What a failed GDAL read means for the user, in plain words (never GDAL's English)."""
    text = str(exc)
    if not os.access(path, os.R_OK):
        return UnreadableInput(f"无法读取 {shown}：没有读取权限；请检查文件权限",
                               f"cannot read {shown}: permission denied; check the file's permissions")
    if layer is not None and re.search(r"(?i)layer .*(not found|could not be opened|does not exist)|"
                                       r"layer index .* out of range", text):
        return UnreadableInput(f"{shown} 中没有图层 {str(layer)!r}；请检查图层名（--layer）",
                               f"{shown} has no layer {str(layer)!r}; check the layer name (--layer)")
    if path.suffix.lower() == ".shp":
        missing = [ext for ext in (".shx", ".dbf")
                   if not (path.with_suffix(ext).exists() or path.with_suffix(ext.upper()).exists())]
        if missing:
            return UnreadableInput(f"无法读取 {shown}：缺少 Shapefile 的 {'、'.join(missing)} 文件；请把同名的 "
                                   f".shp、.shx、.dbf（及 .prj、.cpg）放在一起",
                                   f"cannot read {shown}: the shapefile's {', '.join(missing)} part is missing; keep "
                                   f"the .shp, .shx, .dbf (and .prj, .cpg) of the same name together")
    return not_valid_file(shown, path, kind=format_name(path))


#: a path GDAL reads as it is: no character it treats specially (";" splits a connection string,
#: "DRIVER:" prefixes, "/vsi…/" virtual file systems); word characters include Chinese
_PLAIN_PATH = re.compile(r"[\w./ +@-]+")


def needs_plain_path(path: Path | str) -> bool:
    text = str(path)
    return not _PLAIN_PATH.fullmatch(text) or text.startswith("/vsi") or ":" in Path(text).name


@contextmanager
def plain_path(path: Path | str):
    """``path`` itself, or, when its name holds a character GDAL treats specially (``a;b.gpkg``,
    ``GPKG:x.gpkg``), a link to it with a plain name in a private temporary folder (a shapefile
    with every sidecar of the same name). The file is read, never changed."""
    path = Path(path)
    if not needs_plain_path(path):
        yield path
        return
    src = path.resolve()
    with tempfile.TemporaryDirectory(prefix="zoning-name-") as tmp:
        target = Path(tmp) / ("site" + src.suffix if _PLAIN_PATH.fullmatch(src.suffix) else "site")
        parts = [src]
        if src.suffix.lower() == ".shp":
            parts = [p for p in src.parent.iterdir() if p.stem == src.stem and p.is_file()]
        for part in parts:
            link = target.with_suffix(part.suffix) if part != src else target
            try:
                os.symlink(part, link)
            except OSError:  # a file system without links: a copy
                shutil.copy2(part, link)
        yield target


def read_vector(path: Path | str, *, layer: str | int | None = None, engine: str = "pyogrio",
                encoding: str | None = None, name: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame, resolving shapefile encodings first.

    ``name`` is how messages call the file (default: the path as given). A file whose name GDAL
    would misread (``a;b.geojson``) is read through a plainly named link."""
    _check_engine(engine)
    path = Path(path)
    shown = name or str(path)
    if not path.exists():
        raise InputFileNotFound(f"文件不存在：{shown}", f"file not found: {shown}")
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
        with plain_path(path) as readable:
            return gpd.read_file(readable, engine=engine, **kwargs)
    except (InputFileNotFound, EncodingProblem):
        raise
    except UnicodeDecodeError as exc:
        raise EncodingProblem(f"{Path(shown).name} 属性文本无法按 {kwargs.get('encoding', 'UTF-8')} 解码；请添加 .cpg "
                              f"文件声明编码（GBK 写 936）",
                              f"{Path(shown).name}: attribute text cannot be decoded ({exc.reason})") from None
    except Exception as exc:  # GDAL/fiona raise many types; all mean "cannot read this file"
        raise _unreadable(shown, path, exc, layer) from None


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
