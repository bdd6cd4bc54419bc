"""OpenAPI-driven tests: schemathesis generates requests from `/openapi.json` for every
operation; none may answer with a 5xx, and every error body carries a code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from gateway.settings import Settings
from tests.gateway.api.conftest import Embedded, make_embedded

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzz_world(
    tmp_path_factory: pytest.TempPathFactory, make_settings: Callable[..., Settings]
) -> Iterator[tuple[Embedded, dict[str, str]]]:
    for e in make_embedded(tmp_path_factory.mktemp("fuzz") / "data", make_settings):
        _, headers = e.user("fuzzer", is_admin=True)
        yield e, headers


@pytest.fixture(scope="module")
def api_schema(fuzz_world: tuple[Embedded, dict[str, str]]) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_world[0].app)


@pytest.fixture
def auth(fuzz_world: tuple[Embedded, dict[str, str]]) -> dict[str, str]:
    return fuzz_world[1]


def test_openapi_document_is_served(fuzz_world: tuple[Embedded, dict[str, str]]) -> None:
    e, _ = fuzz_world
    spec = e.client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"/api/v1/workflows", "/api/v1/workflows/{run_id}/events", "/api/v1/tokens"} <= set(
        paths
    )
    body = paths["/api/v1/workflows"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(body)
    assert e.client.get("/docs").status_code == 200


def test_no_request_gets_a_server_error(api_schema: Any, auth: dict[str, str]) -> None:
    """Every operation, ~15 generated requests each (positive and negative data)."""
    failures: list[str] = []
    calls: dict[str, int] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @hypothesis_settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers=auth)
            label = f"{case.method} {case.path}"
            calls[label] = calls.get(label, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            elif response.status_code >= 400:
                assert "code" in response.json()["error"], (case.path, response.text)

        check()
    assert failures == []
    assert len(calls) >= 30, sorted(calls)  # every operation was exercised
    assert calls["POST /api/v1/workflows"] >= 5
    assert calls["POST /api/v1/workflows/import"] >= 5
