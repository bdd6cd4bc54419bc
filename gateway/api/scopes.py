"""The scope dependencies of the API, named once: routes read `principal: CanRead`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from gateway.auth import tokens as tokenlib
from gateway.deps import Principal, require_scope

CanRead = Annotated[Principal, Depends(require_scope(tokenlib.SCOPE_WORKFLOWS_READ))]
CanWrite = Annotated[Principal, Depends(require_scope(tokenlib.SCOPE_WORKFLOWS_WRITE))]
IsAdmin = Annotated[Principal, Depends(require_scope(tokenlib.SCOPE_ADMIN))]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated"},
    403: {"description": "Missing scope"},
    404: {"description": "Not found (or not yours)"},
    422: {"description": "Invalid input"},
}
"""Documented error answers; every error body is `{"error": {"code", "message", "details"}}`."""
