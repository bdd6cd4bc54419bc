"""Small runnable workflows written with the official Pegasus.api, for gateway tests.

`build_pipeline(dir)`: two `upper` jobs read `f.in` and a `join` job concatenates their outputs
into `f.out` (staged out to the output site). The executables are shell scripts in `dir`,
installed on site `local`, so the run needs `execution_sites=local`.
`build_failing(dir, flag)`: a job that fails until `flag` exists, after one that succeeds.
`build_sleeper(dir)`: one long `sleep`.
"""

from __future__ import annotations

from pathlib import Path

INPUT_TEXT = "hello aerie\n"
EXPECTED_OUTPUT = "HELLO AERIE\nHELLO AERIE\n"


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\nset -e\n" + body + "\n")
    path.chmod(0o755)
    return path


def build_pipeline(d: Path) -> dict[str, Path]:
    from Pegasus.api import (
        File,
        Job,
        ReplicaCatalog,
        Transformation,
        TransformationCatalog,
        Workflow,
    )

    d.mkdir(parents=True, exist_ok=True)
    upper = _script(d / "upper.sh", 'tr a-z A-Z < "$1" > "$2"')
    join = _script(d / "join.sh", 'out="$1"; shift; cat "$@" > "$out"')
    source = d / "f.in"
    source.write_text(INPUT_TEXT)
    rc = ReplicaCatalog().add_replica("local", "f.in", str(source))
    tc = TransformationCatalog().add_transformations(
        Transformation("upper", site="local", pfn=str(upper), is_stageable=False),
        Transformation("join", site="local", pfn=str(join), is_stageable=False),
    )
    fin, up1, up2, out = File("f.in"), File("f.up1"), File("f.up2"), File("f.out")
    wf = Workflow("pipeline")
    wf.add_jobs(
        Job("upper", _id="ID1")
        .add_args(fin, up1)
        .add_inputs(fin)
        .add_outputs(up1, stage_out=False),
        Job("upper", _id="ID2")
        .add_args(fin, up2)
        .add_inputs(fin)
        .add_outputs(up2, stage_out=False),
        Job("join", _id="ID3").add_args(out, up1, up2).add_inputs(up1, up2).add_outputs(out),
    )
    wf.write(str(d / "workflow.yml"))
    rc.write(str(d / "replicas.yml"))
    tc.write(str(d / "transformations.yml"))
    return {
        "workflow": d / "workflow.yml",
        "replicas": d / "replicas.yml",
        "transformations": d / "transformations.yml",
    }


def build_failing(d: Path, flag: Path) -> dict[str, Path]:
    """`first` succeeds; `second` (its child) exits 3 until `flag` exists."""
    from Pegasus.api import File, Job, Transformation, TransformationCatalog, Workflow

    d.mkdir(parents=True, exist_ok=True)
    first = _script(d / "first.sh", 'echo ran >> "$(dirname "$0")/first.count"; echo x > "$1"')
    second = _script(
        d / "second.sh", f'test -e {flag} || {{ echo "about to fail" >&2; exit 3; }}; cat "$1"'
    )
    tc = TransformationCatalog().add_transformations(
        Transformation("first", site="local", pfn=str(first), is_stageable=False),
        Transformation("second", site="local", pfn=str(second), is_stageable=False),
    )
    mid = File("f.mid")
    wf = Workflow("failing").add_jobs(
        Job("first", _id="ID1").add_args(mid).add_outputs(mid, stage_out=False),
        Job("second", _id="ID2").add_args(mid).add_inputs(mid).add_dagman_profile(retry=0),
    )
    wf.write(str(d / "workflow.yml"))
    tc.write(str(d / "transformations.yml"))
    return {"workflow": d / "workflow.yml", "transformations": d / "transformations.yml"}


def build_sleeper(d: Path, seconds: int = 120) -> dict[str, Path]:
    """One job that sleeps (for cancel tests)."""
    from Pegasus.api import Job, Transformation, TransformationCatalog, Workflow

    d.mkdir(parents=True, exist_ok=True)
    nap = _script(d / "nap.sh", f"sleep {seconds}")
    tc = TransformationCatalog().add_transformations(
        Transformation("nap", site="local", pfn=str(nap), is_stageable=False)
    )
    Workflow("sleeper").add_jobs(Job("nap", _id="ID1")).write(str(d / "workflow.yml"))
    tc.write(str(d / "transformations.yml"))
    return {"workflow": d / "workflow.yml", "transformations": d / "transformations.yml"}


def multipart(files: dict[str, Path]) -> dict[str, tuple[str, bytes]]:
    """The `files=` argument for httpx: one file field per document."""
    return {field: (path.name, path.read_bytes()) for field, path in files.items()}
