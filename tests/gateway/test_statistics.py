"""Statistics of a monitored run equal the figures computed by hand from its files: the
invocation records in the `.out.NNN` files and the event times in the node log, on both
PostgreSQL and SQLite."""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gateway.db import migrate
from gateway.db.session import make_engine_for_url
from gateway.services import statistics as st
from gateway.services.provenance import analyze, status
from gateway.services.statistics_text import format_seconds, render_summary
from worker.monitor import monitor_run

sys.path.insert(0, str(Path(__file__).parents[1] / "worker" / "monitor"))
from monitor_synth import T0, Node, SubmitDir  # noqa: E402


@pytest.fixture(scope="module")
def _sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('stats-db') / 'aerie.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest, _sqlite_url: str) -> Iterator[Session]:
    if request.param == "postgresql":
        yield request.getfixturevalue("session")
        return
    engine = make_engine_for_url(_sqlite_url)
    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        conn.close()
        engine.dispose()


def build_run(root: Path, seed: int = 7) -> tuple[SubmitDir, dict[str, list[tuple[float, float]]]]:
    """A 12-job run with random durations, failures and retries; returns the submit dir and,
    per node, the (execute, terminate) times written for each attempt."""
    rng = random.Random(seed)
    sd = SubmitDir(root, label="stats")
    nodes = [Node("create_dir_stats_0_local", post=False)]
    for i in range(1, 12):
        tx = "stats::" + ("align" if i % 3 else "merge") + ":1.0"
        nodes.append(Node(f"{tx.split('::')[1].split(':')[0]}_ID{i}", tx, f"ID{i}", retries=2))
    sd.nodes = nodes
    sd.edges = [(nodes[0].name, n.name) for n in nodes[1:]]
    sd.write_plan()
    times: dict[str, list[tuple[float, float]]] = defaultdict(list)
    sd.dagman_started(T0)
    t = T0 + 1
    sd.attempt(nodes[0], t, t + 1, t + 2.25, 0)
    times[nodes[0].name].append((t + 1, t + 2.25))
    for n in nodes[1:]:
        attempts = rng.choice([1, 1, 2, 3])
        for k in range(attempts):
            t += rng.uniform(1, 400)
            execute = t + rng.uniform(0.5, 20)
            duration = round(rng.uniform(0.1, 300), 3)
            terminate = execute + duration + rng.uniform(0.1, 2)
            last = k == attempts - 1
            code = 0 if last and n.job_id != "ID5" else rng.choice([1, 2, 137 >> 1])
            rec = sd.record(
                n, execute + 0.05, duration, code,
                hostname=rng.choice(["node1", "node2", "node3"]),
                utime=round(duration * 0.8, 3), stime=0.125, maxrss_kb=rng.randint(1000, 90000),
            )  # fmt: skip
            sd.attempt(n, t, execute, terminate, code, records=[rec])
            times[n.name].append((execute, terminate))
            t = terminate + 2
    sd.dagman_finished(t + 5, 1)
    return sd, times


