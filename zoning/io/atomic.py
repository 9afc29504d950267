"""Atomic output: write to a staging sibling, then swap it into place.

A failure part-way (an exception, a full disk, kill -9) leaves the previous file or folder (or
nothing) behind, never a half-written or mixed one:

- every file of a run goes into a staging folder beside the target; at the end the staging
  folder and the target are exchanged in one ``renameat2(RENAME_EXCHANGE)`` (Linux; elsewhere
  two renames, and the next run puts the previous folder back if a crash fell between them);
- a lock file beside the target (``.<name>.zoning-lock``, a POSIX lock) refuses a second process
  writing the same target with a message naming it; the kernel drops the lock when a process
  dies, so a killed run never blocks the next one;
- staging folders of killed runs (their ``.pid`` names a process that is gone) are removed by
  the next run;
- a full disk, a read-only file system or a folder without permission is one line naming the
  output, never a traceback (:class:`OutputProblem`).
"""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

from zoning.errors import OutputExists, OutputProblem
from zoning.escape import terminal_text

#: written into every output folder zoning creates; only such folders (or empty ones) are replaced
MARKER = ".zoning-output"
_STAGE = ".zoning-stage-"
_OLD = ".zoning-old-"
_LOCK_SUFFIX = ".zoning-lock"
#: staging folders without a readable .pid older than this (seconds) are abandoned
_ORPHAN_AGE_S = 3600
#: errno values that mean "this output cannot be written" (not a bug)
WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG, errno.EIO,
                errno.ENAMETOOLONG, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOTEMPTY,
                errno.EBUSY, errno.EXDEV, errno.EMLINK, errno.ELOOP, errno.ETXTBSY}
_WRITE_WORDS = re.compile(r"No space left on device|Read-only file system|Permission denied|Disk quota exceeded|"
                          r"File too large|Input/output error|database or disk is full|disk I/O error", re.I)


# --- reasons ----------------------------------------------------------------------------------
def write_failure(exc: BaseException, where: Path | None = None) -> str | None:
    """The reason (``No space left on device``) when ``exc`` says an output could not be written,
    else None. Knows OSError and the GDAL/pyogrio/fiona/rasterio errors that wrap one. With
    ``where`` (the output's folder), an OSError naming a file elsewhere (an input) is not one."""
    from zoning.errors import ZoningError

    if isinstance(exc, ZoningError):
        return None
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        if exc.errno not in _ALWAYS_WRITE and where is not None and exc.filename is not None:
            try:
                inside = os.path.abspath(str(exc.filename)).startswith(os.path.abspath(where))
            except (TypeError, ValueError):
                inside = False
            if not inside:
                return None
        return exc.strerror or os.strerror(exc.errno)
    m = _WRITE_WORDS.search(str(exc))
    if m:
        return m.group(0)
    if where is not None and _nearly_full(where):  # GDAL/SQLite often report a full disk as something else
        return os.strerror(errno.ENOSPC)
    return None


#: below this many free bytes a failed write is taken for a full disk
_FULL_BYTES = 1 << 20


def _nearly_full(where: Path) -> bool:
    try:
        return shutil.disk_usage(where).free < _FULL_BYTES
    except OSError:
        return False


#: errno values that are a failed write wherever they come from
_ALWAYS_WRITE = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG}


def _reason(exc: BaseException) -> str:
    return write_failure(exc) or getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0]


def _problem(target: Path, reason: str) -> OutputProblem:
    return OutputProblem(f"无法写入输出 {target}：{reason}（磁盘已满、只读或无写权限？）",
                         f"cannot write output {target}: {reason} (disk full, read-only or no permission?)")


def _check_path_text(path: Path) -> None:
    if "\x00" in str(path):
        raise OutputProblem(f"输出路径含有 NUL 字符：{str(path)!r}", f"the output path contains a NUL character: "
                            f"{str(path)!r}")


def _writable_parent(path: Path) -> Path:
    """Create ``path``'s folder if needed; refuse with one line (naming ``path``) when it cannot be written."""
    _check_path_text(path)
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputProblem(f"无法创建输出目录 {parent}（用于 {path}）：{exc.strerror or exc}",
                            f"cannot create output folder {parent} (for {path}): {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputProblem(f"输出目录不可写：{parent}（无法写出 {path}）",
                            f"output folder is not writable: {parent} (cannot write {path})")
    return parent


# --- process identity (a pid may be reused: the start time tells processes apart) -------------
def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        return stat[stat.rindex(")") + 2:].split()[19]
    except (OSError, ValueError, IndexError):
        return ""


