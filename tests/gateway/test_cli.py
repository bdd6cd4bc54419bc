"""The `aerie` command as an operator uses it: users, tokens and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from gateway.cli import main
from gateway.main import create_app
from gateway.settings import Settings, get_settings


@pytest.fixture
def aerie(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    """A runner whose commands see a fresh data dir (embedded SQLite) unless told otherwise."""
    monkeypatch.setenv("AERIE_DATA_DIR", str(tmp_path / "aerie-data"))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, aerie: CliRunner
) -> str:
    """Run the test on the embedded SQLite file and on a fresh, migrated PostgreSQL database."""
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_pg_url")
        monkeypatch.setenv("AERIE_DATABASE_URL", url)
        get_settings.cache_clear()
        run(aerie, "db", "upgrade")
    return request.param


def run(runner: CliRunner, *args: str, ok: bool = True) -> Result:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["worker"],
        ["beat"],
        ["db"],
        ["db", "upgrade"],
        ["db", "downgrade"],
        ["db", "current"],
        ["users"],
        ["users", "create"],
        ["users", "list"],
        ["tokens"],
        ["tokens", "create"],
        ["tokens", "list"],
        ["tokens", "revoke"],
    ],
    ids=lambda c: " ".join(c) or "aerie",
)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_serve_help_lists_the_settings() -> None:
    output = CliRunner().invoke(main, ["serve", "--help"]).output
    for name in Settings.model_fields:
        assert f"AERIE_{name.upper()}" in output


def test_users_create_and_list(aerie: CliRunner, backend: str) -> None:
    created = run(aerie, "users", "create", "alice", "--email", "alice@example.org", "--admin")
    run(aerie, "users", "create", "bob")

    listing = run(aerie, "users", "list").output

    assert "created user alice" in created.output
    assert "alice@example.org" in listing
    lines = {line.split()[1]: line for line in listing.splitlines()[1:]}
    assert set(lines) == {"alice", "bob"}
    assert " yes " in lines["alice"]
    assert " no " in lines["bob"]


def test_duplicate_and_invalid_names_are_refused(aerie: CliRunner, backend: str) -> None:
    run(aerie, "users", "create", "alice")

    duplicate = run(aerie, "users", "create", "alice", ok=False)
    invalid = run(aerie, "users", "create", "Not A Name", ok=False)

    assert "already exists" in duplicate.output
    assert "invalid user name" in invalid.output


def test_token_lifecycle_through_the_api(aerie: CliRunner, backend: str) -> None:
    run(aerie, "users", "create", "alice")
    created = run(aerie, "tokens", "create", "alice", "--name", "laptop", "--expires-in", "7")
    token = created.stdout.strip()
    assert token.startswith("aerie_")

    listing = run(aerie, "tokens", "list", "alice").output
    assert "laptop" in listing
    assert "active" in listing
    assert token not in listing
    assert token[:14] in listing  # the prefix identifies it

    app = create_app(get_settings())
    with TestClient(app) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["name"] == "alice"
        assert me.json()["scopes"] == ["workflows:read", "workflows:write", "provision:write"]

        token_id = listing.splitlines()[1].split()[0]
        run(aerie, "tokens", "revoke", token_id)
        after = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert after.status_code == 401
        assert after.json()["error"]["message"] == "token has been revoked"
    app.state.db.dispose()
    assert "revoked" in run(aerie, "tokens", "list", "alice").output


def test_token_scopes_option(aerie: CliRunner) -> None:
    run(aerie, "users", "create", "alice")
    run(aerie, "users", "create", "root", "--admin")

    narrow = run(aerie, "tokens", "create", "alice", "--scopes", "workflows:read")
    several = run(aerie, "tokens", "create", "root", "--scopes", "admin,workflows:read")
    refused = run(aerie, "tokens", "create", "alice", "--scopes", "admin", ok=False)
    unknown = run(aerie, "tokens", "create", "alice", "--scopes", "everything", ok=False)

    assert "(workflows:read)" in narrow.stderr
    assert "(workflows:read admin)" in several.stderr
    assert "not an admin" in refused.output
    assert "unknown scope(s): everything" in unknown.output


def test_token_for_unknown_user_or_id(aerie: CliRunner) -> None:
    assert "no user named 'ghost'" in run(aerie, "tokens", "create", "ghost", ok=False).output
    assert "no token with id 99" in run(aerie, "tokens", "revoke", "99", ok=False).output


def test_db_commands_on_postgresql(
    aerie: CliRunner, monkeypatch: pytest.MonkeyPatch, fresh_pg_url: str
) -> None:
    monkeypatch.setenv("AERIE_DATABASE_URL", fresh_pg_url)
    get_settings.cache_clear()

    assert "empty" in run(aerie, "db", "current").output
    refused = run(aerie, "users", "list", ok=False)
    assert "aerie db upgrade" in refused.output

    run(aerie, "db", "upgrade")
    assert "(at head)" in run(aerie, "db", "current").output
    run(aerie, "db", "downgrade", "base")
    assert "empty" in run(aerie, "db", "current").output


def test_worker_needs_a_broker(aerie: CliRunner) -> None:
    assert "AERIE_REDIS_URL is not set" in run(aerie, "worker", ok=False).output
    assert "AERIE_REDIS_URL is not set" in run(aerie, "beat", ok=False).output


def test_bad_configuration_is_a_clean_error(
    aerie: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AERIE_SESSION_MAX_AGE", "forever")
    get_settings.cache_clear()

    result = run(aerie, "users", "list", ok=False)

    assert "invalid configuration" in result.output
    assert "session_max_age" in result.output
