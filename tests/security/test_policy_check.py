"""planner.policy: what a confined user's documents may name, on real files and symlinks.

Each case loads real documents with the planner's loader and checks them against a policy whose
data dir, input root and user area are real directories, so symlinks and `..` are resolved as
they would be on a server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from planner.errors import Problem
from planner.inputs import load_inputs
from planner.policy import SitePolicy, check_policy

WF = """\
pegasus: '5.0'
name: wf
jobs:
- type: job
  name: tool
  id: ID1
  arguments: [f.in]
  uses:
  - {lfn: f.in, type: input}
"""


@dataclass
class Place:
    root: Path
    data: Path
    inputs: Path
    mine: Path
    docs: Path
    policy: SitePolicy

    def problems(
        self,
        replicas: str = "",
        transformations: str = "",
        sites: str = "",
        props: str = "",
        workflow: str = WF,
    ) -> list[Problem]:
        docs = self.docs
        docs.mkdir(exist_ok=True)
        (docs / "workflow.yml").write_text(workflow)
        tc = transformations or (
            "pegasus: '5.0'\ntransformations:\n- name: tool\n  sites:\n"
            "  - {name: local, pfn: /usr/bin/wc, type: installed}\n"
        )
        rc = replicas or (
            f"pegasus: '5.0'\nreplicas:\n- lfn: f.in\n  pfns:\n"
            f"  - {{site: local, pfn: 'file://{self.inputs}/f.in'}}\n"
        )
        (docs / "transformations.yml").write_text(tc)
        (docs / "replicas.yml").write_text(rc)
        if sites:
            (docs / "sites.yml").write_text(sites)
        if props:
            (docs / "pegasus.properties").write_text(props)
        inputs = load_inputs(
            docs / "workflow.yml",
            properties=docs / "pegasus.properties" if props else None,
            sites=["local"],
            run_checks=False,
        )
        cats = inputs.catalogs
        return check_policy(
            inputs.workflow,
            cats.replicas.catalogs,
            cats.transformations.catalogs,
            cats.sites.catalogs,
            dict(inputs.properties.values),
            self.policy,
            properties_file=str(docs / "pegasus.properties") if props else None,
        )


@pytest.fixture
def place(tmp_path: Path) -> Place:
    data = tmp_path / "data"
    mine = data / "users" / "7"
    inputs = tmp_path / "shared-inputs"
    for d in (data, mine, inputs):
        d.mkdir(parents=True)
    (data / "secret_key").write_text("s3cret\n")
    (inputs / "f.in").write_text("x\n")
    policy = SitePolicy(
        read_roots=(inputs, data.parent),  # an allowed root that contains the data dir
        executable_roots=(Path("/usr/bin"), Path("/bin")),
        own_roots=(mine,),
        protected=(data,),
    )
    return Place(tmp_path, data, inputs, mine, tmp_path / "docs", policy)


def _rc(pfn: str, regex: bool = False) -> str:
    extra = "\n  regex: true" if regex else ""
    head = f"pegasus: '5.0'\nreplicas:\n- lfn: f.in{extra}\n"
    return head + f"  pfns:\n  - {{site: local, pfn: '{pfn}'}}\n"


def test_allowed_inputs_and_programs_pass(place: Place) -> None:
    assert place.problems() == []
    (place.mine / "own.txt").write_text("y")
    assert place.problems(replicas=_rc(f"{place.mine}/own.txt")) == []
    assert place.problems(replicas=_rc("https://example.org/f.in")) == []


def test_a_file_outside_the_roots_is_named_with_file_line_and_field(place: Place) -> None:
    problems = place.problems(replicas=_rc("file:///etc/shadow"))

    assert [str(p) for p in problems] == [
        f"{place.docs}/replicas.yml:5: replicas[0].pfns[0].pfn: file:///etc/shadow is outside "
        "the directories you may read"
    ]
    assert problems[0].code == "policy"


@pytest.mark.parametrize(
    "pfn",
    [
        "{data}/secret_key",
        "file://{data}/aerie.db",
        "file://{inputs}/../data/secret_key",
        "{data}/users/8/their.txt",
        "file://{inputs}/link-to-secret",
        "file://{mine}/../8/x",
    ],
)
def test_the_data_dir_is_refused_even_under_an_allowed_root(place: Place, pfn: str) -> None:
    (place.inputs / "link-to-secret").symlink_to(place.data / "secret_key")
    value = pfn.format(data=place.data, inputs=place.inputs, mine=place.mine)

    problems = place.problems(replicas=_rc(value))

    assert len(problems) == 1, problems
    assert "outside the directories you may read" in problems[0].message


def test_a_symlink_in_the_users_own_area_pointing_out_is_refused(place: Place) -> None:
    (place.mine / "escape").symlink_to("/etc/passwd")
    assert place.problems(replicas=_rc(f"file://{place.mine}/escape"))


def test_url_schemes_and_regex_templates(place: Place) -> None:
    assert (
        "scheme 'gsiftp' is not allowed"
        in place.problems(replicas=_rc("gsiftp://host/f"))[0].message
    )
    assert place.problems(replicas=_rc(f"file://{place.inputs}/[0]", regex=True)) == []
    assert place.problems(replicas=_rc(f"file://{place.data}/[0]", regex=True))
    assert place.problems(replicas=_rc("file://otherhost/etc/x"))


def test_executables_must_live_under_the_executable_roots(place: Place) -> None:
    evil = place.inputs / "evil.sh"
    evil.write_text("#!/bin/sh\n")
    tc = (
        "pegasus: '5.0'\ntransformations:\n- name: tool\n  sites:\n"
        f"  - {{name: local, pfn: {evil}, type: installed}}\n"
        f"  - {{name: other, pfn: 'file://{place.mine}/tool', type: stageable}}\n"
        f"  - {{name: third, pfn: 'file://{place.data}/secret_key', type: stageable}}\n"
    )
    problems = place.problems(transformations=tc)

    paths = [p.path for p in problems]
    assert paths == ["transformations[0].sites[0].pfn", "transformations[0].sites[2].pfn"]
    assert "allowed: /usr/bin, /bin" in problems[0].message


def test_stageable_programs_from_the_own_area_follow_the_setting(place: Place) -> None:
    tc = (
        "pegasus: '5.0'\ntransformations:\n- name: tool\n  sites:\n"
        f"  - {{name: local, pfn: 'file://{place.mine}/tool', type: stageable}}\n"
    )
    assert place.problems(transformations=tc) == []
    place.policy = SitePolicy(
        **{**place.policy.__dict__, "allow_own_executables": False, "_resolved": {}}
    )
    assert place.problems(transformations=tc)


def test_condor_profiles_that_choose_programs_or_files_are_refused(place: Place) -> None:
    tc = (
        "pegasus: '5.0'\ntransformations:\n- name: tool\n"
        "  profiles:\n    condor: {request_memory: '100', +Project: '\"x\"',"
        " initialdir: /, transfer_input_files: /etc/shadow}\n    dagman: {POST: /bin/sh}\n"
        "  sites:\n  - {name: local, pfn: /usr/bin/wc, type: installed}\n"
    )
    problems = place.problems(transformations=tc, props="condor.universe = local\n")

    found = sorted(p.path for p in problems)
    assert found == [
        "condor.universe",
        "transformations[0].profiles.condor.initialdir",
        "transformations[0].profiles.condor.transfer_input_files",
        "transformations[0].profiles.dagman.POST",
    ]
    props = next(p for p in problems if p.path == "condor.universe")
    assert props.line == 1 and props.file and props.file.endswith("pegasus.properties")


def test_site_directories_and_container_mounts_need_write_access(place: Place) -> None:
    sites = (
        "pegasus: '5.0'\nsites:\n- name: local\n  directories:\n"
        f"  - type: sharedScratch\n    path: {place.mine}/scratch\n"
        f"    fileServers: [{{url: 'file://{place.mine}/scratch', operation: all}}]\n"
        f"  - type: sharedStorage\n    path: {place.inputs}/out\n"
        f"    fileServers: [{{url: 'file://{place.data}', operation: all}}]\n"
    )
    tc = (
        "pegasus: '5.0'\ntransformations:\n- name: tool\n  sites:\n"
        "  - {name: local, pfn: /usr/bin/wc, type: installed, container: c}\n"
        "containers:\n- name: c\n  type: singularity\n  image: 'docker://centos:7'\n"
        f"  mounts: ['{place.inputs}:/in:ro', '/etc:/etc', '{place.data}:/d:ro']\n"
    )
    problems = place.problems(sites=sites, transformations=tc)

    assert sorted(p.path for p in problems) == [
        "containers[0].mounts[1]",
        "containers[0].mounts[2]",
        "sites[0].directories[1].fileServers[0].url",
        "sites[0].directories[1].path",
    ]


def test_raw_dags_and_sub_workflows(place: Place, tmp_path: Path) -> None:
    inner = place.inputs / "inner.yml"
    inner.write_text(
        "pegasus: '5.0'\nname: inner\nreplicaCatalog:\n  replicas:\n  - lfn: g\n    pfns:\n"
        "    - {site: local, pfn: /etc/shadow}\njobs:\n- type: job\n  name: tool\n  id: J1\n"
        "  arguments: []\n  uses: []\n"
    )
    docs = place.docs
    docs.mkdir()
    (docs / "workflow.yml").write_text(
        "pegasus: '5.0'\nname: outer\njobs:\n"
        "- {type: condorWorkflow, file: x.dag, id: D1, arguments: [], uses: []}\n"
        "- {type: pegasusWorkflow, file: inner.yml, id: P1, arguments: [],"
        " uses: [{lfn: inner.yml, type: input}]}\n"
        "replicaCatalog:\n  replicas:\n"
        f"  - {{lfn: inner.yml, pfns: [{{site: local, pfn: '{inner}'}}]}}\n"
    )
    inputs = load_inputs(docs / "workflow.yml", run_checks=False, discover=False)
    cats = inputs.catalogs
    problems = check_policy(
        inputs.workflow,
        cats.replicas.catalogs,
        cats.transformations.catalogs,
        cats.sites.catalogs,
        {},
        place.policy,
    )

    assert [(Path(p.file or "").name, p.line, p.path) for p in problems] == [
        ("workflow.yml", 4, "jobs[0].type"),
        ("inner.yml", 7, "replicaCatalog.replicas[0].pfns[0].pfn"),
    ]
    assert os.path.isfile(inner)


def test_profiles_that_pin_a_program_or_add_container_options_are_checked(
    place: Place,
) -> None:
    workflow = (
        WF
        + "  profiles:\n    selector: {pfn: /tmp/evil}\n"
        + "    pegasus: {container.arguments: '-v /:/host'}\n"
        + "- type: job\n  name: tool\n  id: ID2\n  arguments: []\n  uses: []\n"
        + "  profiles: {selector: {pfn: /usr/bin/wc}}\n"
    )
    problems = place.problems(workflow=workflow)

    assert [(p.line, p.path) for p in problems] == [
        (11, "jobs[0].profiles.selector.pfn"),
        (12, "jobs[0].profiles.pegasus.container.arguments"),
    ]


def test_file_names_cannot_climb_out_of_staging_directories(place: Place) -> None:
    workflow = WF.replace("arguments: [f.in]", "arguments: []\n  stdout: /tmp/x").replace(
        "  - {lfn: f.in, type: input}",
        "  - {lfn: f.in, type: input}\n  - {lfn: ../../secret_key, type: output}\n"
        "  - {lfn: deep/ok.txt, type: output}",
    )
    problems = place.problems(workflow=workflow)

    assert [p.path for p in problems] == ["jobs[0].uses[1].lfn", "jobs[0].stdout"]
