"""Pegasus's job-naming scheme (SPEC §2.5), so that people and tools that know Pegasus submit
directories recognise our nodes, and so that the monitor can tell a job's kind from its name.

DAGMan rejects ``+`` in node names and reserves ``.``; both become ``_`` as Pegasus does.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def safe(text: str) -> str:
    """A DAGMan-safe token: every character outside ``[A-Za-z0-9_-]`` becomes ``_``."""
    return _UNSAFE.sub("_", text)


def compute(transformation_name: str, job_id: str) -> str:
    """``<tx name>_<job id>``: the name only, no namespace or version (``preprocess_ID0000001``)."""
    return f"{safe(transformation_name)}_{safe(job_id)}"


def clustered(transformation: str, partition: str, index: int) -> str:
    """``merge_<ns-name-ver>_P<partition>_ID<n>`` (e.g. ``merge_findrange_PID2_ID1``)."""
    return f"merge_{safe(transformation)}_P{safe(partition)}_ID{index}"


def stage_in(local: bool, staging_site: str, level: int, index: int) -> str:
    where = "local" if local else "remote"
    return f"stage_in_{where}_{safe(staging_site)}_{level}_{index}"


def stage_out(local: bool, staging_site: str, level: int, index: int) -> str:
    where = "local" if local else "remote"
    return f"stage_out_{where}_{safe(staging_site)}_{level}_{index}"


def inter_site(local: bool, child: str, counter: int) -> str:
    where = "local" if local else "remote"
    return f"stage_inter_{where}_{child}_{counter}"


def registration(staging_site: str, level: int, index: int) -> str:
    return f"register_{safe(staging_site)}_{level}_{index}"


def create_dir(label: str, index: int, site: str) -> str:
    return f"create_dir_{safe(label)}_{index}_{safe(site)}"


def cleanup_leaf(label: str, index: int, site: str) -> str:
    """The leaf cleanup job that removes the whole workflow directory on a staging site."""
    return f"cleanup_{safe(label)}_{index}_{safe(site)}"


def cleanup_inplace(site: str, level: int, index: int) -> str:
    return f"clean_up_{safe(site)}_level_{level}_{index}"


def sub_workflow(job_id: str) -> str:
    """A ``pegasusWorkflow`` job (class 10)."""
    return f"pegasus-plan_{safe(job_id)}"


def sub_dag(job_id: str) -> str:
    """A ``condorWorkflow`` job (class 11)."""
    return f"dagman_{safe(job_id)}"


def dag_prefix(label: str, index: int) -> str:
    """``<label>-<index>``: the prefix of the .dag, .cache, .metrics … files."""
    return f"{label}-{index}"


class HashedDirs:
    """Pegasus's ``Hashed`` submit mapper: job files go to ``00/00``, ``00/01`` … so that no
    directory holds more than 254 entries (about 50 jobs of ~5 files each).

    Directories are handed out in the order jobs are created, which keeps a job's files together
    and makes the layout reproducible for the same plan.
    """

    JOBS_PER_DIR = 50
    ENTRIES = 254

    def __init__(self) -> None:
        self._count = 0

    def next(self) -> str:
        d = self._count // self.JOBS_PER_DIR
        self._count += 1
        return f"{d // self.ENTRIES:02X}/{d % self.ENTRIES:02X}"
