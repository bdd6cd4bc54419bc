"""Local engine throughput, in jobs per second.

Two workloads, both run by the engine process exactly as `aerie engine run` would:

* `noop`: N independent hand-written vanilla-universe `/bin/true` jobs, no wrapper, no POST —
  the engine's own overhead (fork/exec, events, jobstate, scheduling).
* `planned`: a Pegasus workflow of N independent `/bin/true` compute jobs, planned by the
  planner (condorio: each job is `aerie-lite run <job>.lite.json` with file transfer, and a
  POST `aerie-lite exitcode`), so every job leaves an invocation record and a POST verdict:
  the issue's "no-op jobs with full provenance recorded" case.

    .venv/bin/python bench/engine_bench.py --jobs 2000 --cpus 2
    .venv/bin/python bench/engine_bench.py --workload planned --jobs 1000 --cpus 2

jobs/s = N / wall time of the engine run (planning excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def noop_dag(root: Path, jobs: int) -> Path:
    (root / "noop.sub").write_text(
        "universe = vanilla\nexecutable = /bin/true\ntransfer_executable = false\n"
        "should_transfer_files = NO\noutput = out/$(JOB).out\nerror = out/$(JOB).err\nqueue\n"
    )
    (root / "out").mkdir()
    lines = [f"JOB j{i} noop.sub" for i in range(jobs)]
    dag = root / "noop.dag"
    dag.write_text("\n".join(lines) + "\nJOBSTATE_LOG jobstate.log\n")
    return dag


def planned_dag(root: Path, jobs: int) -> Path:
    from planner import PlanOptions, plan, write
    from planner.inputs import load_inputs
    from worker.workspace import install_wrapper

    wf = {
        "pegasus": "5.0.4",
        "name": "bench",
        "jobs": [
            {"type": "job", "name": "noop", "id": f"ID{i:07d}", "arguments": [], "uses": []}
            for i in range(1, jobs + 1)
        ],
        "jobDependencies": [],
    }
    (root / "workflow.yml").write_text(json.dumps(wf))
    (root / "transformations.yml").write_text(
        json.dumps(
            {
                "pegasus": "5.0.4",
                "transformations": [
                    {
                        "name": "noop",
                        "sites": [{"name": "local", "pfn": "/bin/true", "type": "installed"}],
                    }
                ],
            }
        )
    )
    scratch, output = root / "scratch", root / "output"
    (root / "sites.yml").write_text(
        json.dumps(
            {
                "pegasus": "5.0.4",
                "sites": [
                    {
                        "name": "local",
                        "directories": [
                            {
                                "type": "sharedScratch",
                                "path": str(scratch),
                                "fileServers": [{"url": f"file://{scratch}", "operation": "all"}],
                            },
                            {
                                "type": "localStorage",
                                "path": str(output),
                                "fileServers": [{"url": f"file://{output}", "operation": "all"}],
                            },
                        ],
                    }
                ],
            }
        )
    )
    inputs = load_inputs(
        root / "workflow.yml",
        transformation_catalogs=[root / "transformations.yml"],
        site_catalogs=[root / "sites.yml"],
        sites=["local"],
    )
    submit = root / "submit"
    write(plan(inputs, PlanOptions(submit_dir=submit, sites=["local"], cleanup="none")))
    install_wrapper(submit)
    return next(submit.glob("*.dag"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=["noop", "planned"], default="noop")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    parser.add_argument("--dir", default="/var/tmp", help="where to create the run directory")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aerie-engine-bench-", dir=args.dir))
    dag = noop_dag(root, args.jobs) if args.workload == "noop" else planned_dag(root, args.jobs)
    command = [sys.executable, "-m", "worker.engines.local", "run", str(dag)]
    command += ["--cpus", str(args.cpus), "--scratch", str(root / "exec")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=dag.parent, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    metrics = json.loads(dag.with_name(dag.name + ".metrics").read_text())
    compute = args.jobs
    print(
        f"{args.workload}: {metrics['jobs_succeeded']}/{metrics['jobs']} nodes ok "
        f"(exit {result.returncode}) in {elapsed:.2f} s; {compute} jobs -> "
        f"{compute / elapsed:.1f} jobs/s with --cpus {args.cpus}"
    )
    print(
        f"  CPU (engine + jobs + POST scripts): {cpu:.2f} s = {1000 * cpu / compute:.2f} ms/job"
        f" -> {2 * compute / cpu:.0f} jobs/s if 2 cores were ours alone; load average now "
        f"{os.getloadavg()[0]:.1f}"
    )
    if result.returncode != 0:
        print(result.stderr[-2000:])
    if args.keep:
        print(f"run directory: {root}")
    else:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
