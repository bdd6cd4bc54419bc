"""``braindump.yml``: the run metadata Pegasus tools (and our monitor) read first (SPEC §2.13).

Pegasus writes every value as a YAML string; we do the same for its fields so that readers of
real Pegasus submit directories read ours unchanged, and add an ``aerie:`` block for what is ours.
"""

from __future__ import annotations

import getpass
import socket
from typing import Any

PLANNER_VERSION = "0.1.0"


def build(
    *,
    wf_uuid: str,
    root_uuid: str,
    label: str,
    index: int,
    dax_version: str,
    dax: str,
    submit_dir: str,
    timestamp: str,
    planner_arguments: str,
    data_configuration: str,
    dag_file: str,
    prefix: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    basedir, _, rundir = submit_dir.rpartition("/")
    out: dict[str, Any] = {
        "user": user,
        "grid_dn": None,
        "submit_hostname": socket.gethostname(),
        "root_wf_uuid": root_uuid,
        "wf_uuid": wf_uuid,
        "dax": dax,
        "dax_label": label,
        "dax_index": str(index),
        "dax_version": dax_version,
        "pegasus_wf_name": prefix,
        "timestamp": timestamp,
        "basedir": basedir,
        "submit_dir": submit_dir,
        "planner": "aerie plan",
        "planner_version": PLANNER_VERSION,
        "planner_arguments": planner_arguments,
        "jsd": "jobstate.log",
        "rundir": rundir,
        "bindir": submit_dir,
        "vogroup": "pegasus",
        "uses_pmc": "false",
        "properties": "catalogs/pegasus.properties",
        "condor_log": f"{prefix}.dag.nodes.log",
        "dag": dag_file,
        "type": "dag",
        "notify": f"{prefix}.notify",
    }
    aerie: dict[str, Any] = {"data_configuration": data_configuration, "wrapper": "aerie-lite"}
    if extra:
        aerie.update(extra)
    out["aerie"] = aerie
    return out
