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


def test_unknown_pages_are_the_html_404_page_and_the_api_stays_json(client: TestClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at /no-such-page" in page.text and "Not logged in" in page.text
    wrong_method = client.delete("/runs")
    assert wrong_method.status_code == 405 and "text/html" in wrong_method.headers["content-type"]

    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    api_method = client.delete("/api/v1/workflows")
    assert api_method.status_code == 405 and api_method.json()["error"]["code"]

    client.get("/login", params={"token": _link(client, _user(client, "carol"))})
    assert "Logged in as <strong>carol</strong>" in client.get("/still-not-a-page").text


def test_a_login_link_returns_to_the_page_that_asked_for_it(client: TestClient) -> None:
    dave = _user(client, "dave")
    asked = client.get("/runs?state=failed", follow_redirects=False)
    assert asked.headers["location"] == "/?next=/runs%3Fstate%3Dfailed"
    assert "one-time login link" in client.get(asked.headers["location"]).text
    landed = client.get("/login", params={"token": _link(client, dave)}, follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/runs?state=failed"

    # an explicit next on the link itself, and none remembered any more afterwards
    again = client.get("/login", params={"token": _link(client, dave), "next": "/tokens"},
                       follow_redirects=False)  # fmt: skip
    assert again.headers["location"] == "/tokens"
    plain = client.get("/login", params={"token": _link(client, dave)}, follow_redirects=False)
    assert plain.headers["location"] == "/"
    # already logged in: the home page forwards to next at once
    forwarded = client.get("/", params={"next": "/runs/new"}, follow_redirects=False)
    assert forwarded.status_code == 303 and forwarded.headers["location"] == "/runs/new"


EVIL = ["//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)", "/\t/evil.com",
        "evil.com", "http:/evil.com"]  # fmt: skip


@pytest.mark.parametrize("target", EVIL)
def test_next_never_leaves_the_site(client: TestClient, target: str) -> None:
    erin = _user(client, "erin")
    client.get("/", params={"next": target})  # remembered only if it were a path here
    landed = client.get("/login", params={"token": _link(client, erin)}, follow_redirects=False)
    assert landed.headers["location"] == "/"
    explicit = client.get("/login", params={"token": _link(client, erin), "next": target},
                          follow_redirects=False)  # fmt: skip
    assert explicit.headers["location"] == "/"
    home = client.get("/", params={"next": target}, follow_redirects=False)
    assert home.status_code == 200  # logged in, but no redirect to another site
