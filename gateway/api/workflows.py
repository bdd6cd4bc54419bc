"""`/api/v1/workflows`: submit, list, read, cancel, retry and delete workflow runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from gateway.api.scopes import ERRORS, CanRead, CanWrite
from gateway.db.models import Run, User
from gateway.db.states import RunState
from gateway.deps import SessionDep, SettingsDep, TasksDep
from gateway.errors import InvalidInput
from gateway.schemas.runs import RunList, RunPublic, StatusCounts, WorkflowSubmitJSON
from gateway.services import runs as run_service
from gateway.services.labels import stored_labels
from gateway.services.run_layout import status_counts

router = APIRouter(prefix="/workflows", tags=["workflows"], responses=ERRORS)

_DOC_SCHEMA = {"type": "string", "format": "binary"}
_SUBMIT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["workflow"],
                    "properties": {
                        **dict.fromkeys(run_service.DOCUMENTS, _DOC_SCHEMA),
                        "name": {"type": "string"},
                        "engine": {"type": "string", "enum": list(run_service.ENGINES)},
                        "execution_sites": {
                            "type": "string",
                            "description": "Comma-separated site names (also accepted as a "
                            "text `sites` field; a `sites` file is the site catalog).",
                        },
                        "labels": {"type": "string", "description": "A JSON object."},
                    },
                }
            },
            "application/json": {"schema": WorkflowSubmitJSON.model_json_schema()},
        },
    }
}


def links(run_id: str) -> dict[str, str]:
    base = f"/api/v1/workflows/{run_id}"
    return {
        "self": base,
        "jobs": f"{base}/jobs",
        "graph": f"{base}/graph",
        "statistics": f"{base}/statistics",
        "analysis": f"{base}/analysis",
        "files": f"{base}/files",
        "events": f"{base}/events",
        "cancel": f"{base}/cancel",
        "retry": f"{base}/retry",
    }


def run_public(session: Session, run: Run, owner: str | None = None) -> RunPublic:
    if owner is None:
        owner = session.scalar(select(User.name).where(User.id == run.owner_id)) or ""
    return RunPublic(
        id=run.id,
        name=run.name,
        state=RunState(run.state).value,
        owner=owner,
        engine=run.engine,
        labels=stored_labels(run.labels),
        error=run.error,
        created=run.created_at,
        started=run.started_at,
        ended=run.finished_at,
        counts=StatusCounts(**status_counts(session, run)),
        links=links(run.id),
    )


async def _read_text(value: Any, field: str) -> str:
    if isinstance(value, UploadFile):
        raw = await value.read(run_service.MAX_DOCUMENT_BYTES + 1)
    elif isinstance(value, str):
        raw = value.encode()
    else:
        raise InvalidInput(f"field {field!r} must be a file or text", details=[{"field": field}])
    if len(raw) > run_service.MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"field {field!r} is larger than 20 MiB", details=[{"field": field}])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"field {field!r} is not UTF-8 text", details=[{"field": field}]
        ) from exc


def _labels(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput("labels must be a JSON object", details=[{"field": "labels"}]) from exc
    if not isinstance(value, dict):
        raise InvalidInput("labels must be a JSON object", details=[{"field": "labels"}])
    return value


def _is_site_list(value: Any) -> bool:
    """A plain text `sites` value like "local,condorpool" (not an uploaded catalog)."""
    return (
        isinstance(value, str)
        and bool(value.strip())
        and all(c.isalnum() or c in "_.-, " for c in value)
    )


async def _submission(request: Request) -> run_service.Submission:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            data = await request.json()
        except ValueError as exc:
            raise InvalidInput("the body is not valid JSON") from exc
        try:
            body = WorkflowSubmitJSON.model_validate(data)
        except ValidationError as exc:
            details = [
                {"field": ".".join(str(x) for x in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ]
            raise InvalidInput("the submission is not valid", details=details) from exc
        execution_sites = body.execution_sites
        if isinstance(body.sites, list):  # `sites` as site names, not a catalog
            execution_sites, body.sites = body.sites, None
        docs = {k: getattr(body, k) for k in run_service.DOCUMENTS if getattr(body, k)}
        return run_service.Submission(
            documents=docs,
            name=body.name,
            engine=body.engine,
            execution_sites=execution_sites,
            labels=body.labels,
        )
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        unknown = sorted(
            set(form.keys())
            - set(run_service.DOCUMENTS)
            - {"name", "engine", "execution_sites", "labels"}
        )
        if unknown:
            raise InvalidInput(
                f"unknown field(s): {', '.join(unknown)}",
                details=[{"field": f, "message": "unknown field"} for f in unknown],
            )
        docs = {}
        sites = form.get("execution_sites")
        for field in run_service.DOCUMENTS:
            value = form.get(field)
            if field == "sites" and _is_site_list(value):
                sites = value  # `sites=local,cluster` names sites; a file is a catalog
                continue
            if value is not None:
                docs[field] = await _read_text(value, field)
        name = form.get("name")
        engine = form.get("engine")
        labels = form.get("labels")
        return run_service.Submission(
            documents=docs,
            name=name if isinstance(name, str) and name else None,
            engine=engine if isinstance(engine, str) and engine else None,
            execution_sites=[s.strip() for s in sites.split(",") if s.strip()]
            if isinstance(sites, str)
            else None,
            labels=_labels(labels if isinstance(labels, str) else None),
        )
    raise InvalidInput(
        "send multipart/form-data (file fields) or application/json (the documents as text)"
    )


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunPublic,
    openapi_extra=_SUBMIT_BODY,
    responses={409: {"description": "Over quota"}, 429: {"description": "Too many runs"}},
)
async def submit_workflow(
    request: Request,
    principal: CanWrite,
    session: SessionDep,
    settings: SettingsDep,
    tasks: TasksDep,
) -> JSONResponse:
    """Validate a workflow (422 lists every problem with field, file, line and path), store it
    as a queued run and start planning it. Answers 202 with the run and its links."""
    submission = await _submission(request)
    run = await run_in_threadpool(
        run_service.create_run, session, settings, tasks, principal.user, submission
    )
    public = run_public(session, run, principal.user.name)
    return JSONResponse(
        public.model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": public.links["self"]},
    )


@router.get("", response_model=RunList)
def list_workflows(
    principal: CanRead,
    session: SessionDep,
    state: str | None = None,
    name: str | None = None,
    label: str | None = Query(default=None, description="'key' or 'key=value'"),
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> RunList:
    """Your runs, newest first; follow `next_cursor` for more."""
    rows, next_cursor = run_service.list_runs(
        session,
        owner=principal.user,
        filters=run_service.RunFilter(state=state, name=name, label=label, since=since),
        cursor=cursor,
        limit=limit,
    )
    name_ = principal.user.name
    return RunList(data=[run_public(session, r, name_) for r in rows], next_cursor=next_cursor)


@router.get("/{run_id}", response_model=RunPublic)
def read_workflow(run_id: str, principal: CanRead, session: SessionDep) -> RunPublic:
    """One run: its state and pegasus-status counts."""
    run = run_service.get_run_for_user_or_404(session, principal.user, run_id)
    return run_public(session, run, principal.user.name)


@router.post("/{run_id}/cancel", response_model=RunPublic, responses={409: {}})
def cancel_workflow(
    run_id: str, principal: CanWrite, session: SessionDep, settings: SettingsDep, tasks: TasksDep
) -> RunPublic:
    """Cancel a run that has not ended (its engine is stopped in the background)."""
    run = run_service.get_run_for_user_or_404(session, principal.user, run_id)
    run_service.cancel_run(session, settings, tasks, run, actor=principal.user)
    return run_public(session, run, principal.user.name)


@router.post("/{run_id}/retry", response_model=RunPublic, responses={409: {}})
def retry_workflow(
    run_id: str, principal: CanWrite, session: SessionDep, settings: SettingsDep, tasks: TasksDep
) -> RunPublic:
    """Resubmit a failed run; nodes that succeeded are not run again (rescue DAG)."""
    run = run_service.get_run_for_user_or_404(session, principal.user, run_id)
    run_service.retry_run(session, settings, tasks, run, actor=principal.user)
    return run_public(session, run, principal.user.name)


@router.delete("/{run_id}", status_code=status.HTTP_204_NO_CONTENT, responses={409: {}})
def delete_workflow(
    run_id: str, principal: CanWrite, session: SessionDep, settings: SettingsDep
) -> None:
    """Remove a run that has stopped, with all its files and provenance."""
    run = run_service.get_run_for_user_or_404(session, principal.user, run_id)
    run_service.delete_run(session, settings, run, actor=principal.user)
