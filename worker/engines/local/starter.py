"""Long-lived starter processes that run the job wrapper, one job after another.

Why: forking the engine for every job costs 3–4 ms of CPU on a VM (copying the page tables of
a 40 MB process, then tearing them down again), and all of it lands on the engine's own core,
which is also the core that writes every event. A starter is forked once and then does, per
job, what HTCondor's starter does on an execute point: stage the inputs into scratch, run the
job (the `aerie-lite` wrapper's `main` in-process, which execs the task itself), stage the
outputs back and empty scratch — on the other core, while the engine goes on scheduling. The
engine sends a request over a socket and learns from two answers that the job started and
how it ended. POST verdicts (`aerie-lite exitcode`) run in starters too.

What stays as with a fork per job:

* the job's stdin/stdout/stderr are opened by the engine (never through a symlink when jobs
  run as another account) and handed over with the request (SCM_RIGHTS), then dup'ed onto
  descriptors 0–2 for the job's duration;
* a starter is a session leader, so `killpg(starter)` reaches the wrapper (which passes
  SIGTERM on to its task's own session, as before) — removal and recovery are unchanged, and
  the `.procs` file lists starters instead of one process per job;
* a starter for jobs that run as the job account drops to it for good right after the fork;
  POST verdicts use a starter that keeps the engine's rights (they rename the engine's files);
* answers are JSON, never pickle: a job account's process may not feed the engine code.

A starter that dies in the middle of a job (killed, crashed) is seen by its pidfd and the job
ends with that signal, exactly like a forked job that died; the pool forks a new one later.
"""

from __future__ import annotations

import gc
import io
import json
import os
import pickle
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from worker.engines.local import process as proc
from worker.engines.local.isolation import JobIdentity, drop
from worker.engines.local.submit import (
    JobSpec,
    TransferError,
    empty_directory,
    transfer_inputs,
    transfer_outputs,
)

MAX_JOBS_PER_STARTER = 2000
"""A starter is retired (and a fresh one forked on demand) after this many jobs, so a slow
leak in a long run cannot grow without bound."""

MAX_MESSAGE = 4 << 20
"""Largest request or answer; a bigger request (a huge environment) falls back to a fork."""


@dataclass
class Request:
    """One job or script for a starter (pickled: the engine is trusted by its starters)."""

    kind: str  # "job" | "script"
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    spec: JobSpec | None = None  # with file transfer: stage in before, out after
    scratch: Path | None = None  # emptied after the job


@dataclass
class Started:
    """A starter's job passed stage-in and runs now."""

    pid: int
    when: float
    bytes_in: int


@dataclass
class Held:
    """A starter's job could not start (stage-in failed): HTCondor would hold it."""

    pid: int
    reason: str
    code: int
    subcode: int


@dataclass
class Finished:
    """A starter's job or script ended; for a job, the starter also staged its outputs."""

    exit: proc.Exit
    bytes_out: int = 0
    transfer_error: TransferError | None = None  # stage-out failed
    scratch_clean: bool = False  # the starter emptied the job's scratch directory

    @property
    def pid(self) -> int:
        return self.exit.pid


