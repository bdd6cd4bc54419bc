"""`import_submit_dir` fills the provenance tables once, links sub-workflows, owns the run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.models import provenance as P
from gateway.db.models.run import Run
from gateway.db.models.user import User
from gateway.errors import Conflict, NotFound
from tests.parity import stampede as S
from tests.parity.conftest import stampede_db
from worker.pegasus_import.errors import SubmitDirError
from worker.pegasus_import.importer import ENGINE, import_submit_dir

TABLES = (P.Workflow, P.WorkflowState, P.Job, P.JobEdge, P.JobInstance, P.JobState,
          P.Invocation, P.Host, P.Task, P.Integrity, P.Tag, P.DagStatus)  # fmt: skip


def _counts(session: Session) -> dict[str, int]:
    return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0
            for t in TABLES}  # fmt: skip


@pytest.fixture
def alice(session: Session) -> User:
    user = User(name="alice-parity")
    session.add(user)
    session.flush()
    return user


def test_import_twice_changes_nothing(
    session: Session, alice: User, run_copy: Callable[[str], Path]
) -> None:
    path = run_copy("sample_wf_held")
    first = import_submit_dir(session, path, alice)
    session.flush()
    before = _counts(session)
    again = import_submit_dir(session, path, "alice-parity")
    session.flush()
    assert first.created and not again.created
    assert again.run_id == first.run_id
    assert _counts(session) == before
    assert before["job"] == 8 and before["job_instance"] == 3 and before["invocation"] == 6


def test_imported_run_is_marked_and_ends_in_pegasus_state(
    session: Session, alice: User, run_copy: Callable[[str], Path]
) -> None:
    failed = import_submit_dir(session, run_copy("sample_wf_held"), alice)
    ok = import_submit_dir(session, run_copy("process_wf_success"), alice)
    runs = {r.id: r for r in session.scalars(select(Run).where(Run.owner_id == alice.id))}
    held, good = runs[failed.run_id], runs[ok.run_id]
    assert held.engine == ENGINE and held.labels["imported"] == "true"
    assert (held.state, good.state) == ("failed", "succeeded")
    assert held.name == "Drug-Combination-Therapy"
    assert held.started_at is not None and held.finished_at is not None
    assert (held.finished_at - held.started_at).total_seconds() == 121  # "2 mins, 1 sec"
    wf = session.scalars(select(P.Workflow).where(P.Workflow.run_id == held.id)).one()
    assert wf.imported and wf.source == "pegasus" and wf.root_wf_id == wf.wf_id


def test_rows_match_stampede_db(
    session: Session, alice: User, run_copy: Callable[[str], Path]
) -> None:
    result = import_submit_dir(session, run_copy("hierarchical_wf_failure"), alice)
    db = stampede_db("hierarchical_wf_failure")
    wf = session.scalars(select(P.Workflow).where(P.Workflow.wf_uuid == result.wf_uuid)).one()
    rows = session.execute(
        select(P.Job.exec_job_id, P.JobInstance.job_submit_seq, P.Invocation.task_submit_seq,
               P.Invocation.exitcode, P.Invocation.transformation)
        .join(P.JobInstance, P.JobInstance.job_id == P.Job.job_id)
        .join(P.Invocation, P.Invocation.job_instance_id == P.JobInstance.job_instance_id)
        .where(P.Job.wf_id == wf.wf_id)
    ).all()  # fmt: skip
    mine = {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}
    want = {
        k: (v["exitcode"], v["transformation"]) for k, v in S.invocations(db, wf.wf_uuid).items()
    }
    assert mine == want
    plan_exit = session.scalars(
        select(P.JobInstance.exitcode)
        .join(P.Job)
        .where(P.Job.wf_id == wf.wf_id, P.Job.exec_job_id == "pegasus-plan_diamond_subworkflow")
    ).all()
    assert plan_exit == [512, 512]  # both PRE script attempts failed with status 2


def test_sub_workflows_become_linked_child_workflows(
    session: Session, alice: User, run_copy: Callable[[str], Path]
) -> None:
    result = import_submit_dir(session, run_copy("hierarchical_wf_success"), alice)
    root = session.scalars(select(P.Workflow).where(P.Workflow.wf_uuid == result.wf_uuid)).one()
    children = session.scalars(
        select(P.Workflow).where(P.Workflow.parent_wf_id == root.wf_id)
    ).all()
    assert [c.wf_uuid for c in children] == ["160be601-bda4-45fb-86cd-9cf7a269bb22"]
    (child,) = children
    assert child.root_wf_id == root.wf_id and child.run_id is None
    subwf = session.scalars(
        select(P.JobInstance.subwf_id).join(P.Job).where(P.Job.type_desc == "dax",
                                                         P.Job.wf_id == root.wf_id)
    ).all()  # fmt: skip
    assert subwf == [child.wf_id]
    assert (
        session.scalar(select(func.count()).select_from(P.Job).where(P.Job.wf_id == child.wf_id))
        == 15
    )


def test_someone_elses_workflow_is_not_reimported(
    session: Session, alice: User, run_copy: Callable[[str], Path]
) -> None:
    path = run_copy("process_wf_failure")
    import_submit_dir(session, path, alice)
    bob = User(name="bob-parity")
    session.add(bob)
    session.flush()
    with pytest.raises(Conflict, match="not yours"):
        import_submit_dir(session, path, bob)
    with pytest.raises(NotFound, match="no user named 'nobody-parity'"):
        import_submit_dir(session, path, "nobody-parity")


def test_aerie_submit_dirs_are_not_imported(
    session: Session, alice: User, run_copy: Callable[[str], Path]
) -> None:
    path = run_copy("process_wf_success")
    braindump = path / "braindump.yml"
    braindump.write_text(braindump.read_text() + "\naerie:\n  run_id: x\n")
    with pytest.raises(SubmitDirError, match="an Aerie submit directory"):
        import_submit_dir(session, path, alice)
