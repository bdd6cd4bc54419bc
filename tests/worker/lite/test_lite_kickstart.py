"""The stdlib kickstart reader against PyYAML, on every kickstart record in the shared fixtures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.lite import kickstart

from .conftest import shared_dir

FIXTURES = shared_dir() / "pegasus" / "fixtures"
RECORD_FILES = sorted(
    p
    for p in FIXTURES.rglob("*.out*")
    if p.is_file() and p.read_text(errors="replace").startswith("- invocation:")
)


def _norm(x: Any) -> Any:
    """PyYAML turns timestamps into datetimes and ints into floats where we keep strings."""
    if isinstance(x, dict):
        return {str(k): _norm(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_norm(v) for v in x]
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, (dt.datetime, dt.date)):
        return x.isoformat()
    try:
        return dt.datetime.fromisoformat(x).isoformat()
    except ValueError:
        return str(x)


def test_there_are_records_to_check() -> None:
    assert len(RECORD_FILES) >= 20


@pytest.mark.parametrize("path", RECORD_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_parse_matches_pyyaml(path: Path) -> None:
    text = path.read_text(errors="replace")
    expected: list[dict] = []
    for part in text.split(kickstart.MULTIPART):
        expected.extend(x for x in (yaml.safe_load(part) or []) if isinstance(x, dict))
    assert _norm(kickstart.parse(text)) == _norm(expected)


def test_records_after_junk_and_between_cluster_lines() -> None:
    text = (
        "PBS prologue junk\n"
        '[cluster-task id=1, start="x", duration=1.0, status=0]\n'
        "- invocation: True\n"
        '  transformation: "a"\n'
        "  mainjob:\n"
        "    status:\n"
        "      raw: 0\n"
        "  files:\n"
        "    stdout:\n"
        "      data: |\n"
        "        line one\n"
        "          indented: not a key\n"
        '[cluster-task id=2, start="x", duration=1.0, status=256]\n'
        "- invocation: True\n"
        '  transformation: "b"\n'
        "  mainjob:\n"
        "    status:\n"
        "      raw: 256\n"
        "      regular_exitcode: 1\n"
    )
    recs = kickstart.invocations(text)
    assert [r["transformation"] for r in recs] == ["a", "b"]
    assert recs[0]["files"]["stdout"]["data"] == "line one\n  indented: not a key\n"
    inv = kickstart.to_invocation(recs[1])
    assert (inv["exitcode"], inv["signal"], inv["raw_status"], inv["failed_step"]) == (
        1, None, 256, "exec",
    )  # fmt: skip


def test_to_invocation_maps_the_fields_monitord_uses() -> None:
    path = FIXTURES / "submit-dirs/process_wf_success/00/00/ls_ID0000001.out.000"
    (rec,) = kickstart.invocations(path.read_text())
    inv = kickstart.to_invocation(rec)
    assert inv["job_id"] == "ID0000001" and inv["transformation"] == "ls"
    assert inv["site"] == "condorpool" and inv["hostname"] == "workflow.isi.edu"
    assert inv["argv"] == ["/usr/bin/ls", "-l", "/"]
    assert (inv["exitcode"], inv["duration"], inv["maxrss_kb"]) == (0, 0.005, 2980)
    assert inv["utime"] == 0.001 and inv["stime"] == 0.004
    assert inv["outputs"][0]["lfn"] == "listing.txt" and inv["outputs"][0]["size"] == 1779


_KEYS = st.from_regex(r"[a-z_][a-z0-9_.-]{0,12}", fullmatch=True).filter(
    lambda k: k not in ("y", "n", "yes", "no", "on", "off", "true", "false", "null")
)
_SCALARS = st.one_of(
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)
_TREES = st.recursive(
    _SCALARS,
    lambda c: st.one_of(
        st.lists(c, min_size=1, max_size=4), st.dictionaries(_KEYS, c, min_size=1, max_size=4)
    ),
    max_leaves=15,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(_KEYS, _TREES, min_size=1, max_size=5), min_size=1, max_size=3))
def test_parse_agrees_with_pyyaml_on_generated_records(records: list[dict]) -> None:
    """Block-style YAML as PyYAML writes it (kickstart's style) reads back the same."""
    records = [{"invocation": True, **r} for r in records]
    doc = yaml.safe_dump(records, default_flow_style=False, width=10**9, sort_keys=False)
    assert kickstart.parse(doc) == yaml.safe_load(doc)
