"""kill -9 in the middle of writes: every output is whole (the previous run's or the new one's,
never a mix, never half a file) and the next run leaves no staging folder or lock behind.

Each run is a forked copy of this process (the layers already loaded, so a run starts at once)
killed with SIGKILL at a random moment of its work: a real kill -9 of a process writing outputs.
Quick in ``make test`` (a few kills per command); ``make fuzz`` kills 20 times per command.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

from fuzz_support import LONG, check_written, cli, patch_layers, record

KILLS = 20 if LONG else 3


@pytest.fixture(scope="module", autouse=True)
def cached_layers(catalog):
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    with pytest.MonkeyPatch.context() as mp:
        patch_layers(mp)
        from fuzz_support import Cached

        Cached.get()
        yield


def forked(args, kill_after: float | None = None) -> int | None:
    """Run ``zoning ARGS`` in a forked child; SIGKILL it after ``kill_after`` s. Exit code, None if killed."""
    pid = os.fork()
    if pid == 0:  # the child: run the command, leave without any clean-up of the parent's
        code = 98
        try:
            code = cli(*args).exit_code
        finally:
            os._exit(code)
    if kill_after is not None:
        time.sleep(kill_after)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    return None if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith((".zoning-stage-", ".zoning-old-"))
                  or p.name.endswith(".zoning-lock"))


def csv_ids(path: Path) -> set[str]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    return {r[0] for r in rows[1:]}


def screen_state(out: Path, sets: dict) -> str:
    """Which whole output the folder holds ("A"/"B"), or raise if it is partial or mixed."""
    assert (out / ".zoning-output").exists(), "marker missing: not a whole output folder"
    ids = {p.stem for p in (out / "results").glob("*.json")}
    for p in (out / "results").glob("*.json"):
        json.loads(p.read_text(encoding="utf-8"))
    summary = csv_ids(out / "summary.csv")
    assert (out / "map.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    for name, expected in sets.items():
        if ids == expected and summary == expected:
            return name
    raise AssertionError(f"mixed or partial output: results {sorted(ids)}, summary {sorted(summary)}")


def export_state(out: Path, sets: dict) -> str:
    folders = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(folders) == 1, folders
    folder = folders[0]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["file"] for f in manifest["files"]}
    for f in manifest["files"]:
        assert hashlib.sha256((folder / f["file"]).read_bytes()).hexdigest() == f["sha256"], f["file"]
    present = {p.name for p in folder.iterdir()} - {"manifest.json", ".zoning-output"} - set(manifest["data_dictionary"])
    assert present == listed, (present, listed)
    for name, expected in sets.items():
        if listed == expected:
            return name
    raise AssertionError(f"mixed export: {sorted(listed)}")


def map_state(out: Path, sets: dict) -> str:
    page = out.read_text(encoding="utf-8")
    assert page.rstrip().endswith("</html>"), "half a page"
    found = [name for name, marker in sets.items() if marker in page]
    assert len(found) == 1, f"map holds {found}"
    return found[0]


def _points(path: Path, prefix: str, n: int) -> Path:
    path.write_text("id,name,lon,lat\n" + "".join(f"{prefix}{i},n,{118.17 + i / 40},{26.64 + i / 40}\n"
                                                  for i in range(n)), encoding="utf-8")
    return path


def _loop(tmp_path, name, runs, state, out, parent):
    """Run A to completion, then alternate A/B with a kill at a random moment; check after each."""
    rng = random.Random(20211025)
    started = time.time()
    assert forked(runs["A"]) == 0
    duration = max(0.3, time.time() - started)
    assert state(out) == "A"
    held = "A"
    stats = {"kills": 0, "finished_before_kill": 0}
    for k in range(KILLS):
        which = "B" if k % 2 == 0 else "A"
        code = forked(runs[which] + ["--overwrite"], kill_after=rng.uniform(0.05, duration * 1.1))
        now = state(out)  # whole: the previous output or the new one
        assert now in (held, which), (now, held, which)
        if code is None:
            stats["kills"] += 1
        else:
            assert code == 0
            stats["finished_before_kill"] += 1
        held = now
    assert forked(runs["A"] + ["--overwrite"]) == 0  # the next run cleans up what the killed ones left
    assert state(out) == "A"
    assert leftovers(parent) == [], leftovers(parent)
    check_written(out)
    record(**{f"kill9_{name}": stats["kills"], "kill9_total": stats["kills"], "kill9_stale_or_mixed": 0,
              "kill9_leftovers_after_next_run": 0, f"kill9_{name}_finished_first": stats["finished_before_kill"]})
    return stats


def test_kill9_screen_whole_or_previous(tmp_path):
    a, b = _points(tmp_path / "a.csv", "AA", 3), _points(tmp_path / "b.csv", "BB", 2)
    out = tmp_path / "screen"
    sets = {"A": {f"AA{i}" for i in range(3)}, "B": {f"BB{i}" for i in range(2)}}
    reports = ["--reports"] if LONG else []  # reports make each run (and so the loop) several times longer
    runs = {"A": ["screen", str(a), "-o", str(out), *reports], "B": ["screen", str(b), "-o", str(out), *reports]}
    _loop(tmp_path, "screen", runs, lambda o: screen_state(o, sets), out, tmp_path)


def test_kill9_export_whole_or_previous(tmp_path):
    out = tmp_path / "export"
    base = ["export", "--county", "延平区", "-o", str(out)]
    runs = {"A": base + ["--layers", "admin,park", "--format", "shp,csv"], "B": base + ["--layers", "admin", "--format", "csv"]}
    sets = {"A": {"350702_Yanping_admin.zip", "350702_Yanping_admin.csv", "350702_Yanping_park.zip",
                  "350702_Yanping_park.csv"}, "B": {"350702_Yanping_admin.csv"}}
    _loop(tmp_path, "export", runs, lambda o: export_state(o, sets), out, out)


def test_kill9_map_whole_or_previous(tmp_path):
    a, b = _points(tmp_path / "a.csv", "MAPA", 2), _points(tmp_path / "b.csv", "MAPB", 2)
    out = tmp_path / "map.html"
    runs = {"A": ["map", str(a), "-o", str(out)], "B": ["map", str(b), "-o", str(out)]}
    _loop(tmp_path, "map", runs, lambda o: map_state(o, {"A": "MAPA0", "B": "MAPB0"}), out, tmp_path)
