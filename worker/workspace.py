"""The on-disk run layout: where runs live, and the job wrapper installed into a submit dir.

``install_wrapper(submit_dir)`` builds ``SUBMITDIR/aerie-lite``, a zipapp of the ``worker.lite``
package (standard library only), so that HTCondor can ship one file with every compute job
(``transfer_executable = true``) and a worker node needs nothing but ``python3`` (>= 3.11).  The
package goes into the archive as ``aerie_lite/`` (its imports are relative), next to a two-line
``__main__.py``; compiled ``.pyc`` files for this interpreter ride along (unchecked-hash pycs,
valid whatever the zip's timestamps), so a wrapper start does not recompile the sources; another
Python version just falls back to the sources.
"""

from __future__ import annotations

import functools
import io
import os
import re
import zipfile
from pathlib import Path
from types import CodeType

WRAPPER_NAME = "aerie-lite"
SHEBANG = b"#!/usr/bin/env python3\n"
ARCHIVE_PACKAGE = "aerie_lite"
_LITE_DIR = Path(__file__).resolve().parent / "lite"
_MAIN = f"import sys\nfrom {ARCHIVE_PACKAGE}.__main__ import main\nsys.exit(main())\n"
_RUN_DIR = re.compile(r"^run(\d{4,})$")


def wrapper_bytes() -> bytes:
    """The zipapp's bytes (shebang + zip); deterministic for a given source tree.

    Built once per process and source state (~0.1 s: compiling and deflating), since every
    planned workflow and sub-workflow gets a copy.
    """
    key = tuple(
        (p.name, st.st_mtime_ns, st.st_size)
        for p in sorted(_LITE_DIR.glob("*.py"))
        for st in (p.stat(),)
    )
    return _build(key)


@functools.lru_cache(maxsize=2)
def _build(_key: tuple[tuple[str, int, int], ...]) -> bytes:
    import importlib.util

    buf = io.BytesIO()
    buf.write(SHEBANG)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_info("__main__.py"), _MAIN)
        for src in sorted(_LITE_DIR.glob("*.py")):
            text = src.read_bytes()
            zf.writestr(_info(f"{ARCHIVE_PACKAGE}/{src.name}"), text)
            code = compile(text, f"{ARCHIVE_PACKAGE}/{src.name}", "exec", dont_inherit=True)
            zf.writestr(
                _info(f"{ARCHIVE_PACKAGE}/{src.stem}.pyc"),
                _pyc(code, importlib.util.source_hash(text)),
            )
    return buf.getvalue()


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _pyc(code: CodeType, source_hash: bytes) -> bytes:
    import importlib.util
    import marshal

    flags = 0b01  # hash-based, check_source = 0 ("unchecked")
    return (
        importlib.util.MAGIC_NUMBER
        + flags.to_bytes(4, "little")
        + source_hash
        + marshal.dumps(code)
    )


def install_wrapper(submit_dir: str | os.PathLike[str]) -> Path:
    """Write ``<submit_dir>/aerie-lite`` (mode 0755) atomically and return its path."""
    target = Path(submit_dir) / WRAPPER_NAME
    data = wrapper_bytes()
    if target.is_file() and target.read_bytes() == data:
        return target
    tmp = target.with_name(f".{WRAPPER_NAME}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    return target


def next_run_dir(base: str | os.PathLike[str]) -> Path:
    """Create and return ``base/runNNNN`` with the next free number (Pegasus's run dirs).

    ``mkdir`` without ``exist_ok`` makes the choice race-free between concurrent planners.
    """
    root = Path(base)
    root.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(1)) for p in root.iterdir() if (m := _RUN_DIR.match(p.name))]
    n = max(taken, default=0) + 1
    while True:
        candidate = root / f"run{n:04d}"
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1
