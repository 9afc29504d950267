"""Zip archives (zipped shapefiles, deliveries, KMZ, XLSX, uploads) opened the one safe way.

Before anything is unpacked, every entry is inspected: absolute or ``../`` paths, symbolic links
and encrypted entries are refused by name; more files, more unpacked bytes or a higher
compression ratio than the limits allow is a zip bomb and refused. Entries are then unpacked by
streaming with a byte counter, so a header that lies about its size cannot get past the limit.
Entry names written by Chinese Windows tools without the UTF-8 flag are read as GBK.

Every refusal is a one-line message (:class:`~zoning.errors.UnsafeUpload`,
:class:`~zoning.errors.UploadTooLarge`, :class:`~zoning.errors.UnreadableInput`).
"""
from __future__ import annotations

import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Protocol

from zoning.errors import UnreadableInput, UnsafeUpload, UploadTooLarge

#: bytes read and written at a time when unpacking
CHUNK = 1 << 20


class ZipLimits(Protocol):
    """What bounds an archive (the service's ``Limits`` has the same attributes)."""

    max_files: int
    max_unpacked_bytes: int
    max_ratio: float


@dataclass(frozen=True)
class LocalZipLimits:
    """Limits for archives a user opens on their own machine (a delivery may be large)."""

    #: files in one archive
    max_files: int = 20_000
    #: bytes once unpacked
    max_unpacked_bytes: int = 4 * 1024 ** 3
    #: unpacked / packed size of one entry larger than CHUNK (real shapefiles compress < 20:1)
    max_ratio: float = 200.0


LOCAL_LIMITS = LocalZipLimits()


def mib(n: int) -> str:
    """A byte limit as people set it: ``50 MiB``, ``0.5 MiB``, ``200 KiB``, ``1.02 KiB``, ``700 bytes``
    (never ``0 MiB``): MiB when that needs at most two decimals, else KiB, else bytes."""
    def text(x: float) -> str:
        return f"{x:,.2f}".rstrip("0").rstrip(".")

    x = n / 1024 / 1024
    if x >= 1 or (x >= 0.01 and abs(round(x, 2) - x) * 1024 * 1024 < 1):
        return f"{text(x)} MiB"
    if n >= 1024:
        return f"{text(n / 1024)} KiB"
    return f"{n:,} bytes"


class ByteCounter:
    """Counts bytes unpacked (or received) against one limit."""

    def __init__(self, limit: int, what_zh: str = "解压后的文件", what_en: str = "the unpacked files"):
        self.limit, self.n, self.what_zh, self.what_en = limit, 0, what_zh, what_en

    def add(self, k: int) -> None:
        self.n += k
        if self.n > self.limit:
            raise UploadTooLarge(f"{self.what_zh}超过 {mib(self.limit)} 上限",
                                 f"{self.what_en} exceed the limit of {mib(self.limit)}")


