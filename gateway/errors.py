"""Domain errors, and the one place they become HTTP responses.

Services raise these; `install_handlers` turns every one of them (and FastAPI's own validation
and HTTP errors) into `{"error": {"code": ..., "message": ...}}` with the right status, so no
route repeats the translation.

FastAPI is imported only by the handlers and `install_handlers`: services and the `aerie`
command raise these errors without paying for the web framework's import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse


class AerieError(Exception):
    """Base of every error a user may see. Subclasses fix the status and code."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(AerieError):
    """The request is well-formed but its content is not acceptable."""

    status_code = 422
    code = "invalid_input"


class NotFound(AerieError):
    """The object does not exist, or the caller may not see it (never reveal which)."""

    status_code = 404
    code = "not_found"


class Conflict(AerieError):
    """The request clashes with existing data (duplicate name, ...)."""

    status_code = 409
    code = "conflict"


class InvalidTransition(Conflict):
    """A run (or other stateful object) cannot move to the requested state from where it is."""

    code = "invalid_transition"


class Unauthenticated(AerieError):
    """No credentials, or credentials that are wrong, expired or revoked."""

    status_code = 401
    code = "unauthenticated"


class Forbidden(AerieError):
    """The caller is known but may not do this (missing scope, not admin, disabled)."""

    status_code = 403
    code = "forbidden"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON shape of every error response."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
    429: "too_many_requests",
}


async def _aerie_error(_request: Request, exc: Exception) -> JSONResponse:
    from fastapi.responses import JSONResponse

    assert isinstance(exc, AerieError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    assert isinstance(exc, RequestValidationError)
    details = [
        {"location": list(err.get("loc", ())), "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    return JSONResponse(
        error_body("invalid_input", "the request is not valid", details), status_code=422
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


def install_handlers(app: FastAPI) -> None:
    """Register the JSON translations on `app` (called once by `create_app`)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app.add_exception_handler(AerieError, _aerie_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
