"""Run pages: the list, the submission form, a run's page (status, DAG, Gantt, jobs,
statistics, analyzer, outputs) with its live fragments, a job's page, and the POST forms that
cancel, retry and delete.

Every page reaches a run through `get_run_for_user_or_404`, the same helper the API uses, so
another person's run is a 404 page here exactly as it is a 404 in the API. State-changing forms
are POSTs carrying the session's CSRF token (`require_csrf`), answered with a redirect.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from gateway.auth.sessions import require_csrf
from gateway.db.models import Run, RunEvent
from gateway.db.states import TERMINAL, RunState
from gateway.deps import SessionDep, SettingsDep, TasksDep
from gateway.errors import AerieError, InvalidInput
from gateway.services import provenance, run_details, statistics, web_views
from gateway.services import runs as run_service
from gateway.services.labels import stored_labels
from gateway.settings import Settings
from gateway.web import charts
from gateway.web.common import PageUser, flash, page_router, redirect
from gateway.web.pages import render, templates

router = page_router()

RUN_STATES = [s.value for s in RunState]
JOBS_PER_PAGE = 200
TEXT_FIELDS = ("name", "engine", "execution_sites", "labels")


def _counts(session: Session, run: Run) -> dict[str, Any]:
    counts = run_service.status_counts(session, run)
    return counts or {"total": 0, "succeeded": 0, "failed": 0, "percent_done": 0.0}


def _labels(run: Run) -> dict[str, str]:
    """Labels to show; the importer's bookkeeping labels are what the badge already says."""
    imported = web_views.is_imported(run)
    return {
        k: v
        for k, v in stored_labels(run.labels).items()
        if not (imported and k in {"imported", "source", "wf_uuid"})
    }


def _row(session: Session, run: Run) -> dict[str, Any]:
    return {
        "run": run,
        "state": RunState(run.state).value,
        "imported": web_views.is_imported(run),
        "counts": _counts(session, run),
        "labels": _labels(run),
    }


@router.get("/runs", response_class=HTMLResponse)
def list_runs(
    request: Request,
    user: PageUser,
    session: SessionDep,
    state: str | None = None,
    label: str | None = None,
    cursor: str | None = None,
    fragment: str | None = None,
) -> HTMLResponse:
    """Your runs, newest first, with filters; `fragment=rows` is the table body for polling."""
    filters = run_service.RunFilter(state=state or None, label=(label or "").strip() or None)
    rows, next_cursor = run_service.list_runs(
        session, owner=user, filters=filters, cursor=cursor or None, limit=50
    )
    context = {
        "user": user,
        "rows": [_row(session, r) for r in rows],
        "next_cursor": next_cursor,
        "states": RUN_STATES,
        "state": state or "",
        "label": label or "",
        "active": any(RunState(r.state) not in TERMINAL for r in rows),
    }
    name = "runs/_rows.html" if fragment == "rows" else "runs/list.html"
    return render(request, name, context)


# ---- submission -------------------------------------------------------------------------------


def _parse_labels(raw: str) -> dict[str, str]:
    """`key=value` pairs separated by commas or new lines (a bare `key` means `key=true`)."""
    labels = {}
    for part in raw.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not key.strip():
            raise InvalidInput(
                f"label {part!r} has no key; write key=value",
                details=[{"field": "labels", "message": f"label {part!r} has no key"}],
            )
        labels[key.strip()] = value.strip() if sep else "true"
    return labels


async def _read_upload(value: Any, field: str) -> str | None:
    if isinstance(value, UploadFile):
        if not value.filename:
            return None
        raw = await value.read(run_service.MAX_DOCUMENT_BYTES + 1)
    elif isinstance(value, str):
        raw = value.encode()
    else:
        return None
    if not raw.strip():
        return None
    if len(raw) > run_service.MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            f"{field}: the file is larger than 20 MiB",
            details=[{"field": field, "message": "larger than 20 MiB"}],
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{field}: the file is not UTF-8 text",
            details=[{"field": field, "message": "not UTF-8 text"}],
        ) from exc


