"""Configuration comes from arguments, AERIE_* variables and aerie.toml, in that order."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gateway.settings import SECRET_KEY_FILE, Settings


def test_embedded_defaults_live_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")

    assert settings.database_url == f"sqlite:///{tmp_path / 'd' / 'aerie.db'}"
    assert settings.embedded
    assert settings.redis_url is None
    assert settings.base_url == "http://127.0.0.1:8000"


def test_relative_data_dir_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings().data_dir == tmp_path / "aerie-data"


def test_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).secret_key.get_secret_value()
    second = Settings(data_dir=tmp_path).secret_key.get_secret_value()

    assert first == second
    assert len(first) >= 32
    mode = stat.S_IMODE((tmp_path / SECRET_KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert first not in repr(Settings(data_dir=tmp_path))


def test_environment_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AERIE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AERIE_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("AERIE_DATABASE_URL", "postgresql+psycopg://aerie@db/aerie")
    monkeypatch.setenv("AERIE_SECRET_KEY", "from-env")

    settings = Settings()

    assert settings.data_dir == tmp_path
    assert not settings.embedded
    assert settings.database_url == "postgresql+psycopg://aerie@db/aerie"
    assert settings.secret_key.get_secret_value() == "from-env"
    assert not (tmp_path / SECRET_KEY_FILE).exists()


def test_toml_file_with_oidc_providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "aerie.toml"
    config.write_text(
        f"""
data_dir = "{tmp_path / "from-toml"}"
base_url = "https://aerie.example.org"

[[oidc_providers]]
name = "cilogon"
issuer = "https://cilogon.org"
client_id = "cilogon:/client_id/123"
client_secret = "shh"
"""
    )
    monkeypatch.setenv("AERIE_CONFIG", str(config))
    monkeypatch.setenv("AERIE_BASE_URL", "https://env-wins.example.org")

    settings = Settings()

    assert settings.data_dir == tmp_path / "from-toml"
    assert settings.base_url == "https://env-wins.example.org"
    [provider] = settings.oidc_providers
    assert provider.name == "cilogon"
    assert provider.client_secret.get_secret_value() == "shh"
    assert provider.scopes == ["openid", "email", "profile"]


def test_aerie_toml_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AERIE_CONFIG")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "aerie.toml").write_text('redis_url = "redis://127.0.0.1:6379/3"\n')

    assert Settings().redis_url == "redis://127.0.0.1:6379/3"
