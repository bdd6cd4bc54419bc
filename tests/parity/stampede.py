"""Read Pegasus's own stampede.db (the ground truth of what monitord produced) for comparison."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return list(conn.execute(sql, params))


def instances(db: Path, wf_uuid: str) -> dict[tuple[str, int], dict[str, Any]]:
    """(exec_job_id, job_submit_seq) → job_instance columns of one workflow."""
    sql = """
        select j.exec_job_id, ji.job_submit_seq, ji.sched_id, ji.site, ji.exitcode,
               ji.local_duration, ji.stdout_file, ji.stderr_file, ji.multiplier_factor
        from job_instance ji join job j using(job_id) join workflow w on w.wf_id = j.wf_id
        where w.wf_uuid = ?"""
    out = {}
    for r in rows(db, sql, wf_uuid):
        out[r[0], r[1]] = {
            "sched_id": r[2], "site": r[3], "exitcode": r[4], "local_duration": r[5],
            "stdout_file": r[6], "stderr_file": r[7], "multiplier_factor": r[8],
        }  # fmt: skip
    return out


def invocations(db: Path, wf_uuid: str) -> dict[tuple[str, int, int], dict[str, Any]]:
    """(exec_job_id, job_submit_seq, task_submit_seq) → invocation columns."""
    sql = """
        select j.exec_job_id, ji.job_submit_seq, i.task_submit_seq, i.start_time,
               i.remote_duration, i.remote_cpu_time, i.exitcode, i.transformation,
               i.executable, i.abs_task_id, i.maxrss
        from invocation i join job_instance ji using(job_instance_id) join job j using(job_id)
        join workflow w on w.wf_id = j.wf_id where w.wf_uuid = ?"""
    out = {}
    for r in rows(db, sql, wf_uuid):
        out[r[0], r[1], r[2]] = {
            "start_time": r[3], "remote_duration": r[4], "remote_cpu_time": r[5], "exitcode": r[6],
            "transformation": r[7], "executable": r[8], "abs_task_id": r[9], "maxrss": r[10],
        }  # fmt: skip
    return out


def jobstates(db: Path, wf_uuid: str) -> dict[tuple[str, int], list[tuple[str, int, int]]]:
    sql = """
        select j.exec_job_id, ji.job_submit_seq, js.state, js.timestamp, js.jobstate_submit_seq
        from jobstate js join job_instance ji using(job_instance_id) join job j using(job_id)
        join workflow w on w.wf_id = j.wf_id where w.wf_uuid = ?"""
    out: dict[tuple[str, int], list[tuple[str, int, int]]] = {}
    for r in rows(db, sql, wf_uuid):
        out.setdefault((r[0], r[1]), []).append((r[2], int(r[3]), r[4]))
    return {k: sorted(v, key=lambda s: (s[2], s[0])) for k, v in out.items()}


def jobs(db: Path, wf_uuid: str) -> dict[str, dict[str, Any]]:
    sql = """
        select j.exec_job_id, j.submit_file, j.type_desc, j.clustered, j.max_retries, j.task_count
        from job j join workflow w on w.wf_id = j.wf_id where w.wf_uuid = ?"""
    return {
        r[0]: {
            "submit_file": r[1],
            "type_desc": r[2],
            "clustered": bool(r[3]),
            "max_retries": r[4],
            "task_count": r[5],
        }  # fmt: skip
        for r in rows(db, sql, wf_uuid)
    }


def workflow_states(db: Path, wf_uuid: str) -> list[tuple[str, int, int, int | None]]:
    sql = """
        select s.state, s.timestamp, s.restart_count, s.status from workflowstate s
        join workflow w using(wf_id) where w.wf_uuid = ? order by s.timestamp, s.state"""
    return [(r[0], int(r[1]), r[2], r[3]) for r in rows(db, sql, wf_uuid)]


def integrity(db: Path, wf_uuid: str) -> dict[tuple[str, int, str, str], tuple[int, float]]:
    sql = """
        select j.exec_job_id, ji.job_submit_seq, g.type, g.file_type, g.count, g.duration
        from integrity g join job_instance ji using(job_instance_id) join job j using(job_id)
        join workflow w on w.wf_id = j.wf_id where w.wf_uuid = ?"""
    return {(r[0], r[1], r[2], r[3]): (r[4], float(r[5])) for r in rows(db, sql, wf_uuid)}
