"""``aerie-lite run``: real jobs in a real scratch dir, checked through their invocation records."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .conftest import py


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_successful_job_record_fields(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "f.a").write_text("hello\n")
    code = (
        "import sys; data=open('f.a').read(); open('f.b','w').write(data.upper()); "
        "print('to stdout'); print('to stderr', file=sys.stderr)"
    )
    t_before = time.time()
    res = run_job(
        {
            **py(code),
            "job_name": "upper_ID0000001",
            "site": "condorpool",
            "wf_label": "diamond",
            "inputs": [{"lfn": "f.a", "sha256": sha(b"hello\n")}],
            "outputs": [{"lfn": "f.b"}],
        },
        scratch,
    )
    assert res.returncode == 0, res.stderr
    rec = res.record
    assert rec["type"] == "aerie.invocation"
    assert rec["exitcode"] == 0 and rec["signal"] is None and rec["raw_status"] == 0
    assert rec["failed_step"] is None and rec["error"] is None
    assert rec["job_id"] == "ID0000001" and rec["job_name"] == "upper_ID0000001"
    assert rec["transformation"] == "test::tx:1.0" and rec["site"] == "condorpool"
    assert rec["argv"] == [sys.executable, "-c", code]
    assert rec["cwd"] == str(scratch.resolve())
    assert rec["hostname"] == socket.gethostname()
    start = datetime.strptime(rec["start"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert t_before - 1 <= start.timestamp() <= time.time()
    assert rec["stdout_tail"] == "to stdout\n"
    assert rec["stderr_tail"] == "to stderr\n"
    assert rec["inputs"] == [{"lfn": "f.a", "size": 6, "sha256": sha(b"hello\n")}]
    out = rec["outputs"][0]
    assert (out["lfn"], out["size"], out["sha256"]) == ("f.b", 6, sha(b"HELLO\n"))
    assert rec["integrity"]["succeeded"] == 1 and rec["integrity"]["failed"] == 0
    assert "aerie-lite: exitcode 0" in res.stderr


def test_exit_code_is_recorded_and_returned(run_job) -> None:
    res = run_job(py("import sys; sys.exit(3)"))
    assert res.returncode == 3
    rec = res.record
    assert rec["exitcode"] == 3 and rec["raw_status"] == 3 << 8 and rec["signal"] is None
    assert rec["failed_step"] == "exec"
    assert "exited with code 3" in rec["error"]


def test_duration_covers_a_sleep(run_job) -> None:
    res = run_job(py("import time; time.sleep(0.3)"))
    assert res.returncode == 0
    assert 0.3 <= res.record["duration"] < 5


def test_cpu_time_and_max_rss_of_the_executable(run_job) -> None:
    code = (
        "import time\n"
        "b = bytearray(60 * 1024 * 1024)\n"
        "for i in range(0, len(b), 4096): b[i] = 1\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.2: pass\n"
    )
    res = run_job(py(code))
    assert res.returncode == 0, res.stderr
    rec = res.record
    assert rec["maxrss_kb"] >= 50 * 1024
    assert 0 < rec["maxrss_floor_kb"] < 50 * 1024  # the 60 MB are the task's, not the wrapper's
    assert rec["utime"] + rec["stime"] >= 0.2


def test_signal_is_recorded(run_job) -> None:
    res = run_job(py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))
    rec = res.record
    assert rec["signal"] == signal.SIGKILL and rec["exitcode"] is None
    assert rec["failed_step"] == "exec" and "signal 9" in rec["error"]
    assert res.returncode == 128 + signal.SIGKILL


def test_wall_time_kills_the_process_group(run_job, tmp_path: Path) -> None:
    # The job starts a grandchild that would outlive a kill of the direct child only.
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "open('grandchild.pid', 'w').write(str(p.pid))\n"
        "time.sleep(30)\n"
    )
    scratch = tmp_path / "scratch"
    t0 = time.monotonic()
    res = run_job({**py(code), "walltime": 1}, scratch)
    assert time.monotonic() - t0 < 10
    rec = res.record
    assert rec["walltime_exceeded"] is True
    assert rec["signal"] == signal.SIGTERM
    assert rec["failed_step"] == "exec" and "wall time of 1 s" in rec["error"]
    assert 1 <= rec["duration"] < 6
    assert res.returncode != 0
    grandchild = int((scratch / "grandchild.pid").read_text())
    for _ in range(50):
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the grandchild survived the wall-time kill")


def test_corrupted_input_fails_integrity_naming_the_file(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "f.a").write_text("tampered")
    res = run_job(
        {**py("open('ran', 'w')"), "inputs": [{"lfn": "f.a", "sha256": sha(b"original")}]},
        scratch,
    )
    assert res.returncode == 1
    rec = res.record
    assert rec["failed_step"] == "integrity"
    assert "f.a" in rec["error"] and sha(b"original") in rec["error"]
    assert rec["integrity"]["failed"] == 1
    assert not (scratch / "ran").exists(), "the executable must not run on a corrupt input"
    assert "integrity" in res.stderr and "f.a" in res.stderr


def test_meta_file_checksums_are_verified(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "f.a").write_text("tampered")
    meta = [
        {
            "_id": "f.a",
            "_type": "file",
            "_attributes": {"checksum.type": "sha256", "checksum.value": sha(b"original")},
        }
    ]
    (scratch / "parent_ID1.meta").write_text(json.dumps(meta))
    res = run_job({**py("pass"), "inputs": [{"lfn": "f.a"}]}, scratch)
    rec = res.record
    assert rec["failed_step"] == "integrity"
    assert "parent_ID1.meta" in rec["error"]
    # with integrity checking off the same job runs
    res = run_job({**py("pass"), "inputs": [{"lfn": "f.a"}], "integrity": "none"}, scratch)
    assert res.returncode == 0 and res.record["failed_step"] is None


def test_missing_output_fails_stage_out(run_job) -> None:
    outputs = [{"lfn": "never.txt"}, {"lfn": "opt", "optional": True}]
    res = run_job({**py("pass"), "outputs": outputs})
    assert res.returncode == 1
    rec = res.record
    assert rec["exitcode"] == 0
    assert rec["failed_step"] == "stage-out" and "never.txt" in rec["error"]
    assert rec["outputs"] == [{"lfn": "never.txt", "size": None, "sha256": None}]


def test_missing_input_fails_stage_in(run_job) -> None:
    res = run_job({**py("pass"), "inputs": [{"lfn": "absent.dat"}]})
    assert res.returncode == 1
    assert res.record["failed_step"] == "stage-in" and "absent.dat" in res.record["error"]


def test_stage_in_and_out_by_file_urls(run_job, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    (storage / "in").mkdir(parents=True)
    (storage / "in" / "f.a").write_bytes(b"payload")
    script = storage / "in" / "tool.sh"
    script.write_text("#!/bin/sh\ncat f.a f.a > f.b\n")
    res = run_job(
        {
            "executable": "tool.sh",
            "inputs": [
                {"lfn": "f.a", "urls": [f"file://{storage}/in/f.a"], "sha256": sha(b"payload")},
                {"lfn": "tool.sh", "urls": [f"file://{script}"], "executable": True},
            ],
            "outputs": [{"lfn": "f.b", "urls": [f"file://{storage}/out/f.b"]}],
        }
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert (storage / "out" / "f.b").read_bytes() == b"payloadpayload"
    rec = res.record
    assert rec["stage_in"]["files"] == 2 and rec["stage_out"]["files"] == 1
    assert rec["outputs"][0]["sha256"] == sha(b"payloadpayload")


def test_stage_in_over_http_with_fallback(run_job, http_root) -> None:
    url, root = http_root
    (root / "f.a").write_bytes(b"from http")
    res = run_job(
        {
            **py("open('f.b','wb').write(open('f.a','rb').read())"),
            "inputs": [
                {
                    "lfn": "f.a",
                    "urls": [f"{url}/missing", f"{url}/f.a"],
                    "sha256": sha(b"from http"),
                }
            ],
            "outputs": [{"lfn": "f.b"}],
        }
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.record["outputs"][0]["size"] == len(b"from http")
    assert res.record["stage_in"]["bytes"] == len(b"from http")


def test_http_failure_names_url_and_step(run_job, http_root) -> None:
    url, _ = http_root
    res = run_job({**py("pass"), "inputs": [{"lfn": "f.a", "urls": [f"{url}/nope"]}]})
    rec = res.record
    assert rec["failed_step"] == "stage-in"
    assert f"{url}/nope" in rec["error"] and "404" in rec["error"]


def test_missing_s3_client_is_a_clear_stage_in_error(run_job) -> None:
    res = run_job(
        {**py("pass"), "inputs": [{"lfn": "f.a", "urls": ["s3://bucket/key"]}]},
        env={"PATH": "/nonexistent"},
    )
    rec = res.record
    assert rec["failed_step"] == "stage-in"
    assert "'aws' or 's3cmd'" in rec["error"] and "s3://bucket/key" in rec["error"]


def test_stdio_redirected_to_declared_lfns(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "in.txt").write_text("abc")
    res = run_job(
        {
            **py("import sys; sys.stdout.write(sys.stdin.read()[::-1])"),
            "stdin": "in.txt",
            "stdout": "out.txt",
            "inputs": [{"lfn": "in.txt"}],
            "outputs": [{"lfn": "out.txt"}],
        },
        scratch,
    )
    assert res.returncode == 0
    assert (scratch / "out.txt").read_text() == "cba"
    assert res.record["stdout_tail"] == "cba"


def test_environment_reaches_the_executable(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    res = run_job(
        {**py("import os; print(os.environ['AERIE_X'])"), "environment": {"AERIE_X": "42"}},
        scratch,
    )
    assert res.record["stdout_tail"] == "42\n"


def test_clustered_job_runs_tasks_in_order_and_stops_at_failure(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"

    def task(n: int, code: str) -> dict:
        return {"job_id": f"ID{n}", "transformation": "t::x:1", **py(code)}

    res = run_job(
        {
            "job_id": "merge_ID1",
            "tasks": [
                task(1, "open('log','a').write('1')"),
                task(2, "import sys; open('log','a').write('2'); sys.exit(4)"),
                task(3, "open('log','a').write('3')"),
            ],
        },
        scratch,
    )
    assert (scratch / "log").read_text() == "12"
    recs = res.records
    assert [r["type"] for r in recs] == ["aerie.invocation"] * 2 + ["aerie.cluster-summary"]
    assert [r["job_id"] for r in recs[:2]] == ["ID1", "ID2"]
    assert [r["task_index"] for r in recs[:2]] == [1, 2]
    assert recs[1]["exitcode"] == 4
    summary = recs[2]
    assert (summary["tasks"], summary["submitted"], summary["succeeded"], summary["failed"]) == (
        3,
        2,
        1,
        1,
    )
    assert summary["stat"] == "fail"
    assert res.returncode == 4


def test_clustered_job_can_continue_after_failure(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    tasks = [
        {"job_id": f"ID{n}", "transformation": "t", **py(c)}
        for n, c in enumerate(["import sys; sys.exit(1)", "open('x','w')"], 1)
    ]
    res = run_job({"tasks": tasks, "fail_fast": False}, scratch)
    summary = res.records[-1]
    assert (summary["submitted"], summary["succeeded"], summary["failed"]) == (2, 1, 1)
    assert (scratch / "x").exists()


def test_missing_container_runtime_is_a_clear_error(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    res = run_job(
        {
            **py("open('ran','w')"),
            "container": {"type": "singularity", "image": "docker://python:3.11"},
        },
        scratch,
        env={"PATH": "/nonexistent"},
    )
    rec = res.record
    assert rec["failed_step"] == "stage-in"
    assert "'singularity' or 'apptainer'" in rec["error"]
    assert not (scratch / "ran").exists()


def test_container_job_runs_through_the_runtime(run_job, tmp_path: Path) -> None:
    # A fake "docker" on PATH that records its argv and runs the entrypoint on the host.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "docker"
    fake.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$@" > "$FAKE_LOG"\n'
        'while [ "$1" != "--entrypoint" ]; do shift; done\n'
        'exe="$2"; shift 3\n'
        'exec "$exe" "$@"\n'
    )
    fake.chmod(0o755)
    log = tmp_path / "argv.txt"
    res = run_job(
        {
            "executable": "/bin/echo",
            "arguments": ["in", "container"],
            "environment": {"K": "V"},
            "container": {"type": "docker", "image": "centos:8", "mounts": ["/data:/data:ro"]},
        },
        env={"PATH": f"{bindir}:/usr/bin:/bin", "FAKE_LOG": str(log)},
    )
    assert res.returncode == 0, res.stdout + res.stderr
    argv = log.read_text().split("\n")
    assert argv[:2] == ["run", "--rm"]
    assert f"{(tmp_path / 'scratch').resolve()}:/scratch" in argv
    assert "/data:/data:ro" in argv and "K=V" in argv
    assert argv[argv.index("--entrypoint") + 1 : argv.index("--entrypoint") + 3] == [
        "/bin/echo",
        "centos:8",
    ]
    rec = res.record
    assert rec["stdout_tail"] == "in container\n"
    assert rec["container"]["type"] == "docker"


def test_invalid_lite_json_names_file_and_field(run_job) -> None:
    res = run_job({"executable": "/bin/true", "walltime": "ten"})
    assert res.returncode == 1
    rec = res.record
    assert rec["failed_step"] == "stage-in"
    assert "job.lite.json" in rec["error"] and "walltime" in rec["error"]


def test_unknown_executable_fails_exec(run_job) -> None:
    res = run_job({"executable": "no-such-program-aerie"})
    assert res.record["failed_step"] == "exec"
    assert "no-such-program-aerie" in res.record["error"]


def test_tmp_scratch_is_made_and_removed(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    base = tmp_path / "condor-scratch"
    base.mkdir()
    res = run_job(
        {**py("import os; open('f.b','w').write(os.getcwd())"), "scratch": "tmp",
         "outputs": [{"lfn": "f.b"}]},
        scratch,
        env={"_CONDOR_SCRATCH_DIR": str(base)},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    used = (scratch / "f.b").read_text()
    assert used.startswith(str(base)) and used != str(scratch)
    assert list(base.iterdir()) == [], "the wrapper's own scratch dir must be removed"


def test_sigterm_to_the_wrapper_reaches_the_task(wrapper: Path, tmp_path: Path) -> None:
    import subprocess

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = "import os, time; open('started', 'w').write(str(os.getpid())); time.sleep(30)"
    job = {"version": 1, "job_id": "ID1", "transformation": "t", **py(code)}
    (scratch / "j.lite.json").write_text(json.dumps(job))
    proc = subprocess.Popen(
        [sys.executable, str(wrapper), "run", "j.lite.json"],
        cwd=scratch,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(200):
        if (scratch / "started").exists() and (scratch / "started").read_text():
            break
        time.sleep(0.025)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    rec = json.loads(out)
    assert rec["signal"] == signal.SIGTERM and rec["failed_step"] == "exec"
    assert "received signal 15" in rec["error"]
    assert proc.returncode == 128 + signal.SIGTERM
    task_pid = int((scratch / "started").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(task_pid, 0)


def test_deep_lfn_delivered_flat_is_put_in_place(run_job, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "f.a").write_text("deep")  # what HTCondor's transfer_input_files leaves
    res = run_job(
        {
            **py("print(open('data/in/f.a').read())"),
            "inputs": [{"lfn": "data/in/f.a", "sha256": sha(b"deep")}],
        },
        scratch,
    )
    assert res.returncode == 0, res.stdout
    assert res.record["stdout_tail"] == "deep\n"


def test_main_in_a_forked_child_like_the_local_engine(tmp_path: Path) -> None:
    """The fast path: fork, point fds 1/2 at the job's .out/.err, call main(), os._exit()."""
    from worker.lite.__main__ import main, preload

    preload()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    job = {"version": 1, "job_id": "ID7", "transformation": "t", **py("print('hi')")}
    (scratch / "j.lite.json").write_text(json.dumps(job))
    out, err = tmp_path / "j.out", tmp_path / "j.err"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 70
        try:
            os.chdir(scratch)
            for fd, path in ((1, out), (2, err)):
                f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(f, fd)
                os.close(f)
            # as the engine's child does (and as pytest's capture needs undoing)
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8")
            code = main(["run", "j.lite.json"])
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, err.read_text()
    rec = json.loads(out.read_text())
    assert rec["job_id"] == "ID7" and rec["stdout_tail"] == "hi\n"
    assert "aerie-lite: exitcode 0" in err.read_text()
    # and the POST step the same way
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 70
        try:
            code = main(["exitcode", "-l", str(tmp_path / "x.log"), str(out)])
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (tmp_path / "j.out.000").exists() and (tmp_path / "j.meta").exists()


