"""Batch jobs: a site file of any size screened in the background on every core.

One job runs at a time (a single background thread); it reads the upload, screens it on a
process pool over every core (the same results as one process; the pool is started by the
first large job and kept, its workers holding the layers with their caches built), stores
every screening in the history, writes ``summary.csv`` and ``results.zip``
(``zoning.write_screen_outputs``) into the job's temporary folder and records the state and
progress in the history database, where ``GET /api/v1/jobs/{id}`` reads them.
Outputs that are gone (a restart cleared the temporary folder) are written again from the
stored results.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import threading
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from zoning.api import ScreenResults, screen, write_screen_outputs
from zoning.errors import NotFound, OutputProblem, ZoningError
from zoning.screening.result import ScreenResult
from zoning.service.errors import error_body
from zoning.service.uploads import Upload, read_upload

log = logging.getLogger("zoning.service")

#: below this many sites a job runs in its own thread (starting processes would cost more)
POOL_MIN_SITES = 500
#: progress is written to the database at most this often (seconds)
PROGRESS_EVERY = 0.5


class JobRunner:
    def __init__(self, service):
        self.service = service
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoning-job")
        self.root = service.work / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._pool = None

    def pool(self):
        """The process pool of this server's jobs: started by the first large job and kept, its
        workers holding the layers with their caches built (a new pool costs ~3 s per job)."""
        from zoning.engines.pool import WarmPool

        with self._lock:
            if self._pool is None:
                self._pool = WarmPool(self.service.layers, self.service.rule_pack,
                                      workers=self.service.settings.workers)
            return self._pool

    def _screen_on_pool(self, sites, attributes: dict, progress) -> ScreenResults:
        """What ``zoning.screen(compute="processes")`` does, on the kept pool."""
        from zoning.engines.pool import screen_processes
        from zoning.screening import attributes as attrs_mod
        from zoning.screening.overlay import DEFAULT_BUFFERS_M
        from zoning.screening.pipeline import prepare_sites

        svc = self.service
        frame = prepare_sites(sites, engine=svc.settings.engine)
        attrs_mod.parse_mapping(attributes)  # a bad attribute is refused before any worker sees it
        return ScreenResults(screen_processes(frame, layers=svc.layers, rule_pack=svc.rule_pack, attributes=attributes,
                                              buffers_m=tuple(DEFAULT_BUFFERS_M), progress=progress,
                                              pool=self.pool()), svc.layers)

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def submit(self, job_id: str, upload: Upload, *, attributes: dict, crs, layer, lang: str):
        return self.executor.submit(self._run, job_id, upload, attributes, crs, layer, lang)

    def _run(self, job_id: str, upload: Upload, attributes: dict, crs, layer, lang: str) -> None:
        svc = self.service
        history = svc.history
        t0 = time.perf_counter()
        try:
            history.update_job(job_id, state="running")
            sites = read_upload(upload, svc.settings.limits, crs=crs, layer=layer, engine=svc.settings.engine,
                                batch=True)
            total = len(sites)
            history.update_job(job_id, total=total)
            last = [0.0]

            def progress(done: int, n: int) -> None:
                now = time.perf_counter()
                if done == n or now - last[0] >= PROGRESS_EVERY:
                    last[0] = now
                    history.update_job(job_id, done=done, progress=round(done / max(n, 1) * 0.95, 4))

            pool = self.pool()
            if total >= POOL_MIN_SITES and pool.workers > 1:
                results = self._screen_on_pool(sites, attributes, progress)
            else:
                results = screen(sites, layers=svc.layers, rule_pack=svc.rule_pack, attributes=attributes,
                                 compute="local", progress=progress)
            keys = history.add_screenings(list(results), source="job", job_id=job_id,
                                          inputs={"files": upload.names, "attributes": attributes, "crs": crs,
                                                  "layer": layer})
            stored = [dataclasses.replace(r, id=k) for r, k in zip(results, keys)]
            self._write_outputs(job_id, stored, lang)
            counts = Counter(r.verdict or "error" for r in stored)
            history.update_job(job_id, state="done", progress=1.0, done=total, counts=dict(counts),
                               seconds=round(time.perf_counter() - t0, 3))
        except ZoningError as exc:
            from zoning.service.errors import status_of

            history.update_job(job_id, state="failed", error=error_body(status_of(exc)[1], exc.zh, exc.en),
                               seconds=round(time.perf_counter() - t0, 3))
        except Exception as exc:  # a bug: logged with its traceback, the job says so briefly
            log.exception("job %s failed", job_id)
            history.update_job(job_id, state="failed", error=error_body(
                "internal_error", "内部错误（已记录日志）", f"internal error ({type(exc).__name__}); it is logged"),
                seconds=round(time.perf_counter() - t0, 3))
        finally:
            upload.cleanup()

    def _write_outputs(self, job_id: str, results: list[ScreenResult], lang: str) -> Path:
        folder = self.folder(job_id)
        out = folder / "out"
        with self._lock:
            try:
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                write_screen_outputs(ScreenResults(results, self.service.layers), out, layers=self.service.layers,
                                     lang=lang, reports=False)
                if len(results) == 1:  # one site: same layout as a batch (results/<id>.json)
                    (out / "results").mkdir(exist_ok=True)
                    (out / "result.json").rename(out / "results" / "result.json")
                # whole or absent: a zip cut short by a full disk is never served
                part = folder / "results.zip.part"
                with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as z:
                    for path in sorted(out.rglob("*")):
                        if path.is_file() and path.name != ".zoning-output":
                            z.write(path, path.relative_to(out).as_posix())
                part.replace(folder / "results.zip")
            except OSError as exc:  # disk full or not writable: the client learns that, not the server's paths
                shutil.rmtree(folder, ignore_errors=True)
                log.warning("job %s: writing its files failed: %s", job_id, exc)
                raise OutputProblem("服务器无法写出任务文件（磁盘已满或不可写），请联系管理员",
                                    "the server could not write the job's files (disk full or not writable); "
                                    "tell its administrator") from None
        return folder

    def output(self, job_id: str, name: str, lang: str = "zh") -> Path:
        """``summary.csv`` or ``results.zip`` of a finished job (written again if they are gone)."""
        job = self.service.history.job(job_id)
        if job["state"] != "done":
            raise NotFound(f"任务 {job_id} 尚未完成（状态 {job['state']}）",
                           f"job {job_id} is not done yet (state {job['state']})")
        folder = self.folder(job_id)
        path = folder / "results.zip" if name == "results.zip" else folder / "out" / "summary.csv"
        if not path.exists():
            rows = self.service.history.screenings_of_job(job_id)
            results = [ScreenResult.from_dict(json.loads(text)) for _, text in rows]
            self._write_outputs(job_id, results, lang)
        return path

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self._pool is not None:
            self._pool.shutdown()
