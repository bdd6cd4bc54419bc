"""load_inputs: which catalogs a run uses, sub-workflow inheritance, and big-document loading."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from planner import loader
from planner.errors import PlanningError, SpecError
from planner.inputs import load_inputs
from planner.loader import load_workflow
from planner.spec import Workflow

WriteYaml = Callable[[str, str], Path]


def test_catalog_files_beside_the_workflow_are_found(examples_dir: Path) -> None:
    d = examples_dir / "diamond-catalogs"
    r = load_inputs(d / "workflow.yml", properties=d / "pegasus.properties")
    assert r.files == {
        "workflow": [str(d / "workflow.yml")],
        "properties": [str(d / "pegasus.properties")],
        "replica": [str(d / "replicas.yml")],
        "transformation": [str(d / "transformations.yml")],
        "site": [str(d / "sites.yml")],
    }
    assert r.catalogs.replicas.lookup("f.a")[0].pfn == str(d / "f.a")
    assert r.catalogs.sites.declared() == ["local", "condorpool"]
    assert r.properties.get("dagman.retry") == "1"
    assert len(r.graph) == 4 and r.graph.n_edges == 4


def test_without_discovery_the_files_are_not_used(examples_dir: Path) -> None:
    d = examples_dir / "diamond-catalogs"
    with pytest.raises(PlanningError) as exc:
        load_inputs(d / "workflow.yml", discover=False)
    assert {p.code for p in exc.value.problems} == {"missing-input", "unknown-transformation"}


def test_explicit_files_and_properties_override_discovery(api_catalogs: dict[str, Path]) -> None:
    d = api_catalogs["dir"]
    other = d / "elsewhere"
    other.mkdir()
    (other / "rc.yml").write_text(api_catalogs["replicas"].read_text())
    api_catalogs["replicas"].unlink()
    props = d / "p.properties"
    props.write_text("pegasus.catalog.replica.file = elsewhere/rc.yml\n")
    r = load_inputs(api_catalogs["workflow"], properties=props)
    assert r.files["replica"] == [str(d / "elsewhere" / "rc.yml")]
    r2 = load_inputs(
        api_catalogs["workflow"],
        replica_catalogs=[other / "rc.yml"],
        transformation_catalogs=[api_catalogs["transformations"]],
        site_catalogs=[api_catalogs["sites"]],
        discover=False,
    )
    assert r2.catalogs.transformations.lookup("analyze") is not None


def test_inline_catalogs_win_over_files(
    api_diamond: dict[str, Path], write_yaml: WriteYaml
) -> None:
    d = api_diamond["dir"]
    rc = write_yaml(
        "replicas.yml", 'pegasus: "5.0"\nreplicas: [{lfn: f.a, pfns: [{site: x, pfn: /other}]}]\n'
    )
    r = load_inputs(api_diamond["workflow"], replica_catalogs=[rc])
    assert [x.pfn for x in r.catalogs.replicas.lookup("f.a")] == [str(d / "f.a"), "/other"]


def test_site_catalog_ref(write_yaml: WriteYaml) -> None:
    write_yaml("conf/sites.yml", 'pegasus: "5.0"\nsites: [{name: cluster}]\n')
    base = (
        "pegasus: '5.0'\nname: w\nsiteCatalog: {{$ref: {ref}}}\n"
        "jobs:\n- {{type: job, id: a, name: t, arguments: [], uses: []}}\n"
        "transformationCatalog:\n  transformations:\n"
        "  - {{name: t, sites: [{{name: cluster, pfn: /t, type: installed}}]}}\n"
    )
    ok = write_yaml("ok.yml", base.format(ref="conf/sites.yml"))
    r = load_inputs(ok, discover=False)
    assert r.catalogs.sites.declared() == ["cluster"]
    as_url = write_yaml("url.yml", base.format(ref=f"file://{ok.parent}/conf/sites.yml"))
    assert load_inputs(as_url, discover=False).catalogs.sites.declared() == ["cluster"]
    missing = write_yaml("missing.yml", base.format(ref="nope.yml"))
    with pytest.raises(SpecError) as exc:
        load_inputs(missing, discover=False)
    assert [str(p) for p in exc.value.problems] == [
        f"{missing}:3: siteCatalog.$ref: site catalog 'nope.yml' not found"
    ]


def test_sub_workflow_inherits_the_parents_inline_replicas(examples_dir: Path) -> None:
    d = examples_dir / "hierarchical"
    outer = load_inputs(d / "workflow.yml")
    with pytest.raises(PlanningError, match="'words.txt' is produced by no job"):
        load_inputs(d / "inner.yml")
    assert outer.workflow.replica_catalog is not None
    inner = load_inputs(d / "inner.yml", inherited_replicas=[outer.workflow.replica_catalog])
    assert inner.catalogs.replicas.lookup("words.txt")[0].pfn == str(d / "words.txt")


def test_catalog_variables_need_an_explicit_environment(write_yaml: WriteYaml) -> None:
    wf = write_yaml(
        "workflow.yml",
        "pegasus: '5.0'\nname: w\njobs:\n- {type: job, id: a, name: t, arguments: [], uses: []}\n",
    )
    write_yaml(
        "transformations.yml",
        'pegasus: "5.0"\ntransformations:\n- {name: t, sites: [{name: local, pfn: "${TOOLS}/t", '
        "type: installed}]}\n",
    )
    r = load_inputs(wf, env={"TOOLS": "/opt/tools"})
    tr = r.catalogs.transformations.lookup("t")
    assert tr is not None and tr.sites[0].pfn == "/opt/tools/t"
    # without env the text stays as written: the gateway never leaks its own environment
    r2 = load_inputs(wf)
    tr2 = r2.catalogs.transformations.lookup("t")
    assert tr2 is not None and tr2.sites[0].pfn == "${TOOLS}/t"


# --------------------------------------------------------------------------- big documents


def _big_workflow(n: int) -> str:
    import io

    from Pegasus.api import File, Job, Transformation, TransformationCatalog
    from Pegasus.api import Workflow as ApiWorkflow

    wf = ApiWorkflow("big")
    for i in range(n):
        j = Job("t", _id=f"J{i:05d}").add_args("-i", f"in{i}", "-o", f"out{i}")
        if i:
            j.add_inputs(File(f"out{i - 1}"))
        wf.add_jobs(j.add_outputs(File(f"out{i}"), stage_out=i % 2 == 0).add_metadata(n=i))
    tc = TransformationCatalog().add_transformations(Transformation("t", site="local", pfn="/t"))
    wf.add_transformation_catalog(tc)
    buf = io.StringIO()
    wf.write(buf)
    return buf.getvalue()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make 'big' mean a few KB and a chunk 7 jobs, so the chunked path runs on small data."""
    monkeypatch.setattr(loader, "_CHUNKED_MIN_CHARS", 1000)
    monkeypatch.setattr(loader, "_CHUNK_JOBS", 7)
    monkeypatch.setattr(loader, "_BIG_BLOCK", 500)