@dataclass
class Starter:
    pid: int
    sock: socket.socket
    uid: int | None
    start_time: int | None
    busy: bool = False
    served: int = 0
    dead: bool = False
    pending: list[object] = field(default_factory=list)

    def send(self, request: Request, fds: list[int]) -> None:
        data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > MAX_MESSAGE:
            raise OSError(90, "request too large for a starter")  # EMSGSIZE
        socket.send_fds(self.sock, [data], fds)

    def receive(self) -> list[object]:
        """Every answer waiting on the socket, as events for the scheduler."""
        events: list[object] = []
        if self.dead:
            return events
        while True:
            try:
                data = self.sock.recv(MAX_MESSAGE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            if not data:
                break
            event = self._event(data)
            if event is not None:
                events.append(event)
        return events

    def _event(self, data: bytes) -> object | None:
        try:
            msg = json.loads(data)
            kind = msg["t"]
            if kind == "started":
                return Started(self.pid, float(msg["when"]), int(msg["bytes_in"]))
            if kind == "held":
                return Held(self.pid, str(msg["reason"]), int(msg["code"]), int(msg["subcode"]))
            if kind == "exit":
                failure = msg.get("transfer_error")
                exited = proc.Exit(
                    pid=self.pid,
                    code=int(msg["code"]),
                    signal=None,
                    user_cpu=float(msg["utime"]),
                    system_cpu=float(msg["stime"]),
                    max_rss_kb=int(msg["maxrss"]),
                )
                return Finished(
                    exited,
                    bytes_out=int(msg.get("bytes_out", 0)),
                    transfer_error=(
                        TransferError(
                            str(failure["reason"]), int(failure["code"]), int(failure["subcode"])
                        )
                        if failure
                        else None
                    ),
                    scratch_clean=bool(msg.get("clean", False)),
                )
        except (ValueError, KeyError, TypeError):
            pass
        return None  # not an answer we know: ignored (the pidfd still tells of its death)


class StarterPool:
    """Idle and busy starters by the account they run as; forks new ones on demand."""

    def __init__(self, main: proc.MainFunction, reaper: proc.Reaper) -> None:
        self._main = main
        self._reaper = reaper
        self._idle: dict[int | None, list[Starter]] = {}
        self.by_pid: dict[int, Starter] = {}
        self.forked = 0
        self.served = 0

    def take(self, identity: JobIdentity | None) -> tuple[Starter, bool]:
        """An idle starter for `identity`, or a new one (then the flag is True)."""
        key = identity.uid if identity is not None else None
        idle = self._idle.get(key)
        while idle:
            starter = idle.pop()
            if not starter.dead:
                starter.busy = True
                return starter, False
        starter = self._fork(identity)
        starter.busy = True
        return starter, True

    def release(self, starter: Starter, served: bool = True) -> None:
        """The starter's job is over (or was never sent): keep it for the next, or retire it."""
        starter.busy = False
        if served:
            starter.served += 1
            self.served += 1
        if starter.dead:
            return
        if starter.served >= MAX_JOBS_PER_STARTER:
            self.retire(starter)
            return
        self._idle.setdefault(starter.uid, []).append(starter)

    def retire(self, starter: Starter) -> None:
        """Close the starter's socket: it exits when it reads the end (reaped by its pidfd)."""
        if not starter.dead:
            starter.dead = True
            self._reaper.unwatch_socket(starter.sock.fileno())
            starter.sock.close()

    def ended(self, pid: int) -> Starter | None:
        """The process `pid` ended: forget it if it was a starter (and return it)."""
        starter = self.by_pid.pop(pid, None)
        if starter is not None:
            self.retire(starter)
        return starter

    def close(self, grace: float = 2.0) -> None:
        """Retire every starter and reap them (SIGKILL after `grace` seconds)."""
        for starter in list(self.by_pid.values()):
            self.retire(starter)
        deadline = time.time() + grace
        for pid in list(self.by_pid):
            while True:
                try:
                    reaped, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if reaped:
                    break
                if time.time() > deadline:
                    proc.kill_group(pid, signal.SIGKILL)
                    deadline = time.time() + 30
                time.sleep(0.01)
            self._reaper.forget(pid)
        self.by_pid.clear()
        self._idle.clear()

    def _fork(self, identity: JobIdentity | None) -> Starter:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the starter: never returns
            try:
                parent.close()
                _serve(child, self._main, identity)
            finally:
                os._exit(70)
        child.close()
        parent.setblocking(False)
        starter = Starter(
            pid=pid,
            sock=parent,
            uid=identity.uid if identity is not None else None,
            start_time=proc.process_start_time(pid),
        )
        self.by_pid[pid] = starter
        self.forked += 1
        self._reaper.add(pid)
        self._reaper.watch_socket(parent.fileno(), starter)
        return starter


# --------------------------------------------------------------------------- the starter side


def _serve(sock: socket.socket, main: proc.MainFunction, identity: JobIdentity | None) -> NoReturn:
    """The starter's life: set up once, then one request after another until the engine
    closes the socket (or dies)."""
    os.setsid()
    keep = sock.fileno()
    os.closerange(3, keep)  # the engine's logs, lock, pidfds and other starters' sockets
    os.closerange(keep + 1, 1 << 16)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if identity is not None:
        drop(identity)
    gc.freeze()  # the engine's objects copied at fork are never ours to collect
    sock.setblocking(True)
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 8)
        except InterruptedError:
            continue
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)  # the engine closed the socket, or died
        try:
            request: Request = pickle.loads(data)
        except Exception:  # noqa: BLE001 - a garbled request: say so, carry on
            for fd in fds:
                os.close(fd)
            _answer(sock, {"t": "exit", "code": 1, "utime": 0, "stime": 0, "maxrss": 0})
            continue
        if request.kind == "job":
            _job(sock, request, fds, main, devnull)
        else:
            answer = _run_main(request, fds, main, devnull)
            _answer(sock, {"t": "exit", **answer})


