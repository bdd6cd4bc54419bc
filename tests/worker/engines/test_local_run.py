"""Running real DAGs with the local engine (in this process, real child processes): DAGMan's
node semantics observed from the outside — files the jobs wrote, the event log, jobstate.log,
the status file, the rescue DAG and the exit status."""

from __future__ import annotations

import json
from pathlib import Path

import classad2
import htcondor2

from tests.worker.engines.conftest import DagDir
from worker.engines.local.config import EngineConfig
from worker.engines.local.runner import run

E = htcondor2.JobEventType


def events(dag: Path) -> list[htcondor2.JobEvent]:
    return list(htcondor2.JobEventLog(str(dag) + ".nodes.log").events(0))


def node_of(evs: list[htcondor2.JobEvent]) -> dict[int, str]:
    return {ev.cluster: ev["StructuredNotes"]["DAGNodeName"] for ev in evs if ev.type == E.SUBMIT}


def test_diamond_runs_in_dependency_order_and_writes_every_file(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    for n in "ABCD":
        d.sub(f"{n}.sub", f"{n} {d.root}")
    dag = d.dag(
        "JOB A A.sub\nJOB B B.sub\nJOB C C.sub\nJOB D D.sub\n"
        "PARENT A CHILD B C\nPARENT B C CHILD D\n"
        "JOBSTATE_LOG jobstate.log\nNODE_STATUS_FILE test.status 0\n"
    )
    result = run(dag, engine_config)
    assert result.exit_code == 0 and result.failed == [] and result.rescue_file is None
    order = d.starts()
    assert order[0] == "A" and order[-1] == "D" and sorted(order[1:3]) == ["B", "C"]
    evs = events(dag)
    assert sorted(node_of(evs).values()) == ["A", "B", "C", "D"]
    terms = [ev for ev in evs if ev.type == E.JOB_TERMINATED]
    assert len(terms) == 4 and all(ev["ReturnValue"] == 0 for ev in terms)
    jobstate = (d.root / "jobstate.log").read_text().splitlines()
    assert "INTERNAL *** DAGMAN_STARTED" in jobstate[0]
    assert jobstate[-1].endswith("INTERNAL *** DAGMAN_FINISHED 0 ***")
    a_lines = [line.split()[2] for line in jobstate if line.split()[1] == "A"]
    assert a_lines == ["SUBMIT", "EXECUTE", "JOB_TERMINATED", "JOB_SUCCESS"]
    ads = list(classad2.parseAds((d.root / "test.status").read_text()))
    assert ads[0]["Type"] == "DagStatus" and ads[0]["NodesDone"] == 4
    assert {ad["Node"]: ad["NodeStatus"] for ad in ads[1:-1]} == dict.fromkeys("ABCD", 5)
    assert ads[-1]["Type"] == "StatusEnd"
    metrics = json.loads((d.root / "test.dag.metrics").read_text())
    assert (metrics["exitcode"], metrics["DagStatus"], metrics["jobs_succeeded"]) == (0, 0, 4)
    out = (d.root / "test.dag.dagman.out").read_text()
    assert "Event: ULOG_JOB_TERMINATED for HTCondor Node D (" in out
    assert "Node A job proc (1.0.0) completed successfully." in out
    assert "Of 4 nodes total:" in out and out.rstrip().endswith("EXITING WITH STATUS 0")
    assert not (d.root / "test.dag.lock").exists()


def test_retries_rerun_the_node_with_its_retry_number(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    d.sub("flaky.sub", f"flaky {d.root} 2")
    dag = d.dag("JOB flaky flaky.sub\nRETRY flaky 2\nJOBSTATE_LOG jobstate.log\n")
    assert run(dag, engine_config).exit_code == 0
    assert d.starts() == ["flaky"] * 3
    retries = [
        line.split("retry=")[1]
        for line in (d.root / "events.txt").read_text().split("\n")
        if "start" in line
    ]
    assert retries == ["0", "1", "2"], "$(RETRY) reaches the job through the submit file"
    terms = [ev["ReturnValue"] for ev in events(dag) if ev.type == E.JOB_TERMINATED]
    assert terms == [3, 3, 0]
    seqs = [
        line.split()[-1]
        for line in (d.root / "jobstate.log").read_text().splitlines()
        if " SUBMIT " in line
    ]
    assert seqs == ["1", "2", "3"], "each attempt gets its own jobstate sequence number"


def test_retry_unless_exit_stops_retrying(dagdir: DagDir, engine_config: EngineConfig) -> None:
    d = dagdir
    d.sub("x.sub", f"x {d.root} 5 0 42")
    dag = d.dag("JOB x x.sub\nRETRY x 4 UNLESS-EXIT 42\n")
    result = run(dag, engine_config)
    assert result.exit_code == 1 and result.failed == ["x"]
    assert d.starts() == ["x"]


def test_post_script_failure_fails_the_node_and_its_descendants_become_futile(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    post = d.root / "post.sh"
    post.write_text(f'#!/bin/sh\necho "$@" >> {d.root}/post.txt\nexit 4\n')
    post.chmod(0o755)
    for n in ("A", "B", "C"):
        d.sub(f"{n}.sub", f"{n} {d.root}")
    dag = d.dag(
        "JOB A A.sub\nJOB B B.sub\nJOB C C.sub\n"
        "SCRIPT POST A post.sh $JOB $RETURN $RETRY $MAX_RETRIES $JOBID\n"
        "PARENT A CHILD B\nNODE_STATUS_FILE test.status\n"
    )
    result = run(dag, engine_config)
    assert result.exit_code == 1 and result.failed == ["A"]
    assert sorted(d.starts()) == ["A", "C"], "B is futile, C still runs"
    assert (d.root / "post.txt").read_text().split() == ["A", "0", "0", "0", "1.0"]
    post_events = [ev for ev in events(dag) if ev.type == E.POST_SCRIPT_TERMINATED]
    assert [(ev["DAGNodeName"], ev["ReturnValue"]) for ev in post_events] == [("A", 4)]
    rescue = d.root / "test.dag.rescue001"
    assert result.rescue_file == rescue
    text = rescue.read_text()
    assert "#   A,<ENDLIST>" in text and "DONE C" in text and "DONE A" not in text
    ads = list(classad2.parseAds((d.root / "test.status").read_text()))
    assert {ad["Node"]: ad["NodeStatus"] for ad in ads[1:-1]} == {"A": 6, "B": 7, "C": 5}
    metrics = json.loads((d.root / "test.dag.metrics").read_text())
    assert (metrics["exitcode"], metrics["DagStatus"]) == (1, 2)


def test_post_script_can_turn_a_failed_job_into_success(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    d.sub("A.sub", f"A {d.root} 9")
    d.sub("B.sub", f"B {d.root}")
    dag = d.dag("JOB A A.sub\nJOB B B.sub\nSCRIPT POST A /bin/true\nPARENT A CHILD B\n")
    assert run(dag, engine_config).exit_code == 0
    assert d.starts() == ["A", "B"]


def test_pre_script_failure_skips_the_job_and_pre_skip_marks_success(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    for n in ("A", "B", "C"):
        d.sub(f"{n}.sub", f"{n} {d.root}")
    dag = d.dag(
        "JOB A A.sub\nJOB B B.sub\nJOB C C.sub\n"
        "SCRIPT PRE A /bin/false\nSCRIPT PRE B /bin/sh -c exit\n"
        "SCRIPT PRE C /bin/false\nPRE_SKIP C 1\nJOBSTATE_LOG js.log\n"
    )
    result = run(dag, engine_config)
    assert result.failed == ["A"]
    assert d.starts() == ["B"], "A's job never ran; C was skipped as successful"
    js = (d.root / "js.log").read_text()
    assert " A PRE_SCRIPT_FAILURE 1 " in js and " A SUBMIT " not in js


def test_abort_dag_on_stops_everything_with_its_return_value(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    d.sub("bad.sub", f"bad {d.root} 1 0 5")
    d.sub("slow.sub", f"slow {d.root} 0 30")
    d.sub("after.sub", f"after {d.root}")
    dag = d.dag(
        "JOB bad bad.sub\nJOB slow slow.sub\nJOB after after.sub\nPARENT bad CHILD after\n"
        "SCRIPT PRE bad /bin/sleep 0.5\nRETRY bad 3\nABORT-DAG-ON bad 5 RETURN 9\n"
    )
    result = run(dag, engine_config)
    assert result.exit_code == 9, "RETURN overrides the node value; RETRY is not honoured"
    assert d.starts("bad") == ["bad"] and d.starts("after") == []
    evs = events(dag)
    names = node_of(evs)
    aborted = [names[ev.cluster] for ev in evs if ev.type == E.JOB_ABORTED]
    assert aborted == ["slow"], "the running job was removed"
    assert (d.root / "test.dag.rescue001").exists()
    assert json.loads((d.root / "test.dag.metrics").read_text())["DagStatus"] == 3


def test_category_maxjobs_limits_concurrency(dagdir: DagDir, engine_config: EngineConfig) -> None:
    d = dagdir
    lines = []
    for i in range(6):
        d.sub(f"n{i}.sub", f"n{i} {d.root} 0 0.3")
        lines += [f"JOB n{i} n{i}.sub", f"CATEGORY n{i} tight"]
    dag = d.dag("\n".join(lines) + "\nMAXJOBS tight 2\n")
    assert run(dag, engine_config).exit_code == 0
    assert len(d.starts()) == 6
    assert d.max_concurrency() == 2


def test_priority_orders_ready_nodes_when_one_slot_is_free(dagdir: DagDir, tmp_path: Path) -> None:
    d = dagdir
    lines = []
    for i, prio in enumerate([1, 50, 7, 100, -3]):
        d.sub(f"n{i}.sub", f"p{prio} {d.root}", universe="vanilla", extra="request_cpus = 1\n")
        lines += [f"JOB n{i} n{i}.sub", f"PRIORITY n{i} {prio}"]
    dag = d.dag("\n".join(lines) + "\n")
    config = EngineConfig(cpus=1, memory_mb=1024, scratch_root=tmp_path / "s")
    assert run(dag, config).exit_code == 0
    assert d.starts() == ["p100", "p50", "p7", "p1", "p-3"]


def test_resource_slots_bound_concurrency_and_oversized_requests_fail_clearly(
    dagdir: DagDir, tmp_path: Path
) -> None:
    d = dagdir
    for i in range(3):
        d.sub(f"w{i}.sub", f"w{i} {d.root} 0 0.3", "vanilla", "request_cpus = 2\n")
    d.sub("m.sub", f"m {d.root} 0 0.3", "vanilla", "request_memory = 1.5 GB\n")
    d.sub("huge.sub", f"huge {d.root}", "vanilla", "request_gpus = 1\n")
    dag = d.dag("JOB w0 w0.sub\nJOB w1 w1.sub\nJOB w2 w2.sub\nJOB m m.sub\nJOB huge huge.sub\n")
    config = EngineConfig(cpus=3, memory_mb=2048, gpus=0, scratch_root=tmp_path / "s")
    result = run(dag, config)
    assert result.failed == ["huge"] and d.starts("huge") == []
    assert d.max_concurrency({"w0", "w1", "w2"}) == 1, "two 2-cpu jobs never share 3 cpus"
    held = [ev for ev in events(dag) if ev.type == E.JOB_HELD]
    assert len(held) == 1 and "exceeds this host's capacity" in held[0]["HoldReason"]
    assert "gpus=1" in held[0]["HoldReason"]


def test_vanilla_jobs_get_htcondor_file_transfer(dagdir: DagDir, tmp_path: Path) -> None:
    d = dagdir
    data = d.root / "data"
    data.mkdir()
    (data / "in.txt").write_text("payload\n")
    job = d.root / "job.sh"
    job.write_text(
        "#!/bin/sh\nset -e\n"
        'test "$(pwd)" = "$_CONDOR_SCRATCH_DIR"\n'
        "cat in.txt > out.txt\necho $GREETING >> out.txt\npwd > where.txt\n"
        "echo to-stdout; echo to-stderr >&2\n"
    )
    job.chmod(0o755)
    sub = (
        "universe = vanilla\n"
        f"executable = {job}\n"
        "initialdir = data\n"
        "should_transfer_files = YES\n"
        "transfer_input_files = in.txt\n"
        "transfer_output_files = out.txt, where.txt\n"
        "output = $(JOB).out\nerror = $(JOB).err\n"
        "environment = \"GREETING='hello world'\"\n"
        "queue\n"
    )
    (d.root / "t.sub").write_text(sub)
    (d.root / "missing.sub").write_text(sub.replace("where.txt", "nothere.txt"))
    dag = d.dag("JOB t t.sub\nJOB miss missing.sub\n")
    scratch = tmp_path / "scratch"
    result = run(dag, EngineConfig(cpus=2, memory_mb=1024, scratch_root=scratch))
    assert (data / "out.txt").read_text() == "payload\nhello world\n"
    where = Path((data / "where.txt").read_text().strip())
    assert where.parent == scratch and not where.exists(), "fresh scratch, removed afterwards"
    assert (data / "t.out").read_text() == "to-stdout\n"
    assert (data / "t.err").read_text() == "to-stderr\n"
    assert result.failed == ["miss"]
    held = [ev for ev in events(dag) if ev.type == E.JOB_HELD]
    assert len(held) == 1 and "nothere.txt" in held[0]["HoldReason"]
    assert held[0]["HoldReasonCode"] == 12
    assert list(scratch.iterdir()) == []


def test_submit_failure_is_reported_and_retried(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    (d.root / "bad.sub").write_text("universe = local\nexecutable = /no/such/program\nqueue\n")
    dag = d.dag("JOB bad bad.sub\nRETRY bad 1\nJOBSTATE_LOG js.log\n")
    result = run(dag, engine_config)
    assert result.failed == ["bad"]
    js = (d.root / "js.log").read_text()
    assert js.count(" bad SUBMIT_FAILURE - ") == 2
    out = (d.root / "test.dag.dagman.out").read_text()
    assert "Executable file /no/such/program does not exist" in out


def test_vars_and_node_macros_reach_the_submit_file(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    (d.root / "v.sub").write_text(
        "universe = local\nexecutable = /bin/sh\n"
        "mine = from-submit\n"
        f"arguments = \"-c 'echo $(JOB) $(who) $(mine) $(Cluster) >> {d.root}/v.txt'\"\n"
        "queue\n"
    )
    dag = d.dag(
        'JOB one v.sub\nJOB two v.sub\nVARS one who="first one" mine="ignored"\n'
        'VARS two APPEND who="second" mine="from-dag"\nPARENT one CHILD two\n'
    )
    assert run(dag, engine_config).exit_code == 0
    assert (d.root / "v.txt").read_text().splitlines() == [
        "one first one from-submit 1",
        "two second from-dag 2",
    ]


def test_subdag_external_runs_the_inner_dag_as_one_node(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    inner = d.root / "inner"
    inner.mkdir()
    for n in ("i1", "i2"):
        (inner / f"{n}.sub").write_text(
            f'universe = local\nexecutable = {d.script}\narguments = "{n} {d.root}"\nqueue\n'
        )
    (inner / "inner.dag").write_text("JOB i1 i1.sub\nJOB i2 i2.sub\nPARENT i1 CHILD i2\n")
    d.sub("A.sub", f"A {d.root}")
    d.sub("Z.sub", f"Z {d.root}")
    dag = d.dag(
        "JOB A A.sub\nSUBDAG EXTERNAL S inner.dag DIR inner\nJOB Z Z.sub\n"
        "PARENT A CHILD S\nPARENT S CHILD Z\n"
    )
    assert run(dag, engine_config).exit_code == 0
    assert d.starts() == ["A", "i1", "i2", "Z"]
    assert (inner / "inner.dag.nodes.log").exists() and (inner / "inner.dag.metrics").exists()
    inner_metrics = json.loads((inner / "inner.dag.metrics").read_text())
    assert inner_metrics["parent_dagman_id"] != ""


def test_final_node_runs_after_a_failure(dagdir: DagDir, engine_config: EngineConfig) -> None:
    d = dagdir
    d.sub("bad.sub", f"bad {d.root} 1")
    d.sub("fin.sub", f"fin {d.root}")
    dag = d.dag("JOB bad bad.sub\nFINAL fin fin.sub\n")
    result = run(dag, engine_config)
    assert d.starts() == ["bad", "fin"]
    assert result.exit_code == 0, "the FINAL node's success decides the DAG (DAGMan manual)"


def test_unopenable_output_holds_the_job_with_the_reason(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    d.sub("A.sub", f"A {d.root}", extra="output = no/such/dir/$(JOB).out\n")
    dag = d.dag("JOB A A.sub\n")
    result = run(dag, engine_config)
    assert result.failed == ["A"] and d.starts() == []
    held = [ev for ev in events(dag) if ev.type == E.JOB_HELD]
    assert len(held) == 1
    assert "cannot open output" in held[0]["HoldReason"]
    assert "no/such/dir/A.out: No such file or directory" in held[0]["HoldReason"]


def test_many_ready_local_jobs_respect_the_local_limit(dagdir: DagDir, tmp_path: Path) -> None:
    d = dagdir
    lines = []
    for i in range(40):
        d.sub(f"l{i}.sub", f"l{i} {d.root} 0 0.05")
        lines.append(f"JOB l{i} l{i}.sub")
    dag = d.dag("\n".join(lines) + "\n")
    config = EngineConfig(cpus=1, memory_mb=512, max_local=3, scratch_root=tmp_path / "s")
    assert run(dag, config).exit_code == 0
    assert len(d.starts()) == 40 and d.max_concurrency() <= 3


def test_noop_dir_done_defer_and_always_run_post(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    sub = d.root / "sub"
    sub.mkdir()
    (sub / "here.sub").write_text(
        f"universe = local\nexecutable = /bin/sh\n"
        f"arguments = \"-c 'pwd > {d.root}/pwd.txt'\"\nqueue\n"
    )
    counter = d.root / "defer.count"
    (d.root / "defer.sh").write_text(
        f'#!/bin/sh\necho x >> {counter}\ntest "$(wc -l < {counter})" -ge 3 && exit 0\nexit 7\n'
    )
    (d.root / "defer.sh").chmod(0o755)
    (d.root / "show.sh").write_text(f'#!/bin/sh\necho "$@" >> {d.root}/show.txt\nexit 0\n')
    (d.root / "show.sh").chmod(0o755)
    (d.root / "dagman.config").write_text("DAGMAN_ALWAYS_RUN_POST = True\n")
    for n in ("old", "never"):
        d.sub(f"{n}.sub", f"{n} {d.root}")
    dag = d.dag(
        "CONFIG dagman.config\n"
        "JOB here here.sub DIR sub\n"
        "JOB skip never.sub NOOP\n"
        "SCRIPT POST skip show.sh noop $RETURN\n"
        "JOB old old.sub DONE\n"
        "JOB deferred never.sub NOOP\n"
        "SCRIPT DEFER 7 0 PRE deferred defer.sh\n"
        "JOB prefail never.sub\n"
        "SCRIPT PRE prefail /bin/false\n"
        "SCRIPT POST prefail show.sh post $RETURN $PRE_SCRIPT_RETURN\n"
    )
    result = run(dag, engine_config)
    assert result.exit_code == 0, "the POST of prefail decides, and it succeeds"
    assert (d.root / "pwd.txt").read_text().strip() == str(sub), "JOB ... DIR runs there"
    assert d.starts() == [], "NOOP, DONE and PRE-failed nodes never run their job"
    assert counter.read_text().count("x") == 3, "DEFER re-ran the PRE script until it passed"
    assert sorted((d.root / "show.txt").read_text().splitlines()) == [
        "noop 0",
        "post -1004 1",
    ]


def test_events_also_go_to_the_log_the_submit_file_names(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    d.sub("A.sub", f"A {d.root}", extra="log = own.log\n")
    dag = d.dag("JOB A A.sub\nSCRIPT POST A /bin/true\n")
    assert run(dag, engine_config).exit_code == 0
    own = [ev.type for ev in htcondor2.JobEventLog(str(d.root / "own.log")).events(0)]
    assert own[0] == E.SUBMIT and own[1] == E.EXECUTE and own[-1] == E.JOB_TERMINATED
    shared = [ev.type for ev in events(dag)]
    assert shared[-1] == E.POST_SCRIPT_TERMINATED and E.POST_SCRIPT_TERMINATED not in own


def test_node_status_file_catches_up_with_a_change_its_update_interval_held_back(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    """B starts moments after the status file was last written (inside its 2 s interval) and
    then nothing changes while it runs: the file must still show B queued once the interval
    has passed — pollers (runs.poll, the dashboard) read progress from it."""
    import threading
    import time

    d = dagdir
    d.sub("A.sub", f"A {d.root}")
    d.sub("B.sub", f"B {d.root} 0 4")
    dag = d.dag("JOB A A.sub\nJOB B B.sub\nPARENT A CHILD B\nNODE_STATUS_FILE test.status 2\n")
    results = []
    engine = threading.Thread(target=lambda: results.append(run(dag, engine_config)))
    engine.start()
    status = d.root / "test.status"
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline and "B" not in d.starts():
        time.sleep(0.05)
    assert d.starts("B"), "B never started"
    time.sleep(3.0)  # > the 2 s interval, < B's 4 s of work
    ads = list(classad2.parseAds(status.read_text()))
    assert ads[0]["NodesQueued"] == 1 and ads[0]["NodesDone"] == 1
    assert {ad["Node"]: ad["NodeStatus"] for ad in ads[1:-1]} == {"A": 5, "B": 3}
    engine.join(30)
    assert results and results[0].exit_code == 0


def test_a_program_that_cannot_be_executed_holds_the_job_before_it_runs(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    broken = d.root / "broken.sh"
    broken.write_text("#!/no/such/interpreter\necho never\n")
    broken.chmod(0o755)
    (d.root / "B.sub").write_text(
        f"universe = vanilla\nexecutable = {broken}\noutput = B.out\nerror = B.err\nqueue\n"
    )
    dag = d.dag("JOB B B.sub\n")
    result = run(dag, engine_config)
    assert result.failed == ["B"]
    evs = events(dag)
    held = [ev for ev in evs if ev.type == E.JOB_HELD]
    reason = held[0]["HoldReason"] if len(held) == 1 else ""
    assert "cannot execute" in reason and "broken.sh: No such file or directory" in reason
    assert not [ev for ev in evs if ev.type == E.EXECUTE], "it never executed"
    assert list(engine_config.scratch_root.iterdir()) == []  # type: ignore[union-attr]


def test_a_pre_script_that_cannot_start_fails_its_node_with_127(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    broken = d.root / "pre.sh"
    broken.write_text("#!/no/such/interpreter\n")
    broken.chmod(0o755)
    d.sub("A.sub", f"A {d.root}")
    d.sub("C.sub", f"C {d.root}")
    dag = d.dag(f"JOB A A.sub\nSCRIPT PRE A {broken}\nJOB C C.sub\n")
    result = run(dag, engine_config)
    assert result.failed == ["A"] and d.starts() == ["C"]
    out = dag.with_name(dag.name + ".dagman.out").read_text()
    assert f"PRE script of node A failed to start: cannot execute {broken}" in out
    assert "PRE Script of node A failed with status 127" in out
