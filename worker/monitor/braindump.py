"""`braindump.yml` of an Aerie submit dir, which becomes the `workflow` row.

The format has one reader, `worker.pegasus_import.braindump` (Aerie's planner writes Pegasus's
fields plus an `aerie:` block); this module keeps the monitor's entry point, which takes a
submit directory and accepts only the YAML form Aerie writes, and its error name.
"""

from __future__ import annotations

from pathlib import Path

from worker.pegasus_import.braindump import Braindump
from worker.pegasus_import.braindump import read_braindump as _read_file
from worker.pegasus_import.errors import SubmitDirError as BraindumpError

__all__ = ["Braindump", "BraindumpError", "read_braindump"]


def read_braindump(submit_dir: Path) -> Braindump:
    path = submit_dir / "braindump.yml"
    if not path.is_file():
        raise BraindumpError(path, f"no braindump.yml; is {submit_dir} a planned submit dir?")
    return _read_file(path)
