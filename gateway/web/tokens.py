"""The API tokens page: create a token (its secret is shown on this one response only), list
them, revoke one. Both writes are CSRF-checked POST forms."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from gateway.auth import tokens as tokenlib
from gateway.auth.sessions import require_csrf
from gateway.db.models import ApiToken, User
from gateway.deps import SessionDep
from gateway.errors import AerieError, NotFound
from gateway.services import tokens as token_service
from gateway.web.common import PageUser, flash, page_router, redirect
from gateway.web.pages import render

router = page_router()

EXPIRY_CHOICES = (7, 30, 90, 365)


def _page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    created: token_service.CreatedToken | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    scopes = [s for s in tokenlib.ALL_SCOPES if s != tokenlib.SCOPE_ADMIN or user.is_admin]
    return render(
        request,
        "tokens.html",
        {
            "user": user,
            "tokens": list(reversed(token_service.list_tokens(session, user=user))),
            "scopes": scopes,
            "default_scopes": tokenlib.DEFAULT_SCOPES,
            "expiry_choices": EXPIRY_CHOICES,
            "created": created,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    return _page(request, session, user)


@router.post("/tokens", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def create_token(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    """Create a token and show its secret once. The answer is the page itself rather than a
    redirect: the secret must never be stored (not even in the signed session cookie)."""
    form = await request.form()
    name = str(form.get("name") or "").strip() or "web"
    scopes = [str(s) for s in form.getlist("scopes")]
    raw_days = str(form.get("expires_in_days") or "90")
    try:
        days = int(raw_days) if raw_days != "never" else None
        created = token_service.create_token(
            session,
            user=user,
            name=name,
            scopes=scopes or None,
            expires_in_days=days,
            actor=user,
        )
    except (AerieError, ValueError) as exc:
        message = exc.message if isinstance(exc, AerieError) else f"invalid expiry {raw_days!r}"
        session.rollback()
        return _page(request, session, user, error=message, status_code=422)
    response = _page(request, session, user, created=created)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/tokens/{token_id}/revoke", dependencies=[Depends(require_csrf)])
def revoke_token(token_id: int, request: Request, user: PageUser, session: SessionDep) -> Response:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"no token with id {token_id}")
    token_service.revoke_token(session, token_id=token_id, actor=user)
    flash(request, f"Revoked token “{token.name}” ({token.prefix}…).", "success")
    return redirect("/tokens")
