"""Job isolation on the local engine, end to end through the embedded gateway (as root).

With `local_engine.job_user = aerie-job`, a job that tries to read the gateway's secret key is
refused by the kernel (permission denied), while a normal job in the same run succeeds, and its
output comes back to the run's output site where the gateway serves it. Jobs really are the job
account (the invocation record's user), and the secrets are 0600.

Must run as root (CI does): in CI a non-root run fails loudly instead of skipping.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.settings import Settings
from tests.gateway.api.conftest import Embedded, make_embedded
from tests.gateway.pegasus_workflows import multipart

pytestmark = pytest.mark.slow

JOB_USER = "aerie-job"


def _require_root() -> None:
    if os.geteuid() == 0:
        return
    reason = "job isolation tests need root (the engine switches jobs to another account)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run them as root")
    pytest.skip(reason)


def _ensure_job_user() -> None:
    try:
        pwd.getpwnam(JOB_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", JOB_USER], check=True)


@pytest.fixture(params=["in-process", "exec"])
def world(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Embedded, Path]]:
    """Both ways the engine starts the wrapper: forked in-process (the fast path) and exec'd."""
    _require_root()
    _ensure_job_user()
    monkeypatch.setenv("AERIE_ENGINE_INPROCESS", "1" if request.param == "in-process" else "0")
    # pytest's own tmp dirs are 0700: the job account could not even reach its scratch dir.
    top = Path(tempfile.mkdtemp(prefix="aerie-isolation-"))
    os.chmod(top, 0o755)
    try:
        settings_of = lambda d: make_settings(  # noqa: E731
            d,
            policy={"input_roots": [str(top)], "executable_roots": ["/usr/bin", str(top)]},
            local_engine={"job_user": JOB_USER},
        )
        for e in make_embedded(top / "data", settings_of):
            yield e, top
    finally:
        if not os.environ.get("AERIE_TEST_KEEP"):
            shutil.rmtree(top, ignore_errors=True)


def _workflow(d: Path, secret: Path | None) -> dict[str, Path]:
    """`upper` (f.in -> f.up), or with `secret` a `steal` job that copies it to f.stolen."""
    from Pegasus.api import (
        File,
        Job,
        ReplicaCatalog,
        Transformation,
        TransformationCatalog,
        Workflow,
    )

    d.mkdir(mode=0o755)
    upper = d / "upper.sh"
    upper.write_text('#!/bin/sh\nset -e\ntr a-z A-Z < "$1" > "$2"\n')
    steal = d / "steal.sh"
    steal.write_text('#!/bin/sh\ncat "$1" > "$2"\n')
    for script in (upper, steal):
        script.chmod(0o755)
    (d / "f.in").write_text("hello aerie\n")
    rc = ReplicaCatalog().add_replica("local", "f.in", str(d / "f.in"))
    tc = TransformationCatalog().add_transformations(
        Transformation("upper", site="local", pfn=str(upper), is_stageable=False),
        Transformation("steal", site="local", pfn=str(steal), is_stageable=False),
    )
    wf = Workflow("isolated")
    if secret is None:
        fin, fup = File("f.in"), File("f.up")
        wf.add_jobs(Job("upper", _id="ID1").add_args(fin, fup).add_inputs(fin).add_outputs(fup))
    else:
        stolen = File("f.stolen")
        wf.add_jobs(Job("steal", _id="ID2").add_args(str(secret), stolen).add_outputs(stolen))
    wf.write(str(d / "workflow.yml"))
    rc.write(str(d / "replicas.yml"))
    tc.write(str(d / "transformations.yml"))
    return {
        "workflow": d / "workflow.yml",
        "replicas": d / "replicas.yml",
        "transformations": d / "transformations.yml",
    }


def _run(e: Embedded, auth: dict[str, str], docs: dict[str, Path]) -> tuple[str, str]:
    response = e.client.post(
        "/api/v1/workflows", headers=auth, files=multipart(docs), data={"execution_sites": "local"}
    )
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    deadline = time.monotonic() + 120
    while True:
        state = e.client.get(f"/api/v1/workflows/{run_id}", headers=auth).json()["state"]
        if state in ("succeeded", "failed", "cancelled"):
            return run_id, state
        assert time.monotonic() < deadline, f"run still {state}"
        time.sleep(0.5)


