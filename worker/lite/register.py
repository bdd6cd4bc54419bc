"""``aerie-lite register <job>.in [-o REPLICAS]``: the registration job (``pegasus::rc-client``).

The ``.in`` holds File-RC lines, ``lfn pfn site="local"`` (possibly with more ``key="value"``
attributes), one per output to register.  Pegasus inserts them into ``<p>.replicas.db``; we append
them, unchanged in form, to the output replica catalog file ``<p>.replicas`` (a File-RC text file)
in the submit dir: the directory above the hashed ``00/00`` job dirs, where ``braindump.yml`` is.
``-o`` names the file explicitly.  Appends are single ``write`` calls of whole lines under an
``fcntl`` lock, so concurrent registration jobs never interleave lines.
"""

from __future__ import annotations

import os
import re
import sys
from typing import IO

_LINE = re.compile(
    r'^\s*(?P<lfn>"[^"]*"|\S+)\s+(?P<pfn>"[^"]*"|\S+)(?P<attrs>(\s+[\w.:-]+="[^"]*")*)\s*$'
)


class RegisterError(Exception):
    pass


def parse_rc_lines(text: str, source: str) -> list[str]:
    """Validated File-RC lines; a malformed one raises naming ``source`` and the line number."""
    lines = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise RegisterError(f'{source}:{n}: expected `lfn pfn site="…"`, got {line.strip()!r}')
        if 'site="' not in m.group("attrs"):
            raise RegisterError(f'{source}:{n}: replica entry without site="…": {line.strip()!r}')
        lines.append(line.strip())
    return lines


def default_catalog(in_file: str) -> str:
    """``<submit dir>/<p>.replicas``: found by walking up from the .in to ``braindump.yml``."""
    d = os.path.dirname(os.path.abspath(in_file))
    for _ in range(4):
        if os.path.isfile(os.path.join(d, "braindump.yml")):
            dags = sorted(n for n in os.listdir(d) if n.endswith(".dag"))
            prefix = dags[0][:-4] if dags else "workflow"
            return os.path.join(d, f"{prefix}.replicas")
        d = os.path.dirname(d)
    return os.path.join(os.path.dirname(os.path.abspath(in_file)), "replicas.rc")


def register(in_file: str, catalog: str | None = None) -> tuple[str, int]:
    try:
        with open(in_file, encoding="utf-8") as fh:
            lines = parse_rc_lines(fh.read(), in_file)
    except OSError as exc:
        raise RegisterError(f"{in_file}: cannot read: {exc.strerror}") from exc
    target = catalog or default_catalog(in_file)
    if lines:
        import fcntl

        with open(target, "a", encoding="utf-8") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            fh.write("".join(line + "\n" for line in lines))
    return target, len(lines)


def main(argv: list[str], out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    import getopt
    import time

    from . import invocation as inv

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        opts, args = getopt.gnu_getopt(argv, "o:", ["output="])
    except getopt.GetoptError as exc:
        err.write(f"aerie-lite register: {exc}\n")
        return 2
    if len(args) != 1:
        err.write("usage: aerie-lite register [-o REPLICAS] <job>.in\n")
        return 2
    catalog = next((v for k, v in opts if k in ("-o", "--output")), None)
    t0 = time.time()
    job = os.path.basename(args[0]).rsplit(".in", 1)[0]
    rec = inv.new_record(
        job_id=job,
        job_name=job,
        transformation="pegasus::rc-client",
        start=inv.iso_utc(t0),
        **inv.host_facts(os.getcwd()),
    )
    rec["argv"] = ["aerie-lite", "register", *argv]
    try:
        target, n = register(args[0], catalog)
        rec["exitcode"] = 0
        rec["raw_status"] = 0
        rec["stdout_tail"] = f"registered {n} replicas in {target}\n"
        code = 0
    except (RegisterError, OSError) as exc:
        rec["exitcode"] = 1
        rec["raw_status"] = 256
        rec["failed_step"] = "exec"
        rec["error"] = f"exec: {exc}"
        err.write(f"aerie-lite register: {exc}\n")
        code = 1
    rec["duration"] = round(time.time() - t0, 6)
    out.write(inv.dumps(rec) + "\n")
    return code
