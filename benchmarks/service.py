"""Service and process-pool benchmarks (``make bench`` runs this after benchmarks/run.py).

    python benchmarks/service.py [--quick] [pool] [load]

pool  N polygon sites (100,000; --quick 10,000) screened by ``zoning.screen`` in one process
      and on the process pool over every core, each run in a fresh process (as a user's would be:
      no other run's results in memory), one after the other; the results are compared by digest.
      Target on 2 cores: <= 25 s for 100,000 (issue 13).
load  ``zoning serve`` in its own process on 127.0.0.1; 4 concurrent clients (keep-alive) POST
      /api/v1/screen: a point, then a 12-vertex polygon (with its forest-carbon section), a
      bounded number of requests each (and at most 120 s). p50/p95 latency against the same
      screening in-process (one process, warm). Targets: p95 <= 150 ms (point), <= 250 ms (polygon).

Traffic goes to 127.0.0.1 only. Prints a table; writes benchmarks/results/service.json.
"""
from __future__ import annotations

import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
CATALOG = ROOT / "layers" / "catalog.yaml"


def load_average() -> float:
    """The 1-minute load average: other work on these cores while measuring."""
    return round(os.getloadavg()[0], 2)


def _peak_mib(who) -> float:
    """Peak resident memory (MiB) of this process (RUSAGE_SELF) or of its largest child so far."""
    import resource

    return resource.getrusage(who).ru_maxrss / 1024


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return []
    return kids + [g for k in kids for g in _children(k)]


def _screen_run(n: int, compute: str) -> dict:
    """One timed screening of ``n`` polygon sites in this (fresh) process: seconds, CPU, peak
    memory, and a digest of every result (to compare runs without keeping them)."""
    import hashlib
    import resource

    import zoning
    from workloads import land_sites

    layers = zoning.load_layers(CATALOG)
    sites = land_sites(layers, n, polygons=1.0, seed=n + 1)
    zoning.screen(sites.iloc[:50], layers=layers, compute="local")  # warm caches, as a server would be
    load0 = load_average()
    cpu0 = os.times()
    t = time.perf_counter()
    results = zoning.screen(sites, layers=layers, compute=compute)
    seconds = time.perf_counter() - t
    cpu1 = os.times()
    digest = hashlib.sha256()
    for r in results:
        digest.update(r.to_json().encode())
    return {"seconds": seconds, "parent_cpu_s": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
            "children_cpu_s": (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system),
            "peak_MiB": _peak_mib(resource.RUSAGE_SELF), "peak_MiB_children": _peak_mib(resource.RUSAGE_CHILDREN),
            "load": [load0, load_average()], "digest": digest.hexdigest(), "n": len(results)}


