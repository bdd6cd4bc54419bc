"""API shapes for a person's default catalogs and for admin pages."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class CatalogPublic(BaseModel):
    kind: str
    content: str
    updated_at: datetime


class CatalogPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(description="The catalog YAML (Pegasus 5.0 format).")


class QuotaPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    max_concurrent_runs: int | None = Field(default=None, ge=0)
    max_jobs_per_run: int | None = Field(default=None, ge=0)
    max_storage_bytes: int | None = Field(default=None, ge=0)


class UserAdminPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disabled: bool | None = None
    is_admin: bool | None = None


class UserAdminPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str | None
    is_admin: bool
    disabled: bool
    oidc_issuer: str | None
    created_at: datetime
    last_login_at: datetime | None
