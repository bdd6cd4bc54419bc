"""The `aerie` command's start-up: every command is listed and has help, and a command imports
only what it uses (FastAPI, Celery, Alembic, SQLAlchemy are for the commands that need them).

What a process imports is its start-up cost, so the import tests run `aerie` in a fresh
interpreter; there are no timing assertions (see bench/cli_bench.py for the numbers).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gateway.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[2]

EVERY_COMMAND = {
    *("serve", "worker", "beat", "db", "users", "tokens", "import", "engine"),
    *("status", "analyze", "statistics", "validate", "plan", "run", "remove"),
}
"""What `aerie` offers; a command leaving the table must be removed here too, on purpose."""

HEAVY = ("fastapi", "starlette", "celery", "kombu", "alembic", "sqlalchemy", "uvicorn")

IMPORTED = f"""\
import sys
from gateway.cli import main
try:
    main(sys.argv[1:], prog_name="aerie")
finally:
    heavy = {{m.split(".")[0] for m in sys.modules}} & {set(HEAVY)!r}
    print("HEAVY=" + ",".join(sorted(heavy)), file=sys.stderr)
"""


def aerie_imports(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> tuple[int, str, set[str]]:
    """Run `aerie ARGS` in a fresh interpreter: exit code, stdout, heavy packages it imported."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORTED, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("HEAVY="), done.stderr
    return done.returncode, done.stdout, {m for m in last[len("HEAVY=") :].split(",") if m}


def walk(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under `command` (groups and their subcommands)."""
    paths = [path]
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, (*path, name)
            paths += walk(sub, (*path, name))
    return paths


def test_help_lists_every_command_of_the_table_with_its_short_help() -> None:
    code, out, _ = aerie_imports("--help")
    assert code == 0, out
    listed = out.split("Commands:\n", 1)[1]
    names = [line.split()[0] for line in listed.splitlines() if line.strip()]
    assert names == sorted(COMMANDS)
    assert set(names) == EVERY_COMMAND
    rows = {
        m["name"]: m["help"]
        for m in re.finditer(r"^  (?P<name>\S+)\s+(?P<help>.*)$", listed, re.MULTILINE)
    }
    for name, (_, short_help) in COMMANDS.items():
        shown = rows[name]
        # click shortens to the terminal width with "..."; what is shown starts the short help
        assert short_help.startswith(shown.removesuffix("...")), (name, shown)


def test_the_table_short_help_is_the_command_docstring() -> None:
    for name, (target, short_help) in COMMANDS.items():
        command = main.load_command(name)
        assert command.callback is not None
        assert target.endswith(":" + command.callback.__name__), (name, target)
        assert command.get_short_help_str(10_000) == short_help, name
        assert main.get_command(click.Context(main), name) is command


@pytest.mark.parametrize("width", [40, 80, 200])
def test_help_is_the_same_as_with_every_command_loaded(width: int) -> None:
    """The stand-ins `aerie --help` lists (nothing imported) print what the real commands do."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": str(width)}
    load_all = (
        "from gateway.cli import COMMANDS, main\nfor name in COMMANDS: main.load_command(name)"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", f"{setup}\nmain(prog_name='aerie')", "--help"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=120,
        )
        for setup in ("from gateway.cli import main", load_all)
    ]
    lazy, loaded = outputs
    assert lazy.returncode == 0, lazy.stderr
    assert loaded.returncode == 0, loaded.stderr
    assert "Commands:" in lazy.stdout
    assert lazy.stdout == loaded.stdout


@pytest.mark.parametrize("path", walk(main), ids=lambda p: " ".join(p) or "aerie")
def test_every_listed_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="aerie")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: {' '.join(('aerie', *path))} ")


def test_unknown_command_is_refused_with_a_suggestion() -> None:
    result = CliRunner().invoke(main, ["statu"])
    assert result.exit_code == 2
    assert "No such command 'statu'." in result.output
    if hasattr(click.exceptions, "NoSuchCommand"):  # click >= 8.4 suggests close names
        assert "Did you mean 'status'?" in result.output


def test_tokens_default_expiry_is_the_services() -> None:
    from gateway.cli import tokens
    from gateway.services.tokens import DEFAULT_EXPIRES_IN_DAYS

    assert tokens.DEFAULT_EXPIRES_IN_DAYS == DEFAULT_EXPIRES_IN_DAYS


@pytest.mark.parametrize(
    "args", [["--help"], ["validate", "--help"], ["plan", "--help"], ["run", "--help"]]
)
def test_help_imports_no_web_task_or_database_framework(args: list[str]) -> None:
    code, _, heavy = aerie_imports(*args)
    assert code == 0
    assert heavy == set()


def test_validate_and_plan_import_no_web_task_or_migration_framework(tmp_path: Path) -> None:
    workflow = tmp_path / "workflow.yml"
    workflow.write_text("pegasus: '5.0'\nname: broken\njobs: []\n")

    for args in (
        ["validate", str(workflow)],
        ["plan", str(workflow), "-o", str(tmp_path / "submit")],
    ):
        code, _, heavy = aerie_imports(*args, cwd=tmp_path)
        assert code == 1, args
        assert heavy.isdisjoint({"fastapi", "starlette", "celery", "alembic"}), (args, heavy)


def test_status_imports_neither_fastapi_nor_celery(tmp_path: Path) -> None:
    code, _, heavy = aerie_imports("status", "--help")
    assert code == 0
    assert heavy.isdisjoint({"fastapi", "starlette", "celery", "kombu"})

    # a real query: settings, the embedded database migrated, the services, the monitor
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AERIE_DATA_DIR": str(tmp_path)}
    code, out, heavy = aerie_imports("status", "42", cwd=tmp_path, env=env)
    assert code == 1, out
    assert {"sqlalchemy", "alembic"} <= heavy  # it did reach the database
    assert heavy.isdisjoint({"fastapi", "starlette", "celery", "kombu"})
