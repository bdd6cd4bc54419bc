"""Starting node processes and learning when they end, without a thread per process.

Every job and script runs in its own session (so `killpg` reaches everything it starts) with
stdin/stdout/stderr pointing at the files the submit description names: exec'd through
`subprocess` (vfork) when it runs as the engine's user, else forked (the child drops to the job
account before exec). Exits are noticed through pidfds in one selector and reaped with
`os.wait4`, which also gives the CPU times and peak RSS the terminate event reports; the same
selector carries the answers of starters (starter.py).

In-process path: when the program to run is the submit directory's `aerie-lite` job wrapper
and the wrapper's package is importable, `worker.lite.__main__.main(argv)` is called directly
instead of exec'ing a fresh interpreter (~30 ms of start-up saved) — by a long-lived starter
(the default), or in a fork of the engine per job (`EngineConfig(starters=False)`). Files,
environment, working directory, exit status and events are the same.
"""

from __future__ import annotations

import gc
import io
import os
import selectors
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from worker.engines.local.isolation import JobIdentity, drop

MainFunction = Callable[[list[str]], int]

CLOSE_IN_CHILD: set[int] = set()
"""Descriptors a forked child must not keep (the DAG lock: an orphan holding it would make a
dead engine look alive). Exec'd children lose them anyway (they are close-on-exec)."""

_lite_main: MainFunction | None = None
_lite_checked = False


def lite_main() -> MainFunction | None:
    """The job wrapper's `main(argv)` if it can run in-process (imported once, lazily)."""
    global _lite_main, _lite_checked
    if not _lite_checked:
        _lite_checked = True
        if os.environ.get("AERIE_ENGINE_INPROCESS", "1") != "0":
            try:
                import worker.lite.__main__ as lite

                preload = getattr(lite, "preload", None)
                if preload is not None:
                    preload()  # import once here, not in every forked child
                _lite_main = lite.main
                # Objects that exist now are never collected: children skip traversing (and so
                # copying on write) the engine's heap.
                gc.freeze()
            except (ImportError, AttributeError):
                _lite_main = None
    return _lite_main


def is_job_wrapper(executable: Path) -> bool:
    return executable.name == "aerie-lite"


@dataclass
class Exit:
    """How a process ended: `code` for a normal exit, `signal` when killed."""

    pid: int
    code: int | None
    signal: int | None
    user_cpu: float
    system_cpu: float
    max_rss_kb: int

    @property
    def value(self) -> int:
        """DAGMan's view: the exit code, or minus the signal number."""
        return self.code if self.code is not None else -(self.signal or 0)


class SetupError(Exception):
    """The program's files could not be opened or the program not started: no process exists.
    The text says which step failed and why (``cannot execute /x: No such file...``)."""


def spawn(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    stdin: Path | None,
    stdout: Path | None,
    stderr: Path | None,
    inprocess: MainFunction | None = None,
    identity: JobIdentity | None = None,
) -> tuple[int, int]:
    """Fork a child in a new session running argv (or `inprocess(argv[1:])`).

    With an `identity` the child becomes that account after opening its standard files (never
    through a symlink) and before changing directory, so the job itself — exec'd or in-process
    — only ever has the job account's rights.

    Returns (pid, error fd). A program exec'd as the engine's own user is started with
    `subprocess` (vfork + exec: ~0.8 ms instead of the 3–4 ms a fork of the engine costs); its
    files are opened here and a failure raises `SetupError` at once (error fd -1). Otherwise
    the forked child opens its own stdin/stdout/stderr and changes directory; if that setup or
    the exec fails, it writes the reason to the error pipe and exits 127, and
    `read_setup_error` fetches it once the child has ended (an exec that succeeds closes the
    pipe, being close-on-exec).
    """
    if inprocess is None and identity is None:
        return _spawn_exec(argv, env, cwd, stdin, stdout, stderr), -1
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(err_r)
        _child(argv, env, cwd, stdin, stdout, stderr, inprocess, err_w, identity)
    os.close(err_w)
    return pid, err_r


