"""`/graph`, `/statistics` and `/analysis` of a run (pegasus-statistics / -analyzer figures)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from gateway.api.scopes import ERRORS, CanRead
from gateway.deps import SessionDep
from gateway.errors import Conflict
from gateway.schemas.runs import Graph
from gateway.services import provenance, run_details, statistics, statistics_text
from gateway.services.run_layout import root_workflow
from gateway.services.runs import get_run_for_user_or_404

router = APIRouter(prefix="/workflows/{run_id}", tags=["reports"], responses=ERRORS)

_NOT_YET = "run {} has no provenance yet (it has not been planned and monitored)"


@router.get("/graph", response_model=Graph)
def read_graph(run_id: str, principal: CanRead, session: SessionDep) -> Graph:
    """The executable workflow: DAG nodes (with state) and PARENT/CHILD edges."""
    run = get_run_for_user_or_404(session, principal.user, run_id)
    return Graph(**run_details.graph(session, run))


@router.get("/statistics", response_model=None, responses={409: {}})
def read_statistics(
    run_id: str,
    principal: CanRead,
    session: SessionDep,
    format: str = Query(default="json", pattern="^(json|text)$"),
) -> Any:
    """pegasus-statistics' summary and per-transformation breakdown (`format=text`: the
    summary as pegasus-statistics prints it)."""
    run = get_run_for_user_or_404(session, principal.user, run_id)
    wf = root_workflow(session, run)
    if wf is None:
        raise Conflict(_NOT_YET.format(run.id))
    summary = statistics.summary(session, wf.wf_id)
    if format == "text":
        return PlainTextResponse(statistics_text.render_summary(summary))
    wf_ids = run_details.workflow_ids(session, run)
    return {
        "summary": summary.to_dict(),
        "transformations": [
            vars(row) for row in statistics.transformation_statistics(session, wf_ids)
        ],
    }


@router.get("/analysis", response_model=None, responses={409: {}})
def read_analysis(
    run_id: str,
    principal: CanRead,
    session: SessionDep,
    format: str = Query(default="json", pattern="^(json|text)$"),
) -> Any:
    """pegasus-analyzer: what failed or is held, with the failing tasks' output."""
    run = get_run_for_user_or_404(session, principal.user, run_id)
    wf = root_workflow(session, run)
    if wf is None:
        raise Conflict(_NOT_YET.format(run.id))
    analysis = provenance.analyze(session, wf.wf_id)
    if format == "text":
        return PlainTextResponse(provenance.render_analysis(analysis))
    result: dict[str, Any] = analysis.to_dict()
    return result
