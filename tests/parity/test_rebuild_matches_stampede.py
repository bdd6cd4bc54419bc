"""The import rebuilds, from files alone, what monitord wrote into Pegasus's stampede.db.

Every run is rebuilt from a copy of its submit dir with the stampede databases deleted; the
original stampede.db is then the ground truth, row by row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.parity import stampede as S
from tests.parity.conftest import SUBMIT_DIRS, stampede_db
from worker.pegasus_import.model import WorkflowRecord
from worker.pegasus_import.rebuild import rebuild_workflow

# Runs whose stampede.db monitord finished loading (monitord.done present).
COMPLETE = ["process_wf_success", "process_wf_failure", "sample_wf_held", "hierarchical_wf_failure"]


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-6
    return bool(a == b)


def _instances(wf: WorkflowRecord) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (j.exec_job_id, i.job_submit_seq): {
            "sched_id": i.sched_id,
            "site": i.site,
            "exitcode": i.exitcode,
            "local_duration": i.local_duration,
            "stdout_file": i.stdout_file,
            "stderr_file": i.stderr_file,
            "multiplier_factor": i.multiplier_factor,
        }  # fmt: skip
        for j in wf.jobs
        for i in j.instances
    }


def _invocations(wf: WorkflowRecord) -> dict[tuple[str, int, int], dict[str, Any]]:
    return {
        (j.exec_job_id, i.job_submit_seq, v.task_submit_seq): {
            "start_time": v.start_time,
            "remote_duration": v.remote_duration,
            "remote_cpu_time": v.remote_cpu_time,
            "exitcode": v.exitcode,
            "transformation": v.transformation,
            "executable": v.executable,
            "abs_task_id": v.abs_task_id,
            "maxrss": v.maxrss,
        }  # fmt: skip
        for j in wf.jobs
        for i in j.instances
        for v in i.invocations
    }


def _states(wf: WorkflowRecord) -> dict[tuple[str, int], list[tuple[str, int, int]]]:
    return {
        (j.exec_job_id, i.job_submit_seq): sorted(
            ((s.state, s.timestamp, s.seq) for s in i.states), key=lambda s: (s[2], s[0])
        )
        for j in wf.jobs
        for i in j.instances
    }


def _assert_same(expected: dict[Any, Any], actual: dict[Any, Any]) -> None:
    assert sorted(expected, key=str) == sorted(actual, key=str)
    for key, want in expected.items():
        got = actual[key]
        if isinstance(want, dict):
            bad = {f: (want[f], got[f]) for f in want if not _close(want[f], got[f])}
            assert not bad, f"{key}: (stampede, imported) differ: {bad}"
        else:
            assert want == got, key


@pytest.fixture(
    params=[(name, lost) for name in COMPLETE for lost in (False, True)],
    ids=lambda p: f"{p[0]}{'-without-jobstate.log' if p[1] else ''}",
)
def rebuilt(
    request: pytest.FixtureRequest, run_copy: Callable[[str], Path]
) -> tuple[Path, WorkflowRecord]:
    """The run rebuilt without its stampede.db; in the second variant jobstate.log is gone too
    and everything monitord knew is replayed from dagman.out."""
    name, lose_jobstate = request.param
    path = run_copy(name)
    if lose_jobstate:
        (path / "jobstate.log").unlink()
    wf = rebuild_workflow(path)
    assert any("replayed from dagman.out" in w for w in wf.warnings) == lose_jobstate
    return stampede_db(name), wf


def test_jobs_match(rebuilt: tuple[Path, WorkflowRecord]) -> None:
    db, wf = rebuilt
    mine = {
        j.exec_job_id: {
            "submit_file": j.submit_file,
            "type_desc": j.type_desc,
            "clustered": j.clustered,
            "max_retries": j.max_retries,
            "task_count": j.task_count,
        }  # fmt: skip
        for j in wf.jobs
    }
    _assert_same(S.jobs(db, wf.wf_uuid), mine)


def test_job_instances_match(rebuilt: tuple[Path, WorkflowRecord]) -> None:
    db, wf = rebuilt
    _assert_same(S.instances(db, wf.wf_uuid), _instances(wf))


def test_invocations_match_including_pre_and_post_scripts(
    rebuilt: tuple[Path, WorkflowRecord],
) -> None:
    db, wf = rebuilt
    _assert_same(S.invocations(db, wf.wf_uuid), _invocations(wf))


def test_job_states_match(rebuilt: tuple[Path, WorkflowRecord]) -> None:
    db, wf = rebuilt
    _assert_same(S.jobstates(db, wf.wf_uuid), _states(wf))


def test_workflow_states_and_integrity_match(rebuilt: tuple[Path, WorkflowRecord]) -> None:
    db, wf = rebuilt
    assert S.workflow_states(db, wf.wf_uuid) == [
        (s.state, s.timestamp, s.restart_count, s.status) for s in wf.states
    ]
    mine = {
        (j.exec_job_id, i.job_submit_seq, g.type, g.file_type): (g.count, g.duration)
        for j in wf.jobs
        for i in j.instances
        for g in i.integrity
    }
    want = S.integrity(db, wf.wf_uuid)
    assert set(want) == set(mine)
    for key, (count, duration) in want.items():
        assert mine[key][0] == count and mine[key][1] == pytest.approx(duration), key


def test_held_job_keeps_its_hold_reason_from_dagman_out(run_copy: Callable[[str], Path]) -> None:
    wf = rebuild_workflow(run_copy("sample_wf_held"))
    held = next(j for j in wf.jobs if j.exec_job_id == "chebi_drug_loader_ID0000001")
    (instance,) = held.instances
    reasons = [s.reason for s in instance.states if s.state == "JOB_HELD"]
    expected = S.rows(
        stampede_db("sample_wf_held"), "select reason from jobstate where state = 'JOB_HELD'"
    )
    assert reasons == [r[0] for r in expected]
    assert reasons[0] is not None and "Transfer output files failure" in reasons[0]


def test_incomplete_stampede_db_is_completed_by_files(run_copy: Callable[[str], Path]) -> None:
    """hierarchical_wf_success: monitord stopped early; the files know more than its DB."""
    db = stampede_db("hierarchical_wf_success")
    wf = rebuild_workflow(run_copy("hierarchical_wf_success"))
    expected = S.instances(db, wf.wf_uuid)
    mine = _instances(wf)
    assert set(expected) <= set(mine)
    # every value monitord did record, the import has too
    for key, want in expected.items():
        for field_name, value in want.items():
            if value is not None:
                assert _close(value, mine[key][field_name]), (key, field_name)
    # ...and the jobs it never finished loading are complete in the import
    late = mine["wc_ID0000002", 9]
    assert expected["wc_ID0000002", 9]["exitcode"] is None
    assert late["exitcode"] == 0 and late["local_duration"] == 2


def test_sub_workflow_tree_is_linked(run_copy: Callable[[str], Path]) -> None:
    db = stampede_db("hierarchical_wf_success")
    wf = rebuild_workflow(run_copy("hierarchical_wf_success"))
    (child,) = wf.children
    assert child.parent_wf_uuid == wf.wf_uuid and child.root_wf_uuid == wf.wf_uuid
    plan = next(j for j in wf.jobs if j.exec_job_id == "pegasus-plan_diamond_subworkflow")
    assert [i.subwf_uuid for i in plan.instances] == [child.wf_uuid]
    # the sub-workflow's start/end come from its DAGMan node, as monitord recorded them
    assert S.workflow_states(db, child.wf_uuid) == [
        (s.state, s.timestamp, s.restart_count, s.status) for s in child.states
    ]
    # without the sub-workflow's own logs, kickstart records still give every invocation
    want = {k: v for k, v in S.invocations(db, child.wf_uuid).items() if k[2] > 0}
    mine = _invocations(child)
    by_task = {(k[0], v["start_time"]): v for k, v in mine.items()}
    for (job, _seq, _task), row in want.items():
        got = by_task[job, row["start_time"]]
        assert _close(got["remote_duration"], row["remote_duration"])
        assert got["exitcode"] == row["exitcode"]


@pytest.mark.parametrize("name", COMPLETE)
def test_dagman_out_replay_is_the_jobstate_log(name: str, run_copy: Callable[[str], Path]) -> None:
    """monitord wrote jobstate.log from dagman.out; the replay gives it back line for line."""
    from worker.pegasus_import.braindump import read_braindump
    from worker.pegasus_import.dagman_replay import replay_dagman_out
    from worker.pegasus_import.jobstate import read_jobstate

    path = run_copy(name)
    bd = read_braindump(path / "braindump.yml")
    logged = read_jobstate(path / "jobstate.log")
    sites = {line.job: line.site for line in logged.lines}
    assert bd.timestamp is not None
    replayed = replay_dagman_out(path / f"{bd.dag}.dagman.out", bd.timestamp.utcoffset(), sites)

    def journal(lines: list) -> list[tuple]:  # type: ignore[type-arg]
        return sorted((x.timestamp, x.job, x.state, x.info, x.site, x.submit_seq) for x in lines)

    assert journal(replayed.lines) == journal(logged.lines)
    dagman = [(e.timestamp, e.event, e.argument) for e in logged.internal if "DAGMAN" in e.event]
    assert [(e.timestamp, e.event, e.argument) for e in replayed.internal] == dagman


def test_run_whose_monitord_died_is_completed_from_dagman_out(
    run_copy: Callable[[str], Path],
) -> None:
    """hierarchical_wf_success: jobstate.log and stampede.db stop mid-run; dagman.out does not."""
    wf = rebuild_workflow(run_copy("hierarchical_wf_success"))
    assert "jobstate.log incomplete: completed from dagman.out" in wf.warnings
    assert wf.end_status == 0
    last = {j.exec_job_id: j.instances[-1].exitcode for j in wf.jobs}
    assert last == dict.fromkeys(last, 0) and len(last) == 13


def test_resubmitted_rescue_dag_is_a_restart(run_copy: Callable[[str], Path]) -> None:
    """pegasus-run after a failure: DAGMan starts again from the rescue DAG; monitord appends
    to jobstate.log. The second run is restart 1, the retried node a new attempt (.out.001)."""
    path = run_copy("sample_wf_held")
    jobs = path / "00" / "00"
    name = "chebi_drug_loader_ID0000001"
    (jobs / f"{name}.out.001").write_text(
        (SUBMIT_DIRS / "process_wf_success/00/00/ls_ID0000001.out.000").read_text()
    )
    (jobs / f"{name}.err.001").write_text("PegasusLite: exitcode 0\n")
    second_run = [
        "1678040000 INTERNAL *** DAGMAN_STARTED 200.0 ***",
        f"1678040005 {name} SUBMIT 201.0 condorpool - 4",
        f"1678040010 {name} EXECUTE 201.0 condorpool - 4",
        f"1678040020 {name} JOB_TERMINATED 201.0 condorpool - 4",
        f"1678040025 {name} JOB_SUCCESS 0 condorpool - 4",
        f"1678040025 {name} POST_SCRIPT_STARTED 201.0 condorpool - 4",
        f"1678040026 {name} POST_SCRIPT_TERMINATED 201.0 condorpool - 4",
        f"1678040030 {name} POST_SCRIPT_SUCCESS 0 condorpool - 4",
        "1678040040 INTERNAL *** DAGMAN_FINISHED 0 ***",
    ]
    with (path / "jobstate.log").open("a") as log:
        log.write("\n".join(second_run) + "\n")
    (path / "Drug-Combination-Therapy-0.dag.dagman.out").unlink()  # only jobstate.log knows

    wf = rebuild_workflow(path)
    assert [(s.state, s.restart_count, s.status) for s in wf.states] == [
        ("WORKFLOW_STARTED", 0, None),
        ("WORKFLOW_TERMINATED", 0, 1),
        ("WORKFLOW_STARTED", 1, None),
        ("WORKFLOW_TERMINATED", 1, 0),
    ]
    assert wf.end_status == 0
    # wall time across restarts, as pegasus-statistics sums it: (332-211) + (40040-40000)
    ends = sum(s.timestamp for s in wf.states if s.state == "WORKFLOW_TERMINATED")
    starts = sum(s.timestamp for s in wf.states if s.state == "WORKFLOW_STARTED")
    assert ends - starts == 121 + 40
    job = next(j for j in wf.jobs if j.exec_job_id == name)
    first, second = job.instances
    assert (first.job_submit_seq, first.exitcode) == (3, 256)
    assert (second.job_submit_seq, second.exitcode, second.local_duration) == (4, 0, 10)
    assert second.stdout_file == f"00/00/{name}.out.001"
    (task,) = [i for i in second.invocations if i.task_submit_seq == 1]
    assert task.transformation == "ls" and task.exitcode == 0
