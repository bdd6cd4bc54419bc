"""Planner test data shared by the input and compile tests (`from planner_testdata import …`).

- `shared_dir()` / `SHARED` / `PEGASUS`: the read-only reference data (`<repo>/../shared`, or
  `$AERIE_SHARED_DIR`).
- `build_api_diamond(dir, inline=True)` / `build_api_hierarchical(dir)`: workflows written by the
  official `Pegasus.api` (real input files, checksums, profiles in every namespace, hooks,
  metadata, checkpoint, bypass, containers, a site catalog); each returns a dict of paths.

Fixtures built on these live in `conftest.py`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def shared_dir() -> Path:
    env = os.environ.get("AERIE_SHARED_DIR")
    if env:
        return Path(env)
    return (Path(__file__).resolve().parents[2] / ".." / "shared").resolve()


SHARED = shared_dir()
PEGASUS = SHARED / "pegasus"


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def build_api_diamond(d: Path, *, inline: bool = True) -> dict[str, Path]:
    """The classic diamond, written by Pegasus.api, using most of what the format allows."""
    from Pegasus.api import (
        OS,
        Arch,
        Container,
        Directory,
        EventType,
        File,
        FileServer,
        Grid,
        Job,
        Namespace,
        Operation,
        ReplicaCatalog,
        Scheduler,
        Site,
        SiteCatalog,
        SupportedJobs,
        Transformation,
        TransformationCatalog,
        Workflow,
    )
    from Pegasus.api.site_catalog import Grid as _Grid

    d.mkdir(parents=True, exist_ok=True)
    fa_path = d / "f.a"
    fa_path.write_text("".join(f"{(i * 7919) % 1000}\n" for i in range(50)))
    rc = ReplicaCatalog()
    rc.add_replica("local", "f.a", str(fa_path), checksum={"sha256": _sha256(fa_path)})
    rc.add_replica("local", File("f.meta").add_metadata(kind="ref"), str(fa_path))

    tool = d / "tool.sh"
    tool.write_text('#!/bin/sh\ncat "$@"\n')
    tool.chmod(0o755)
    centos = Container(
        "centos-base",
        Container.SINGULARITY,
        image="docker://centos:7",
        arguments="--nv",
        mounts=["/scratch:/scratch:ro"],
    )
    preprocess = (
        Transformation(
            "preprocess",
            namespace="diamond",
            version="4.0",
            site="local",
            pfn=str(tool),
            is_stageable=False,
        )
        .add_pegasus_profile(cores=2, runtime=60)
        .add_shell_hook(EventType.START, "/bin/echo start")
        .add_metadata(owner="tests")
    )
    findrange = Transformation(
        "findrange",
        namespace="diamond",
        version="4.0",
        site="condorpool",
        pfn="/usr/bin/sort",
        is_stageable=False,
        container=centos,
    )
    analyze = Transformation(
        "analyze",
        namespace="diamond",
        version="4.0",
        site="local",
        pfn=f"file://{tool}",
        is_stageable=True,
        arch=Arch.X86_64,
        os_type=OS.LINUX,
    ).add_requirement(findrange)
    tc = TransformationCatalog().add_transformations(preprocess, findrange, analyze)
    tc.add_containers(centos)

    sc = SiteCatalog()
    local = Site("local", arch=Arch.X86_64, os_type=OS.LINUX).add_directories(
        Directory(Directory.SHARED_SCRATCH, str(d / "scratch")).add_file_servers(
            FileServer(f"file://{d / 'scratch'}", Operation.ALL)
        ),
        Directory(Directory.LOCAL_STORAGE, str(d / "output")).add_file_servers(
            FileServer(f"file://{d / 'output'}", Operation.ALL)
        ),
    )
    pool = (
        Site("condorpool", arch=Arch.X86_64, os_type=OS.LINUX)
        .add_pegasus_profile(style="condor")
        .add_condor_profile(universe="vanilla")
        .add_profiles(Namespace.CONDOR, key="+ProjectName", value='"aerie"')
        .add_grids(Grid(_Grid.CONDOR, "localhost", Scheduler.CONDOR, SupportedJobs.COMPUTE))
    )
    sc.add_sites(local, pool)

    fa, fb1, fb2, fc1, fc2, fd, ck = (
        File(n) for n in ("f.a", "f.b1", "f.b2", "f.c1", "f.c2", "f.d", "state.ckpt")
    )
    wf = Workflow("diamond").add_metadata(experiment="tests", run=1)
    wf.add_shell_hook(EventType.ERROR, "/bin/echo failed")
    j1 = (
        Job(preprocess, _id="ID0000001")
        .add_args("-a", "preprocess", "-T", 60, "-i", fa, "-o", fb1, fb2, 1.5)
        .add_inputs(fa)
        .add_outputs(fb1, fb2, stage_out=False, register_replica=False)
        .add_env(PATH="/usr/bin:/bin")
        .add_condor_profile(request_memory="1 GB")
        .add_profiles(Namespace.GLOBUS, key="maxwalltime", value=10)
        .add_dagman_profile(retry=3)
        .add_pegasus_profile(label="cluster-a")
        .add_selector_profile(execution_site="local")
        .add_metadata(stage="first")
        .add_shell_hook(EventType.SUCCESS, "/bin/echo ok")
    )
    j2 = (
        Job(findrange, _id="ID0000002")
        .add_args("-i", fb1, "-o", fc1)
        .add_inputs(fb1)
        .add_outputs(fc1)
        .add_checkpoint(ck)
    )
    j3 = Job(findrange, _id="ID0000003").add_args("-i", fb2, "-o", fc2).add_inputs(fb2)
    j3.add_outputs(fc2)
    j4 = (
        Job(analyze, _id="ID0000004", node_label="final")
        .add_args("-i", fc1, fc2)
        .add_inputs(fc1, fc2)
        .add_inputs(File("f.meta"), bypass_staging=True)
        .set_stdout(fd)
    )
    wf.add_jobs(j1, j2, j3, j4)
    wf.add_dependency(j1, children=[j2, j3])

    paths = {"dir": d, "workflow": d / "workflow.yml"}
    if inline:
        wf.add_replica_catalog(rc).add_transformation_catalog(tc).add_site_catalog(sc)
    else:
        paths["replicas"] = d / "replicas.yml"
        paths["transformations"] = d / "transformations.yml"
        paths["sites"] = d / "sites.yml"
        rc.write(str(paths["replicas"]))
        tc.write(str(paths["transformations"]))
        sc.write(str(paths["sites"]))
    wf.write(str(paths["workflow"]))
    return paths


def build_api_hierarchical(d: Path) -> dict[str, Path]:
    """An outer workflow with a pegasusWorkflow sub-workflow job and a condorWorkflow job."""
    from Pegasus.api import (
        File,
        Job,
        ReplicaCatalog,
        SubWorkflow,
        Transformation,
        TransformationCatalog,
        Workflow,
    )

    d.mkdir(parents=True, exist_ok=True)
    (d / "words.txt").write_text("a\nb\n")
    tc = TransformationCatalog().add_transformations(
        Transformation("upper", site="local", pfn="/usr/bin/tr"),
        Transformation("count", site="local", pfn="/usr/bin/wc"),
    )
    inner = Workflow("inner")
    w, up = File("words.txt"), File("upper.txt")
    inner.add_jobs(Job("upper", _id="IN01").add_args("a-z", "A-Z").set_stdin(w).set_stdout(up))
    inner.add_transformation_catalog(tc)
    inner.write(str(d / "inner.yml"))
    (d / "legacy.dag").write_text("JOB A a.sub\n")
    rc = (
        ReplicaCatalog()
        .add_replica("local", "words.txt", str(d / "words.txt"))
        .add_replica("local", "inner.yml", str(d / "inner.yml"))
        .add_replica("local", "legacy.dag", str(d / "legacy.dag"))
    )
    outer = Workflow("outer")
    sub = SubWorkflow("inner.yml", is_planned=False, _id="SUB01").add_args("--sites", "local")
    sub.add_inputs(w).add_outputs(up)
    dag = SubWorkflow("legacy.dag", is_planned=True, _id="DAG01")
    cnt = File("count.txt")
    count = Job("count", _id="CNT01").add_args("-c", up).add_inputs(up).set_stdout(cnt)
    outer.add_jobs(sub, dag, count)
    outer.add_replica_catalog(rc).add_transformation_catalog(tc)
    outer.write(str(d / "workflow.yml"))
    return {"dir": d, "workflow": d / "workflow.yml", "inner": d / "inner.yml"}
