"""``aerie-lite run <job>.lite.json``: PegasusLite + kickstart for one compute job.

Steps, in order, each named in the record's ``failed_step`` when it is the one that failed:

1. ``stage-in``: pick the scratch dir, check a container runtime is there, fetch inputs that have
   URLs, ``chmod +x`` staged executables, and make sure every input is present.
2. ``integrity``: verify the sha256 of every input that has a known checksum (from lite.json or a
   ``*.meta`` file in the scratch dir).
3. ``exec``: run each task (one, or a cluster's tasks in sequence) in its own process group, with
   the wall-time limit, measuring CPU time and peak RSS of the process tree with ``wait4``.
4. ``stage-out``: every declared output must exist; hash it; copy it to its URLs.

Then print the record(s) (``invocation.py``), remove a scratch dir we made, and exit with the job's
exit code (128+N for signal N), or 1 when a wrapper step failed.  ``run(argv)`` has no global state,
so an engine may call it in a forked child instead of exec'ing the zipapp.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import IO, Any

from . import integrity as integ
from . import invocation as inv
from .jobspec import InputFile, JobSpec, OutputFile, SpecError, Task

KILL_GRACE = 5.0  # wall time: SIGTERM, then SIGKILL this much later
FORWARD_GRACE = 2.0  # a signal passed on from the wrapper: SIGKILL this much later


class StepFailed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message


def _inside(scratch: str, lfn: str) -> str:
    path = os.path.normpath(os.path.join(scratch, lfn))
    if not (path == scratch or path.startswith(scratch.rstrip(os.sep) + os.sep)):
        raise StepFailed("stage-in", f"LFN {lfn!r} points outside the scratch dir")
    return path


def _tail(fh: IO[bytes] | None, path: str | None) -> str:
    """The last ``TAIL_BYTES`` of a captured stream or of a redirected file."""
    try:
        if fh is not None:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - inv.TAIL_BYTES))
            data = fh.read()
        elif path is not None and os.path.isfile(path):
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - inv.TAIL_BYTES))
                data = f.read()
        else:
            return ""
    except OSError:
        return ""
    return data.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# stage-in and integrity


def stage_in(spec: JobSpec, scratch: str, origin: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    files = nbytes = 0
    for f in spec.inputs:
        dest = _inside(scratch, f.lfn)
        if f.urls:
            from . import transfer

            try:
                _, n = transfer.fetch_first(f.urls, dest)
            except (transfer.TransferError, OSError) as exc:
                raise StepFailed("stage-in", f"input {f.lfn}: {exc}") from exc
            files += 1
            nbytes += n
        elif not os.path.lexists(dest):
            there = os.path.join(origin, f.lfn)
            flat = os.path.join(scratch, os.path.basename(f.lfn))
            if origin != scratch and os.path.exists(there):
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.symlink(there, dest)
            elif flat != dest and os.path.exists(flat):
                # HTCondor's transfer_input_files drops directories: put a deep LFN in place.
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.rename(flat, dest)
            else:
                raise StepFailed(
                    "stage-in",
                    f"input {f.lfn} is not in the scratch dir {scratch} and has no URL to fetch",
                )
        if f.executable:
            try:
                mode = os.stat(dest).st_mode
                os.chmod(dest, mode | 0o111)
            except OSError as exc:
                raise StepFailed("stage-in", f"cannot chmod +x {f.lfn}: {exc.strerror}") from exc
    return {"files": files, "bytes": nbytes, "duration": round(time.perf_counter() - t0, 6)}


def verify_inputs(
    spec: JobSpec, scratch: str
) -> tuple[dict[str, Any], dict[str, str], StepFailed | None]:
    """Integrity summary, ``{lfn: sha256}`` computed, and the first mismatch (or None)."""
    t0 = time.perf_counter()
    ok = failed = 0
    computed: dict[str, str] = {}
    error: StepFailed | None = None
    if spec.integrity != "none" and spec.inputs:
        try:
            known = integ.read_meta_dir(scratch)
        except integ.IntegrityError as exc:
            return (
                {"succeeded": 0, "failed": 1, "duration": round(time.perf_counter() - t0, 6)},
                computed,
                StepFailed("integrity", str(exc)),
            )
        for f in spec.inputs:
            expected: list[tuple[str, str]] = []
            if f.sha256:
                expected.append((f.sha256, "lite.json"))
            if f.lfn in known:
                expected.append(known[f.lfn])
            if not expected:
                continue
            path = _inside(scratch, f.lfn)
            if spec.integrity == "nosymlink" and os.path.islink(path):
                continue
            try:
                sha, _ = integ.sha256_file(path)
            except OSError as exc:
                failed += 1
                error = error or StepFailed("integrity", f"cannot read input {f.lfn}: {exc}")
                continue
            computed[f.lfn] = sha
            bad = [(want, src) for want, src in expected if want.lower() != sha]
            if bad:
                failed += 1
                want, src = bad[0]
                error = error or StepFailed(
                    "integrity",
                    f"checksum mismatch for input {f.lfn} ({path}): expected {want} "
                    f"(from {src}), got {sha}",
                )
            else:
                ok += 1
    summary = {"succeeded": ok, "failed": failed, "duration": round(time.perf_counter() - t0, 6)}
    return summary, computed, error


def _input_items(inputs: tuple[InputFile, ...], scratch: str, computed: dict[str, str]) -> list:
    items = []
    for f in inputs:
        try:
            size: int | None = os.path.getsize(os.path.join(scratch, f.lfn))
        except OSError:
            size = None
        items.append({"lfn": f.lfn, "size": size, "sha256": computed.get(f.lfn)})
    return items


def _output_items(
    outputs: tuple[OutputFile, ...], scratch: str, cache: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Size and sha256 of each output (hashed once even when a cluster lists it twice)."""
    items = []
    for f in outputs:
        if f.lfn in cache:
            items.append(cache[f.lfn])
            continue
        path = os.path.join(scratch, f.lfn)
        try:
            st = os.stat(path)
        except OSError:
            if f.optional:
                continue
            items.append({"lfn": f.lfn, "size": None, "sha256": None})
            continue
        item: dict[str, Any] = {"lfn": f.lfn, "size": st.st_size, "sha256": None}
        item["ctime"] = inv.iso_utc(st.st_ctime)
        if f.checksum:
            try:
                sha, timing = integ.sha256_file(path)
                item["sha256"] = sha
                item["checksum_timing"] = round(timing, 6)
            except OSError:
                pass
        cache[f.lfn] = item
        items.append(item)
    return items


