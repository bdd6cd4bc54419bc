"""End-to-end benchmark of `aerie run` on the local engine, against a plain loop, Snakemake and
Parsl running the same workflow.

Workloads (each through the whole path: `aerie run --wait` = validate, plan, job wrapper, POST,
monitor into the gateway's database):

* `noop N`: N independent `/bin/true` jobs.
* `montage N`: the WfCommons Montage recipe with N tasks (`WorkflowBenchmark`, seed fixed by
  WfCommons). WfCommons' translators write the Snakemake and Parsl versions; all three run
  the same task program (`bin/wftask`, below: reads its inputs, writes its outputs at their
  recipe sizes) instead of WfBench's `wfbench`, which needs `stress-ng` (not installed here)
  and burns CPU on purpose. Parsl's generated config (ThreadPoolExecutor, 1 thread) is set to
  as many threads as `--cpus`; Snakemake gets `--cores CPUS`.
* `loop`: the same commands run back to back with `subprocess.run` (the floor: no engine).

    .venv/bin/python bench/run_bench.py noop 1000
    .venv/bin/python bench/run_bench.py montage 1000 --with snakemake,parsl

Makespan is the wall time from the moment the engine started (the run's `started_at`) to the
moment `aerie run --wait` saw it finished with provenance recorded; `submit` is what came
before (validation, planning, writing the submit dir). jobs/s counts the workflow's own jobs
(not the planner's auxiliary stage-in/out, create-dir and cleanup nodes).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

AERIE = Path(sys.executable).with_name("aerie")

WFTASK = """#!/usr/bin/env python3
# wfbench's interface (--output-files JSON --input-files JSON, from the WfCommons translators)
# or Pegasus-friendly words (-i IN... -o OUT:SIZE...): read every input, write every output.
import json, sys
args = sys.argv[1:]
outs, ins, mode = {}, [], None
for i, a in enumerate(args):
    if a == "--output-files":
        outs.update(json.loads(args[i + 1]))
    elif a == "--input-files":
        ins += json.loads(args[i + 1])
    elif a in ("-i", "-o"):
        mode = a
    elif mode == "-i":
        ins.append(a)
    elif mode == "-o":
        name, _, size = a.rpartition(":")
        outs[name] = int(size)
n = 0
for f in ins:
    with open(f, "rb") as fh:
        n += len(fh.read())
for f, size in outs.items():
    with open(f, "wb") as fh:
        fh.write(b"x" * int(size))
