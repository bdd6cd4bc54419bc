"""The job wrapper's input, ``<job>.lite.json``: what one compute job must do on the worker node.

The planner writes this file (as plain dicts, it does not import us) and ships it with the job; only
``aerie-lite run`` reads it.  It carries what PegasusLite gets from its generated shell script:
where inputs come from, what to check, what to run, how long it may run, what to send back.  It is
versioned so that a wrapper from an older planner run can refuse a file it does not understand.

Example (a compute job in ``nonsharedfs`` with one staged input and one output)::

    {
      "version": 1,
      "job_id": "ID0000002",
      "job_name": "findrange_ID0000002",
      "transformation": "diamond::findrange:4.0",
      "site": "condorpool",
      "wf_label": "diamond",
      "wf_uuid": "8f0c...",
      "executable": "/usr/bin/pegasus-keg",
      "arguments": ["-a", "findrange", "-i", "f.b1", "-o", "f.c1"],
      "stdin": null,
      "stdout": null,
      "stderr": null,
      "environment": {"KEY": "value"},
      "container": null,
      "walltime": 600,
      "integrity": "full",
      "scratch": "cwd",
      "inputs": [
        {"lfn": "f.b1", "urls": ["http://staging.example.org/run0001/f.b1"],
         "sha256": "a7f5...", "size": 1024, "executable": false}
      ],
      "outputs": [
        {"lfn": "f.c1", "urls": ["file:///scratch/run0001/f.c1"], "checksum": true,
         "optional": false}
      ],
      "tasks": null,
      "fail_fast": true
    }

Fields (all optional unless marked *required*):

``version`` *required*
    ``1``.
``job_id`` *required*
    The workflow's job id (``ID0000002``, the Pegasus ``derivation``); clustered jobs use the
    cluster's id.
``job_name``
    The DAG node name (``findrange_ID0000002``); copied into the invocation record.
``transformation`` *required*
    ``namespace::name:version`` as in the transformation catalog.
``site``
    The execution site handle; copied into the record (``resource`` in kickstart).
``wf_label``, ``wf_uuid``
    Copied into the record.
``executable`` *required* (unless ``tasks`` is set)
    An absolute path on the worker node, a bare name looked up on ``PATH``, or a relative path /
    LFN that is present in the scratch dir after stage-in (an input with ``executable: true``;
    the wrapper ``chmod +x``-es it).
``arguments``
    List of strings, passed without a shell.
``stdin``, ``stdout``, ``stderr``
    LFNs (relative to the scratch dir) to redirect the executable's streams from/to, or null.
    When null the wrapper captures the stream itself and keeps only a tail for the record.
``environment``
    Extra environment variables (over the inherited environment).
``container``
    null, or ``{"type": "docker" | "singularity" | "apptainer", "image": <URL, name or path>,
    "image_lfn": <LFN of a staged image file or null>, "mounts": ["src:dst[:opts]", ...],
    "arguments": [extra runtime arguments], "gpus": false}``.  The executable then runs inside
    the container with the scratch dir mounted at ``/srv`` (singularity/apptainer) or
    ``/scratch`` (docker), as PegasusLite does; staging and integrity checks stay on the host.
``walltime``
    Seconds (number) after which the executable's whole process group is killed
    (SIGTERM, then SIGKILL after 5 s); null means no limit.
``integrity``
    ``"full"`` (default), ``"nosymlink"`` (skip inputs that are symlinks) or ``"none"``:
    ``pegasus.integrity.checking``.
``scratch``
    ``"cwd"`` (default; HTCondor or the local engine already made a fresh scratch dir and made
    it the cwd) or ``"tmp"``: the wrapper makes a fresh directory under ``$_CONDOR_SCRATCH_DIR``,
    ``$TMPDIR`` or ``/tmp``, copies ``*.meta`` into it, works there and removes it at the end
    (PegasusLite's ``pegasus_lite_work_dir`` in nonsharedfs).
``inputs``
    ``[{"lfn", "urls": [...], "sha256": hex or null, "size": int or null, "executable": bool}]``.
    ``urls`` empty or missing: the file is expected in the scratch dir already (condorio).
    Otherwise the wrapper fetches the first URL that works (``file://``, ``http(s)://``,
    ``scp://`` via ``scp``, ``s3://`` via ``aws`` or ``s3cmd``) into ``<scratch>/<lfn>``.
    The checksum is verified against ``sha256`` and against any ``*.meta`` file in the scratch
    dir (Pegasus ``.meta`` format) that names the LFN.
``outputs``
    ``[{"lfn", "urls": [...], "checksum": bool, "optional": bool}]``.  The wrapper records size
    and sha256 of every output (``checksum: false`` skips the hash), fails the job at stage-out
    when a non-optional output is missing, and copies it to every URL in ``urls``
    (``file://`` and ``scp://``/``s3://``; ``http`` is not writable).
``tasks``
    null for a normal job.  For a clustered job: a list of task objects, each with the fields
    ``job_id``, ``job_name``, ``transformation``, ``executable``, ``arguments``, ``stdin``,
    ``stdout``, ``stderr``, ``environment`` (merged over the cluster's), ``walltime``,
    ``inputs`` and ``outputs`` (URLs ignored: staging happens once for the cluster, using the
    cluster's own ``inputs``/``outputs``; a task's lists only shape its invocation record).
    Tasks run one after another, like ``pegasus-cluster``.
``fail_fast``
    Clustered jobs only: stop at the first failed task (default true, ``pegasus-cluster -e``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

VERSION = 1
CONTAINER_TYPES = ("docker", "singularity", "apptainer")
INTEGRITY_MODES = ("full", "nosymlink", "none")
SCRATCH_MODES = ("cwd", "tmp")


class SpecError(ValueError):
    """A lite.json that cannot be run; the message names the file and the field."""


@dataclass(frozen=True)
class InputFile:
    lfn: str
    urls: tuple[str, ...] = ()
    sha256: str | None = None
    size: int | None = None
    executable: bool = False


@dataclass(frozen=True)
class OutputFile:
    lfn: str
    urls: tuple[str, ...] = ()
    checksum: bool = True
    optional: bool = False


@dataclass(frozen=True)
class Container:
    type: str
    image: str
    image_lfn: str | None = None
    mounts: tuple[str, ...] = ()
    arguments: tuple[str, ...] = ()
    gpus: bool = False


@dataclass(frozen=True)
class Task:
    """One executable invocation: the job itself, or one task of a clustered job."""

    job_id: str
    transformation: str
    executable: str
    job_name: str | None = None
    arguments: tuple[str, ...] = ()
    stdin: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    walltime: float | None = None
    inputs: tuple[InputFile, ...] = ()
    outputs: tuple[OutputFile, ...] = ()


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    transformation: str
    job_name: str | None = None
    site: str | None = None
    wf_label: str | None = None
    wf_uuid: str | None = None
    executable: str | None = None
    arguments: tuple[str, ...] = ()
    stdin: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    container: Container | None = None
    walltime: float | None = None
    integrity: str = "full"
    scratch: str = "cwd"
    inputs: tuple[InputFile, ...] = ()
    outputs: tuple[OutputFile, ...] = ()
    tasks: tuple[Task, ...] | None = None
    fail_fast: bool = True

    def run_tasks(self) -> tuple[Task, ...]:
        """The invocations to run: the cluster's tasks, or the job itself as one task."""
        if self.tasks is not None:
            return self.tasks
        assert self.executable is not None
        return (
            Task(
                job_id=self.job_id,
                job_name=self.job_name,
                transformation=self.transformation,
                executable=self.executable,
                arguments=self.arguments,
                stdin=self.stdin,
                stdout=self.stdout,
                stderr=self.stderr,
                environment={},
                walltime=self.walltime,
                inputs=self.inputs,
                outputs=self.outputs,
            ),
        )


