"""Reading a node's `.sub` file and running it with HTCondor's file-transfer semantics.

`htcondor2.Submit` parses the description and expands macros (`$(JOB)`, `$(RETRY)`, VARS,
`$(Cluster)`, `$ENV(...)`), so a submit file means the same here as under condor_submit. The
engine then does what the schedd, shadow and starter would do on one host:

* vanilla universe: a fresh scratch directory per attempt (`_CONDOR_SCRATCH_DIR`), inputs and
  the executable copied in (paths relative to `initialdir`), the job run there, the listed
  outputs copied back to `initialdir` (all new top-level files when none are listed), scratch
  removed. A missing input or output is what puts a real job on hold; here it is reported as a
  `TransferError` whose message the engine writes as the hold reason.
* local / scheduler universe: run in `initialdir`, no transfer.

Paths follow condor_submit: `executable` and `initialdir` are relative to the directory the
node is submitted from (the DAG's directory or the node's DIR); `input`, `output`, `error`,
`log` and transfer lists are relative to `initialdir`.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import htcondor2

_TRUE = {"true", "yes", "t", "y", "1"}


class SubmitFileError(ValueError):
    """A submit description the engine cannot run (the node fails as a submit failure)."""


class TransferError(RuntimeError):
    """Input or output transfer failed: HTCondor would hold the job with this reason."""

    def __init__(self, reason: str, code: int = 13, subcode: int = 2) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code  # HoldReasonCode: 13 TransferInputError, 12 TransferOutputError
        self.subcode = subcode


@dataclass
class JobSpec:
    """Everything needed to run one attempt of a node's job (all paths absolute)."""

    submit_file: Path
    universe: str
    executable: Path
    arguments: list[str]
    environment: dict[str, str]
    getenv: list[str] | bool
    initialdir: Path
    input: Path | None
    output: Path | None
    error: Path | None
    log: Path | None
    transfer: bool
    transfer_executable: bool
    transfer_input_files: list[str]
    transfer_output_files: list[str] | None
    output_remaps: dict[str, str] = field(default_factory=dict)
    request_cpus: int = 1
    request_memory_mb: int = 0
    request_gpus: int = 0
    job_tag: str | None = None
    notes: str | None = None

    @property
    def uses_slot(self) -> bool:
        return self.universe not in ("local", "scheduler")


class SubmitCache:
    """Keeps each submit file's text so that 100k attempts read the disk once per file."""

    def __init__(self) -> None:
        self._texts: dict[Path, str] = {}

    def text(self, path: Path) -> str:
        text = self._texts.get(path)
        if text is None:
            try:
                text = path.read_text()
            except OSError as exc:
                raise SubmitFileError(f"cannot read submit file {path}: {exc.strerror}") from exc
            self._texts[path] = text
        return text


def load_job(
    submit_file: Path,
    submit_dir: Path,
    macros: dict[str, str],
    dag_vars: list[tuple[str, str, str]],
    cache: SubmitCache | None = None,
) -> JobSpec:
    """Parse `submit_file` with the node's macros and VARS and resolve it into a `JobSpec`.

    `macros` are DAGMan's own (JOB, RETRY, Cluster, …); `dag_vars` are (name, value, mode)
    from VARS lines: PREPEND values yield to the submit file's own assignment, APPEND win.
    """
    text = (cache or SubmitCache()).text(submit_file)
    try:
        desc = htcondor2.Submit(text)
    except Exception as exc:  # htcondor2 raises ValueError/HTCondorException without detail
        raise SubmitFileError(f"{submit_file}: not a valid submit description ({exc})") from exc
    present = {key.lower(): key for key in desc.keys()}
    for name, value in macros.items():
        desc[name] = value
    for name, value, mode in dag_vars:
        if mode == "prepend" and name.lower() in present:
            continue
        desc[present.get(name.lower(), name)] = value
        present.setdefault(name.lower(), name)

    def get(key: str, default: str | None = None) -> str | None:
        real = present.get(key.lower())
        if real is None:
            return default
        try:
            value = desc.expand(real)
        except Exception as exc:
            raise SubmitFileError(f"{submit_file}: cannot expand {key}: {exc}") from exc
        return value.strip()

    universe = (get("universe", "vanilla") or "vanilla").lower()
    if universe not in ("vanilla", "local", "scheduler"):
        raise SubmitFileError(f"{submit_file}: universe {universe!r} is not supported locally")
    exe_text = get("executable")
    if not exe_text:
        raise SubmitFileError(f"{submit_file}: no executable")
    iwd = submit_dir / (get("initialdir") or ".")
    executable = submit_dir / os.path.expanduser(exe_text)

    def rel(key: str) -> Path | None:
        value = get(key)
        if not value or value == "/dev/null":
            return None
        return iwd / os.path.expanduser(value)

    should = (get("should_transfer_files", "IF_NEEDED") or "").upper()
    outputs_text = get("transfer_output_files")
    spec = JobSpec(
        submit_file=submit_file,
        universe=universe,
        executable=executable,
        arguments=parse_arguments(get("arguments", "") or "", submit_file),
        environment=parse_environment(get("environment", "") or "", submit_file),
        getenv=_parse_getenv(get("getenv", "false") or "false"),
        initialdir=iwd,
        input=rel("input"),
        output=rel("output"),
        error=rel("error"),
        log=rel("log"),
        transfer=universe not in ("local", "scheduler") and should in ("YES", "IF_NEEDED"),
        transfer_executable=(get("transfer_executable", "true") or "true").lower() in _TRUE,
        transfer_input_files=_split_list(get("transfer_input_files", "") or ""),
        transfer_output_files=None if outputs_text is None else _split_list(outputs_text),
        output_remaps=_parse_remaps(get("transfer_output_remaps", "") or ""),
        request_cpus=_parse_int(get("request_cpus", "1") or "1", "request_cpus", submit_file),
        request_memory_mb=parse_memory(get("request_memory", "0") or "0", submit_file),
        request_gpus=_parse_int(get("request_gpus", "0") or "0", "request_gpus", submit_file),
        job_tag=_unquote(get("MY.pegasus_site") or get("MY.job_tag_value")),
        notes=get("submit_event_user_notes") or get("submit_event_notes"),
    )
    return spec