def test_task_ignoring_sigterm_is_killed_after_the_forward_grace(
    wrapper: Path, tmp_path: Path
) -> None:
    import subprocess

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = (
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "open('started', 'w').write(str(os.getpid()))\n"
        "time.sleep(30)\n"
    )
    job = {"version": 1, "job_id": "ID1", "transformation": "t", **py(code)}
    (scratch / "j.lite.json").write_text(json.dumps(job))
    proc = subprocess.Popen(
        [sys.executable, str(wrapper), "run", "j.lite.json"],
        cwd=scratch,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(200):
        if (scratch / "started").exists() and (scratch / "started").read_text():
            break
        time.sleep(0.025)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert 1.5 < time.monotonic() - t0 < 4.5
    rec = json.loads(out)
    assert rec["signal"] == signal.SIGKILL and "received signal 15" in rec["error"]


def test_stage_out_failure_names_output_and_url(run_job, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    url = f"file://{blocker}/sub/f.b"
    res = run_job({**py("open('f.b', 'w').write('x')"), "outputs": [{"lfn": "f.b", "urls": [url]}]})
    rec = res.record
    assert res.returncode == 1 and rec["exitcode"] == 0
    assert rec["failed_step"] == "stage-out"
    assert "f.b" in rec["error"] and url in rec["error"]
    assert rec["outputs"][0]["size"] == 1  # the output itself was produced and recorded


def test_wall_time_also_kills_the_docker_container(run_job, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    kills = tmp_path / "kills.txt"
    (bindir / "docker").write_text(
        "#!/bin/sh\n"
        'if [ "$1" = kill ]; then shift; echo "$@" >> "$KILL_LOG"; exit 0; fi\n'
        'while [ "$1" != "--entrypoint" ]; do shift; done\n'
        'exe="$2"; shift 3\n'
        'exec "$exe" "$@"\n'
    )
    (bindir / "docker").chmod(0o755)
    res = run_job(
        {
            "executable": "/bin/sleep",
            "arguments": ["30"],
            "walltime": 1,
            "container": {"type": "docker", "image": "busybox"},
        },
        env={"PATH": f"{bindir}:/usr/bin:/bin", "KILL_LOG": str(kills)},
    )
    rec = res.record
    assert rec["walltime_exceeded"] and rec["failed_step"] == "exec"
    for _ in range(40):  # the kill command is not waited for
        if kills.exists():
            break
        time.sleep(0.05)
    signame, name = kills.read_text().split()[1:3]
    command = rec["container"]["command"]
    assert signame == "SIGTERM" and name == command[command.index("--name") + 1]


@pytest.mark.parametrize("tmpfile", [True, False], ids=["O_TMPFILE", "named-then-unlinked"])
def test_capture_files_leave_nothing_in_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmpfile: bool
) -> None:
    from worker.lite import run as lite_run

    if not tmpfile:
        monkeypatch.setattr(os, "O_TMPFILE", 0, raising=False)
    handle = lite_run._tempfile(str(tmp_path), "out")
    try:
        handle.write(b"captured\n")
        handle.flush()
        handle.seek(0)
        assert handle.read() == b"captured\n"
        assert list(tmp_path.iterdir()) == [], "HTCondor would send a leftover file back"
    finally:
        handle.close()
