"""What every ``zoning`` command shares: options, exit codes, error mapping, progress, output."""
from __future__ import annotations

import errno
import math
import os
import sys
from pathlib import Path

import click

from zoning.errors import ZoningError
from zoning.escape import dumps_strict, terminal_json, terminal_text

#: exit codes, documented in the README
EXIT_OK = 0  #: done
EXIT_PARTIAL = 1  #: done, but some rows could not be processed or some checks failed (see the output)
EXIT_DATA = 2  #: bad input data, catalog, rule pack or output location: one line says what and how to fix it
EXIT_INTERNAL = 3  #: a bug in zoning (please report it; ZONING_DEBUG=1 shows the traceback)
EXIT_USAGE = 64  #: the command line itself is wrong (unknown option, missing argument, bad option value)
EXIT_INTERRUPTED = 130

CATALOG_OPTION = click.option("--catalog", type=click.Path(path_type=Path), default=None,
                              help="Layer catalog (YAML), or a folder holding catalog.yaml. Default: $ZONING_CATALOG "
                                   "or ./layers/catalog.yaml.")
ENGINE_OPTION = click.option("--io-engine", "engine", type=click.Choice(["pyogrio", "fiona"]), default="pyogrio",
                             show_default=True, help="Vector I/O engine.")
OVERWRITE_OPTION = click.option("--overwrite", is_flag=True, help="Replace an earlier output of zoning.")
LANG_OPTION = click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
                           help="Language of reports and maps.")
COMPUTE_OPTIONS = [
    click.option("--engine", "compute", type=click.Choice(["auto", "local", "processes", "dask"]), default="auto",
                 show_default=True, help="auto: a process pool over every core for 2,000 sites or more, else this "
                 "process; local: this process; processes: the pool; dask: a LocalCluster or the cluster at "
                 "--scheduler. All give the same results."),
    click.option("--scheduler", default=None, help="Address of an existing Dask scheduler, e.g. tcp://host:8786."),
]


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that refuses NaN, infinity and overflow (``1e400``) as bad data (exit 2):
    click itself would accept ``inf`` for ``min=1`` and ``nan`` for any range."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if isinstance(number, float) and not math.isfinite(number):
            name = param.opts[0] if param is not None and param.opts else "value"
            raise ZoningError(f"{name} 应为有限数值，而不是 {value!r}", f"{name} must be a finite number, not {value!r}")
        return number


#: ``type=float`` without NaN or infinity
FINITE_FLOAT = FiniteFloatRange()


def compute_options(func):
    for option in reversed(COMPUTE_OPTIONS):
        func = option(func)
    return func


def debugging() -> bool:
    """``zoning --debug …`` or ZONING_DEBUG=1: whole messages and tracebacks."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(os.environ.get("ZONING_DEBUG")) or bool(root is not None and (root.obj or {}).get("debug"))


class _TerminalStream:
    """stdout/stderr of the ``zoning`` command.

    - Every character written passes through :func:`zoning.escape.terminal_text` (newlines and
      tabs kept): data (site ids, names, rule texts, file names, error messages) can never move
      the cursor, clear the screen or set the window title, whichever code printed it.
    - It ends quietly when the reader goes away (``zoning … | head -1``): the run goes on and
      writes its files; what it would still print is dropped.
    """

    def __init__(self, stream):
        self._stream, self._gone = stream, False

    @property
    def raw(self):
        """The stream underneath (for the progress bar, which draws with CR)."""
        return self._stream

    def _drop(self) -> None:
        self._gone = True
        try:  # later flushes (also the interpreter's at exit) go nowhere instead of failing
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass

    def write(self, text):
        if self._gone:
            return len(text)
        try:
            self._stream.write(terminal_text(text, keep_newlines=True) if isinstance(text, str) else text)
            return len(text)
        except BrokenPipeError:
            self._drop()
            return len(text)
        except ValueError:  # the stream was closed under us
            self._gone = True
            return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._gone:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._drop()
        except ValueError:
            self._gone = True

    def __getattr__(self, name):
        return getattr(self._stream, name)


_QuietPipe = _TerminalStream  # the name of earlier versions


def raw_stream(stream):
    """The terminal stream underneath a wrapped ``sys.stdout``/``sys.stderr`` (for progress bars
    and servers that draw their own escape sequences)."""
    return stream.raw if isinstance(stream, _TerminalStream) else stream


def raw_terminal() -> None:
    """Unwrap stdout/stderr for the rest of the process (``zoning serve``: uvicorn's own log colours)."""
    sys.stdout, sys.stderr = raw_stream(sys.stdout), raw_stream(sys.stderr)


def _io_message(exc: BaseException) -> ZoningError | None:
    """An OSError (or a GDAL error wrapping one) as a one-line message: it is about a file or a
    folder the user named, a full disk or missing permission, not a bug in zoning."""
    from zoning.errors import OutputProblem, UnreadableInput
    from zoning.io.atomic import write_failure

    reason = write_failure(exc)
    name = getattr(exc, "filename", None)
    if isinstance(exc, OSError):
        reason = reason or exc.strerror or (str(exc).splitlines() or [type(exc).__name__])[0]
        if name is None:
            name = getattr(exc, "filename2", None)
        where = f"{name}：" if name else ""
        where_en = f"{name}: " if name else ""
        if exc.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG):
            folder = os.path.dirname(str(name)) if name else ""
            return OutputProblem(f"无法写入 {folder or name or '输出'}：{reason}（磁盘已满或只读？）",
                                 f"cannot write {folder or name or 'the output'}: {reason} (disk full or read-only?)")
        return UnreadableInput(f"无法访问 {where}{reason}", f"cannot access {where_en}{reason}")
    if reason:
        return OutputProblem(f"无法写入输出：{reason}（磁盘已满、只读或无写权限？）",
                             f"cannot write the output: {reason} (disk full, read-only or no permission?)")
    return None


