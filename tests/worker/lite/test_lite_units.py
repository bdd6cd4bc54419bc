"""Pieces of the wrapper that are best checked directly: container command lines, scp/s3 argv,
lite.json validation messages, the integrity subcommand."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from worker.lite import container, jobspec
from worker.lite.jobspec import Container

from .conftest import py


def test_singularity_command_line(tmp_path: Path) -> None:
    (tmp_path / "tool").write_text("#!/bin/sh\n")
    (tmp_path / "image.sif").write_text("")
    c = Container(
        type="singularity",
        image="docker://python:3.11",
        image_lfn="image.sif",
        mounts=("/data:/data",),
        arguments=("--contain",),
        gpus=True,
    )
    argv = container.command(
        c, "/usr/bin/apptainer", str(tmp_path), "tool", ["-x", "1"], {"A": "1"}, "n"
    )
    assert argv == [
        "/usr/bin/apptainer", "exec", "--no-home", "--cleanenv",
        "--bind", f"{tmp_path}:/srv", "--pwd", "/srv",
        "--bind", "/data:/data", "--nv", "--env", "A=1", "--contain",
        f"{tmp_path}/image.sif", "/srv/tool", "-x", "1",
    ]  # fmt: skip


def test_docker_loads_a_staged_image_tarball(tmp_path: Path) -> None:
    c = Container(type="docker", image="myimg:1", image_lfn="myimg.tar")
    assert container.prepare(c, "/usr/bin/docker", str(tmp_path)) == [
        ["/usr/bin/docker", "load", "-i", f"{tmp_path}/myimg.tar"]
    ]
    argv = container.command(c, "/usr/bin/docker", str(tmp_path), "/bin/ls", [], {}, "n")
    assert argv[-3:] == ["--entrypoint", "/bin/ls", "myimg:1"]
    assert "--user" in argv and f"{os.getuid()}:{os.getgid()}" in argv


def test_runtime_lookup_prefers_the_named_one(tmp_path: Path) -> None:
    for name in ("singularity", "apptainer"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    assert container.find_runtime("apptainer", str(tmp_path)) == str(tmp_path / "apptainer")
    (tmp_path / "apptainer").unlink()
    assert container.find_runtime("apptainer", str(tmp_path)) == str(tmp_path / "singularity")
    with pytest.raises(container.ContainerError, match="'docker'"):
        container.find_runtime("docker", str(tmp_path))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"job_id": "a", "transformation": "t", "executable": "x"}, "field version: expected 1"),
        ({"version": 1, "transformation": "t", "executable": "x"}, "field job_id: is required"),
        ({"version": 1, "job_id": "a", "transformation": "t"}, "field executable: is required"),
        (
            {"version": 1, "job_id": "a", "transformation": "t", "executable": "x",
             "inputs": [{"lfn": "f", "sha256": "abc"}]},
            "field inputs[0].sha256: expected 64 lowercase hex digits",
        ),
        (
            {"version": 1, "job_id": "a", "transformation": "t", "executable": "x",
             "container": {"type": "podman", "image": "i"}},
            "field container.type: expected one of docker, singularity, apptainer",
        ),
        (
            {"version": 1, "job_id": "a", "transformation": "t",
             "tasks": [{"job_id": "b", "transformation": "t", "arguments": "not a list",
                        "executable": "x"}]},
            "field tasks[0].arguments: expected a list of strings",
        ),
    ],
)  # fmt: skip
def test_lite_json_errors_name_the_field(doc: dict, message: str) -> None:
    with pytest.raises(jobspec.SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        jobspec.parse(doc, "x.lite.json")


def test_lite_json_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "j.lite.json"
    path.write_text('{\n  "version": 1,\n  "job_id": }\n')
    with pytest.raises(jobspec.SpecError, match=r"j\.lite\.json:3:\d+: invalid JSON"):
        jobspec.load(str(path))


def test_planner_style_clustered_job_parses() -> None:
    """The planner writes ``executable: null`` and empty job-level fields for clusters."""
    spec = jobspec.parse(
        {
            "version": 1, "job_id": "merge_1", "transformation": "t", "executable": None,
            "arguments": [], "stdin": None, "stdout": None, "stderr": None,
            "environment": {"N": 3}, "walltime": None, "container": None,
            "tasks": [{"job_id": "ID1", "transformation": "t", "executable": "/bin/true",
                       "walltime": 60, "environment": {}}],
        }
    )  # fmt: skip
    assert spec.environment == {"N": "3"}
    assert [t.job_id for t in spec.run_tasks()] == ["ID1"]
    assert spec.run_tasks()[0].walltime == 60.0


def test_scp_stage_in_uses_the_scp_client(run_job, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "scp.log"
    (bindir / "scp").write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$SCP_LOG"\nfor last; do :; done\n'
        'printf remote > "$last"\n'
    )
    (bindir / "scp").chmod(0o755)
    res = run_job(
        {
            **py("print(open('f.a').read())"),
            "inputs": [{"lfn": "f.a", "urls": ["scp://alice@example.org:2222/data/f.a"]}],
        },
        env={"PATH": f"{bindir}:{os.environ['PATH']}", "SCP_LOG": str(log)},
    )
    assert res.returncode == 0, res.stdout
    args = log.read_text().split("\n")
    assert "alice@example.org:/data/f.a" in args
    assert args[args.index("-P") + 1] == "2222" and "BatchMode=yes" in args
    assert res.record["stdout_tail"] == "remote\n"


def test_nosymlink_mode_skips_linked_inputs(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (tmp_path / "real").write_text("x")
    os.symlink(tmp_path / "real", scratch / "f.a")
    job = {**py("pass"), "inputs": [{"lfn": "f.a", "sha256": "0" * 64}]}
    assert run_job({**job, "integrity": "nosymlink"}, scratch).returncode == 0
    assert run_job({**job, "integrity": "full"}, scratch).record["failed_step"] == "integrity"


def test_integrity_subcommand(lite, tmp_path: Path) -> None:
    (tmp_path / "f.a").write_text("good")
    meta = [{"_id": "f.a", "_type": "file",
             "_attributes": {"checksum.type": "sha256",
                             "checksum.value": hashlib.sha256(b"good").hexdigest()}}]  # fmt: skip
    (tmp_path / "p.meta").write_text(json.dumps(meta))
    assert lite("integrity", "f.a", cwd=tmp_path).returncode == 0
    (tmp_path / "f.a").write_text("bad")
    res = lite("integrity", "f.a", cwd=tmp_path)
    assert res.returncode == 1 and "checksum mismatch" in res.stderr and "p.meta" in res.stderr


def test_other_schemes_go_through_pegasus_transfer(run_job, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "pt.json"
    # A stand-in pegasus-transfer: records its JSON list and "downloads" by writing the file.
    (bindir / "pegasus-transfer").write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "entries = json.load(sys.stdin)\n"
        "json.dump(entries, open(os.environ['PT_LOG'], 'w'))\n"
        "dest = entries[0]['dest_urls'][0]['url'][len('file://'):]\n"
        "open(dest, 'w').write('via gsiftp')\n"
    )
    (bindir / "pegasus-transfer").chmod(0o755)
    url = "gsiftp://gridftp.example.org/data/f.a"
    res = run_job(
        {**py("print(open('f.a').read())"), "inputs": [{"lfn": "f.a", "urls": [url]}]},
        env={"PATH": f"{bindir}:{os.environ['PATH']}", "PT_LOG": str(log)},
    )
    assert res.returncode == 0, res.stdout
    assert res.record["stdout_tail"] == "via gsiftp\n"
    (entry,) = json.loads(log.read_text())
    assert entry["src_urls"][0]["url"] == url
    # without pegasus-transfer the error says what to install
    res = run_job(
        {**py("pass"), "inputs": [{"lfn": "f.a", "urls": [url]}]}, env={"PATH": "/nonexistent"}
    )
    assert "unsupported URL scheme 'gsiftp'" in res.record["error"]
    assert "pegasus-transfer" in res.record["error"]
