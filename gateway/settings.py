"""Aerie's configuration: one typed object read from `AERIE_*` variables and `aerie.toml`.

Precedence (highest first): values passed to `Settings(...)`, environment variables
(`AERIE_DATABASE_URL`, ...), then the TOML file named by `AERIE_CONFIG` (default `./aerie.toml`,
optional). Nothing reads settings at import time: call `get_settings()` (cached) in entry points
and pass the object down, so tests and `create_app(settings)` can use their own.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

SECRET_KEY_FILE = "secret_key"
"""Name of the generated secret inside the data directory."""


class OIDCProvider(BaseModel):
    """One OpenID Connect identity provider people may log in with (CILogon, Keycloak, ...)."""

    name: str = Field(description="Short id used in URLs, e.g. 'cilogon'.")
    issuer: str = Field(description="Issuer URL; discovery is read from its well-known path.")
    client_id: str = Field(description="OAuth client id registered with the provider.")
    client_secret: SecretStr = Field(description="OAuth client secret.")
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "email", "profile"],
        description="Scopes requested at login.",
    )
    display_name: str | None = Field(default=None, description="Label on the login button.")
    kind: Literal["oidc", "oauth2"] = Field(
        default="oidc",
        description="'oidc' (discovery + signed ID token) or 'oauth2' (plain OAuth 2, e.g. "
        "GitHub: set authorize_url, token_url and userinfo_url).",
    )
    authorize_url: str | None = Field(default=None, description="oauth2 only.")
    token_url: str | None = Field(default=None, description="oauth2 only.")
    userinfo_url: str | None = Field(default=None, description="oauth2 only.")


class PolicySettings(BaseModel):
    """What regular users' workflows may name on this host (admins are not confined).

    See docs/security.md. The data directory is never allowed, except each user's own area
    `<data_dir>/users/<user id>/` and the run's own directory.
    """

    input_roots: list[Path] = Field(
        default_factory=list,
        description="Directories any user may read inputs from (file:// replicas, mounts).",
    )
    output_roots: list[Path] = Field(
        default_factory=list,
        description="Directories any user may write to (site catalog directories).",
    )
    executable_roots: list[Path] = Field(
        default_factory=lambda: [Path("/usr/bin"), Path("/bin"), Path("/usr/local/bin")],
        description="Directories installed executables may live in.",
    )
    allow_user_executables: bool = Field(
        default=True,
        description="Whether users may run programs from their own area or stage them "
        "(stageable transformations).",
    )
    url_schemes: list[str] = Field(
        default_factory=lambda: ["http", "https", "scp", "s3"],
        description="URL schemes allowed in catalogs besides file:// (judged by its path).",
    )
    confine_admins: bool = Field(default=False, description="Apply the policy to admins too.")


class LocalEngineSettings(BaseModel):
    """The built-in engine's job sandbox."""

    job_user: str | None = Field(
        default=None,
        description="Unprivileged Unix account every job runs as when the worker runs as "
        "root (e.g. 'aerie-job'); unset runs jobs as the worker's own account.",
    )


def _default_database_url(data: dict[str, Any]) -> str:
    """Embedded default: a SQLite file inside the data directory."""
    data_dir: Path = data["data_dir"]
    return f"sqlite:///{data_dir / 'aerie.db'}"


def _load_or_create_secret(data: dict[str, Any]) -> SecretStr:
    """Read the secret from the data dir, generating it on first use.

    A stable secret keeps session cookies valid across restarts without asking the
    operator to invent one; the file is created with mode 0600.
    """
    data_dir: Path = data["data_dir"]
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return SecretStr(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return SecretStr(value)


class Settings(BaseSettings):
    """Everything an operator can configure. Field order matters: later defaults use `data_dir`."""

    model_config = SettingsConfigDict(
        env_prefix="AERIE_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(
        default=Path("aerie-data"),
        description="Directory for the SQLite database, the generated secret and run files.",
    )
    database_url: str = Field(
        default_factory=_default_database_url,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/aerie.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Celery broker and pub/sub; absent means embedded mode (tasks run "
        "inside `aerie serve`).",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of the gateway, used in links and OIDC redirects.",
    )
    secret_key: SecretStr = Field(
        default_factory=_load_or_create_secret,
        description="Signs session cookies; generated into <data_dir>/secret_key when absent.",
    )
    oidc_providers: list[OIDCProvider] = Field(
        default_factory=list,
        description="OpenID Connect providers (a list of tables in aerie.toml, or JSON in "
        "AERIE_OIDC_PROVIDERS).",
    )
    login_allow: list[str] = Field(
        default_factory=list,
        description="If not empty, only identities matching one entry may log in: an email "
        "domain ('example.org') or an issuer URL ('https://cilogon.org').",
    )
    login_deny: list[str] = Field(
        default_factory=list,
        description="Identities matching an entry (email domain or issuer URL) may not log in.",
    )
    session_max_age: int = Field(
        default=14 * 24 * 3600,
        description="Lifetime of a browser login session, in seconds.",
    )
    policy: PolicySettings = Field(
        default_factory=PolicySettings,
        description="Site policy for regular users' workflows (docs/security.md).",
    )
    local_engine: LocalEngineSettings = Field(
        default_factory=LocalEngineSettings,
        description="Local engine job isolation (docs/security.md).",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        """Resolve once so later `cd`s (Celery, uvicorn reload) cannot move the data."""
        return value.expanduser().resolve()

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: tasks run in the gateway process."""
        return not self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then environment, then the optional TOML file (AERIE_CONFIG)."""
        toml_path = Path(os.environ.get("AERIE_CONFIG", "aerie.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment and `aerie.toml`."""
    return Settings()
