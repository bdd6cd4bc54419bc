"""API shapes for personal API tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway.auth.tokens import DEFAULT_SCOPES


class TokenCreate(BaseModel):
    """A new token: a name, its scopes (default: everything but admin) and days to live."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="default", min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES))
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)


class TokenPublic(BaseModel):
    """A token as listed: never the secret, only its prefix."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    """The answer to a creation: the only time the secret value is shown."""

    token: str


class TokenList(BaseModel):
    data: list[TokenPublic]