def test_chunked_loading_gives_the_same_workflow(small_chunks: None, tmp_path: Path) -> None:
    text = _big_workflow(60)
    p = tmp_path / "workflow.yml"
    p.write_text(text)
    calls: list[int] = []
    real = loader._load_workflow_in_chunks

    def spy(t: str, f: str) -> Workflow | None:
        out = real(t, f)
        calls.append(0 if out is None else len(out.jobs))
        return out

    loader._load_workflow_in_chunks = spy  # type: ignore[assignment]
    try:
        chunked = load_workflow(p)
    finally:
        loader._load_workflow_in_chunks = real
    assert calls == [60]  # the chunked path was taken
    whole = loader._load_whole(text, str(p), Workflow, kind="workflow")
    assert chunked.jobs == whole.jobs
    assert chunked.transformation_catalog == whole.transformation_catalog
    assert chunked.jobs[59].metadata == {"n": "59"}
    assert [j.id for j in chunked.jobs[:3]] == ["J00000", "J00001", "J00002"]


def test_chunked_loading_reports_problems_with_document_lines(
    small_chunks: None, tmp_path: Path
) -> None:
    doc = yaml.safe_load(_big_workflow(40))
    doc["jobs"][23]["uses"][0]["type"] = "inptu"
    doc["jobs"][31]["idd"] = 1
    doc["nmae"] = "x"
    text = yaml.safe_dump(doc, sort_keys=False)
    p = tmp_path / "workflow.yml"
    p.write_text(text)
    lines = text.splitlines()
    with pytest.raises(SpecError) as exc:
        load_workflow(p)
    got = [(x.line, x.path, x.message) for x in exc.value.problems]
    inptu_line = next(i for i, t in enumerate(lines, 1) if "inptu" in t)
    idd_line = next(i for i, t in enumerate(lines, 1) if t.strip().startswith("idd:"))
    nmae_line = next(i for i, t in enumerate(lines, 1) if t.startswith("nmae:"))
    assert sorted(got, key=lambda g: g[0] or 0) == sorted(
        [
            (
                inptu_line,
                "jobs[23].uses[0].type",
                "'inptu' is not one of none, input, output, inout, checkpoint",
            ),
            (idd_line, "jobs[31].idd", "unknown field 'idd' (did you mean 'id'?)"),
            (nmae_line, "nmae", "unknown field 'nmae' (did you mean 'name'?)"),
        ],
        key=lambda g: g[0],
    )


