"""Small things a person in a browser notices: labels read as the same text as in the API,
unknown addresses get the HTML 404 page, and logging in returns to the page asked for."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway.db import migrate
from gateway.db.models import Run
from gateway.main import create_app
from gateway.services import users as user_service
from gateway.settings import Settings


@pytest.fixture
def client(sqlite_settings: Settings) -> Iterator[TestClient]:
    migrate.upgrade(sqlite_settings.database_url)
    with TestClient(create_app(sqlite_settings)) as test_client:
        yield test_client


def _user(client: TestClient, name: str) -> int:
    with client.app.state.db.session_scope() as session:  # type: ignore[attr-defined]
        return user_service.create_user(session, name=name).id


def _link(client: TestClient, user_id: int) -> str:
    return str(client.app.state.login_links.issue(user_id))  # type: ignore[attr-defined]


def test_dashboard_labels_and_filter_speak_the_apis_text(client: TestClient) -> None:
    alice = _user(client, "alice")
    with client.app.state.db.session_scope() as session:  # type: ignore[attr-defined]
        # rows as the importer wrote them before labels were text, and as the form writes them
        legacy = {"imported": True, "reviewed": True}
        session.add(Run(owner_id=alice, name="old-import", engine="pegasus-import",
                        labels=legacy, state="succeeded"))  # fmt: skip
        session.add(Run(owner_id=alice, name="native", engine="local",
                        labels={"reviewed": "true"}, state="succeeded"))  # fmt: skip
    client.get("/login", params={"token": _link(client, alice)})

    page = client.get("/runs", params={"label": "reviewed=true"})
    assert page.status_code == 200
    assert "old-import" in page.text and "native" in page.text
    chips = re.findall(r'<span class="chip">([^<]*)</span>', page.text)
    assert chips.count("reviewed=true") == 2 and "reviewed=True" not in page.text
    only_imports = client.get("/runs", params={"label": "imported=true"}).text
    assert "old-import" in only_imports and "native" not in only_imports
