"""Planner test fixtures shared by the input and compile tests (data helpers: planner_testdata.py).

- `examples_dir` (session): a copy of `shared/pegasus/examples` with `/EXAMPLES_DIR` replaced by
  the copy's absolute path in every YAML and properties file, ready to load and plan.
- `write_yaml(name, text)`: write a dedented YAML document into the test's tmp_path.
- `api_diamond` / `api_catalogs` / `api_hierarchical`: workflows built with the official
  `Pegasus.api` into tmp_path (see `planner_testdata`); each returns a dict of paths.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from planner_testdata import PEGASUS, build_api_diamond, build_api_hierarchical


@pytest.fixture(scope="session")
def examples_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("pegasus-examples") / "examples"
    shutil.copytree(PEGASUS / "examples", dest)
    for p in dest.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
        if p.is_file() and p.suffix in (".yml", ".yaml", ".properties"):
            p.write_text(p.read_text().replace("/EXAMPLES_DIR", str(dest)))
    return dest


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"))
        return p

    return write


@pytest.fixture
def api_diamond(tmp_path: Path) -> dict[str, Path]:
    return build_api_diamond(tmp_path / "diamond", inline=True)


@pytest.fixture
def api_catalogs(tmp_path: Path) -> dict[str, Path]:
    return build_api_diamond(tmp_path / "diamond-files", inline=False)


@pytest.fixture
def api_hierarchical(tmp_path: Path) -> dict[str, Path]:
    return build_api_hierarchical(tmp_path / "hierarchical")