def _records(out: Path) -> list[dict[str, object]]:
    lines = out.read_text().splitlines()
    return [json.loads(x) for x in lines if x.startswith("{") and "aerie.invocation" in x]


def test_a_job_cannot_read_the_secret_key_but_a_normal_job_succeeds(
    world: tuple[Embedded, Path],
) -> None:
    e, top = world
    settings = e.settings
    secret = settings.data_dir / "secret_key"
    secret.write_text("top secret\n")  # as an older install left it: world-readable
    secret.chmod(0o644)
    _, bob = e.user("bob")

    run_id, state = _run(e, bob, _workflow(top / "thief", secret))

    assert state == "failed"
    submit = settings.data_dir / "runs" / run_id / "submit"
    thief = [r for p in submit.rglob("steal_ID2.out*") for r in _records(p)]
    assert thief and all(r["exitcode"] != 0 for r in thief)
    assert all("Permission denied" in str(r["stderr_tail"]) for r in thief), thief
    assert all(r["user"] == JOB_USER for r in thief)
    leaked = [
        p
        for p in settings.data_dir.rglob("*")
        if p.is_file() and p != secret and b"top secret" in p.read_bytes()
    ]
    assert leaked == []

    run_id, state = _run(e, bob, _workflow(top / "normal", None))

    assert state == "succeeded"
    submit = settings.data_dir / "runs" / run_id / "submit"
    good = [r for p in submit.rglob("upper_ID1.out*") for r in _records(p)]
    assert [(r["exitcode"], r["user"]) for r in good] == [(0, JOB_USER)]
    files = e.client.get(f"/api/v1/workflows/{run_id}/files", headers=bob).json()["data"]
    assert [f["lfn"] for f in files] == ["f.up"]
    download = e.client.get(files[0]["download"], headers=bob)
    assert download.status_code == 200 and download.text == "HELLO AERIE\n"

    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE((settings.data_dir / "aerie.db").stat().st_mode) == 0o600
    assert secret.stat().st_uid == os.geteuid()


def test_a_symlink_left_as_an_output_does_not_make_the_engine_copy_the_secret(
    world: tuple[Embedded, Path],
) -> None:
    """The engine moves outputs back with the job account's rights: a job that leaves a link
    to the secret key as its output gets a transfer failure, and nothing downstream sees it."""
    from Pegasus.api import File, Job, Transformation, TransformationCatalog, Workflow

    e, top = world
    secret = e.settings.data_dir / "secret_key"
    secret.write_text("top secret\n")
    _, bob = e.user("bob")
    d = top / "linker"
    d.mkdir(mode=0o755)
    link = d / "link.sh"
    link.write_text(f'#!/bin/sh\nln -s {secret} "$1"\n')
    show = d / "show.sh"
    show.write_text('#!/bin/sh\ncat "$1" > "$2"\n')
    for script in (link, show):
        script.chmod(0o755)
    tc = TransformationCatalog().add_transformations(
        Transformation("link", site="local", pfn=str(link), is_stageable=False),
        Transformation("show", site="local", pfn=str(show), is_stageable=False),
    )
    flink, fout = File("f.link"), File("f.shown")
    wf = Workflow("linker")
    wf.add_jobs(
        Job("link", _id="ID1").add_args(flink).add_outputs(flink, stage_out=False),
        Job("show", _id="ID2").add_args(flink, fout).add_inputs(flink).add_outputs(fout),
    )
    wf.write(str(d / "workflow.yml"))
    tc.write(str(d / "transformations.yml"))

    run_id, state = _run(
        e, bob, {"workflow": d / "workflow.yml", "transformations": d / "transformations.yml"}
    )

    assert state == "failed"
    leaked = [
        p
        for p in e.settings.data_dir.rglob("*")
        if p.is_file() and p != secret and b"top secret" in p.read_bytes()
    ]
    assert leaked == []
    log = next((e.settings.data_dir / "runs" / run_id / "submit").glob("*.dag.nodes.log"))
    assert "Permission denied" in log.read_text()


def test_the_engine_refuses_to_run_without_root_rights_for_the_job_user(tmp_path: Path) -> None:
    """A configured job account that cannot be used is an error, never a silent downgrade."""
    from worker.engines.local.isolation import IsolationError, identity_for

    with pytest.raises(IsolationError, match="does not exist"):
        identity_for("no-such-account-aerie")
    if os.geteuid() == 0:
        with pytest.raises(IsolationError, match="is root"):
            identity_for("root")
