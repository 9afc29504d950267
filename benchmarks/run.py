"""Benchmark suite: every workload against its baseline in the same run.

    python benchmarks/run.py [--quick] [W1 W2 ...]      (make bench, make bench QUICK=1)

Each workload runs in its own process, so the peak memory reported is that workload's.
Prints a table of medians and ratios; writes benchmarks/results/latest.json.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["W1", "W2", "PROJ", "W2dask", "W3", "W4", "W5", "PROVINCE"]


def main() -> None:
    quick = "--quick" in sys.argv
    chosen = [a for a in sys.argv[1:] if not a.startswith("--")] or ORDER
    rows = []
    for name in chosen:
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "workloads.py"), name]
                              + (["--quick"] if quick else []), capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
            rows.append({"workload": name, "error": last[:300]})
            continue
        rows += [json.loads(line[4:]) for line in proc.stdout.splitlines() if line.startswith("ROW ")]
    print(f"{'workload':68s} {'ours s':>9s} {'baseline s':>11s} {'ratio':>8s} {'peak MiB':>9s}  baseline")
    for r in rows:
        if "error" in r:
            print(f"{r['workload']:68s} ERROR {r['error']}")
            continue
        base = r.get("baseline_seconds")
        ratio = f"{base / r['seconds']:.1f}x" if base else "-"
        base_txt = f"{base:.3f}" if base else "-"
        print(f"{r['workload'][:68]:68s} {r['seconds']:9.3f} {base_txt:>11s} {ratio:>8s} {r['peak_rss_MiB']:9.0f}  "
              f"{r.get('baseline') or ''}{' — ' + r['note'] if r.get('note') else ''}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
