"""Browser sessions and CSRF protection.

The session itself is starlette's signed, HTTP-only, SameSite=Lax cookie (set up by
`create_app`). SameSite=Lax already keeps the cookie off cross-site POSTs in modern browsers;
the CSRF token is the second lock for older browsers and same-site attackers: every
state-changing form carries a random per-session token (hidden field `csrf_token`, or header
`X-CSRF-Token` for scripts running in our own pages) that is compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request

from gateway.db.models import User
from gateway.errors import Forbidden

CSRF_SESSION_KEY = "csrf"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_USER_KEY = "user_id"
NEXT_SESSION_KEY = "next"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (for templates and the login page)."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return token


def csrf_matches(request: Request, presented: str | None) -> bool:
    """Whether `presented` is this session's CSRF token."""
    expected = request.session.get(CSRF_SESSION_KEY) if "session" in request.scope else None
    if not isinstance(expected, str) or not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


async def require_csrf(request: Request) -> None:
    """Dependency for state-changing forms: 403 unless the form or header carries the token."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FORM_FIELD)
            presented = value if isinstance(value, str) else None
    if not csrf_matches(request, presented):
        raise Forbidden("missing or wrong CSRF token; reload the page and try again")


def start_session(request: Request, user: User) -> None:
    """Log `user` in: a fresh session (no fixation) with a fresh CSRF token."""
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    request.session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


def end_session(request: Request) -> None:
    request.session.clear()


def safe_next(value: object) -> str | None:
    """`value` if it is a path on this site to return to after logging in, else None.

    Only a relative path beginning with a single `/` passes: `//evil.com`, `/\\evil.com`
    (browsers read both as another host), `https://evil.com`, `javascript:` and anything with
    control characters are refused, so `?next=` cannot become an open redirect.
    """
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 2048:
        return None
    if value.startswith("//") or "\\" in value:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def remember_next(request: Request, value: object) -> None:
    """Keep a safe `?next=` in the session until the login finishes (or forget a stale one)."""
    target = safe_next(value)
    if target is None:
        request.session.pop(NEXT_SESSION_KEY, None)
    else:
        request.session[NEXT_SESSION_KEY] = target


def take_next(request: Request, explicit: object = None) -> str:
    """Where to go once logged in: an explicit safe `next`, else the remembered one, else `/`.
    Call before `start_session`, which starts a fresh session."""
    remembered = request.session.pop(NEXT_SESSION_KEY, None)
    return safe_next(explicit) or safe_next(remembered) or "/"
