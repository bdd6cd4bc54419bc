"""Writing the audit log. Every security-relevant change calls `record` in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import AuditEntry, User

SYSTEM_ACTOR = "system"
"""Actor name for changes made from the command line or by Aerie itself."""


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    remote_addr: str | None = None,
) -> AuditEntry:
    """Add one audit entry (flushed with the caller's transaction, not committed here)."""
    entry = AuditEntry(
        user_id=actor.id if actor is not None else None,
        actor=actor.name if actor is not None else SYSTEM_ACTOR,
        action=action,
        target=target,
        details=details or {},
        remote_addr=remote_addr,
    )
    session.add(entry)
    return entry


def list_entries(session: Session, *, limit: int = 100) -> list[AuditEntry]:
    """The most recent entries first."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return list(session.scalars(stmt))