class ZoningGroup(click.Group):
    """Maps every failure to one line and one exit code, in one place.

    ZoningError (bad data) -> its one-line message, exit 2; click usage errors -> click's
    usage message, exit 64; anything else is a bug -> one line, exit 3.
    """

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        # click would strip ANSI sequences itself off a terminal, silently changing paths and names;
        # every character goes through _TerminalStream instead, which shows them as escapes
        kwargs.setdefault("color", True)
        if not isinstance(sys.stdout, _TerminalStream) and sys.stdout is not None:
            sys.stdout = _TerminalStream(sys.stdout)
        if not isinstance(sys.stderr, _TerminalStream) and sys.stderr is not None:
            sys.stderr = _TerminalStream(sys.stderr)
        try:
            rv = super().main(*args, **kwargs)
        except click.UsageError as exc:
            exc.show()
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("已中断 / aborted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ZoningError as exc:
            if debugging() and exc.exit_code == EXIT_INTERNAL:
                raise
            for line in getattr(exc, "detail_lines", ()) or ():  # e.g. every problem of a rule pack
                click.echo(line, err=True)
            click.echo(exc.one_line(full=debugging()), err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("已中断 / interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except RecursionError:  # input nested beyond what any check foresaw: data, not a bug
            if debugging():
                raise
            click.echo("错误：输入嵌套过深，无法处理 | Error: the input nests too deeply to be processed", err=True)
            sys.exit(EXIT_DATA)
        except MemoryError:
            click.echo("错误：内存不足（输入过大？）| Error: out of memory (is the input too large?)", err=True)
            sys.exit(EXIT_DATA)
        except Exception as exc:  # a bug, not a user error: say so briefly
            message = _io_message(exc)
            if message is not None and not debugging():
                click.echo(message.one_line(), err=True)
                sys.exit(message.exit_code)
            if debugging():
                raise
            detail = " ".join(terminal_text(str(exc)).split())
            detail = detail if len(detail) <= 160 else detail[:159] + "…"
            click.echo(f"内部错误 / internal error: {type(exc).__name__}: {detail} "
                       f"(run with --debug for a traceback and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)


def echo_json(obj) -> None:
    """``obj`` as JSON on stdout; control characters as JSON escapes (still valid JSON)."""
    click.echo(terminal_json(dumps_strict(obj, indent=2)))


def note(msg: str) -> None:
    """A progress or status line on stderr (stdout stays for results)."""
    click.echo(f"  · {msg}", err=True)


class Bar:
    """A progress bar on a terminal, used as a ``progress(done, total)`` callback; silent otherwise.

    ``total`` may be 0 when it is not known yet: the bar starts at the first call.
    """

    def __init__(self, label: str, total: int = 0):
        self.label, self.bar, self.done = label, None, 0
        if total:
            self._start(total)

    def _start(self, total: int) -> None:
        if total > 1 and sys.stderr.isatty():
            self.bar = click.progressbar(length=total, label=self.label, file=raw_stream(sys.stderr))
            self.bar.__enter__()

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None and self.done == 0:
            self._start(total)
        if self.bar is not None:
            self.bar.update(done - self.done)
        self.done = done

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def parse_attributes(pairs) -> dict:
    from zoning.screening.attributes import parse_pairs

    return parse_pairs(pairs)