def _problem_lines(exc: AerieError) -> list[dict[str, str]]:
    """Each problem as `file:line: path: message`, the way compilers print them."""
    items = exc.details if isinstance(exc.details, list) else []
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        place = ":".join(
            str(p) for p in (item.get("file") or item.get("field"), item.get("line")) if p
        )
        path = item.get("path") or ""
        where = f"{place}: {path}" if path else place
        out.append({"where": where, "message": str(item.get("message") or "")})
    if not out:
        out.append({"where": "", "message": exc.message})
    return out


@router.get("/runs/new", response_class=HTMLResponse)
def new_run_form(request: Request, user: PageUser) -> HTMLResponse:
    return render(request, "runs/new.html", {"user": user, "form": {}, "problems": None})


@router.post("/runs/new", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def submit_run(
    request: Request,
    user: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    tasks: TasksDep,
) -> Response:
    """Validate and submit; an invalid workflow comes back as the form with every problem."""
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in TEXT_FIELDS}
    try:
        documents = {}
        for field in run_service.DOCUMENTS:
            text = await _read_upload(form.get(field), field)
            if text is not None:
                documents[field] = text
        if "workflow" not in documents:
            raise InvalidInput(
                "choose a workflow file (workflow.yml)",
                details=[{"field": "workflow", "message": "choose a workflow file"}],
            )
        sites = [s.strip() for s in values["execution_sites"].split(",") if s.strip()]
        submission = run_service.Submission(
            documents=documents,
            name=values["name"].strip() or None,
            engine=values["engine"] or None,
            execution_sites=sites or None,
            labels=_parse_labels(values["labels"]),
        )
        run = await run_in_threadpool(
            run_service.create_run, session, settings, tasks, user, submission
        )
    except AerieError as exc:
        session.rollback()
        return render(
            request,
            "runs/new.html",
            {
                "user": user,
                "form": values,
                "problems": _problem_lines(exc),
                "summary": exc.message,
            },
            status_code=exc.status_code,
        )
    flash(request, f"Submitted “{run.name}”; it is queued for planning.", "success")
    return redirect(f"/runs/{run.id}")


# ---- one run ----------------------------------------------------------------------------------


def _live_context(session: Session, run: Run, request: Request) -> dict[str, Any]:
    """Everything that changes while a run runs: counts, DAG, Gantt, jobs table."""
    q = request.query_params
    job_state = q.get("job_state") or None
    type_ = q.get("job_type") or None
    transformation = q.get("transformation") or None
    cursor = q.get("jobs_cursor") or ""
    offset = int(cursor) if cursor.isdigit() else 0
    if job_state in run_details.JOB_STATES:
        # A state is known only after summarising every job: the service does that.
        jobs, next_cursor = run_details.list_jobs(
            session,
            run,
            state=job_state,
            type_=type_,
            transformation=transformation,
            cursor=str(offset),
            limit=JOBS_PER_PAGE,
        )
    else:
        jobs, more = web_views.jobs_page(
            session,
            run,
            type_=type_,
            transformation=transformation,
            offset=offset,
            limit=JOBS_PER_PAGE,
        )
        next_cursor = str(offset + JOBS_PER_PAGE) if more else None
    facets = web_views.job_facets(session, run)
    # The graph service reads every job; past what can be drawn, do not ask for it at all.
    dag = None
    if 0 < facets.jobs <= charts.MAX_DAG_NODES:
        graph = run_details.graph(session, run)
        dag = charts.layout_dag(graph["nodes"], graph["edges"])
    spans, total_spans = web_views.instance_spans(session, run)
    state = RunState(run.state)
    return {
        "run": run,
        "state": state.value,
        "terminal": state in TERMINAL,
        "imported": web_views.is_imported(run),
        "counts": _counts(session, run),
        "dag": dag,
        "dag_size": facets.jobs,
        "gantt": charts.layout_gantt(spans, time.time(), total_spans),
        "jobs": jobs,
        "jobs_next": next_cursor,
        "job_filters": {
            "job_state": q.get("job_state") or "",
            "job_type": q.get("job_type") or "",
            "transformation": q.get("transformation") or "",
        },
        "job_states": run_details.JOB_STATES,
        "job_types": facets.types,
        "transformations": facets.transformations,
    }


