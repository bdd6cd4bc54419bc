"""`POST /api/v1/workflows/import`: Pegasus's own submit directories, uploaded as tar.gz without
their stampede.db, become runs whose API figures equal what pegasus-statistics and
pegasus-analyzer 5.1.3 printed for the same runs (tests/parity/expected)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.models import Run, User
from gateway.services import users as user_service
from gateway.services.statistics import TransformationRow
from gateway.services.statistics_text import transformation_cells
from tests.parity.conftest import copy_without_stampede
from tests.parity.test_analyzer_and_status_parity import report_lines

EXPECTED = Path(__file__).parents[2] / "parity" / "expected"
RUNS = ["process_wf_success", "process_wf_failure", "sample_wf_held", "hierarchical_wf_failure"]
URL = "/api/v1/workflows/import"
Headers = Callable[..., dict[str, str]]


def tar_gz(directory: Path, arcname: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(directory, arcname=arcname)
    return buffer.getvalue()


def evil_tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member, data in members:
            member.size = len(data) if member.isfile() else 0
            archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return buffer.getvalue()


def upload(api: TestClient, auth: dict[str, str], data: bytes, name: str = "run.tar.gz") -> object:
    return api.post(URL, headers=auth, files={"archive": (name, data, "application/gzip")})


@pytest.fixture
def user(session: Session, headers: Headers) -> Callable[[str], dict[str, str]]:
    def make(name: str) -> dict[str, str]:
        created = user_service.create_user(session, name=name)
        session.flush()
        return headers(created)

    return make


def breakdown_all(text: str) -> list[list[str]]:
    """The "All (All)" table of breakdown.txt as cells (the API returns the run's rows)."""
    section = text.split("# All (All)\n")[1].splitlines()[1:]
    return [line.split() for line in section if line.strip()]


def summary_counts(analyzer: str) -> dict[str, int]:
    counts = {}
    for key, label in (("total", "Total jobs"), ("succeeded", "# jobs succeeded"),
                       ("failed", "# jobs failed"), ("held", "# jobs held")):  # fmt: skip
        line = next(x for x in analyzer.splitlines() if x.strip().startswith(label))
        counts[key] = int(line.split(":")[1].split()[0])
    return counts


@pytest.mark.parametrize("run", RUNS)
def test_imported_run_has_pegasus_figures_over_the_api(
    api: TestClient, user: Callable[[str], dict[str, str]], tmp_path: Path, run: str
) -> None:
    alice = user(f"alice-{run}")
    submit = copy_without_stampede(run, tmp_path)
    res = upload(api, alice, tar_gz(submit, "run0001"))
    assert res.status_code == 201, res.text
    body = res.json()
    assert res.headers["Location"] == body["links"]["self"] == f"/api/v1/workflows/{body['id']}"
    assert body["owner"] == f"alice-{run}" and body["engine"] == "pegasus-import"
    assert body["labels"]["imported"] == "true"  # text, as everywhere (docs/api.md)

    names = ("summary.txt", "analyzer.txt", "breakdown.txt", "jobs.txt")
    expected = {n: (EXPECTED / run / n).read_text() for n in names}
    analyzer = summary_counts(expected["analyzer.txt"])
    status = "failed" if "Workflow Status    : failure" in expected["analyzer.txt"] else "succeeded"

    got = api.get(body["links"]["self"], headers=alice).json()
    assert got["state"] == status
    assert {k: got["counts"][k] for k in ("succeeded", "failed")} == {
        k: analyzer[k] for k in ("succeeded", "failed")
    }

    text = api.get(body["links"]["statistics"], params={"format": "text"}, headers=alice)
    assert text.text == expected["summary.txt"]
    stats = api.get(body["links"]["statistics"], headers=alice).json()
    rows = [transformation_cells(TransformationRow(**r)) for r in stats["transformations"]]
    assert rows == breakdown_all(expected["breakdown.txt"])

    report = api.get(body["links"]["analysis"], params={"format": "text"}, headers=alice).text
    assert report_lines(report) == report_lines(expected["analyzer.txt"])
    analysis = api.get(body["links"]["analysis"], headers=alice).json()
    assert {k: analysis[k] for k in analyzer} == analyzer

    jobs = api.get(body["links"]["jobs"], params={"limit": 1000}, headers=alice).json()["data"]
    assert len(jobs) == analyzer["total"]
    assert sum(j["state"] == "failed" for j in jobs) == analyzer["failed"]
    listed = {line.split()[0] for line in expected["jobs.txt"].splitlines()
              if line and not line.startswith(("#", "Job "))}  # fmt: skip
    assert listed <= {j["name"] for j in jobs}


def test_reimport_returns_the_same_run_and_others_cannot_see_it(
    api: TestClient, user: Callable[[str], dict[str, str]], session: Session, tmp_path: Path
) -> None:
    alice, bob = user("alice-again"), user("bob-other")
    archive = tar_gz(copy_without_stampede("process_wf_success", tmp_path), "run0007")
    first = upload(api, alice, archive)
    assert first.status_code == 201, first.text
    imports = api.app.state.settings.data_dir / "imports"  # type: ignore[attr-defined]
    trees = set(imports.iterdir())

    again = upload(api, alice, archive)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert set(imports.iterdir()) == trees  # the second copy was not kept
    assert (
        session.scalar(select(func.count()).select_from(Run).where(Run.id == first.json()["id"]))
        == 1
    )

    run_url = first.json()["links"]["self"]
    for path in ("", "/statistics", "/analysis", "/jobs", "/graph"):
        assert api.get(run_url + path, headers=bob).status_code == 404
    assert api.get("/api/v1/workflows", headers=bob).json()["data"] == []

    # Bob uploading the same workflow learns only that it exists and is not his.
    taken = upload(api, bob, archive)
    assert taken.status_code == 409, taken.text
    assert "alice" not in taken.text and taken.json()["error"]["code"] == "conflict"
    assert set(imports.iterdir()) == trees


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


BRAINDUMP = b"wf_uuid: 00000000-0000-0000-0000-000000000001\n"


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([(_member("../escaped.txt"), b"x")], "paths must stay inside the upload"),
        ([(_member("/tmp/aerie-absolute.txt"), b"x")], "paths must stay inside the upload"),
        (
            [
                (_member("run/out", tarfile.SYMTYPE, "/etc"), b""),
                (_member("run/braindump.yml"), BRAINDUMP),
            ],
            "refused",
        ),  # fmt: skip
        (
            [
                (_member("run/up", tarfile.SYMTYPE, "../../.."), b""),
                (_member("run/up/escaped.txt"), b"x"),
            ],
            "refused",
        ),  # fmt: skip
        ([(_member("run/hard", tarfile.LNKTYPE, "/etc/passwd"), b"")], "refused"),
        ([(_member("run/README"), b"hello")], "no braindump.yml"),
    ],
    ids=["dotdot", "absolute", "symlink-out", "write-through-symlink", "hardlink-out", "no-dir"],
)
def test_malicious_or_useless_archives_get_400_and_write_nothing(
    api: TestClient,
    user: Callable[[str], dict[str, str]],
    tmp_path: Path,
    members: list[tuple[tarfile.TarInfo, bytes]],
    reason: str,
) -> None:
    alice = user("alice-evil")
    data_dir = api.app.state.settings.data_dir  # type: ignore[attr-defined]
    before = set(data_dir.parent.rglob("*"))
    res = upload(api, alice, evil_tar(*members))
    assert res.status_code == 400, res.text
    assert reason in res.json()["error"]["message"]
    assert str(data_dir) not in res.text  # names paths in the archive, not on the server
    assert set(data_dir.parent.rglob("*")) - before <= {data_dir / "imports"}
    assert not Path("/tmp/aerie-absolute.txt").exists()
    assert api.get("/api/v1/workflows", headers=alice).json()["data"] == []


