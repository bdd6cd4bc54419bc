"""Admin pages: every user (disable / enable, grant / take away admin) and quotas (the default,
and per user). Non-admins get the 404 page, as for anything else they may not see."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from gateway.auth.sessions import require_csrf
from gateway.deps import SessionDep
from gateway.errors import InvalidInput
from gateway.services import audit, quotas
from gateway.services import users as user_service
from gateway.web.common import PageAdmin, flash, page_router, redirect
from gateway.web.pages import render

router = page_router()

ACTIONS = {
    "disable": {"disabled": True},
    "enable": {"disabled": False},
    "make-admin": {"is_admin": True},
    "remove-admin": {"is_admin": False},
}
QUOTA_FIELDS = ("max_concurrent_runs", "max_jobs_per_run", "max_storage_bytes")


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, admin: PageAdmin, session: SessionDep) -> HTMLResponse:
    users = user_service.list_users(session)
    rows = []
    for u in users:
        own = quotas.get_quota_row(session, u.id)
        rows.append(
            {
                "user": u,
                "active_runs": quotas.active_runs(session, u),
                "limits": quotas.limits_for(session, u),
                "own_quota": own is not None,
            }
        )
    default = quotas.get_quota_row(session, None)
    return render(
        request,
        "admin/users.html",
        {
            "user": admin,
            "rows": rows,
            "default": quotas.Limits(
                default.max_concurrent_runs, default.max_jobs_per_run, default.max_storage_bytes
            )
            if default is not None
            else quotas.Limits(),
            "audit": audit.list_entries(session, limit=20),
        },
    )


@router.post("/admin/users/{name}", dependencies=[Depends(require_csrf)])
async def update_user(
    name: str, request: Request, admin: PageAdmin, session: SessionDep
) -> Response:
    form = await request.form()
    action = str(form.get("action") or "")
    change = ACTIONS.get(action)
    if change is None:
        raise InvalidInput(f"unknown action {action!r}")
    target = user_service.get_user_by_name_or_raise(session, name)
    demoting = target.is_admin and (
        change.get("is_admin") is False or change.get("disabled") is True
    )
    if demoting and not target.disabled and user_service.count_admins(session) <= 1:
        flash(request, "this is the last enabled admin; make someone else admin first", "error")
        return redirect("/admin/users")
    for key, value in change.items():
        setattr(target, key, value)
    audit.record(
        session, actor=admin, action="user.update", target=f"user:{target.name}", details=change
    )
    flash(request, f"{target.name}: {action.replace('-', ' ')} done.", "success")
    return redirect("/admin/users")


def _limit(raw: object, field: str) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise InvalidInput(f"{field}: {text!r} is not a whole number ≥ 0 (empty: no limit)")
    return value


@router.post("/admin/quotas", dependencies=[Depends(require_csrf)])
async def set_quota(request: Request, admin: PageAdmin, session: SessionDep) -> Response:
    """Set the default quota (empty user) or one user's; `reset` puts a user back on the default."""
    form = await request.form()
    name = str(form.get("user") or "").strip()
    target = user_service.get_user_by_name_or_raise(session, name) if name else None
    if form.get("reset") and target is not None:
        row = quotas.get_quota_row(session, target.id)
        if row is not None:
            session.delete(row)
        audit.record(session, actor=admin, action="quota.reset", target=f"user:{target.name}")
        flash(request, f"{target.name} is back on the default quota.", "success")
        return redirect("/admin/users")
    try:
        limits = {f: _limit(form.get(f), f) for f in QUOTA_FIELDS}
    except InvalidInput as exc:
        flash(request, exc.message, "error")
        return redirect("/admin/users")
    quotas.set_quota(session, target.id if target else None, **limits)
    label = f"user:{target.name}" if target else "quota:default"
    audit.record(session, actor=admin, action="quota.set", target=label)
    flash(request, f"Quota saved for {target.name if target else 'everyone (default)'}.", "success")
    return redirect("/admin/users")