def _fresh(n: int, compute: str) -> dict:
    """:func:`_screen_run` in a fresh Python process: each run starts as a user's would, with no
    other run's results in memory (they would slow the next one's memory and collector)."""
    out = subprocess.run([sys.executable, __file__, "--run", str(n), compute], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def pool_figures(quick: bool) -> list[dict]:
    from zoning.engines.pool import default_workers

    n = 10_000 if quick else 100_000
    one = _fresh(n, "local")
    many = _fresh(n, "processes")
    workers = default_workers()
    cpu_one = one["parent_cpu_s"]
    cpu_pool = many["parent_cpu_s"] + many["children_cpu_s"]
    return [{"workload": f"pool: {n:,} polygon sites, {workers} processes", "seconds": many["seconds"],
             "baseline": "one process, same sites (each run in a fresh process)", "baseline_seconds": one["seconds"],
             "same_results": one["digest"] == many["digest"] and one["n"] == many["n"] == n,
             "target_s": 25.0 if n == 100_000 else None,
             "one_process_cpu_s": round(cpu_one, 1), "parent_cpu_s": round(many["parent_cpu_s"], 1),
             "children_cpu_s": round(many["children_cpu_s"], 1),
             "cpu_ms_per_site_one_process": round(cpu_one / n * 1000, 3),
             "cpu_ms_per_site_pool": round(cpu_pool / n * 1000, 3),
             # what the pool would take on idle cores: its CPU spread over them
             "idle_estimate_s": round(cpu_pool / workers, 1),
             # the parent holds every result either way; a worker holds the layers (shared
             # copy-on-write after a fork) and one chunk
             "peak_MiB_one_process": round(one["peak_MiB"]), "peak_MiB_parent": round(many["peak_MiB"]),
             "peak_MiB_largest_worker": round(many["peak_MiB_children"]),
             "load_average": [*one["load"], *many["load"]]}]


def _square12(lon: float, lat: float, d: float = 0.004) -> dict:
    ring = [[lon + d * math.cos(2 * math.pi * k / 12), lat + d * math.sin(2 * math.pi * k / 12)] for k in range(12)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def _client(port: int, bodies: list[bytes], out: list[float], errors: list[str], deadline: float) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for body in bodies:
        if time.time() > deadline:
            break
        t = time.perf_counter()
        conn.request("POST", "/api/v1/screen", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        out.append(time.perf_counter() - t)
        if resp.status != 200:
            errors.append(f"{resp.status} {data[:200]!r}")
    conn.close()


def _quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(math.ceil(q * len(values))) - 1)]


def load_figures(quick: bool) -> list[dict]:
    import numpy as np

    import zoning

    port = 18000 + os.getpid() % 1000
    tmp = Path(tempfile.mkdtemp(prefix="zoning-bench-"))
    server = subprocess.Popen([sys.executable, "-m", "zoning.cli", "serve", "--port", str(port), "--catalog",
                               str(CATALOG), "--db", str(tmp / "history.sqlite"), "--tmp-dir", str(tmp),
                               "--log-level", "warning"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    rows = []
    try:
        deadline = time.time() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/api/v1/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError("zoning serve did not start: " + (server.stderr.read().decode()[-500:]
                                                                     if server.poll() is not None else "timeout"))
            time.sleep(0.2)
        layers = zoning.load_layers(CATALOG)
        rng = np.random.default_rng(5)
        server_pids = [server.pid] + _children(server.pid)
        per_client = 25 if quick else 100
        attrs = {"industry": "C2041", "two_high": False, "chemical": False}
        for kind in ("point", "polygon"):
            lon = rng.uniform(117.9, 118.4, 4 * per_client)
            lat = rng.uniform(26.7, 27.3, 4 * per_client)
            sites = [{"type": "Point", "coordinates": [x, y]} if kind == "point" else _square12(x, y)
                     for x, y in zip(lon, lat)]
            bodies = [json.dumps({"site": s, "attributes": attrs}).encode() for s in sites]
            for b in bodies[:8]:  # warm-up, not measured
                _client(port, [b], [], [], time.time() + 30)
            times: list[float] = []
            errors: list[str] = []
            threads = [threading.Thread(target=_client, args=(port, bodies[i::4], times, errors, time.time() + 120))
                       for i in range(4)]
            load0 = load_average()
            cpu0 = _cpu_of(server_pids)
            t0 = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t0
            server_cpu = _cpu_of(server_pids) - cpu0
            load1 = load_average()
            # the one-process figure: the same screening in this process, warm
            one = []
            for s in sites[:40]:
                from shapely.geometry import shape

                import geopandas as gpd

                frame = gpd.GeoDataFrame({"site_id": ["x"]}, geometry=[shape(s)], crs=4326)
                t = time.perf_counter()
                zoning.screen(frame, layers=layers, attributes=attrs, compute="local")
                one.append(time.perf_counter() - t)
            rows.append({"workload": f"API, 4 clients, {kind}{' (12 vertices, carbon)' if kind == 'polygon' else ''}: "
                                     f"p95 of {len(times)} requests",
                         "seconds": _quantile(times, 0.95), "p50_s": statistics.median(times),
                         "max_s": max(times), "requests_per_s": len(times) / wall, "errors": errors[:3],
                         "baseline": "same screening in one process, warm (median)",
                         "baseline_seconds": statistics.median(one),
                         # load-independent: server CPU per request (all its processes), and the
                         # load average (other work on these cores) before and after
                         "server_cpu_ms_per_request": round(server_cpu / max(len(times), 1) * 1000, 1),
                         "server_processes": len(server_pids), "load_average": [load0, load1],
                         "target_s": 0.150 if kind == "point" else 0.250})
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return rows


def _cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by the processes ``pids``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def main() -> None:
    if sys.argv[1:2] == ["--run"]:  # one run of _fresh, in this process
        print(json.dumps(_screen_run(int(sys.argv[2]), sys.argv[3])))
        return
    quick = "--quick" in sys.argv
    chosen = [a for a in sys.argv[1:] if not a.startswith("--")] or ["pool", "load"]
    rows = []
    if "pool" in chosen:
        rows += pool_figures(quick)
    if "load" in chosen:
        rows += load_figures(quick)
    print(f"{'workload':64s} {'ours s':>9s} {'baseline s':>11s} {'target s':>9s}  notes")
    for r in rows:
        base = r.get("baseline_seconds")
        notes = {k: v for k, v in r.items() if k in ("p50_s", "requests_per_s", "same_results", "errors",
                                                      "parent_cpu_s", "children_cpu_s", "one_process_cpu_s",
                                                      "cpu_ms_per_site_one_process", "cpu_ms_per_site_pool",
                                                      "idle_estimate_s", "peak_MiB_one_process",
                                                      "peak_MiB_parent", "peak_MiB_largest_worker",
                                                      "server_cpu_ms_per_request",
                                                      "server_processes", "load_average")
                 and v not in ([], None)}
        print(f"{r['workload'][:64]:64s} {r['seconds']:9.3f} {base if base is None else round(base, 3)!s:>11s} "
              f"{r.get('target_s') or '-'!s:>9s}  {json.dumps(notes, default=lambda x: round(x, 3))}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "service.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False, default=float))


if __name__ == "__main__":
    main()