def open_stdio(
    stdin: Path | None, stdout: Path | None, stderr: Path | None, nofollow: bool = False
) -> tuple[list[int], list[int]]:
    """Open a program's standard files here, in the engine: (descriptors to close afterwards,
    the three for fds 0-2). `nofollow` refuses symlinks (jobs that run as another account).
    A failure raises `SetupError` naming the file (``cannot open output X: reason``)."""
    no_link = os.O_NOFOLLOW if nofollow else 0
    opened: list[int] = []
    step = "start"
    try:
        step = f"open input {stdin}"
        opened.append(os.open(stdin or os.devnull, os.O_RDONLY | (no_link if stdin else 0)))
        step = f"open output {stdout}"
        opened.append(
            os.open(stdout, _WRITE | no_link, 0o644) if stdout else os.open(os.devnull, _WRITE)
        )
        step = f"open error {stderr}"
        if stderr is not None and stderr == stdout:
            return opened, [opened[0], opened[1], opened[1]]
        opened.append(
            os.open(stderr, _WRITE | no_link, 0o644) if stderr else os.open(os.devnull, _WRITE)
        )
        return opened, list(opened)
    except OSError as exc:
        for fd in opened:
            os.close(fd)
        raise SetupError(f"cannot {step}: {exc.strerror}") from exc


def _spawn_exec(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    stdin: Path | None,
    stdout: Path | None,
    stderr: Path | None,
) -> int:
    opened, fds = open_stdio(stdin, stdout, stderr)
    step = f"execute {argv[0]}"
    try:
        child = subprocess.Popen(
            argv,
            stdin=fds[0],
            stdout=fds[1],
            stderr=fds[2],
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        if exc.filename is not None and str(exc.filename) == str(cwd):
            step = f"change to directory {cwd}"
        raise SetupError(f"cannot {step}: {exc.strerror}") from exc
    finally:
        for fd in opened:
            os.close(fd)
    # Reaped by the Reaper (wait4 gives the usage the terminate event reports), never by
    # subprocess: a Popen with no return code would be waited for by the next Popen.
    child.returncode = 0
    return child.pid


def read_setup_error(fd: int) -> str | None:
    """The child's setup failure message, if any; closes the pipe."""
    try:
        os.set_blocking(fd, False)
        data = os.read(fd, 4096)
    except (BlockingIOError, OSError):
        data = b""
    finally:
        os.close(fd)
    return data.decode(errors="replace") or None


_WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def _child(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    stdin: Path | None,
    stdout: Path | None,
    stderr: Path | None,
    inprocess: MainFunction | None,
    err_w: int,
    identity: JobIdentity | None = None,
) -> None:
    code = 127
    step = "start"
    nofollow = os.O_NOFOLLOW if identity is not None else 0
    try:
        os.setsid()
        for fd in CLOSE_IN_CHILD:
            try:
                os.close(fd)
            except OSError:
                pass
        for signum in (
            signal.SIGTERM,
            signal.SIGINT,
            signal.SIGUSR1,
            signal.SIGCHLD,
            signal.SIGPIPE,
        ):
            signal.signal(signum, signal.SIG_DFL)
        try:
            signal.set_wakeup_fd(-1)
        except ValueError:
            pass
        step = f"open input {stdin}"
        fd = os.open(stdin or os.devnull, os.O_RDONLY | (nofollow if stdin else 0))
        os.dup2(fd, 0)
        step = f"open output {stdout}"
        fd = (
            os.open(stdout, _WRITE | nofollow, 0o644)
            if stdout
            else os.open(os.devnull, os.O_WRONLY)
        )
        os.dup2(fd, 1)
        step = f"open error {stderr}"
        if stderr is not None and stderr == stdout:
            os.dup2(1, 2)
        else:
            fd = (
                os.open(stderr, _WRITE | nofollow, 0o644)
                if stderr
                else os.open(os.devnull, os.O_WRONLY)
            )
            os.dup2(fd, 2)
        if identity is not None:
            step = f"become {identity.name}"
            drop(identity)
        step = f"change to directory {cwd}"
        os.chdir(cwd)
        if inprocess is None:
            step = f"execute {argv[0]}"
            os.execve(argv[0], argv, env)
        os.close(err_w)
        err_w = -1
        gc.disable()  # a short-lived child: collecting would only copy the parent's pages
        os.environ.clear()
        os.environ.update(env)
        sys.argv = list(argv)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace"
        )
        try:
            result = inprocess(list(argv[1:]))
            code = int(result or 0) & 0xFF
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as exc:  # noqa: BLE001 - the child must never return to the engine
        try:
            if err_w >= 0:
                reason = exc.strerror if isinstance(exc, OSError) else repr(exc)
                os.write(err_w, f"cannot {step}: {reason}".encode(errors="replace"))
            else:
                os.write(2, traceback.format_exc().encode(errors="replace"))
        except OSError:
            pass
    finally:
        os._exit(code)


