"""Code generation: each node's HTCondor submit description and job-wrapper input.

Follows ``docs/submit-dir.md``: compute nodes run ``SUBMITDIR/aerie-lite run <job>.lite.json``
in the vanilla universe (condor file transfer in condorio and nonsharedfs, the shared workflow
directory in sharedfs); auxiliary nodes run ``aerie-lite transfer|register <job>.in`` in the
local universe from their job directory. The ``.lite.json`` object is written exactly as
``worker/lite/jobspec.py`` defines it (plain dicts: the planner does not import the worker).
"""

from __future__ import annotations

import os
import shlex

from planner.dag import ExecutableWorkflow, JobType, Node
from planner.passes.errors import fail
from planner.passes.sites import scratch_area
from planner.passes.staging import InputPlan, StagingResult
from planner.passes.state import PlanState, Task
from planner.spec import Job
from planner.submit import arguments, check_value, classad_string, environment

LITE_VERSION = 1
HELD_REMOVE = "(JobStatus == 5) && ((CurrentTime - EnteredCurrentStatus) > {secs})"
_NEEDS_SHELL_SPLIT = frozenset("'\"\\")


def split_arguments(args: tuple[str, ...]) -> list[str]:
    """Pegasus joins the argument items with spaces and the job's shell splits them again;
    doing the same keeps ``["-a b"]`` meaning two arguments, as users of Pegasus expect."""
    joined = " ".join(args).strip()
    if _NEEDS_SHELL_SPLIT & set(joined):
        try:
            return shlex.split(joined)
        except ValueError:
            return joined.split()
    return joined.split()


