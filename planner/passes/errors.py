"""Planning errors in the shape ``planner.errors`` defines (a ``PlanningError`` of Problems)."""

from __future__ import annotations

from planner.errors import PlanningError, Problem


def fail(path: str, message: str, code: str = "planning", file: str | None = None) -> PlanningError:
    """One-problem ``PlanningError``: ``path`` is the field or option at fault (e.g.
    ``jobs[ID0000002]``, ``--staging-site``), ``code`` names the rule that was broken."""
    return PlanningError([Problem(file=file, line=None, path=path, message=message, code=code)])
