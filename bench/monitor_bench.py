"""Monitor ingest benchmark: a synthetic run's logs into PostgreSQL, in events per second.

Generates a submit dir with N compute jobs (a planned DAG, `<p>.dag.nodes.log` with SUBMIT,
EXECUTE, IMAGE_SIZE, JOB_TERMINATED and POST_SCRIPT_TERMINATED events per attempt, a
`jobstate.log`, and one rotated `.out.000` invocation record per attempt, 10% of jobs retried
once), creates a throwaway PostgreSQL database, migrates it, and times `monitor_run` over the
whole directory in one pass and then in incremental slices.

    .venv/bin/python bench/monitor_bench.py --jobs 20000
    .venv/bin/python bench/monitor_bench.py --jobs 20000 --url sqlite:////tmp/bench.db

"Events" are the records the monitor consumes: node-log events plus jobstate.log lines.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.db import migrate
from gateway.db.session import Database, make_engine_for_url, session_scope
from worker.monitor import monitor_run, rows_for

T0 = 1_795_593_600.0
ADMIN_URL = os.environ.get(
    "AERIE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RUSAGE = (
    "\t\tUsr 0 00:00:01, Sys 0 00:00:00  -  Run Remote Usage\n"
    "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage\n"
    "\t\tUsr 0 00:00:01, Sys 0 00:00:00  -  Total Remote Usage\n"
    "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage\n"
    "\t0  -  Run Bytes Sent By Job\n\t0  -  Run Bytes Received By Job\n"
    "\t0  -  Total Bytes Sent By Job\n\t0  -  Total Bytes Received By Job\n"
)


def stamp(epoch: float) -> str:
    whole = int(epoch)
    ms = int(round((epoch - whole) * 1000)) % 1000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole)) + f".{ms:03d}Z"


def generate(root: Path, jobs: int) -> tuple[int, list[int]]:
    """Write the submit dir; returns (attempts, byte offsets of nodes.log slice boundaries)."""
    root.mkdir(parents=True)
    prefix = "bench-0"
    (root / "braindump.yml").write_text(
        f'wf_uuid: "{uuid.uuid4()}"\ndag: "{prefix}.dag"\ndax_label: "bench"\nuser: "bench"\n'
        "aerie:\n  wrapper: aerie-lite\n"
    )
    dag = ["JOBSTATE_LOG jobstate.log"]
    names = [f"task_ID{i:07d}" for i in range(jobs)]
    for i, name in enumerate(names):
        sub = f"{i // 50 // 254:02X}/{i // 50 % 254:02X}/{name}.sub"
        (root / sub).parent.mkdir(parents=True, exist_ok=True)
        dag.append(f"JOB {name} {sub}")
        dag.append(f"SCRIPT POST {name} /bin/aerie-lite exitcode -r $RETURN {sub[:-4]}.out")
        dag.append(f"RETRY {name} 1")
    (root / f"{prefix}.dag").write_text("\n".join(dag) + "\n")
    log = open(root / f"{prefix}.dag.nodes.log", "w")  # noqa: SIM115
    js = open(root / "jobstate.log", "w")  # noqa: SIM115
    js.write(f"{int(T0)} INTERNAL *** DAGMAN_STARTED 1.0 ***\n")
    cluster, seq, attempts, t = 100, 0, 0, T0
    cuts = []
    for i, name in enumerate(names):
        folder = root / f"{i // 50 // 254:02X}/{i // 50 % 254:02X}"
        tries = 2 if i % 10 == 0 else 1
        for k in range(tries):
            cluster += 1
            seq += 1
            attempts += 1
            t += 0.01
            c = f"{cluster:03d}.000.000"
            ret = 1 if k + 1 < tries else 0
            ex, end = t + 1.0, t + 6.5
            log.write(
                f"000 ({c}) {stamp(t)} Job submitted from host: <127.0.0.1:0>\n"
                f"    DAG Node: {name}\n...\n"
                f"001 ({c}) {stamp(ex)} Job executing on host: <127.0.0.1:0>\n...\n"
                f"006 ({c}) {stamp(ex + 2)} Image size of job updated: 2048\n...\n"
                f"005 ({c}) {stamp(end)} Job terminated.\n"
                f"\t(1) Normal termination (return value {ret})\n{RUSAGE}...\n"
                f"016 ({c}) {stamp(end + 1)} POST Script terminated.\n"
                f"\t(1) Normal termination (return value {ret})\n    DAG Node: {name}\n...\n"
            )
            for state, ts in (("SUBMIT", t), ("EXECUTE", ex), ("JOB_TERMINATED", end),
                              ("POST_SCRIPT_STARTED", end + 0.5),
                              ("POST_SCRIPT_TERMINATED", end + 1)):  # fmt: skip
                js.write(f"{int(ts)} {name} {state} {cluster}.0 local - {seq}\n")
            rec = {
                "type": "aerie.invocation", "version": 1, "job_id": name.split("_")[1],
                "job_name": name, "task_index": 1, "transformation": "bench::task:1.0",
                "site": "local", "hostname": f"node{i % 16}", "hostaddr": "10.0.0.1",
                "user": "bench", "cwd": "/scratch", "executable": "/bin/task",
                "argv": ["/bin/task", "-n", str(i)], "start": stamp(ex + 0.1).replace(" ", "T"),
                "duration": 5.0, "exitcode": ret, "signal": None, "raw_status": ret << 8,
                "utime": 4.0, "stime": 0.5, "maxrss_kb": 20480, "stdout_tail": "",
                "stderr_tail": "", "inputs": [], "outputs": [],
                "integrity": {"succeeded": 0, "failed": 0, "duration": 0.0},
                "failed_step": None if ret == 0 else "exec", "error": None,
            }  # fmt: skip
            (folder / f"{name}.out.{k:03d}").write_text(json.dumps(rec) + "\n")
            t = end + 1
        if i and i % max(1, jobs // 4) == 0:
            log.flush()
            cuts.append(log.tell())
    js.write(f"{int(t + 5)} INTERNAL *** DAGMAN_FINISHED 0 ***\n")
    log.close()
    js.close()
    return attempts, cuts


def backend_cpu(pid: int | None) -> float:
    """User+system CPU seconds of a local PostgreSQL backend (0 when not on this host)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def append_attempts(root: Path, count: int) -> None:
    """Another attempt of the first `count` jobs, appended as an engine would while running."""
    prefix = "bench-0"
    t = T0 + 10_000_000
    with open(root / f"{prefix}.dag.nodes.log", "a") as log, open(root / "jobstate.log", "a") as js:
        for i in range(count):
            name = f"task_ID{i:07d}"
            k = 2 if i % 10 == 0 else 1
            c = f"{9_000_000 + i:03d}.000.000"
            ex, end = t + 1.0, t + 6.5
            log.write(
                f"000 ({c}) {stamp(t)} Job submitted from host: <127.0.0.1:0>\n"
                f"    DAG Node: {name}\n...\n"
                f"001 ({c}) {stamp(ex)} Job executing on host: <127.0.0.1:0>\n...\n"
                f"005 ({c}) {stamp(end)} Job terminated.\n"
                f"\t(1) Normal termination (return value 0)\n{RUSAGE}...\n"
                f"016 ({c}) {stamp(end + 1)} POST Script terminated.\n"
                f"\t(1) Normal termination (return value 0)\n    DAG Node: {name}\n...\n"
            )
            js.write(f"{int(end + 0.5)} {name} POST_SCRIPT_STARTED {9_000_000 + i}.0 local - 0\n")
            folder = root / f"{i // 50 // 254:02X}/{i // 50 % 254:02X}"
            (folder / f"{name}.out.{k:03d}").write_text(
                (folder / f"{name}.out.000").read_text().replace('"exitcode": 1', '"exitcode": 0')
            )
            t = end + 2


