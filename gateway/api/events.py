"""`/api/v1/workflows/{id}/events`: Server-Sent Events of the run's state changes.

Each event is a `run_events` row (its id is the SSE id, so a reconnecting client sends
`Last-Event-ID` and misses nothing). Between reads the stream sleeps on the run's pub/sub
channel (Redis in production, in-process in embedded mode) and re-reads the table at least
every `POLL_SECONDS` anyway, so a lost wake-up only delays an event. The stream ends with an
`end` event once the run is in a final state.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from gateway.api.scopes import ERRORS, CanRead
from gateway.db.models import Run
from gateway.db.session import Database
from gateway.db.states import TERMINAL, RunState
from gateway.deps import SessionDep, SettingsDep
from gateway.services import run_events
from gateway.services.run_layout import status_counts
from gateway.services.runs import get_run_for_user_or_404
from gateway.settings import Settings

router = APIRouter(prefix="/workflows/{run_id}", tags=["workflows"], responses=ERRORS)

POLL_SECONDS = 2.0
KEEPALIVE_SECONDS = 15.0


class _Waker:
    """Sleeps until the run's channel fires or the timeout passes."""

    def __init__(self, settings: Settings, run_id: str) -> None:
        self.name = run_events.channel(settings, run_id)
        self.redis_url = settings.redis_url
        self.pubsub: Any = None
        self.client: Any = None
        self.seen = run_events.LOCAL.version(self.name)

    async def open(self) -> None:
        if not self.redis_url:
            return
        try:
            import redis.asyncio as aioredis

            self.client = aioredis.Redis.from_url(self.redis_url)
            self.pubsub = self.client.pubsub()
            await self.pubsub.subscribe(self.name)
        except Exception:  # no broker: DB polling alone still delivers every event
            await self.close()

    async def wait(self, timeout: float) -> None:
        if self.pubsub is not None:
            try:
                await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
                return
            except Exception:
                await self.close()
        self.seen = await asyncio.to_thread(run_events.LOCAL.wait, self.name, self.seen, timeout)

    async def close(self) -> None:
        pubsub, client = self.pubsub, self.client
        self.pubsub = self.client = None
        try:
            if pubsub is not None:
                await pubsub.aclose()
            if client is not None:
                await client.aclose()
        except Exception:
            pass


def _read(db: Database, run_id: str, after: int) -> tuple[list[dict[str, Any]], str | None]:
    with db.session_scope() as session:
        run = session.get(Run, run_id)
        if run is None:
            return [], None
        rows = run_events.events_after(session, run_id, after)
        counts = status_counts(session, run) if rows else {}
        out = [
            {
                "id": row.id,
                "at": row.at.isoformat(),
                "state": row.state,
                "detail": row.detail,
                "run": run_id,
                "counts": counts,
            }
            for row in rows
        ]
        return out, RunState(run.state).value


def _sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    run_id: str,
    request: Request,
    principal: CanRead,
    session: SessionDep,
    settings: SettingsDep,
    after: int = Query(default=0, ge=0, description="Only events with a larger id."),
    last_event_id: str | None = Header(default=None),
) -> StreamingResponse:
    """State changes as they happen (`event: state`), then `event: end` once it is over."""
    run = await run_in_threadpool(get_run_for_user_or_404, session, principal.user, run_id)
    start = after
    if last_event_id and last_event_id.isdigit():
        start = max(start, int(last_event_id))
    db: Database = request.app.state.db
    run_id = run.id

    async def stream() -> AsyncIterator[str]:
        waker = _Waker(settings, run_id)
        await waker.open()
        cursor = start
        idle = 0.0
        try:
            yield "retry: 2000\n\n"
            while True:
                rows, state = await run_in_threadpool(_read, db, run_id, cursor)
                for row in rows:
                    cursor = row["id"]
                    yield _sse("state", row, row["id"])
                if state is None or RunState(state) in TERMINAL:
                    yield _sse("end", {"run": run_id, "state": state or "deleted"})
                    return
                if await request.is_disconnected():
                    return
                if rows:
                    idle = 0.0
                elif idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield ": keep-alive\n\n"
                await waker.wait(POLL_SECONDS)
                idle += POLL_SECONDS
        finally:
            await waker.close()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
