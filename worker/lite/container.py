"""Command lines that run a task inside a container (docker, singularity, apptainer).

PegasusLite writes a ``<job>-cont.sh`` and runs it in the container; we build the runtime's command
line directly, because the wrapper already did staging and integrity on the host (Pegasus 5.1's
``pegasus.transfer.container.onhost = true``) and only the executable has to run inside.  Mount
points follow PegasusLite so users' paths keep working: the scratch dir is ``/scratch`` in docker
and ``/srv`` in singularity/apptainer, and is the working directory.
"""

from __future__ import annotations

import os
import shutil

from .jobspec import Container

MOUNT_POINT = {"docker": "/scratch", "singularity": "/srv", "apptainer": "/srv"}
# A runtime of one name may be installed under the other (apptainer ships a singularity link).
RUNTIMES = {
    "docker": ("docker",),
    "singularity": ("singularity", "apptainer"),
    "apptainer": ("apptainer", "singularity"),
}


class ContainerError(Exception):
    """No runtime on this node, or an image that cannot be used; the message says which."""


def find_runtime(kind: str, path: str | None = None) -> str:
    """The runtime executable for a container type, from ``PATH``; raises naming what is missing."""
    for name in RUNTIMES.get(kind, ()):
        found = shutil.which(name, path=path)
        if found:
            return found
    names = " or ".join(repr(n) for n in RUNTIMES.get(kind, (kind,)))
    raise ContainerError(f"container type {kind!r} needs {names} on PATH, and none was found")


def container_name(job_id: str, task_index: int) -> str:
    """A docker container name that is unique on the host for this attempt."""
    safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in job_id)
    return f"aerie-{safe}-{task_index}-{os.getpid()}"


def command(
    c: Container,
    runtime: str,
    scratch: str,
    executable: str,
    arguments: list[str] | tuple[str, ...],
    environment: dict[str, str],
    name: str,
) -> list[str]:
    """The full argv that runs ``executable arguments`` inside the container.

    ``executable`` relative to the scratch dir (a staged LFN) is rewritten to its path under the
    mount point; absolute paths and bare names are the container's own.  ``environment`` holds
    only the variables the job declared (the host's environment is not leaked into the image).
    """
    mount = MOUNT_POINT[c.type]
    exe = executable
    if not os.path.isabs(exe) and os.path.exists(os.path.join(scratch, exe)):
        exe = f"{mount}/{exe}"
    image = os.path.join(scratch, c.image_lfn) if c.image_lfn else c.image
    if c.type == "docker":
        argv = [runtime, "run", "--rm", "--name", name, "--init"]
        argv += ["--user", f"{os.getuid()}:{os.getgid()}"]
        argv += ["-v", f"{scratch}:{mount}", "-w", mount]
        for m in c.mounts:
            argv += ["-v", m]
        if c.gpus:
            argv += ["--gpus", "all"]
        for k, v in sorted(environment.items()):
            argv += ["-e", f"{k}={v}"]
        argv += list(c.arguments)
        argv += ["--entrypoint", exe, c.image]
        return argv + list(arguments)
    argv = [runtime, "exec", "--no-home", "--cleanenv", "--bind", f"{scratch}:{mount}"]
    argv += ["--pwd", mount]
    for m in c.mounts:
        argv += ["--bind", m]
    if c.gpus:
        argv += ["--nv"]
    for k, v in sorted(environment.items()):
        argv += ["--env", f"{k}={v}"]
    argv += list(c.arguments)
    argv += [image, exe]
    return argv + list(arguments)


def prepare(c: Container, runtime: str, scratch: str) -> list[list[str]]:
    """Commands to run before the task: ``docker load`` of a staged image tarball."""
    if c.type == "docker" and c.image_lfn:
        return [[runtime, "load", "-i", os.path.join(scratch, c.image_lfn)]]
    return []
