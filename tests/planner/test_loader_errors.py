"""Bad documents: every problem is reported at once, each as `file:line: path: message`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import loader
from planner.errors import Problem, SpecError
from planner.loader import (
    load_replica_catalog,
    load_site_catalog,
    load_transformation_catalog,
    load_workflow,
    loads_workflow,
)

WriteYaml = Callable[[str, str], Path]

HEAD = """\
pegasus: 5.0.4
name: wf
jobs:
"""

JOB = """\
- type: job
  name: t
  id: {id}
  arguments: []
  uses:
  - lfn: f
    type: input
"""


def problems_of(fn: Callable[[], object]) -> list[str]:
    with pytest.raises(SpecError) as exc:
        fn()
    return [str(p) for p in exc.value.problems]


def one(write_yaml: WriteYaml, body: str) -> tuple[Path, list[str]]:
    p = write_yaml("workflow.yml", HEAD + body)
    return p, problems_of(lambda: load_workflow(p))


def test_bad_enum_value_names_allowed_values(write_yaml: WriteYaml) -> None:
    p, probs = one(write_yaml, JOB.format(id="a").replace("type: input", "type: inptu"))
    where = f"{p}:10: jobs[0].uses[0].type"
    assert probs == [f"{where}: 'inptu' is not one of none, input, output, inout, checkpoint"]


def test_unknown_key_with_suggestion(write_yaml: WriteYaml) -> None:
    p, probs = one(write_yaml, JOB.format(id="a") + "    stage_out: true\n")
    assert probs == [
        f"{p}:11: jobs[0].uses[0].stage_out: unknown field 'stage_out' (did you mean 'stageOut'?)"
    ]


def test_missing_required_field_points_at_its_object(write_yaml: WriteYaml) -> None:
    p, probs = one(write_yaml, JOB.format(id="a").replace("  name: t\n", ""))
    assert probs == [f"{p}:4: jobs[0].name: required field is missing"]


def test_missing_and_unknown_job_type(write_yaml: WriteYaml) -> None:
    body = JOB.format(id="a").replace("- type: job\n  name", "- name") + JOB.format(id="b").replace(
        "type: job", "type: jobb"
    )
    p, probs = one(write_yaml, body)
    assert probs == [
        f"{p}:4: jobs[0].type: required field is missing (one of job, pegasusWorkflow, "
        "condorWorkflow)",
        f"{p}:10: jobs[1].type: 'jobb' is not one of job, pegasusWorkflow, condorWorkflow",
    ]


def test_bad_job_id_and_number_for_string(write_yaml: WriteYaml) -> None:
    body = JOB.format(id="'a b'") + JOB.format(id="c").replace("name: t", "name: 12")
    p, probs = one(write_yaml, body)
    assert probs == [
        f"{p}:6: jobs[0].id: 'a b' is not a valid id (letters, digits, '-' and '_' only)",
        f"{p}:12: jobs[1].name: expected a string, got a number (12) (quote it in YAML)",
    ]


def test_yaml_1_1_booleans_still_read_as_booleans(write_yaml: WriteYaml) -> None:
    """YAML 1.2 reads `no` as a string; hand-written 1.1-style documents keep working."""
    out = JOB.format(id="a").replace("type: input", "type: output\n    stageOut: no")
    assert load_workflow(write_yaml("ok.yml", HEAD + out)).jobs[0].uses[0].stage_out is False
    p, probs = one(write_yaml, out.replace("stageOut: no", "stageOut: maybe"))
    assert probs == [f"{p}:11: jobs[0].uses[0].stageOut: expected true or false, got 'maybe'"]


def test_wrong_container_types_and_empty_lists(write_yaml: WriteYaml) -> None:
    p = write_yaml(
        "workflow.yml",
        """\
        pegasus: "5.0"
        name: wf
        jobs: []
        jobDependencies: {}
        metadata: [a]
        """,
    )
    assert problems_of(lambda: load_workflow(p)) == [
        f"{p}:3: jobs: must have at least 1 item(s)",
        f"{p}:4: jobDependencies: expected a list, got a mapping",
        f"{p}:5: metadata: expected a mapping, got a list",
    ]


def test_bad_profile_key_and_version(write_yaml: WriteYaml) -> None:
    p, probs = one(
        write_yaml,
        JOB.format(id="a").replace("  name: t\n", "  name: t\n  version: v1\n")
        + "  profiles:\n    condor:\n      bad key: 1\n    envv: {}\n",
    )
    assert probs == [
        f"{p}:6: jobs[0].version: 'v1' is not a version (like 5.0 or 5.0.4)",
        f"{p}:14: jobs[0].profiles.condor.bad key: key 'bad key' does not match ^[+.a-zA-Z0-9_-]+$",
        f"{p}:15: jobs[0].profiles.envv: unknown field 'envv' (did you mean 'env'?)",
    ]


def test_every_problem_is_reported_at_once_in_document_order(write_yaml: WriteYaml) -> None:
    p = write_yaml(
        "workflow.yml",
        """\
        pegasus: 5.0.4
        name: wf
        colour: blue
        jobs:
        - type: job
          name: t
          id: a
          arguments: [x, 1]
          uses:
          - {lfn: f, type: inptu}
          - {lfn: g, type: output, stageOut: maybe}
        - type: job
          id: b
          arguments: []
          uses: []
        - type: pegasusWorkflow
          id: c
          arguments: []
          uses: []
        jobDependencies:
        - id: a
          children: []
        replicaCatalog:
          replicas:
          - lfn: f
            pfns: [{site: local}]
        """,
    )
    assert problems_of(lambda: load_workflow(p)) == [
        f"{p}:3: colour: unknown field 'colour'",
        f"{p}:10: jobs[0].uses[0].type: 'inptu' is not one of none, input, output, inout, "
        "checkpoint",
        f"{p}:11: jobs[0].uses[1].stageOut: expected true or false, got 'maybe'",
        f"{p}:12: jobs[1].name: required field is missing",
        f"{p}:16: jobs[2].file: required field is missing",
        f"{p}:22: jobDependencies[0].children: must have at least 1 item(s)",
        f"{p}:26: replicaCatalog.replicas[0].pfns[0].pfn: required field is missing",
    ]


def test_problem_objects_for_the_api(write_yaml: WriteYaml) -> None:
    p, _ = one(write_yaml, JOB.format(id="a").replace("type: input", "type: inptu"))
    with pytest.raises(SpecError) as exc:
        load_workflow(p)
    (problem,) = exc.value.problems
    assert problem == Problem(
        str(p),
        10,
        "jobs[0].uses[0].type",
        "'inptu' is not one of none, input, output, inout, checkpoint",
        "schema",
    )
    assert problem.to_dict()["line"] == 10
    assert str(exc.value).splitlines()[0] == "1 problem found"


def test_yaml_syntax_error_has_a_line(write_yaml: WriteYaml) -> None:
    p = write_yaml("workflow.yml", HEAD + JOB.format(id="a") + "  arguments: [unclosed\n")
    with pytest.raises(SpecError) as exc:
        load_workflow(p)
    (problem,) = exc.value.problems
    assert problem.code == "syntax" and problem.file == str(p)
    assert problem.line == 12
    assert problem.message.startswith("YAML syntax error: ")


def test_duplicate_keys_are_errors(write_yaml: WriteYaml) -> None:
    p = write_yaml("workflow.yml", HEAD + JOB.format(id="a") + "  id: b\n")
    assert problems_of(lambda: load_workflow(p)) == [f"{p}:11: jobs[0].id: duplicate key 'id'"]


def test_empty_and_non_mapping_documents(write_yaml: WriteYaml) -> None:
    empty = write_yaml("sites.yml", "# nothing here\n")
    assert problems_of(lambda: load_site_catalog(empty)) == [
        f"{empty}:1: the document is empty (expected a site catalog)"
    ]
    listy = write_yaml("replicas.yml", "- a\n- b\n")
    assert problems_of(lambda: load_replica_catalog(listy)) == [
        f"{listy}:1: expected a replica catalog (a mapping) at the top, got a list"
    ]


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    assert problems_of(lambda: load_workflow(missing)) == [f"{missing}: file not found"]
    latin = tmp_path / "latin.yml"
    latin.write_bytes(b"pegasus: 5.0\nname: caf\xe9\n")
    assert problems_of(lambda: load_workflow(latin)) == [f"{latin}:2: not UTF-8 text (byte 22)"]


def test_loads_uses_the_given_name() -> None:
    probs = problems_of(
        lambda: loads_workflow("pegasus: 5.0\nname: a/b\njobs: []\n", file="up.yml")
    )
    assert probs == [
        "up.yml:2: name: 'a/b' is not a valid name (no '/' or spaces)",
        "up.yml:3: jobs: must have at least 1 item(s)",
    ]


def test_catalog_errors_name_their_fields(write_yaml: WriteYaml) -> None:
    tc = write_yaml(
        "transformations.yml",
        """\
        pegasus: "5.0"
        transformations:
        - name: keg
          sites:
          - {name: local, pfn: /bin/keg, type: instaled}
        containers:
        - {name: c, type: podman, image: docker://x}
        """,
    )
    assert problems_of(lambda: load_transformation_catalog(tc)) == [
        f"{tc}:5: transformations[0].sites[0].type: 'instaled' is not one of stageable, installed",
        f"{tc}:7: containers[0].type: 'podman' is not one of docker, singularity, shifter",
    ]
    sc = write_yaml(
        "sites.yml",
        """\
        pegasus: "5.0"
        sites:
        - name: s
          arch: arm
          directories:
          - type: sharedScratch
            fileServers: []
          grids:
          - {type: gt2, contact: c, scheduler: pbs, idleNodes: -1}
        """,
    )
    assert problems_of(lambda: load_site_catalog(sc)) == [
        f"{sc}:4: sites[0].arch: 'arm' is not one of x86, x86_64, ppc, ppc_64, ppc64le, ia64, "
        "sparcv7, sparcv9, amd64, aarch64",
        f"{sc}:7: sites[0].directories[0].fileServers: must have at least 1 item(s)",
        f"{sc}:9: sites[0].grids[0].idleNodes: must be at least 0, got -1",
        f"{sc}:9: sites[0].grids[0].type: 'gt2' is not one of gt5, condor, cream, batch, "
        "nordugrid, unicore, ec2, deltacloud, sfapi",
    ]


def test_vendor_keys_are_accepted_where_the_schema_allows(write_yaml: WriteYaml) -> None:
    p = write_yaml(
        "workflow.yml",
        """\
        pegasus: "5.0"
        name: wf
        x-team: {lead: ada}
        jobs:
        - type: job
          name: t
          id: a
          x-note: anything
          arguments: []
          uses: []
          profiles:
            x-mine: 1
            condor: {x-k: {nested: true}, request_cpus: 2}
        """,
    )
    wf = load_workflow(p)
    assert wf.extensions == {"x-team": {"lead": "ada"}}
    assert wf.jobs[0].profiles.condor == {"request_cpus": "2"}
    bad = write_yaml("w2.yml", HEAD + JOB.format(id="a") + "    x-note: no\n")
    assert problems_of(lambda: load_workflow(bad)) == [
        f"{bad}:11: jobs[0].uses[0].x-note: unknown field 'x-note'"
    ]


def test_inline_site_catalog_or_reference(write_yaml: WriteYaml) -> None:
    p = write_yaml(
        "workflow.yml",
        HEAD + JOB.format(id="a") + "siteCatalog:\n  sites:\n  - name: s\n    arhc: x86_64\n",
    )
    assert problems_of(lambda: load_workflow(p)) == [
        f"{p}:14: siteCatalog.sites[0].arhc: unknown field 'arhc' (did you mean 'arch'?)"
    ]
    q = write_yaml("w2.yml", HEAD + JOB.format(id="a") + "siteCatalog: {$ref: 7}\n")
    assert problems_of(lambda: load_workflow(q)) == [
        f"{q}:11: siteCatalog.$ref: expected a string, got a number (7) (quote it in YAML)"
    ]
    r = write_yaml("w3.yml", HEAD + JOB.format(id="a") + "siteCatalog: sites.yml\n")
    assert problems_of(lambda: load_workflow(r)) == [
        f"{r}:11: siteCatalog: expected a mapping, got 'sites.yml'"
    ]


def test_byte_order_mark_and_crlf_line_ends() -> None:
    text = "\ufeffpegasus: '5.0'\r\nname: w\r\njobs:\r\n- type: job\r\n  id: a\r\n  name: t\r\n"
    text += "  arguments: []\r\n  uses: [{lfn: f, type: bad}]\r\n"
    assert problems_of(lambda: loads_workflow(text, file="w.yml")) == [
        "w.yml:8: jobs[0].uses[0].type: 'bad' is not one of none, input, output, inout, checkpoint"
    ]


def test_several_documents_and_tabs() -> None:
    assert problems_of(lambda: loads_workflow("name: a\n---\nname: b\n", file="w.yml")) == [
        "w.yml:1: the file holds 2 YAML documents (separated by ---); expected one workflow"
    ]
    with pytest.raises(SpecError) as exc:
        loads_workflow("pegasus: '5.0'\njobs:\n\t- a\n", file="w.yml")
    (p,) = exc.value.problems
    assert (p.line, p.code) == (3, "syntax") and "tab" in p.message.lower()


# --------------------------------------------------------------------------- properties


@st.composite
def broken_workflows(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    """A valid workflow dumped as YAML, with 1-4 jobs broken: (text, [(path, token)])."""
    n = draw(st.integers(min_value=1, max_value=40))
    jobs = []
    for i in range(n):
        uses = [
            {"lfn": f"f{i}-{k}", "type": draw(st.sampled_from(["input", "output"]))}
            for k in range(draw(st.integers(0, 3)))
        ]
        jobs.append({"type": "job", "name": "t", "id": f"j{i}", "arguments": ["-x"], "uses": uses})
    broken: list[tuple[str, str]] = []
    for i in sorted(set(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4)))):
        if jobs[i]["uses"] and draw(st.booleans()):
            k = draw(st.integers(0, len(jobs[i]["uses"]) - 1))
            jobs[i]["uses"][k]["type"] = f"bad{i}"
            broken.append((f"jobs[{i}].uses[{k}].type", f"type: bad{i}"))
        else:
            jobs[i][f"oops{i}"] = 1
            broken.append((f"jobs[{i}].oops{i}", f"oops{i}: 1"))
    doc = {"pegasus": "5.0", "name": "w", "jobs": jobs}
    return yaml.safe_dump(doc, sort_keys=False), broken


@settings(max_examples=40, deadline=None)
@given(broken_workflows(), st.booleans())
def test_every_reported_line_holds_the_broken_field(
    case: tuple[str, list[tuple[str, str]]], chunked: bool
) -> None:
    text, broken = case
    lines = text.splitlines()
    with pytest.MonkeyPatch.context() as mp:
        if chunked:  # force the big-document path (job chunks, block-wise line look-up)
            mp.setattr(loader, "_CHUNKED_MIN_CHARS", 1)
            mp.setattr(loader, "_CHUNK_JOBS", 3)
            mp.setattr(loader, "_BIG_BLOCK", 100)
        with pytest.raises(SpecError) as exc:
            loads_workflow(text, file="w.yml")
    got = {p.path: p.line for p in exc.value.problems}
    assert set(got) == {path for path, _ in broken}
    for path, token in broken:
        line = got[path]
        assert line is not None and lines[line - 1].strip().lstrip("- ") == token, (path, line)
