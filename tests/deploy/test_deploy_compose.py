"""docker-compose.yml and deploy/ name only things that exist: aerie subcommands and their
options, settings, routes, files, volumes and the HTCondor token path. No Docker engine runs
here, so this is what keeps the production files honest between real deployments."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from gateway.api.events import router as events_router
from gateway.api.health import router as health_router
from gateway.cli import main as aerie_cli
from gateway.main import API_PREFIX
from gateway.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
AERIE_SERVICES = ("gateway", "worker", "beat")
DATA_DIR = "/var/lib/aerie"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _aerie_invocations(command: str | list[str]) -> list[list[str]]:
    """Every `aerie ...` command line inside a compose command, unit ExecStart or shell text."""
    text = command if isinstance(command, str) else shlex.join(command)
    found = []
    for part in re.split(r"&&|;|\|\||\bexec\b|sh -c|'|\"", text):
        words = shlex.split(part) if part.strip() else []
        for i, word in enumerate(words):
            if word == "aerie" or word.endswith("/bin/aerie"):
                found.append(words[i + 1 :])
                break
    return found


def _check_aerie_args(args: list[str]) -> None:
    """The subcommand exists and accepts these options (click parses them, nothing runs)."""
    assert args, "aerie without a subcommand"
    command = aerie_cli.get_command(click.Context(aerie_cli), args[0])
    assert command is not None, f"`aerie {args[0]}` is not a command (aerie --help)"
    rest = args[1:]
    while isinstance(command, click.Group) and rest:
        command = command.get_command(click.Context(command), rest[0])
        assert command is not None, f"`aerie {' '.join(args)}` names no subcommand"
        rest = rest[1:]
    command.make_context(args[0], list(rest), resilient_parsing=False)


def test_services_and_the_htcondor_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *AERIE_SERVICES, "htcondor"}
    assert services["htcondor"]["profiles"] == ["htcondor"]
    assert all("profiles" not in services[name] for name in services if name != "htcondor")


def test_every_aerie_command_exists_with_its_options(compose: dict[str, Any]) -> None:
    seen = []
    for name in AERIE_SERVICES:
        invocations = _aerie_invocations(compose["services"][name]["command"])
        assert invocations, f"{name} runs no aerie command"
        for args in invocations:
            _check_aerie_args(args)
            seen.append(args[0])
    assert seen == ["db", "serve", "worker", "beat"]
    gateway = shlex.join(compose["services"]["gateway"]["command"])
    assert "--host 0.0.0.0" in gateway, "the gateway must listen beyond its container"


def test_environment_names_real_settings(compose: dict[str, Any]) -> None:
    fields = set(Settings.model_fields)
    engine_source = (REPO / "worker" / "engines" / "htcondor.py").read_text()
    names: set[str] = set()
    for name in AERIE_SERVICES:
        names |= set(compose["services"][name]["environment"])
    for example in DEPLOY.glob("*.env.example"):
        for line in example.read_text().splitlines():
            line = line.lstrip("# ").strip()
            if re.match(r"^[A-Z_]+=", line):
                names.add(line.split("=", 1)[0])
    aerie = {n for n in names if n.startswith("AERIE_")}
    assert {"AERIE_DATABASE_URL", "AERIE_REDIS_URL", "AERIE_DATA_DIR"} <= aerie
    for env in aerie:
        key = env.removeprefix("AERIE_").lower().split("__")[0]
        assert key in fields or f'"{env}"' in engine_source, f"{env} is read by nothing"


def test_secrets_only_in_ignored_env_files(compose: dict[str, Any]) -> None:
    text = (REPO / "docker-compose.yml").read_text()
    assert "PASSWORD" not in text and not re.search(r"://\w+:[^@\s]+@", text)
    for name in ("postgres", *AERIE_SERVICES):
        for env_file in compose["services"][name]["env_file"]:
            assert (REPO / f"{env_file}.example").is_file(), env_file
            ignored = subprocess.run(["git", "check-ignore", "-q", env_file], cwd=REPO)
            assert ignored.returncode == 0, f"{env_file} would be committable"
    pg_example = (DEPLOY / "postgres.env.example").read_text()
    password = re.search(r"POSTGRES_PASSWORD=(\S+)", pg_example)
    assert (
        password
        and f":{password.group(1)}@postgres:5432/" in (DEPLOY / "aerie.env.example").read_text()
    )


def test_healthchecks_use_the_health_routes(compose: dict[str, Any]) -> None:
    routes = {getattr(route, "path", None) for route in health_router.routes}
    gateway_check = " ".join(compose["services"]["gateway"]["healthcheck"]["test"])
    for path in ("/healthz", "/readyz"):
        assert path in routes and path in gateway_check
    for name in ("postgres", "redis", "worker", "htcondor"):
        assert compose["services"][name]["healthcheck"]["test"]
    worker_check = " ".join(compose["services"]["worker"]["healthcheck"]["test"])
    assert "-A worker.celery_app" in worker_check
    for name in ("worker", "beat"):
        depends = compose["services"][name]["depends_on"]
        assert depends["gateway"]["condition"] == "service_healthy"  # migrated first


def test_the_data_volume_is_at_the_same_path_everywhere(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source in declared, f"{name}: volume {source} not declared"
    for name in (*AERIE_SERVICES, "htcondor"):
        mounts = compose["services"][name]["volumes"]
        assert f"aerie-data:{DATA_DIR}" in mounts, name
    for name in AERIE_SERVICES:
        assert compose["services"][name]["environment"]["AERIE_DATA_DIR"] == DATA_DIR


def test_images_build_from_files_that_exist(compose: dict[str, Any]) -> None:
    aerie_build = compose["services"]["gateway"]["build"]
    dockerfile = REPO / aerie_build["context"] / aerie_build["dockerfile"]
    assert dockerfile == DEPLOY / "Dockerfile" and dockerfile.is_file()
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text()
    for line in dockerfile.read_text().splitlines():
        match = re.match(r"COPY (?!--from)(\S+) ", line)
        if match:
            assert (REPO / match.group(1)).exists(), line
            assert f"!{match.group(1)}" in ignore, f"{match.group(1)} excluded from the context"
    condor = REPO / compose["services"]["htcondor"]["build"]["context"]
    for line in (condor / "Dockerfile").read_text().splitlines():
        match = re.match(r"COPY (\S+) ", line)
        if match:
            assert (condor / match.group(1)).is_file(), line


def test_the_htcondor_pool_and_the_workers_agree(compose: dict[str, Any]) -> None:
    """Same token directory, same uid for the `aerie` account, the pool's host name."""
    env = compose["services"]["worker"]["environment"]
    condor = compose["services"]["htcondor"]
    assert env["AERIE_CONDOR_POOL"] == condor["hostname"] == "htcondor"
    pre_exec = (DEPLOY / "htcondor" / "pre-exec.sh").read_text()
    default_dir = re.search(r"AERIE_TOKEN_DIR:-([^}]+)\}", pre_exec)
    assert default_dir and env["_CONDOR_SEC_TOKEN_DIRECTORY"] == default_dir.group(1)
    mount = next(m for m in condor["volumes"] if m.startswith("condor-tokens:"))
    assert default_dir.group(1).startswith(mount.split(":")[1] + "/")
    # DAGMan inherits the worker's _CONDOR_* variables (from_dag's getenv list), so the token
    # directory must be at the same path in the pool's container as in the workers'.
    for name in AERIE_SERVICES:
        mounts = compose["services"][name]["volumes"]
        assert f"condor-tokens:{mount.split(':')[1]}:ro" in mounts, name
    uid = re.search(r"ARG AERIE_UID=(\d+)", (DEPLOY / "Dockerfile").read_text())
    assert uid and condor["environment"]["AERIE_UID"] == uid.group(1)
    syntax = subprocess.run(["bash", "-n", str(DEPLOY / "htcondor" / "pre-exec.sh")])
    assert syntax.returncode == 0


