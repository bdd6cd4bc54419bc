"""`/api/v1/me`: who the caller is. The simplest way to check a token works."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.auth.tokens import ALL_SCOPES
from gateway.deps import PrincipalDep
from gateway.schemas.users import MePublic, UserPublic

router = APIRouter(tags=["users"])


@router.get("/me", response_model=MePublic)
def read_me(principal: PrincipalDep) -> MePublic:
    """The authenticated user and the scopes of the credentials used."""
    public = UserPublic.model_validate(principal.user)
    return MePublic(
        **public.model_dump(),
        scopes=[s for s in ALL_SCOPES if s in principal.scopes],
        auth="token" if principal.token is not None else "session",
    )
