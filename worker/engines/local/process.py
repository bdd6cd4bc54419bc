"""Starting node processes and learning when they end, without a thread per process.

Every job and script is forked into its own session (so `killpg` reaches everything it
starts) with stdin/stdout/stderr already pointing at the files the submit description names.
Exits are noticed through pidfds in one selector and reaped with `os.wait4`, which also gives
the CPU times and peak RSS the terminate event reports.

Fast path: when the program to run is the submit directory's `aerie-lite` job wrapper and the
wrapper's package is importable, the forked child calls `worker.lite.__main__.main(argv)`
directly instead of exec'ing a fresh interpreter. Files, environment, working directory, exit
status and events are the same; only the ~30 ms interpreter start-up is saved, which is what
makes 150 wrapped jobs per second possible on two cores.
"""

from __future__ import annotations

import io
import os
import selectors
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
                from worker.lite.__main__ import main

                _lite_main = main
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


def spawn(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    stdin: Path | None,
    stdout: Path | None,
    stderr: Path | None,
    inprocess: MainFunction | None = None,
) -> int:
    """Fork a child in a new session running argv (or `inprocess(argv[1:])`); returns its pid.

    Output files are opened in the parent first, so a bad path fails here with OSError rather
    than as a mysterious exit status.
    """
    fd_in = os.open(stdin, os.O_RDONLY) if stdin else os.open(os.devnull, os.O_RDONLY)
    fd_out = fd_err = -1
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        fd_out = os.open(stdout, flags, 0o644) if stdout else os.open(os.devnull, os.O_WRONLY)
        if stderr is not None and stderr == stdout:
            fd_err = os.dup(fd_out)
        else:
            fd_err = os.open(stderr, flags, 0o644) if stderr else os.open(os.devnull, os.O_WRONLY)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # child: never returns
            _child(argv, env, cwd, fd_in, fd_out, fd_err, inprocess)
        return pid
    finally:
        for fd in (fd_in, fd_out, fd_err):
            if fd >= 0:
                os.close(fd)


def _child(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    fd_in: int,
    fd_out: int,
    fd_err: int,
    inprocess: MainFunction | None,
) -> None:
    code = 127
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
        os.dup2(fd_in, 0)
        os.dup2(fd_out, 1)
        os.dup2(fd_err, 2)
        os.chdir(cwd)
        if inprocess is None:
            os.execve(argv[0], argv, env)
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
            if isinstance(exc, OSError) and inprocess is None:
                os.write(2, f"cannot execute {argv[0]}: {exc.strerror}\n".encode())
            else:
                os.write(2, traceback.format_exc().encode(errors="replace"))
        except OSError:
            pass
    finally:
        os._exit(code)


class Reaper:
    """Waits for any of the registered child processes to end (pidfd + selector)."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._fds: dict[int, int] = {}
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

    def __len__(self) -> int:
        return len(self._fds)

    def wait(self, timeout: float | None) -> list[Exit]:
        """Exits of registered children that ended, waiting up to `timeout` seconds."""
        exits = []
        for key, _ in self._selector.select(timeout):
            pid = key.data
            if pid is None:
                try:
                    while os.read(self._wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                continue
            exited = self._reap(pid)
            if exited is not None:
                exits.append(exited)
        return exits

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
