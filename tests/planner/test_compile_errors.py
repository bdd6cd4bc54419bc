"""Bad input that only planning can find: each error names the file, job or option at fault."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from plan_helpers import plan_file

from planner.compile import PlanOptions, parse_staging_sites
from planner.errors import PlanningError

WriteYaml = Callable[[str, str], Path]

BASE = """
    pegasus: "5.0"
    name: bad
    replicaCatalog:
      replicas:
      - {{lfn: in, pfns: [{{site: local, pfn: /etc/hostname}}]}}
    transformationCatalog:
      transformations:
      - name: work
        sites: [{{name: local, pfn: /bin/true, type: installed}}]
    {extra}
    jobs:
    {jobs}
"""
ONE_JOB = "- {type: job, name: work, id: A, arguments: [], uses: [{lfn: in, type: input}]}"


def _plan_error(path: Path, tmp_path: Path, **options: object) -> str:
    with pytest.raises(PlanningError) as info:
        plan_file(path, tmp_path / "s" / "submit", write_files=False, **options)
    (problem,) = info.value.problems
    return str(problem)


def test_unknown_transformation_names_the_job_and_file(
    write_yaml: WriteYaml, tmp_path: Path
) -> None:
    wf = write_yaml(
        "wf.yml",
        BASE.format(
            extra="", jobs=("- {type: job, name: nothere, id: A, arguments: [], uses: []}")
        ),
    )
    msg = _plan_error(wf, tmp_path, sites=["local"])
    assert msg.startswith(f"{wf}: jobs[A]: transformation 'nothere' is not in the")


NO_SITE = (
    "jobs[A]: transformation 'work' cannot run on any of the sites {pool} (the transformation "
    "catalog has no installed entry there and no compatible stageable entry); {remedy}"
)


def test_no_site_can_run_the_job_says_where_it_can(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = write_yaml("wf.yml", BASE.format(extra="", jobs=ONE_JOB))
    msg = _plan_error(wf, tmp_path)  # default candidate: condorpool, where `work` is not installed
    remedy = "it is installed on: local; add --sites local"
    assert msg == f"{wf}: " + NO_SITE.format(pool="condorpool", remedy=remedy)

    msg = _plan_error(wf, tmp_path, sites=["condorpool"])  # chosen by the user: extend the choice
    remedy = "it is installed on: local; add local to --sites (--sites condorpool,local)"
    assert msg == f"{wf}: " + NO_SITE.format(pool="condorpool", remedy=remedy)

    pinned = ONE_JOB.replace("arguments: []", "arguments: [], profiles: {selector: "
                             "{execution.site: condorpool}}")  # fmt: skip
    msg = _plan_error(write_yaml("pin.yml", BASE.format(extra="", jobs=pinned)), tmp_path)
    remedy = "it is installed on: local; change the job's profile selector.execution.site "
    assert msg.endswith(NO_SITE.format(pool="condorpool", remedy=remedy + "('condorpool')"))


def test_a_transformation_on_no_usable_site_says_to_add_one(
    write_yaml: WriteYaml, tmp_path: Path
) -> None:
    text = BASE.replace("name: local, pfn: /bin/true, type: installed",
                        "name: local, pfn: /bin/true, type: installed, arch: ppc64le")  # fmt: skip
    stageable = text.replace("type: installed", "type: stageable")
    wf = write_yaml("wf.yml", stageable.format(extra="", jobs=ONE_JOB))
    msg = _plan_error(wf, tmp_path)
    remedy = ("no site in the site catalog can run it: add an installed entry for one of your "
              "sites (or a stageable one) to the transformation catalog")  # fmt: skip
    assert msg == f"{wf}: " + NO_SITE.format(pool="condorpool", remedy=remedy)


def test_missing_input_names_the_file(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = write_yaml(
        "wf.yml",
        BASE.format(
            extra="",
            jobs=(
                "- {type: job, name: work, id: A, arguments: [], uses: [{lfn: ghost, type: input}]}"
            ),
        ),
    )
    msg = _plan_error(wf, tmp_path, sites=["local"])
    assert "jobs[A].uses[ghost]: input file 'ghost' is not in the replica catalog" in msg


def test_optional_missing_input_is_dropped(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = write_yaml(
        "wf.yml",
        BASE.format(
            extra="",
            jobs=(
                "- {type: job, name: work, id: A, arguments: [], uses: [{lfn: ghost, type: input, "
                "optional: true}, {lfn: out, type: output}]}"
            ),
        ),
    )
    ew = plan_file(wf, tmp_path / "s" / "submit", sites=["local"], write_files=False)
    assert ew.nodes["work_A"].payload["inputs"] == []


def test_staging_site_rules_per_data_configuration(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = write_yaml("wf.yml", BASE.format(extra="", jobs=ONE_JOB))
    msg = _plan_error(wf, tmp_path, sites=["local"], staging_sites={"local": "elsewhere"})
    assert "--staging-site: in condorio the staging site is always local" in msg
    msg = _plan_error(
        wf,
        tmp_path,
        sites=["local"],
        staging_sites={"*": "condorpool"},
        properties={"pegasus.data.configuration": "sharedfs"},
    )
    assert "--staging-site: in sharedfs the staging site is the execution site" in msg
    msg = _plan_error(
        wf,
        tmp_path,
        sites=["local"],
        staging_sites={"*": "condorpool"},
        properties={"pegasus.data.configuration": "nonsharedfs"},
    )
    assert "sites[condorpool].directories: site 'condorpool' has no sharedScratch" in msg
    msg = _plan_error(
        wf, tmp_path, sites=["local"], properties={"pegasus.data.configuration": "s3fs"}
    )
    assert "pegasus.data.configuration: unknown data configuration 's3fs'" in msg


def test_bad_options_and_properties(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = write_yaml("wf.yml", BASE.format(extra="", jobs=ONE_JOB))
    msg = _plan_error(wf, tmp_path, sites=["nowhere"])
    assert msg.endswith("--sites: site 'nowhere' is not in the site catalog")
    msg = _plan_error(wf, tmp_path, sites=["local"], output_sites=["mars"])
    assert "--output-sites: site 'mars' is not in the site catalog" in msg
    msg = _plan_error(wf, tmp_path, sites=["local"], cluster=["vertical"])
    assert "--cluster: unknown clustering 'vertical'" in msg
    msg = _plan_error(wf, tmp_path, sites=["local"], properties={"pegasus.selector.site": "Heft"})
    assert "pegasus.selector.site: unsupported site selector 'heft'" in msg
    with pytest.raises(PlanningError, match="--cleanup: unknown cleanup strategy 'some'"):
        PlanOptions(submit_dir=tmp_path, cleanup="some")
    with pytest.raises(PlanningError, match="--staging-site: expected exec=staging"):
        parse_staging_sites(["a="])
    assert parse_staging_sites(["a=b,c=d", "e"]) == {"a": "b", "c": "d", "*": "e"}


def test_bad_profile_values(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = write_yaml(
        "wf.yml",
        BASE.format(
            extra="",
            jobs=(
                "- {type: job, name: work, id: A, arguments: [], uses: [{lfn: in, type: input}],"
                " profiles: {dagman: {retry: many}}}"
            ),
        ),
    )
    msg = _plan_error(wf, tmp_path, sites=["local"])
    assert "jobs[A].profiles.dagman.retry: expected an integer, got 'many'" in msg
    wf = write_yaml(
        "wf2.yml",
        BASE.format(
            extra="",
            jobs=(
                "- {type: job, name: work, id: A, arguments: [], uses: [{lfn: in, type: input}],"
                " profiles: {pegasus: {memory: lots}}}"
            ),
        ),
    )
    msg = _plan_error(wf, tmp_path, sites=["local"])
    assert "jobs[A].profiles.pegasus.memory: expected a number, got 'lots'" in msg


def test_unavailable_sub_workflow_file(write_yaml: WriteYaml, tmp_path: Path) -> None:
    wf = write_yaml(
        "wf.yml",
        BASE.format(
            extra="",
            jobs=("- {type: pegasusWorkflow, file: inner.yml, id: S, arguments: [], uses: []}"),
        ),
    )
    msg = _plan_error(wf, tmp_path, sites=["local"])
    assert "jobs[S].file: sub-workflow file 'inner.yml' must be in the replica catalog" in msg


def test_unknown_sub_workflow_argument(write_yaml: WriteYaml, tmp_path: Path) -> None:
    inner = write_yaml("inner.yml", BASE.format(extra="", jobs=ONE_JOB))
    wf = write_yaml(
        "wf.yml",
        f"""
        pegasus: "5.0"
        name: outer
        replicaCatalog:
          replicas:
          - {{lfn: inner.yml, pfns: [{{site: local, pfn: {inner}}}]}}
        jobs:
        - {{type: pegasusWorkflow, file: inner.yml, id: S, arguments: [--randomdir], uses: []}}
    """,
    )
    msg = _plan_error(wf, tmp_path, sites=["local"])
    assert "jobs[S].arguments: unsupported pegasus-plan argument '--randomdir'" in msg
