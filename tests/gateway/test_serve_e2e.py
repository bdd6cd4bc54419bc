"""`aerie serve` as a new user runs it: a real process, a printed link, a browser-like client."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

AERIE = str(Path(sys.executable).with_name("aerie"))
LINK = re.compile(r"(http://\S+/login\?token=\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def aerie_serve(workdir: Path, port: int) -> Iterator[str]:
    """Start `aerie serve` in `workdir` (default data dir), yield its login link, stop it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AERIE_")}
    proc = subprocess.Popen(
        [AERIE, "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        output: list[str] = []
        link = None
        deadline = time.monotonic() + 60
        while link is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output.append(line)
            if match := LINK.search(line):
                link = match.group(1)
        assert link is not None, "no login link printed:\n" + "".join(output)
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield link
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_fresh_install_serves_and_logs_in_the_admin_once(tmp_path: Path) -> None:
    port = free_port()
    with aerie_serve(tmp_path, port) as link:
        assert link.startswith(f"http://127.0.0.1:{port}/login?token=")
        assert (tmp_path / "aerie-data" / "aerie.db").exists()

        with httpx.Client(follow_redirects=True) as browser:
            home = browser.get(link)
            assert home.status_code == 200
            assert "Logged in as <strong>admin</strong>" in home.text
            me = browser.get(f"http://127.0.0.1:{port}/api/v1/me").json()
            assert me["name"] == "admin"
            assert me["is_admin"] is True

        again = httpx.get(link)
        assert again.status_code == 403

        ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200, ready.text

    # A restart prints a new link for the same admin; the old one stays dead.
    with aerie_serve(tmp_path, port) as second_link:
        assert second_link != link
        assert httpx.get(link).status_code == 403
        with httpx.Client(follow_redirects=True) as browser:
            assert "Logged in as <strong>admin</strong>" in browser.get(second_link).text


def test_cli_tokens_work_against_the_running_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AERIE_")}
    port = free_port()
    with aerie_serve(tmp_path, port):
        subprocess.run([AERIE, "users", "create", "carol"], cwd=tmp_path, env=env, check=True)
        token = subprocess.run(
            [AERIE, "tokens", "create", "carol"],
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

        me = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert me.status_code == 200
        assert me.json()["name"] == "carol"