def stage_out(spec: JobSpec, scratch: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    files = nbytes = 0
    for f in spec.outputs:
        path = _inside(scratch, f.lfn)
        if not os.path.exists(path):
            if f.optional:
                continue
            raise StepFailed("stage-out", f"declared output {f.lfn} was not produced ({path})")
        for url in f.urls:
            from . import transfer

            try:
                nbytes += transfer.put(path, url)
            except (transfer.TransferError, OSError) as exc:
                raise StepFailed("stage-out", f"output {f.lfn} to {url}: {exc}") from exc
            files += 1
    return {"files": files, "bytes": nbytes, "duration": round(time.perf_counter() - t0, 6)}


# ---------------------------------------------------------------------------------------------
# exec


def resolve_executable(exe: str, scratch: str, env: dict[str, str]) -> str:
    import shutil

    if os.path.isabs(exe):
        return exe
    local = os.path.join(scratch, exe)
    if os.sep in exe or os.path.exists(local):
        return local
    found = shutil.which(exe, path=env.get("PATH", os.defpath))
    if not found:
        raise StepFailed("exec", f"executable {exe!r} not found in the scratch dir or on PATH")
    return found


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def execute(
    task: Task,
    spec: JobSpec,
    scratch: str,
    env: dict[str, str],
    rec: dict[str, Any],
) -> None:
    """Run one task and fill the exec fields of ``rec`` (exit, signal, times, tails)."""
    import threading

    task_env = dict(env)
    task_env.update(task.environment)
    stdin_path = _inside(scratch, task.stdin) if task.stdin else None
    out_path = _inside(scratch, task.stdout) if task.stdout else None
    err_path = _inside(scratch, task.stderr) if task.stderr else None
    rec["start"] = inv.iso_utc(time.time())
    c = spec.container
    docker_kill: list[str] | None = None  # docker's client does not take its container down
    kill_target = ""
    if c is not None:
        from . import container

        runtime = container.find_runtime(c.type, env.get("PATH"))
        declared = dict(spec.environment)
        declared.update(task.environment)
        name = container.container_name(task.job_id, rec["task_index"])
        argv = container.command(
            c, runtime, scratch, task.executable, task.arguments, declared, name
        )
        rec["executable"] = task.executable
        rec["argv"] = [task.executable, *task.arguments]
        rec["container"] = {"type": c.type, "image": c.image, "command": argv}
        if c.type == "docker":
            docker_kill = [runtime, "kill", "--signal"]
            kill_target = name
        for prep in container.prepare(c, runtime, scratch):
            res = subprocess.run(prep, capture_output=True)
            if res.returncode != 0:
                msg = res.stderr.decode("utf-8", "replace").strip()[-500:]
                raise StepFailed("exec", f"{' '.join(prep)} failed: {msg}")
    else:
        exe = resolve_executable(task.executable, scratch, task_env)
        argv = [exe, *task.arguments]
        rec["executable"] = exe
        rec["argv"] = argv
    fin = out_f = err_f = None
    try:
        fin = open(stdin_path, "rb") if stdin_path else open(os.devnull, "rb")
        out_f = open(out_path, "w+b") if out_path else _tempfile(scratch, "out")
        err_f = open(err_path, "w+b") if err_path else _tempfile(scratch, "err")
    except OSError as exc:
        for f in (fin, out_f, err_f):
            if f is not None:
                f.close()
        raise StepFailed("exec", f"cannot open stdio file: {exc}") from exc
    rec["maxrss_floor_kb"] = _peak_rss_kb()
    t0 = time.monotonic()
    try:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=scratch,
                env=task_env,
                stdin=fin,
                stdout=out_f,
                stderr=err_f,
                start_new_session=True,
            )
        except OSError as exc:
            raise StepFailed("exec", f"cannot start {argv[0]}: {exc.strerror}") from exc
        timed_out = threading.Event()
        timers: list[threading.Timer] = []
        walltime = task.walltime or spec.walltime

        def _stop(signum: int) -> None:
            _kill_group(proc.pid, signum)
            if docker_kill is not None:
                try:  # not waited for: this may run in a signal handler
                    subprocess.Popen(
                        [*docker_kill, signal.Signals(signum).name, kill_target],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                except OSError:
                    pass

        def _later(delay: float, signum: int) -> None:
            t = threading.Timer(delay, _stop, (signum,))
            t.daemon = True
            timers.append(t)
            t.start()

        if walltime:

            def _expire() -> None:
                timed_out.set()
                _stop(signal.SIGTERM)
                _later(KILL_GRACE, signal.SIGKILL)

            timer = threading.Timer(walltime, _expire)
            timer.daemon = True
            timers.append(timer)
            timer.start()
        # The task runs in its own session (so a wall-time kill reaches its whole tree); a
        # SIGTERM/SIGINT/SIGHUP sent to the wrapper (condor_rm, engine stop) is passed on to it.
        interrupted: list[int] = []
        saved: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():

            def _forward(signum: int, _frame: Any) -> None:
                interrupted.append(signum)
                _stop(signum)
                # Escalate before the sender does: a SIGKILL to the wrapper would orphan the
                # task's session (the local engine waits 5 s between SIGTERM and SIGKILL).
                _later(FORWARD_GRACE, signal.SIGKILL)

            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                saved[sig] = signal.signal(sig, _forward)
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        except ChildProcessError:  # reaped elsewhere (should not happen)
            status, ru = 0, None
        finally:
            for signum, handler in saved.items():
                signal.signal(signum, handler)
        proc.returncode = 0  # keep Popen from trying to reap it again
        duration = time.monotonic() - t0
        for t in timers:
            t.cancel()
        _kill_group(proc.pid, signal.SIGKILL)  # leftovers of the task's process group
        rec["duration"] = round(duration, 6)
        rec["raw_status"] = status
        if os.WIFSIGNALED(status):
            rec["signal"] = os.WTERMSIG(status)
            rec["exitcode"] = None
        else:
            rec["exitcode"] = os.WEXITSTATUS(status)
        if ru is not None:
            rec["utime"] = round(ru.ru_utime, 6)
            rec["stime"] = round(ru.ru_stime, 6)
            rec["maxrss_kb"] = int(ru.ru_maxrss)
        rec["walltime_exceeded"] = timed_out.is_set()
        rec["stdout_tail"] = _tail(None if out_path else out_f, out_path)
        rec["stderr_tail"] = _tail(None if err_path else err_f, err_path)
    finally:
        for f in (fin, out_f, err_f):
            if f is not None:
                f.close()
    if interrupted:
        raise StepFailed(
            "exec",
            f"the wrapper received signal {interrupted[0]} while {task.executable} ran; "
            "it was passed on to the task",
        )
    if rec["walltime_exceeded"]:
        raise StepFailed(
            "exec",
            f"{task.executable} exceeded its wall time of {walltime:g} s and was killed "
            f"(signal {rec['signal'] or 'none'})",
        )
    if rec["signal"]:
        name = signal.Signals(rec["signal"]).name if rec["signal"] in _SIGNUMS else "?"
        raise StepFailed("exec", f"{task.executable} was killed by signal {rec['signal']} ({name})")
    if rec["exitcode"] != 0:
        raise StepFailed("exec", f"{task.executable} exited with code {rec['exitcode']}")


_SIGNUMS = {int(s) for s in signal.Signals}


def _peak_rss_kb() -> int:
    """This process's memory image's peak RSS (``VmHWM``): what an exec'd child is charged.

    Not ``getrusage(RUSAGE_SELF)``, which also holds what *our* spawner was charged to us.
    """
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _tempfile(scratch: str, name: str) -> IO[bytes]:
    """An anonymous capture file in scratch, so nothing is left for HTCondor to see: an
    `O_TMPFILE` file where the file system has them (no directory entry is ever made, which
    saves a create and an unlink per task), else a named one unlinked at once."""
    flag = getattr(os, "O_TMPFILE", 0)
    if flag:
        try:
            return os.fdopen(os.open(scratch, flag | os.O_RDWR, 0o600), "w+b")
        except OSError:
            pass  # not supported here (e.g. some network file systems)
    path = os.path.join(scratch, f".aerie-lite.{os.getpid()}.{name}")
    fh = open(path, "w+b")
    os.unlink(path)
    return fh


# ---------------------------------------------------------------------------------------------
# the command


def _emit(rec: dict[str, Any], out: IO[str]) -> None:
    out.write(inv.dumps(rec) + "\n")
    out.flush()


def _make_scratch(spec: JobSpec, origin: str) -> tuple[str, bool]:
    if spec.scratch == "cwd":
        return origin, False
    import shutil
    import tempfile

    base = None
    for var in ("_CONDOR_SCRATCH_DIR", "TMPDIR"):
        cand = os.environ.get(var)
        if cand and os.path.isdir(cand) and os.access(cand, os.W_OK):
            base = cand
            break
    path = tempfile.mkdtemp(prefix="aerie-lite-", dir=base)
    for name in os.listdir(origin):
        if name.endswith(".meta"):
            shutil.copyfile(os.path.join(origin, name), os.path.join(path, name))
    return path, True


def run_job(spec: JobSpec, origin: str, out: IO[str], err: IO[str]) -> int:
    """Run a parsed job in ``origin`` (the cwd); print records on ``out``; return the exit code."""
    scratch, made = _make_scratch(spec, origin)
    scratch = os.path.realpath(scratch)
    base = dict(
        job_id=spec.job_id,
        job_name=spec.job_name,
        transformation=spec.transformation,
        site=spec.site,
        wf_label=spec.wf_label,
        wf_uuid=spec.wf_uuid,
        **inv.host_facts(scratch),
    )
    env = dict(os.environ)
    env.update(spec.environment)
    clustered = spec.tasks is not None
    job_t0 = time.time()
    records: list[dict[str, Any]] = []
    failure: StepFailed | None = None
    stage_in_stats: dict[str, Any] = {"files": 0, "bytes": 0, "duration": 0.0}
    stage_out_stats: dict[str, Any] = {"files": 0, "bytes": 0, "duration": 0.0}
    integrity_summary: dict[str, Any] = {"succeeded": 0, "failed": 0, "duration": 0.0}
    computed: dict[str, str] = {}
    output_cache: dict[str, dict[str, Any]] = {}
    submitted = succeeded_tasks = 0
    exit_code = 0
    step = "stage-in"  # the step under way, for errors that are not StepFailed
    try:
        try:
            if spec.container is not None:
                from . import container

                try:
                    container.find_runtime(spec.container.type, env.get("PATH"))
                except container.ContainerError as exc:
                    raise StepFailed("stage-in", str(exc)) from exc
            stage_in_stats = stage_in(spec, scratch, origin)
            step = "integrity"
            integrity_summary, computed, bad = verify_inputs(spec, scratch)
            if bad is not None:
                raise bad
        except StepFailed as exc:
            failure = exc
        tasks = spec.run_tasks()
        step = "exec"
        if failure is None:
            for index, task in enumerate(tasks, start=1):
                rec = inv.new_record(**base)
                rec.update(
                    job_id=task.job_id,
                    job_name=task.job_name or (spec.job_name if not clustered else None),
                    transformation=task.transformation,
                    task_index=index,
                )
                rec["inputs"] = _input_items(task.inputs, scratch, computed)
                submitted += 1
                try:
                    execute(task, spec, scratch, env, rec)
                except StepFailed as exc:
                    rec["failed_step"] = exc.step
                    rec["error"] = str(exc)
                    if rec["exitcode"] not in (None, 0):
                        exit_code = exit_code or int(rec["exitcode"])
                    elif rec["signal"]:
                        exit_code = exit_code or 128 + int(rec["signal"])
                    else:
                        exit_code = exit_code or 1
                    failure = failure or exc
                rec["outputs"] = _output_items(task.outputs, scratch, output_cache)
                if rec["failed_step"] is None:
                    succeeded_tasks += 1
                records.append(rec)
                if clustered:
                    _emit(rec, out)
                    if rec["failed_step"] is not None and spec.fail_fast:
                        break
        step = "stage-out"
        if failure is None:
            try:
                stage_out_stats = stage_out(spec, scratch)
            except StepFailed as exc:
                failure = exc
    except Exception as exc:  # an unexpected error must still leave a record that names it
        failure = failure or StepFailed(step, f"unexpected error: {exc!r}")
    finally:
        if made:
            import shutil

            try:
                _copy_back(spec, scratch, origin)
            except OSError as exc:
                failure = failure or StepFailed("stage-out", f"cannot copy outputs back: {exc}")
            shutil.rmtree(scratch, ignore_errors=True)

    if failure is not None and exit_code == 0:
        exit_code = 1
    if not clustered:
        rec = records[0] if records else inv.new_record(**base)
        if not records:
            rec["start"] = inv.iso_utc(job_t0)
            rec["inputs"] = _input_items(spec.inputs, scratch, computed) if not made else []
            rec["argv"] = [spec.executable or "", *spec.arguments]
        rec["integrity"] = integrity_summary
        rec["stage_in"] = stage_in_stats
        rec["stage_out"] = stage_out_stats
        if failure is not None and rec["failed_step"] is None:
            rec["failed_step"] = failure.step
            rec["error"] = str(failure)
        _emit(rec, out)
    else:
        summary: dict[str, Any] = {
            "type": inv.CLUSTER_SUMMARY,
            "version": inv.VERSION,
            "job_id": spec.job_id,
            "job_name": spec.job_name,
            "transformation": spec.transformation,
            "site": spec.site,
            "hostname": base["hostname"],
            "stat": "ok" if failure is None else "fail",
            "tasks": len(spec.run_tasks()),
            "submitted": submitted,
            "succeeded": succeeded_tasks,
            "failed": submitted - succeeded_tasks,
            "start": inv.iso_utc(job_t0),
            "duration": round(time.time() - job_t0, 6),
            "integrity": integrity_summary,
            "stage_in": stage_in_stats,
            "stage_out": stage_out_stats,
            "failed_step": failure.step if failure else None,
            "error": str(failure) if failure else None,
        }
        _emit(summary, out)
    if failure is not None:
        err.write(f"aerie-lite: job {spec.job_id} failed at {failure}\n")
    err.write(f"aerie-lite: exitcode {exit_code}\n")
    err.flush()
    return exit_code


def _copy_back(spec: JobSpec, scratch: str, origin: str) -> None:
    """With a scratch dir of our own, outputs without URLs go back where HTCondor expects them."""
    import shutil

    for f in spec.outputs:
        src = os.path.join(scratch, f.lfn)
        if not f.urls and os.path.exists(src):
            dest = os.path.join(origin, f.lfn)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(src, dest)


def main(argv: list[str], out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """``aerie-lite run <job>.lite.json``."""
    from . import jobspec

    out = out or sys.stdout
    err = err or sys.stderr
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        err.write("usage: aerie-lite run <job>.lite.json\n")
        return 2
    try:
        spec = jobspec.load(argv[0])
    except SpecError as exc:
        rec = inv.new_record(
            start=inv.iso_utc(time.time()),
            failed_step="stage-in",
            error=f"stage-in: {exc}",
            **inv.host_facts(os.getcwd()),
        )
        _emit(rec, out)
        err.write(f"aerie-lite: {exc}\n")
        return 1
    return run_job(spec, os.getcwd(), out, err)
