"""`/api/v1/{sites,transformations,replicas}`: your default catalogs.

A submission that does not upload a catalog of a kind uses yours. `PUT` accepts the YAML as the
raw body (`application/yaml` / `text/plain`) or as JSON `{"content": "..."}`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool

from gateway.api.scopes import ERRORS, CanRead, CanWrite
from gateway.deps import SessionDep
from gateway.errors import InvalidInput
from gateway.schemas.catalogs import CatalogPublic, CatalogPut
from gateway.services import catalogs as catalog_service

router = APIRouter(tags=["catalogs"], responses=ERRORS)

_PUT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": CatalogPut.model_json_schema()},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


def _public(kind: str, row: Any) -> CatalogPublic:
    return CatalogPublic(kind=kind, content=row.content, updated_at=row.updated_at)


async def _content(request: Request) -> str:
    raw = await request.body()
    if len(raw) > 20 * 1024 * 1024:
        raise InvalidInput("the catalog is larger than 20 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the catalog is not UTF-8 text") from exc
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            return CatalogPut.model_validate_json(text).content
        except ValueError as exc:
            raise InvalidInput(
                'expected {"content": "<yaml>"}', details=[{"field": "content"}]
            ) from exc
    return text


def _routes(kind: str) -> None:
    path = f"/{kind}"

    @router.get(path, response_model=CatalogPublic, name=f"read_{kind}")
    def read_catalog(principal: CanRead, session: SessionDep) -> CatalogPublic:
        row = catalog_service.get_catalog_or_404(session, principal.user, kind)
        return _public(kind, row)

    @router.put(path, response_model=CatalogPublic, openapi_extra=_PUT_BODY, name=f"put_{kind}")
    async def put_catalog(
        request: Request, principal: CanWrite, session: SessionDep
    ) -> CatalogPublic:
        content = await _content(request)
        row = await run_in_threadpool(
            catalog_service.put_catalog, session, principal.user, kind, content
        )
        return _public(kind, row)

    @router.delete(path, status_code=status.HTTP_204_NO_CONTENT, name=f"delete_{kind}")
    def delete_catalog(principal: CanWrite, session: SessionDep) -> None:
        catalog_service.delete_catalog(session, principal.user, kind)

    read_catalog.__doc__ = f"Your default {kind} catalog."
    put_catalog.__doc__ = f"Replace your default {kind} catalog (validated like an upload)."
    delete_catalog.__doc__ = f"Forget your default {kind} catalog."


for _kind in catalog_service.KINDS:
    _routes(_kind)
