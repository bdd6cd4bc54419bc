"""A NON-editable install works: the wheel carries templates/ and the Alembic scripts, and the
installed `aerie` migrates PostgreSQL and serves the web pages from a directory that is not a
checkout (deploy/Dockerfile installs Aerie exactly this way).

The wheel is built from a copy of the sources (pip's isolated build fetches setuptools); the
fresh venv gets only Aerie itself and borrows the dependencies of the test venv through a
`.pth` path line (which does not activate the test venv's editable install).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "README.md", "gateway", "planner", "worker", "migrations", "templates"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(src), "-w", str(dist)],
        check=True,
        timeout=300,
    )
    (built,) = dist.glob("aerie-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its bin directory."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    return root / "bin"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AERIE_CONFIG": os.devnull}
    env.update(extra)
    return env


def test_the_wheel_carries_templates_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_templates = {
        f"templates/{p.relative_to(REPO / 'templates')}"
        for p in (REPO / "templates").rglob("*.html")
    }
    assert shipped_templates and shipped_templates <= names
    for needed in ("migrations/alembic.ini", "migrations/env.py", "migrations/script.py.mako"):
        assert needed in names
    versions = {p.name for p in (REPO / "migrations" / "versions").glob("*.py")}
    assert versions <= {Path(n).name for n in names if n.startswith("migrations/versions/")}


def test_installed_aerie_is_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import gateway, templates, migrations; "
            "print(gateway.__file__); print(*templates.__path__); print(migrations.__file__)",
        ],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    prefix = str(installed.parent)
    assert all(line.startswith(prefix) for line in out), out


def test_installed_aerie_migrates_postgresql(
    installed: Path, fresh_pg_url: str, tmp_path: Path
) -> None:
    env = _clean_env(AERIE_DATA_DIR=str(tmp_path / "data"), AERIE_DATABASE_URL=fresh_pg_url)
    run = subprocess.run(
        [str(installed / "aerie"), "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    current = subprocess.run(
        [str(installed / "aerie"), "db", "current"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    heads = [p.stem.split("_", 1)[1] for p in (REPO / "migrations" / "versions").glob("2*.py")]
    assert max(heads) in current.stdout + current.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(installed: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`aerie serve` from the installed copy; yields (base URL, one-time login link)."""
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(installed / "aerie"), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=_clean_env(AERIE_DATA_DIR=str(tmp_path / "data")),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"aerie serve did not become ready:\n{log.read_text()}")
            time.sleep(0.2)
        link = re.search(r"(http://\S+/login\?token=\S+)", log.read_text())
        assert link, log.read_text()
        yield base, link.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_installed_aerie_serves_the_pages(served: tuple[str, str]) -> None:
    base, link = served
    home = httpx.get(base + "/", timeout=10)
    assert home.status_code == 200 and "<title>Aerie" in home.text
    with httpx.Client(base_url=base, follow_redirects=True, timeout=10) as browser:
        assert browser.get(link).status_code == 200
        runs = browser.get("/runs")
        assert runs.status_code == 200
        assert "<h1>Your runs</h1>" in runs.text and "Log out" in runs.text
