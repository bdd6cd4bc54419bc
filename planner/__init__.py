"""Aerie's planner: Pegasus 5.0 workflows + catalogs → an HTCondor DAGMan submit directory.

Library use::

    from planner import PlanOptions, plan, write
    from planner.inputs import load_inputs

    inputs = load_inputs("workflow.yml")
    ew = plan(inputs, PlanOptions(submit_dir=Path("submit")))
    write(ew)

The planner is pure: it imports nothing of the gateway or the worker (checked by import-linter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.compile import PlanOptions
    from planner.dag import ExecutableWorkflow

__all__ = [
    "PlanInputs",
    "PlanOptions",
    "PlannerError",
    "PlanningError",
    "Problem",
    "SpecError",
    "check",
    "load_inputs",
    "load_workflow",
    "loads_workflow",
    "plan",
    "write",
]

_INPUT_API = {
    "PlanInputs": "planner.inputs",
    "load_inputs": "planner.inputs",
    "check": "planner.checks",
    "load_workflow": "planner.loader",
    "loads_workflow": "planner.loader",
    "PlannerError": "planner.errors",
    "PlanningError": "planner.errors",
    "Problem": "planner.errors",
    "SpecError": "planner.errors",
}
"""Input side (loading and checking), imported on first use like the rest of this module."""


def plan(inputs: Any, options: PlanOptions, **kwargs: Any) -> ExecutableWorkflow:
    """Compile a workflow into an executable workflow for ``options.submit_dir``.

    ``inputs`` is a ``planner.inputs.PlanInputs`` (catalogs and properties taken from it) or a
    ``planner.spec.Workflow`` (then pass ``replica_catalogs=``, ``transformation_catalogs=``,
    ``site_catalogs=`` and ``properties=`` as keywords).
    """
    from planner.compile import plan as _plan
    from planner.spec import Workflow

    if isinstance(inputs, Workflow):
        return _plan(inputs, options=options, **kwargs)
    cats = inputs.catalogs
    if options.workflow_file is None and inputs.files.get("workflow"):
        options.workflow_file = str(inputs.files["workflow"][0])
    return _plan(
        inputs.workflow,
        options=options,
        replica_catalogs=list(cats.replicas.catalogs),
        transformation_catalogs=list(cats.transformations.catalogs),
        site_catalogs=list(cats.sites.catalogs),
        properties=dict(inputs.properties.values),
    )


def write(ew: ExecutableWorkflow, submit_dir: Any = None) -> Any:
    """Write the submit directory of ``ew`` (to ``ew.submit_dir`` unless told otherwise)."""
    from planner.writer import write as _write

    return _write(ew, submit_dir)


def __getattr__(name: str) -> Any:
    if name == "PlanOptions":
        from planner.compile import PlanOptions

        return PlanOptions
    if name in _INPUT_API:
        import importlib

        return getattr(importlib.import_module(_INPUT_API[name]), name)
    raise AttributeError(name)
