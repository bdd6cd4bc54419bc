"""Invocation records of one attempt -> the rows they become (stampede's mapping, SPEC §3.3).

Kept apart from the loader so the mapping reads as a table: which record field lands in which
column. Rows here carry no database keys; the loader adds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from worker.monitor.outfiles import AttemptOutput, stdout_text
from worker.pegasus_import.kickstart import epoch

HostKey = tuple[str, str, str]  # (site, hostname, ip)


@dataclass
class AttemptRows:
    """What one finished attempt adds: instance columns, invocations, integrity, tags, files."""

    instance: dict[str, Any] = field(default_factory=dict)
    host: HostKey | None = None
    invocations: list[dict[str, Any]] = field(default_factory=list)
    integrity: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    files: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)


def iso_epoch(value: Any) -> float | None:
    """A record's ISO time as epoch seconds, by the importer's rule (`kickstart.epoch`), so that
    a kickstart record means the same time whether it is monitored or imported."""
    return epoch(value) if value else None


def attempt_rows(out: AttemptOutput, site: str | None, tasks: bool = True) -> AttemptRows:
    """`tasks` is false for auxiliary jobs (transfers, create-dir, cleanup, registration):
    their records run no workflow task, so they get no `abs_task_id`."""
    rows = AttemptRows()
    rows.instance = {
        "stdout_file": out.stdout_file,
        "stderr_file": out.stderr_file,
        "stdout_text": stdout_text(out.records),
        "stderr_text": out.stderr_text,
        "work_dir": None,
        "user": None,
        "site": site,
        "cluster_start": None,
        "cluster_duration": None,
    }
    checks = 0
    int_failed = 0
    check_time = 0.0
    computed = 0
    for n, rec in enumerate(out.records, start=1):
        rec_site = str(rec.get("site") or site or "")
        key = (rec_site, str(rec.get("hostname") or ""), str(rec.get("hostaddr") or ""))
        if rows.host is None and any(key):
            rows.host = key
            rows.instance.update(
                work_dir=rec.get("cwd"), user=rec.get("user"), site=rec_site or site
            )
        duration = float(rec.get("duration") or 0.0)
        cpu = float(rec.get("utime") or 0.0) + float(rec.get("stime") or 0.0)
        raw = rec.get("raw_status")
        if raw is None and rec.get("failed_step"):
            raw = 256  # the wrapper failed before (or instead of) running the executable
        argv = rec.get("argv")
        rows.invocations.append(
            {
                "task_submit_seq": int(rec.get("task_index") or n),
                "start_time": iso_epoch(rec.get("start")),
                "remote_duration": duration,
                "remote_cpu_time": cpu,
                "exitcode": raw,
                "transformation": rec.get("transformation"),
                "executable": rec.get("executable"),
                # stampede's argv is the argument vector, without the executable
                "argv": " ".join(map(str, argv[1:])) if isinstance(argv, list) else None,
                "abs_task_id": rec.get("job_id") if tasks else None,
                "maxrss": rec.get("maxrss_kb"),
                "avg_cpu": cpu / duration if duration > 0 else None,
                "failed_step": rec.get("failed_step"),
            }
        )
        integ = rec.get("integrity") or {}
        checks += int(integ.get("succeeded") or 0) + int(integ.get("failed") or 0)
        int_failed += int(integ.get("failed") or 0)
        check_time += float(integ.get("duration") or 0.0)
        task = rec.get("job_id") if tasks else None
        for kind in ("inputs", "outputs"):
            for item in rec.get(kind) or []:
                if isinstance(item, dict) and item.get("lfn"):
                    rows.files.append((kind[:-1], item, None if task is None else str(task)))
                    if kind == "outputs" and item.get("sha256"):
                        computed += 1
    if out.summary:
        rows.instance["cluster_start"] = iso_epoch(out.summary.get("start"))
        rows.instance["cluster_duration"] = out.summary.get("duration")
    if checks:
        rows.integrity.append(
            {"type": "check", "file_type": "input", "count": checks, "duration": check_time}
        )
    if computed:
        rows.integrity.append(
            {"type": "compute", "file_type": "output", "count": computed, "duration": 0.0}
        )
    if int_failed:
        rows.tags.append({"name": "int.error", "count": int_failed})
    return rows