def test_systemd_units_run_real_commands() -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert [u.name for u in units] == [
        "aerie-beat.service",
        "aerie-gateway.service",
        "aerie-worker.service",
    ]
    for unit in units:
        starts = [
            line.split("=", 1)[1]
            for line in unit.read_text().splitlines()
            if line.startswith(("ExecStart=", "ExecStartPre="))
        ]
        assert starts, unit.name
        for line in starts:
            for args in _aerie_invocations(line.lstrip("+-!@")):
                _check_aerie_args(args)


def test_proxy_keeps_server_sent_events_unbuffered() -> None:
    conf = (DEPLOY / "nginx" / "aerie.conf").read_text()
    sse = re.search(r"location ~ \^/api/v1/workflows/\[\^/\]\+/events\$ \{(.*?)\}", conf, re.S)
    assert sse, "no location for /api/v1/workflows/*/events"
    assert "proxy_buffering off;" in sse.group(1)
    paths = {API_PREFIX + getattr(route, "path", "") for route in events_router.routes}
    assert "/api/v1/workflows/{run_id}/events" in paths  # the one streaming route


def test_example_aerie_toml_is_valid_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = DEPLOY / "aerie.toml.example"
    text = example.read_text().replace("/var/lib/aerie", str(tmp_path))
    (tmp_path / "aerie.toml").write_text(text)
    monkeypatch.setenv("AERIE_CONFIG", str(tmp_path / "aerie.toml"))
    settings = Settings()
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.redis_url and settings.base_url.startswith("https://")
    assert [p.issuer for p in settings.oidc_providers] == ["https://cilogon.org"]


def test_pool_config_opens_minicondor_to_the_network(tmp_path: Path) -> None:
    """HTCondor's own config reader, over minicondor's loopback-only settings: 99-aerie.conf
    parses without complaint, listens on all interfaces and lets the token's identity write."""
    config = tmp_path / "condor_config"
    config.write_text(
        "NETWORK_INTERFACE = 127.0.0.1\nBIND_ALL_INTERFACES = False\nCONDOR_HOST = 127.0.0.1\n"
        "UID_DOMAIN = pool.example.org\n" + (DEPLOY / "htcondor" / "99-aerie.conf").read_text()
    )
    keys = ["NETWORK_INTERFACE", "BIND_ALL_INTERFACES", "ALLOW_WRITE", "CONDOR_HOST"]
    probe = "import htcondor2, json; print(json.dumps([htcondor2.param.get(k) for k in %r]))"
    result = subprocess.run(
        [sys.executable, "-c", probe % keys],
        env={"CONDOR_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    interface, bind_all, allow_write, condor_host = json.loads(result.stdout)
    assert interface == "*" and bind_all is True and condor_host != "127.0.0.1"
    assert "aerie@pool.example.org" in allow_write
    assert (
        'identity "aerie@$(condor_config_val UID_DOMAIN)"'
        in (DEPLOY / "htcondor" / "pre-exec.sh").read_text()
    )
