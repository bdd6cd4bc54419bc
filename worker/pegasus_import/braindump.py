"""braindump.yml: the planner's description of one (sub-)workflow submit directory.

The one reader of the format: the importer reads Pegasus's braindumps with it and the monitor
reads Aerie's (`worker.monitor.braindump` only adds its submit-dir entry point). Aerie's planner
writes the same fields as Pegasus plus an `aerie:` block (docs/submit-dir.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from worker.pegasus_import.errors import SubmitDirError


@dataclass(frozen=True)
class Braindump:
    """The braindump fields the importer needs; everything else stays in `extra`."""

    path: Path
    wf_uuid: str
    root_wf_uuid: str
    dax_label: str
    dag: str
    user: str | None = None
    grid_dn: str | None = None
    submit_hostname: str | None = None
    submit_dir: str | None = None
    dax: str | None = None
    dax_index: str | None = None
    dax_version: str | None = None
    pegasus_wf_name: str | None = None
    timestamp: datetime | None = None
    planner_version: str | None = None
    planner_arguments: str | None = None
    jsd: str = "jobstate.log"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def aerie(self) -> dict[str, Any]:
        """Aerie's own block (run id, …); empty for Pegasus's braindumps, which have none."""
        block = self.extra.get("aerie")
        return block if isinstance(block, dict) else {}

    @property
    def epoch(self) -> float | None:
        """The planning time as epoch seconds (what the `workflow` row stores)."""
        return None if self.timestamp is None else self.timestamp.timestamp()


_REQUIRED = ("wf_uuid", "dag")


def parse_braindump_timestamp(value: Any) -> datetime | None:
    """`20230303T222333-0800` (the planner's local time with its offset) as a datetime.

    Both planners write that form; ISO times (which YAML may already have made a datetime)
    and epoch numbers are accepted too, as hand-written braindumps use them.
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value)
    for fmt in ("%Y%m%dT%H%M%S%z", "%Y%m%dT%H%M%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(text.replace("Z", "+0000"), fmt)
        except ValueError:
            continue
    return None


def read_braindump(path: Path) -> Braindump:
    """Read `braindump.yml` (or the older `braindump.txt` key/value form)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SubmitDirError(path, f"cannot read braindump: {exc.strerror}") from exc
    data: dict[str, Any]
    if path.suffix == ".txt":
        data = {}
        for line in text.splitlines():
            key, _, value = line.strip().partition(" ")
            if key:
                data[key] = value.strip()
    else:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = mark.line + 1 if mark is not None else None
            raise SubmitDirError(path, f"not valid YAML: {exc}", line=where) from exc
        if not isinstance(loaded, dict):
            raise SubmitDirError(path, "expected a mapping of braindump fields")
        data = {str(k): v for k, v in loaded.items()}
    for key in _REQUIRED:
        if not data.get(key):
            raise SubmitDirError(path, f"missing field {key!r}", field=key)

    def text_of(key: str) -> str | None:
        value = data.get(key)
        return None if value is None else str(value)

    args = text_of("planner_arguments")
    if args is not None:
        # Pegasus writes the argument string quoted a second time: "\"--conf ... \"".
        args = args.strip()
        if len(args) >= 2 and args[0] == args[-1] == '"':
            args = args[1:-1]
        args = args.strip()
    stamp = data.get("timestamp")
    wf_uuid = str(data["wf_uuid"])
    dag = str(data["dag"])
    label = text_of("dax_label") or dag.removesuffix(".dag")
    known = {
        "wf_uuid", "root_wf_uuid", "dax_label", "dag", "user", "grid_dn", "submit_hostname",
        "submit_dir", "dax", "dax_index", "dax_version", "pegasus_wf_name", "timestamp",
        "planner_version", "planner_arguments", "jsd",
    }  # fmt: skip
    return Braindump(
        path=path,
        wf_uuid=wf_uuid,
        root_wf_uuid=text_of("root_wf_uuid") or wf_uuid,
        dax_label=label,
        dag=dag,
        user=text_of("user"),
        grid_dn=text_of("grid_dn"),
        submit_hostname=text_of("submit_hostname"),
        submit_dir=text_of("submit_dir"),
        dax=text_of("dax"),
        dax_index=text_of("dax_index"),
        dax_version=text_of("dax_version"),
        pegasus_wf_name=text_of("pegasus_wf_name"),
        timestamp=parse_braindump_timestamp(stamp) if stamp is not None else None,
        planner_version=text_of("planner_version"),
        planner_arguments=args,
        jsd=text_of("jsd") or "jobstate.log",
        extra={k: v for k, v in data.items() if k not in known},
    )


def find_braindump(directory: Path) -> Path:
    """The braindump file of a submit directory, with a clear error when it is not one."""
    for name in ("braindump.yml", "braindump.txt"):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise SubmitDirError(directory, "not a Pegasus submit directory (no braindump.yml)")