def _num(value: str | None, where: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise fail(where, f"expected a number, got {value!r}", code="profile") from None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


class CodeGen:
    def __init__(self, state: PlanState, res: StagingResult) -> None:
        self.state = state
        self.res = res
        wf = state.wf
        self.wf = wf
        self.submit_dir = str(wf.submit_dir)
        self.wrapper = wf.wrapper or f"{self.submit_dir}/aerie-lite"
        mode = state.prop("pegasus.mode", "production").lower()
        self.hold_secs = 30 if mode in ("development", "debug", "tutorial") else 1800
        integrity = state.prop("pegasus.integrity.checking", "full").lower()
        if mode in ("development", "debug"):
            integrity = "none"
        if integrity not in ("full", "nosymlink", "none"):
            raise fail(
                "pegasus.integrity.checking",
                f"unknown value {integrity!r} (use full, nosymlink or none)",
            )
        self.integrity = integrity
        self.common_ads = {
            "+pegasus_generator": classad_string("Aerie"),
            "+pegasus_root_wf_uuid": classad_string(wf.root_uuid),
            "+pegasus_wf_uuid": classad_string(wf.wf_uuid),
            "+pegasus_wf_name": classad_string(wf.prefix),
            "+pegasus_wf_time": classad_string(str(wf.braindump.get("timestamp", ""))),
        }
        self.aux_env = environment(
            {
                "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                "PEGASUS_WF_UUID": wf.wf_uuid,
                "PEGASUS_WF_LABEL": wf.label,
            }
        )

    # ------------------------------------------------------------------ helpers

    def _ads(self, node: Node, task: Task | None) -> dict[str, str]:
        peg = task.profiles.get("pegasus", {}) if task else {}
        ads = dict(self.common_ads)
        ads["+pegasus_wf_xformation"] = classad_string(node.transformation)
        ads["+pegasus_wf_dax_job_id"] = classad_string(node.job_id or "null")
        ads["+pegasus_wf_dag_job_id"] = classad_string(node.name)
        ads["+pegasus_job_class"] = str(node.type.job_class)
        ads["+pegasus_site"] = classad_string(node.site)
        ads["+pegasus_job_runtime"] = _fmt(_num(peg.get("runtime"), "pegasus.runtime") or 0)
        ads["+pegasus_cores"] = peg.get("cores", "1")
        ads["+pegasus_gpus"] = peg.get("gpus", "0")
        ads["+pegasus_cluster_size"] = str(node.cluster_size)
        return ads

    def _common(self, node: Node) -> dict[str, str]:
        jobdir = f"{self.submit_dir}/{node.dir}"
        return {
            "output": f"{jobdir}/{node.name}.out",
            "error": f"{jobdir}/{node.name}.err",
            "notification": "NEVER",
            "priority": str(node.priority),
            "periodic_release": "False",
            "periodic_remove": HELD_REMOVE.format(secs=self.hold_secs),
            "submit_event_user_notes": f"pool:{node.site}",
            "stream_output": "false",
            "stream_error": "false",
        }

    # ------------------------------------------------------------------ auxiliary

    def auxiliary(self, node: Node) -> None:
        jobdir = f"{self.submit_dir}/{node.dir}"
        if node.type is JobType.REGISTRATION:
            args = [
                "register",
                "-o",
                f"{self.submit_dir}/{self.wf.prefix}.replicas",
                f"{node.name}.in",
            ]
        else:
            args = ["transfer", f"{node.name}.in"]
        desc = {
            "universe": "local",
            "executable": self.wrapper,
            "arguments": arguments(args),
            "initialdir": jobdir,
            "transfer_executable": "false",
            "environment": self.aux_env,
        }
        desc.update(self._common(node))
        desc.update(self._ads(node, None))
        node.submit = desc

    # ------------------------------------------------------------------ compute

    def _lite_inputs(self, task: Task, plans: list[InputPlan]) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        dc = task.data_config
        area = scratch_area(self.state, task.staging_site) if dc == "nonsharedfs" else None
        for p in plans:
            urls = p.urls
            if not urls and area is not None:
                urls = [area.get(p.lfn)]
            out.append(
                {
                    "lfn": p.lfn,
                    "urls": urls,
                    "sha256": p.sha256,
                    "size": None,
                    "executable": p.executable,
                }
            )
        return out

    def _lite_outputs(self, task: Task) -> list[dict[str, object]]:
        dc = task.data_config
        area = scratch_area(self.state, task.staging_site) if dc == "nonsharedfs" else None
        return [
            {
                "lfn": u.lfn,
                "urls": [area.put(u.lfn)] if area is not None else [],
                "checksum": True,
                "optional": u.optional or u.type == "checkpoint",
            }
            for u in task.outputs
        ]

    def _executable(self, task: Task) -> str:
        exe = self.res.executable.get(task)
        if exe is not None:
            return exe
        pinned = task.job.profiles.selector_value("pfn")
        if pinned:
            return pinned
        entry = task.tx_site
        assert entry is not None
        pfn = entry.pfn
        return pfn[len("file://") :] if pfn.startswith("file://") else pfn

    def _task_object(self, task: Task) -> dict[str, object]:
        job = task.job
        assert isinstance(job, Job)
        node_name = task.node.name if task.node is not None else f"{job.name}_{job.id}"
        return {
            "job_id": job.id,
            "job_name": node_name,
            "transformation": task.transformation.key if task.transformation else job.name,
            "executable": self._executable(task),
            "arguments": split_arguments(job.arguments),
            "stdin": job.stdin,
            "stdout": job.stdout,
            "stderr": job.stderr,
            "environment": dict(task.profiles.get("env", {})),
            "walltime": self._walltime(task),
            "inputs": [
                {"lfn": u.lfn, "urls": [], "sha256": None, "size": None, "executable": False}
                for u in task.inputs
            ],
            "outputs": [
                {"lfn": u.lfn, "urls": [], "checksum": True, "optional": u.optional}
                for u in task.outputs
            ],
        }

    def _walltime(self, task: Task) -> float | None:
        peg = task.profiles.get("pegasus", {})
        where = f"jobs[{task.id}].profiles.pegasus"
        maxwall = _num(peg.get("maxwalltime"), f"{where}.maxwalltime")
        if maxwall is None:
            maxwall = _num(task.profiles.get("globus", {}).get("maxwalltime"), "globus.maxwalltime")
        if maxwall is not None and maxwall > 0:
            return maxwall * 60
        runtime = _num(peg.get("runtime"), f"{where}.runtime")
        return runtime if runtime and runtime > 0 else None

    def _container(self, task: Task) -> dict[str, object] | None:
        cont = task.container
        if cont is None:
            return None
        kind = "singularity" if cont.type == "singularity" else cont.type
        if kind not in ("docker", "singularity"):
            raise fail(
                f"containers[{cont.name}].type",
                f"container type {cont.type!r} is not supported (use docker or singularity)",
            )
        peg = task.profiles.get("pegasus", {})
        extra = peg.get("container.arguments", "")
        gpus = bool(peg.get("gpus")) or bool(task.profiles.get("condor", {}).get("request_gpus"))
        return {
            "type": kind,
            "image": cont.image,
            "image_lfn": self.res.image_lfn.get(task),
            "mounts": list(cont.mounts),
            "arguments": extra.split() if extra else [],
            "gpus": gpus,
        }

    def compute(self, task: Task) -> None:
        node = task.node
        assert node is not None
        plans = self.res.inputs.get(task, [])
        lead = task.members[0] if task.members else task
        job = lead.job
        assert isinstance(job, Job)
        dc = task.data_config
        lite: dict[str, object] = {
            "version": LITE_VERSION,
            "job_id": task.id,
            "job_name": node.name,
            "transformation": node.transformation,
            "site": task.site,
            "wf_label": self.wf.label,
            "wf_uuid": self.wf.wf_uuid,
        }
        if task.members is None:
            body = self._task_object(task)
            body.pop("job_id")
            body.pop("job_name")
            body.pop("transformation")
            body.pop("inputs")
            body.pop("outputs")
            lite.update(body)
            lite["tasks"] = None
        else:
            lite["executable"] = None
            lite["arguments"] = []
            lite["stdin"] = lite["stdout"] = lite["stderr"] = None
            lite["environment"] = dict(task.profiles.get("env", {}))
            lite["walltime"] = None
            lite["tasks"] = [self._task_object(m) for m in task.members]
        lite["container"] = self._container(task)
        lite["integrity"] = "none" if dc == "sharedfs" else self.integrity
        lite["scratch"] = "cwd"
        lite["inputs"] = self._lite_inputs(task, plans)
        lite["outputs"] = self._lite_outputs(task)
        lite["fail_fast"] = True
        node.payload = lite

        jobdir = f"{self.submit_dir}/{node.dir}"
        lite_path = f"{jobdir}/{node.name}.lite.json"
        desc: dict[str, str] = {"universe": "vanilla", "executable": self.wrapper}
        if dc == "sharedfs":
            area = scratch_area(self.state, task.staging_site)
            desc["arguments"] = arguments(["run", lite_path])
            desc["transfer_executable"] = "false"
            desc["initialdir"] = area.path
            desc["should_transfer_files"] = "NO"
        else:
            desc["arguments"] = arguments(["run", f"{node.name}.lite.json"])
            desc["transfer_executable"] = "true"
            metas = [
                f"{self.submit_dir}/{self.wf.nodes[p].dir}/{p}.meta"
                for p in self._meta_parents(task)
            ]
            if dc == "condorio":
                area = scratch_area(self.state, task.staging_site)
                desc["initialdir"] = area.path
                files = [p.lfn for p in plans if p.via_condor and not p.urls]
                outputs = [u.lfn for u in task.outputs if u.type != "checkpoint"]
            else:
                desc["initialdir"] = jobdir
                files, outputs = [], []
            transfer_in = [*files, lite_path, *metas]
            desc["should_transfer_files"] = "YES"
            desc["when_to_transfer_output"] = "ON_EXIT"
            desc["transfer_input_files"] = ",".join(transfer_in)
            if outputs:
                desc["transfer_output_files"] = ",".join(outputs)
        env = {
            "CONDOR_JOBID": "$(cluster).$(process)",
            "PEGASUS_WF_UUID": self.wf.wf_uuid,
            "PEGASUS_WF_LABEL": self.wf.label,
            "PEGASUS_DAG_JOB_ID": node.name,
            "PEGASUS_SITE": task.site,
        }
        env.update(task.profiles.get("env", {}))
        desc["environment"] = environment(env)
        peg = task.profiles.get("pegasus", {})
        where = f"jobs[{task.id}].profiles.pegasus"
        if "cores" in peg:
            desc["request_cpus"] = _fmt(_num(peg["cores"], f"{where}.cores") or 1)
        if "memory" in peg:
            desc["request_memory"] = _fmt(_num(peg["memory"], f"{where}.memory") or 0)
        if "gpus" in peg:
            desc["request_gpus"] = _fmt(_num(peg["gpus"], f"{where}.gpus") or 0)
        if "diskspace" in peg:
            desc["request_disk"] = _fmt((_num(peg["diskspace"], f"{where}.diskspace") or 0) * 1024)
        desc.update(self._common(node))
        for key, value in task.profiles.get("condor", {}).items():
            check_value(key, value)
            desc[key] = value
        desc.update(self._ads(node, task))
        node.submit = desc

    def _meta_parents(self, task: Task) -> list[str]:
        node = task.node
        assert node is not None
        names = list(self.res.meta_parents.get(task, ()))
        for p in task.parents:
            if p.node is not None and p.node.type is JobType.COMPUTE and p.node.name not in names:
                names.append(p.node.name)
        return names

    # ------------------------------------------------------------------ sub-workflows

    def subdag(self, task: Task) -> None:
        node = task.node
        assert node is not None
        # SUBDAG EXTERNAL nodes are written without a .sub of their own: DAGMan generates it.
        node.submit = {}


def generate(state: PlanState, order: list[Task], res: StagingResult) -> None:
    gen = CodeGen(state, res)
    wf: ExecutableWorkflow = state.wf
    for t in order:
        if t.node is None:
            continue
        if t.node.type is JobType.COMPUTE:
            gen.compute(t)
        else:
            gen.subdag(t)
    for node in wf.nodes.values():
        if node.type.is_auxiliary:
            gen.auxiliary(node)