def _reports(
    session: Session, settings: Settings, run: Run, counts: dict[str, Any]
) -> dict[str, Any]:
    """Statistics, analyzer and outputs: read once per page load (they settle at the end)."""
    out: dict[str, Any] = {"summary": None, "chart": None, "breakdown": [], "analysis": None}
    wf = run_service.root_workflow(session, run)
    if wf is not None:
        wf_ids = run_details.workflow_ids(session, run)
        out["summary"] = statistics.summary(session, wf.wf_id)
        out["breakdown"] = statistics.transformation_statistics(session, wf_ids)
        out["chart"] = charts.runtime_chart(out["breakdown"])
        if counts.get("failed") or counts.get("held") or RunState(run.state) is RunState.FAILED:
            out["analysis"] = provenance.analyze(session, wf.wf_id)
    out["files"] = run_details.list_files(session, settings, run)
    out["events"] = list(
        session.scalars(
            select(RunEvent).where(RunEvent.run_id == run.id).order_by(RunEvent.id.desc()).limit(15)
        )
    )
    return out


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    run_id: str, request: Request, user: PageUser, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    run = run_service.get_run_for_user_or_404(session, user, run_id)
    live = _live_context(session, run, request)
    context = {
        "user": user,
        "labels": _labels(run),
        "last_event": session.scalar(
            select(RunEvent.id).where(RunEvent.run_id == run.id).order_by(RunEvent.id.desc())
        )
        or 0,
        **live,
        **_reports(session, settings, run, live["counts"]),
    }
    return render(request, "runs/detail.html", context)


@router.get("/runs/{run_id}/live")
def run_live(run_id: str, request: Request, user: PageUser, session: SessionDep) -> JSONResponse:
    """The parts of the run page that move, as HTML fragments for the page's script."""
    run = run_service.get_run_for_user_or_404(session, user, run_id)
    context = {"request": request, **_live_context(session, run, request)}
    parts = {}
    for name in ("status", "dag", "gantt", "jobs"):
        parts[name] = templates.get_template(f"runs/_{name}.html").render(context)
    return JSONResponse(
        {"state": context["state"], "terminal": context["terminal"], "html": parts},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/runs/{run_id}/jobs/{job:path}", response_class=HTMLResponse)
def job_page(
    run_id: str, job: str, request: Request, user: PageUser, session: SessionDep
) -> HTMLResponse:
    run = run_service.get_run_for_user_or_404(session, user, run_id)
    summary, instances = run_details.get_job(session, run, job)
    return render(
        request,
        "runs/job.html",
        {"user": user, "run": run, "job": summary, "instances": instances},
    )


@router.post("/runs/{run_id}/cancel", dependencies=[Depends(require_csrf)])
def cancel(
    run_id: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    tasks: TasksDep,
) -> Response:
    run = run_service.get_run_for_user_or_404(session, user, run_id)
    try:
        run_service.cancel_run(session, settings, tasks, run)
        flash(request, f"Cancelled “{run.name}”.", "success")
    except AerieError as exc:
        flash(request, exc.message, "error")
    return redirect(f"/runs/{run.id}")


@router.post("/runs/{run_id}/retry", dependencies=[Depends(require_csrf)])
def retry(
    run_id: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    tasks: TasksDep,
) -> Response:
    run = run_service.get_run_for_user_or_404(session, user, run_id)
    try:
        run_service.retry_run(session, settings, tasks, run)
        flash(request, f"Resubmitted “{run.name}”; finished jobs will not run again.", "success")
    except AerieError as exc:
        flash(request, exc.message, "error")
    return redirect(f"/runs/{run.id}")


@router.post("/runs/{run_id}/delete", dependencies=[Depends(require_csrf)])
def delete(
    run_id: str, request: Request, user: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    run = run_service.get_run_for_user_or_404(session, user, run_id)
    name = run.name
    try:
        run_service.delete_run(session, settings, run)
    except AerieError as exc:
        flash(request, exc.message, "error")
        return redirect(f"/runs/{run_id}")
    flash(request, f"Deleted “{name}” and its files.", "success")
    return redirect("/runs")