def _answer(sock: socket.socket, message: dict[str, Any]) -> None:
    try:
        sock.send(json.dumps(message).encode())
    except OSError:
        os._exit(0)  # nobody is listening any more


def _job(
    sock: socket.socket, request: Request, fds: list[int], main: proc.MainFunction, devnull: int
) -> None:
    spec, scratch = request.spec, request.scratch
    inputs = None
    if spec is not None and scratch is not None:
        try:
            inputs = transfer_inputs(spec, scratch, copy_executable=False)
        except TransferError as exc:
            for fd in fds:
                os.close(fd)
            # Scratch is emptied by the engine, as for every job it holds.
            held = {"t": "held", "reason": exc.reason, "code": exc.code, "subcode": exc.subcode}
            _answer(sock, held)
            return
    _answer(sock, {"t": "started", "when": time.time(), "bytes_in": inputs.bytes if inputs else 0})
    answer = _run_main(request, fds, main, devnull)
    if spec is not None and scratch is not None:
        try:
            answer["bytes_out"] = transfer_outputs(spec, scratch, inputs)
        except TransferError as exc:
            answer["transfer_error"] = {
                "reason": exc.reason,
                "code": exc.code,
                "subcode": exc.subcode,
            }
    if scratch is not None:
        answer["clean"] = empty_directory(scratch)
    _answer(sock, {"t": "exit", **answer})


def _run_main(
    request: Request, fds: list[int], main: proc.MainFunction, devnull: int
) -> dict[str, Any]:
    """The wrapper's `main(argv)` with the job's files on 0–2, its directory and environment,
    as if it had been exec'd; then back to a neutral state for the next request."""
    before = _cpu()
    code = 1
    try:
        for target, fd in zip((0, 1, 2), fds, strict=False):
            os.dup2(fd, target)
        for fd in fds:
            os.close(fd)
        os.chdir(request.cwd)
        os.environ.clear()
        os.environ.update(request.env)
        sys.argv = list(request.argv)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace"
        )
        try:
            code = int(main(list(request.argv[1:])) or 0) & 0xFF
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the starter must survive its job
        try:
            os.write(2, traceback.format_exc().encode(errors="replace"))
        except OSError:
            pass
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        try:
            os.chdir("/")
        except OSError:
            pass
    after = _cpu()
    return {
        "code": code,
        "utime": round(after[0] - before[0], 6),
        "stime": round(after[1] - before[1], 6),
        "maxrss": after[2],
    }


def _cpu() -> tuple[float, float, int]:
    """User and system seconds of this starter and the tasks it waited for, and the larger of
    its own peak RSS and its tasks' (HTCondor's "memory usage" is the job's whole tree)."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        me.ru_utime + kids.ru_utime,
        me.ru_stime + kids.ru_stime,
        max(me.ru_maxrss, kids.ru_maxrss),
    )