class _Reader:
    """Typed access to one JSON object with errors that name the file and the field path."""

    def __init__(self, source: str, obj: Any, path: str) -> None:
        if not isinstance(obj, dict):
            raise SpecError(f"{source}: {path or 'top level'}: expected an object")
        self.source = source
        self.obj: dict[str, Any] = obj
        self.path = path

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, msg: str) -> SpecError:
        return SpecError(f"{self.source}: field {self._where(key)}: {msg}")

    def str_(self, key: str, required: bool = False) -> str | None:
        v = self.obj.get(key)
        if v is None:
            if required:
                raise self.fail(key, "is required")
            return None
        if not isinstance(v, str) or (required and not v):
            raise self.fail(key, f"expected a string, got {v!r}")
        return v

    def req(self, key: str) -> str:
        v = self.str_(key, required=True)
        assert v is not None
        return v

    def bool_(self, key: str, default: bool) -> bool:
        v = self.obj.get(key, default)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self.fail(key, f"expected true or false, got {v!r}")
        return v

    def num(self, key: str) -> float | None:
        v = self.obj.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise self.fail(key, f"expected a positive number of seconds, got {v!r}")
        return float(v)

    def strlist(self, key: str) -> tuple[str, ...]:
        v = self.obj.get(key)
        if v is None:
            return ()
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self.fail(key, f"expected a list of strings, got {v!r}")
        return tuple(v)

    def env(self, key: str) -> dict[str, str]:
        v = self.obj.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise self.fail(key, "expected an object of strings")
        out: dict[str, str] = {}
        for k, val in v.items():
            if isinstance(val, bool) or not isinstance(val, (str, int, float)):
                raise self.fail(f"{key}.{k}", f"expected a string, got {val!r}")
            out[str(k)] = str(val)
        return out

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        v = self.obj.get(key)
        if v is None:
            return default
        if v not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {v!r}")
        return str(v)

    def objlist(self, key: str) -> list[_Reader]:
        v = self.obj.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.fail(key, "expected a list")
        return [_Reader(self.source, item, f"{self._where(key)}[{i}]") for i, item in enumerate(v)]

    def sub(self, key: str) -> _Reader | None:
        v = self.obj.get(key)
        if v is None:
            return None
        return _Reader(self.source, v, self._where(key))


