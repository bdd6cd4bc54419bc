"""Rebuild a workflow's stampede-like provenance from its submit directory's own files.

The rules are pegasus-monitord's (Pegasus/monitoring/workflow.py and job.py), replayed over
files instead of a live dagman.out tail, so that the figures pegasus-statistics and
pegasus-analyzer compute come out the same:
- one job instance per `job_submit_seq` in jobstate.log (each DAGMan attempt, PRE included);
- job states in the DB's spelling (`*_FAILURE` → `*_FAILED` for scripts; a PRE failure or an
  abort also ends the main job with JOB_FAILURE; hold reasons come from dagman.out);
- the instance exit code: main job status << 8, replaced by PegasusLite's `exitcode N`, by 1 on
  abort or failed submit, and finally by the POST (or failing PRE) script's status << 8;
- invocations: one per kickstart record of the rotated `.out.NNN` (task_submit_seq 1..n), a
  synthetic one from jobstate times when there is no record, `dagman::pre` (-1) and
  `dagman::post` (-2) from the script start/end lines;
- integrity metrics from monitoring payloads, multipart summaries and checksummed outputs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from worker.pegasus_import.braindump import Braindump, find_braindump, read_braindump
from worker.pegasus_import.dagfile import DagFile, DagNode, read_dag
from worker.pegasus_import.dagman_out import DagmanEvents, read_dagman_events
from worker.pegasus_import.dagman_replay import replay_dagman_out
from worker.pegasus_import.errors import SubmitDirError
from worker.pegasus_import.jobstate import Jobstate, JobstateLine, read_jobstate
from worker.pegasus_import.kickstart import Invocation, epoch, read_kickstart, split_monitoring
from worker.pegasus_import.model import (
    HostKey,
    HostRecord,
    IntegrityRecord,
    InvocationRecord,
    JobInstanceRecord,
    JobRecord,
    JobStateRecord,
    TaskRecord,
    WorkflowRecord,
    WorkflowStateRecord,
)
from worker.pegasus_import.static_files import (
    JOB_CLASS_TO_TYPE,
    StaticBP,
    SubmitFile,
    read_static_bp,
    read_submit_file,
)
from worker.pegasus_import.static_files import type_desc as type_from_name

MAX_OUTPUT_LENGTH = 2**16 - 1
_PEGASUSLITE_EXIT = re.compile(r"^PegasusLite: exitcode (\d+)", re.MULTILINE)
_PEGASUSLITE_HOST = re.compile(r"^.*Executing on host\s*(\S+)(?:\s*IP=(\S+))*.*$", re.MULTILINE)
# jobstate.log names that are not job_instance states in the DB (SPEC §4.3).
_NOT_STORED = {"UN_READY", "DAGMAN_SUBMIT", "SHADOW_EXCEPTION", "JOB_HELD_REASON", "REMOTE_ERROR"}
_RENAMED = {"PRE_SCRIPT_FAILURE": "PRE_SCRIPT_FAILED", "POST_SCRIPT_FAILURE": "POST_SCRIPT_FAILED"}
_MAX_DEPTH = 16


def _cap(text: str) -> str:
    """Stampede caps stored output at 64 KiB; the head is kept, as monitord keeps it."""
    return text[:MAX_OUTPUT_LENGTH]


def _status(info: str | None) -> int | None:
    if info is None:
        return None
    try:
        return int(float(info)) if "." not in info else None
    except ValueError:
        return None


@dataclass
class _Context:
    directory: Path
    braindump: Braindump
    dag: DagFile
    static: StaticBP | None
    dagman: DagmanEvents | None
    offset: timedelta | None
    warnings: list[str]


def rebuild_workflow(
    directory: Path,
    *,
    parent: WorkflowRecord | None = None,
    depth: int = 0,
) -> WorkflowRecord:
    """Read one submit directory (and, recursively, its sub-workflow directories)."""
    directory = directory.resolve()
    braindump = read_braindump(find_braindump(directory))
    dag_path = directory / braindump.dag
    # Uploaded archives are untrusted: braindump and DAG may not point out of the directory.
    for named, field_ in ((dag_path, "dag"), (directory / braindump.jsd, "jsd")):
        if not _inside(named, directory):
            raise SubmitDirError(named, "outside the submit directory", field=field_)
    if not dag_path.is_file():
        raise SubmitDirError(dag_path, "DAG file named by braindump.yml is missing", field="dag")
    dag = read_dag(dag_path)
    static = read_static_bp(dag_path.with_suffix(".static.bp"))
    offset = braindump.timestamp.utcoffset() if braindump.timestamp else None
    dagman_path = dag_path.with_name(dag_path.name + ".dagman.out")
    dagman = read_dagman_events(dagman_path, offset) if dagman_path.is_file() else None
    ctx = _Context(directory, braindump, dag, static, dagman, offset, [])

    record = WorkflowRecord(
        directory=directory,
        wf_uuid=braindump.wf_uuid,
        root_wf_uuid=parent.root_wf_uuid if parent else braindump.root_wf_uuid,
        parent_wf_uuid=parent.wf_uuid if parent else None,
        dag_file_name=braindump.dag,
        timestamp=braindump.timestamp.timestamp() if braindump.timestamp else None,
        submit_hostname=braindump.submit_hostname,
        submit_dir=braindump.submit_dir,
        planner_arguments=braindump.planner_arguments,
        user=braindump.user,
        grid_dn=braindump.grid_dn,
        planner_version=braindump.planner_version,
        dax_label=braindump.dax_label,
        dax_version=braindump.dax_version,
        dax_file=braindump.dax,
        warnings=ctx.warnings,
    )
    if static is not None:
        record.meta.update(static.wf_meta)
    for name, node in dag.nodes.items():
        if node.submit_file and not _inside(directory / node.submit_file, directory):
            raise SubmitDirError(dag_path, f"{node.submit_file} is outside the submit directory")
        if "/" in name or name in (".", ".."):
            # node names become file names (<node>.out, <node>.pre.log.NNN) under the directory
            raise SubmitDirError(dag_path, f"node name {name!r} is not a plain name")
    subs = {name: read_submit_file(directory / node.submit_file)
            for name, node in dag.nodes.items() if node.submit_file}  # fmt: skip
    record.jobs = [_job_record(ctx, node, subs.get(node.name)) for node in dag.nodes.values()]
    record.edges = list(dag.edges)
    record.tasks, record.task_edges = _tasks(ctx, record.jobs, subs)

    jobstate = _journal(ctx, directory / braindump.jsd, dagman_path, subs)
    record.states = _workflow_states(ctx, jobstate)

    by_name = {job.exec_job_id: job for job in record.jobs}
    lines_by_instance: dict[tuple[str, int], list[JobstateLine]] = defaultdict(list)
    if jobstate is not None:
        for line in jobstate.lines:
            if line.job in by_name and line.submit_seq is not None:
                lines_by_instance[line.job, line.submit_seq].append(line)
    attempts: dict[str, int] = defaultdict(int)
    for (name, seq), lines in sorted(lines_by_instance.items(), key=lambda kv: kv[0][1]):
        job = by_name[name]
        node = dag.nodes[name]
        instance = _instance_from_lines(ctx, record, job, node, subs.get(name), seq, lines,
                                        attempts[name])  # fmt: skip
        attempts[name] += 1
        job.instances.append(instance)
    if jobstate is None:
        _instances_from_outputs(ctx, record, by_name, subs)

    if depth < _MAX_DEPTH:
        for job in record.jobs:
            if job.type_desc not in ("dax", "dag"):
                continue
            for attempt, instance in enumerate(job.instances):
                child_dir = _subworkflow_dir(ctx, dag.nodes[job.exec_job_id],
                                             subs.get(job.exec_job_id), attempt)  # fmt: skip
                if child_dir is None:
                    continue
                child = rebuild_workflow(child_dir, parent=record, depth=depth + 1)
                instance.subwf_uuid = child.wf_uuid
                if not child.states:
                    child.states = _states_from_parent_node(instance)
                record.children.append(child)
            if not job.instances:
                child_dir = _subworkflow_dir(ctx, dag.nodes[job.exec_job_id],
                                             subs.get(job.exec_job_id), 0)  # fmt: skip
                if child_dir is not None:
                    record.children.append(
                        rebuild_workflow(child_dir, parent=record, depth=depth + 1)
                    )
    return record


def _journal(
    ctx: _Context, jobstate_path: Path, dagman_path: Path, subs: dict[str, SubmitFile | None]
) -> Jobstate | None:
    """The job-state journal: jobstate.log, or dagman.out replayed when that knows more.

    monitord writes jobstate.log from dagman.out, so a replay gives the same lines; it also
    covers what a monitord that died early never wrote (and a run whose jobstate.log is gone).
    """
    logged = read_jobstate(jobstate_path) if jobstate_path.is_file() else None
    replayed = None
    if dagman_path.is_file():
        sites = {name: sub.classad("pegasus_site") if sub else None for name, sub in subs.items()}
        replayed = replay_dagman_out(dagman_path, ctx.offset, sites)
    if logged is None and replayed is None:
        ctx.warnings.append(
            f"{jobstate_path.name} and {dagman_path.name} missing: "
            "attempts rebuilt from job .out files only (no states or submit-side times)"
        )
        return None
    if logged is None:
        ctx.warnings.append(f"{jobstate_path.name} missing: job states replayed from dagman.out")
        return replayed
    if replayed is None:
        return logged

    def key(line: JobstateLine) -> tuple[int, str, str, int | None]:
        return (line.timestamp, line.job, line.state, line.submit_seq)

    known = {key(line) for line in logged.lines}
    replay_keys = {key(line) for line in replayed.lines}
    if known < replay_keys:
        ctx.warnings.append(f"{jobstate_path.name} incomplete: completed from dagman.out")
        return replayed
    return logged


def _states_from_parent_node(instance: JobInstanceRecord) -> list[WorkflowStateRecord]:
    """A sub-workflow without its own logs ran exactly while its DAGMan node job ran."""
    times = {s.state: s.timestamp for s in instance.states}
    if "EXECUTE" not in times:
        return []
    states = [WorkflowStateRecord("WORKFLOW_STARTED", times["EXECUTE"], 0)]
    if "JOB_TERMINATED" in times:
        main = next((i for i in instance.invocations if i.task_submit_seq == 1), None)
        code = main.exitcode if main is not None else None
        status = None if code is None else (code >> 8 if code > 0 else code)
        states.append(
            WorkflowStateRecord("WORKFLOW_TERMINATED", times["JOB_TERMINATED"], 0, status)
        )
    return states


def _job_record(ctx: _Context, node: DagNode, sub: SubmitFile | None) -> JobRecord:
    static = ctx.static.jobs.get(node.name) if ctx.static else None
    if static is not None and static.type_desc:
        return JobRecord(
            exec_job_id=node.name,
            submit_file=static.submit_file or node.submit_file,
            type_desc=static.type_desc,
            clustered=static.clustered,
            max_retries=static.max_retries if static.max_retries is not None else node.retry,
            executable=static.executable,
            argv=static.argv,
            task_count=static.task_count,
        )
    job_class = sub.job_class if sub else None
    if node.subdag:
        type_desc = "dag"
    elif job_class is not None:
        type_desc = JOB_CLASS_TO_TYPE.get(job_class, "unknown")
    else:
        type_desc = type_from_name(node.name)
    cluster_size = sub.classad("pegasus_cluster_size") if sub else None
    size = int(cluster_size) if cluster_size and cluster_size.isdigit() else 1
    arguments = sub.commands.get("arguments") if sub else None
    if arguments is not None:
        arguments = arguments.strip('"')
    return JobRecord(
        exec_job_id=node.name,
        submit_file=node.submit_file or node.subdag,
        type_desc=type_desc,
        clustered=size > 1,
        max_retries=node.retry,
        executable=sub.commands.get("executable") if sub else None,
        argv=arguments or None,
        task_count=size if type_desc == "compute" else 0,
    )


def _tasks(
    ctx: _Context, jobs: list[JobRecord], subs: dict[str, SubmitFile | None]
) -> tuple[list[TaskRecord], list[tuple[str, str]]]:
    if ctx.static is not None and ctx.static.tasks:
        tasks = [
            TaskRecord(
                t.abs_task_id,
                ctx.static.task_to_job.get(t.abs_task_id),
                t.transformation,
                t.argv,
                t.type_desc,
            )  # fmt: skip
            for t in ctx.static.tasks.values()
        ]
        return tasks, list(ctx.static.task_edges)
    tasks = []
    for job in jobs:
        sub = subs.get(job.exec_job_id)
        task_id = sub.classad("pegasus_wf_dax_job_id") if sub else None
        if job.type_desc in ("compute", "dax", "dag") and task_id:
            tasks.append(
                TaskRecord(
                    task_id,
                    job.exec_job_id,
                    sub.classad("pegasus_wf_xformation") if sub else None,
                    None,
                    job.type_desc,
                )  # fmt: skip
            )
    return tasks, []


def _workflow_states(ctx: _Context, jobstate: Jobstate | None) -> list[WorkflowStateRecord]:
    """WORKFLOW_STARTED/TERMINATED per DAGMan run; restart_count counts resubmissions."""
    states: list[WorkflowStateRecord] = []
    restart = -1
    if jobstate is not None and jobstate.internal:
        for event in jobstate.internal:
            if event.event == "DAGMAN_STARTED":
                restart += 1
                states.append(WorkflowStateRecord("WORKFLOW_STARTED", event.timestamp, restart))
            elif event.event == "DAGMAN_FINISHED":
                status = _status(event.argument)
                states.append(
                    WorkflowStateRecord(
                        "WORKFLOW_TERMINATED", event.timestamp, max(restart, 0), status
                    )
                )
        if states:
            return states
    if ctx.dagman is not None:
        for run in ctx.dagman.runs:
            restart += 1
            states.append(WorkflowStateRecord("WORKFLOW_STARTED", run.started, restart))
            if run.finished is not None:
                states.append(
                    WorkflowStateRecord("WORKFLOW_TERMINATED", run.finished, restart, run.status)
                )
    return states


def _relative_out(job: JobRecord, name: str) -> str:
    folder = str(Path(job.submit_file).parent) if job.submit_file else "."
    return name if folder in ("", ".") else f"{folder}/{name}"


def _instance_from_lines(
    ctx: _Context,
    wf: WorkflowRecord,
    job: JobRecord,
    node: DagNode,
    sub: SubmitFile | None,
    seq: int,
    lines: list[JobstateLine],
    attempt: int,
) -> JobInstanceRecord:
    instance = JobInstanceRecord(job_submit_seq=seq)
    hold_reasons = list(ctx.dagman.hold_reasons.get(job.exec_job_id, [])) if ctx.dagman else []
    times: dict[str, int] = {}
    pre_status: int | None = None
    post_status: int | None = None
    main_exit: int | None = None
    submitted = False
    aborted = False
    counter = 0
    for line in lines:
        counter += 1
        state = line.state
        if instance.site is None and line.site:
            instance.site = line.site
        if state in ("SUBMIT", "GRID_SUBMIT", "GLOBUS_SUBMIT") and line.info:
            instance.sched_id = instance.sched_id or line.info
        times.setdefault(state, line.timestamp)
        if state == "JOB_HELD_REASON":
            # the DB keeps one JOB_HELD row, at the reason's position, carrying the reason
            for held in reversed(instance.states):
                if held.state == "JOB_HELD":
                    held.seq = counter
                    break
            continue
        if state in _NOT_STORED:
            continue
        stored = _RENAMED.get(state, state)
        reason = None
        if state == "JOB_HELD":
            reason = f" {hold_reasons.pop(0)}" if hold_reasons else None
        instance.states.append(JobStateRecord(stored, line.timestamp, counter, reason))
        if state == "SUBMIT":
            submitted = True
        elif state in ("JOB_SUCCESS", "JOB_FAILURE"):
            code = _status(line.info)
            main_exit = (code << 8) if code is not None and code >= 0 else (code or 0)
        elif state in ("JOB_ABORTED", "SUBMIT_FAILED"):
            aborted = True
            main_exit = 1
            if not any(s.state == "JOB_FAILURE" for s in instance.states):
                instance.states.append(JobStateRecord("JOB_FAILURE", line.timestamp, counter))
            times.setdefault("MAIN_DONE", line.timestamp)
        elif state == "PRE_SCRIPT_FAILURE":
            pre_status = _status(line.info)
            instance.states.append(JobStateRecord("JOB_FAILURE", line.timestamp, counter))
        elif state == "PRE_SCRIPT_SUCCESS":
            pre_status = 0
        elif state in ("POST_SCRIPT_SUCCESS", "POST_SCRIPT_FAILURE"):
            post_status = _status(line.info) if state == "POST_SCRIPT_FAILURE" else 0

    main_start = times.get("EXECUTE")
    main_done = times.get("JOB_TERMINATED", times.get("MAIN_DONE"))
    if main_done is None and submitted:
        main_done = times.get("POST_SCRIPT_STARTED")
    if main_start is not None and main_done is not None:
        instance.local_duration = main_done - main_start

    # ---- files of this attempt: rotated only when a POST script rotates them
    rotated = node.post is not None
    suffix = f".{attempt:03d}" if rotated else ""
    out_name = f"{job.exec_job_id}.out{suffix}"
    err_name = f"{job.exec_job_id}.err{suffix}"
    is_subworkflow = job.type_desc in ("dax", "dag")
    instance.stdout_file = _relative_out(job, out_name)
    instance.stderr_file = _relative_out(job, err_name)
    folder = (ctx.directory / job.submit_file).parent if job.submit_file else ctx.directory
    kickstart = None if is_subworkflow else read_kickstart(folder / out_name)
    if kickstart is not None:
        where = (folder / out_name).relative_to(ctx.directory)
        ctx.warnings.extend(f"{where}: {problem}" for problem in kickstart.errors)
    err_text = _read_text(folder / err_name)

    host: tuple[str, str | None] | None = None
    integrity: dict[tuple[str, str], list[float]] = {}
    int_failed = 0
    if err_text is not None:
        split = split_monitoring(err_text)
        instance.stderr_text = _cap(split.user_data)
        int_failed += _collect_integrity(split.events, integrity)
        lite = _PEGASUSLITE_EXIT.search(split.user_data)
        if lite is not None and submitted:
            main_exit = int(lite.group(1))
        found = _PEGASUSLITE_HOST.search(split.user_data)
        if found is not None:
            host = (found.group(1), found.group(2))

    invocations = kickstart.invocations if kickstart else []
    stdout_parts: list[str] = []
    for number, inv in enumerate(invocations, start=1):
        if number == 1:
            instance.site = inv.resource or instance.site
            instance.user = inv.user
            instance.work_dir = inv.cwd
        for stream, text in (("stdout", inv.stdout), ("stderr", inv.stderr)):
            if text is None:
                continue
            split = split_monitoring(text)
            int_failed += _collect_integrity(split.events, integrity)
            stdout_parts.append(f"#@ {number:d} {stream}\n")
            stdout_parts.append(split.user_data if stream == "stdout" else " " + split.user_data)
            stdout_parts.append("\n")
        _compute_integrity(inv, integrity)
        instance.invocations.append(_main_invocation(job, inv, number, sub))
        hostname = host[0] if host else inv.hostname
        ip = (host[1] if host and host[1] else inv.hostaddr) or "unknown"
        if hostname:
            key = HostKey(inv.resource or instance.site or "unknown", hostname, ip)
            wf.hosts.setdefault(key, HostRecord(key, inv.uname, None))
            instance.host = key
    if kickstart is not None:
        for part in kickstart.multipart:
            summary = part.get("integrity_summary")
            if isinstance(summary, dict):
                failed = int(summary.get("failed") or 0)
                count = int(summary.get("succeeded") or 0) + failed
                bucket = integrity.setdefault(("check", "input"), [0, 0.0])
                bucket[0] += count
                bucket[1] += float(summary.get("duration") or 0.0)
                int_failed += failed
        if kickstart.cluster_summary:
            summary_start = kickstart.cluster_summary.get("start")
            summary_duration = kickstart.cluster_summary.get("duration")
            begun = epoch(summary_start) if summary_start else None
            instance.cluster_start = int(begun) if begun is not None else None
            instance.cluster_duration = float(summary_duration) if summary_duration else None
    if node.pre is not None and not submitted and "PRE_SCRIPT_STARTED" in times:
        # the attempt never got past its PRE script: its record is the PRE script's log
        pre_log = f"{job.exec_job_id}.pre.log.{attempt:03d}"
        base = ctx.braindump.submit_dir or str(ctx.directory)
        instance.stdout_file = f"{base.rstrip('/')}/{pre_log}"
        pre_text = _read_text(ctx.directory / pre_log)
        if pre_text is not None:
            instance.stdout_text = _cap("#@ 1 stdout\n" + pre_text)
    elif invocations:
        # the tasks' own output sections; empty when kickstart captured none (monitord)
        instance.stdout_text = _cap("".join(stdout_parts))
    elif kickstart is not None or is_subworkflow:
        raw_out = _read_text(folder / out_name)
        if raw_out is not None:
            instance.stdout_text = _cap("#@ 1 stdout\n" + raw_out)
    if instance.user is None:
        instance.user = ctx.braindump.user
    if instance.work_dir is None:
        instance.work_dir = ctx.braindump.submit_dir

    if not invocations and submitted and (main_done is not None or aborted):
        # No kickstart record (held, removed, sub-DAG, or no kickstart): monitord still
        # records one task from the submit file and the submit side's clock.
        start = main_start if main_start is not None else main_done
        duration = (main_done - main_start) if main_start is not None and main_done else 0
        transformation = sub.classad("pegasus_wf_xformation") if sub else None
        if is_subworkflow:
            transformation = transformation or "condor::dagman"
        instance.invocations.append(
            InvocationRecord(
                task_submit_seq=1,
                start_time=start,
                remote_duration=duration,
                remote_cpu_time=None,
                exitcode=main_exit,
                transformation=transformation,
                executable=(sub.commands.get("executable") if sub else None) or job.executable,
                argv=_sub_arguments(sub) or job.argv,
                abs_task_id=sub.classad("pegasus_wf_dax_job_id") if sub else None,
            )
        )
    if node.pre is not None and "PRE_SCRIPT_STARTED" in times:
        begin = times["PRE_SCRIPT_STARTED"]
        end = times.get("PRE_SCRIPT_TERMINATED", begin)
        instance.invocations.insert(
            0,
            InvocationRecord(
                -1,
                begin,
                end - begin,
                end - begin,
                (pre_status or 0) << 8,
                "dagman::pre",
                node.pre.executable,
                node.pre.arguments,
                None,
            ),  # fmt: skip
        )
    if node.post is not None and "POST_SCRIPT_STARTED" in times and post_status is not None:
        begin = times["POST_SCRIPT_STARTED"]
        end = times.get("POST_SCRIPT_TERMINATED", begin)
        instance.invocations.append(
            InvocationRecord(
                -2,
                begin,
                end - begin,
                end - begin,
                post_status << 8,
                "dagman::post",
                node.post.executable,
                node.post.arguments,
                None,
            ),  # fmt: skip
        )

    if pre_status:
        instance.exitcode = pre_status << 8
    elif post_status is not None:
        instance.exitcode = post_status << 8
    else:
        instance.exitcode = main_exit
    for (kind, file_type), totals in integrity.items():
        instance.integrity.append(IntegrityRecord(kind, file_type, int(totals[0]), totals[1]))
    if int_failed:
        instance.tags["int.error"] = int_failed
    multiplier = sub.classad("pegasus_cores") if sub else None
    if multiplier and multiplier.isdigit() and int(multiplier) > 0:
        instance.multiplier_factor = int(multiplier)
    return instance


def _sub_arguments(sub: SubmitFile | None) -> str | None:
    if sub is None:
        return None
    value = sub.commands.get("arguments")
    return value.strip('"') if value else None


def _main_invocation(
    job: JobRecord, inv: Invocation, number: int, sub: SubmitFile | None
) -> InvocationRecord:
    cpu = inv.remote_cpu_time
    avg = cpu / inv.duration if cpu is not None and inv.duration else None
    return InvocationRecord(
        task_submit_seq=number,
        start_time=int(inv.start) if inv.start is not None else None,
        remote_duration=inv.duration,
        remote_cpu_time=cpu,
        exitcode=inv.raw,
        transformation=inv.transformation,
        executable=inv.executable,
        argv=_sub_arguments(sub) or job.argv,
        abs_task_id=inv.derivation,
        maxrss=inv.maxrss,
        avg_cpu=avg,
    )


def _collect_integrity(
    events: list[dict[str, object]], integrity: dict[tuple[str, str], list[float]]
) -> int:
    failed_total = 0
    for event in events:
        if event.get("monitoring_event") != "int.metric":
            continue
        payload = event.get("payload")
        for item in payload if isinstance(payload, list) else []:
            if not isinstance(item, dict):
                continue
            key = (str(item.get("event")), str(item.get("file_type")))
            succeeded = int(item.get("succeeded") or 0)
            failed = int(item.get("failed") or 0)
            count = int(item.get("count") or 0) or succeeded + failed
            bucket = integrity.setdefault(key, [0, 0.0])
            bucket[0] += count
            bucket[1] += float(item.get("duration") or 0.0)
            failed_total += failed
    return failed_total


def _compute_integrity(inv: Invocation, integrity: dict[tuple[str, str], list[float]]) -> None:
    """Checksums kickstart computed for outputs (`files.<lfn>.checksum_timing`)."""
    count = 0
    duration = 0.0
    for name, entry in inv.files.items():
        if name in ("stdin", "stdout", "stderr", "metadata") or not entry.get("output"):
            continue
        if entry.get("sha256") is not None and "checksum_timing" in entry:
            count += 1
            duration += float(entry.get("checksum_timing") or 0.0)
    if count:
        bucket = integrity.setdefault(("compute", "output"), [0, 0.0])
        bucket[0] += count
        bucket[1] += duration


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _instances_from_outputs(
    ctx: _Context,
    wf: WorkflowRecord,
    by_name: dict[str, JobRecord],
    subs: dict[str, SubmitFile | None],
) -> None:
    """Without jobstate.log, each rotated `.out.NNN` still proves one finished attempt.

    States and submit-side times are unknown then; invocations, hosts and exit codes come from
    the kickstart records, so kickstart-side statistics stay right.
    """
    found: list[tuple[float, str, JobRecord, JobInstanceRecord]] = []
    for job in by_name.values():
        if job.submit_file is None:
            continue
        folder = (ctx.directory / job.submit_file).parent
        outs = sorted(folder.glob(f"{job.exec_job_id}.out.[0-9][0-9][0-9]"))
        for attempt, _out in enumerate(outs):
            node = ctx.dag.nodes[job.exec_job_id]
            instance = _instance_from_lines(ctx, wf, job, node, subs.get(job.exec_job_id),
                                            0, [], attempt)  # fmt: skip
            codes = [i.exitcode for i in instance.invocations if i.task_submit_seq > 0]
            instance.exitcode = max((c for c in codes if c is not None), default=None)
            starts = [i.start_time for i in instance.invocations if i.start_time is not None]
            found.append((min(starts, default=float("inf")), job.exec_job_id, job, instance))
    # submission order is unknown; the order the attempts started in is the best witness
    for seq, (_start, _name, job, instance) in enumerate(sorted(found, key=lambda f: f[:2]), 1):
        instance.job_submit_seq = seq
        job.instances.append(instance)


def _subworkflow_dir(
    ctx: _Context, node: DagNode, sub: SubmitFile | None, attempt: int
) -> Path | None:
    """Where a sub-workflow node's own submit directory is in this copy of the tree.

    The `.sub` names it by the original absolute path (`initialdir`); rebase that onto where
    the submit dir is now. Pegasus plans attempt N into `<dir>.NNN` with a symlink `<dir>`.
    """
    candidates: list[Path] = []
    original = ctx.braindump.submit_dir
    initialdir = sub.commands.get("initialdir") if sub else None
    if node.subdag:
        dag_path = Path(node.subdag)
        candidates.append((ctx.directory / (node.directory or ".") / dag_path).parent)
    if initialdir:
        path = Path(initialdir)
        if original and initialdir.startswith(original.rstrip("/") + "/"):
            rel = initialdir[len(original.rstrip("/")) + 1 :]
            path = ctx.directory / rel
        elif not path.is_absolute():
            path = ctx.directory / path
        numbered = path.with_name(path.name + f".{attempt:03d}")
        candidates.extend([numbered, path])
    for candidate in candidates:
        if not _inside(candidate, ctx.directory):
            continue
        if (candidate / "braindump.yml").is_file() or (candidate / "braindump.txt").is_file():
            return candidate
    return None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True