def test_bad_requests(api: TestClient, user: Callable[[str], dict[str, str]]) -> None:
    alice = user("alice-bad")
    garbage = upload(api, alice, b"not a tarball")
    assert garbage.status_code == 400 and "not a readable tar archive" in garbage.text
    as_text = api.post(URL, headers=alice, files={"archive": (None, "x")})
    assert as_text.status_code == 422 and "must be a file" in as_text.text
    extra = api.post(URL, headers=alice, files={"archive": ("a.tgz", b"x"), "owner": (None, "b")})
    assert extra.status_code == 422 and "unknown field(s): owner" in extra.text
    assert api.post(URL, headers=alice, json={"archive": "x"}).status_code == 422
    assert api.post(URL, files={"archive": ("a.tgz", b"x")}).status_code == 401


def test_read_only_token_gets_403(
    api: TestClient, session: Session, headers: Headers, tmp_path: Path
) -> None:
    viewer = user_service.create_user(session, name="viewer-import")
    session.flush()
    auth = headers(viewer, ["workflows:read"])
    archive = tar_gz(copy_without_stampede("process_wf_success", tmp_path), "run0001")
    assert upload(api, auth, archive).status_code == 403


def test_oversized_archives_get_413(api: TestClient, user: Callable[[str], dict[str, str]]) -> None:
    alice = user("alice-big")
    # a member header claiming 5 GiB: refused before a byte of it is written
    info = tarfile.TarInfo("run/huge.bin")
    info.size = 5 * 1024**3
    bomb = io.BytesIO()
    with tarfile.open(fileobj=bomb, mode="w:gz") as archive:
        archive.fileobj.write(info.tobuf())  # type: ignore[union-attr]
    res = upload(api, alice, bomb.getvalue())
    assert res.status_code == 413, res.text
    assert res.json()["error"]["code"] == "too_large"
    declared = api.post(
        URL,
        headers={
            **alice,
            "Content-Length": str(3 * 1024**3),
            "Content-Type": "multipart/form-data; boundary=x",
        },  # fmt: skip
        content=b"--x--\r\n",
    )
    assert declared.status_code == 413


