"""Shapes of /healthz and /readyz."""

from __future__ import annotations

from pydantic import BaseModel


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: str
    """"ready" or "not ready"."""
    checks: dict[str, Check]
    not_ready: list[str]
