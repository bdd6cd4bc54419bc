"""The planning passes one behaviour at a time: data reuse, site selection, clustering, cleanup,
retries/priorities/categories, transfer bundling. Small YAML workflows written per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from plan_helpers import ancestors, dag_structure, parse_sub, plan_file, read_json

WriteYaml = Callable[[str, str], Path]


def _chain(
    write_yaml: WriteYaml,
    tmp_path: Path,
    *,
    rc_extra: str = "",
    stage_last: bool = True,
    job_profiles: str = "{}",
) -> Path:
    """a → b → c through files f1, f2, f3; f0 is the raw input."""
    (tmp_path / "f0").write_text("zero\n")
    return write_yaml(
        "chain.yml",
        f"""
        pegasus: "5.0"
        name: chain
        replicaCatalog:
          replicas:
          - {{lfn: f0, pfns: [{{site: local, pfn: {tmp_path}/f0}}]}}
        {rc_extra}
        transformationCatalog:
          transformations:
          - name: step
            sites: [{{name: local, pfn: /bin/cp, type: installed}}]
        jobs:
        - {{type: job, name: step, id: A, arguments: [f0, f1], profiles: {job_profiles},
           uses: [{{lfn: f0, type: input}}, {{lfn: f1, type: output, stageOut: false}}]}}
        - {{type: job, name: step, id: B, arguments: [f1, f2],
           uses: [{{lfn: f1, type: input}}, {{lfn: f2, type: output, stageOut: false}}]}}
        - {{type: job, name: step, id: C, arguments: [f2, f3],
           uses: [{{lfn: f2, type: input}},
                  {{lfn: f3, type: output, stageOut: {str(stage_last).lower()}}}]}}
    """,
    )


# ---------------------------------------------------------------------- data reuse


def test_reuse_prunes_jobs_whose_outputs_exist_and_cascades_up(
    write_yaml: WriteYaml, tmp_path: Path
) -> None:
    rc = "  - {lfn: f3, pfns: [{site: local, pfn: /data/f3}]}"
    wf = _chain(write_yaml, tmp_path, rc_extra=rc)
    ew = plan_file(wf, tmp_path / "s" / "submit", sites=["local"])
    # C's only output is in the catalog; B and A only feed C and stage nothing out
    assert not [n for n in ew.nodes.values() if n.type.value == "compute"]
    assert ew.metrics["wf_metrics"]["deleted_tasks"] == 3
    # the existing f3 is still delivered to the output site, by a stage-out job at level 1000
    submit = tmp_path / "s" / "submit"
    (entry,) = read_json(submit / "00/00/stage_out_local_local_1000_0.in")
    assert entry["src_urls"][0]["url"] == "file:///data/f3"
    assert entry["dest_urls"][0]["url"] == f"file://{tmp_path}/s/wf-output/f3"


def test_reuse_keeps_jobs_when_a_needed_file_is_missing(
    write_yaml: WriteYaml, tmp_path: Path
) -> None:
    rc = "  - {lfn: f1, pfns: [{site: local, pfn: /data/f1}]}"
    wf = _chain(write_yaml, tmp_path, rc_extra=rc)
    ew = plan_file(wf, tmp_path / "s" / "submit", sites=["local"])
    names = {n.name for n in ew.nodes.values() if n.type.value == "compute"}
    assert names == {"step_B", "step_C"}  # A's output f1 exists: A is gone
    # B now reads f1 from the replica catalog, through a stage-in job
    d = dag_structure(tmp_path / "s" / "submit" / "chain-0.dag")
    staged = read_json(
        tmp_path / "s" / "submit" / d.jobs[d.named("stage_in_")[0]].replace(".sub", ".in")
    )
    assert [(e["lfn"], e["src_urls"][0]["url"]) for e in staged] == [("f1", "file:///data/f1")]


def test_force_and_scope_none_keep_every_job(write_yaml: WriteYaml, tmp_path: Path) -> None:
    rc = "  - {lfn: f3, pfns: [{site: local, pfn: /data/f3}]}"
    wf = _chain(write_yaml, tmp_path, rc_extra=rc)
    ew = plan_file(wf, tmp_path / "a" / "submit", sites=["local"], force=True)
    assert sum(n.type.value == "compute" for n in ew.nodes.values()) == 3
    ew = plan_file(
        wf,
        tmp_path / "b" / "submit",
        sites=["local"],
        properties={"pegasus.data.reuse.scope": "none"},
    )
    assert sum(n.type.value == "compute" for n in ew.nodes.values()) == 3


def test_reuse_reads_earlier_runs_output_replicas(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = _chain(write_yaml, tmp_path)
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "chain-0.replicas").write_text('f3 file:///out/f3 site="local"\n')
    ew = plan_file(wf, tmp_path / "s" / "submit", sites=["local"])
    assert sum(n.type.value == "compute" for n in ew.nodes.values()) == 3
    ew = plan_file(wf, tmp_path / "t" / "submit", sites=["local"], reuse=[earlier])
    assert sum(n.type.value == "compute" for n in ew.nodes.values()) == 0


# ---------------------------------------------------------------------- site selection


def _fan(write_yaml: WriteYaml, n: int, *, profiles: str = "{}", sites: str = "") -> Path:
    jobs = "\n".join(
        f"        - {{type: job, name: work, id: J{i}, arguments: [], profiles: {profiles},"
        f" uses: [{{lfn: o{i}, type: output}}]}}"
        for i in range(n)
    )
    return write_yaml(
        "fan.yml",
        f"""
        pegasus: "5.0"
        name: fan
        {sites}
        transformationCatalog:
          transformations:
          - name: work
            sites:
            - {{name: s1, pfn: /bin/true, type: installed}}
            - {{name: s2, pfn: /bin/true, type: installed}}
            - {{name: s3, pfn: /bin/true, type: installed}}
        jobs:
{jobs}
    """,
    )


SITES = """siteCatalog:
          sites:
          - {name: s1}
          - {name: s2}
          - {name: s3}"""


def test_round_robin_spreads_a_level_evenly(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = _fan(write_yaml, 9, sites=SITES)
    ew = plan_file(
        wf,
        tmp_path / "s" / "submit",
        write_files=False,
        properties={"pegasus.selector.site": "RoundRobin"},
    )
    per_site: dict[str, int] = {}
    for n in ew.nodes.values():
        if n.type.value == "compute":
            per_site[n.site] = per_site.get(n.site, 0) + 1
    assert per_site == {"s1": 3, "s2": 3, "s3": 3}


def test_selector_profile_pins_a_job_and_sites_option_limits_the_rest(
    write_yaml: WriteYaml, tmp_path: Path
) -> None:
    wf = _fan(write_yaml, 6, sites=SITES, profiles="{selector: {execution.site: s3}}")
    ew = plan_file(wf, tmp_path / "s" / "submit", write_files=False, sites=["s1"])
    assert {n.site for n in ew.nodes.values() if n.type.value == "compute"} == {"s3"}
    wf = _fan(write_yaml, 6, sites=SITES)
    ew = plan_file(wf, tmp_path / "t" / "submit", write_files=False, sites=["s1", "s2"])
    assert {n.site for n in ew.nodes.values() if n.type.value == "compute"} <= {"s1", "s2"}


# ---------------------------------------------------------------------- clustering


def _level(write_yaml: WriteYaml, n: int, pegasus: str) -> Path:
    jobs = "\n".join(
        f"        - {{type: job, name: work, id: J{i}, arguments: [{i}],"
        f" uses: [{{lfn: o{i}, type: output, stageOut: false}}]}}"
        for i in range(n)
    )
    return write_yaml(
        "level.yml",
        f"""
        pegasus: "5.0"
        name: level
        transformationCatalog:
          transformations:
          - name: work
            profiles: {{pegasus: {pegasus}}}
            sites: [{{name: local, pfn: /bin/echo, type: installed}}]
        jobs:
{jobs}
    """,
    )


@pytest.mark.parametrize(
    ("n", "pegasus", "sizes"),
    [
        (4, "{clusters.num: 3}", [2, 1, 1]),
        (4, "{clusters.size: 3}", [3, 1]),
        (7, "{clusters.size: 2, clusters.num: 2}", [4, 3]),  # num wins
        (3, "{clusters.size: 1}", [1, 1, 1]),
    ],
)
def test_horizontal_clustering_arithmetic(
    write_yaml: WriteYaml, tmp_path: Path, n: int, pegasus: str, sizes: list[int]
) -> None:
    wf = _level(write_yaml, n, pegasus)
    ew = plan_file(
        wf, tmp_path / "s" / "submit", sites=["local"], cluster=["horizontal"], force=True
    )
    got = sorted(
        (node.cluster_size for node in ew.nodes.values() if node.type.value == "compute"),
        reverse=True,
    )
    assert got == sizes
    for node in ew.nodes.values():
        if node.type.value == "compute" and node.cluster_size > 1:
            assert node.name.startswith("merge_work_PID0_ID")
            lite = read_json(tmp_path / "s" / "submit" / f"{node.dir}/{node.name}.lite.json")
            assert len(lite["tasks"]) == node.cluster_size
            assert [t["executable"] for t in lite["tasks"]] == ["/bin/echo"] * node.cluster_size
            from worker.lite import jobspec

            spec = jobspec.parse(lite)
            assert spec.tasks is not None and len(spec.tasks) == node.cluster_size


def test_label_clustering_groups_a_chain(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = _chain(write_yaml, tmp_path)
    text = wf.read_text().replace(
        "arguments: [f1, f2],", "arguments: [f1, f2], profiles: {pegasus: {label: p1}},"
    )
    text = text.replace(
        "arguments: [f2, f3],", "arguments: [f2, f3], profiles: {pegasus: {label: p1}},"
    )
    wf.write_text(text)
    ew = plan_file(wf, tmp_path / "s" / "submit", sites=["local"], cluster=["label"])
    compute = {n.name: n for n in ew.nodes.values() if n.type.value == "compute"}
    assert set(compute) == {"step_A", "merge_step_Pp1_ID1"}
    merged = compute["merge_step_Pp1_ID1"]
    assert merged.cluster_size == 2
    lite = read_json(tmp_path / "s" / "submit" / f"{merged.dir}/{merged.name}.lite.json")
    assert [t["job_id"] for t in lite["tasks"]] == ["B", "C"]  # topological order
    assert [i["lfn"] for i in lite["inputs"]] == ["f1"]  # f2 stays inside the cluster
    assert ("step_A", merged.name) in set(ew.edges())


# ---------------------------------------------------------------------- dagman attributes


def test_retry_from_properties_and_modes(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = _chain(write_yaml, tmp_path, job_profiles="{dagman: {retry: 5, priority: 77}}")
    ew = plan_file(wf, tmp_path / "a" / "submit", sites=["local"], properties={"dagman.retry": "3"})
    assert ew.nodes["step_A"].retry == 5  # the job's profile wins over properties
    assert ew.nodes["step_A"].priority == 77
    assert ew.nodes["step_B"].retry == 3
    assert ew.nodes["create_dir_chain_0_local"].retry == 3
    ew = plan_file(
        wf, tmp_path / "b" / "submit", sites=["local"], properties={"pegasus.mode": "development"}
    )
    assert ew.nodes["step_B"].retry == 0
    sub = parse_sub(tmp_path / "b" / "submit" / ew.nodes["step_B"].sub_path)
    assert sub["periodic_remove"].endswith("> 30)")  # held jobs go after 30 s in development
    lite = read_json(tmp_path / "b" / "submit" / f"{ew.nodes['step_B'].dir}/step_B.lite.json")
    assert lite["integrity"] == "none"


def test_category_maxjobs_lines(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = _chain(write_yaml, tmp_path, job_profiles="{dagman: {category: heavy}}")
    ew = plan_file(
        wf,
        tmp_path / "s" / "submit",
        sites=["local"],
        properties={"dagman.heavy.maxjobs": "2", "dagman.stagein.maxjobs": "3"},
    )
    d = dag_structure(tmp_path / "s" / "submit" / "chain-0.dag")
    assert d.category["step_A"] == "heavy"
    assert d.maxjobs == {"registration": 1, "stagein": 3, "cleanup": 4, "stageout": 10, "heavy": 2}
    assert ew.maxjobs["heavy"] == 2


def test_inplace_cleanup_runs_after_every_user_of_a_file(
    write_yaml: WriteYaml, tmp_path: Path
) -> None:
    wf = _chain(write_yaml, tmp_path)
    submit = tmp_path / "s" / "submit"
    plan_file(wf, submit, sites=["local"])
    d = dag_structure(submit / "chain-0.dag")
    removed: dict[str, str] = {}
    for n in d.named("clean_up_"):
        assert d.category[n] == "cleanup" and d.priority[n] == 1000
        for e in read_json(submit / d.jobs[n].replace(".sub", ".in")):
            removed[e["target"]["url"].rsplit("/", 1)[1]] = n
    assert set(removed) == {"f0", "f1", "f2", "f3"}
    # f1 is written by A and read by B: its cleanup must follow both
    assert {"step_A", "step_B"} <= ancestors(d, removed["f1"])
    # f3 is staged out: its cleanup must follow the stage-out job
    assert set(d.named("stage_out_")) <= ancestors(d, removed["f3"])
    plan_file(wf, tmp_path / "n" / "submit", sites=["local"], cleanup="none")
    assert not dag_structure(tmp_path / "n" / "submit" / "chain-0.dag").named("clean")


def test_stage_in_bundling_ceil_n_over_10_per_level(write_yaml: WriteYaml, tmp_path: Path) -> None:
    n = 25
    for i in range(n):
        (tmp_path / f"in{i}").write_text(str(i))
    reps = "\n".join(
        f"          - {{lfn: in{i}, pfns: [{{site: local, pfn: {tmp_path}/in{i}}}]}}"
        for i in range(n)
    )
    jobs = "\n".join(
        f"        - {{type: job, name: work, id: J{i}, arguments: [],"
        f" uses: [{{lfn: in{i}, type: input}}, {{lfn: o{i}, type: output}}]}}"
        for i in range(n)
    )
    wf = write_yaml(
        "bundle.yml",
        f"""
        pegasus: "5.0"
        name: bundle
        replicaCatalog:
          replicas:
{reps}
        transformationCatalog:
          transformations:
          - name: work
            sites: [{{name: local, pfn: /bin/true, type: installed}}]
        jobs:
{jobs}
    """,
    )
    submit = tmp_path / "s" / "submit"
    plan_file(wf, submit, sites=["local"])
    d = dag_structure(submit / "bundle-0.dag")
    assert d.named("stage_in_") == [f"stage_in_local_local_0_{i}" for i in range(3)]
    assert d.named("stage_out_") == [f"stage_out_local_local_0_{i}" for i in range(3)]
    assert d.named("register_") == [f"register_local_0_{i}" for i in range(3)]
    files = [
        len(read_json(submit / d.jobs[s].replace(".sub", ".in"))) for s in d.named("stage_in_")
    ]
    assert files == [9, 8, 8]  # dealt round-robin
    # every job waits for exactly the stage-in job holding its input
    for i in range(n):
        assert d.parents(f"work_J{i}") & set(d.named("stage_in_")) == {
            f"stage_in_local_local_0_{i % 3}"
        }


def test_inter_site_transfer_between_staging_sites(write_yaml: WriteYaml, tmp_path: Path) -> None:
    dirs = {s: tmp_path / f"{s}-scratch" for s in ("s1", "s2")}
    site_entries = "\n".join(
        f"""          - name: {s}
            directories:
            - {{type: sharedScratch, path: {d}, fileServers: [{{url: "file://{d}"}}]}}"""
        for s, d in dirs.items()
    )
    (tmp_path / "f0").write_text("zero\n")
    wf = write_yaml(
        "two.yml",
        f"""
        pegasus: "5.0"
        name: two
        siteCatalog:
          sites:
{site_entries}
        replicaCatalog:
          replicas:
          - {{lfn: f0, pfns: [{{site: local, pfn: {tmp_path}/f0}}]}}
        transformationCatalog:
          transformations:
          - name: step
            sites:
            - {{name: s1, pfn: /bin/cp, type: installed}}
            - {{name: s2, pfn: /bin/cp, type: installed}}
        jobs:
        - {{type: job, name: step, id: A, arguments: [f0, f1],
           profiles: {{selector: {{execution.site: s1}}}},
           uses: [{{lfn: f0, type: input}}, {{lfn: f1, type: output, stageOut: false}}]}}
        - {{type: job, name: step, id: B, arguments: [f1, f2],
           profiles: {{selector: {{execution.site: s2}}}},
           uses: [{{lfn: f1, type: input}}, {{lfn: f2, type: output}}]}}
    """,
    )
    submit = tmp_path / "s" / "submit"
    plan_file(wf, submit, properties={"pegasus.data.configuration": "nonsharedfs"})
    d = dag_structure(submit / "two-0.dag")
    (inter,) = d.named("stage_inter_")
    assert inter == "stage_inter_local_step_B_0"
    assert d.parents(inter) >= {"step_A"} and "step_B" in d.children(inter)
    (entry,) = read_json(submit / d.jobs[inter].replace(".sub", ".in"))
    assert entry["src_urls"][0] == {"site_label": "s1", "url": f"file://{dirs['s1']}/submit/f1"}
    assert entry["dest_urls"][0] == {"site_label": "s2", "url": f"file://{dirs['s2']}/submit/f1"}
    assert set(d.named("create_dir_")) == {"create_dir_two_0_s1", "create_dir_two_0_s2"}
    lite_b = read_json(submit / d.jobs["step_B"].replace(".sub", ".lite.json"))
    assert lite_b["inputs"][0]["urls"] == [f"file://{dirs['s2']}/submit/f1"]
