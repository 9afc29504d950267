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


def _writable_parent(path: Path) -> Path:
    """Create ``path``'s folder if needed; refuse with one line when it cannot be written."""
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputProblem(f"无法创建输出目录 {parent}：{exc.strerror}",
                            f"cannot create output folder {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputProblem(f"输出目录不可写：{parent}", f"output folder is not writable: {parent}")
    return parent


def check_writable(path: Path, *, overwrite: bool) -> None:
    """Refuse to clobber ``path`` unless ``overwrite``; make sure its folder can be written."""
    path = Path(path)
    if path.is_dir():
        raise OutputExists(f"输出路径是一个目录：{path}；请给出文件名，例如 {path / 'map.html'}",
                           f"output path is a folder: {path}; name a file, e.g. {path / 'map.html'}")
    if path.exists() and not overwrite:
        raise OutputExists(f"输出已存在：{path}；如需覆盖请加 --overwrite",
                           f"output exists: {path}; pass --overwrite (overwrite=True in Python) to replace it")
    _writable_parent(path)


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


#: written into every output folder zoning creates; only such folders (or empty ones) are replaced
MARKER = ".zoning-output"
_STAGE = ".zoning-stage-"
_OLD = ".zoning-old-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_stages(parent: Path) -> None:
    """Remove staging folders beside ``parent``'s outputs whose writing process has died (kill -9)."""
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith((_STAGE, _OLD)) or not entry.is_dir():
            continue
        try:
            pid = int((entry / ".pid").read_text().strip() or 0) if (entry / ".pid").exists() else 0
        except (OSError, ValueError):
            pid = 0
        if pid and pid != os.getpid() and _pid_alive(pid):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def check_folder_writable(final: Path | str, *, overwrite: bool) -> Path:
    """The one overwrite guard for output folders.

    A folder is written whole: it must not exist, be empty, or (with ``overwrite``) be a folder
    that zoning wrote before (it holds :data:`MARKER`). Anything else is refused, so that
    ``-o`` can never wipe a user's own files.
    """
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise OutputExists(f"输出路径已存在且不是目录：{final}", f"output path exists and is not a folder: {final}")
    if final.is_dir() and any(p.name != MARKER for p in final.iterdir()):
        if not (final / MARKER).exists():
            raise OutputExists(f"输出目录 {final} 已有其他文件且不是 zoning 的输出目录；请指定新目录",
                               f"output folder {final} holds other files and was not written by zoning; "
                               f"choose a new folder")
        if not overwrite:
            raise OutputExists(f"输出已存在：{final}；如需覆盖请加 --overwrite",
                               f"output exists: {final}; pass --overwrite (overwrite=True in Python) to replace it")
    _writable_parent(final)
    return final


@contextlib.contextmanager
def staged_folder(final: Path | str, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``final`` as a whole.

    Every file of a run goes into the staging folder; only when the block ends without error
    is the old folder moved aside and the new one renamed into place. A failure (or kill -9)
    leaves the previous folder as it was; the next run removes the abandoned staging folder.
    """
    final = check_folder_writable(final, overwrite=overwrite)
    parent = final.parent
    clean_stale_stages(parent)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f"{_STAGE}{final.name}.", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(stage, 0o777 & ~umask)  # mkdtemp makes it private; outputs are for sharing
        (stage / ".pid").write_text(str(os.getpid()))
    except OSError as exc:
        raise OutputProblem(f"无法写入输出目录 {parent}：{exc.strerror}",
                            f"cannot write to output folder {parent}: {exc.strerror}") from None
    try:
        yield stage
        try:
            (stage / ".pid").unlink()
            (stage / MARKER).write_text("written by zoning; may be replaced by a later zoning run\n", encoding="utf-8")
            old = None
            if final.exists():
                old = Path(tempfile.mkdtemp(prefix=f"{_OLD}{final.name}.", dir=parent))
                os.replace(final, old / final.name)
            try:
                os.replace(stage, final)
            except OSError:
                if old is not None:  # put the previous output back
                    os.replace(old / final.name, final)
                raise
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            raise OutputProblem(f"无法写入输出目录 {final}：{exc.strerror or exc}",
                                f"cannot write output folder {final}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
