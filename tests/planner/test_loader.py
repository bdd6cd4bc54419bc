"""The loader reads every real Pegasus document we have, agrees with the official JSON schemas, and
keeps what Pegasus.api wrote (round trip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from planner_testdata import PEGASUS
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from planner.errors import SpecError
from planner.loader import (
    load_replica_catalog,
    load_site_catalog,
    load_transformation_catalog,
    load_workflow,
)
from planner.spec import (
    CondorWorkflowJob,
    Job,
    PegasusWorkflowJob,
    SiteCatalog,
    SiteCatalogRef,
)

SCHEMAS = PEGASUS / "schemas"


def _registry() -> Registry:
    resources = [
        (p.name, Resource.from_contents(yaml.safe_load(p.read_text()), DRAFT7))
        for p in SCHEMAS.glob("*.yml")
    ]
    return Registry().with_resources(resources)


REGISTRY = _registry()

KINDS = {
    "workflow": ("wf-5.0.yml", load_workflow),
    "replica": ("rc-5.0.yml", load_replica_catalog),
    "transformation": ("tc-5.0.yml", load_transformation_catalog),
    "site": ("sc-5.0.yml", load_site_catalog),
}


def _kind(doc: dict[str, Any]) -> str:
    if "jobs" in doc:
        return "workflow"
    if "replicas" in doc:
        return "replica"
    if "transformations" in doc:
        return "transformation"
    return "site"


def _documents() -> list[Path]:
    dirs = ["examples", "catalogs", "site-catalogs", "fixtures/catalog-parsing"]
    return sorted(p for d in dirs for p in (PEGASUS / d).rglob("*.yml"))


# Where we knowingly accept more than the schema (documented in planner/loader.py):
# hosted catalogs without the top-level `pegasus` version.
LENIENT = {"ospool-ap40.yml", "ospool-ap41.yml"}


@pytest.mark.parametrize("path", _documents(), ids=lambda p: str(p.relative_to(PEGASUS)))
def test_loader_agrees_with_the_json_schema(path: Path) -> None:
    """Every shared document: valid per the official schema exactly when our loader accepts it."""
    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict):  # empty documents: the schema has nothing to say
        with pytest.raises(SpecError, match="the document is empty"):
            load_transformation_catalog(path)
        return
    schema_name, load = KINDS[_kind(doc)]
    validator = jsonschema.Draft7Validator({"$ref": schema_name}, registry=REGISTRY)
    schema_ok = validator.is_valid(doc)
    try:
        load(path)
        ours_ok = True
    except SpecError as exc:
        ours_ok = False
        # every problem names the file and a line inside it
        lines = len(path.read_text().splitlines())
        assert all(p.file == str(path) and 1 <= (p.line or 0) <= lines for p in exc.problems)
    if path.name in LENIENT:
        assert ours_ok and not schema_ok
    else:
        assert ours_ok == schema_ok


def test_examples_load_with_their_content(examples_dir: Path) -> None:
    wf = load_workflow(examples_dir / "diamond" / "workflow.yml")
    assert wf.name == "diamond" and wf.pegasus == "5.0.4"
    assert [j.id for j in wf.jobs] == ["ID0000001", "ID0000002", "ID0000003", "ID0000004"]
    first = wf.jobs[0]
    assert isinstance(first, Job) and first.name == "preprocess" and first.stdin == "f.a"
    assert first.arguments == ("f.b1", "f.b2")
    assert [(u.lfn, u.type, u.stage_out) for u in first.uses] == [
        ("f.b2", "output", False),
        ("f.a", "input", True),
        ("f.b1", "output", False),
    ]
    assert wf.replica_catalog is not None
    rep = wf.replica_catalog.replicas[0]
    assert rep.pfns[0].pfn == str(examples_dir / "diamond" / "f.a")
    assert rep.checksum is not None and rep.checksum.sha256 and len(rep.checksum.sha256) == 64
    assert [d.id for d in wf.job_dependencies] == ["ID0000001", "ID0000002", "ID0000003"]
    assert wf.api_lang == "python"
    assert wf.source_file == str(examples_dir / "diamond" / "workflow.yml")


def test_separate_catalog_files_and_dagman_profile(examples_dir: Path) -> None:
    d = examples_dir / "diamond-catalogs"
    wf = load_workflow(d / "workflow.yml")
    assert wf.metadata == {"experiment": "catalog-files"}
    last = wf.jobs[3]
    assert last.profiles.dagman == {"RETRY": "2"} and last.metadata == {"stage": "final"}
    sc = load_site_catalog(d / "sites.yml")
    assert [s.name for s in sc.sites] == ["local", "condorpool"]
    local = sc.sites[0]
    scratch = local.directory("sharedScratch")
    assert scratch is not None and scratch.file_servers[0].url == f"file://{d}/scratch"
    assert sc.sites[1].profiles.pegasus == {"style": "condor"}
    tc = load_transformation_catalog(d / "transformations.yml")
    assert [t.name for t in tc.transformations] == ["preprocess", "findrange", "analyze"]
    rc = load_replica_catalog(d / "replicas.yml")
    assert rc.replicas[0].lfn == "f.a"


def test_sub_workflow_jobs(examples_dir: Path) -> None:
    wf = load_workflow(examples_dir / "hierarchical" / "workflow.yml")
    sub = wf.jobs[0]
    assert isinstance(sub, PegasusWorkflowJob) and sub.file == "inner.yml"
    planning = [u for u in sub.uses if u.for_planning]
    assert [u.lfn for u in planning] == ["inner.yml"]


def test_container_example(examples_dir: Path) -> None:
    wf = load_workflow(examples_dir / "container" / "workflow.yml")
    tc = wf.transformation_catalog
    assert tc is not None
    (c,) = tc.containers
    assert (c.name, c.type, c.image, c.mounts) == (
        "centos-base",
        "singularity",
        "docker://centos:7",
        ("/scratch:/scratch:ro",),
    )
    site = tc.transformations[0].sites[0]
    assert site.container == "centos-base" and site.type == "installed"
    assert tc.transformations[0].profiles.condor["request_memory"] == "1 GB"


def test_pegasus_sample_workflow_with_hooks_profiles_and_site_ref() -> None:
    wf = load_workflow(PEGASUS / "catalogs" / "workflow.yml")
    assert isinstance(wf.site_catalog, SiteCatalogRef)
    assert wf.site_catalog.ref == "https://pegasus.isi.edu/hosted/site/catalog"
    assert wf.hooks.shell[0].on == "error"
    assert wf.profiles.env == {"JAVA_HOME": "/opt/java/1.6"}  # top-level profiles accepted
    job = wf.jobs[0]
    assert isinstance(job, Job)
    assert job.transformation_key == "diamond::preprocess:2.0"
    # numbers in arguments become text, exactly as written
    assert job.arguments[-3:] == ("-nums", "1", "1.1")
    tc = wf.transformation_catalog
    assert tc is not None
    keg = tc.transformations[0]
    assert keg.key == "example::keg:1.0" and keg.requires == ("anotherTr",)
    isi = keg.sites[0]
    assert (isi.os_release, isi.os_version, isi.container) == ("fc", "4", "centos-pegasus")
    assert isi.profiles.condor == {"FOO": "bar"}


def test_site_catalogs_of_hosted_deployments() -> None:
    sc = load_site_catalog(PEGASUS / "site-catalogs" / "access-pegasus.yml")
    (compute,) = sc.sites
    assert compute.profiles.condor == {"universe": "container"}
    assert compute.profiles.env == {"LANG": "C", "PYTHONUNBUFFERED": "1"}
    assert compute.arch == "x86_64" and compute.os_type == "linux"  # schema defaults
    perl = load_site_catalog(PEGASUS / "site-catalogs" / "nersc-perlmutter.yml")
    assert any(s.grids for s in perl.sites) or any(s.directories for s in perl.sites)


def test_catalog_variables_expand_only_from_the_given_environment() -> None:
    path = PEGASUS / "fixtures" / "catalog-parsing" / "sites.yml"
    env = {
        "SITE": "cluster",
        "ARCH": "x86_64",
        "OS": "linux",
        "DIRECTORY_TYPE": "sharedScratch",
        "INTERNAL_MOUNT_POINT": "/mnt/int",
        "EXTERNAL_MOUNT_POINT": "file:///mnt/ext",
        "PEGASUS_HOME": "/opt/pegasus",
    }
    sc = load_site_catalog(path, env=env)
    site = sc.sites[-1]
    assert site.name == "cluster" and site.arch == "x86_64"
    assert site.directories[0].path == "/mnt/int"
    assert site.profiles.env["PEGASUS_HOME"] == "/opt/pegasus"

    with pytest.raises(SpecError) as exc:
        load_site_catalog(path, env={k: v for k, v in env.items() if k != "PEGASUS_HOME"})
    (p,) = exc.value.problems
    assert (
        str(p)
        == f"{path}:105: sites[6].profiles.env.PEGASUS_HOME: undefined variable ${{PEGASUS_HOME}}"
    )


def test_tc_fixture_with_variables_and_containers() -> None:
    path = PEGASUS / "fixtures" / "catalog-parsing" / "tc_test.yml"
    env = {
        "NAME": "keg2",
        "NAMESPACE": "ex",
        "VERSION": "2.0",
        "SITE": "s",
        "ARCH": "x86_64",
        "OS": "linux",
        "KEGPATH": "http://host/keg",
    }
    tc = load_transformation_catalog(path, env=env)
    assert [t.key for t in tc.transformations] == ["example::keg:1.0", "myxform", "ex::keg2:2.0"]
    assert tc.transformations[0].sites[1].type == "stageable"
    assert [c.name for c in tc.containers] == ["centos-pegasus", "centos-pegasus_1"]
    assert tc.containers[0].image_site == "optional site"


def _plain(obj: Any) -> Any:
    """Our model as plain data in the YAML spelling, for comparing with what the API wrote."""
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        infos = obj.__pydantic_fields__  # type: ignore[union-attr]
        for f in dataclasses.fields(obj):
            if not f.init:
                continue
            alias = infos[f.name].validation_alias
            out[alias if isinstance(alias, str) else f.name] = _plain(getattr(obj, f.name))
        return out
    if isinstance(obj, tuple | list):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _contains(ours: Any, theirs: Any, where: str = "") -> None:
    """Everything the API wrote is in our model with the same value (numbers compare as text)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        for k, v in theirs.items():
            if k.startswith("x-"):
                continue
            key = k.upper() if where.endswith("dagman") else k
            assert key in ours, f"{where}.{k} lost"
            _contains(ours[key], v, f"{where}.{k}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _contains(a, b, f"{where}[{i}]")
    elif isinstance(theirs, int | float) and not isinstance(theirs, bool):
        assert ours == str(theirs) or ours == theirs, where
    else:
        assert ours == theirs, where


@pytest.mark.parametrize("fixture", ["api_diamond", "api_catalogs", "api_hierarchical"])
def test_round_trip_of_pegasus_api_workflows(fixture: str, request: pytest.FixtureRequest) -> None:
    paths: dict[str, Path] = request.getfixturevalue(fixture)
    written = yaml.safe_load(paths["workflow"].read_text())
    wf = load_workflow(paths["workflow"])
    _contains(_plain(wf), written, "workflow")
    for kind, load in (
        ("replicas", load_replica_catalog),
        ("transformations", load_transformation_catalog),
        ("sites", load_site_catalog),
    ):
        if kind in paths:
            _contains(_plain(load(paths[kind])), yaml.safe_load(paths[kind].read_text()), kind)


def test_api_features_survive(api_diamond: dict[str, Path]) -> None:
    wf = load_workflow(api_diamond["workflow"])
    j1, j2, j3, j4 = wf.jobs
    assert isinstance(j1, Job) and j1.namespace == "diamond" and j1.version == "4.0"
    assert j1.arguments == (
        "-a",
        "preprocess",
        "-T",
        "60",
        "-i",
        "f.a",
        "-o",
        "f.b1",
        "f.b2",
        "1.5",
    )
    assert j1.profiles.env == {"PATH": "/usr/bin:/bin"}
    assert j1.profiles.globus == {"maxwalltime": "10"}
    assert j1.profiles.dagman == {"RETRY": "3"}
    assert j1.profiles.selector_value("execution.site") == "local"
    assert j1.hooks.shell[0].on == "success"
    ck = [u for u in j2.uses if u.type == "checkpoint"]
    assert [u.lfn for u in ck] == ["state.ckpt"] and ck[0].is_input is False and ck[0].is_output
    assert [u.lfn for u in j4.uses if u.bypass] == ["f.meta"]
    assert j4.node_label == "final" and j4.stdout == "f.d"
    assert isinstance(wf.site_catalog, SiteCatalog)
    pool = wf.site_catalog.sites[1]
    assert pool.profiles.condor["+ProjectName"] == '"aerie"'
    assert pool.grids[0].type == "condor" and pool.grids[0].jobtype == "compute"
    tc = wf.transformation_catalog
    assert tc is not None
    analyze = tc.transformations[2]
    assert analyze.requires == ("diamond::findrange:4.0",)
    assert analyze.sites[0].type == "stageable"
    assert tc.containers[0].profiles.pegasus == {"container.arguments": "--nv"}
    assert wf.metadata == {"experiment": "tests", "run": "1"}


def test_hierarchical_api_job_kinds(api_hierarchical: dict[str, Path]) -> None:
    wf = load_workflow(api_hierarchical["workflow"])
    kinds = [type(j) for j in wf.jobs]
    assert kinds == [PegasusWorkflowJob, CondorWorkflowJob, Job]
    dag = wf.jobs[1]
    assert isinstance(dag, CondorWorkflowJob) and dag.file == "legacy.dag"
