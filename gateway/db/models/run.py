"""Workflow runs. Only the run header lives here; planner/engine tables come in later migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import UUIDPK, Base, Created, utcnow
from gateway.db.states import RunState


class Run(Base):
    """One submitted workflow. `state` is written only by `gateway.db.states.transition`."""

    __tablename__ = "runs"

    id: Mapped[UUIDPK]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    state: Mapped[RunState] = mapped_column(
        Enum(
            RunState,
            native_enum=False,
            length=16,
            values_callable=lambda states: [s.value for s in states],
        ),
        default=RunState.QUEUED,
        index=True,
    )
    engine: Mapped[str] = mapped_column(String(32), default="local")
    submit_dir: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(
        default=dict, doc="Submission options for the planner (sites, output site, ...)."
    )
    engine_handle: Mapped[str | None] = mapped_column(
        Text, doc="worker.engines.EngineHandle as JSON once the engine was started."
    )
    created_at: Mapped[Created]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.name!r} {self.state}>"
