"""API shapes for users (kept apart from the ORM so storage and API can change separately)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class UserPublic(BaseModel):
    """A user as other parts of the API show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str | None
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None


class MePublic(UserPublic):
    """The caller, plus what the current credentials allow."""

    scopes: list[str]
    auth: str
    """"token" or "session": how this request was authenticated."""
