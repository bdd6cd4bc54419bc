"""Semantic checks: one test per planning error class, with the exact `file:line: path: message`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from planner import load_inputs
from planner.catalogs import Catalogs
from planner.checks import MAX_PER_RULE, check
from planner.errors import PlanningError, SpecError
from planner.loader import load_workflow, loads_transformation_catalog, loads_workflow

WriteYaml = Callable[[str, str], Path]

TC = """\
transformationCatalog:
  transformations:
  - name: t
    sites: [{name: local, pfn: /bin/t, type: installed}]
"""


def wf_text(jobs: str, extra: str = "") -> str:
    return "pegasus: 5.0.4\nname: wf\n" + TC + extra + "jobs:\n" + jobs


def job(
    id_: str, ins: tuple[str, ...] = (), outs: tuple[str, ...] = (), name: str = "t", more: str = ""
) -> str:
    uses = "".join(f"  - {{lfn: {f}, type: input}}\n" for f in ins) + "".join(
        f"  - {{lfn: {f}, type: output}}\n" for f in outs
    )
    return (
        f"- type: job\n  name: {name}\n  id: {id_}\n  arguments: []\n"
        f"  uses:{' []' if not uses else ''}\n{uses}{more}"
    )


def problems(write_yaml: WriteYaml, text: str, **kw: object) -> list[str]:
    p = write_yaml("workflow.yml", text)
    wf = load_workflow(p)
    return [str(x) for x in check(wf, **kw)]  # type: ignore[arg-type]


def test_valid_workflow_has_no_problems(write_yaml: WriteYaml) -> None:
    text = wf_text(job("a", outs=("f",)) + job("b", ins=("f",)))
    assert problems(write_yaml, text) == []


def test_duplicate_job_ids(write_yaml: WriteYaml) -> None:
    p = write_yaml("workflow.yml", wf_text(job("a") + job("b") + job("a")))
    assert [str(x) for x in check(load_workflow(p))] == [
        f"{p}:20: jobs[2].id: duplicate job id 'a' (also jobs[0])"
    ]


def test_dependencies_on_unknown_jobs(write_yaml: WriteYaml) -> None:
    text = wf_text(job("a"), "jobDependencies:\n- id: zz\n  children: [a, yy]\n")
    p = write_yaml("workflow.yml", text)
    assert [str(x) for x in check(load_workflow(p))] == [
        f"{p}:8: jobDependencies[0].id: unknown job id 'zz'",
        f"{p}:9: jobDependencies[0].children[1]: unknown job id 'yy'",
    ]


def test_cycle_is_named(write_yaml: WriteYaml) -> None:
    jobs = job("a", ins=("c.out",), outs=("a.out",)) + job("b", ins=("a.out",), outs=("b.out",))
    jobs += job("c", ins=("b.out",), outs=("c.out",)) + job("d", ins=("c.out",))
    p = write_yaml("workflow.yml", wf_text(jobs))
    assert [str(x) for x in check(load_workflow(p))] == [
        f"{p}:8: jobs[0]: the workflow has a cycle: a -> b -> c -> a"
    ]


def test_declared_cycle_is_named(write_yaml: WriteYaml) -> None:
    deps = "jobDependencies:\n- {id: a, children: [b]}\n- {id: b, children: [a]}\n"
    p = write_yaml("workflow.yml", wf_text(job("a") + job("b"), deps))
    assert [str(x) for x in check(load_workflow(p))] == [
        f"{p}:11: jobs[0]: the workflow has a cycle: a -> b -> a"
    ]


def test_file_produced_twice(write_yaml: WriteYaml) -> None:
    p = write_yaml("workflow.yml", wf_text(job("a", outs=("f",)) + job("b", outs=("f",))))
    assert [str(x) for x in check(load_workflow(p))] == [
        f"{p}:19: jobs[1].uses[0]: file 'f' is also produced by job 'a' (jobs[0])"
    ]


def test_inout_and_checkpoint_may_share_a_file(write_yaml: WriteYaml) -> None:
    more_a = "  - {lfn: log, type: inout}\n  - {lfn: ck, type: checkpoint}\n"
    jobs = job("a", outs=("f",)) + "  - {lfn: log, type: inout}\n  - {lfn: ck, type: checkpoint}\n"
    jobs += job("b", ins=("f",)) + more_a
    text = wf_text(jobs, "replicaCatalog:\n  replicas:\n  - {lfn: log, pfns: []}\n")
    assert problems(write_yaml, text) == []


def test_same_file_in_and_out_of_one_job(write_yaml: WriteYaml) -> None:
    p = write_yaml("workflow.yml", wf_text(job("a", ins=("f",), outs=("f",))))
    assert [str(x) for x in check(load_workflow(p))] == [
        f"{p}:14: jobs[0].uses[1]: file 'f' is both an input and an output of job 'a' "
        "(declare it once, as inout or checkpoint)"
    ]


def test_input_nothing_produces(write_yaml: WriteYaml) -> None:
    rc = "replicaCatalog:\n  replicas:\n  - {lfn: known, pfns: [{site: local, pfn: /k}]}\n"
    jobs = job("a", ins=("known", "missing")) + "  - {lfn: opt, type: input, optional: true}\n"
    p = write_yaml("workflow.yml", wf_text(jobs, rc))
    assert [str(x) for x in check(load_workflow(p))] == [
        f"{p}:17: jobs[0].uses[1].lfn: input file 'missing' is produced by no job and has no "
        "replica in the replica catalog"
    ]


def test_regex_replica_provides_inputs_and_bad_patterns_are_reported(write_yaml: WriteYaml) -> None:
    rc = (
        "replicaCatalog:\n  replicas:\n"
        "  - {lfn: 'data\\.(\\d+)', regex: true, pfns: [{site: local, pfn: '/d/[1]'}]}\n"
        "  - {lfn: 'bad[', regex: true, pfns: []}\n"
    )
    p = write_yaml("workflow.yml", wf_text(job("a", ins=("data.7",)), rc))
    assert [str(x) for x in check(load_workflow(p))] == [
        f"{p}:10: replicaCatalog.replicas[1].lfn: invalid regular expression: unterminated "
        "character set at position 3"
    ]


def test_unknown_transformation_and_requirement_and_container(write_yaml: WriteYaml) -> None:
    tc = """\
