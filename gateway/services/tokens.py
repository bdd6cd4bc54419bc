"""Use cases about API tokens: create (shown once), list, revoke, authenticate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.auth import tokens as tokenlib
from gateway.db.base import utcnow
from gateway.db.models import ApiToken, User
from gateway.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from gateway.services import audit

DEFAULT_EXPIRES_IN_DAYS = 90
LAST_USED_GRANULARITY = timedelta(minutes=1)
"""Refresh `last_used_at` at most this often, so reads do not turn into a write per request."""


@dataclass(frozen=True)
class CreatedToken:
    """The stored row plus the one and only copy of the secret value."""

    token: ApiToken
    value: str


def create_token(
    session: Session,
    *,
    user: User,
    name: str = "default",
    scopes: list[str] | tuple[str, ...] | None = None,
    expires_in_days: int | None = DEFAULT_EXPIRES_IN_DAYS,
    actor: User | None = None,
) -> CreatedToken:
    """Issue a token for `user`. Only admins may hold the `admin` scope."""
    try:
        wanted = tokenlib.normalize_scopes(list(scopes or tokenlib.DEFAULT_SCOPES))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    if not wanted:
        raise InvalidInput("a token needs at least one scope")
    if tokenlib.SCOPE_ADMIN in wanted and not user.is_admin:
        raise Forbidden(f"user {user.name!r} is not an admin and cannot hold the admin scope")
    if expires_in_days is not None and expires_in_days <= 0:
        raise InvalidInput("expires-in must be a positive number of days")
    if not name or len(name) > 100:
        raise InvalidInput("token name must be 1 to 100 characters")
    new = tokenlib.generate_token()
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=new.prefix,
        token_hash=new.digest,
        scopes=wanted,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.create",
        target=f"token:{token.id}",
        details={"user": user.name, "scopes": wanted, "name": name},
    )
    return CreatedToken(token=token, value=new.value)


def list_tokens(session: Session, *, user: User) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    return list(session.scalars(stmt))


def revoke_token(session: Session, *, token_id: int, actor: User | None = None) -> ApiToken:
    """Revoke a token (idempotent). Non-admin actors may revoke only their own tokens."""
    token = session.get(ApiToken, token_id)
    if token is None or (actor is not None and not actor.is_admin and token.user_id != actor.id):
        raise NotFound(f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor=actor, action="token.revoke", target=f"token:{token.id}")
    return token


def authenticate(session: Session, value: str) -> ApiToken:
    """The live token matching `value`, or Unauthenticated saying why not.

    Lookup goes by prefix first, then the hash is compared in constant time. Reasons more
    specific than "invalid" are only given once the caller has proven it holds the token.
    """
    prefix = tokenlib.parse_prefix(value)
    if prefix is None:
        raise Unauthenticated("invalid token")
    candidates = session.scalars(select(ApiToken).where(ApiToken.prefix == prefix))
    token = next((t for t in candidates if tokenlib.matches(value, t.token_hash)), None)
    if token is None:
        raise Unauthenticated("invalid token")
    if token.revoked:
        raise Unauthenticated("token has been revoked")
    if token.expired:
        raise Unauthenticated("token has expired")
    if token.user.disabled:
        raise Forbidden("this account is disabled")
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        token.last_used_at = now
    return token


def get_token_or_raise(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token with id {token_id}")
    return token