def test_anchors_across_jobs_fall_back_to_whole_document(small_chunks: None) -> None:
    jobs = "".join(
        f"- type: job\n  id: j{i}\n  name: t\n  arguments: []\n  uses: []\n"
        + ("  profiles: &p {env: {A: '1'}}\n" if i == 0 else "  profiles: *p\n")
        for i in range(30)
    )
    wf = loader.loads_workflow("pegasus: '5.0'\nname: w\njobs:\n" + jobs)
    assert len(wf.jobs) == 30 and wf.jobs[29].profiles.env == {"A": "1"}


def test_uploaded_documents_cannot_name_files_outside_their_directory(
    write_yaml: WriteYaml, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.yml"
    secret.write_text('pegasus: "5.0"\nsites: [{name: private}]\n')
    run = tmp_path / "run"
    wf = write_yaml(
        "run/workflow.yml",
        "pegasus: '5.0'\nname: w\nsiteCatalog: {$ref: ../secret.yml}\n"
        "jobs:\n- {type: job, id: a, name: t, arguments: [], uses: []}\n",
    )
    props = write_yaml("run/pegasus.properties", f"pegasus.catalog.replica.file = {secret}\n")
    with pytest.raises(SpecError) as exc:
        load_inputs(wf, properties=props, confine_to=run)
    assert sorted(str(p) for p in exc.value.problems) == sorted(
        [
            f"{props}:1: pegasus.catalog.replica.file: '{secret}' is outside the run's directory",
            f"{wf}:3: siteCatalog.$ref: '{run / '../secret.yml'}' is outside the run's directory",
        ]
    )
    # without confinement (a local CLI user) the named files are read
    with pytest.raises(SpecError) as unconfined:
        load_inputs(wf, properties=props)
    assert [str(p) for p in unconfined.value.problems] == [
        f"{secret}:1: replicas: required field is missing",
        f"{secret}:2: sites: unknown field 'sites'",
    ]


def test_input_dirs_provide_replicas(tmp_path: Path, write_yaml: WriteYaml) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("a")
    (data / "sub" / "b.txt").write_text("b")
    (data / ".hidden").write_text("h")
    wf = write_yaml(
        "workflow.yml",
        "pegasus: '5.0'\nname: w\n"
        "transformationCatalog:\n  transformations:\n"
        "  - {name: t, sites: [{name: local, pfn: /t, type: installed}]}\n"
        "jobs:\n- {type: job, id: a, name: t, arguments: [],\n"
        "   uses: [{lfn: a.txt, type: input}, {lfn: sub/b.txt, type: input}]}\n",
    )
    with pytest.raises(PlanningError):
        load_inputs(wf)
    r = load_inputs(wf, input_dirs=[data])
    assert [x.pfn for x in r.catalogs.replicas.lookup("sub/b.txt")] == [
        f"file://{data.resolve() / 'sub' / 'b.txt'}"
    ]
    assert ".hidden" not in r.catalogs.replicas