transformationCatalog:
  transformations:
  - name: t
    requires: [ghost]
    sites: [{name: local, pfn: /bin/t, type: installed, container: nope}]
"""
    text = "pegasus: 5.0.4\nname: wf\n" + tc + "jobs:\n" + job("a", name="nothere")
    p = write_yaml("workflow.yml", text)
    assert [str(x) for x in check(load_workflow(p))] == [
        f"{p}:6: transformationCatalog.transformations[0].requires[0]: required transformation "
        "'ghost' is not in the transformation catalog",
        f"{p}:7: transformationCatalog.transformations[0].sites[0].container: container 'nope' "
        "is not defined in the transformation catalog's containers",
        f"{p}:10: jobs[0].name: transformation 'nothere' is not in the transformation catalog",
    ]


def test_transformation_lookup_by_namespace_and_version(write_yaml: WriteYaml) -> None:
    tc = loads_transformation_catalog(
        "pegasus: '5.0'\ntransformations:\n"
        "- {namespace: ex, name: t, version: '1.0',\n"
        "   sites: [{name: local, pfn: /a, type: installed}]}\n",
        file="tc.yml",
    )
    text = (
        "pegasus: 5.0.4\nname: wf\njobs:\n"
        + job("a", more="  namespace: ex\n")
        + job("b", more="  version: '2.0'\n")
        + job("c")
    )
    p = write_yaml("workflow.yml", text)
    assert [str(x) for x in check(load_workflow(p), Catalogs.of([], [tc], []))] == [
        f"{p}:11: jobs[1].name: transformation 't:2.0' is not in the transformation catalog"
    ]


def test_unknown_sites(write_yaml: WriteYaml) -> None:
    tc = """\
transformationCatalog:
  transformations:
  - name: t
    sites: [{name: local, pfn: /bin/t, type: installed}]
  - name: far
    sites: [{name: mars, pfn: /bin/far, type: installed}]
"""
    pinned = "  profiles:\n    selector: {execution.site: venus}\n"
    jobs = job("a", more=pinned) + job("b", name="far")
    text = "pegasus: 5.0.4\nname: wf\n" + tc + "jobs:\n" + jobs
    p = write_yaml("workflow.yml", text)
    assert [str(x) for x in check(load_workflow(p), sites=["local", "jupiter"])] == [
        "<input>: --sites[1]: unknown site 'jupiter' (not in the site catalog)",
        f"{p}:16: jobs[0].profiles.selector.execution.site: unknown site 'venus' (not in the "
        "site catalog)",
        f"{p}:18: jobs[1].name: transformation 'far' exists only on sites not in the site "
        "catalog: mars",
    ]


def test_many_problems_are_capped_per_rule() -> None:
    jobs = "".join(job(f"j{i}", name="nothere") for i in range(MAX_PER_RULE + 7))
    wf = loads_workflow(wf_text(jobs), file="<string>")
    found = check(wf)
    assert len(found) == MAX_PER_RULE + 1
    assert found[-1].message == "… and 7 more unknown-transformation problems"
    assert found[-1].line is None and found[-1].path == ""


def test_every_kind_of_problem_at_once_through_load_inputs(write_yaml: WriteYaml) -> None:
    deps = "jobDependencies:\n- {id: a, children: [ghost]}\n"
    jobs = job("a", ins=("nowhere",), outs=("f",)) + job("a", outs=("f",)) + job("c", name="x")
    p = write_yaml("workflow.yml", wf_text(jobs, deps))
    with pytest.raises(PlanningError) as exc:
        load_inputs(p)
    codes = [x.code for x in exc.value.problems]
    assert sorted(codes) == sorted(
        [
            "unknown-job",
            "missing-input",
            "duplicate-job",
            "produced-twice",
            "unknown-transformation",
        ]
    )
    assert all(x.line is not None for x in exc.value.problems)


def test_schema_problems_of_all_documents_come_together(write_yaml: WriteYaml) -> None:
    p = write_yaml("workflow.yml", wf_text(job("a").replace("type: job", "type: jobb")))
    write_yaml("replicas.yml", "pegasus: '5.0'\nreplicas: [{lfn: x}]\n")
    write_yaml("sites.yml", "pegasus: '5.0'\nsites: [{name: s, arch: arm}]\n")
    with pytest.raises(SpecError) as exc:
        load_inputs(p)
    files = sorted({Path(x.file or "").name for x in exc.value.problems})
    assert files == ["replicas.yml", "sites.yml", "workflow.yml"]


def test_sub_workflow_file_must_be_available(write_yaml: WriteYaml) -> None:
    sub = (
        "- type: pegasusWorkflow\n  id: s\n  file: inner.yml\n  arguments: []\n  uses: []\n"
        "- type: condorWorkflow\n  id: d\n  file: made.dag\n  arguments: []\n  uses: []\n"
    )
    p = write_yaml("workflow.yml", wf_text(job("mk", outs=("made.dag",)) + sub))
    assert [str(x) for x in check(load_workflow(p))] == [
        f"{p}:16: jobs[1].file: sub-workflow file 'inner.yml' is produced by no job and has no "
        "replica in the replica catalog"
    ]
