"""DAG text, submit-file quoting and the on-disk layout, from hand-built executable workflows."""

from __future__ import annotations

import json
from pathlib import Path

import htcondor2
import pytest

from planner.dag import ExecutableWorkflow, JobType, Node, Script, SubDag
from planner.naming import HashedDirs
from planner.submit import arguments, classad_string, environment, render
from planner.writer import dag_lines, node_lines, write
from worker.engines.local.submit import parse_arguments, parse_environment


def _wf(tmp_path: Path) -> ExecutableWorkflow:
    wf = ExecutableWorkflow(
        label="w",
        index=0,
        wf_uuid="u-1",
        root_uuid="u-0",
        submit_dir=tmp_path / "submit",
        maxjobs={"stagein": 10},
    )
    a = wf.add(
        Node(
            name="a_ID1",
            type=JobType.COMPUTE,
            priority=10,
            retry=2,
            post=Script("/s/aerie-lite", ["exitcode", "-r", "$RETURN", "00/00/a_ID1.out"]),
            vars={"My.DAGNodeRetry": "$(RETRY)"},
            submit={"universe": "vanilla"},
            payload={"version": 1},
        )
    )
    s = wf.add(
        Node(
            name="stage_in_local_local_0_0",
            type=JobType.STAGE_IN,
            dir="00/01",
            priority=700,
            category="stagein",
            submit={"universe": "local"},
            payload=[{"type": "mkdir"}],
        )
    )
    r = wf.add(
        Node(
            name="register_local_0_0",
            type=JobType.REGISTRATION,
            priority=20,
            submit={"universe": "local"},
            payload=['f file:///o/f site="local"'],
        )
    )
    sub = wf.add(
        Node(
            name="pegasus-plan_S",
            type=JobType.DAX,
            category="subwf",
            subdag=SubDag(dag_file="inner-0.dag", dir="00/00/inner_S.000"),
        )
    )
    wf.add_edge(s.name, a.name)
    wf.add_edge(a.name, r.name)
    wf.add_edge(a.name, sub.name)
    wf.add_edge(a.name, sub.name)  # duplicates collapse
    return wf


def test_dag_lines_exact(tmp_path: Path) -> None:
    lines = list(dag_lines(_wf(tmp_path)))
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    assert body == [
        "JOBSTATE_LOG jobstate.log",
        "NODE_STATUS_FILE w-0.dag.status 5",
        "MAXJOBS stagein 10",
        "JOB a_ID1 00/00/a_ID1.sub",
        "SCRIPT POST a_ID1 /s/aerie-lite exitcode -r $RETURN 00/00/a_ID1.out",
        "PRIORITY a_ID1 10",
        "RETRY a_ID1 2",
        'VARS a_ID1 My.DAGNodeRetry="$(RETRY)"',
        "JOB stage_in_local_local_0_0 00/01/stage_in_local_local_0_0.sub",
        "PRIORITY stage_in_local_local_0_0 700",
        "RETRY stage_in_local_local_0_0 1",
        "CATEGORY stage_in_local_local_0_0 stagein",
        "JOB register_local_0_0 00/00/register_local_0_0.sub",
        "PRIORITY register_local_0_0 20",
        "RETRY register_local_0_0 1",
        "SUBDAG EXTERNAL pegasus-plan_S inner-0.dag DIR 00/00/inner_S.000",
        "PRIORITY pegasus-plan_S 0",
        "RETRY pegasus-plan_S 1",
        "CATEGORY pegasus-plan_S subwf",
        "PARENT stage_in_local_local_0_0 CHILD a_ID1",
        "PARENT a_ID1 CHILD register_local_0_0 pegasus-plan_S",
    ]


def test_vars_values_are_escaped_and_abort_dag_on() -> None:
    node = Node(
        name="n", type=JobType.COMPUTE, retry=0, vars={"X": 'say "hi" \\ bye'}, abort_dag_on=(3, 1)
    )
    assert list(node_lines(node)) == [
        "JOB n 00/00/n.sub",
        "PRIORITY n 0",
        "ABORT-DAG-ON n 3 RETURN 1",
        'VARS n X="say \\"hi\\" \\\\ bye"',
    ]


def test_write_lays_out_hashed_dirs_and_payloads(tmp_path: Path) -> None:
    wf = _wf(tmp_path)
    root = write(wf)
    assert (root / "w-0.dag").read_text().startswith("#" * 70 + "\n# AERIE GENERATED DAG FILE\n")
    assert json.loads((root / "00/00/a_ID1.lite.json").read_text()) == {"version": 1}
    assert json.loads((root / "00/01/stage_in_local_local_0_0.in").read_text()) == [
        {"type": "mkdir"}
    ]
    assert (root / "00/00/register_local_0_0.in").read_text() == 'f file:///o/f site="local"\n'
    assert not (root / "00/00/pegasus-plan_S.sub").exists()  # DAGMan writes SUBDAG submits
    assert (root / "braindump.yml").exists() and (root / "w-0.metrics").exists()


def test_hashed_dirs_hold_at_most_50_jobs_each() -> None:
    dirs = HashedDirs()
    seq = [dirs.next() for _ in range(50 * 254 + 51)]
    assert seq[0] == seq[49] == "00/00"
    assert seq[50] == "00/01"
    assert seq[50 * 253] == "00/FD"
    assert seq[50 * 254] == "01/00"
    assert max(seq.count(d) for d in set(seq)) == 50


@pytest.mark.parametrize(
    "argv",
    [["run", "x.lite.json"], ["a b", "it's", 'say "x"', ""], ["--flag=1", "$(x)"]],
)
def test_arguments_round_trip_through_htcondor(argv: list[str]) -> None:
    sub = htcondor2.Submit(render({"executable": "/bin/echo", "arguments": arguments(argv)}))
    assert sub["arguments"] == arguments(argv)
    # the local engine (which runs these files) splits the new syntax back into the same argv
    assert parse_arguments(sub["arguments"]) == argv


def test_environment_and_classads_parse() -> None:
    desc = {
        "executable": "/bin/true",
        "environment": environment({"A": "1", "B": "two words", "C": "it's"}),
        "+pegasus_wf_uuid": classad_string('u"1'),
    }
    sub = htcondor2.Submit(render(desc, "t"))
    assert sub["environment"] == "\"A=1 B='two words' C='it''s'\""
    assert sub["MY.pegasus_wf_uuid"] == '"u\\"1"'
    assert parse_environment(sub["environment"]) == {"A": "1", "B": "two words", "C": "it's"}
    with pytest.raises(ValueError, match="invalid environment variable name"):
        environment({"A B": "x"})
