"""``aerie-lite transfer`` on Pegasus ``.in`` lists and ``aerie-lite register`` on File-RC lines."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def _write_in(path: Path, entries: list[dict]) -> Path:
    path.write_text(json.dumps(entries, indent=1))
    return path


def test_stage_in_list_copies_links_and_writes_checksums(lite, tmp_path: Path) -> None:
    src = tmp_path / "inputs"
    src.mkdir()
    (src / "f.a").write_bytes(b"alpha")
    (src / "f b").write_bytes(b"beta")
    staging = tmp_path / "scratch" / "run0001"
    job_dir = tmp_path / "submit" / "00" / "00"
    job_dir.mkdir(parents=True)
    in_file = _write_in(
        job_dir / "stage_in_local_local_0_0.in",
        [
            {"type": "mkdir", "id": 1, "target": {"site_label": "local", "url": f"file://{staging}"}},
            {
                "type": "transfer", "linkage": "input", "lfn": "f.a", "id": 2,
                "generate_checksum": True,
                "src_urls": [
                    {"site_label": "x", "url": f"file://{src}/missing", "priority": 1},
                    {"site_label": "local", "url": f"file://{src}/./f.a", "priority": 10},
                ],
                "dest_urls": [{"site_label": "local", "url": f"file://{staging}/f.a"}],
            },
            {
                "type": "transfer", "linkage": "input", "lfn": "f b", "id": 3,
                "src_urls": [{"site_label": "local", "url": f"file://{src}/f%20b"}],
                "dest_urls": [{"site_label": "local", "url": f"symlink://{staging}/f_b"}],
            },
        ],
    )  # fmt: skip
    res = lite("transfer", str(in_file), cwd=tmp_path / "submit")
    assert res.returncode == 0, res.stderr
    assert (staging / "f.a").read_bytes() == b"alpha"
    assert (staging / "f_b").is_symlink() and (staging / "f_b").read_bytes() == b"beta"
    meta = json.loads((job_dir / "stage_in_local_local_0_0.meta").read_text())
    assert meta == [
        {
            "_id": "f.a",
            "_type": "file",
            "_attributes": {
                "size": "5",
                "checksum.type": "sha256",
                "checksum.value": hashlib.sha256(b"alpha").hexdigest(),
                "checksum.timing": meta[0]["_attributes"]["checksum.timing"],
            },
        }
    ]
    rec = json.loads(res.stdout)
    assert rec["transformation"] == "pegasus::transfer" and rec["exitcode"] == 0
    assert rec["job_id"] == "stage_in_local_local_0_0"


def test_stage_out_verifies_against_parent_meta(lite, tmp_path: Path) -> None:
    (tmp_path / "out.dat").write_bytes(b"corrupted on the way")
    meta = [{"_id": "out.dat", "_type": "file",
             "_attributes": {"checksum.type": "sha256",
                             "checksum.value": hashlib.sha256(b"good").hexdigest()}}]  # fmt: skip
    (tmp_path / "compute_ID1.meta").write_text(json.dumps(meta))
    in_file = _write_in(
        tmp_path / "stage_out_0.in",
        [
            {
                "type": "transfer", "linkage": "output", "lfn": "out.dat", "id": 1,
                "verify_checksum_remote": True,
                "src_urls": [{"site_label": "local", "url": f"file://{tmp_path}/out.dat"}],
                "dest_urls": [{"site_label": "local", "url": f"file://{tmp_path}/final/out.dat"}],
            }
        ],
    )  # fmt: skip
    res = lite("transfer", in_file.name, cwd=tmp_path)
    assert res.returncode == 1
    assert "checksum mismatch" in res.stderr and "compute_ID1.meta" in res.stderr
    assert "out.dat" in json.loads(res.stdout)["error"]


def test_cleanup_removes_and_tolerates_missing(lite, tmp_path: Path) -> None:
    victim = tmp_path / "scratch" / "run0001"
    (victim / "sub").mkdir(parents=True)
    (victim / "sub" / "x").write_text("x")
    in_file = _write_in(
        tmp_path / "cleanup.in",
        [
            {"id": 1, "type": "remove",
             "target": {"site_label": "local", "url": f"file://{victim}", "recursive": "True"}},
            {"id": 2, "type": "remove",
             "target": {"site_label": "local", "url": f"file://{tmp_path}/gone",
                        "recursive": "False"}},
        ],
    )  # fmt: skip
    res = lite("transfer", in_file.name, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert not victim.exists()
    assert json.loads(res.stdout)["transformation"] == "pegasus::cleanup"


def test_bad_entry_is_named(lite, tmp_path: Path) -> None:
    in_file = _write_in(tmp_path / "bad.in", [{"type": "transfer", "id": 7, "lfn": "x"}])
    res = lite("transfer", in_file.name, cwd=tmp_path)
    assert res.returncode == 1
    assert "bad.in: entry 0 (id 7)" in res.stderr and "src_urls" in res.stderr


def test_pegasus_fixture_in_files_parse(lite, tmp_path: Path) -> None:
    """Real Pegasus .in files: the stage-out one fails only because its source is not here."""
    from .conftest import shared_dir

    src = shared_dir() / "pegasus/fixtures/submit-dirs/process_wf_success/00/00"
    (tmp_path / "so.in").write_text((src / "stage_out_local_local_0_0.in").read_text())
    res = lite("transfer", "so.in", cwd=tmp_path)
    assert res.returncode == 1
    assert "/home/mzalam/processwf/scratch" in res.stderr and "lfn listing.txt" in res.stderr


def test_register_appends_to_the_output_replica_catalog(lite, tmp_path: Path) -> None:
    submit = tmp_path / "submit"
    job_dir = submit / "00" / "00"
    job_dir.mkdir(parents=True)
    (submit / "braindump.yml").write_text("wf_uuid: x\n")
    (submit / "diamond-0.dag").write_text("")
    (job_dir / "register_0.in").write_text(
        'f.d file:///out/f.d site="local"\n'
        'f.e file:///out/f.e site="local" checksum.type="sha256"\n'
    )
    for _ in range(2):
        res = lite("register", "00/00/register_0.in", cwd=submit)
        assert res.returncode == 0, res.stderr
    lines = (submit / "diamond-0.replicas").read_text().splitlines()
    assert (
        lines
        == [
            'f.d file:///out/f.d site="local"',
            'f.e file:///out/f.e site="local" checksum.type="sha256"',
        ]
        * 2
    )
    assert json.loads(res.stdout)["transformation"] == "pegasus::rc-client"


def test_register_rejects_a_malformed_line(lite, tmp_path: Path) -> None:
    (tmp_path / "r.in").write_text('ok file:///x site="local"\nbroken-line-without-pfn\n')
    res = lite("register", "-o", "out.rc", "r.in", cwd=tmp_path)
    assert res.returncode == 1
    assert "r.in:2:" in res.stderr
    assert not (tmp_path / "out.rc").exists()


def test_remote_source_to_symlink_destination_is_copied(lite, tmp_path: Path, http_root) -> None:
    url, root = http_root
    (root / "f.a").write_bytes(b"over http")
    dest = tmp_path / "staging" / "f.a"
    in_file = _write_in(
        tmp_path / "si.in",
        [
            {"type": "transfer", "lfn": "f.a", "id": 1, "generate_checksum": True,
             "src_urls": [{"site_label": "web", "url": f"{url}/f.a"}],
             "dest_urls": [{"site_label": "local", "url": f"symlink://{dest}"}]},
        ],
    )  # fmt: skip
    res = lite("transfer", in_file.name, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert not dest.is_symlink() and dest.read_bytes() == b"over http"
    meta = json.loads((tmp_path / "si.meta").read_text())
    assert meta[0]["_attributes"]["checksum.value"] == hashlib.sha256(b"over http").hexdigest()
    assert not list(tmp_path.glob(".aerie-transfer-*"))