"""


def _env(data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AERIE_DATA_DIR": str(data),
        "AERIE_CONFIG": os.devnull,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }


def aerie_run(workflow: Path, data: Path, *options: str) -> dict[str, float]:
    """`aerie run --wait` on WORKFLOW; makespan from the run row's timestamps."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [
            str(AERIE),
            "run",
            str(workflow),
            "-s",
            "local",
            "--force",
            "--wait",
            "--interval",
            "1",
            *options,
        ],
        env=_env(data),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The engine is `aerie run`'s child and reaped by its polls, the jobs are the engine's:
    # this is the CPU of everything (validate, plan, engine, wrappers, POSTs, monitor).
    cpu = sum(getattr(after, f) - getattr(before, f) for f in ("ru_utime", "ru_stime"))
    if result.returncode != 0:
        raise SystemExit(f"aerie run failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    with sqlite3.connect(data / "aerie.db") as db:
        created, began, ended = db.execute(
            "SELECT created_at, started_at, finished_at FROM runs"
        ).fetchone()
    stamp = datetime.fromisoformat
    makespan = (stamp(ended) - stamp(began)).total_seconds()
    return {"wall": wall, "makespan": makespan, "submit": wall - makespan, "cpu": cpu}


def noop_workflow(root: Path, jobs: int) -> Path:
    from Pegasus.api import Job, Transformation, TransformationCatalog, Workflow

    tc = TransformationCatalog()
    tc.add_transformations(Transformation("noop", site="local", pfn="/bin/true"))
    wf = Workflow(f"noop-{jobs}")
    wf.add_transformation_catalog(tc)
    wf.add_jobs(*[Job("noop", _id=f"ID{i:07d}") for i in range(jobs)])
    path = root / "workflow.yml"
    wf.write(str(path))
    return path


def loop(commands: list[list[str]], cwd: Path) -> float:
    started = time.perf_counter()
    for argv in commands:
        subprocess.run(argv, cwd=cwd, check=True)
    return time.perf_counter() - started


def montage(root: Path, tasks: int) -> tuple[Path, list[list[str]], int]:
    """The WfCommons Montage benchmark as Pegasus YAML + Snakemake + Parsl, one task program.

    Returns (workflow.yml, the commands in a topological order for the loop, task count)."""
    from Pegasus.api import (
        File,
        Job,
        ReplicaCatalog,
        Transformation,
        TransformationCatalog,
        Workflow,
    )
    from wfcommons.wfbench import ParslTranslator, SnakemakeTranslator, WorkflowBenchmark
    from wfcommons.wfchef.recipes import MontageRecipe

    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"  # wfbench
    bench = WorkflowBenchmark(recipe=MontageRecipe, num_tasks=tasks)
    bench.create_benchmark(root / "bench", cpu_work=1, data=1, percent_cpu=0.1)
    wfc = bench.workflow
    for name, translator in (("snakemake", SnakemakeTranslator), ("parsl", ParslTranslator)):
        translator(wfc).translate(root / name)
        task = root / name / "bin" / "wfbench"
        task.write_text(WFTASK)
        task.chmod(0o755)
    parsl = root / "parsl" / "parsl_workflow.py"
    parsl.write_text(parsl.read_text().replace("max_threads=1,", "max_threads=CPUS,"))
    wftask = root / "bin" / "wftask"
    wftask.parent.mkdir(parents=True, exist_ok=True)
    wftask.write_text(WFTASK)
    wftask.chmod(0o755)

    tc, rc = TransformationCatalog(), ReplicaCatalog()
    wf = Workflow(f"montage-{len(wfc.tasks)}", infer_dependencies=True)
    seen: set[str] = set()
    produced = {f.file_id for t in wfc.tasks.values() for f in t.output_files}
    roots: set[str] = set()
    commands: list[list[str]] = []
    order = list(_topological(wfc))
    for task in order:
        tr = task.category or task.name.split("_")[0]
        if tr not in seen:
            seen.add(tr)
            tc.add_transformations(Transformation(tr, site="local", pfn=str(wftask)))
        ins = [f.file_id for f in task.input_files]
        outs = {f.file_id: f.size for f in task.output_files}
        args = ["-i", *ins, "-o", *[f"{o}:{size}" for o, size in outs.items()]]
        job = Job(tr, _id=task.task_id.replace(".", "_")).add_args(*args)
        job.add_inputs(*[File(i) for i in ins])
        job.add_outputs(*[File(o) for o in outs], stage_out=False, register_replica=False)
        wf.add_jobs(job)
        roots.update(i for i in ins if i not in produced)
        commands.append([str(wftask), *args])
    for name in sorted(roots):
        rc.add_replica("local", name, str(root / "bench" / name))
    wf.add_transformation_catalog(tc)
    wf.add_replica_catalog(rc)
    path = root / "workflow.yml"
    wf.write(str(path))
    loop_dir = root / "loop"
    loop_dir.mkdir()
    for name in roots:
        shutil.copy(root / "bench" / name, loop_dir / name)
    return path, commands, len(wfc.tasks)


def _topological(wfc: object) -> list[object]:
    tasks = wfc.tasks  # type: ignore[attr-defined]
    parents = {t: set(wfc.tasks_parents.get(t, ())) for t in tasks}  # type: ignore[attr-defined]
    done: set[str] = set()
    order = []
    while len(order) < len(tasks):
        ready = [t for t in tasks if t not in done and parents[t] <= done]
        for t in sorted(ready):
            done.add(t)
            order.append(tasks[t])
    return order


def other(system: str, root: Path, cpus: int) -> float:
    env = {
        **os.environ,
        "PATH": f"{root / system / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    if system == "snakemake":
        argv = ["snakemake", "-s", "workflow.smk", "--cores", str(cpus), "-q"]
    else:
        script = root / system / "parsl_workflow.py"
        script.write_text(script.read_text().replace("max_threads=CPUS,", f"max_threads={cpus},"))
        argv = [sys.executable, "parsl_workflow.py"]
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=root / system, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{system} failed: {(result.stdout + result.stderr)[-1500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=["noop", "montage"])
    parser.add_argument("jobs", type=int)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--with", dest="others", default="", help="snakemake,parsl")
    parser.add_argument("--dir", default="/var/tmp")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aerie-run-bench-", dir=args.dir))
    rows: list[tuple[str, float, int]] = []
    try:
        if args.workload == "noop":
            workflow = noop_workflow(root, args.jobs)
            commands = [["/bin/true"]] * args.jobs
            tasks = args.jobs
            loop_dir = root
        else:
            workflow, commands, tasks = montage(root, args.jobs)
            loop_dir = root / "loop"
        aerie = aerie_run(workflow, root / "data")  # the engine uses every core of the host
        rows.append(("aerie run (local engine)", aerie["makespan"], tasks))
        print(f"aerie run: {aerie}", flush=True)  # long runs: each result as soon as it is known
        looped = loop(commands, loop_dir)
        rows.append(("plain loop (subprocess.run)", looped, tasks))
        print(f"plain loop: {looped:.1f} s", flush=True)
        for system in [s for s in args.others.split(",") if s]:
            try:
                rows.append((system, other(system, root, args.cpus), tasks))
                print(f"{system}: {rows[-1][1]:.1f} s", flush=True)
            except RuntimeError as exc:
                print(f"{system}: {exc}")
        print(
            f"\n{args.workload} {tasks} tasks, {args.cpus} cores, load average "
            f"{os.getloadavg()[0]:.1f}; aerie submit (validate+plan+write) "
            f"{aerie['submit']:.1f} s, whole command {aerie['wall']:.1f} s"
        )
        print("| system | makespan (s) | jobs/s | per job (ms) |\n|---|---|---|---|")
        for name, seconds, n in rows:
            print(f"| {name} | {seconds:.1f} | {n / seconds:.1f} | {1000 * seconds / n:.1f} |")
        cpu = aerie["cpu"]
        print(
            f"aerie run CPU, everything included: {cpu:.1f} s = {1000 * cpu / tasks:.1f} ms/job "
            f"-> {args.cpus * tasks / cpu:.0f} jobs/s if {args.cpus} cores were ours alone"
        )
        overhead = (aerie["makespan"] - looped) / tasks
        print(
            f"engine overhead per job vs the loop: {1000 * overhead:.1f} ms "
            f"(the engine runs {args.cpus} at a time, the loop one)"
        )
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