def test_deleted_import_can_be_imported_again(
    api: TestClient, user: Callable[[str], dict[str, str]], tmp_path: Path
) -> None:
    alice = user("alice-delete")
    archive = tar_gz(copy_without_stampede("process_wf_failure", tmp_path), "run0002")
    first = upload(api, alice, archive)
    assert first.status_code == 201, first.text
    assert api.delete(first.json()["links"]["self"], headers=alice).status_code == 204
    assert api.get(first.json()["links"]["self"], headers=alice).status_code == 404
    again = upload(api, alice, archive)
    assert again.status_code == 201, again.text
    assert again.json()["id"] != first.json()["id"]


def test_deleting_an_uploaded_run_removes_its_unpacked_copy(
    api: TestClient, user: Callable[[str], dict[str, str]], tmp_path: Path
) -> None:
    alice = user("alice-cleanup")
    imports = api.app.state.settings.data_dir / "imports"  # type: ignore[attr-defined]
    imports.mkdir(parents=True, exist_ok=True)
    before = set(imports.iterdir())
    res = upload(api, alice, tar_gz(copy_without_stampede("process_wf_success", tmp_path), "r1"))
    assert res.status_code == 201, res.text
    (copy,) = set(imports.iterdir()) - before
    assert (copy / "r1" / "braindump.yml").is_file()

    assert api.delete(res.json()["links"]["self"], headers=alice).status_code == 204
    assert not copy.exists()
    assert set(imports.iterdir()) == before  # other uploads are left alone


def test_deleting_a_run_never_removes_files_outside_the_imports_folder(
    api: TestClient, user: Callable[[str], dict[str, str]], session: Session, tmp_path: Path
) -> None:
    """`aerie import DIR` runs point at the user's own directory; a submit_dir that reaches
    the imports folder through a symbolic link or `..` is not Aerie's copy either."""
    from worker.pegasus_import.importer import import_submit_dir

    alice = user("alice-keep")
    imports = api.app.state.settings.data_dir / "imports"  # type: ignore[attr-defined]
    imports.mkdir(parents=True, exist_ok=True)
    own = copy_without_stampede("process_wf_failure", tmp_path)
    outside = tmp_path / "outside"
    (outside / "run").mkdir(parents=True)
    (outside / "run" / "keep.txt").write_text("mine")
    link = imports / f"link-{tmp_path.name}"
    link.symlink_to(outside)
    neighbour = imports.parent / f"keep-{tmp_path.name}"  # <data_dir>/keep-...: not an import
    neighbour.mkdir()
    (neighbour / "keep.txt").write_text("aerie's")

    result = import_submit_dir(session, own, "alice-keep")
    owner = session.scalars(select(User).where(User.name == "alice-keep")).one()
    run_ids = [result.run_id]
    for pointer in (link / "run", imports / ".." / neighbour.name):
        run = Run(owner_id=owner.id, name="x", engine="pegasus-import",
                  submit_dir=str(pointer), state="failed")  # fmt: skip
        session.add(run)
        session.flush()
        run_ids.append(run.id)

    for run_id in run_ids:
        assert api.delete(f"/api/v1/workflows/{run_id}", headers=alice).status_code == 204
    assert (own / "braindump.yml").is_file()
    assert (outside / "run" / "keep.txt").read_text() == "mine"
    assert link.is_symlink() and (neighbour / "keep.txt").is_file()
    link.unlink()
