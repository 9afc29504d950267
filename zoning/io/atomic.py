"""Atomic output: write to a temporary sibling, then rename into place.

A failure part-way leaves the previous file (or nothing) behind, never a half-written one.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from zoning.errors import OutputExists, OutputProblem


def check_writable(path: Path, *, overwrite: bool) -> None:
    """Refuse to clobber ``path`` unless ``overwrite``; make sure its folder can be written."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExists(f"输出已存在：{path}；如需覆盖请加 --overwrite",
                           f"output exists: {path}; pass --overwrite to replace it")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputProblem(f"无法创建输出目录 {parent}：{exc.strerror}",
                            f"cannot create output folder {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise OutputProblem(f"输出目录不可写：{parent}", f"output folder is not writable: {parent}")


@contextlib.contextmanager
def atomic_path(final: Path | str, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it onto ``final`` on success.

    Works for files and for folders (the caller may create a directory at the yielded path).
    """
    final = Path(final)
    check_writable(final, overwrite=overwrite)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    tmp = tmpdir / final.name
    try:
        yield tmp
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def write_text(final: Path | str, text: str, *, encoding: str = "utf-8", overwrite: bool = True) -> Path:
    """Atomically write ``text`` to ``final``."""
    with atomic_path(final, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(final)