def entry_name(info: zipfile.ZipInfo) -> str:
    """An entry's name as its writer meant it (GBK when the UTF-8 flag is not set and it decodes)."""
    name = info.filename
    if not info.flag_bits & 0x800:  # no UTF-8 flag: Chinese Windows tools write GBK names
        try:
            name = name.encode("cp437").decode("gbk")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def inspect_zip(path: Path, limits: ZipLimits = LOCAL_LIMITS, *, what: str = "zip") -> list[zipfile.ZipInfo]:
    """The file entries of an archive, after every safety check (see the module docstring)."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        empty = path.is_file() and path.stat().st_size == 0
        why_zh, why_en = ("文件为空：0 字节", "the file is empty: 0 bytes") if empty else \
            ("格式不对、为空或已损坏", "wrong format, empty or damaged")
        raise UnreadableInput(f"无法读取 {path.name}：不是有效的 {what} 文件（{why_zh}）",
                              f"cannot read {path.name}: not a valid {what} file ({why_en}; {exc})") from None
    entries = [i for i in infos if not i.is_dir()]
    if len(infos) > limits.max_files * 5 or len(entries) > limits.max_files:
        raise UploadTooLarge(f"{path.name} 含 {len(entries)} 个文件，超过上限 {limits.max_files}（疑似压缩炸弹）",
                             f"{path.name} holds {len(entries)} files, more than the limit of {limits.max_files} "
                             f"(a zip bomb?)")
    total = 0
    for info in infos:
        name = entry_name(info).replace("\\", "/")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in PurePosixPath(name).parts:
            raise UnsafeUpload(f"{path.name} 含不安全的路径 {name[:100]!r}（绝对路径或 ../），已拒绝",
                               f"{path.name} holds an unsafe entry {name[:100]!r} (absolute or ../ path); refused")
        if (info.external_attr >> 16) & 0o170000 == stat.S_IFLNK:
            raise UnsafeUpload(f"{path.name} 含符号链接 {name[:100]!r}，已拒绝",
                               f"{path.name} holds a symbolic link {name[:100]!r}; refused")
        if info.flag_bits & 0x1:
            raise UnreadableInput(f"{path.name} 已加密，无法读取", f"{path.name} is encrypted; unpack it first")
        if info.is_dir():
            continue
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio and info.file_size > CHUNK:
            raise UploadTooLarge(f"{path.name} 中 {name[:80]} 的压缩比 {ratio:,.0f}:1 异常（疑似压缩炸弹），已拒绝",
                                 f"{path.name}: {name[:80]} expands {ratio:,.0f}-fold (a zip bomb?); refused")
        if total > limits.max_unpacked_bytes:
            raise UploadTooLarge(f"{path.name} 解压后超过 {mib(limits.max_unpacked_bytes)}（疑似压缩炸弹），已拒绝",
                                 f"{path.name} unpacks to more than {mib(limits.max_unpacked_bytes)} (a zip bomb?); "
                                 f"refused")
    return entries


def copy_entry(z: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, counter: ByteCounter,
               archive_name: str) -> None:
    """Stream one entry to ``target`` (which must not exist), counting its bytes."""
    written = 0
    with z.open(info) as src, open(target, "xb") as dst:
        while True:
            block = src.read(CHUNK)
            if not block:
                break
            written += len(block)
            counter.add(len(block))
            if written > info.file_size:  # the header lied
                raise UploadTooLarge(f"{archive_name} 中 {entry_name(info)[:80]} 的实际大小超过声明（疑似压缩炸弹）",
                                     f"{archive_name}: {entry_name(info)[:80]} is larger than its header says "
                                     f"(a zip bomb?)")
            dst.write(block)


def unpack_zip(path: Path, into: Path, limits: ZipLimits = LOCAL_LIMITS, *,
               keep: Callable[[str], bool] | None = None) -> list[Path]:
    """Unpack ``path`` into the folder ``into`` keeping its folders (a delivery, zipped shapefile
    folders, this tool's own export zips); entries for which ``keep(name)`` is false are left out.
    Returns the files written."""
    entries = inspect_zip(path, limits)
    root = into.resolve()
    counter = ByteCounter(limits.max_unpacked_bytes)
    out: list[Path] = []
    try:
        with zipfile.ZipFile(path) as z:
            for info in entries:
                name = entry_name(info).replace("\\", "/")
                if keep is not None and not keep(name):
                    continue
                target = (root / name).resolve()
                if root not in target.parents:  # inspect_zip refused these already: a second guard
                    raise UnsafeUpload(f"{path.name} 含不安全的路径 {name[:100]!r}", f"{path.name} holds an unsafe entry "
                                       f"{name[:100]!r}")
                if target.exists():
                    raise UnsafeUpload(f"{path.name} 中有重复的条目 {name[:100]!r}", f"{path.name} holds the entry "
                                       f"{name[:100]!r} twice")
                target.parent.mkdir(parents=True, exist_ok=True)
                copy_entry(z, info, target, counter, path.name)
                out.append(target)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error) as exc:
        raise UnreadableInput(f"{path.name} 无法解压：{exc}", f"{path.name} cannot be unpacked: {exc}") from None
    return out


__all__ = ["CHUNK", "ZipLimits", "LocalZipLimits", "LOCAL_LIMITS", "ByteCounter", "entry_name", "inspect_zip",
           "copy_entry", "unpack_zip", "mib"]
