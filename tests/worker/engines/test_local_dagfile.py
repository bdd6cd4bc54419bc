"""The DAG-language parser: every command the planner and DAGMan use, errors with file:line,
rescue files (ours and real DAGMan ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.engines.local.dagfile import DagSyntaxError, apply_rescue, parse_dag
from worker.engines.local.rescue import newest_rescue, retire_rescue_files, write_rescue


def test_parses_every_command_the_engine_honours(tmp_path: Path) -> None:
    (tmp_path / "inner.dag").write_text("JOB X x.sub\nJOB Y y.sub\nPARENT X CHILD Y\n")
    (tmp_path / "more.dag").write_text("JOB I i.sub\n")
    (tmp_path / "dagman.config").write_text("DAGMAN_MAX_JOBS_SUBMITTED = 7\n# comment\n")
    dag = tmp_path / "all.dag"
    dag.write_text(
        """# a comment
CONFIG dagman.config
JOBSTATE_LOG jobstate.log
NODE_STATUS_FILE all.status 5 ALWAYS-UPDATE
JOB A a.sub DIR sub NOOP
job B b.sub
JOB C c.sub DONE
SUBDAG EXTERNAL S inner.dag DIR subdir
FINAL F f.sub
SPLICE SP inner.dag
INCLUDE more.dag
VARS A name="va\\"lue" other="x y"
VARS B APPEND who="b"
VARS ALL_NODES common="1"
RETRY B 3 UNLESS-EXIT 42
SCRIPT PRE A /bin/pre.sh $JOB $RETRY
SCRIPT DEFER 4 10 POST B post.sh $RETURN
PRE_SKIP A 99
PRIORITY B 10
CATEGORY B heavy
CATEGORY SP+X +globalcat
MAXJOBS heavy 2
ABORT-DAG-ON B 5 RETURN 7
PARENT A CHILD B C
PARENT B C CHILD S
PARENT S CHILD SP
PARENT SP CHILD I
DOT all.dot
"""
    )
    parsed = parse_dag(dag)
    assert list(parsed.nodes) == ["A", "B", "C", "S", "F", "SP+X", "SP+Y", "I"]
    a, b, c, s = (parsed.nodes[n] for n in "ABCS")
    assert (a.directory, a.noop, c.done) == ("sub", True, True)
    assert s.kind == "subdag" and s.submit_file == "inner.dag" and s.directory == "subdir"
    assert parsed.final == "F" and parsed.nodes["F"].kind == "final"
    assert ("name", 'va"lue', "prepend") in a.vars and ("other", "x y", "prepend") in a.vars
    assert ("who", "b", "append") in b.vars
    assert ("common", "1", "prepend") in parsed.nodes["I"].vars
    assert all(v[0] != "common" for v in parsed.nodes["F"].vars), "ALL_NODES skips FINAL"
    assert (b.retries, b.retry_unless_exit, b.priority, b.category) == (3, 42, 10, "heavy")
    assert a.pre is not None and a.pre.executable == "/bin/pre.sh"
    assert a.pre.arguments == ["$JOB", "$RETRY"]
    assert b.post is not None and (b.post.defer_status, b.post.defer_seconds) == (4, 10)
    assert a.pre_skip == 99
    assert (b.abort_value, b.abort_return) == (5, 7)
    assert parsed.maxjobs == {"heavy": 2}
    assert parsed.nodes["SP+X"].category == "globalcat"
    assert parsed.nodes["SP+X"].parents == ["S"], "a splice as child means its initial nodes"
    assert parsed.nodes["I"].parents == ["SP+Y"], "a splice as parent means its final nodes"
    assert sorted(b.children) == ["S"] and sorted(a.children) == ["B", "C"]
    assert parsed.jobstate_log == "jobstate.log"
    assert parsed.node_status_file is not None
    assert (parsed.node_status_file.min_update_seconds, parsed.node_status_file.always_update) == (
        5,
        True,
    )
    assert parsed.config["DAGMAN_MAX_JOBS_SUBMITTED"] == "7"
    assert any("DOT" in w for w in parsed.warnings)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("JOB A a.sub\nRETRY B 2\n", 2, "unknown node 'B'"),
        ("JOB A a.sub\nRETRY A many\n", 2, "RETRY count must be an integer"),
        ("JOB A a.sub\nFROBNICATE A\n", 2, "unknown DAG command 'FROBNICATE'"),
        ("JOB A a.sub\nJOB A b.sub\n", 2, "defined twice"),
        ("JOB A a.sub\nVARS A name=unquoted\n", 2, 'VARS expects name="value"'),
        ("JOB A+B a.sub\n", 1, "illegal node name"),
        ("JOB A a.sub\nPARENT A\n", 2, "PARENT line without CHILD"),
        ("JOB A a.sub\nSCRIPT POST A\n", 2, "SCRIPT [DEFER s t] PRE|POST|HOLD"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    dag = tmp_path / "bad.dag"
    dag.write_text(text)
    with pytest.raises(DagSyntaxError) as info:
        parse_dag(dag)
    assert str(info.value).startswith(f"{dag}:{line}: ")
    assert fragment in str(info.value)


def test_cycle_is_rejected(tmp_path: Path) -> None:
    dag = tmp_path / "cycle.dag"
    dag.write_text("JOB A a.sub\nJOB B b.sub\nPARENT A CHILD B\nPARENT B CHILD A\n")
    with pytest.raises(DagSyntaxError, match="cycle"):
        parse_dag(dag)


def test_rescue_round_trip_and_numbering(tmp_path: Path) -> None:
    dag_path = tmp_path / "wf.dag"
    dag_path.write_text("JOB A a.sub\nJOB B b.sub\nJOB C c.sub\nPARENT A CHILD B C\n")
    first = write_rescue(dag_path, 3, ["A"], ["B"])
    second = write_rescue(dag_path, 3, ["A", "C"], ["B"])
    assert (first.name, second.name) == ("wf.dag.rescue001", "wf.dag.rescue002")
    text = second.read_text()
    assert "# Nodes premarked DONE: 2" in text and "#   B,<ENDLIST>" in text
    newest = newest_rescue(dag_path)
    assert newest is not None and newest[0] == 2
    dag = parse_dag(dag_path)
    info = apply_rescue(dag, newest[1])
    assert info.done == ["A", "C"] and info.failed == ["B"]
    assert [n.name for n in dag.nodes.values() if n.done] == ["A", "C"]
    retire_rescue_files(dag_path)
    assert newest_rescue(dag_path) is None
    assert (tmp_path / "wf.dag.rescue002.old").exists()


def test_reads_real_pegasus_dags_and_dagman_rescue(shared_dir: Path) -> None:
    fixtures = shared_dir / "pegasus" / "fixtures" / "submit-dirs"
    dags = sorted(fixtures.glob("*/*.dag"))
    assert len(dags) >= 5
    for path in dags:
        parsed = parse_dag(path)
        assert parsed.nodes, path
        for node in parsed.nodes.values():
            assert node.post is None or node.post.arguments[:2] == ["-r", "$RETURN"], path
    failed = fixtures / "hierarchical_wf_failure"
    dag = parse_dag(failed / "hierarchical-workflow-0.dag")
    info = apply_rescue(dag, failed / "hierarchical-workflow-0.dag.rescue001")
    assert info.failed == ["pegasus-plan_diamond_subworkflow"]
    assert "curl_ID0000001" in info.done and len(info.done) == 6
    assert dag.nodes["curl_ID0000001"].done and not dag.nodes["wc_ID0000002"].done
    assert dag.maxjobs["stagein"] == 10
    assert dag.nodes["curl_ID0000001"].vars == [("+DAGNodeRetry", "$(RETRY)", "prepend")]
