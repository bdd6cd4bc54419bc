"""Time the planner's input side (parse, validate, catalogs, graph, checks) on big workflows.

usage: python bench/load_bench.py DIR [DIR…]

Each DIR holds `workflow.yml`, `replicas.yml`, `transformations.yml` as written by
`../shared/workloads/gen_workflows.py` (e.g. `gen_workflows.py montage 100000 /tmp/m100k`). Every
DIR is measured in a fresh process so peak RSS is that run's own. Wall times depend on what
else the machine runs; the CPU column is this process's own time.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def measure(d: Path) -> dict[str, float]:
    from planner.catalogs import Catalogs
    from planner.checks import check
    from planner.graph import build_graph
    from planner.loader import load_replica_catalog, load_transformation_catalog, load_workflow

    t: dict[str, float] = {}
    c0 = time.process_time()
    t0 = time.perf_counter()
    wf = load_workflow(d / "workflow.yml")
    t["workflow_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    rc = load_replica_catalog(d / "replicas.yml")
    tc = load_transformation_catalog(d / "transformations.yml")
    cats = Catalogs.of([rc], [tc], [])
    t["catalogs_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    g = build_graph(wf)
    g.levels()
    t["graph_s"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    problems = check(wf, cats, graph=g)
    t["check_s"] = time.perf_counter() - t3
    t["total_s"] = time.perf_counter() - t0
    t["cpu_s"] = time.process_time() - c0
    t["jobs"] = len(wf.jobs)
    t["edges"] = g.n_edges
    t["problems"] = len(problems)
    t["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return t


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        print(json.dumps(measure(Path(sys.argv[2]))))
        return
    print(
        f"{'jobs':>8} {'edges':>8} {'workflow s':>10} {'catalogs s':>10} {'graph s':>8} "
        f"{'check s':>8} {'total s':>8} {'CPU s':>7} {'jobs/s':>8} {'RSS MB':>7}"
    )
    for arg in sys.argv[1:]:
        out = subprocess.run(
            [sys.executable, __file__, "--one", arg], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout)
        print(
            f"{r['jobs']:>8.0f} {r['edges']:>8.0f} {r['workflow_s']:>10.2f} "
            f"{r['catalogs_s']:>10.2f} {r['graph_s']:>8.2f} {r['check_s']:>8.2f} "
            f"{r['total_s']:>8.2f} {r['cpu_s']:>7.2f} {r['jobs'] / r['total_s']:>8.0f} "
            f"{r['peak_rss_mb']:>7.0f}"
        )


if __name__ == "__main__":
    main()
