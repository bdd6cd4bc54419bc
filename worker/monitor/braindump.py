"""`braindump.yml` of an Aerie submit dir, which becomes the `workflow` row.

The format has one reader, `worker.pegasus_import.braindump` (Aerie's planner writes Pegasus's
fields plus an `aerie:` block); this module keeps the monitor's entry point, which takes a
submit directory and accepts only the YAML form Aerie writes, and its error name.
"""

from __future__ import annotations

import copy
import stat
import threading
from pathlib import Path

from worker.pegasus_import.braindump import Braindump
from worker.pegasus_import.braindump import read_braindump as _read_file
from worker.pegasus_import.errors import SubmitDirError as BraindumpError

__all__ = ["Braindump", "BraindumpError", "read_braindump"]


_cache: dict[Path, tuple[tuple[int, int, int], Braindump]] = {}
_lock = threading.Lock()


def read_braindump(submit_dir: Path) -> Braindump:
    """The submit dir's braindump; parsed once per version of the file in this process (every
    monitor pass of a run reads it, and parsing the YAML was most of an idle pass)."""
    path = submit_dir / "braindump.yml"
    try:
        st = path.stat()
    except OSError:
        st = None
    if st is None or not stat.S_ISREG(st.st_mode):
        raise BraindumpError(path, f"no braindump.yml; is {submit_dir} a planned submit dir?")
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    with _lock:
        hit = _cache.get(path)
    if hit is not None and hit[0] == key:
        return copy.copy(hit[1])
    bd = _read_file(path)
    with _lock:
        if len(_cache) >= 256:
            _cache.clear()
        _cache[path] = (key, bd)
    return copy.copy(bd)