def fresh_database(url: str | None) -> tuple[str, str | None]:
    if url:
        return url, None
    name = f"aerie_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False), name


def drop_database(name: str) -> None:
    admin = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=20000)
    ap.add_argument("--url", help="database URL (default: a throwaway PostgreSQL database)")
    args = ap.parse_args()
    url, dbname = fresh_database(args.url)
    try:
        migrate.upgrade(url)
        db = Database(make_engine_for_url(url))
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "submit"
            g0 = time.perf_counter()
            attempts, _ = generate(root, args.jobs)
            took = time.perf_counter() - g0
            print(f"generated {args.jobs} jobs / {attempts} attempts in {took:.1f}s")
            server_pid = None
            with session_scope(db.sessions) as session:
                if session.get_bind().dialect.name == "postgresql":
                    server_pid = session.scalar(text("select pg_backend_pid()"))
                s0 = backend_cpu(server_pid)
                t0, c0 = time.perf_counter(), time.process_time()
                result = monitor_run(session, root)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            server_cpu = backend_cpu(server_pid) - s0
            with session_scope(db.sessions) as session:
                counts = rows_for(session, result.wf_id)
            t1 = time.perf_counter()
            with session_scope(db.sessions) as session:
                again = monitor_run(session, root)
            dt_again = time.perf_counter() - t1
            append_attempts(root, 100)
            t2 = time.perf_counter()
            with session_scope(db.sessions) as session:
                tail = monitor_run(session, root)
            dt_tail = time.perf_counter() - t2
        backend = make_url(url).get_backend_name()
        print(f"backend            : {backend}")
        print(f"events consumed    : {result.events}")
        print(f"one pass           : {dt:.2f} s  ->  {result.events / dt:,.0f} events/s")
        print(f"monitor CPU time   : {cpu:.2f} s  ->  {result.events / cpu:,.0f} events/CPU-s")
        if server_pid is not None:
            both = cpu + server_cpu
            print(f"PostgreSQL backend : {server_cpu:.2f} s CPU (pid {server_pid})")
            print(
                f"monitor + server   : {both:.2f} CPU-s  ->  {result.events / both:,.0f} events/s"
            )
        print(f"load average       : {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"rows               : {counts}")
        print(f"idle re-run        : {dt_again:.3f} s, {again.events} events")
        print(
            f"incremental pass   : {dt_tail:.3f} s for {tail.events} new events "
            f"({tail.job_instances} new attempts) on top of {counts['job_instance']} instances"
        )
        db.dispose()
    finally:
        if dbname:
            drop_database(dbname)


if __name__ == "__main__":
    main()
