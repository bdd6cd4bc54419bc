"""Job isolation: run every job as an unprivileged Unix account, as HTCondor's starter does.

When the engine runs as root and `EngineConfig.job_user` names an account, every process it
starts for the DAG (job wrapper, transfer/registration jobs, PRE/POST scripts, also the
starters and forks that run the wrapper in-process) drops to that account's uid, gid and
supplementary groups before it runs, and a job's files move in and out of its scratch
directory with that account's rights (in its starter, or in the engine under `acting_as`), so
a symlink a job leaves behind can never make the engine read or write something the job could
not. What stays root: the engine's own files in the submit directory, each job's `.out`/`.err`
(opened by the engine, never through a symlink) and the POST verdict `aerie-lite exitcode`
(run in a starter that keeps the engine's rights, or inside the engine).

Directory rights the job account gets (`prepare_submit_dir`, `make_job_scratch`):

- its scratch directory (owner, 0700);
- the submit directory's hashed job directories `00/00/…`: group-writable for the job
  account's group and sticky, so transfer jobs can write their `.meta` files but no job can
  remove or replace a file it does not own;
- `<p>.replicas` (registration jobs append to it), pre-created and owned by the job account.

The worker (which knows the run layout) gives the job account the run's staging and output
directories and locks the data directory's secrets (see `worker.isolation`).
"""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from worker.engines.base import EngineError

_HASHED = re.compile(r"^[0-9a-f]{2}$")


class IsolationError(EngineError):
    """The configured job account cannot be used (missing, or the engine is not root)."""


@dataclass(frozen=True)
class JobIdentity:
    """The Unix account jobs run as."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]


def lookup(name: str) -> JobIdentity:
    """The account `name` with its groups; IsolationError when it does not exist or is root."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise IsolationError(
            f"job user {name!r} does not exist; create it (useradd --system {name}) or unset "
            "local_engine.job_user"
        ) from None
    if entry.pw_uid == 0:
        raise IsolationError(f"job user {name!r} is root: it would isolate nothing")
    groups = tuple(sorted(set(os.getgrouplist(name, entry.pw_gid))))
    return JobIdentity(name, entry.pw_uid, entry.pw_gid, groups)


def identity_for(job_user: str | None) -> JobIdentity | None:
    """The identity jobs must take, or None when no account is configured.

    A configured account with an engine that is not root is an error, not a silent downgrade:
    the operator asked for isolation and would otherwise believe they have it.
    """
    if not job_user:
        return None
    if os.geteuid() != 0:
        raise IsolationError(
            f"local_engine.job_user is {job_user!r} but the engine runs as uid {os.geteuid()}: "
            "only root can start jobs as another account"
        )
    return lookup(job_user)


def drop(identity: JobIdentity) -> None:
    """Become the job account for good (in a forked child, before exec or the wrapper)."""
    os.setgroups(list(identity.groups))
    os.setgid(identity.gid)
    os.setuid(identity.uid)
    if os.getuid() != identity.uid or os.geteuid() != identity.uid:
        raise OSError(1, f"could not become {identity.name}")


@contextmanager
def acting_as(identity: JobIdentity | None) -> Iterator[None]:
    """Do file work with the job account's rights, then become root again.

    Only the effective ids change (the engine is single-threaded), so the engine can return.
    """
    if identity is None:
        yield
        return
    saved_groups = os.getgroups()
    os.setgroups(list(identity.groups))
    os.setegid(identity.gid)
    os.seteuid(identity.uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(saved_groups)


def prepare_submit_dir(dag_path: Path, identity: JobIdentity) -> None:
    """Let jobs write where the submit-dir contract says they write, and nowhere else."""
    base = dag_path.parent
    for first in _hashed(base):
        for second in _hashed(first):
            os.chown(second, -1, identity.gid, follow_symlinks=False)
            os.chmod(second, 0o1775)
    replicas = dag_path.with_suffix(".replicas")
    fd = os.open(replicas, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        os.fchown(fd, identity.uid, identity.gid)
    finally:
        os.close(fd)


def _hashed(directory: Path) -> list[Path]:
    try:
        with os.scandir(directory) as it:
            return [
                Path(e.path)
                for e in it
                if _HASHED.match(e.name) and e.is_dir(follow_symlinks=False)
            ]
    except OSError:
        return []


def prepare_scratch_root(scratch_root: Path) -> None:
    """The parent of all scratch dirs: the job account may pass through it, not list it."""
    scratch_root.mkdir(parents=True, exist_ok=True)
    os.chmod(scratch_root, 0o711)


def give_scratch(scratch: Path, identity: JobIdentity) -> None:
    """Hand a fresh (empty) scratch directory to the job account."""
    os.chown(scratch, identity.uid, identity.gid, follow_symlinks=False)
    os.chmod(scratch, 0o700)
