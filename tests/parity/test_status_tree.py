"""`aerie status -l` draws a hierarchical run's DAG tree exactly as pegasus-status does, whether
it reads the database (any run id) or the submit directory's dagman.out files.

The oracle is pegasus-status itself: `Pegasus.client.status.Status` from the Pegasus package in
the virtualenv, run offline (`noqueue`) on a real Pegasus submit directory whose sub-workflow
folders hold real DAGMan logs (pegasus-status' own samples). pegasus-status lists sibling folders
in the order the file system returns them; the oracle runs with sorted folders, the order Aerie
uses, so the comparison cannot depend on the file system.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gateway.db.models import DagStatus, User, Workflow
from gateway.services import provenance as pv
from gateway.services import statistics as st
from tests.parity.conftest import STATUS_SAMPLES, copy_without_stampede
from worker.pegasus_import.dagman_out import read_progress
from worker.pegasus_import.importer import import_submit_dir
from worker.pegasus_import.status import submit_dir_status

AERIE = Path(sys.executable).with_name("aerie")
SUB = Path("00/00/blackdiamond_diamond_subworkflow.000")  # the run's own sub-workflow folder
NESTED = SUB / "00/00/sleep_subworkflow.000"  # a sub-workflow of that sub-workflow
SIBLING = Path("00/00/zz_failing_subworkflow.000")  # a later sibling of the first


def pegasus_status(submit_dir: Path, *, long: bool, dirs: bool = False) -> str:
    """What `pegasus-status --noqueue [-l] [-D] DIR` prints (lines without trailing blanks:
    pegasus-status pads every cell, Aerie does not)."""
    from Pegasus.client import status

    real_walk = os.walk

    def sorted_walk(top: object, **kwargs: object) -> Iterator[tuple[str, list[str], list[str]]]:
        for folder, dirnames, files in real_walk(top, **kwargs):  # type: ignore[call-overload]
            dirnames.sort()
            files.sort()
            yield folder, dirnames, files

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr(status.os, "walk", sorted_walk)
        status.Status().fetch_status(submit_dir=str(submit_dir), long=long, dirs=dirs, noqueue=True)
    return "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())


def _with_sub_dagman_outs(tmp_path: Path, *, nested: bool) -> Path:
    """Pegasus's hierarchical run with its sub-workflow's dagman.out (the fixture lacks it),
    and optionally a nested sub-workflow and a later, failed sibling."""
    run = copy_without_stampede("hierarchical_wf_success", tmp_path)
    hr = STATUS_SAMPLES / "sample1_hr" / "sub_workflows"
    shutil.copy(hr / "inner" / "inner.dag.dagman.out", run / SUB)
    if nested:
        (run / NESTED).mkdir(parents=True)
        shutil.copy(hr / "sleep_subworkflow" / "sleep-wf-0.dag.dagman.out", run / NESTED)
        (run / SIBLING).mkdir(parents=True)
        shutil.copy(STATUS_SAMPLES / "sample3" / "sample_3_failure.dag.dagman.out", run / SIBLING)
    return run


@pytest.mark.parametrize(("long", "dirs"), [(False, False), (True, False), (True, True)])
def test_submit_dir_tree_is_pegasus_status_text(tmp_path: Path, long: bool, dirs: bool) -> None:
    run = _with_sub_dagman_outs(tmp_path, nested=True)
    expected = pegasus_status(run, long=long, dirs=dirs)
    if long:
        assert "  │ └─" in expected and "  └─" in expected  # the case this test is about
    assert submit_dir_status(run, long=long, dirs=dirs) == expected


def test_database_tree_is_pegasus_status_text(session: Session, tmp_path: Path) -> None:
    """The same tree read from provenance rows: the importer's root and sub-workflow, plus the
    nested and sibling sub-workflows as the monitor records them (their rows and DAGMan counts)."""
    run = _with_sub_dagman_outs(tmp_path, nested=True)
    owner = User(name="status-tree")
    session.add(owner)
    session.flush()
    root = st.workflow_by_uuid(session, import_submit_dir(session, run, owner).wf_uuid)
    (inner,) = [i.wf_id for i in st.descendants(session, root) if i.wf_id != root]
    origin = Path(str(session.get(Workflow, root).submit_dir))  # type: ignore[union-attr]
    for folder, parent in ((SIBLING, root), (NESTED, inner)):
        (log,) = (run / folder).glob("*.dagman.out")
        wf = Workflow(
            wf_uuid=f"{folder.name}-{root}",
            dag_file_name=log.name.removesuffix(".dagman.out"),
            submit_dir=str(origin / folder),
            parent_wf_id=parent,
            root_wf_id=root,
        )
        session.add(wf)
        session.flush()
        p = read_progress(log)
        session.add(DagStatus(wf_id=wf.wf_id, dag_status=p.dag_status, nodes_total=p.total,
                              done=p.succeeded, pre=p.pre, queued=p.queued, post=p.post,
                              ready=p.ready, unready=p.unready, failed=p.failed,
                              exit_status=p.exit_status))  # fmt: skip
    session.flush()

    report = pv.status(session, root)
    for long in (False, True):
        assert "\n" + pv.render_status(report, long=long) == pegasus_status(run, long=long)
    assert [(d.dagname, d.depth) for d in report.dags] == [
        ("hierarchical-workflow-0.dag", 0),
        ("inner.dag", 1),
        ("sleep-wf-0.dag", 2),
        ("sample_3_failure.dag", 1),
    ]


@pytest.mark.slow  # three `aerie` processes
def test_aerie_status_of_an_imported_hierarchical_run(tmp_path: Path) -> None:
    run = _with_sub_dagman_outs(tmp_path, nested=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AERIE_")}
    env.update(AERIE_DATA_DIR=str(tmp_path / "data"), AERIE_CONFIG=os.devnull)

    def aerie(*args: str) -> str:
        done = subprocess.run([str(AERIE), *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    aerie("users", "create", "alice")
    run_id = aerie("import", str(run), "--owner", "alice").split()[2]
    expected = pegasus_status(run, long=True)
    assert "  └─inner.dag" in expected
    assert "\n" + aerie("status", "-l", run_id) == expected
