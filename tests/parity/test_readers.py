"""The pure readers: formats as Pegasus and DAGMan write them, bad input named precisely."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.parity.conftest import SUBMIT_DIRS
from worker.pegasus_import.braindump import read_braindump
from worker.pegasus_import.dagfile import read_dag, read_rescue, rescue_files
from worker.pegasus_import.dagman_out import local_epoch, read_dagman_events
from worker.pegasus_import.errors import SubmitDirError
from worker.pegasus_import.jobstate import read_jobstate
from worker.pegasus_import.kickstart import epoch, parse_kickstart, read_kickstart

HELD = SUBMIT_DIRS / "sample_wf_held"


def test_braindump_keeps_the_planner_time_zone() -> None:
    bd = read_braindump(SUBMIT_DIRS / "process_wf_success" / "braindump.yml")
    assert bd.wf_uuid == "f00c0056-abd4-4e8e-b793-24eb760dda1f"
    assert bd.dag == "process-0.dag" and bd.dax_label == "process"
    assert bd.timestamp is not None and bd.timestamp.utcoffset() == timedelta(hours=-8)
    # 2023-03-03 22:23:33 at UTC-8 is 2023-03-04 06:23:33 UTC
    assert bd.timestamp.timestamp() == 1677911013
    assert bd.planner_arguments is not None and bd.planner_arguments.startswith("--conf")


def test_braindump_errors_name_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "braindump.yml"
    path.write_text("dag: x.dag\nuser: me\n")
    with pytest.raises(SubmitDirError, match=r"braindump.yml \[wf_uuid\]: missing field"):
        read_braindump(path)
    path.write_text("wf_uuid: a\ndag: [unclosed\n")
    with pytest.raises(SubmitDirError, match=r"braindump.yml:\d+: not valid YAML"):
        read_braindump(path)


def test_dag_nodes_scripts_retries_and_edges() -> None:
    dag = read_dag(HELD / "Drug-Combination-Therapy-0.dag")
    assert len(dag.nodes) == 8
    node = dag.nodes["chebi_drug_loader_ID0000001"]
    assert node.submit_file == "00/00/chebi_drug_loader_ID0000001.sub"
    assert node.post is not None and node.post.executable.endswith("pegasus-exitcode")
    assert "-s PegasusLite:+exitcode+0" in node.post.arguments
    assert node.retry == 0
    assert ("create_dir_Drug-Combination-Therapy_0_local", "stage_in_local_local_0_0") in dag.edges


def test_dag_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "x.dag"
    path.write_text("JOB a a.sub\nRETRY a lots\n")
    with pytest.raises(SubmitDirError, match=r"x.dag:2: malformed RETRY"):
        read_dag(path)


def test_rescue_dag_lists_done_and_failed_nodes() -> None:
    (path,) = rescue_files(HELD / "Drug-Combination-Therapy-0.dag")
    rescue = read_rescue(path)
    assert rescue.number == 1 and rescue.total_nodes == 8
    assert rescue.failed == ("chebi_drug_loader_ID0000001",)
    assert rescue.done == {
        "create_dir_Drug-Combination-Therapy_0_local",
        "stage_in_local_local_0_0",
    }


def test_jobstate_lines_and_internal_events() -> None:
    log = read_jobstate(HELD / "jobstate.log")
    assert [e.event for e in log.internal] == [
        "MONITORD_STARTED", "DAGMAN_STARTED", "DAGMAN_FINISHED", "MONITORD_FINISHED",
    ]  # fmt: skip
    first = log.lines[0]
    assert (first.job, first.state, first.info, first.site, first.submit_seq) == (
        "create_dir_Drug-Combination-Therapy_0_local", "SUBMIT", "104.0", "local", 1,
    )  # fmt: skip


def test_jobstate_truncated_last_line_is_ignored_but_bad_middle_line_is_an_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobstate.log"
    path.write_text("1 a SUBMIT 1.0 local - 1\n2 a EXEC")
    assert len(read_jobstate(path).lines) == 1
    path.write_text("1 a SUBMIT 1.0 local - 1\nnot-a-time a X\n3 a EXECUTE 1.0 local - 1\n")
    with pytest.raises(SubmitDirError, match=r"jobstate.log:2: malformed"):
        read_jobstate(path)


def test_kickstart_times_honour_their_offset() -> None:
    assert epoch("2023-03-03T22:24:20.709-08:00") == pytest.approx(1677911060.709)
    assert epoch("2023-03-04T06:24:20.709Z") == pytest.approx(1677911060.709)
    out = read_kickstart(SUBMIT_DIRS / "process_wf_success/00/00/ls_ID0000001.out.000")
    assert out is not None
    (inv,) = out.invocations
    assert inv.start == pytest.approx(1677911060.709)
    assert (inv.transformation, inv.derivation, inv.raw, inv.maxrss) == ("ls", "ID0000001", 0, 2980)
    assert inv.remote_cpu_time == pytest.approx(0.005)
    assert inv.argv == ["-l", "/"] and inv.executable == "/usr/bin/ls"


def test_kickstart_clustered_and_multipart_records() -> None:
    text = (
        '[cluster-task id=1, start="2020-01-01T00:00:00Z", duration=1.0, status=0]\n'
        "- invocation: True\n  transformation: a\n  mainjob:\n    status:\n      raw: 0\n"
        "- invocation: True\n  transformation: b\n  mainjob:\n    status:\n      raw: 256\n"
        "---------------pegasus-multipart\n"
        "- integrity_summary:\n    succeeded: 2\n    failed: 1\n    duration: 0.5\n"
        '[cluster-summary stat="ok", tasks=2, succeeded=1, failed=1, extra=0, '
        'start="2020-01-01T00:00:00Z", duration=3.5]\n'
    )
    out = parse_kickstart(text)
    assert [i.transformation for i in out.invocations] == ["a", "b"]
    assert [i.raw for i in out.invocations] == [0, 256]
    assert out.multipart == [{"integrity_summary": {"succeeded": 2, "failed": 1, "duration": 0.5}}]
    assert out.cluster_summary is not None and out.cluster_summary["duration"] == "3.5"
    assert out.cluster_tasks[0]["id"] == "1"


def test_dagman_out_local_times_use_the_submit_host_offset() -> None:
    assert local_epoch("03/05/23 09:10:11", timedelta(hours=-8)) == 1678036211
    events = read_dagman_events(HELD / "Drug-Combination-Therapy-0.dag.dagman.out",
                                timedelta(hours=-8))  # fmt: skip
    (run,) = events.runs
    # the same instants jobstate.log recorded as DAGMAN_STARTED / DAGMAN_FINISHED
    assert (run.condor_id, run.started, run.finished, run.status) == ("103.0", 1678036211,
                                                                       1678036332, 1)  # fmt: skip
    assert list(events.hold_reasons) == ["chebi_drug_loader_ID0000001"]


def test_a_corrupt_kickstart_record_is_named_and_the_attempt_still_counts(
    run_copy: Callable[[str], Path],
) -> None:
    from worker.pegasus_import.rebuild import rebuild_workflow

    run = run_copy("process_wf_success")
    broken = run / "00/00/ls_ID0000001.out.000"
    broken.write_text("- invocation: True\n  transformation: [ls\n  mainjob: {\n")
    wf = rebuild_workflow(run)
    assert any(w.startswith("00/00/ls_ID0000001.out.000: unparsable YAML") for w in wf.warnings)
    ls = next(j for j in wf.jobs if j.exec_job_id == "ls_ID0000001")
    (attempt,) = ls.instances
    # the submit side still knows the attempt: one task from the .sub, the POST verdict
    assert [(i.task_submit_seq, i.transformation) for i in attempt.invocations] == [
        (1, "ls"), (-2, "dagman::post"),
    ]  # fmt: skip
    assert attempt.exitcode == 0 and attempt.local_duration == 1