def records(root: Path) -> list[dict]:
    """Every invocation record in the run's rotated `.out.NNN` files, read independently."""
    out = []
    for path in sorted(root.glob("00/00/*.out.*")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            rec["_file"] = path.name
            out.append(rec)
    return out


def test_summary_equals_hand_computed_figures(db: Session, tmp_path: Path) -> None:
    sd, times = build_run(tmp_path / "run")
    wf_id = monitor_run(db, tmp_path / "run").wf_id
    recs = records(tmp_path / "run")
    s = st.summary(db, wf_id)

    # by hand, from the records: kickstart wall time, badput, tasks
    assert s.cum_job_wall_time == pytest.approx(sum(r["duration"] for r in recs))
    assert s.cum_job_badput == pytest.approx(sum(r["duration"] for r in recs if r["exitcode"]))
    last_try: dict[str, dict] = {}
    for r in sorted(recs, key=lambda r: r["_file"]):
        last_try[r["job_id"]] = r
    assert s.tasks.succeeded == sum(1 for r in last_try.values() if r["exitcode"] == 0)
    assert s.tasks.failed == sum(1 for r in last_try.values() if r["exitcode"] != 0)
    assert s.tasks.retries == len(recs) - len(last_try)
    # by hand, from the event times: submit-side wall time, jobs and retries
    all_runs = [e for node in times.values() for e in node]
    assert s.submit_side_wall_time == pytest.approx(sum(term - exe for exe, term in all_runs))
    assert s.jobs.total == 12
    assert s.jobs.retries == len(all_runs) - 12
    assert s.jobs.failed == 1 and s.jobs.succeeded == 11
    assert s.jobs.total_retries == len(all_runs)
    assert s.workflow_wall_time == pytest.approx(max(t for _, t in all_runs) + 2 + 5 - T0, abs=1.0)
    text = render_summary(s)
    label = "Cumulative job wall time"
    assert f"{label:<57}: {format_seconds(s.cum_job_wall_time)}\n" in text


def test_breakdown_hosts_jobs_and_time_equal_hand_computed(db: Session, tmp_path: Path) -> None:
    build_run(tmp_path / "run", seed=11)
    wf_id = monitor_run(db, tmp_path / "run").wf_id
    recs = records(tmp_path / "run")

    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in recs:
        groups[(r["transformation"], "successful" if r["exitcode"] == 0 else "failed")].append(
            r["duration"]
        )
    rows = {
        (t.transformation, t.type): t
        for t in st.transformation_statistics(db, [wf_id])
        if not t.transformation.startswith("dagman::")
    }
    assert set(rows) == set(groups)
    for key, durations in groups.items():
        row = rows[key]
        assert row.count == len(durations)
        assert row.min == pytest.approx(min(durations))
        assert row.max == pytest.approx(max(durations))
        assert row.total == pytest.approx(sum(durations))
        assert row.mean == pytest.approx(sum(durations) / len(durations))
    maxrss = [r["maxrss_kb"] for r in recs if r["transformation"] == "stats::align:1.0"]
    ok_align = rows[("stats::align:1.0", "successful")]
    assert ok_align.max_maxrss is not None and ok_align.max_maxrss <= max(maxrss)

    per_host: dict[str, list[float]] = defaultdict(list)
    for r in recs:
        per_host[r["hostname"]].append(r["duration"])
    hosts = {h.hostname: h for h in st.host_statistics(db, [wf_id])}
    assert {h: (v.invocations, pytest.approx(v.invocation_runtime)) for h, v in hosts.items()} == {
        h: (len(d), pytest.approx(sum(d))) for h, d in per_host.items()
    }

    jobs = st.job_statistics(db, wf_id)
    compute = [j for j in jobs if j.job != "create_dir_stats_0_local"]
    assert len(compute) == len(recs)
    by_file = sorted(recs, key=lambda r: (r["job_name"], r["_file"]))
    got = sorted(compute, key=lambda j: (j.job, j.try_))
    for job, rec in zip(got, by_file, strict=True):
        assert job.kickstart == pytest.approx(rec["duration"])
        assert job.cpu_time == pytest.approx(rec["utime"] + rec["stime"])
        assert job.exitcode == rec["exitcode"]
        assert job.hostname == rec["hostname"]

    series = st.time_series(db, [wf_id])
    compute_and_post = len(recs) * 2  # each attempt: its task and its dagman::post
    assert sum(b.count for b in series.invocations) == compute_and_post
    assert sum(b.count for b in series.jobs) == len(recs) + 1


def test_status_and_analyzer_from_rows(db: Session, tmp_path: Path) -> None:
    build_run(tmp_path / "run")
    wf_id = monitor_run(db, tmp_path / "run").wf_id
    report = status(db, wf_id)
    root = report.dags[0]
    assert (root.succeeded, root.failed, root.total, root.state) == (11, 1, 12, "Failure")
    analysis = analyze(db, wf_id)
    assert (analysis.total, analysis.succeeded, analysis.failed) == (12, 11, 1)
    assert analysis.workflow_status == "failure"
    [failed] = analysis.failed_jobs
    assert failed.name.endswith("_ID5") and failed.last_state == "POST_SCRIPT_FAILED"
    assert failed.tasks and failed.tasks[0].exitcode not in (0, None)


def test_a_run_id_resolves_to_its_monitored_workflow(db: Session, tmp_path: Path) -> None:
    from gateway.cli.status import resolve
    from gateway.db.models.provenance import Workflow
    from gateway.db.models.run import Run
    from gateway.db.models.user import User

    build_run(tmp_path / "run")
    owner = User(name="stats-owner")
    db.add(owner)
    db.flush()
    run = Run(owner_id=owner.id, name="stats", submit_dir=str(tmp_path / "run"))
    db.add(run)
    db.flush()
    wf_id = resolve(db, run.id)  # monitors the run's submit dir, then finds its workflow
    wf = db.get(Workflow, wf_id)
    assert wf is not None and wf.run_id == run.id and wf.parent_wf_id is None
    assert st.summary(db, wf_id).jobs.total == 12
    assert resolve(db, wf.wf_uuid) == wf_id
