"""A person's default catalogs: used by a submission that does not upload its own.

Each is validated with the planner's own loader on the way in, so a broken default is refused
when it is saved (with file, line and field), not when a later run is planned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import User, UserCatalog
from gateway.errors import InvalidInput, NotFound
from planner.errors import SpecError
from planner.loader import (
    loads_replica_catalog,
    loads_site_catalog,
    loads_transformation_catalog,
)

KINDS: dict[str, str] = {
    "sites": "sites.yml",
    "transformations": "transformations.yml",
    "replicas": "replicas.yml",
}
"""Catalog kind -> the file name it gets beside an uploaded workflow."""


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise NotFound(f"no catalog kind {kind!r}; use one of {', '.join(KINDS)}")


def validate(kind: str, content: str) -> None:
    """InvalidInput listing every problem of `content` as a catalog of `kind`."""
    loaders: dict[str, Callable[..., Any]] = {
        "sites": loads_site_catalog,
        "transformations": loads_transformation_catalog,
        "replicas": loads_replica_catalog,
    }
    try:
        loaders[kind](content, file=KINDS[kind])
    except SpecError as exc:
        raise InvalidInput(
            f"the {kind} catalog is not valid",
            details=[{**p.to_dict(), "field": kind} for p in exc.problems],
        ) from exc


def get_catalog(session: Session, user: User, kind: str) -> UserCatalog | None:
    _check_kind(kind)
    stmt = select(UserCatalog).where(UserCatalog.owner_id == user.id, UserCatalog.kind == kind)
    return session.scalar(stmt)


def get_catalog_or_404(session: Session, user: User, kind: str) -> UserCatalog:
    row = get_catalog(session, user, kind)
    if row is None:
        raise NotFound(f"you have no default {kind} catalog")
    return row


def put_catalog(session: Session, user: User, kind: str, content: str) -> UserCatalog:
    _check_kind(kind)
    validate(kind, content)
    row = get_catalog(session, user, kind)
    if row is None:
        row = UserCatalog(owner_id=user.id, kind=kind, content=content)
        session.add(row)
    else:
        row.content = content
    session.flush()
    return row


def delete_catalog(session: Session, user: User, kind: str) -> None:
    session.delete(get_catalog_or_404(session, user, kind))
    session.flush()


def defaults(session: Session, user: User) -> dict[str, str]:
    """kind -> content of every default catalog the user has."""
    rows = session.scalars(select(UserCatalog).where(UserCatalog.owner_id == user.id))
    return {row.kind: row.content for row in rows}
