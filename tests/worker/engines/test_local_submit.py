"""Submit-description details the engine must read like condor_submit does."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.engines.local.submit import (
    SubmitFileError,
    load_job,
    parse_arguments,
    parse_environment,
    parse_memory,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"a b  c"', ["a", "b", "c"]),
        ("\"-c 'echo x' y\"", ["-c", "echo x", "y"]),
        ('"\'it\'\'s\' ""quoted"""', ["it's", '"quoted"']),
        ("\"'' x\"", ["", "x"]),
        ('old style \\"q\\"', ["old", "style", '"q"']),
        ("", []),
    ],
)
def test_arguments_new_and_old_syntax(text: str, expected: list[str]) -> None:
    assert parse_arguments(text) == expected


def test_environment_new_and_old_syntax_and_errors() -> None:
    assert parse_environment("\"A=1 B='x y' C=\"") == {"A": "1", "B": "x y", "C": ""}
    assert parse_environment("A=1;B=two") == {"A": "1", "B": "two"}
    with pytest.raises(SubmitFileError, match="not NAME=value"):
        parse_environment('"JUSTNAME"', "job.sub")
    with pytest.raises(SubmitFileError, match="unbalanced single quote"):
        parse_arguments('"\'open"', "job.sub")


def test_memory_units() -> None:
    assert [parse_memory(t) for t in ("512", "2GB", "1.5 G", "1024K", "1T")] == [
        512,
        2048,
        1536,
        1,
        1048576,
    ]
    with pytest.raises(SubmitFileError, match="expressions are not supported"):
        parse_memory("ifThenElse(x, 1, 2)")


def test_load_job_resolves_paths_macros_and_vars(tmp_path: Path) -> None:
    sub = tmp_path / "j.sub"
    sub.write_text(
        "universe = vanilla\nexecutable = bin/tool\ninitialdir = work\n"
        'arguments = "$(JOB) $(RETRY) $(who)"\noutput = $(JOB).out\n'
        "transfer_input_files = a.txt, sub/b.txt\nrequest_memory = 2 GB\nrequest_cpus = 2\n"
        'environment = "ID=$(Cluster).$(Process)"\n+pegasus_site = "condorpool"\n'
        "who = submit\nqueue\n"
    )
    spec = load_job(
        sub,
        tmp_path,
        {"JOB": "n1", "RETRY": "1", "Cluster": "42", "Process": "0"},
        [("who", "dag", "append")],
    )
    assert spec.executable == tmp_path / "bin" / "tool", "executable: relative to submit dir"
    assert spec.output == tmp_path / "work" / "n1.out", "output: relative to initialdir"
    assert spec.arguments == ["n1", "1", "dag"]
    assert spec.environment == {"ID": "42.0"}
    assert spec.transfer_input_files == ["a.txt", "sub/b.txt"]
    assert (spec.request_cpus, spec.request_memory_mb, spec.job_tag) == (2, 2048, "condorpool")
    assert spec.transfer and spec.uses_slot
    bad = tmp_path / "bad.sub"
    bad.write_text("universe = grid\nexecutable = /bin/true\nqueue\n")
    with pytest.raises(SubmitFileError, match="universe 'grid' is not supported locally"):
        load_job(bad, tmp_path, {}, [])
