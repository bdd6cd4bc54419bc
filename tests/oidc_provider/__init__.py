"""A real OpenID Connect provider process on loopback, for login tests.

`running_provider(tmp_path, clients=..., users=...)` starts `python -m tests.oidc_provider` in a
subprocess on a free port, waits for its discovery document, yields its issuer URL and stops
it afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before serving {url}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def running_provider(
    workdir: Path, *, clients: dict[str, dict[str, Any]], users: dict[str, dict[str, Any]]
) -> Iterator[str]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = workdir / f"oidc-provider-{port}.json"
    config.write_text(json.dumps({"issuer": issuer, "clients": clients, "users": users}))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider", str(config), str(port)], cwd=REPO, env=env
    )
    try:
        wait_for_http(f"{issuer}/.well-known/openid-configuration", proc)
        yield issuer
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
