"""Planning the shared Pegasus examples and Pegasus.api-built workflows into submit directories.

Every test plans real YAML through the same path as `aerie plan`, writes the directory, and then
reads it back: the DAG's nodes, edges and auxiliary jobs, each .sub through `htcondor2.Submit`,
each .lite.json through the job wrapper's own validator, each .in as Pegasus's transfer format.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from plan_helpers import assert_valid_node_names, dag_structure, parse_sub, plan_file, read_json

from planner.dag import JobType
from worker.lite import jobspec


def _check_every_file(submit: Path, ew_prefix: str) -> None:
    """Every node's .sub parses in HTCondor; every payload is in the wrapper's format."""
    d = dag_structure(submit / f"{ew_prefix}.dag")
    assert_valid_node_names(d)
    for name, sub_path in d.jobs.items():
        desc = parse_sub(submit / sub_path)
        assert desc["executable"] == str(submit / "aerie-lite")
        job_dir = submit / Path(sub_path).parent
        if desc["universe"] == "vanilla":
            spec = jobspec.load(str(job_dir / f"{name}.lite.json"))
            assert spec.job_name == name
            assert name in d.post, f"compute node {name} has no POST script"
        else:
            assert desc["universe"] == "local"
            entries = (job_dir / f"{name}.in").read_text()
            if name.startswith("register_"):
                assert all('site="' in line for line in entries.splitlines())
            else:
                assert isinstance(json.loads(entries), list)


def test_diamond_condorio(examples_dir: Path, tmp_path: Path) -> None:
    submit = tmp_path / "run" / "submit"
    ew = plan_file(examples_dir / "diamond" / "workflow.yml", submit, sites=["local"])
    d = dag_structure(submit / "diamond-0.dag")

    compute = {
        "preprocess_ID0000001",
        "findrange_ID0000002",
        "findrange_ID0000003",
        "analyze_ID0000004",
    }
    assert compute <= d.nodes()
    assert d.named("create_dir_") == ["create_dir_diamond_0_local"]
    assert d.named("stage_in_") == ["stage_in_local_local_0_0"]
    # only f.d is staged out (the others are stageOut: false) and registered
    assert d.named("stage_out_") == ["stage_out_local_local_2_0"]
    assert d.named("register_") == ["register_local_2_0"]
    assert {
        ("preprocess_ID0000001", "findrange_ID0000002"),
        ("findrange_ID0000002", "analyze_ID0000004"),
        ("create_dir_diamond_0_local", "stage_in_local_local_0_0"),
        ("stage_in_local_local_0_0", "preprocess_ID0000001"),
        ("analyze_ID0000004", "stage_out_local_local_2_0"),
        ("stage_out_local_local_2_0", "register_local_2_0"),
    } <= d.edges
    # SPEC §2.8: retries, priorities = 10 x depth, categories, MAXJOBS defaults
    assert all(d.retry[n] == 1 for n in d.nodes())
    assert d.priority["preprocess_ID0000001"] == 20
    assert d.priority["analyze_ID0000004"] == 40
    assert d.priority["stage_in_local_local_0_0"] == 700
    assert d.priority["create_dir_diamond_0_local"] == 800
    assert d.priority["stage_out_local_local_2_0"] == 900
    assert d.category["stage_in_local_local_0_0"] == "stagein"
    assert d.category["register_local_2_0"] == "registration"
    assert d.maxjobs == {"registration": 1, "stagein": 10, "cleanup": 4, "stageout": 10}
    assert d.vars["analyze_ID0000004"] == 'My.DAGNodeRetry="$(RETRY)"'
    assert d.post["analyze_ID0000004"] == (
        f"{submit}/aerie-lite exitcode -r $RETURN -l diamond-0.exitcode.log "
        "00/00/analyze_ID0000004.out"
    )
    assert "JOBSTATE_LOG jobstate.log" in d.other
    assert "NODE_STATUS_FILE diamond-0.dag.status 5" in d.other

    # condorio: the job runs in the local staging dir with HTCondor file transfer
    sub = parse_sub(submit / "00/00/preprocess_ID0000001.sub")
    scratch = tmp_path / "run" / "wf-scratch" / "LOCAL" / "submit"
    assert sub["initialdir"] == str(scratch)
    assert sub["arguments"] == '"run preprocess_ID0000001.lite.json"'
    assert sub["transfer_input_files"].split(",")[:2] == [
        "f.a",
        f"{submit}/00/00/preprocess_ID0000001.lite.json",
    ]
    assert sorted(sub["transfer_output_files"].split(",")) == ["f.b1", "f.b2"]
    # integrity: the raw input's checksum comes from the replica catalog, and the child receives
    # its parent's .meta (checksums recorded when the parent produced the file)
    lite = read_json(submit / "00/00/preprocess_ID0000001.lite.json")
    assert lite["inputs"][0]["sha256"] == (
        "e262b71a07ca7a8758f76117444db6c0deee470cba3a8b8caf42640b8e4212b5"
    )
    assert lite["stdin"] == "f.a" and lite["executable"] == "/usr/bin/tee"
    child = parse_sub(submit / "00/00/findrange_ID0000002.sub")
    assert f"{submit}/00/00/preprocess_ID0000001.meta" in child["transfer_input_files"]

    stage_in = read_json(submit / "00/00/stage_in_local_local_0_0.in")
    assert stage_in[0]["src_urls"][0]["url"] == f"file://{examples_dir}/diamond/f.a"
    assert stage_in[0]["dest_urls"][0]["url"] == f"file://{scratch}/f.a"
    reg = (submit / "00/00/register_local_2_0.in").read_text()
    assert reg == f'f.d file://{tmp_path}/run/wf-output/f.d site="local"\n'
    assert ew.counts()["compute"] == 4
    _check_every_file(submit, "diamond-0")

    brain = yaml.safe_load((submit / "braindump.yml").read_text())
    assert brain["wf_uuid"] == ew.wf_uuid and brain["dag"] == "diamond-0.dag"
    assert brain["pegasus_wf_name"] == "diamond-0" and brain["dax_label"] == "diamond"
    metrics = read_json(submit / "diamond-0.metrics")
    assert metrics["wf_metrics"]["compute_jobs"] == 4
    assert metrics["wf_metrics"]["total_jobs"] == len(d.nodes())


@pytest.mark.parametrize("example", ["split", "diamond-catalogs", "container"])
def test_examples_plan_and_parse(examples_dir: Path, tmp_path: Path, example: str) -> None:
    submit = tmp_path / example / "submit"
    wf_dir = examples_dir / example
    props = {}
    if (wf_dir / "pegasus.properties").exists():
        from planner.properties import load_properties

        props = load_properties(wf_dir / "pegasus.properties")
    sites = ["condorpool"] if example == "container" else ["local"]
    ew = plan_file(wf_dir / "workflow.yml", submit, sites=sites, properties=props)
    _check_every_file(submit, ew.prefix)
    d = dag_structure(submit / ew.dag_file)
    if example == "split":
        # four wc jobs at level 1, all children of split; four count files staged out
        wcs = d.named("wc_")
        assert len(wcs) == 4 and all(d.parents(w) >= {"split_ID0000001"} for w in wcs)
        outs = [
            e
            for n in d.named("stage_out_")
            for e in read_json(submit / d.jobs[n].replace(".sub", ".in"))
        ]
        assert sorted(e["lfn"] for e in outs) == [
            "count.txt.a",
            "count.txt.b",
            "count.txt.c",
            "count.txt.d",
        ]
    if example == "diamond-catalogs":
        assert d.retry["analyze_ID0000004"] == 2  # dagman RETRY profile on the job
    if example == "container":
        lite = read_json(submit / "00/00/process_ID0000001.lite.json")
        assert lite["container"]["type"] == "singularity"
        assert lite["container"]["image"] == "docker://centos:7"
        assert lite["container"]["mounts"] == ["/scratch:/scratch:ro"]
        sub = parse_sub(submit / "00/00/process_ID0000001.sub")
        assert sub["request_gpus"] == "1" and sub["request_memory"] == "1 GB"


def test_hierarchical_example_plans_inner_workflow_statically(
    examples_dir: Path, tmp_path: Path
) -> None:
    submit = tmp_path / "h" / "submit"
    ew = plan_file(examples_dir / "hierarchical" / "workflow.yml", submit, sites=["local"])
    d = dag_structure(submit / ew.dag_file)
    dag_file, sub_dir = d.subdags["pegasus-plan_SUB01"]
    assert (dag_file, sub_dir) == ("inner-0.dag", "00/00/inner_SUB01.000")
    assert d.category["pegasus-plan_SUB01"] == "subwf"
    assert "pegasus-plan_SUB01" in d.parents("count_CNT01")
    inner_dir = submit / sub_dir
    assert (inner_dir / "inner-0.dag").is_file()
    assert (submit / "00/00/inner_SUB01").is_symlink()
    inner = dag_structure(inner_dir / "inner-0.dag")
    assert inner.named("create_dir_inner_0_local")
    # the inner workflow hands upper.txt to the parent's staging directory
    so = [
        e
        for n in inner.named("stage_out_")
        for e in read_json(inner_dir / inner.jobs[n].replace(".sub", ".in"))
    ]
    parent_scratch = tmp_path / "h" / "wf-scratch" / "LOCAL" / "submit"
    assert {e["lfn"]: e["dest_urls"][0]["url"] for e in so}["upper.txt"] == (
        f"file://{parent_scratch}/upper.txt"
    )
    brain = yaml.safe_load((inner_dir / "braindump.yml").read_text())
    assert brain["root_wf_uuid"] == ew.root_uuid != brain["wf_uuid"]
    # inner jobs use the parent's wrapper: only the top submit dir gets aerie-lite
    for sub_path in inner.jobs.values():
        assert parse_sub(inner_dir / sub_path)["executable"] == str(submit / "aerie-lite")


def test_api_diamond_condorio_and_nonsharedfs(api_diamond: dict[str, Path], tmp_path: Path) -> None:
    for dc in ("condorio", "nonsharedfs"):
        submit = tmp_path / dc / "submit"
        ew = plan_file(
            api_diamond["workflow"],
            submit,
            sites=["condorpool"],
            properties={"pegasus.data.configuration": dc},
            staging_sites={"condorpool": "local"} if dc == "nonsharedfs" else {},
        )
        _check_every_file(submit, ew.prefix)
        assert ew.data_configuration == dc
        d = dag_structure(submit / ew.dag_file)
        # ID0000001 is pinned to local by its selector profile; the others go to condorpool
        pre = read_json(submit / "00/00/preprocess_ID0000001.lite.json")
        assert pre["site"] == "local"
        assert pre["arguments"] == [
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
        ]
        assert pre["environment"] == {"PATH": "/usr/bin:/bin"}
        assert pre["walltime"] == 600  # globus maxwalltime 10 (minutes)
        assert d.retry["preprocess_ID0000001"] == 3
        sub = parse_sub(submit / d.jobs["preprocess_ID0000001"])
        assert sub["request_cpus"] == "2" and sub["request_memory"] == "1024"
        assert "PATH=/usr/bin:/bin" in sub["environment"]
        fr = read_json(submit / d.jobs["findrange_ID0000002"].replace(".sub", ".lite.json"))
        assert fr["container"]["type"] == "singularity" and fr["site"] == "condorpool"
        fr_sub = parse_sub(submit / d.jobs["findrange_ID0000002"])
        assert fr_sub["MY.ProjectName"] == '"aerie"'  # site condor profile copied into the .sub
        # analyze is stageable: its executable is staged like an input and chmod'ed by the wrapper
        an = read_json(submit / d.jobs["analyze_ID0000004"].replace(".sub", ".lite.json"))
        exe = [i for i in an["inputs"] if i["executable"]]
        assert [i["lfn"] for i in exe] == ["diamond-analyze-4.0"]
        assert an["executable"] == "diamond-analyze-4.0"
        # f.meta asks for bypass, but its replica is a file on `local` and the job runs on
        # condorpool, which cannot read it: like Pegasus, we stage it in anyway
        staged = [
            e["lfn"]
            for n in d.named("stage_in_")
            for e in read_json(submit / d.jobs[n].replace(".sub", ".in"))
        ]
        assert sorted(staged) == ["diamond-analyze-4.0", "f.a", "f.meta"]
        if dc == "nonsharedfs":
            scratch = api_diamond["dir"] / "scratch" / "submit"
            f_b1 = [i for i in fr["inputs"] if i["lfn"] == "f.b1"][0]
            assert f_b1["urls"] == [f"file://{scratch}/f.b1"]
            assert fr["outputs"][0]["urls"] == [f"file://{scratch}/{fr['outputs'][0]['lfn']}"]
            assert fr_sub["initialdir"] == str(submit / "00" / "00")
            assert "transfer_output_files" not in fr_sub
        else:
            assert fr_sub["initialdir"] == str(api_diamond["dir"] / "scratch" / "submit")


def test_sharedfs_runs_in_the_shared_workflow_dir(write_yaml, tmp_path: Path) -> None:
    shared = tmp_path / "cluster-scratch"
    sites = write_yaml(
        "sites.yml",
        f"""
        pegasus: "5.0"
        sites:
        - name: hpc
          directories:
          - type: sharedScratch
            path: {shared}
            fileServers: [{{url: "file://{shared}", operation: all}}]
          profiles:
            pegasus: {{data.configuration: sharedfs}}
    """,
    )
    wf = write_yaml(
        "wf.yml",
        """
        pegasus: "5.0"
        name: shared
        replicaCatalog:
          replicas:
          - {lfn: in.txt, pfns: [{site: local, pfn: /etc/hostname}]}
        transformationCatalog:
          transformations:
          - name: cat
            sites: [{name: hpc, pfn: /bin/cat, type: installed}]
        jobs:
        - {type: job, name: cat, id: A, arguments: [in.txt], stdout: out.txt,
           uses: [{lfn: in.txt, type: input}, {lfn: out.txt, type: output}]}
    """,
    )
    submit = tmp_path / "run" / "submit"
    ew = plan_file(wf, submit, scs=(sites,), sites=["hpc"])
    assert ew.data_configuration == "sharedfs"
    sub = parse_sub(submit / "00/00/cat_A.sub")
    assert sub["should_transfer_files"] == "NO"
    assert sub["initialdir"] == f"{shared}/submit"
    assert sub["arguments"] == f'"run {submit}/00/00/cat_A.lite.json"'
    lite = read_json(submit / "00/00/cat_A.lite.json")
    assert lite["integrity"] == "none" and lite["inputs"][0]["urls"] == []
    stage_in = read_json(submit / "00/00/stage_in_local_hpc_0_0.in")
    assert stage_in[0]["dest_urls"][0] == {
        "site_label": "hpc",
        "url": f"file://{shared}/submit/in.txt",
    }
    _check_every_file(submit, ew.prefix)


def test_every_node_kind_has_its_job_class(
    api_hierarchical: dict[str, Path], tmp_path: Path
) -> None:
    submit = tmp_path / "run" / "submit"
    ew = plan_file(api_hierarchical["workflow"], submit, sites=["local"], cleanup="leaf")
    kinds = {n.type for n in ew.nodes.values()}
    assert {
        JobType.COMPUTE,
        JobType.DAX,
        JobType.DAG,
        JobType.CREATE_DIR,
        JobType.STAGE_IN,
        JobType.STAGE_OUT,
        JobType.REGISTRATION,
        JobType.CLEANUP,
    } <= kinds
    d = dag_structure(submit / ew.dag_file)
    assert d.subdags["dagman_DAG01"] == ("legacy.dag", str(api_hierarchical["dir"]))
    for name, sub_path in d.jobs.items():
        node = ew.nodes[name]
        desc = parse_sub(submit / sub_path)
        assert desc["MY.pegasus_job_class"] == str(node.type.job_class)
        assert desc["MY.pegasus_wf_uuid"] == f'"{ew.wf_uuid}"'
    # leaf cleanup removes the whole workflow directory after everything but registration
    (cleanup,) = d.named("cleanup_outer_0_local")
    assert not any(c.startswith("register_") for c in d.parents(cleanup))
    ancestors, todo = set(), [cleanup]
    while todo:
        for p in d.parents(todo.pop()):
            if p not in ancestors:
                ancestors.add(p)
                todo.append(p)
    assert ancestors == d.nodes() - {cleanup} - set(d.named("register_"))
    entry = read_json(submit / d.jobs[cleanup].replace(".sub", ".in"))[0]
    assert entry["type"] == "remove" and entry["target"]["recursive"] == "True"
