"""Batch jobs: a site file of any size screened in the background on every core.

One job runs at a time (a single background thread); it reads the upload, screens it on a
process pool over every core (the same results as one process; the pool is started by the
first large job and kept, its workers holding the layers with their caches built), stores
every screening in the history, writes ``summary.csv`` and ``results.zip``
(``zoning.write_screen_outputs``) into the job's temporary folder and records the state and
progress in the history database, where ``GET /api/v1/jobs/{id}`` reads them.
Outputs that are gone (a restart cleared the temporary folder) are written again from the
stored results.

Each server process has a boot id (:attr:`JobRunner.owner`), stored with the jobs it takes;
while it has unfinished jobs it refreshes their heartbeat every ``Settings.heartbeat_s()``.
A queued or running job whose heartbeat (and last update) is older than
``Settings.job_stale_s`` belongs to a server that is gone (killed, crashed, stopped): it is
failed, with the code ``interrupted``, when it is read, so clients stop polling. Several
server processes and servers may share one database: only a job nobody keeps alive is failed,
never every running job at start. A server stopped normally fails its queued jobs at once.
"""
from __future__ import annotations

import dataclasses
import json
import datetime as _dt
import logging
import os
import secrets
import shutil
import socket
import threading
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from zoning.api import ScreenResults, screen, write_screen_outputs
from zoning.errors import JobFailed, NotFound, OutputProblem, ZoningError
from zoning.screening.result import ScreenResult
from zoning.service.errors import error_body
from zoning.service.history import ACTIVE_STATES
from zoning.service.uploads import Upload, read_upload

log = logging.getLogger("zoning.service")

#: below this many sites a job runs in its own thread (starting processes would cost more)
POOL_MIN_SITES = 500
#: a job's progress: screening fills 0-SHARE_SCREENING, storing in the history up to SHARE_STORED,
#: writing and zipping its files up to 0.99 (a 20,000-polygon job, 2 cores: 6, 9 and 16 s)
SHARE_SCREENING, SHARE_STORED = 0.2, 0.5
#: progress is written to the database at most this often (seconds)
PROGRESS_EVERY = 0.5


def interrupted_error() -> dict:
    """The error of a job whose server stopped before it finished."""
    return error_body("interrupted", "服务在任务完成前停止（任务已中断），请重新提交",
                      "the server stopped before the job finished (the job was interrupted); submit it again")


