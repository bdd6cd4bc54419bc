"""Import throughput: `aerie import` of a synthetic Pegasus 5 submit dir of N compute jobs.

Each job is a copy of the real `ls_ID0000001` attempt of the process_wf_success fixture
(kickstart YAML .out.000, PegasusLite .err.000, .sub), with a POST script and seven
jobstate.log lines. Measures the file reading (rebuild) and the database writes separately,
as CPU and wall time.

    .venv/bin/python bench/import_bench.py --jobs 5000                  # throwaway PostgreSQL
    .venv/bin/python bench/import_bench.py --jobs 5000 --url sqlite:////tmp/i.db
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AERIE_SHARED_DIR", REPO / ".." / "shared"))
SOURCE = SHARED / "pegasus" / "fixtures" / "submit-dirs" / "process_wf_success"
PG_ADMIN = os.environ.get(
    "AERIE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def synthesize(target: Path, jobs: int) -> Path:
    target.mkdir(parents=True)
    wf_uuid = str(uuid.uuid4())
    braindump = (SOURCE / "braindump.yml").read_text()
    braindump = braindump.replace("f00c0056-abd4-4e8e-b793-24eb760dda1f", wf_uuid)
    (target / "braindump.yml").write_text(braindump.replace("process-0", "big-0"))
    out = (SOURCE / "00/00/ls_ID0000001.out.000").read_text()
    err = (SOURCE / "00/00/ls_ID0000001.err.000").read_text()
    sub = (SOURCE / "00/00/ls_ID0000001.sub").read_text()
    dag = ["# DAG big"]
    log = ["1677911023 INTERNAL *** DAGMAN_STARTED 1.0 ***"]
    t = 1677911044
    for i in range(jobs):
        task = f"ID{i:07d}"
        name = f"ls_{task}"
        folder = f"00/{i // 254:02X}"
        (target / folder).mkdir(parents=True, exist_ok=True)
        (target / folder / f"{name}.out.000").write_text(out.replace("ID0000001", task))
        (target / folder / f"{name}.err.000").write_text(err)
        (target / folder / f"{name}.sub").write_text(sub.replace("ID0000001", task))
        dag += [
            f"JOB {name} {folder}/{name}.sub",
            f"SCRIPT POST {name} /bin/pegasus-exitcode  -r $RETURN  .//{folder}/{name}.out",
            f"RETRY {name} 1",
        ]
        c, s = f"{i + 3}.0", i + 1
        log += [
            f"{t} {name} SUBMIT {c} condorpool - {s}",
            f"{t + 15} {name} EXECUTE {c} condorpool - {s}",
            f"{t + 16} {name} JOB_TERMINATED {c} condorpool - {s}",
            f"{t + 20} {name} JOB_SUCCESS 0 condorpool - {s}",
            f"{t + 20} {name} POST_SCRIPT_STARTED {c} condorpool - {s}",
            f"{t + 20} {name} POST_SCRIPT_TERMINATED {c} condorpool - {s}",
            f"{t + 25} {name} POST_SCRIPT_SUCCESS 0 condorpool - {s}",
        ]
        t += 1
    log.append(f"{t + 30} INTERNAL *** DAGMAN_FINISHED 0 ***")
    (target / "big-0.dag").write_text("\n".join(dag) + "\n")
    (target / "jobstate.log").write_text("\n".join(log) + "\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--url", help="database URL (default: a throwaway PostgreSQL database)")
    args = parser.parse_args()

    from gateway.db import migrate
    from gateway.db.models.user import User
    from gateway.db.session import Database, make_engine_for_url
    from worker.pegasus_import.importer import import_submit_dir
    from worker.pegasus_import.rebuild import rebuild_workflow

    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    run = synthesize(work / "run", args.jobs)
    admin = None
    url = args.url
    if url is None:
        name = f"aerie_import_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        db = Database(make_engine_for_url(url))
        with db.session_scope() as session:
            session.add(User(name="bench"))
        wall, cpu = time.perf_counter(), time.process_time()
        tree = rebuild_workflow(run)
        read = (time.perf_counter() - wall, time.process_time() - cpu)
        del tree
        wall, cpu = time.perf_counter(), time.process_time()
        with db.session_scope() as session:
            result = import_submit_dir(session, run, "bench")
        total = (time.perf_counter() - wall, time.process_time() - cpu)
        wall = time.perf_counter()
        with db.session_scope() as session:
            again = import_submit_dir(session, run, "bench")
        repeat = time.perf_counter() - wall
        db.dispose()
        print(f"jobs={args.jobs} instances={result.job_instances} invocations={result.invocations}")
        print(f"read files (rebuild): wall {read[0]:.1f} s, cpu {read[1]:.1f} s")
        print(f"import (read + write): wall {total[0]:.1f} s, cpu {total[1]:.1f} s")
        print(f"re-import (created={again.created}): wall {repeat:.2f} s")
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(
                    text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
                )
            admin.dispose()


if __name__ == "__main__":
    main()
