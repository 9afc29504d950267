"""Shared by the hostile-input tests (tests/test_hostile.py) and the fuzz suite (tests/test_fuzz_*.py).

- Two sizes: the quick one runs in ``make test``; ``HYPOTHESIS_PROFILE=long`` (``make fuzz``) runs
  many more examples and kills. :func:`examples` scales a test's example count.
- :func:`cli` runs a ``zoning`` command in this process (click's CliRunner) with the sample
  layer set loaded once; :func:`zoning_process` runs the real command in a subprocess.
- :func:`check_ending` asserts the contract of every command: a result or ONE line of message,
  exit 0/1/2, never 3, never a traceback, no control character reaching the terminal.
- :func:`check_written` asserts the contract of every output folder: no spreadsheet cell that
  would run as a formula, no page that could load or run anything, no leftover staging folder.
- :func:`record` adds to the figures of this run (tests/output/fuzz_figures.json).
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "layers" / "catalog.yaml"
OUTPUT = Path(__file__).parent / "output"
FIGURES = OUTPUT / "fuzz_figures.json"  # this process's figures (make test / make fuzz write it last)
LONG = os.environ.get("HYPOTHESIS_PROFILE", "").lower() == "long"
ZONING = Path(sys.executable).with_name("zoning")

#: hostile text: markup, script, network beacons, spreadsheet formulas, terminal control, paths, mathtext
HOSTILE = [
    '<img src=x onerror="window.__pwned=1">',
    '"><script>window.__pwned=2</script>',
    '<img src="http://127.0.0.1:9/beacon.png">',
    "<style>@import 'http://127.0.0.1:9/x.css';</style>",
    "javascript:window.__pwned=3",
    '=HYPERLINK("http://127.0.0.1:9/","click")',
    "=cmd|' /C calc'!A0",
    "@SUM(1,1)",
    "+1+1",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "\x1b]0;PWNED\x07",
    "\x1b[2J\x1b[H",
    "\u202egnp.exe",
    "a\x00b",
    "\x07bell",
    "../../../../tmp/zoning-escape",
    "CON",
    "$\\frac{$",
    "{{7*7}}${jndi:ldap://127.0.0.1:9/a}",
    "南平市延平区水源涵养红线",
    "x" * 3000,
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FIGURES: Counter = Counter()
_LOCK = threading.Lock()


def examples(quick: int, long: int | None = None) -> int:
    """How many hypothesis examples a fuzz test runs: ``quick`` in ``make test``, more with HYPOTHESIS_PROFILE=long."""
    return (long or quick * 12) if LONG else quick


def record(**counts) -> None:
    """Add to this run's figures and rewrite tests/output/fuzz_figures.json."""
    with _LOCK:
        _FIGURES.update(counts)
        OUTPUT.mkdir(exist_ok=True)
        FIGURES.write_text(json.dumps({"profile": "long" if LONG else "quick", **dict(sorted(_FIGURES.items()))},
                                      indent=2), encoding="utf-8")


# --- running commands -------------------------------------------------------------------------
class Cached:
    """The sample layer set loaded once, handed to every in-process command that asks for the default catalog."""

    layers = None

    @classmethod
    def get(cls):
        if cls.layers is None:
            from zoning.api import load_layers

            cls.layers = load_layers(CATALOG)
        return cls.layers


def patch_layers(monkeypatch) -> None:
    """In-process commands reuse the loaded sample layers (only for the default/sample catalog)."""
    import importlib

    import zoning.api as api

    modules = [importlib.import_module(f"zoning.cli.{m}") for m in ("carbon", "export", "map", "screen")]
    modules = [sys.modules[f"zoning.cli.{m}"] for m in ("carbon", "export", "map", "screen")]  # not the click groups
    real = api.load_layers

    def load(catalog=None, *, engine="pyogrio"):
        if catalog is None or Path(str(catalog)).resolve() == CATALOG.resolve():
            return Cached.get()
        return real(catalog, engine=engine)

    for module in modules:
        monkeypatch.setattr(module, "load_layers", load)


def cli(*args, env=None):
    """``zoning ARGS`` in this process; the result has ``exit_code``, ``stdout``, ``stderr``, ``exception``."""
    from zoning.cli import main

    env = {"ZONING_CATALOG": str(CATALOG), **(env or {})}
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=True)


def zoning_process(*args, cwd=None, timeout=300, **kwargs) -> subprocess.CompletedProcess:
    """The real ``zoning`` command in a subprocess (bytes out)."""
    env = {**os.environ, "ZONING_CATALOG": str(CATALOG)}
    env.pop("ZONING_DEBUG", None)
    return subprocess.run([str(ZONING), *[str(a) for a in args]], cwd=cwd, env=env, capture_output=True,
                          timeout=timeout, **kwargs)