def _inputs(r: _Reader) -> tuple[InputFile, ...]:
    out = []
    for item in r.objlist("inputs"):
        sha = item.str_("sha256")
        if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
            raise item.fail("sha256", f"expected 64 lowercase hex digits, got {sha!r}")
        size = item.obj.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
            raise item.fail("size", f"expected an integer, got {size!r}")
        out.append(
            InputFile(
                lfn=item.req("lfn"),
                urls=item.strlist("urls"),
                sha256=sha,
                size=size,
                executable=item.bool_("executable", False),
            )
        )
    return tuple(out)


def _outputs(r: _Reader) -> tuple[OutputFile, ...]:
    return tuple(
        OutputFile(
            lfn=item.req("lfn"),
            urls=item.strlist("urls"),
            checksum=item.bool_("checksum", True),
            optional=item.bool_("optional", False),
        )
        for item in r.objlist("outputs")
    )


def _container(r: _Reader) -> Container | None:
    c = r.sub("container")
    if c is None:
        return None
    return Container(
        type=c.choice("type", CONTAINER_TYPES, ""),
        image=c.req("image"),
        image_lfn=c.str_("image_lfn"),
        mounts=c.strlist("mounts"),
        arguments=c.strlist("arguments"),
        gpus=c.bool_("gpus", False),
    )


def parse(obj: Any, source: str = "<lite.json>") -> JobSpec:
    """Validate a decoded lite.json object; errors name ``source`` and the field path."""
    r = _Reader(source, obj, "")
    version = r.obj.get("version")
    if version != VERSION:
        raise r.fail("version", f"expected {VERSION}, got {version!r}")
    if "container" in r.obj and r.obj["container"] is not None:
        c = r.sub("container")
        assert c is not None
        if c.obj.get("type") not in CONTAINER_TYPES:
            raise c.fail("type", f"expected one of {', '.join(CONTAINER_TYPES)}")
    tasks: tuple[Task, ...] | None = None
    if r.obj.get("tasks") is not None:
        tlist = []
        for t in r.objlist("tasks"):
            tlist.append(
                Task(
                    job_id=t.req("job_id"),
                    job_name=t.str_("job_name"),
                    transformation=t.req("transformation"),
                    executable=t.req("executable"),
                    arguments=t.strlist("arguments"),
                    stdin=t.str_("stdin"),
                    stdout=t.str_("stdout"),
                    stderr=t.str_("stderr"),
                    environment=t.env("environment"),
                    walltime=t.num("walltime"),
                    inputs=_inputs(t),
                    outputs=_outputs(t),
                )
            )
        if not tlist:
            raise r.fail("tasks", "a clustered job needs at least one task")
        tasks = tuple(tlist)
    executable = r.str_("executable", required=tasks is None)
    return JobSpec(
        job_id=r.req("job_id"),
        job_name=r.str_("job_name"),
        transformation=r.req("transformation"),
        site=r.str_("site"),
        wf_label=r.str_("wf_label"),
        wf_uuid=r.str_("wf_uuid"),
        executable=executable,
        arguments=r.strlist("arguments"),
        stdin=r.str_("stdin"),
        stdout=r.str_("stdout"),
        stderr=r.str_("stderr"),
        environment=r.env("environment"),
        container=_container(r),
        walltime=r.num("walltime"),
        integrity=r.choice("integrity", INTEGRITY_MODES, "full"),
        scratch=r.choice("scratch", SCRATCH_MODES, "cwd"),
        inputs=_inputs(r),
        outputs=_outputs(r),
        tasks=tasks,
        fail_fast=r.bool_("fail_fast", True),
    )


def load(path: str) -> JobSpec:
    """Read and validate ``<job>.lite.json``; JSON syntax errors give the line and column."""
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
    return parse(obj, path)