class JobRunner:
    def __init__(self, service):
        self.service = service
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoning-job")
        self.root = service.work / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._pool = None
        #: this server process's boot id, stored with the jobs it takes (their heartbeat is its own)
        self.owner = f"{socket.gethostname()[:24]}:{os.getpid()}:{secrets.token_hex(6)}"
        self._state_lock = threading.Lock()
        self._active: dict[str, object] = {}  # job id -> its future: queued or running here
        self._closed = False
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

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
        from zoning.io.tables import source_columns

        return ScreenResults(screen_processes(frame, layers=svc.layers, rule_pack=svc.rule_pack, attributes=attributes,
                                              buffers_m=tuple(DEFAULT_BUFFERS_M), progress=progress,
                                              pool=self.pool()), svc.layers, frame[source_columns(frame)])

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def create(self, *, input_name: str | None, inputs: dict) -> str:
        """A new queued job owned by this server process (run it with :meth:`submit`)."""
        return self.service.history.add_job(input_name=input_name, inputs=inputs,
                                            workers=self.service.settings.workers, owner=self.owner)

    def submit(self, job_id: str, upload: Upload, *, attributes: dict, crs, layer, lang: str):
        with self._state_lock:
            self._active[job_id] = None
        future = self.executor.submit(self._run, job_id, upload, attributes, crs, layer, lang)
        with self._state_lock:
            if job_id in self._active:  # not finished already
                self._active[job_id] = future
            if self._beat is None or not self._beat.is_alive():
                self._beat = threading.Thread(target=self._heartbeat_loop, name="zoning-job-heartbeat",
                                              daemon=True)
                self._beat.start()
        return future

    def _heartbeat_loop(self) -> None:
        """Refresh the heartbeat of this process's unfinished jobs while there are any; ends once
        the runner is shut down and its last job is over."""
        every = self.service.settings.heartbeat_s()
        while True:
            with self._state_lock:
                active, closed = bool(self._active), self._closed
            if closed and not active:
                return
            if active:
                try:
                    self.service.history.heartbeat(self.owner)
                except Exception as exc:  # noqa: BLE001 - a database hiccup: the next beat tries again
                    log.warning("job heartbeat failed: %s", exc)
            if closed:
                time.sleep(every)
            else:
                self._stop.wait(every)

    def stale(self, job: dict) -> bool:
        """Whether an unfinished job has had no heartbeat (nor update) for ``job_stale_s``."""
        if job["state"] not in ACTIVE_STATES:
            return False
        with self._state_lock:
            if job["id"] in self._active:  # ours, and we are alive
                return False
        stamps = [t for t in (job.get("heartbeat_at"), job.get("updated_at")) if t]
        if not stamps:
            return True
        try:
            last = max(_dt.datetime.fromisoformat(t) for t in stamps)
        except ValueError:
            return True
        age = (_dt.datetime.now(_dt.timezone.utc) - last).total_seconds()
        return age > self.service.settings.job_stale_s

    def state(self, job_id: str) -> dict:
        """The job's row; a job of a server that is gone is failed first (``interrupted``)."""
        history = self.service.history
        job = history.job(job_id)
        if self.stale(job):
            if history.fail_if_stale(job_id, self.service.settings.job_stale_s, interrupted_error()):
                log.warning("job %s: its server (%s) stopped before it finished; marked failed", job_id,
                            job.get("owner") or "unknown")
            job = history.job(job_id)
        return job

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
            pool = self.pool()
            screening = self._stage(job_id, 0.0, SHARE_SCREENING, count=True)
            if total >= POOL_MIN_SITES and pool.workers > 1:
                results = self._screen_on_pool(sites, attributes, screening)
            else:
                results = screen(sites, layers=svc.layers, rule_pack=svc.rule_pack, attributes=attributes,
                                 compute="local", progress=screening)
            columns = None if results.source is None else results.source.to_dict("records")
            keys = history.add_screenings(list(results), source="job", job_id=job_id,
                                          inputs={"files": upload.names, "attributes": attributes, "crs": crs,
                                                  "layer": layer},
                                          progress=self._stage(job_id, SHARE_SCREENING, SHARE_STORED),
                                          columns=columns)
            stored = [dataclasses.replace(r, id=k) for r, k in zip(results, keys)]
            self._write_outputs(job_id, stored, lang, progress=self._stage(job_id, SHARE_STORED, 0.99),
                                source=results.source)
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
            with self._state_lock:
                self._active.pop(job_id, None)
            upload.cleanup()

    def _stage(self, job_id: str, low: float, high: float, *, count: bool = False):
        """A ``progress(done, n)`` callback for one stage of a job: its progress from ``low`` to
        ``high`` (``done`` sites too when ``count``), written at most every PROGRESS_EVERY s."""
        history, last = self.service.history, [0.0]

        def progress(done: int, n: int) -> None:
            now = time.perf_counter()
            if done == n or now - last[0] >= PROGRESS_EVERY:
                last[0] = now
                share = round(low + (high - low) * done / max(n, 1), 4)
                history.update_job(job_id, progress=share, **({"done": done} if count else {}))
        return progress

    def _write_outputs(self, job_id: str, results: list[ScreenResult], lang: str, progress=None,
                       source=None) -> Path:
        """summary.csv, the results and ``results.zip`` (whole or absent); ``progress(done, n)`` is
        told as the files are written (the zip's entries count as much as the files); ``source``:
        the site file's own columns, carried into the summaries (kept in the history with each
        screening's inputs, so files written again after they were removed hold them too)."""
        folder = self.folder(job_id)
        out = folder / "out"
        with self._lock:
            try:
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                n = len(results)
                write_screen_outputs(ScreenResults(results, self.service.layers, source), out, layers=self.service.layers,
                                     lang=lang, reports=False,
                                     progress=(lambda i, _: progress(i, 2 * n)) if progress else None)
                if len(results) == 1:  # one site: same layout as a batch (results/<id>.json)
                    (out / "results").mkdir(exist_ok=True)
                    (out / "result.json").rename(out / "results" / "result.json")
                files = [p for p in sorted(out.rglob("*")) if p.is_file() and p.name != ".zoning-output"]
                # whole or absent: a zip cut short by a full disk is never served
                part = folder / "results.zip.part"
                with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as z:
                    for i, path in enumerate(files, 1):
                        z.write(path, path.relative_to(out).as_posix())
                        if progress:
                            progress(n + n * i // len(files), 2 * n)
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
        job = self.state(job_id)
        if job["state"] == "failed":
            error = job["error"] or {}
            zh = error.get("message_zh") or "原因未记录"
            en = error.get("message_en") or "no reason recorded"
            raise JobFailed(f"任务 {job_id} 已失败，没有结果文件：{zh}",
                            f"job {job_id} failed, it has no result files: {en}")
        if job["state"] != "done":
            raise NotFound(f"任务 {job_id} 尚未完成（状态 {job['state']}）",
                           f"job {job_id} is not done yet (state {job['state']})")
        folder = self.folder(job_id)
        path = folder / "results.zip" if name == "results.zip" else folder / "out" / "summary.csv"
        if not path.exists():
            rows = self.service.history.screenings_of_job(job_id)
            results = [ScreenResult.from_dict(json.loads(text)) for _, text, _ in rows]
            own = [inputs.get("columns") for _, _, inputs in rows]
            source = pd.DataFrame(own) if own and all(isinstance(c, dict) for c in own) else None
            self._write_outputs(job_id, results, lang, source=source)
        return path

    def shutdown(self) -> None:
        """Stop taking jobs: the queued ones fail at once (``interrupted``); a running one ends
        as it can (its heartbeat goes on until then)."""
        with self._state_lock:
            self._closed = True
        self.executor.shutdown(wait=False, cancel_futures=True)
        with self._state_lock:
            cancelled = [j for j, f in self._active.items() if f is not None and f.cancelled()]
            for j in cancelled:
                self._active.pop(j)
        for j in cancelled:
            try:
                self.service.history.update_job(j, state="failed", error=interrupted_error())
            except Exception as exc:  # noqa: BLE001 - the database is gone too: the heartbeat rule fails them later
                log.warning("job %s: could not mark it failed at shutdown: %s", j, exc)
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown()
