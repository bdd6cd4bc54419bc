"""`/api/v1/workflows/{id}/files`: the run's output files (size, sha256) and their download."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import FileResponse

from gateway.api.scopes import ERRORS, CanRead
from gateway.deps import SessionDep, SettingsDep
from gateway.schemas.runs import FileList, FilePublic
from gateway.services import run_details
from gateway.services.runs import get_run_for_user_or_404

router = APIRouter(prefix="/workflows/{run_id}/files", tags=["files"], responses=ERRORS)


@router.get("", response_model=FileList)
def list_files(
    run_id: str, principal: CanRead, session: SessionDep, settings: SettingsDep
) -> FileList:
    """Outputs delivered to the run's output site, with size and sha256."""
    run = get_run_for_user_or_404(session, principal.user, run_id)
    files = run_details.list_files(session, settings, run)
    return FileList(
        data=[
            FilePublic(**f, download=f"/api/v1/workflows/{run.id}/files/{quote(f['lfn'])}")
            for f in files
        ]
    )


@router.get("/{lfn:path}", response_class=FileResponse)
def download_file(
    run_id: str, lfn: str, principal: CanRead, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The bytes of one output file."""
    run = get_run_for_user_or_404(session, principal.user, run_id)
    path = run_details.file_path(settings, run, lfn)
    return FileResponse(path, filename=path.name, media_type="application/octet-stream")
