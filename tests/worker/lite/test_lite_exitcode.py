"""``aerie-lite exitcode``: pegasus-exitcode's verdicts, rotation, .meta and the log line.

The fixture table is the verdict list of Pegasus's own ``test/test_exitcode.py`` (SPEC.md §3 lists
the fixtures; §3.2 the algorithm); the four fixtures Pegasus does not test (``empty``,
``zerolen`` with ``-I``, ``success_message`` with and without ``-I``) follow from §3.2 steps 5 and
9 and are marked below.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from worker.lite import exitcode

from .conftest import shared_dir

FIXTURES = shared_dir() / "pegasus" / "fixtures" / "exitcode"

# (file, extra args, expected exit status of the POST script)
TABLE = [
    ("yaml-ok.out", [], 0),
    ("ok.out", [], 0),
    ("zeromem.out", [], 0),
    ("cluster-none.out", [], 0),
    ("cluster-ok.out", [], 0),
    ("seqexec-ok.out", [], 0),
    ("cluster_summary_ok.out", [], 0),
    ("cluster_summary_notasks.out", [], 0),
    ("cluster_summary_submitted.out", [], 0),
    ("success_message_zero_exit.out", ["-s", "Job succeeded"], 0),
    ("failed.out", [], 1),
    ("walltime.out", [], 1),
    ("zerolen.out", [], 1),
    ("cluster-error.out", [], 1),
    ("nonzero.out", [], 1),
    ("signalled.out", [], 1),
    ("largecode.out", [], 1),
    ("cluster_summary_failed.out", [], 1),
    ("cluster_summary_stat.out", [], 1),
    ("cluster_summary_missing.out", [], 1),
    ("cluster_summary_nosucc.out", [], 1),
    ("failure_message_zero_exit.out", ["-f", "Job failed"], 1),
    ("success_message_failure_message.out", ["-s", "Job succeeded", "-f", "Job failed"], 1),
    ("success_message_missing.out", ["-s", "Job succeeded"], 1),
    ("success_message_nonzero_exit.out", ["-s", "Job succeeded"], 1),
    ("success_message_zero_exit.out", ["-s", "Job succeeded", "-s", "Successfully finished"], 1),
    ("insufficient.out", ["-s", "End+of+program", "-r", "0"], 1),
    # not in Pegasus's test; from SPEC.md §3.2:
    ("empty.out", [], 1),  # step 5, empty stdout
    ("zerolen.out", ["-I"], 0),  # no invocation checking, nothing else fails
    ("success_message.out", ["-s", "Job+succeeded"], 1),  # step 9, no kickstart record
    ("success_message.out", ["-s", "Job+succeeded", "-I"], 0),
    ("ok.out", ["-r", "1"], 1),  # step 3, DAGMan's non-zero $RETURN wins
]


def test_every_fixture_file_has_a_verdict() -> None:
    files = {p.name for p in FIXTURES.glob("*.out")}
    assert files, f"no fixtures under {FIXTURES}"
    assert files == {name for name, _, _ in TABLE}


@pytest.mark.parametrize(("name", "args", "expected"), TABLE, ids=lambda v: str(v))
def test_fixture_verdict(name: str, args: list[str], expected: int, lite, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / name, tmp_path / name)
    res = lite("exitcode", *args, "-l", "x.exitcode.log", name, cwd=tmp_path)
    assert res.returncode == expected, res.stderr
    assert (tmp_path / f"{name}.000").is_file() and not (tmp_path / name).exists()
    log = json.loads((tmp_path / "x.exitcode.log").read_text())
    assert log["exitcode"] == expected and log["retry"] == 0
    if expected:
        assert log["std_err"] and log["std_err"] in res.stderr
    assert (tmp_path / name.replace(".out", ".meta")).exists() == (expected == 0)


def _aerie_out(records: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _rec(**kw) -> dict:
    from worker.lite.invocation import new_record

    return new_record(**{"job_id": "ID1", "exitcode": 0, "raw_status": 0, **kw})


@pytest.mark.parametrize(
    ("records", "verdict", "reason"),
    [
        ([_rec()], 0, None),
        ([_rec(exitcode=3, raw_status=768, failed_step="exec", error="exec: x exited 3")], 1, "3"),
        ([_rec(exitcode=None, signal=9, raw_status=9, failed_step="exec")], 1, "signal"),
        ([_rec(outputs=[{"lfn": "f.b", "size": None, "sha256": None}])], 1, "f.b"),
        ([_rec(failed_step="integrity", error="integrity: checksum mismatch for f.a")], 1, "f.a"),
        (
            [_rec(), {"type": "aerie.cluster-summary", "stat": "ok", "tasks": 1, "submitted": 1,
                      "succeeded": 1, "failed": 0, "failed_step": None}],
            0,
            None,
        ),
        (
            [{"type": "aerie.cluster-summary", "stat": "fail", "tasks": 2, "submitted": 0,
              "succeeded": 0, "failed": 0, "failed_step": "stage-in",
              "error": "stage-in: input f.a: http://x/f.a: HTTP 404"}],
            1,
            "HTTP 404",
        ),
        (
            [_rec(), {"type": "aerie.cluster-summary", "stat": "ok", "tasks": 2, "submitted": 2,
                      "succeeded": 2, "failed": 0, "failed_step": None}],
            1,
            "only 1 task records",
        ),
    ],
)  # fmt: skip
def test_our_records_are_judged_like_kickstart(records, verdict, reason) -> None:
    text = _aerie_out(records)
    if verdict == 0:
        exitcode.judge_text(text)
    else:
        with pytest.raises(exitcode.JobFailed, match=reason):
            exitcode.judge_text(text)


def test_rotation_meta_and_cache_meta_from_a_real_run(run_job, lite, tmp_path: Path) -> None:
    """The POST step on the wrapper's own output, twice (a retry), as DAGMan would run it."""
    submit = tmp_path / "submit"
    job_dir = submit / "00" / "00"
    job_dir.mkdir(parents=True)
    scratch = tmp_path / "scratch"
    res = run_job(
        {
            "executable": "/bin/sh",
            "arguments": ["-c", "printf data > f.out"],
            "outputs": [{"lfn": "f.out"}],
        },
        scratch,
    )
    (job_dir / "j.out").write_text(res.stdout)
    (job_dir / "j.err").write_text(res.stderr)
    post = ["exitcode", "-r", "0", "-l", "w.exitcode.log", "-M", "w.cache.meta", "00/00/j.out"]
    assert lite(*post, cwd=submit).returncode == 0
    assert (job_dir / "j.out.000").read_text() == res.stdout
    assert (job_dir / "j.err.000").read_text() == res.stderr
    meta = json.loads((job_dir / "j.meta").read_text())
    assert meta[0]["_id"] == "f.out"
    attrs = meta[0]["_attributes"]
    assert attrs["checksum.type"] == "sha256" and attrs["size"] == "4"
    assert (
        attrs["checksum.value"]
        == "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7"
    )
    line = (submit / "w.cache.meta").read_text().strip()
    assert (
        line.startswith("f.out @@PFN@@ ") and f'checksum.value="{attrs["checksum.value"]}"' in line
    )

    # second attempt failed at HTCondor level: rotated to .001, verdict failure, logged
    (job_dir / "j.out").write_text(res.stdout)
    assert lite("exitcode", "-r", "1", "-R", "1", "-l", "w.exitcode.log", "00/00/j.out",
                cwd=submit).returncode == 1  # fmt: skip
    assert (job_dir / "j.out.001").exists() and not (job_dir / "j.err.001").exists()
    logs = [json.loads(x) for x in (submit / "w.exitcode.log").read_text().splitlines()]
    assert [(entry["exitcode"], entry["retry"], entry["job_retry"]) for entry in logs] == [
        (0, 0, 0),
        (1, 1, 1),
    ]
    assert "dagman reported non-zero exitcode: 1" in logs[1]["std_err"]


