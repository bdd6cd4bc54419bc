"""Rows the gateway keeps around runs: state-change events, per-user catalogs and quotas.

`RunEvent` is the durable half of `/workflows/{id}/events`: every state change is a row, so an
SSE client that reconnects with `Last-Event-ID` misses nothing even when pub/sub dropped a
message. `UserCatalog` holds a person's default site / transformation / replica catalog (the
YAML text as uploaded, validated by the planner's loader). `Quota` rows limit what one person
(or, with `user_id` NULL, everybody without a row of their own) may use at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base, Created, IntPK, utcnow


class RunEvent(Base):
    """One change of a run's state, in order (`id` is the SSE event id)."""

    __tablename__ = "run_events"

    id: Mapped[IntPK]
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    at: Mapped[Created]
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class UserCatalog(Base):
    """A person's default catalog of one kind: `sites`, `transformations` or `replicas`."""

    __tablename__ = "user_catalogs"
    __table_args__ = (UniqueConstraint("owner_id", "kind"),)

    id: Mapped[IntPK]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Quota(Base):
    """Limits for one user, or the default for everyone (`user_id` NULL). NULL = unlimited."""

    __tablename__ = "quotas"

    id: Mapped[IntPK]
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    max_concurrent_runs: Mapped[int | None] = mapped_column(Integer)
    max_jobs_per_run: Mapped[int | None] = mapped_column(Integer)
    max_storage_bytes: Mapped[int | None] = mapped_column(BigInteger)