def check_ending(code: int, stdout: str, stderr: str, what: str = "") -> str:
    """The contract of every command; returns "ok", "partial" or "message" for the figures."""
    where = f"{what}: exit {code}\nstdout: {stdout[-800:]}\nstderr: {stderr[-1500:]}"
    assert code in (0, 1, 2), where
    assert "Traceback" not in stdout + stderr and 'File "' not in stderr, where
    assert "内部错误" not in stderr and "internal error" not in stderr, where
    assert not _CONTROL.search(stdout + stderr), f"control character on the terminal: {where}"
    if code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert lines and lines[-1].startswith("错误："), where
        assert all(len(line) <= 320 for line in lines[-1:]), f"message longer than 320 characters: {where}"
        return "message"
    return "partial" if code == 1 else "ok"


def check_result(res, what: str = "") -> str:
    """:func:`check_ending` for a CliRunner result (and no exception escaped)."""
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        import traceback

        raise AssertionError(f"{what}: exception escaped: "
                             + "".join(traceback.format_exception(res.exception))[-3000:])
    return check_ending(res.exit_code, res.stdout, res.stderr, what)


# --- what was written -------------------------------------------------------------------------
def formula_cells(rows) -> list[str]:
    """Cells a spreadsheet would run as a formula (text starting with = + - @ tab CR, not a plain number)."""
    bad = []
    for row in rows:
        for cell in row:
            if isinstance(cell, str) and cell.lstrip(" \u3000\u00a0\ufeff").startswith(FORMULA_START) \
                    and set(cell.strip()) != {"-"}:  # "-", "--": placeholders, no formula
                try:
                    if math.isfinite(float(cell)):
                        continue
                except ValueError:
                    pass
                bad.append(cell[:80])
    return bad


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def xlsx_rows(path: Path) -> list[list]:
    """Cell values of every sheet; formulas (openpyxl data_type "f") come back as "=…" text."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    rows = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            rows.append([("=" + str(c.value).lstrip("=")) if c.data_type == "f" else c.value for c in row])
    return rows


def check_written(folder: Path) -> dict:
    """Every CSV/XLSX cell safe, every HTML page offline (reports: static), no staging leftovers.
    Returns counts for the figures."""
    from zoning.render.maps import assert_offline, assert_static_page

    counts = Counter()
    folder = Path(folder)
    files = [folder] if folder.is_file() else [p for p in folder.rglob("*") if p.is_file()]
    for path in files:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            bad = formula_cells(csv_rows(path))
            assert not bad, f"{path}: formula cells {bad[:3]}"
            counts["csv_files"] += 1
        elif suffix == ".xlsx":
            bad = formula_cells(xlsx_rows(path))
            assert not bad, f"{path}: formula cells {bad[:3]}"
            counts["xlsx_files"] += 1
        elif suffix == ".html":
            page = path.read_text(encoding="utf-8")
            assert_offline(page)
            if path.name != "map.html" and path.parent.name != "maps" and not path.name.startswith("map"):
                assert_static_page(page)
            counts["html_pages"] += 1
    parent = folder.parent
    leftovers = [p.name for p in parent.iterdir() if p.name.startswith((".zoning-stage-", ".zoning-old-"))]
    assert not leftovers, f"staging leftovers beside {folder}: {leftovers}"
    return counts


def chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def browse(pages: list[Path], *, act=None) -> dict:
    """Open each page in headless Chromium with every request blocked and recorded; returns
    {"requests": [...], "script_runs": [...], "errors": [...], "pages": n}. ``window.__pwned`` (set by
    the hostile texts' script) counts as a script run; so does any dialog."""
    from playwright.sync_api import sync_playwright

    from test_map import launch, watch

    out = {"requests": [], "script_runs": [], "errors": [], "pages": 0}
    with sync_playwright() as p:
        browser = launch(p)
        for path in pages:
            context = browser.new_context(viewport={"width": 1200, "height": 800})
            page = context.new_page()
            requests, errors = watch(page)
            page.on("dialog", lambda d: (out["script_runs"].append(f"dialog: {d.message}"), d.dismiss()))
            page.goto(Path(path).as_uri())
            if "map" in Path(path).name:
                page.wait_for_function("window.zoningReady === true", timeout=30_000)
            page.wait_for_timeout(300)
            if act is not None:
                act(page, path)
            pwned = page.evaluate("window.__pwned === undefined ? null : String(window.__pwned)")
            if pwned is not None:
                out["script_runs"].append(f"{path.name}: window.__pwned={pwned}")
            out["requests"] += [f"{path.name}: {u}" for u in requests]
            out["errors"] += [f"{path.name}: {e}" for e in errors]
            out["pages"] += 1
            context.close()
        browser.close()
    return out