def test_nonzero_return_carries_the_wrappers_reason(run_job, lite, tmp_path: Path) -> None:
    res = run_job({**_py_exit(5)})
    (tmp_path / "j.out").write_text(res.stdout)
    post = lite("exitcode", "-r", str(res.returncode), "j.out", cwd=tmp_path)
    assert post.returncode == 1
    assert "dagman reported non-zero exitcode: 5 (exec:" in post.stderr
    assert "exited with code 5" in post.stderr


def _py_exit(code: int) -> dict:
    import sys

    return {"executable": sys.executable, "arguments": ["-c", f"raise SystemExit({code})"]}


def test_missing_out_file_is_a_failure(lite, tmp_path: Path) -> None:
    res = lite("exitcode", "nothing.out", cwd=tmp_path)
    assert res.returncode == 1 and "nothing.out does not exist" in res.stderr


def test_kickstart_yaml_outputs_become_meta(tmp_path: Path) -> None:
    src = (
        shared_dir() / "pegasus/fixtures/submit-dirs/process_wf_success/00/00/ls_ID0000001.out.000"
    )
    shutil.copy(src, tmp_path / "ls_ID0000001.out")
    assert exitcode.main(["-n", str(tmp_path / "ls_ID0000001.out")]) == 0
    meta = json.loads((tmp_path / "ls_ID0000001.meta").read_text())
    expected = json.loads(src.with_name("ls_ID0000001.meta").read_text())
    assert [m["_id"] for m in meta] == [m["_id"] for m in expected] == ["listing.txt"]
    for key in ("size", "checksum.type", "checksum.value"):
        assert meta[0]["_attributes"][key] == expected[0]["_attributes"][key]


def test_unquote_message() -> None:
    assert exitcode.unquote_message("hello+world") == "hello world"
    assert exitcode.unquote_message("e\\+f") == "e+f"
    assert exitcode.unquote_message("a\\n") == "a\\n"