_sink: TextIO | None = None


def call_inline(main: MainFunction, argv: list[str], cwd: Path) -> int:
    """Run the job wrapper's `main` inside the engine (no process at all): for the POST
    verdict, which only reads a few files. Output is discarded like a script's; any exception
    counts as exit status 1."""
    global _sink
    saved_cwd = os.getcwd()
    saved_out, saved_err = sys.stdout, sys.stderr
    if _sink is None:
        _sink = open(os.devnull, "w")  # noqa: SIM115 - kept open for the engine's lifetime
    sink = _sink
    try:
        os.chdir(cwd)
        sys.stdout = sys.stderr = sink
        try:
            return int(main(list(argv[1:])) or 0) & 0xFF
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # noqa: BLE001 - a failing verdict is a failed POST, not a dead engine
            return 1
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
        sink.flush()
        os.chdir(saved_cwd)


class Answering(Protocol):
    """A process whose answers arrive on a socket (starter.Starter)."""

    pid: int

    def receive(self) -> list[Any]: ...


class Reaper:
    """Waits for any of the registered child processes to end (pidfd + selector), and for
    answers from starters (their sockets)."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._fds: dict[int, int] = {}
        self._starters: dict[int, Answering] = {}
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)

    @property
    def wakeup_fd(self) -> int:
        """Write end for `signal.set_wakeup_fd`, so a signal interrupts `wait`."""
        return self._wake_w

    def add(self, pid: int) -> None:
        fd = os.pidfd_open(pid)
        self._fds[pid] = fd
        self._selector.register(fd, selectors.EVENT_READ, pid)

    def watch_socket(self, fd: int, starter: Answering) -> None:
        """Also wait for answers on a starter's socket (`starter.receive()` reads them)."""
        self._starters[starter.pid] = starter
        self._selector.register(fd, selectors.EVENT_READ, starter)

    def unwatch_socket(self, fd: int) -> None:
        try:
            self._selector.unregister(fd)
        except (KeyError, ValueError):
            pass

    def forget(self, pid: int) -> None:
        """Stop watching `pid` (reaped by someone else)."""
        self._starters.pop(pid, None)
        fd = self._fds.pop(pid, None)
        if fd is not None:
            self._selector.unregister(fd)
            os.close(fd)

    def __len__(self) -> int:
        return len(self._fds)

    def wait(self, timeout: float | None) -> list[Any]:
        """What happened, waiting up to `timeout` seconds: exits of registered children, and
        starters' answers (`starter.Started`, `starter.Held`, `starter.Finished`)."""
        events: list[Any] = []
        for key, _ in self._selector.select(timeout):
            data = key.data
            if data is None:
                try:
                    while os.read(self._wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                continue
            if not isinstance(data, int):
                events.extend(data.receive())
                continue
            starter = self._starters.get(data)
            if starter is not None:
                # Its last answers come before its death: a job that ended normally is not
                # taken for one killed with its starter.
                events.extend(starter.receive())
            exited = self._reap(data)
            if exited is not None:
                self._starters.pop(data, None)
                events.append(exited)
        return events

    def _reap(self, pid: int) -> Exit | None:
        try:
            reaped, status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            status, usage = 0, None
        else:
            if reaped == 0:
                return None
        fd = self._fds.pop(pid)
        self._selector.unregister(fd)
        os.close(fd)
        if os.WIFSIGNALED(status):
            code, sig = None, os.WTERMSIG(status)
        else:
            code, sig = os.WEXITSTATUS(status), None
        return Exit(
            pid=pid,
            code=code,
            signal=sig,
            user_cpu=usage.ru_utime if usage else 0.0,
            system_cpu=usage.ru_stime if usage else 0.0,
            max_rss_kb=usage.ru_maxrss if usage else 0,
        )

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot): with the pid, a unique identity."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return int(fields[19])


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def kill_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
