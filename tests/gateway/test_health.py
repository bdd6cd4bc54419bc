"""`/healthz` and `/readyz`: readiness names exactly what is not ready.

A stopped database is simulated with a TCP proxy in front of the real PostgreSQL server: the
app connects through it, then the proxy is shut down (connections cut, new ones refused),
which is what the gateway sees when the database server stops.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from gateway.db import migrate
from gateway.main import create_app
from gateway.settings import Settings


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream address until stopped; restartable."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


@pytest.fixture
def stoppable_db(
    pg_url: str, db_engine: object, tmp_path: Path, make_settings: Callable[..., Settings]
) -> Iterator[tuple[Settings, TcpProxy]]:
    """Settings whose database URL goes through a proxy we can stop (schema already at head)."""
    url = make_url(pg_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    yield make_settings(tmp_path / "data", proxied), proxy
    proxy.stop()


def test_healthz_answers_without_credentials(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_everything_is_up(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["not_ready"] == []
    assert set(body["checks"]) == {"database", "migrations", "broker"}
    assert "embedded" in body["checks"]["broker"]["detail"]


def test_readyz_reports_a_stopped_database(stoppable_db: tuple[Settings, TcpProxy]) -> None:
    settings, proxy = stoppable_db
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200

        proxy.stop()
        stopped = client.get("/readyz")

        assert stopped.status_code == 503
        body = stopped.json()
        assert body["status"] == "not ready"
        assert "database" in body["not_ready"]
        assert body["checks"]["database"]["ok"] is False
        assert "unreachable" in body["checks"]["database"]["detail"]
        assert client.get("/healthz").status_code == 200

        proxy.start()
        assert client.get("/readyz").status_code == 200
    app.state.db.dispose()


def test_readyz_reports_missing_migrations(sqlite_settings: Settings) -> None:
    """An empty database is reachable but not ready: the operator must run `aerie db upgrade`."""
    with TestClient(create_app(sqlite_settings)) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["not_ready"] == ["migrations"]
    assert "aerie db upgrade" in body["checks"]["migrations"]["detail"]


def test_readyz_reports_an_unreachable_broker(sqlite_settings: Settings) -> None:
    migrate.upgrade(sqlite_settings.database_url)
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = sqlite_settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{closed_port}/0"}
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["not_ready"] == ["broker"]


@pytest.mark.redis
def test_readyz_with_a_live_broker(sqlite_settings: Settings) -> None:
    migrate.upgrade(sqlite_settings.database_url)
    settings = sqlite_settings.model_copy(update={"redis_url": "redis://127.0.0.1:6379/0"})
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == {"ok": True, "detail": "reachable"}