def _unquote(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _parse_int(text: str, key: str, where: Path) -> int:
    try:
        return int(float(text))
    except ValueError:
        raise SubmitFileError(f"{where}: {key} must be a number, got {text!r}") from None


_MEMORY_RE = re.compile(r"^\s*([0-9.]+)\s*([KMGT]?)B?\s*$", re.IGNORECASE)
_MEMORY_SCALE = {"": 1.0, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0 * 1024}


def parse_memory(text: str, where: Path | str = "request_memory") -> int:
    """request_memory in MB: a bare number is MB; K/M/G/T suffixes (optionally with B)."""
    match = _MEMORY_RE.match(text)
    if match is None:
        raise SubmitFileError(
            f"{where}: request_memory {text!r} is not a size (expressions are not supported)"
        )
    return int(float(match.group(1)) * _MEMORY_SCALE[match.group(2).upper()] + 0.999)


def _parse_getenv(text: str) -> list[str] | bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in ("false", "no", "f", "n", "0", ""):
        return False
    return _split_list(text)


def _parse_remaps(text: str) -> dict[str, str]:
    remaps = {}
    for item in text.strip().strip('"').split(";"):
        if "=" in item:
            name, target = item.split("=", 1)
            remaps[name.strip()] = target.strip()
    return remaps


def parse_arguments(text: str, where: Path | str = "arguments") -> list[str]:
    """HTCondor `arguments`: new syntax when double-quoted (single quotes group, '' and ""
    escape), else the old syntax (whitespace-separated, \\" is a literal quote)."""
    text = text.strip()
    if not text:
        return []
    if not (text.startswith('"') and text.endswith('"') and len(text) >= 2):
        return [word.replace('\\"', '"') for word in text.split()]
    body = text[1:-1]
    if "'" not in body and '"' not in body:
        return body.split()  # the common case: nothing quoted
    args: list[str] = []
    current: list[str] = []
    in_word = False
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == '"':
            if body[i : i + 2] == '""':
                current.append('"')
                in_word = True
                i += 2
                continue
            raise SubmitFileError(f"{where}: unescaped double quote in arguments {text!r}")
        if ch == "'":
            in_word = True
            i += 1
            while True:
                if i >= len(body):
                    raise SubmitFileError(f"{where}: unbalanced single quote in {text!r}")
                if body[i] == "'":
                    if body[i : i + 2] == "''":
                        current.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                if body[i : i + 2] == '""':
                    current.append('"')
                    i += 2
                    continue
                current.append(body[i])
                i += 1
            continue
        if ch.isspace():
            if in_word:
                args.append("".join(current))
                current, in_word = [], False
            i += 1
            continue
        current.append(ch)
        in_word = True
        i += 1
    if in_word:
        args.append("".join(current))
    return args


def parse_environment(text: str, where: Path | str = "environment") -> dict[str, str]:
    """HTCondor `environment`: new syntax when double-quoted (NAME=value words, single quotes
    group), else the old `NAME=value;NAME2=value2` syntax."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        words = parse_arguments(text, where)
    else:
        words = [w for w in text.split(";") if w.strip()]
    env: dict[str, str] = {}
    for word in words:
        if "=" not in word:
            raise SubmitFileError(f"{where}: environment entry {word!r} is not NAME=value")
        name, value = word.split("=", 1)
        env[name.strip()] = value
    return env


def build_environment(
    spec: JobSpec, engine_env: dict[str, str], scratch: Path, slot: str
) -> dict[str, str]:
    """The job's environment: only what the submit file asks for, plus what a starter sets."""
    env: dict[str, str] = {}
    if spec.getenv is True:
        env.update(engine_env)
    elif spec.getenv:
        for key, value in engine_env.items():
            if any(fnmatch.fnmatchcase(key, pattern) for pattern in spec.getenv):
                env[key] = value
    env.update(spec.environment)
    env["_CONDOR_SCRATCH_DIR"] = str(scratch)
    env["_CONDOR_SLOT"] = slot
    env["_CONDOR_JOB_IWD"] = str(spec.initialdir)
    env["BATCH_SYSTEM"] = "HTCondor"
    env.setdefault("OMP_NUM_THREADS", str(max(1, spec.request_cpus)))
    if spec.transfer:
        for key in ("TMPDIR", "TMP", "TEMP"):
            env[key] = str(scratch)
    return env


def make_scratch(scratch_root: Path, cluster: int) -> Path:
    scratch_root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"dir_{cluster}_", dir=scratch_root))


