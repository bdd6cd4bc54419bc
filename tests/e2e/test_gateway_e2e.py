"""The whole gateway, as in production: log in through an OpenID Connect provider, create a
token, submit a Pegasus.api-built workflow over HTTP, follow `/events` until it succeeds, read
its statistics and download an output — against PostgreSQL, Redis and a separate Celery
worker process (with beat) that plans, starts the engine and monitors."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.db import migrate
from gateway.main import create_app
from gateway.settings import Settings
from gateway.tasks import CeleryDispatcher
from tests.e2e.conftest import celery_worker
from tests.gateway.live import csrf_of, log_in, serve
from tests.gateway.pegasus_workflows import EXPECTED_OUTPUT, build_pipeline, multipart
from tests.oidc_provider import free_port, running_provider

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def read_events(client: httpx.Client, url: str, headers: dict[str, str]) -> list[tuple[str, Any]]:
    """Follow a Server-Sent Events stream as it arrives, until its `end` event."""
    events: list[tuple[str, Any]] = []
    with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(120, read=60)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind:
                events.append((kind, json.loads(line[6:])))
                if kind == "end":
                    break
    return events


def test_login_token_submit_follow_events_statistics_download(
    tmp_path: Path,
    fresh_pg_url: str,
    redis_url: str,
    make_settings: Callable[..., Settings],
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clients = {"aerie": {"client_secret": "e2e", "redirect_uris": [f"{base}/auth/callback"]}}
    users = {"ada": {"sub": "ada-1", "email": "ada@lab.example.org", "name": "Ada"}}
    with running_provider(tmp_path, clients=clients, users=users) as issuer:
        provider = {"name": "lab", "issuer": issuer, "client_id": "aerie", "client_secret": "e2e"}
        settings = make_settings(
            tmp_path / "data",
            fresh_pg_url,
            base_url=base,
            redis_url=redis_url,
            oidc_providers=[provider],
        )
        migrate.upgrade(settings.database_url)
        worker_env = {
            "AERIE_DATA_DIR": str(settings.data_dir),
            "AERIE_DATABASE_URL": settings.database_url,
            "AERIE_REDIS_URL": redis_url,
            "AERIE_SECRET_KEY": settings.secret_key.get_secret_value(),
            "PATH": os.environ["PATH"],
        }
        app = create_app(settings)
        assert isinstance(app.state.tasks.dispatcher, CeleryDispatcher)  # nothing in-process
        with (
            celery_worker(worker_env, tmp_path / "worker.log"),
            serve(app, port),
            httpx.Client(follow_redirects=True, timeout=30) as browser,
        ):
            home = log_in(browser, base, "lab", "ada")
            assert "Logged in as <strong>ada</strong>" in home.text
            made = browser.post(
                f"{base}/api/v1/tokens",
                json={"name": "e2e", "scopes": ["workflows:read", "workflows:write"]},
                headers={"X-CSRF-Token": csrf_of(home.text)},
            )
            assert made.status_code == 201, made.text
            auth = {"Authorization": f"Bearer {made.json()['token']}"}

            with httpx.Client(base_url=base, timeout=30) as api:
                submitted = api.post(
                    "/api/v1/workflows",
                    headers=auth,
                    files=multipart(build_pipeline(tmp_path / "wf")),
                    data={"execution_sites": "local", "name": "e2e-pipeline"},
                )
                assert submitted.status_code == 202, submitted.text
                run = submitted.json()
                assert run["owner"] == "ada"

                events = read_events(api, run["links"]["events"], auth)

                states = [d["state"] for k, d in events if k == "state"]
                assert states[0] == "queued"
                assert {"planning", "running"} <= set(states)
                assert events[-1] == ("end", {"run": run["id"], "state": "succeeded"}), (
                    events,
                    (tmp_path / "worker.log").read_text()[-3000:],
                )

                stats = api.get(run["links"]["statistics"], headers=auth).json()
                jobs = stats["summary"]["jobs"]
                assert jobs["failed"] == 0 and jobs["succeeded"] == jobs["total"] >= 3
                transformations = {t["transformation"] for t in stats["transformations"]}
                assert {"upper", "join"} <= transformations

                files = api.get(run["links"]["files"], headers=auth).json()["data"]
                [out] = [f for f in files if f["lfn"] == "f.out"]
                download = api.get(out["download"], headers=auth)
                assert download.status_code == 200
                assert download.text == EXPECTED_OUTPUT

                final = api.get(run["links"]["self"], headers=auth).json()
                assert final["state"] == "succeeded"
                assert final["counts"]["succeeded"] == final["counts"]["total"]

                # Deleting it removes the provenance rows (PostgreSQL cascades) and its files.
                assert api.delete(run["links"]["self"], headers=auth).status_code == 204
                assert api.get(run["links"]["jobs"], headers=auth).status_code == 404
                assert not (settings.data_dir / "runs" / run["id"]).exists()
