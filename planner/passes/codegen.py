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
from dataclasses import dataclass

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


@dataclass(slots=True)
class _ProfileParts:
    profiles: dict[str, dict[str, str]]
    resources: dict[str, str]
    condor: dict[str, str]
    env: dict[str, str]
    env_tail: str
    walltime: float | None
    ads_tail: dict[str, str]


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
        self._parts_cache: dict[int, _ProfileParts] = {}
        self._quote_cache: dict[str, str] = {}
        self._input_cache: dict[tuple[int, str], dict[str, object]] = {}
        self.env_head = (
            f"CONDOR_JOBID=$(cluster).$(process) PEGASUS_WF_UUID={wf.wf_uuid} "
            f"PEGASUS_WF_LABEL={environment({'X': wf.label})[3:-1]}"
        )
        self.fixed = {
            "notification": "NEVER",
            "periodic_release": "False",
            "periodic_remove": HELD_REMOVE.format(secs=self.hold_secs),
            "stream_output": "false",
            "stream_error": "false",
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
        """The ``inputs`` list of a .lite.json. Entries are shared between the consumers of one
        file (they are only ever serialised), which keeps 100k-job plans in memory bounds."""
        out: list[dict[str, object]] = []
        dc = task.data_config
        area = scratch_area(self.state, task.staging_site) if dc == "nonsharedfs" else None
        cache = self._input_cache
        for p in plans:
            key = (id(p), task.staging_site if area is not None else "")
            entry = cache.get(key)
            if entry is None:
                urls = p.urls
                if not urls and area is not None:
                    urls = [area.get(p.lfn)]
                entry = {
                    "lfn": p.lfn,
                    "urls": urls,
                    "sha256": p.sha256,
                    "size": None,
                    "executable": p.executable,
                }
                cache[key] = entry
            out.append(entry)
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

    def _parts(self, task: Task) -> _ProfileParts:
        """What a job's merged profiles turn into; cached, as most jobs share their profiles."""
        key = id(task.profiles)
        parts = self._parts_cache.get(key)
        if parts is not None and parts.profiles is task.profiles:
            return parts
        profiles = task.profiles
        peg = profiles.get("pegasus", {})
        where = f"jobs[{task.id}].profiles.pegasus"
        resources: dict[str, str] = {}
        if "cores" in peg:
            resources["request_cpus"] = _fmt(_num(peg["cores"], f"{where}.cores") or 1)
        if "memory" in peg:
            resources["request_memory"] = _fmt(_num(peg["memory"], f"{where}.memory") or 0)
        if "gpus" in peg:
            resources["request_gpus"] = _fmt(_num(peg["gpus"], f"{where}.gpus") or 0)
        if "diskspace" in peg:
            disk = _num(peg["diskspace"], f"{where}.diskspace") or 0
            resources["request_disk"] = _fmt(disk * 1024)
        condor = dict(profiles.get("condor", {}))
        for k, v in condor.items():
            check_value(k, v)
        env_profile = dict(profiles.get("env", {}))
        env_tail = environment(env_profile)[1:-1] if env_profile else ""
        ads_tail = {
            "+pegasus_job_runtime": _fmt(_num(peg.get("runtime"), f"{where}.runtime") or 0),
            "+pegasus_cores": peg.get("cores", "1"),
            "+pegasus_gpus": peg.get("gpus", "0"),
        }
        parts = _ProfileParts(
            profiles=profiles,
            resources=resources,
            condor=condor,
            env=env_profile,
            env_tail=env_tail,
            walltime=self._walltime(task),
            ads_tail=ads_tail,
        )
        self._parts_cache[key] = parts
        return parts

    def compute(self, task: Task) -> None:
        node = task.node
        assert node is not None
        plans = self.res.inputs.get(task, [])
        parts = self._parts(task)
        dc = task.data_config
        name = node.name
        wf = self.wf
        lite: dict[str, object] = {
            "version": LITE_VERSION,
            "job_id": task.id,
            "job_name": name,
            "transformation": node.transformation,
            "site": task.site,
            "wf_label": wf.label,
            "wf_uuid": wf.wf_uuid,
        }
        if task.members is None:
            job = task.job
            assert isinstance(job, Job)
            lite["executable"] = self._executable(task)
            lite["arguments"] = split_arguments(job.arguments)
            lite["stdin"] = job.stdin
            lite["stdout"] = job.stdout
            lite["stderr"] = job.stderr
            lite["environment"] = parts.env
            lite["walltime"] = parts.walltime
            lite["tasks"] = None
        else:
            lite["executable"] = None
            lite["arguments"] = []
            lite["stdin"] = lite["stdout"] = lite["stderr"] = None
            lite["environment"] = parts.env
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
        lite_path = f"{jobdir}/{name}.lite.json"
        desc: dict[str, str] = {"universe": "vanilla", "executable": self.wrapper}
        if dc == "sharedfs":
            area = scratch_area(self.state, task.staging_site)
            desc["arguments"] = arguments(["run", lite_path])
            desc["transfer_executable"] = "false"
            desc["initialdir"] = area.path
            desc["should_transfer_files"] = "NO"
        else:
            desc["arguments"] = f'"run {name}.lite.json"'
            desc["transfer_executable"] = "true"
            nodes = wf.nodes
            submit_dir = self.submit_dir
            metas = [f"{submit_dir}/{nodes[p].dir}/{p}.meta" for p in self._meta_parents(task)]
            if dc == "condorio":
                desc["initialdir"] = scratch_area(self.state, task.staging_site).path
                files = [p.lfn for p in plans if p.via_condor and not p.urls]
                outputs = [u.lfn for u in task.outputs if u.type != "checkpoint"]
            else:
                desc["initialdir"] = jobdir
                files, outputs = [], []
            desc["should_transfer_files"] = "YES"
            desc["when_to_transfer_output"] = "ON_EXIT"
            desc["transfer_input_files"] = ",".join([*files, lite_path, *metas])
            if outputs:
                desc["transfer_output_files"] = ",".join(outputs)
        env = f"{self.env_head} PEGASUS_DAG_JOB_ID={name} PEGASUS_SITE={task.site}"
        desc["environment"] = f'"{env} {parts.env_tail}"' if parts.env_tail else f'"{env}"'
        desc.update(parts.resources)
        desc["output"] = f"{jobdir}/{name}.out"
        desc["error"] = f"{jobdir}/{name}.err"
        desc["priority"] = str(node.priority)
        desc["submit_event_user_notes"] = f"pool:{node.site}"
        desc.update(self.fixed)
        desc.update(parts.condor)
        desc.update(self.common_ads)
        desc["+pegasus_wf_xformation"] = self._quoted(node.transformation)
        desc["+pegasus_wf_dax_job_id"] = self._quoted(node.job_id or "null")
        desc["+pegasus_wf_dag_job_id"] = f'"{name}"'
        desc["+pegasus_job_class"] = "1"
        desc["+pegasus_site"] = self._quoted(node.site)
        desc.update(parts.ads_tail)
        desc["+pegasus_cluster_size"] = str(node.cluster_size)
        node.submit = desc

    def _quoted(self, text: str) -> str:
        q = self._quote_cache.get(text)
        if q is None:
            q = self._quote_cache[text] = classad_string(text)
        return q

    def _meta_parents(self, task: Task) -> list[str]:
        """Transfer and compute parents whose ``.meta`` (checksums) the job must receive."""
        names = dict(self.res.meta_parents.get(task, {}))
        for p in task.parents:
            pnode = p.node
            if pnode is not None and pnode.type is JobType.COMPUTE:
                names[pnode.name] = None
        return list(names)

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
