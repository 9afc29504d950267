"""Uploads, kept in a temporary folder and checked before anything reads them.

- Every upload goes into a fresh folder under the service's temporary folder, under a clean
  base name (no path, no ``..``, no control characters); the folder is removed afterwards.
- The request body is capped (``Limits.max_upload_bytes``) while it streams in.
- Zip archives (and the zips inside KMZ and XLSX files) are inspected before they are opened:
  absolute or ``../`` entries, links and nested archives are refused; more files, more unpacked
  bytes or a higher compression ratio than the limits allow is a zip bomb and refused. Entries
  are unpacked by streaming with a byte counter, so a lying header cannot get past the limit.
- The sites read are counted (sites, vertices) against the limits.
"""
from __future__ import annotations

import logging
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from zoning.api import read_sites
from zoning.io.vector import format_name
from zoning.io.archive import CHUNK, ByteCounter, copy_entry, entry_name, inspect_zip, mib
from zoning.errors import (InputFileNotFound, RequestProblem, UnreadableInput, UnsafeUpload, UploadTooLarge,
                           ZoningError)
from zoning.service.settings import Limits

#: site files, in the order they are preferred when an upload holds several kinds
SITE_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".kmz", ".csv", ".txt", ".xlsx")
#: files that travel with a shapefile
SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml", ".qmd", ".fix")
#: formats that are zip files inside: inspected for bombs, then read as they are
ZIPPED = (".kmz", ".xlsx")
log = logging.getLogger("zoning.service")
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def clean_name(name: str) -> str:
    """A safe base name for an uploaded file or archive entry; refuses what cannot be one."""
    base = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = _UNSAFE_CHARS.sub("_", base)
    if not base or base in (".", "..") or base.startswith("."):
        raise UnsafeUpload(f"文件名无效：{str(name)[:80]!r}", f"invalid file name {str(name)[:80]!r}")
    return base[:180]


def suffix_of(name: str) -> str:
    return Path(name).suffix.lower()