@dataclass
class InputTransfer:
    """What stage-in put into scratch: the program to run, bytes moved, and each top-level
    entry's (mtime_ns, size) so unchanged inputs are not sent back as outputs."""

    executable: Path
    bytes: int
    entries: dict[str, tuple[int, int]]


def transfer_inputs(spec: JobSpec, scratch: Path, copy_executable: bool = True) -> InputTransfer:
    """Copy inputs (and, when it will be exec'd, the executable) into scratch."""
    moved = 0
    for item in spec.transfer_input_files:
        if "://" in item:
            if not item.startswith("file://"):
                raise TransferError(f"URL transfer of {item} is not supported by the local engine")
            item = item[len("file://") :]
        source = spec.initialdir / item
        try:
            if item.endswith("/") and source.is_dir():
                for child in source.iterdir():
                    moved += _copy(child, scratch / child.name)
            else:
                moved += _copy(source, scratch / source.name)
        except OSError as exc:
            raise TransferError(
                f"Transfer input files failure at execution point: reading from file {source}: "
                f"(errno {exc.errno}) {exc.strerror}"
            ) from exc
    executable = spec.executable
    if spec.transfer_executable and copy_executable:
        target = scratch / spec.executable.name
        try:
            moved += _copy(spec.executable, target)
        except OSError as exc:
            raise TransferError(
                f"Transfer input files failure: reading executable {spec.executable}: "
                f"(errno {exc.errno}) {exc.strerror}"
            ) from exc
        os.chmod(target, 0o755)
        executable = target
    entries = {}
    with os.scandir(scratch) as it:
        for entry in it:
            st = entry.stat(follow_symlinks=False)
            entries[entry.name] = (st.st_mtime_ns, st.st_size)
    return InputTransfer(executable, moved, entries)


def _copy(source: Path, target: Path) -> int:
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
        return sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    shutil.copyfile(source, target)
    return os.stat(target).st_size


def transfer_outputs(spec: JobSpec, scratch: Path, inputs: InputTransfer | None = None) -> int:
    """Copy outputs back to initialdir; a listed output that is missing raises TransferError.

    Without `transfer_output_files`, HTCondor sends back every top-level file the job created
    or modified; inputs it left untouched stay behind.
    """
    moved = 0
    if spec.transfer_output_files is None:
        names = []
        known = inputs.entries if inputs is not None else {}
        with os.scandir(scratch) as it:
            for entry in it:
                if not entry.is_file(follow_symlinks=False):
                    continue
                st = entry.stat(follow_symlinks=False)
                if known.get(entry.name) != (st.st_mtime_ns, st.st_size):
                    names.append(entry.name)
    else:
        names = spec.transfer_output_files
    for name in names:
        source = scratch / name
        target_name = spec.output_remaps.get(name, Path(name).name)
        target = spec.initialdir / target_name
        try:
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, target)
                moved += os.stat(target).st_size
        except OSError as exc:
            raise TransferError(
                f"Transfer output files failure at execution point: reading from file {source}: "
                f"(errno {exc.errno}) {exc.strerror}",
                code=12,
                subcode=exc.errno or 2,
            ) from exc
    return moved


def empty_directory(directory: Path) -> bool:
    """Delete everything inside `directory`; True when it is empty afterwards."""
    try:
        with os.scandir(directory) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
    except OSError:
        return False
    return True


def remove_scratch(scratch: Path) -> None:
    """Delete a scratch directory (flat ones, the common case, without rmtree's overhead)."""
    try:
        with os.scandir(scratch) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
        os.rmdir(scratch)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
