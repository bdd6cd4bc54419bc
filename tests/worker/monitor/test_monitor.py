"""The monitor on realistic submit dirs, on PostgreSQL and SQLite: rows match the files,
re-running changes nothing, appended events are picked up incrementally, retries become
job instances."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from monitor_synth import T0, Node, SubmitDir
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gateway.db.models.provenance import (
    DagStatus,
    Invocation,
    Job,
    JobInstance,
    JobState,
    RCLfn,
    RCMeta,
    WorkflowState,
)
from worker.monitor import MonitorError, monitor_run, rows_for
from worker.monitor.braindump import BraindumpError
from worker.monitor.eventlog import EventLogError

PRE = Node("preprocess_ID1", "diamond::preprocess:4.0", "ID1", retries=2)
ANA = Node("analyze_ID2", "diamond::analyze:4.0", "ID2")
MKDIR = Node("create_dir_diamond_0_local", post=False)


def diamond(root: Path) -> SubmitDir:
    sd = SubmitDir(root)
    sd.nodes = [MKDIR, PRE, ANA]
    sd.edges = [(MKDIR.name, PRE.name), (PRE.name, ANA.name)]
    sd.write_plan()
    return sd


def run_first_half(sd: SubmitDir) -> None:
    sd.dagman_started(T0)
    sd.attempt(MKDIR, T0 + 1, T0 + 2, T0 + 3, 0)
    bad = sd.record(PRE, T0 + 11, 2.5, 1, stderr_tail="no such file f.a")
    sd.attempt(PRE, T0 + 10, T0 + 11, T0 + 14, 1, records=[bad], stderr="wrapper: exec failed")


def run_second_half(sd: SubmitDir) -> None:
    inputs = [{"lfn": "f.a", "size": 10, "sha256": "aa" * 32}]
    outputs = [{"lfn": "f.b", "size": 20, "sha256": "bb" * 32}]
    good = sd.record(
        PRE, T0 + 21, 3.25, 0, inputs=inputs, outputs=outputs,
        integrity={"succeeded": 1, "failed": 0, "duration": 0.5},
    )  # fmt: skip
    sd.attempt(PRE, T0 + 20, T0 + 21, T0 + 24.5, 0, records=[good])
    sd.attempt(ANA, T0 + 30, T0 + 31.5, T0 + 40, 0, records=[sd.record(ANA, T0 + 32, 7.0, 0)])
    sd.dagman_finished(T0 + 45, 0)


def instances(db: Session, node: str) -> list[tuple[int | None, float | None]]:
    rows = db.execute(
        select(JobInstance.exitcode, JobInstance.local_duration)
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.exec_job_id == node)
        .order_by(JobInstance.job_submit_seq)
    ).all()
    return [(r[0], r[1]) for r in rows]


def states(db: Session, node: str) -> list[list[str]]:
    out: dict[int, list[str]] = {}
    for iid, state in db.execute(
        select(JobState.job_instance_id, JobState.state)
        .join(JobInstance, JobInstance.job_instance_id == JobState.job_instance_id)
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.exec_job_id == node)
        .order_by(JobInstance.job_submit_seq, JobState.jobstate_submit_seq)
    ):
        out.setdefault(iid, []).append(state)
    return list(out.values())


def test_rows_match_the_run_and_retries_become_instances(db: Session, wf_dir: Path) -> None:
    sd = diamond(wf_dir)
    run_first_half(sd)
    run_second_half(sd)
    result = monitor_run(db, wf_dir)

    assert instances(db, PRE.name) == [(256, 3.0), (0, 3.5)]  # POST's raw code wins
    assert instances(db, MKDIR.name) == [(0, 1.0)]
    post_states = ["SUBMIT", "EXECUTE", "JOB_TERMINATED", "JOB_FAILURE", "POST_SCRIPT_STARTED",
                   "POST_SCRIPT_TERMINATED", "POST_SCRIPT_FAILED"]  # fmt: skip
    assert states(db, PRE.name)[0] == post_states
    assert states(db, PRE.name)[1][-1] == "POST_SCRIPT_SUCCESS"
    assert states(db, MKDIR.name) == [["SUBMIT", "EXECUTE", "JOB_TERMINATED", "JOB_SUCCESS"]]
    wf_states = db.execute(
        select(WorkflowState.state, WorkflowState.status, WorkflowState.restart_count)
        .where(WorkflowState.wf_id == result.wf_id)
        .order_by(WorkflowState.timestamp)
    ).all()
    assert [tuple(r) for r in wf_states] == [
        ("WORKFLOW_STARTED", None, 0),
        ("WORKFLOW_TERMINATED", 0, 0),
    ]
    invs = db.execute(
        select(Invocation.transformation, Invocation.exitcode, Invocation.remote_duration,
               Invocation.abs_task_id, Invocation.argv, Invocation.failed_step)
        .where(Invocation.wf_id == result.wf_id, Invocation.task_submit_seq == 1)
        .order_by(Invocation.start_time)
    ).all()  # fmt: skip
    assert [tuple(r) for r in invs] == [
        ("diamond::preprocess:4.0", 256, 2.5, "ID1", f"-a {PRE.name}", "exec"),
        ("diamond::preprocess:4.0", 0, 3.25, "ID1", f"-a {PRE.name}", None),
        ("diamond::analyze:4.0", 0, 7.0, "ID2", f"-a {ANA.name}", None),
    ]
    posts = db.scalars(
        select(Invocation.exitcode)
        .where(Invocation.wf_id == result.wf_id, Invocation.transformation == "dagman::post")
        .order_by(Invocation.start_time)
    ).all()
    assert posts == [256, 0, 0]
    checksum = db.execute(
        select(RCMeta.value)
        .join(RCLfn, RCLfn.lfn_id == RCMeta.lfn_id)
        .where(RCLfn.wf_id == result.wf_id, RCLfn.lfn == "f.b", RCMeta.key == "checksum.value")
    ).scalar_one()
    assert checksum == "bb" * 32
    stderr = db.execute(
        select(JobInstance.stderr_text, JobInstance.stdout_file)
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.exec_job_id == PRE.name)
        .order_by(JobInstance.job_submit_seq)
    ).first()
    assert stderr is not None
    assert tuple(stderr) == ("wrapper: exec failed", "00/00/preprocess_ID1.out.000")


def test_running_twice_changes_nothing(db: Session, wf_dir: Path) -> None:
    sd = diamond(wf_dir)
    run_first_half(sd)
    run_second_half(sd)
    first = monitor_run(db, wf_dir)
    before = rows_for(db, first.wf_id)
    second = monitor_run(db, wf_dir)
    assert (second.events, second.job_instances, second.jobstates, second.invocations) == (
        0, 0, 0, 0,
    )  # fmt: skip
    assert rows_for(db, first.wf_id) == before
    assert before["job_instance"] == 4 and before["invocation"] == 3 + 3


def test_appended_events_are_read_incrementally(db: Session, wf_dir: Path, tmp_path: Path) -> None:
    sd = diamond(wf_dir)
    run_first_half(sd)
    # an event still being written (no sync line yet) must wait for the next pass
    with open(wf_dir / f"{sd.dag}.nodes.log", "a") as fh:
        fh.write("000 (200.000.000) 2026-11-25 08:00:19.000Z Job submitted from host: <x>\n")
    first = monitor_run(db, wf_dir)
    assert first.job_instances == 2
    assert rows_for(db, first.wf_id)["invocation"] == 2  # task + dagman::post of attempt 1
    # complete the torn event's sync line, then the rest of the run
    with open(wf_dir / f"{sd.dag}.nodes.log", "a") as fh:
        fh.write("    DAG Node: someone_else\n...\n")
    run_second_half(sd)
    second = monitor_run(db, wf_dir)
    assert second.job_instances == 2
    assert instances(db, PRE.name) == [(256, 3.0), (0, 3.5)]
    counts = rows_for(db, first.wf_id)

    # the same files read in one pass give the same rows
    fresh = tmp_path / "again"
    shutil.copytree(wf_dir, fresh)
    (fresh / "braindump.yml").write_text(
        (fresh / "braindump.yml").read_text().replace(sd.wf_uuid, "0b5f7d1c-2222-4a2b-9c3d-0")
    )
    one_shot = monitor_run(db, fresh)
    assert rows_for(db, one_shot.wf_id) == counts


def test_node_status_file_gives_dagmans_counts(db: Session, wf_dir: Path) -> None:
    sd = diamond(wf_dir)
    run_first_half(sd)
    (wf_dir / f"{sd.dag}.status").write_text(
        '[\n  Type = "DagStatus";\n  DagFiles = { "diamond-0.dag" };\n  Timestamp = 1795593620;\n'
        "  DagStatus = 3;\n  NodesTotal = 3;\n  NodesDone = 1;\n  NodesPre = 0;\n"
        "  NodesQueued = 1;\n  NodesPost = 0;\n  NodesReady = 0;\n  NodesUnready = 1;\n"
        "  NodesFailed = 0;\n  NodesFutile = 0;\n  JobProcsHeld = 0;\n  JobProcsIdle = 1;\n]\n"
        '[\n  Type = "StatusEnd";\n  EndTime = 1795593620;\n  NextUpdate = 1795593680;\n]\n'
    )
    result = monitor_run(db, wf_dir)
    row = db.get(DagStatus, result.wf_id)
    assert row is not None
    # DagStatus 3 is "submitted" (a node-style code), so the DAG is not in error
    assert (row.nodes_total, row.done, row.queued, row.unready, row.dag_status) == (3, 1, 1, 1, 0)


def test_held_jobs_keep_their_reason(db: Session, wf_dir: Path) -> None:
    sd = diamond(wf_dir)
    sd.dagman_started(T0)
    sd.attempt(MKDIR, T0 + 1, T0 + 2, T0 + 3, 0)
    sd.attempt(PRE, T0 + 10, T0 + 11, T0 + 14, 1, held_reason="Transfer output files failure")
    monitor_run(db, wf_dir)
    reasons = db.scalars(select(JobState.reason).where(JobState.state == "JOB_HELD")).all()
    assert reasons == ["Transfer output files failure"]
    assert instances(db, PRE.name)[0][0] == 256  # aborted, then POST failed


def test_missing_braindump_names_the_file(db: Session, tmp_path: Path) -> None:
    with pytest.raises(BraindumpError, match=r"braindump\.yml"):
        monitor_run(db, tmp_path)


def test_unknown_target_is_a_clear_error(db: Session) -> None:
    with pytest.raises(MonitorError, match="neither a submit directory nor a run id"):
        monitor_run(db, "no-such-run")


def test_garbage_in_the_event_log_names_file_and_line(db: Session, wf_dir: Path) -> None:
    sd = diamond(wf_dir)
    run_first_half(sd)
    with open(wf_dir / f"{sd.dag}.nodes.log", "a") as fh:
        fh.write("this is not an event\n...\n")
    with pytest.raises(EventLogError, match=r"nodes\.log:\d+: not a job event header"):
        monitor_run(db, wf_dir)


def test_both_backends_see_the_same_schema(db: Session) -> None:
    names = {"workflow", "job", "job_instance", "jobstate", "invocation", "monitor_cursor"}
    dialect = db.get_bind().dialect.name
    if dialect == "sqlite":
        q = "select name from sqlite_master where type = 'table'"
    else:
        q = "select tablename from pg_tables where schemaname = 'public'"
    assert names <= {r[0] for r in db.execute(text(q))}


def test_concurrent_passes_take_turns(fresh_pg_url: str, tmp_path: Path) -> None:
    """The beat's pass and a user's `aerie status` on the same run, at the same moment."""
    import threading

    from gateway.db import migrate
    from gateway.db.session import Database, make_engine_for_url

    migrate.upgrade(fresh_pg_url)
    database = Database(make_engine_for_url(fresh_pg_url))
    try:
        sd = diamond(tmp_path / "run")
        run_first_half(sd)
        with database.session_scope() as s:
            wf_id = monitor_run(s, sd.root).wf_id
        run_second_half(sd)
        start = threading.Barrier(2)
        results: list[object] = []

        def one_pass() -> None:
            start.wait()
            try:
                with database.session_scope() as s:
                    results.append(monitor_run(s, sd.root).job_instances)
            except Exception as exc:  # noqa: BLE001 - the test reports it below
                results.append(exc)

        threads = [threading.Thread(target=one_pass) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(results, key=str) == [0, 2]  # one pass did the work, the other saw it
        with database.session_scope() as s:
            assert rows_for(s, wf_id)["job_instance"] == 4
    finally:
        database.dispose()


def test_dagman_exit_does_not_erase_node_status_counts(db: Session, wf_dir: Path) -> None:
    sd = diamond(wf_dir)
    run_first_half(sd)
    run_second_half(sd)
    (wf_dir / f"{sd.dag}.status").write_text(
        '[\n  Type = "DagStatus";\n  DagStatus = 5;\n  NodesTotal = 3;\n  NodesDone = 3;\n'
        "  NodesPre = 0;\n  NodesQueued = 0;\n  NodesPost = 0;\n  NodesReady = 0;\n"
        "  NodesUnready = 0;\n  NodesFailed = 0;\n  NodesFutile = 0;\n  JobProcsHeld = 0;\n]\n"
    )
    out = wf_dir / f"{sd.dag}.dagman.out"
    out.write_text("11/25/26 08:00:00 ** condor_scheduniv_exec.1.0 (CONDOR_DAGMAN) STARTING UP\n")
    wf_id = monitor_run(db, wf_dir).wf_id
    with open(out, "a") as fh:
        fh.write(
            "11/25/26 08:00:45 **** condor_dagman (condor_DAGMAN) pid 7 EXITING WITH STATUS 0\n"
        )
    monitor_run(db, wf_dir)
    row = db.get(DagStatus, wf_id)
    assert row is not None
    assert (row.nodes_total, row.done, row.exit_status) == (3, 3, 0)


def test_a_replaced_log_is_an_error_not_duplicates(db: Session, wf_dir: Path) -> None:
    sd = diamond(wf_dir)
    run_first_half(sd)
    monitor_run(db, wf_dir)
    log = wf_dir / f"{sd.dag}.nodes.log"
    log.write_text(log.read_text()[:100])
    with pytest.raises(MonitorError, match=r"nodes\.log: shrank from \d+ to 100 bytes"):
        monitor_run(db, wf_dir)