@dataclass
class Upload:
    """Files saved for one request, in their own temporary folder."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # as the client named them

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class Counter:
    """Counts bytes across every file of one request."""

    def __init__(self, limit: int):
        self.limit, self.n = limit, 0

    def add(self, k: int) -> None:
        self.n += k
        if self.n > self.limit:
            raise UploadTooLarge(f"上传文件超过 {mib(self.limit)} 上限", f"the upload exceeds the limit of "
                                 f"{mib(self.limit)}; split it, or ask the administrator to raise the limit")


async def save_files(files, folder: Path, limits: Limits) -> Upload:
    """Save ``UploadFile`` objects into ``folder`` (which must be fresh); zips are unpacked there."""
    upload = Upload(folder)
    if len(files) > limits.max_files:
        raise UploadTooLarge(f"一次最多上传 {limits.max_files} 个文件", f"at most {limits.max_files} files per upload")
    counter = Counter(limits.max_upload_bytes)
    for f in files:
        name = clean_name(getattr(f, "filename", None) or "")
        suffix = suffix_of(name)
        if suffix not in SITE_SUFFIXES + SIDECARS + (".zip",):
            raise UnreadableInput(f"不支持的文件类型 {suffix or name}；请上传 zip、SHP 文件组、KML/KMZ、GeoJSON、GPKG、CSV 或 XLSX",
                                  f"unsupported file type {suffix or name!r}; upload a zip, a shapefile set, KML/KMZ, "
                                  f"GeoJSON, GPKG, CSV or XLSX")
        target = folder / name
        if target.exists():
            raise UnsafeUpload(f"上传中有同名文件 {name}", f"the upload holds two files named {name}")
        with open(target, "xb") as out:
            while True:
                block = await f.read(CHUNK)
                if not block:
                    break
                counter.add(len(block))
                out.write(block)
        upload.names.append(name)
        if suffix == ".zip":
            upload.files += extract_zip(target, folder, limits)
            target.unlink()
        else:
            upload.files.append(target)
    if not upload.files:
        raise UnreadableInput("上传中没有站点文件（.shp、.gpkg、.geojson、.kml/.kmz、.csv/.txt、.xlsx）",
                              "the upload holds no site file (.shp, .gpkg, .geojson, .kml/.kmz, .csv/.txt, .xlsx)")
    return upload


def extract_zip(path: Path, folder: Path, limits: Limits) -> list[Path]:
    """Unpack the site files of a zip into ``folder`` (flat, clean names); returns them."""
    entries = inspect_zip(path, limits)
    root = folder.resolve()
    counter = ByteCounter(limits.max_unpacked_bytes)
    out: list[Path] = []
    with zipfile.ZipFile(path) as z:
        for info in entries:
            name = clean_name(entry_name(info))
            suffix = suffix_of(name)
            if suffix in (".zip", ".7z", ".rar", ".gz", ".tar"):
                raise UnsafeUpload(f"{path.name} 中含嵌套压缩包 {name}，请解压后上传",
                                   f"{path.name} holds a nested archive {name}; upload its contents instead")
            if suffix not in SITE_SUFFIXES + SIDECARS:
                continue  # readme, thumbnails …: not needed
            target = (folder / name).resolve()
            if target.parent != root:
                raise UnsafeUpload(f"{path.name} 含不安全的路径 {name!r}", f"{path.name} holds an unsafe entry {name!r}")
            if target.exists():
                raise UnsafeUpload(f"{path.name} 中有同名文件 {name}（不同文件夹），请每次上传一组",
                                   f"{path.name} holds two files named {name} (in different folders); upload one set "
                                   f"at a time")
            copy_entry(z, info, target, counter, path.name)
            out.append(target)
    return out


def site_files(upload: Upload, limits: Limits) -> list[Path]:
    """The files to read sites from: every site file (shapefile sidecars ride along)."""
    found = [p for p in upload.files if suffix_of(p.name) in SITE_SUFFIXES]
    if not found:
        raise UnreadableInput("上传中没有站点文件（.shp、.gpkg、.geojson、.kml/.kmz、.csv/.txt、.xlsx）",
                              "the upload holds no site file (.shp, .gpkg, .geojson, .kml/.kmz, .csv/.txt, .xlsx)")
    for p in found:
        if suffix_of(p.name) == ".shp" and not p.with_suffix(".dbf").exists() and not any(
                q.name.lower() == p.with_suffix(".dbf").name.lower() for q in upload.files):
            raise UnreadableInput(f"{p.name} 缺少同名 .dbf（上传 .shp、.shx、.dbf、.prj、.cpg 全套，或打成 zip）",
                                  f"{p.name} has no .dbf beside it: upload the whole set (.shp .shx .dbf .prj .cpg) or "
                                  f"a zip of it")
        if suffix_of(p.name) in ZIPPED:
            inspect_zip(p, limits, what=suffix_of(p.name)[1:].upper())
    order = {s: i for i, s in enumerate(SITE_SUFFIXES)}
    return sorted(found, key=lambda p: (order[suffix_of(p.name)], p.name))


def read_upload(upload: Upload, limits: Limits, *, crs=None, layer: str | None = None, engine: str = "pyogrio",
                batch: bool = False) -> gpd.GeoDataFrame:
    """The sites of an upload (``zoning.read_sites`` on each site file; unusable sites flagged)."""
    frames = []
    paths = site_files(upload, limits)
    for path, label in zip(paths, _file_labels(upload, paths)):
        frame = _read_one(upload, path, crs=crs, layer=layer, engine=engine)
        frame["_file"] = label
        frames.append(frame)
    if len(frames) == 1:
        sites = frames[0].drop(columns="_file")
    else:
        sites = pd.concat(frames, ignore_index=True)
        # an id found in several files is told apart by its file: "sites.gpkg:S1", "sites.geojson:S1"
        dup = sites["site_id"].duplicated(keep=False)
        sites.loc[dup, "site_id"] = sites.loc[dup, "_file"] + ":" + sites.loc[dup, "site_id"].astype(str)
        sites["site_id"] = _unique(list(sites["site_id"]))
        sites = gpd.GeoDataFrame(sites.drop(columns="_file"), geometry="geometry", crs=frames[0].crs)
    check_size(sites, limits, batch=batch)
    return sites


def _file_labels(upload: Upload, paths: list[Path]) -> list[str]:
    """A name per site file that tells it from the others: its file name (with the suffix: a
    GeoJSON and a GeoPackage may share a stem), else its path inside the upload, else numbered."""
    labels = [p.name for p in paths]
    if len(set(labels)) < len(labels):
        labels = [str(p.relative_to(upload.folder)) if p.is_relative_to(upload.folder) else p.name for p in paths]
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if labels.count(label) == 1 else f"{label}#{seen[label]}")
    return out


def _unique(ids: list[str]) -> list[str]:
    """``ids`` with any still repeated (an id that looks like another's file prefix) numbered: ~2, ~3 …"""
    seen: dict[str, int] = {}
    taken = set(ids)
    out = []
    for sid in ids:
        if sid in seen:
            k = seen[sid]
            while f"{sid}~{k + 1}" in taken:
                k += 1
            seen[sid] = k + 1
            sid = f"{sid}~{k + 1}"
            taken.add(sid)
        else:
            seen[sid] = 1
        out.append(sid)
    return out


def _without_paths(text: str, upload: Upload) -> str:
    """``text`` with the server's folders taken out: a file is named as the client named it."""
    for folder in {str(upload.folder.resolve()), str(upload.folder)}:
        text = text.replace(folder + "/", "").replace(folder, "")
    return _SERVER_PATH.sub(lambda m: m.group(0).rsplit("/", 1)[-1], text)


#: any absolute path left in a message (a reader naming a sidecar or a temporary file)
_SERVER_PATH = re.compile(r"(?:/[\w.+-]+){2,}")
_ASCII_ONLY = re.compile(r"^[\x00-\x7f]*$")


def _read_one(upload: Upload, path: Path, **kwargs) -> gpd.GeoDataFrame:
    """``read_sites`` on one uploaded file; its errors name the file by its client name only,
    never a server path, and keep the Chinese half Chinese (a reader's raw English goes to the
    English half)."""
    name = path.name
    layer = kwargs.get("layer")
    if layer is not None and suffix_of(name) in (".gpkg", ".kml", ".kmz"):
        _check_layer(path, name, layer)
    try:
        frame = read_sites(path, on_error="flag", **kwargs)
        if len(frame) == 1 and isinstance(frame["error"].iloc[0], str):
            read_sites(path, on_error="raise", **kwargs)  # one site: its error with its own class and code
        return frame
    except ZoningError as exc:
        zh, en = _without_paths(exc.zh, upload), _without_paths(exc.en, upload)
        if isinstance(exc, (UnreadableInput, InputFileNotFound)):
            head, _, detail = zh.partition("：")
            if detail and _ASCII_ONLY.match(detail.replace("’", "'")):  # "无法读取 x：<GDAL English>"
                # the reader's own words (GDAL, SQLite) help nobody at a browser: logged, not shown
                log.warning("reading upload %s failed: %s", name, exc.en)
                kind = format_name(name)
                zh = f"无法读取上传的文件 {name}：不是有效的 {kind} 文件（格式不对、为空或已损坏）"
                en = f"cannot read the uploaded file {name}: not a valid {kind} file (wrong format, empty or damaged)"
        if name not in zh:  # say which uploaded file
            zh, en = f"{name}：{zh}", f"{name}: {en}"
        exc.zh, exc.en = zh, en
        exc.args = (en,)
        raise
    except Exception as exc:  # noqa: BLE001 - a reader's own failure on a hostile file is bad input, not a bug
        log.warning("reading upload %s failed: %s: %s", name, type(exc).__name__, exc)
        raise UnreadableInput(f"无法读取上传的文件 {name}：文件无法解析（格式不对、为空或已损坏）",
                              f"cannot read the uploaded file {name}: it could not be parsed (wrong format, empty "
                              f"or damaged)") from None


def _check_layer(path: Path, name: str, layer: str) -> None:
    """A ``layer`` the file does not hold is named as such, with the layers it does hold."""
    import pyogrio

    try:
        layers = [str(x[0]) for x in pyogrio.list_layers(path)]
    except Exception:  # noqa: BLE001 - an unreadable file: the reader says so next
        return
    if layer not in layers:
        shown = "、".join(layers[:20]) + (" …" if len(layers) > 20 else "")
        raise UnreadableInput(f"{name} 中没有图层 {layer!r}；其中的图层：{shown}",
                              f"{name} has no layer {layer!r}; its layers: {', '.join(layers[:20])}"
                              + (" …" if len(layers) > 20 else ""))


def check_size(sites: gpd.GeoDataFrame, limits: Limits, *, batch: bool = False) -> None:
    max_sites = limits.max_job_sites if batch else limits.max_sites
    max_vertices = limits.max_job_vertices if batch else limits.max_vertices
    if len(sites) > max_sites:
        hint_zh = "" if batch else "；更多站点请用批量任务 POST /api/v1/jobs"
        hint_en = "" if batch else "; submit larger files as a batch job (POST /api/v1/jobs)"
        raise UploadTooLarge(f"站点数 {len(sites):,} 超过上限 {max_sites:,}{hint_zh}",
                             f"{len(sites):,} sites exceed the limit of {max_sites:,}{hint_en}")
    vertices = int(shapely.get_num_coordinates(sites.geometry.values).sum()) if len(sites) else 0
    if vertices > max_vertices:
        raise UploadTooLarge(f"站点顶点总数 {vertices:,} 超过上限 {max_vertices:,}；请简化边界或分批提交",
                             f"the sites have {vertices:,} vertices, more than the limit of {max_vertices:,}; simplify "
                             f"the outlines or split the file")
