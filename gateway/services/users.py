"""Use cases about users, shared by the API, the web pages and the CLI."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.base import utcnow
from gateway.db.models import User
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.services import audit

NAME_PATTERN = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")
"""User names end up in paths and HTCondor accounting groups: keep them POSIX-like."""


def create_user(
    session: Session,
    *,
    name: str,
    email: str | None = None,
    is_admin: bool = False,
    actor: User | None = None,
) -> User:
    """Create a local user; raise InvalidInput for a bad name, Conflict if it is taken."""
    if not NAME_PATTERN.match(name):
        raise InvalidInput(
            f"invalid user name {name!r}: use lower-case letters, digits, '_', '.', '-' "
            "(starting with a letter or '_', at most 64 characters)"
        )
    if get_user_by_name(session, name) is not None:
        raise Conflict(f"user {name!r} already exists")
    user = User(name=name, email=email, is_admin=is_admin)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        target=f"user:{user.name}",
        details={"is_admin": is_admin},
    )
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user_by_name(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def get_user_by_name_or_raise(session: Session, name: str) -> User:
    user = get_user_by_name(session, name)
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def count_admins(session: Session) -> int:
    stmt = select(func.count()).select_from(User).where(User.is_admin, ~User.disabled)
    return session.scalar(stmt) or 0


def ensure_admin(session: Session, *, name: str = "admin") -> User:
    """The oldest enabled admin, creating `name` as admin when there is none.

    This is what lets a fresh embedded install be used at once: the one-time login link
    printed by `aerie serve` logs in as this user.
    """
    stmt = select(User).where(User.is_admin, ~User.disabled).order_by(User.id).limit(1)
    admin = session.scalar(stmt)
    if admin is not None:
        return admin
    existing = get_user_by_name(session, name)
    if existing is not None:
        raise Conflict(f"user {name!r} exists but is not an enabled admin; create an admin first")
    return create_user(session, name=name, is_admin=True)


def mark_login(user: User) -> None:
    """Stamp a successful interactive login (the caller's transaction saves it)."""
    user.last_login_at = utcnow()
