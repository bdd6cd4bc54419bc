"""`/api/v1/tokens`: personal API tokens (create — shown once —, list, revoke)."""

from __future__ import annotations

from fastapi import APIRouter, status

from gateway.auth import tokens as tokenlib
from gateway.db.models import ApiToken
from gateway.deps import PrincipalDep, SessionDep
from gateway.errors import Forbidden, InvalidInput, NotFound
from gateway.schemas.tokens import TokenCreate, TokenCreated, TokenList, TokenPublic
from gateway.services import tokens as token_service

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
def create_token(body: TokenCreate, principal: PrincipalDep, session: SessionDep) -> TokenCreated:
    """Create a token for yourself. A token can only mint tokens with scopes it holds itself."""
    try:
        wanted = tokenlib.normalize_scopes(body.scopes)
    except ValueError as exc:
        raise InvalidInput(str(exc), details=[{"field": "scopes"}]) from exc
    missing = [s for s in wanted if not principal.has_scope(s)]
    if missing:
        raise Forbidden(f"your credentials do not hold the scope(s): {', '.join(missing)}")
    created = token_service.create_token(
        session,
        user=principal.user,
        name=body.name,
        scopes=wanted,
        expires_in_days=body.expires_in_days,
        actor=principal.user,
    )
    public = TokenPublic.model_validate(created.token)
    return TokenCreated(**public.model_dump(), token=created.value)


@router.get("", response_model=TokenList)
def list_tokens(principal: PrincipalDep, session: SessionDep) -> TokenList:
    """Your tokens (prefixes only), including revoked and expired ones."""
    tokens = token_service.list_tokens(session, user=principal.user)
    return TokenList(data=[TokenPublic.model_validate(t) for t in tokens])


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, principal: PrincipalDep, session: SessionDep) -> None:
    """Revoke one of your tokens (idempotent). Others' tokens are 'not found'."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != principal.user.id:
        raise NotFound(f"no token with id {token_id}")
    token_service.revoke_token(session, token_id=token_id, actor=principal.user)
