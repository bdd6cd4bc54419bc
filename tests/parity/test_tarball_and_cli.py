"""Uploads (tar.gz) are extracted safely, and `aerie import` works as a real command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import provenance as P
from gateway.db.models.user import User
from worker.pegasus_import.errors import SubmitDirError
from worker.pegasus_import.tarball import UnsafeArchive, import_tarball

AERIE = [str(Path(sys.executable).parent / "aerie")]


def _tar_of(directory: Path, arcname: str) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(directory, arcname=arcname)
    buffer.seek(0)
    return buffer


def _evil_tar(member: tarfile.TarInfo, data: bytes = b"x") -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    buffer.seek(0)
    return buffer


@pytest.fixture
def carol(session: Session) -> User:
    user = User(name="carol-parity")
    session.add(user)
    session.flush()
    return user


def test_tarball_of_a_submit_dir_imports_like_the_dir(
    session: Session, carol: User, run_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    source = run_copy("hierarchical_wf_success")
    upload = _tar_of(source, "run0001")
    imports = tmp_path / "imports"
    result = import_tarball(session, upload, carol, imports)
    assert result.created and result.workflows == 2
    (extracted,) = imports.iterdir()
    wf = session.scalars(select(P.Workflow).where(P.Workflow.wf_uuid == result.wf_uuid)).one()
    assert wf.imported
    assert (
        extracted / "run0001/00/00/blackdiamond_diamond_subworkflow.000/braindump.yml"
    ).is_file()
    # a second upload of the same run changes nothing and leaves no copy behind
    again = import_tarball(session, _tar_of(source, "x"), carol, imports)
    assert not again.created and list(imports.iterdir()) == [extracted]


@pytest.mark.parametrize(
    "member",
    [
        tarfile.TarInfo("../escape.txt"),
        tarfile.TarInfo("/etc/evil.txt"),
    ],
)
def test_path_traversal_is_refused(
    session: Session, carol: User, tmp_path: Path, member: tarfile.TarInfo
) -> None:
    member.size = 1
    with pytest.raises(UnsafeArchive):
        import_tarball(session, _evil_tar(member), carol, tmp_path / "imports")
    assert not (tmp_path / "escape.txt").exists()
    assert list((tmp_path / "imports").iterdir()) == []


def test_symlink_out_of_the_upload_is_refused(
    session: Session, carol: User, tmp_path: Path
) -> None:
    link = tarfile.TarInfo("run/braindump.yml")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    with pytest.raises(UnsafeArchive):
        import_tarball(session, _evil_tar(link), carol, tmp_path / "imports")
    assert list((tmp_path / "imports").iterdir()) == []


def test_upload_that_is_not_a_submit_dir_is_a_clear_error(
    session: Session, carol: User, tmp_path: Path
) -> None:
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "README").write_text("hello")
    with pytest.raises(SubmitDirError, match="no braindump.yml"):
        import_tarball(session, _tar_of(junk, "junk"), carol, tmp_path / "imports")
    with pytest.raises(SubmitDirError, match="not a readable tar archive"):
        import_tarball(session, io.BytesIO(b"not a tarball"), carol, tmp_path / "imports")


@pytest.mark.slow
def test_aerie_import_command(tmp_path: Path, run_copy: Callable[[str], Path]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AERIE_")}
    env.update(AERIE_DATA_DIR=str(tmp_path / "data"), AERIE_CONFIG=os.devnull)

    def aerie(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*AERIE, *args], env=env, capture_output=True, text=True, timeout=120)

    assert aerie("users", "create", "dave").returncode == 0
    path = run_copy("sample_wf_held")
    first = aerie("import", str(path), "--owner", "dave")
    assert first.returncode == 0, first.stderr
    assert (
        "imported run" in first.stdout and "8 jobs, 3 job instances, 6 invocations" in first.stdout
    )
    second = aerie("import", str(path), "--owner", "dave")
    assert second.returncode == 0 and "already imported" in second.stdout
    missing = aerie("import", str(tmp_path), "--owner", "dave")
    assert missing.returncode != 0 and "no braindump.yml" in missing.stderr


@pytest.mark.slow
def test_aerie_status_on_pegasus_dirs_prints_pegasus_status(
    tmp_path: Path, run_copy: Callable[[str], Path]
) -> None:
    """`aerie status DIR` reads a Pegasus submit dir's dagman.out files, as pegasus-status."""
    from tests.parity.conftest import STATUS_SAMPLES
    from tests.parity.test_status_samples import SAMPLE2_HR_LONG_DIRS

    env = {k: v for k, v in os.environ.items() if not k.startswith("AERIE_")}
    env.update(AERIE_DATA_DIR=str(tmp_path / "data"), AERIE_CONFIG=os.devnull)

    def aerie(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*AERIE, *args], env=env, capture_output=True, text=True, timeout=120)

    long = aerie("status", "-l", str(STATUS_SAMPLES / "sample2_hr"))
    assert long.returncode == 0, long.stderr
    assert long.stdout == SAMPLE2_HR_LONG_DIRS.lstrip("\n").replace("sub_workflows/inner/", "")
    # analyze/statistics need the provenance rows: they point at `aerie import` first
    path = run_copy("process_wf_failure")
    refused = aerie("analyze", str(path))
    assert refused.returncode != 0 and "aerie import" in refused.stderr
    assert aerie("users", "create", "admin").returncode == 0
    assert aerie("import", str(path)).returncode == 0
    analyzed = aerie("analyze", str(path))
    assert analyzed.returncode == 2  # the workflow failed, as pegasus-analyzer exits
    assert "# jobs failed      :      1 (20.00%)" in analyzed.stdout
    assert "ls_ID0000001" in analyzed.stdout
