"""Builds small, realistic submit dirs for monitor tests: the files an engine and the job wrapper
write (braindump, DAG, nodes.log in HTCondor's event format, jobstate.log, rotated `.out.NNN`
with invocation records), so tests drive the monitor through its real inputs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.lite.invocation import dumps, iso_utc, new_record

T0 = 1_795_593_600.0  # 2026-11-25 08:00:00 UTC


def stamp(epoch: float) -> str:
    whole = int(epoch)
    millis = int(round((epoch - whole) * 1000))
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


@dataclass
class Node:
    name: str
    transformation: str | None = None  # compute nodes only
    job_id: str | None = None
    retries: int = 0
    post: bool = True


@dataclass
class SubmitDir:
    root: Path
    label: str = "diamond"
    wf_uuid: str = "0b5f7d1c-1111-4a2b-9c3d-000000000001"
    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    cluster: int = 100
    seq: int = 0
    rotations: dict[str, int] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return f"{self.label}-0"

    @property
    def dag(self) -> str:
        return f"{self.prefix}.dag"

    def write_plan(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "00" / "00").mkdir(parents=True, exist_ok=True)
        (self.root / "braindump.yml").write_text(
            f'user: "alice"\nwf_uuid: "{self.wf_uuid}"\nroot_wf_uuid: "{self.wf_uuid}"\n'
            f'dax_label: "{self.label}"\ndax_version: "5.0"\ndag: "{self.dag}"\n'
            f'submit_hostname: "ap.example.org"\nplanner_version: "aerie-0.1"\n'
            f'timestamp: "20261125T080000+0000"\n'
            "aerie:\n  data_configuration: condorio\n  wrapper: aerie-lite\n"
        )
        lines = ["JOBSTATE_LOG jobstate.log", ""]
        for n in self.nodes:
            sub = f"00/00/{n.name}.sub"
            (self.root / sub).write_text("universe = local\nexecutable = /bin/true\nqueue\n")
            lines.append(f"JOB {n.name} {sub}")
            if n.post:
                lines.append(
                    f"SCRIPT POST {n.name} {self.root}/aerie-lite exitcode -r $RETURN "
                    f"-l {self.prefix}.exitcode.log 00/00/{n.name}.out"
                )
            lines.append(f"RETRY {n.name} {n.retries}")
            if n.transformation:
                spec = {
                    "version": 1,
                    "job_id": n.job_id,
                    "job_name": n.name,
                    "transformation": n.transformation,
                    "executable": "/usr/bin/pegasus-keg",
                    "arguments": ["-a", n.name],
                    "tasks": None,
                }
                (self.root / f"00/00/{n.name}.lite.json").write_text(json.dumps(spec))
        for a, b in self.edges:
            lines.append(f"PARENT {a} CHILD {b}")
        (self.root / self.dag).write_text("\n".join(lines) + "\n")

    # ---- writers ------------------------------------------------------------------------------
    def event(self, code: int, cluster: int, ts: float, first: str, body: list[str]) -> None:
        text = f"{code:03d} ({cluster:03d}.000.000) {stamp(ts)} {first}\n"
        text += "".join(line + "\n" for line in body) + "...\n"
        with open(self.root / f"{self.dag}.nodes.log", "a") as fh:
            fh.write(text)

    def jobstate(self, ts: float, node: str, state: str, value: str = "-", seq: int = 0) -> None:
        with open(self.root / "jobstate.log", "a") as fh:
            if node == "INTERNAL":
                fh.write(f"{int(ts)} INTERNAL *** {state} {value} ***\n")
            else:
                fh.write(f"{int(ts)} {node} {state} {value} local - {seq}\n")

    def dagman_started(self, ts: float) -> None:
        self.jobstate(ts, "INTERNAL", "DAGMAN_STARTED", "1.0")

    def dagman_finished(self, ts: float, status: int) -> None:
        self.jobstate(ts, "INTERNAL", "DAGMAN_FINISHED", str(status))

    def record(self, node: Node, start: float, duration: float, exitcode: int, **kw: Any) -> dict:
        rec = new_record(
            job_id=node.job_id,
            job_name=node.name,
            transformation=node.transformation,
            site="local",
            hostname=kw.pop("hostname", "node1.example.org"),
            hostaddr="10.0.0.1",
            user="alice",
            cwd="/scratch/x",
            executable="/usr/bin/pegasus-keg",
            argv=["/usr/bin/pegasus-keg", "-a", node.name],
            start=iso_utc(start),
            duration=duration,
            exitcode=exitcode,
            raw_status=exitcode << 8,
            failed_step=None if exitcode == 0 else "exec",
            **kw,
        )
        return rec

    def attempt(
        self,
        node: Node,
        submit: float,
        execute: float,
        terminate: float,
        return_value: int,
        records: list[dict] | None = None,
        post_return: int | None = None,
        post_start: float | None = None,
        post_end: float | None = None,
        stderr: str = "",
        held_reason: str | None = None,
    ) -> int:
        """One attempt of `node`, with its events, jobstate lines and `.out` file."""
        self.cluster += 1
        self.seq += 1
        c = self.cluster
        self.event(
            0,
            c,
            submit,
            "Job submitted from host: <127.0.0.1:0?alias=localhost>",
            [f"    DAG Node: {node.name}"],
        )
        self.jobstate(submit, node.name, "SUBMIT", f"{c}.0", self.seq)
        self.event(1, c, execute, "Job executing on host: <127.0.0.1:0?alias=localhost>", [])
        self.jobstate(execute, node.name, "EXECUTE", f"{c}.0", self.seq)
        if held_reason is not None:
            self.event(
                12, c, terminate, "Job was held.", [f"\t{held_reason}", "\tCode 12 Subcode 2"]
            )
            self.event(9, c, terminate, "Job was aborted.", ["\tvia condor_rm (by user alice)"])
        else:
            self.event(
                5,
                c,
                terminate,
                "Job terminated.",
                [
                    f"\t(1) Normal termination (return value {return_value})",
                    "\t\tUsr 0 00:00:01, Sys 0 00:00:00  -  Run Remote Usage",
                    "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage",
                    "\t\tUsr 0 00:00:01, Sys 0 00:00:00  -  Total Remote Usage",
                    "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage",
                    "\t0  -  Run Bytes Sent By Job",
                    "\t0  -  Run Bytes Received By Job",
                    "\t0  -  Total Bytes Sent By Job",
                    "\t0  -  Total Bytes Received By Job",
                ],
            )
            self.jobstate(terminate, node.name, "JOB_TERMINATED", f"{c}.0", self.seq)
        out = self.root / f"00/00/{node.name}.out"
        out.write_text("".join(dumps(r) + "\n" for r in (records or [])))
        (self.root / f"00/00/{node.name}.err").write_text(stderr)
        if node.post:
            ps = post_start if post_start is not None else terminate + 1
            pe = post_end if post_end is not None else ps + 1
            self.jobstate(ps, node.name, "POST_SCRIPT_STARTED", f"{c}.0", self.seq)
            k = self.rotations.get(node.name, 0)
            self.rotations[node.name] = k + 1
            out.rename(out.with_name(f"{out.name}.{k:03d}"))
            err = out.with_name(f"{node.name}.err")
            err.rename(err.with_name(f"{err.name}.{k:03d}"))
            pr = (0 if return_value == 0 else 1) if post_return is None else post_return
            self.event(
                16,
                c,
                pe,
                "POST Script terminated.",
                [f"\t(1) Normal termination (return value {pr})", f"    DAG Node: {node.name}"],
            )
            self.jobstate(pe, node.name, "POST_SCRIPT_TERMINATED", f"{c}.0", self.seq)
        return c