def _token() -> str:
    pid = os.getpid()
    return f"{pid} {_start_time(pid)}".strip()


def _alive(token: str) -> bool:
    parts = token.split()
    try:
        pid = int(parts[0])
    except (ValueError, IndexError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = parts[1] if len(parts) > 1 else ""
    now = _start_time(pid)
    return not (started and now and started != now)


# --- the lock ---------------------------------------------------------------------------------
_LOCKS: dict[str, tuple[int, Path, int]] = {}  # target -> (fd, lock file, pid that took it)


def _lock_file(final: Path) -> Path:
    return final.parent / f".{final.name}{_LOCK_SUFFIX}"


def _key(final: Path) -> str:
    return os.path.abspath(final)


def acquire_output_lock(final: Path | str) -> None:
    """Take the write lock of ``final`` for this process (re-entrant), or refuse with a message
    naming the other writer. Released by :func:`release_output_lock` or when the process ends."""
    try:
        import fcntl
    except ImportError:  # no POSIX locks (Windows): the staged swap still keeps outputs whole
        return
    final = Path(final)
    key = _key(final)
    if key in _LOCKS:
        if _LOCKS[key][2] == os.getpid():
            return
        with contextlib.suppress(OSError):  # inherited through fork: POSIX locks are not, so take it anew
            os.close(_LOCKS.pop(key)[0])
    lock = _lock_file(final)
    for _ in range(20):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            raise OutputProblem(f"无法写入输出 {final}：无法在 {final.parent} 中新建文件（{exc.strerror or exc}）",
                                f"cannot write output {final}: cannot create files in {final.parent} "
                                f"({exc.strerror or exc})") from None
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # per process: forked workers do not inherit it
        except OSError as exc:
            try:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").split()
            except OSError:
                holder = []
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise OutputProblem(f"无法锁定输出 {final}：{exc.strerror}", f"cannot lock output {final}: "
                                    f"{exc.strerror}") from None
            who = f"（进程 {holder[0]}）" if holder else ""
            who_en = f" (pid {holder[0]})" if holder else ""
            raise OutputProblem(f"另一个 zoning 进程{who}正在写入 {final}；请等它结束，或换一个输出位置",
                                f"another zoning run{who_en} is writing to {final}; wait for it to finish or "
                                f"choose another output") from None
        try:  # the file may have been removed (and made anew) by the writer we waited for: lock the current one
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except OSError:
            same = False
        if not same:
            os.close(fd)
            continue
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, _token().encode("ascii"), 0)
        _LOCKS[key] = (fd, lock, os.getpid())
        return
    raise OutputProblem(f"无法锁定输出 {final}", f"cannot lock output {final}: its lock file keeps changing")


def release_output_lock(final: Path | str) -> None:
    """Give up the write lock of ``final`` (and remove the lock file) if this process holds it."""
    held = _LOCKS.pop(_key(Path(final)), None)
    if held is None:
        return
    fd, lock, pid = held
    if pid != os.getpid():  # another process's (inherited through fork): not ours to remove
        with contextlib.suppress(OSError):
            os.close(fd)
        return
    with contextlib.suppress(OSError):
        os.unlink(lock)  # while still locked: a waiting process then sees a different file and retries
    with contextlib.suppress(OSError):
        os.close(fd)


@atexit.register
def _release_all() -> None:
    for key in list(_LOCKS):
        release_output_lock(key)


# --- stale staging folders --------------------------------------------------------------------
def _stage_of(entry: Path, name: str) -> bool:
    """True when ``entry`` is a staging (or set-aside) folder of the output called ``name``."""
    for prefix in (_STAGE, _OLD):
        if entry.name.startswith(prefix + name + "."):
            rest = entry.name[len(prefix + name) + 1:]
            if re.fullmatch(r"[a-z0-9_]{8}", rest):
                return True
    return False


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            entry.unlink()


