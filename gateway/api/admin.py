"""`/api/v1/admin`: users (list, disable, make admin), everybody's runs, quotas."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from gateway.api.scopes import ERRORS, IsAdmin
from gateway.api.workflows import run_public
from gateway.auth.tokens import SCOPE_ADMIN
from gateway.deps import SessionDep, require_scope
from gateway.errors import Conflict, NotFound
from gateway.schemas.catalogs import QuotaPublic, UserAdminPatch, UserAdminPublic
from gateway.schemas.runs import RunList
from gateway.services import audit, quotas
from gateway.services import runs as run_service
from gateway.services import users as user_service

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses=ERRORS,
    dependencies=[Depends(require_scope(SCOPE_ADMIN))],
)


@router.get("/users", response_model=list[UserAdminPublic])
def list_users(session: SessionDep) -> list[UserAdminPublic]:
    """Every user."""
    return [UserAdminPublic.model_validate(u) for u in user_service.list_users(session)]


@router.patch("/users/{name}", response_model=UserAdminPublic)
def update_user(
    name: str, body: UserAdminPatch, principal: IsAdmin, session: SessionDep
) -> UserAdminPublic:
    """Disable / enable a user, or grant / take away admin."""
    user = user_service.get_user_by_name_or_raise(session, name)
    demoting = (body.is_admin is False or body.disabled is True) and user.is_admin
    if demoting and not user.disabled and user_service.count_admins(session) <= 1:
        raise Conflict("this is the last enabled admin; make someone else admin first")
    if body.disabled is not None:
        user.disabled = body.disabled
    if body.is_admin is not None:
        user.is_admin = body.is_admin
    audit.record(
        session,
        actor=principal.user,
        action="user.update",
        target=f"user:{user.name}",
        details=body.model_dump(exclude_none=True),
    )
    return UserAdminPublic.model_validate(user)


@router.get("/workflows", response_model=RunList)
def list_all_runs(
    session: SessionDep,
    state: str | None = None,
    name: str | None = None,
    label: str | None = None,
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> RunList:
    """Everybody's runs, newest first."""
    rows, next_cursor = run_service.list_runs(
        session,
        owner=None,
        filters=run_service.RunFilter(state=state, name=name, label=label, since=since),
        cursor=cursor,
        limit=limit,
    )
    return RunList(data=[run_public(session, r) for r in rows], next_cursor=next_cursor)


@router.get("/quotas/default", response_model=QuotaPublic)
def read_default_quota(session: SessionDep) -> QuotaPublic:
    """The limits of users without their own quota (all null: unlimited)."""
    row = quotas.get_quota_row(session, None)
    return QuotaPublic.model_validate(row) if row is not None else QuotaPublic()


@router.put("/quotas/default", response_model=QuotaPublic)
def set_default_quota(body: QuotaPublic, principal: IsAdmin, session: SessionDep) -> QuotaPublic:
    row = quotas.set_quota(session, None, **body.model_dump())
    audit.record(session, actor=principal.user, action="quota.set", target="quota:default")
    return QuotaPublic.model_validate(row)


@router.get("/quotas/{name}", response_model=QuotaPublic)
def read_user_quota(name: str, session: SessionDep) -> QuotaPublic:
    """A user's effective limits."""
    user = user_service.get_user_by_name_or_raise(session, name)
    limits = quotas.limits_for(session, user)
    return QuotaPublic(**vars(limits))


@router.put("/quotas/{name}", response_model=QuotaPublic)
def set_user_quota(
    name: str, body: QuotaPublic, principal: IsAdmin, session: SessionDep
) -> QuotaPublic:
    user = user_service.get_user_by_name_or_raise(session, name)
    row = quotas.set_quota(session, user.id, **body.model_dump())
    audit.record(session, actor=principal.user, action="quota.set", target=f"user:{user.name}")
    return QuotaPublic.model_validate(row)


@router.delete("/quotas/{name}", status_code=204)
def delete_user_quota(name: str, session: SessionDep) -> None:
    """Put a user back on the default quota."""
    user = user_service.get_user_by_name_or_raise(session, name)
    row = quotas.get_quota_row(session, user.id)
    if row is None:
        raise NotFound(f"user {name!r} has no quota of their own")
    session.delete(row)
