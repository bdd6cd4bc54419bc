"""`/api/v1/workflows/{id}/jobs`: the run's jobs, and one job with all its attempts."""

from __future__ import annotations

from fastapi import APIRouter, Query

from gateway.api.scopes import ERRORS, CanRead
from gateway.deps import SessionDep
from gateway.schemas.runs import JobDetail, JobList, JobPublic
from gateway.services import run_details
from gateway.services.runs import get_run_for_user_or_404

router = APIRouter(prefix="/workflows/{run_id}/jobs", tags=["jobs"], responses=ERRORS)


def _public(run_id: str, s: run_details.JobSummary) -> JobPublic:
    return JobPublic(
        name=s.job.exec_job_id,
        type=s.job.type_desc,
        state=s.state,
        transformation=s.transformation,
        retries=s.retries,
        exitcode=s.exitcode,
        site=s.site,
        links={"self": f"/api/v1/workflows/{run_id}/jobs/{s.job.exec_job_id}"},
    )


@router.get("", response_model=JobList)
def list_jobs(
    run_id: str,
    principal: CanRead,
    session: SessionDep,
    state: str | None = Query(default=None, description=", ".join(run_details.JOB_STATES)),
    type: str | None = Query(default=None, description="compute, stage-in-tx, ..."),
    transformation: str | None = None,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> JobList:
    """The run's DAG nodes with their current state (from the provenance rows)."""
    run = get_run_for_user_or_404(session, principal.user, run_id)
    rows, next_cursor = run_details.list_jobs(
        session,
        run,
        state=state,
        type_=type,
        transformation=transformation,
        cursor=cursor,
        limit=limit,
    )
    return JobList(data=[_public(run.id, r) for r in rows], next_cursor=next_cursor)


@router.get("/{job}", response_model=JobDetail)
def read_job(run_id: str, job: str, principal: CanRead, session: SessionDep) -> JobDetail:
    """One job: every attempt with its states, host, stdout/stderr and invocations."""
    run = get_run_for_user_or_404(session, principal.user, run_id)
    summary, instances = run_details.get_job(session, run, job)
    return JobDetail(
        **_public(run.id, summary).model_dump(),
        argv=summary.job.argv,
        executable=summary.job.executable,
        instances=instances,  # type: ignore[arg-type]
    )
