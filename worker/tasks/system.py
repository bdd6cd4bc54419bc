"""Housekeeping tasks that exist in every deployment; `system.ping` proves the task path works."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="system.ping")
def ping(message: str = "pong") -> str:
    """Echo `message`: used by tests and operators to check that tasks actually run."""
    return message
