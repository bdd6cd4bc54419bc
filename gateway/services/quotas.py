"""Quotas: how much one person may use at once. A user's own row wins over the default row
(`user_id` NULL); a missing row or a NULL limit means unlimited."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.models import Quota, Run, User
from gateway.db.states import TERMINAL
from gateway.errors import AerieError, Conflict
from gateway.settings import Settings


class QuotaExceeded(AerieError):
    """Not now: the caller has as many runs going as allowed (retry later)."""

    status_code = 429
    code = "quota_exceeded"


@dataclass(frozen=True)
class Limits:
    max_concurrent_runs: int | None = None
    max_jobs_per_run: int | None = None
    max_storage_bytes: int | None = None


def get_quota_row(session: Session, user_id: int | None) -> Quota | None:
    cond = Quota.user_id.is_(None) if user_id is None else Quota.user_id == user_id
    return session.scalar(select(Quota).where(cond))


def limits_for(session: Session, user: User) -> Limits:
    row = get_quota_row(session, user.id) or get_quota_row(session, None)
    if row is None:
        return Limits()
    return Limits(row.max_concurrent_runs, row.max_jobs_per_run, row.max_storage_bytes)


def set_quota(
    session: Session,
    user_id: int | None,
    *,
    max_concurrent_runs: int | None,
    max_jobs_per_run: int | None,
    max_storage_bytes: int | None,
) -> Quota:
    row = get_quota_row(session, user_id)
    if row is None:
        row = Quota(user_id=user_id)
        session.add(row)
    row.max_concurrent_runs = max_concurrent_runs
    row.max_jobs_per_run = max_jobs_per_run
    row.max_storage_bytes = max_storage_bytes
    session.flush()
    return row


def active_runs(session: Session, user: User) -> int:
    stmt = (
        select(func.count())
        .select_from(Run)
        .where(Run.owner_id == user.id, Run.state.not_in(list(TERMINAL)))
    )
    return session.scalar(stmt) or 0


def storage_used(session: Session, settings: Settings, user: User) -> int:
    """Bytes under the data directories of the user's runs."""
    total = 0
    for run_id in session.scalars(select(Run.id).where(Run.owner_id == user.id)):
        root = Path(settings.data_dir) / "runs" / run_id
        if root.is_dir():
            total += sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return total


def check_new_run(session: Session, settings: Settings, user: User, jobs: int) -> None:
    """Raise QuotaExceeded (429, try later) or Conflict (409, never fits) before a submission."""
    limits = limits_for(session, user)
    if limits.max_jobs_per_run is not None and jobs > limits.max_jobs_per_run:
        raise Conflict(
            f"the workflow has {jobs} jobs; your quota allows {limits.max_jobs_per_run} per run"
        )
    if limits.max_concurrent_runs is not None:
        running = active_runs(session, user)
        if running >= limits.max_concurrent_runs:
            raise QuotaExceeded(
                f"you have {running} active runs; your quota allows "
                f"{limits.max_concurrent_runs} at once — wait for one to finish"
            )
    if limits.max_storage_bytes is not None:
        used = storage_used(session, settings, user)
        if used >= limits.max_storage_bytes:
            raise QuotaExceeded(
                f"your runs use {used} bytes of your {limits.max_storage_bytes}-byte storage "
                "quota; delete finished runs to make room"
            )
