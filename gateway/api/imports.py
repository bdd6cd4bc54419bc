"""`POST /api/v1/workflows/import`: a Pegasus submit directory, uploaded as a tar.gz, becomes
one of the caller's runs with full provenance (`aerie import` over HTTP).

Uploading the same archive again is harmless: the existing run comes back with 200, nothing
changes. A workflow someone else already owns (or a native Aerie run) is a 409 that does not
say whose it is. Bad archives are 400 naming the file inside the archive; oversized ones 413.

The import runs in the request (the caller wants the run or the reason at once), so this is the
one API module that uses worker code: `worker.pegasus_import` is a plain library (readers plus
provenance rows, no Celery, no engines), allowed by a named exception in the import contract.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile

from gateway.api.scopes import ERRORS, CanWrite
from gateway.api.workflows import run_public
from gateway.db.models import Run
from gateway.deps import SessionDep, SettingsDep
from gateway.errors import AerieError, Conflict, InvalidInput
from gateway.schemas.runs import RunPublic
from gateway.services.run_layout import imports_dir
from worker.pegasus_import.errors import SubmitDirError
from worker.pegasus_import.tarball import ArchiveTooLarge as TooManyBytes
from worker.pegasus_import.tarball import import_tarball

router = APIRouter(prefix="/workflows", tags=["workflows"], responses=ERRORS)

MAX_UPLOAD_BYTES = 2 * 1024**3
"""Compressed size cap; the unpacked tree is capped separately (worker.pegasus_import.tarball)."""

_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["archive"],
                    "properties": {
                        "archive": {
                            "type": "string",
                            "format": "binary",
                            "description": "A tar or tar.gz of one Pegasus submit directory "
                            "(the directory holding braindump.yml, at any depth).",
                        }
                    },
                }
            }
        },
    }
}


class BadArchive(AerieError):
    """The upload is not a usable Pegasus submit directory."""

    status_code = 400
    code = "bad_archive"


class ArchiveTooLarge(AerieError):
    status_code = 413
    code = "too_large"


async def _archive(request: Request) -> UploadFile:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise ArchiveTooLarge(f"the upload is larger than {MAX_UPLOAD_BYTES} bytes")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput("send multipart/form-data with the archive in the field 'archive'")
    form = await request.form(max_files=1, max_fields=10)
    unknown = sorted(set(form.keys()) - {"archive"})
    if unknown:
        raise InvalidInput(
            f"unknown field(s): {', '.join(unknown)}",
            details=[{"field": f, "message": "unknown field"} for f in unknown],
        )
    archive = form.get("archive")
    if not isinstance(archive, UploadFile):
        raise InvalidInput(
            "field 'archive' must be a file: a tar.gz of the submit directory",
            details=[{"field": "archive"}],
        )
    if archive.size is not None and archive.size > MAX_UPLOAD_BYTES:
        raise ArchiveTooLarge(f"the upload is larger than {MAX_UPLOAD_BYTES} bytes")
    return archive


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    response_model=RunPublic,
    openapi_extra=_IMPORT_BODY,
    responses={
        200: {"description": "Imported before by you: the existing run, unchanged"},
        400: {"description": "Not a usable submit directory, or an unsafe archive"},
        409: {"description": "The workflow exists in Aerie and is not yours"},
        413: {"description": "The archive is too large"},
    },
)
async def import_workflow(
    request: Request, principal: CanWrite, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    """Import a Pegasus submit directory (tar.gz in the multipart field `archive`) as a run
    of yours: 201 with the run, or 200 with the same run when it was imported before."""
    archive = await _archive(request)
    imports = imports_dir(settings)
    try:
        result = await run_in_threadpool(
            import_tarball, session, archive.file, principal.user, imports
        )
    except TooManyBytes as exc:
        raise ArchiveTooLarge(str(exc)) from exc
    except IntegrityError as exc:  # the same workflow imported by two requests at once
        raise Conflict("this workflow is being imported by another request; retry") from exc
    except SubmitDirError as exc:
        details = {"file": str(exc.path), "line": exc.line, "field": exc.field}
        raise BadArchive(str(exc), details=[details]) from exc
    finally:
        await archive.close()
    run = session.get(Run, result.run_id)
    assert run is not None
    public = run_public(session, run, principal.user.name)
    return JSONResponse(
        public.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        headers={"Location": public.links["self"]},
    )
