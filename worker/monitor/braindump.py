"""`braindump.yml`: the planner's description of a run, which becomes the `workflow` row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml


class BraindumpError(ValueError):
    """A braindump that is missing, unreadable, or lacks a required field."""


@dataclass
class Braindump:
    wf_uuid: str
    root_wf_uuid: str
    dag: str
    dax_label: str | None
    dax_version: str | None
    dax_file: str | None
    user: str | None
    submit_hostname: str | None
    planner_version: str | None
    planner_arguments: str | None
    grid_dn: str | None
    timestamp: float | None
    aerie: dict[str, Any]


def _epoch(value: Any) -> float | None:
    """Pegasus writes `20230305T091006-0800`; accept ISO forms and epoch numbers too."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    text = str(value)
    for fmt in ("%Y%m%dT%H%M%S%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(text.replace("Z", "+0000"), fmt).timestamp()
        except ValueError:
            continue
    return None


def read_braindump(submit_dir: Path) -> Braindump:
    path = submit_dir / "braindump.yml"
    if not path.is_file():
        raise BraindumpError(f"{path}: no braindump.yml; is {submit_dir} a planned submit dir?")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise BraindumpError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise BraindumpError(f"{path}: expected a mapping at the top level")
    for key in ("wf_uuid", "dag"):
        if not data.get(key):
            raise BraindumpError(f"{path}: field '{key}' is missing")

    def opt(key: str) -> str | None:
        value = data.get(key)
        return None if value is None else str(value)

    aerie = data.get("aerie") if isinstance(data.get("aerie"), dict) else {}
    return Braindump(
        wf_uuid=str(data["wf_uuid"]),
        root_wf_uuid=str(data.get("root_wf_uuid") or data["wf_uuid"]),
        dag=str(data["dag"]),
        dax_label=opt("dax_label"),
        dax_version=opt("dax_version"),
        dax_file=opt("dax"),
        user=opt("user"),
        submit_hostname=opt("submit_hostname"),
        planner_version=opt("planner_version"),
        planner_arguments=opt("planner_arguments"),
        grid_dn=opt("grid_dn"),
        timestamp=_epoch(data.get("timestamp")),
        aerie=aerie or {},
    )