def clean_stale_stages(parent: Path, name: str | None = None) -> None:
    """Remove what killed runs left beside their outputs in ``parent``.

    With ``name`` (whose lock this process holds): every staging folder of that output goes,
    and a previous folder set aside by an interrupted swap is put back first. Staging folders of
    other outputs go when the process that made them is gone.
    """
    parent = Path(parent)
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    if name is not None and not (parent / name).exists():
        for entry in entries:  # an interrupted two-rename swap: the previous output is set aside here
            if entry.name.startswith(_OLD + name + ".") and _stage_of(entry, name) and (entry / name).is_dir():
                with contextlib.suppress(OSError):
                    os.replace(entry / name, parent / name)
                break
    for entry in entries:
        if not entry.name.startswith((_STAGE, _OLD)):
            continue
        if name is not None and _stage_of(entry, name):
            if _token() != _read_token(entry):
                _remove(entry)
            continue
        token = _read_token(entry)
        if token:
            if not _alive(token):
                _remove(entry)
        else:
            with contextlib.suppress(OSError):
                if time.time() - entry.lstat().st_mtime > _ORPHAN_AGE_S:
                    _remove(entry)


def _read_token(entry: Path) -> str:
    try:
        return (entry / ".pid").read_text(encoding="ascii", errors="replace").strip() if entry.is_dir() else ""
    except OSError:
        return ""


def _new_stage(final: Path) -> Path:
    stage = Path(tempfile.mkdtemp(prefix=f"{_STAGE}{final.name}.", dir=final.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)  # mkdtemp makes it private; outputs are for sharing
    (stage / ".pid").write_text(_token(), encoding="ascii")
    return stage


# --- the swap ---------------------------------------------------------------------------------
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE). False where not supported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(stage: Path, final: Path) -> None:
    """Put ``stage`` where ``final`` is, in one step where the system allows it; the previous
    ``final`` (if any) is removed afterwards."""
    if final.exists() or final.is_symlink():
        if final.is_dir() and not final.is_symlink() and _exchange(stage, final):
            _remove(stage)  # now the previous output
            return
        old = Path(tempfile.mkdtemp(prefix=f"{_OLD}{final.name}.", dir=final.parent))
        os.replace(final, old / final.name)
        try:
            os.replace(stage, final)
        except OSError:
            os.replace(old / final.name, final)  # put the previous output back
            raise
        _remove(old)
        return
    os.replace(stage, final)


# --- files ------------------------------------------------------------------------------------
def _staged(path: Path) -> bool:
    """True for a path inside a staging folder (written by a :func:`staged_folder` block)."""
    return any(part.startswith(_STAGE) for part in Path(path).parts[:-1])


