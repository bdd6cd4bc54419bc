"""The spec models as Python code uses them: built by field name, frozen, helpers."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from planner.loader import loads_workflow
from planner.spec import Job, PegasusWorkflowJob, Profiles, Use, Workflow, transformation_key


def test_models_are_built_by_field_name_and_validated() -> None:
    use = Use(lfn="f", type="output", stage_out=False)
    assert (use.stage_out, use.register_replica, use.is_output, use.is_input) == (
        False,
        True,
        True,
        False,
    )
    with pytest.raises(ValidationError):
        Use(lfn="f", type="inptu")  # type: ignore[arg-type]
    job = Job(id="a", name="t", arguments=("x",), uses=(use, Use(lfn="g", type="input")))
    assert [u.lfn for u in job.inputs] == ["g"] and [u.lfn for u in job.outputs] == ["f"]
    wf = Workflow(pegasus="5.0", name="w", jobs=(job,))
    assert wf.jobs[0] is job and wf.job_dependencies == () and wf.site_catalog is None


def test_models_are_frozen() -> None:
    use = Use(lfn="f", type="input")
    with pytest.raises(dataclasses.FrozenInstanceError):
        use.lfn = "g"  # type: ignore[misc]
    with pytest.raises(TypeError):
        use.metadata["k"] = "v"  # type: ignore[index]


def test_checkpoint_and_inout_semantics() -> None:
    assert (
        Use(lfn="c", type="checkpoint").is_output and not Use(lfn="c", type="checkpoint").is_input
    )
    inout = Use(lfn="x", type="inout")
    assert inout.is_input and inout.is_output
    assert not Use(lfn="n", type="none").is_input and not Use(lfn="n", type="none").is_output


def test_profiles_helpers_and_hints_alias() -> None:
    p = Profiles(hints={"executionPool": "cluster", "pfnHint": "/bin/x"}, env={"A": "1"})
    assert p.selector_value("execution.site") == "cluster"
    assert p.selector_value("pfn") == "/bin/x"
    assert (
        Profiles(selector={"execution.site": "s"}, hints={"executionPool": "h"}).selector_value(
            "execution.site"
        )
        == "s"
    )
    assert p.items() == [
        ("env", "A", "1"),
        ("hints", "executionPool", "cluster"),
        ("hints", "pfnHint", "/bin/x"),
    ]
    assert p.namespace("env") == {"A": "1"} and Profiles().is_empty() and not p.is_empty()
    with pytest.raises(KeyError):
        p.namespace("nope")


def test_transformation_keys() -> None:
    assert transformation_key(None, "t", None) == "t"
    assert transformation_key("ns", "t", "1.0") == "ns::t:1.0"
    assert Job(id="a", name="t", version="2", arguments=(), uses=()).transformation_key == "t:2"


def test_yaml_normalisations() -> None:
    wf = loads_workflow(
        "pegasus: 5.0\nname: w\nversion: 1.2\nprofiles: {dagman: {retry: 2}, condor: {x: 1.5}}\n"
        "metadata: {n: 3}\n"
        "jobs:\n- {type: pegasusWorkflow, id: s, file: sub.yml, arguments: [--sites, 1],\n"
        "   uses: [{lfn: sub.yml, type: input}]}\n"
    )
    assert (wf.pegasus, wf.version) == ("5.0", "1.2")
    assert wf.profiles.dagman == {"RETRY": "2"} and wf.profiles.condor == {"x": "1.5"}
    assert wf.metadata == {"n": "3"}
    sub = wf.jobs[0]
    assert isinstance(sub, PegasusWorkflowJob) and sub.arguments == ("--sites", "1")
    assert sub.uses[0].for_planning  # the sub-workflow file is for planning, as in Pegasus
