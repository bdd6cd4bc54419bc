"""Reading files on a user's behalf never leaves the place it is meant to read: an uploaded
Pegasus submit directory cannot point the importer at the server's files, the output listing
does not follow a symlink a job left behind, and the monitor does not read job files through
symlinks (isolated jobs can create them)."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from gateway.db.models import Run
from gateway.services import run_details
from gateway.settings import Settings
from worker.monitor.outfiles import read_attempt
from worker.pegasus_import.errors import SubmitDirError
from worker.pegasus_import.rebuild import rebuild_workflow
from worker.pegasus_import.tarball import UnsafeArchive, safe_extract

SHARED = Path(os.environ.get("AERIE_SHARED_DIR") or Path(__file__).parents[2] / ".." / "shared")
FIXTURE = SHARED / "pegasus" / "fixtures" / "submit-dirs" / "process_wf_success"


def _tar(files: dict[str, bytes], links: dict[str, str] | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    buf.seek(0)
    return buf


@pytest.mark.parametrize(
    ("files", "links"),
    [
        ({"../escape.txt": b"x"}, None),
        ({"/etc/cron.d/evil": b"x"}, None),
        ({}, {"run/secret": "/etc/shadow"}),
        ({}, {"run/up": "../../.."}),
    ],
)
def test_archives_cannot_write_or_link_outside_their_directory(
    tmp_path: Path, files: dict[str, bytes], links: dict[str, str] | None
) -> None:
    with pytest.raises(UnsafeArchive):
        safe_extract(_tar(files, links), tmp_path / "dest")
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("field", ["dag", "jsd"])
def test_an_imported_braindump_cannot_name_files_outside_its_directory(
    tmp_path: Path, field: str
) -> None:
    if not FIXTURE.is_dir():
        pytest.fail(f"reference submit directory missing: {FIXTURE}")
    copy = tmp_path / "upload"
    shutil.copytree(FIXTURE, copy)
    braindump = copy / "braindump.yml"
    lines = [
        line for line in braindump.read_text().splitlines() if not line.startswith(f"{field}:")
    ]
    target = "/etc/passwd" if field == "dag" else "../../../etc/passwd"
    braindump.write_text("\n".join([*lines, f"{field}: {target}"]) + "\n")

    with pytest.raises(SubmitDirError, match="outside the submit directory"):
        rebuild_workflow(copy)


def test_an_imported_dag_cannot_name_files_outside_its_directory(tmp_path: Path) -> None:
    if not FIXTURE.is_dir():
        pytest.fail(f"reference submit directory missing: {FIXTURE}")
    copy = tmp_path / "upload"
    shutil.copytree(FIXTURE, copy)
    dag = next(copy.glob("*.dag"))
    text = dag.read_text()
    dag.write_text(text + "JOB ../../../etc/passwd x.sub\n")
    with pytest.raises(SubmitDirError, match="not a plain name"):
        rebuild_workflow(copy)
    dag.write_text(text + "JOB intruder /etc/passwd\n")
    with pytest.raises(SubmitDirError, match="outside the submit directory"):
        rebuild_workflow(copy)


def test_the_output_listing_skips_symlinks_out_of_the_output_directory(
    tmp_path: Path, sqlite_settings: Settings
) -> None:
    run = Run(id="r1", owner_id=1, engine="local")
    out = sqlite_settings.data_dir / "runs" / "r1" / "wf-output"
    out.mkdir(parents=True)
    (out / "result.txt").write_text("ok\n")
    secret = tmp_path / "secret"
    secret.write_text("s3cret")
    (out / "stolen.txt").symlink_to(secret)

    files = run_details.list_files(_NoSession(), sqlite_settings, run)  # type: ignore[arg-type]

    assert [f["lfn"] for f in files] == ["result.txt"]
    with pytest.raises(Exception, match="no output file"):
        run_details.file_path(sqlite_settings, run, "stolen.txt")


class _NoSession:
    """list_files only asks the database for known checksums of a run's workflows."""

    def scalars(self, *args: object, **kwargs: object) -> list[object]:
        return []

    def scalar(self, *args: object, **kwargs: object) -> None:
        return None

    def execute(self, *args: object, **kwargs: object) -> list[object]:
        return []


def test_the_monitor_does_not_read_job_files_through_symlinks(tmp_path: Path) -> None:
    submit = tmp_path / "submit"
    (submit / "00" / "00").mkdir(parents=True)
    secret = tmp_path / "secret_key"
    secret.write_text("s3cret\n")
    (submit / "00" / "00" / "job_ID1.out").write_text("")
    (submit / "00" / "00" / "job_ID1.err.000").symlink_to(secret)

    (submit / "00" / "00" / "job_ID2.out").write_text("")
    (submit / "00" / "00" / "job_ID2.err.000").write_text("s3cret\n")  # a real copy is read

    got = read_attempt(submit, "00/00/job_ID1.sub", "job_ID1", 0, rotated=True)
    control = read_attempt(submit, "00/00/job_ID2.sub", "job_ID2", 0, rotated=True)

    assert "s3cret" not in (got.stderr_text or "")
    assert "s3cret" in (control.stderr_text or "")