def check_writable(path: Path, *, overwrite: bool) -> None:
    """Refuse to clobber ``path`` unless ``overwrite``; make sure its folder can be written."""
    path = Path(path)
    _check_path_text(path)
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
    A write that fails for want of space or permission is an :class:`OutputProblem` naming ``final``.
    """
    final = Path(final)
    check_writable(final, overwrite=overwrite)
    acquire_output_lock(final)
    try:
        clean_stale_stages(final.parent, final.name)
        try:
            tmpdir = _new_stage(final)
        except OSError as exc:
            raise _problem(final, _reason(exc)) from None
        tmp = tmpdir / final.name
        try:
            try:
                yield tmp
                if final.is_dir() and not final.is_symlink() and tmp.is_dir():
                    _swap_in(tmp, final)
                else:
                    if final.is_dir() and not final.is_symlink():
                        shutil.rmtree(final)
                    os.replace(tmp, final)
            except Exception as exc:  # noqa: BLE001 - only write failures are turned into a message
                reason = write_failure(exc, final.parent)
                if reason is None or _staged(final):  # inside a staging folder: its owner names the output
                    raise
                raise _problem(final, reason) from None
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
    finally:
        release_output_lock(final)


def write_text(final: Path | str, text: str, *, encoding: str = "utf-8", overwrite: bool = True) -> Path:
    """Atomically write ``text`` to ``final``."""
    with atomic_path(final, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(final)


# --- folders ----------------------------------------------------------------------------------
def check_folder_writable(final: Path | str, *, overwrite: bool, lock: bool = True) -> Path:
    """The one overwrite guard for output folders.

    A folder is written whole: it must not exist, be empty, or (with ``overwrite``) be a folder
    that zoning wrote before (it holds :data:`MARKER`). Anything else is refused, so that
    ``-o`` can never wipe a user's own files. With ``lock`` (default) this process also takes
    the folder's write lock, so a second concurrent writer is refused now, before any work.
    """
    final = Path(final)
    _check_path_text(final)
    try:
        exists, is_dir = final.exists(), final.is_dir()
    except OSError as exc:
        raise OutputProblem(f"无法使用输出目录 {final}：{exc.strerror or exc}",
                            f"cannot use output folder {final}: {exc.strerror or exc}") from None
    if exists and not is_dir:
        raise OutputExists(f"输出路径已存在且不是目录：{final}", f"output path exists and is not a folder: {final}")
    if is_dir:
        if os.path.ismount(final):
            raise OutputProblem(f"输出目录 {final} 是一个挂载点：zoning 整体替换输出目录，请在其中指定子目录",
                                f"output folder {final} is a mount point: zoning replaces output folders whole; "
                                f"name a folder inside it")
        if not os.access(final, os.W_OK | os.X_OK):
            raise OutputProblem(f"输出目录不可写：{final}", f"output folder is not writable: {final}")
        try:
            others = any(p.name != MARKER for p in final.iterdir())
        except OSError as exc:
            raise OutputProblem(f"无法读取输出目录 {final}：{exc.strerror or exc}",
                                f"cannot read output folder {final}: {exc.strerror or exc}") from None
        if others:
            if not (final / MARKER).exists():
                raise OutputExists(f"输出目录 {final} 已有其他文件且不是 zoning 的输出目录；请指定新目录",
                                   f"output folder {final} holds other files and was not written by zoning; "
                                   f"choose a new folder")
            if not overwrite:
                raise OutputExists(f"输出已存在：{final}；如需覆盖请加 --overwrite",
                                   f"output exists: {final}; pass --overwrite (overwrite=True in Python) to replace it")
            foreign = _foreign_files(final)
            if foreign:  # a zoning folder the user has added files to: replacing it would lose them
                shown = ", ".join(terminal_text(f) for f in foreign[:3]) + (" …" if len(foreign) > 3 else "")
                raise OutputExists(f"{final} 中有 {len(foreign)} 个非 zoning 写出的文件（{shown}），覆盖会删除：请先移走",
                                   f"{final} holds {len(foreign)} file(s) zoning did not write ({shown}); "
                                   f"move them first")
    _writable_parent(final)
    if lock:
        acquire_output_lock(final)
    return final


def ensure_folder(folder: Path | str) -> Path:
    """Create ``folder`` (and parents) and make sure files can be created in it; one line if not."""
    folder = Path(folder)
    _check_path_text(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f"{_STAGE}probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputProblem(f"输出目录不可写：{folder}（{exc.strerror or exc}）",
                            f"output folder is not writable: {folder} ({exc.strerror or exc})") from None
    return folder


#: first line of the marker; the files the run wrote follow, one relative path a line
_MARKER_HEAD = "written by zoning; may be replaced by a later zoning run"


def _write_marker(folder: Path) -> None:
    """The marker of a finished output folder, listing every file the run wrote in it."""
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())
    (folder / MARKER).write_text("\n".join([_MARKER_HEAD, *files]) + "\n", encoding="utf-8")


def _foreign_files(folder: Path) -> list[str]:
    """Files in a zoning output folder that its marker does not list (added by the user since).
    A marker of an older zoning that lists nothing vouches for the whole folder."""
    try:
        listed = (folder / MARKER).read_text(encoding="utf-8", errors="replace").splitlines()[1:]
    except OSError:
        return []
    if not listed:
        return []
    known = set(listed) | {MARKER}
    try:
        present = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()]
    except OSError:
        return []
    return sorted(f for f in present if f not in known and not f.endswith((".lock", ".pid")))


@contextlib.contextmanager
def staged_folder(final: Path | str, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``final`` as a whole.

    Every file of a run goes into the staging folder; only when the block ends without error
    is it swapped with the old folder (one atomic exchange on Linux). A failure (or kill -9)
    leaves the previous folder as it was; the next run removes the abandoned staging folder.
    A write that fails for want of space or permission (in the block or in the swap) is an
    :class:`OutputProblem` naming ``final``. Holds ``final``'s write lock until the end.
    """
    final = check_folder_writable(final, overwrite=overwrite)
    try:
        clean_stale_stages(final.parent, final.name)
        try:
            stage = _new_stage(final)
        except OSError as exc:
            raise OutputProblem(f"无法写入输出目录 {final}：无法在 {final.parent} 中新建文件（{_reason(exc)}）",
                                f"cannot write output folder {final}: cannot create files in {final.parent} "
                                f"({_reason(exc)})") from None
        try:
            try:
                yield stage
                (stage / ".pid").unlink()
                _write_marker(stage)
                _swap_in(stage, final)
            except Exception as exc:  # noqa: BLE001 - only write failures are turned into a message
                reason = write_failure(exc, final.parent)
                if reason is None:
                    raise
                raise _problem(final, reason) from None
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    finally:
        release_output_lock(final)
