"""Plan and write big workflows: wall time, CPU time, peak memory, jobs/s.

usage: python bench/plan_bench.py [--sizes 1000 10000 100000] [--recipe montage]
                                  [--workloads /tmp/aerie-workloads] [--out /tmp/aerie-plan-bench]

Workflows come from `../shared/workloads/gen_workflows.py` (needs `wfcommons`: `pip install
'.[bench]'`); a size is generated once into `--workloads` and reused. Each size is measured in a
fresh process, so peak RSS is that run's own. "plan+write" is what `aerie plan` does after the
YAML is loaded (loading is timed separately, it is the input side's cost). The generator marks
every output `stageOut: false`, which Pegasus's data reuse would prune entirely, so the runs use
`force` (pegasus-plan `--force`). Wall times depend on the other processes on the machine; the
CPU column is this process's own user+system time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    return Path(os.environ.get("AERIE_SHARED_DIR") or (REPO / ".." / "shared")).resolve()


def workload(recipe: str, size: int, base: Path) -> Path:
    d = base / f"{recipe}-{size}"
    if not (d / "workflow.yml").exists():
        gen = shared_dir() / "workloads" / "gen_workflows.py"
        subprocess.run([sys.executable, str(gen), recipe, str(size), str(d)], check=True)
    return d


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(d: Path, out: Path) -> dict[str, object]:
    """One run in this process: load, plan, write; times and peak RSS."""
    from planner import PlanOptions, plan, write
    from planner.inputs import load_inputs

    submit = out / d.name / "submit"
    if submit.parent.exists():
        shutil.rmtree(submit.parent)
    t0, c0 = time.perf_counter(), _cpu()
    inputs = load_inputs(d / "workflow.yml", run_checks=False)
    t1, c1 = time.perf_counter(), _cpu()
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ew = plan(inputs, PlanOptions(submit_dir=submit, force=True, seed=1))
    jobs = len(inputs.workflow.jobs)
    del inputs  # as `aerie plan` does: the spec objects are not needed to write
    t2 = time.perf_counter()
    write(ew)
    t3, c3 = time.perf_counter(), _cpu()
    files = sum(len(fs) for _, _, fs in os.walk(submit))
    return {
        "workflow": d.name,
        "jobs": jobs,
        "nodes": len(ew.nodes),
        "edges": sum(len(k) for k in ew.children.values()),
        "files": files,
        "load_s": round(t1 - t0, 2),
        "plan_s": round(t2 - t1, 2),
        "write_s": round(t3 - t2, 2),
        "plan_write_s": round(t3 - t1, 2),
        "plan_write_cpu_s": round(c3 - c1, 2),
        "load_cpu_s": round(c1 - c0, 2),
        "rss_after_load_mb": round(rss_loaded),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "passes": ew.metrics.get("aerie_pass_seconds", {}),
    }


def file_rate(out: Path, n: int = 20000) -> float:
    """Small files this filesystem creates per second right now (the writer's floor)."""
    d = out / "file-rate"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    t = time.perf_counter()
    for i in range(n):
        if i % 250 == 0:
            sub = d / f"{i // 250:03d}"
            sub.mkdir()
        fd = os.open(sub / f"f{i}.sub", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, b"x" * 1500)
        os.close(fd)
    rate = n / (time.perf_counter() - t)
    shutil.rmtree(d, ignore_errors=True)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--recipe", default="montage")
    ap.add_argument("--workloads", type=Path, default=Path("/tmp/aerie-workloads"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/aerie-plan-bench"))
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(measure(a.child, a.out)))
        return
    a.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in a.sizes:
        d = workload(a.recipe, size, a.workloads)
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(d), "--out", str(a.out)],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        shutil.rmtree(a.out / d.name, ignore_errors=True)
    rate = file_rate(a.out)
    head = (
        f"{'jobs':>7} {'nodes':>7} {'edges':>9} {'files':>7} {'load s':>7} {'plan s':>7} "
        f"{'write s':>8} {'plan+write s':>12} {'cpu s':>6} {'peak RSS MB':>11} {'jobs/s':>7}"
    )
    print(head)
    for r in rows:
        jobs_s = r["jobs"] / r["plan_write_s"] if r["plan_write_s"] else 0.0
        print(
            f"{r['jobs']:>7} {r['nodes']:>7} {r['edges']:>9} {r['files']:>7} "
            f"{r['load_s']:>7} {r['plan_s']:>7} {r['write_s']:>8} {r['plan_write_s']:>12} "
            f"{r['plan_write_cpu_s']:>6} {r['peak_rss_mb']:>11} {jobs_s:>7.0f}"
        )
    print(f"filesystem under {a.out}: {rate:.0f} small files/s right now")
    for r in rows:
        print(f"{r['jobs']} jobs, seconds per pass: {json.dumps(r['passes'])}")


if __name__ == "__main__":
    main()
