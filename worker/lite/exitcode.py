"""``aerie-lite exitcode``: the DAG POST script that judges a job the way pegasus-exitcode does.

Usage (pegasus-exitcode's options; SPEC.md §3)::

    aerie-lite exitcode [-r RETURN] [-R RETRY] [-s MSG]... [-f MSG]... [-l LOG] [-M CACHEMETA]
                        [-n] [-N] [-I] [-U] <dir>/<job>.out

Order of checks (the first failing one gives the verdict, exit 1; otherwise exit 0):

1. ``<job>.out`` exists and ends in ``.out``; unless ``-n`` it is rotated to ``.out.NNN`` and
   ``.err`` to ``.err.NNN`` (the first free NNN), and the rotated files are read.
2. ``-r`` non-zero: DAGMan (or the local engine) says the job failed.
3. Unless ``-I``: an empty stdout fails.
4. Any ``-f`` message in stdout/stderr fails; every ``-s`` message must be present (``+`` is a
   space, ``\\+`` a plus).
5. Our records (``aerie.invocation`` JSON lines): every task must have ``failed_step`` null, exit
   code 0 and no signal, and every output it lists must exist (``size`` not null); a
   ``aerie.cluster-summary`` is checked like Pegasus's summary (below) and must have no
   ``failed_step``.
6. Otherwise Pegasus's rules on the text: a ``[cluster-summary …]`` (or ``[seqexec-summary``)
   record fails if ``stat != ok`` or ``failed > 0`` or ``succeeded == 0`` (unless ``submitted``
   or ``tasks`` is 0); a ``[cluster-task`` without a summary fails; else, unless ``-I``, any
   ``integrity_error:``, any kickstart YAML ``raw: N`` or XML ``<status raw="N">`` with N != 0
   fails, and no record at all fails.
7. On success, unless ``-N``: ``<job>.meta`` (Pegasus ``.meta`` list of the outputs' sha256) is
   written beside the ``.out``, and with ``-M`` the same entries are appended to the cache-meta
   file in File-RC form (``lfn @@PFN@@ user="…" size="…" … checksum.value="…"``).
8. With ``-l``, one JSON line is appended to the log: ``{name, timestamp, exitcode, app_exitcode,
   retry, job_retry, std_out, std_err}``; the failure reason is in ``std_err``.

``judge_text(stdout, stderr, …)`` is the pure verdict (no files), for engines and tests.
"""

from __future__ import annotations

import getopt
import json
import os
import re
import sys
from datetime import datetime
from typing import IO, Any

from . import invocation as inv

USAGE = (
    "usage: aerie-lite exitcode [-r RETURN] [-R RETRY] [-s MSG]... [-f MSG]... [-l LOG] "
    "[-M CACHEMETA] [-n] [-N] [-I] [-U] <job>.out\n"
)
_SUMMARY_PAIR = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^,\s\]]*)')
_XML_RAW = re.compile(r'raw="(-?[0-9]+)"')
_YAML_RAW = re.compile(r"raw: ([0-9]+)")


class JobFailed(Exception):
    """The verdict is failure; the message is the reason."""


def unquote_message(message: str) -> str:
    """pegasus-exitcode's quoting: ``+`` is a space, ``\\+`` a plus, other escapes kept."""
    out: list[str] = []
    i = 0
    while i < len(message):
        c = message[i]
        if c == "+":
            out.append(" ")
        elif c == "\\" and i + 1 < len(message):
            i += 1
            out.append("+" if message[i] == "+" else "\\" + message[i])
        else:
            out.append(c)
        i += 1
    return "".join(out)


def parse_summary_record(text: str) -> dict[str, str]:
    """``[cluster-summary stat="ok", tasks=3, …]`` → ``{"stat": "ok", "tasks": "3", …}``."""
    inner = text.strip().lstrip("[").rstrip("]")
    parts = inner.split(None, 1)
    body = parts[1] if len(parts) > 1 else ""
    out: dict[str, str] = {}
    for m in _SUMMARY_PAIR.finditer(body):
        v = m.group(2)
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = v[1:-1]
        out[m.group(1)] = v
    return out


def _int(record: dict[str, Any], key: str) -> int | None:
    v = record.get(key)
    if v is None or v == "":
        return None
    try:
        return int(v)
    except (TypeError, ValueError) as exc:
        raise JobFailed(f"cluster-summary {key}={v!r} is not a number") from exc


def check_cluster_summary(record: dict[str, Any]) -> None:
    stat = record.get("stat")
    if stat is not None and stat != "ok":
        raise JobFailed(f"cluster-summary stat={stat}")
    failed = _int(record, "failed")
    if failed is not None and failed > 0:
        raise JobFailed(f"cluster-summary failed={failed}")
    if _int(record, "submitted") == 0 or _int(record, "tasks") == 0:
        return
    succeeded = _int(record, "succeeded")
    if succeeded is not None and succeeded == 0:
        raise JobFailed(f"cluster-summary succeeded={succeeded}")


def find_cluster_summary(txt: str) -> dict[str, str] | None:
    b = txt.find("[cluster-summary")
    if b < 0:
        b = txt.find("[seqexec-summary")
    if b >= 0:
        e = txt.find("]", b)
        if e < 0:
            raise JobFailed("invalid cluster-summary record")
        return parse_summary_record(txt[b : e + 1])
    if "[cluster-task" in txt:
        raise JobFailed("cluster-summary is missing")
    return None


def check_kickstart_records(txt: str) -> int | None:
    """Pegasus's scan of kickstart YAML/XML; returns the last raw status seen."""
    if "integrity_error: " in txt:
        raise JobFailed("detected integrity creation errors in the job")
    seen = 0
    last: int | None = None
    for m in _YAML_RAW.finditer(txt):
        last = int(m.group(1))
        if last != 0:
            raise JobFailed(f"task exited with raw status {last}")
        seen += 1
    e = 0
    while True:
        b = txt.find("<status", e)
        if b < 0:
            break
        e = txt.find("</status>", b)
        if e < 0:
            raise JobFailed("mismatched <status>")
        e += len("</status>")
        xm = _XML_RAW.search(txt[b:e])
        if not xm:
            raise JobFailed("<status> was missing valid 'raw' attribute")
        last = int(xm.group(1))
        if last != 0:
            raise JobFailed(f"task exited with raw status {last}")
        seen += 1
    if seen == 0:
        raise JobFailed("No successful kickstart records")
    return last


def check_aerie_records(records: list[dict[str, Any]]) -> int | None:
    """Our JSON records; returns the app exit code (the last task's) for the log."""
    app: int | None = None
    tasks = [r for r in records if r.get("type") == inv.INVOCATION]
    summaries = [r for r in records if r.get("type") == inv.CLUSTER_SUMMARY]
    for r in tasks:
        app = r.get("exitcode") if r.get("exitcode") is not None else app
        if not inv.succeeded(r):
            who = r.get("job_id") or "?"
            if r.get("error"):
                raise JobFailed(f"task {who}: {r['error']}")
            if r.get("signal"):
                raise JobFailed(f"task {who} was killed by signal {r['signal']}")
            raise JobFailed(f"task {who} exited with code {r.get('exitcode')}")
        for f in r.get("outputs") or []:
            if isinstance(f, dict) and f.get("size") is None:
                raise JobFailed(f"task {who_of(r)}: declared output {f.get('lfn')} is missing")
    for s in summaries:
        if s.get("failed_step"):
            raise JobFailed(f"cluster {s.get('job_id')}: {s.get('error') or s['failed_step']}")
        check_cluster_summary(s)
    if summaries and len(tasks) < (_int(summaries[-1], "submitted") or 0):
        raise JobFailed(
            f"cluster-summary says {summaries[-1]['submitted']} tasks ran but only "
            f"{len(tasks)} task records are present"
        )
    if not tasks and not summaries:
        raise JobFailed("No successful invocation records")
    return app


def who_of(r: dict[str, Any]) -> str:
    return str(r.get("job_id") or "?")


def _has_aerie(stdout: str) -> bool:
    return '"type": "aerie.' in stdout or '"type":"aerie.' in stdout


def _first_error(stdout: str) -> str | None:
    """The wrapper's own account of a failure, to say more than DAGMan's exit code does."""
    for r in inv.parse_lines(stdout):
        if r.get("failed_step") and r.get("error"):
            return str(r["error"])
    return None


def judge_text(
    stdout: str,
    stderr: str = "",
    *,
    dagman_status: int | None = None,
    success_messages: list[str] | tuple[str, ...] = (),
    failure_messages: list[str] | tuple[str, ...] = (),
    check_invocations: bool = True,
) -> int | None:
    """The verdict on one attempt's stdout/stderr: returns the app exit code or raises JobFailed."""
    app: int | None = dagman_status
    if dagman_status is not None and dagman_status != 0:
        reason = f"dagman reported non-zero exitcode: {dagman_status}"
        why = _first_error(stdout) if _has_aerie(stdout) else None
        raise JobFailed(f"{reason} ({why})" if why else reason)
    if check_invocations and not stdout:
        raise JobFailed("Empty stdout")
    fails = [unquote_message(m) for m in failure_messages]
    if any(m in txt for txt in (stdout, stderr) for m in fails):
        raise JobFailed("Failure message found in output")
    succ = [unquote_message(m) for m in success_messages]
    if not all(m in stdout or m in stderr for m in succ):
        raise JobFailed("Success message missing from output")
    records = inv.parse_lines(stdout) if _has_aerie(stdout) else []
    if records:
        return check_aerie_records(records)
    cs = find_cluster_summary(stdout)
    if cs is not None:
        check_cluster_summary(cs)
        return app
    if check_invocations:
        raw = check_kickstart_records(stdout)
        return raw if raw is not None else app
    return app


# ---------------------------------------------------------------------------------------------
# files


def errfile_for(outfile: str) -> str:
    i = outfile.rfind(".out")
    return outfile[:i] + ".err" + outfile[i + 4 :]


def rotate(outfile: str) -> tuple[str, str, int | None]:
    """``x.out`` → ``x.out.NNN`` and ``x.err`` → ``x.err.NNN``; an already rotated name stays."""
    if re.search(r"\.out\.[0-9]{3}$", outfile):
        return outfile, errfile_for(outfile), None
    for n in range(1000):
        if not os.path.isfile(f"{outfile}.{n:03d}"):
            break
    else:
        raise JobFailed(f"{outfile} has been renamed too many times")
    base = outfile[:-4]
    new_out = f"{base}.out.{n:03d}"
    os.rename(outfile, new_out)
    err = f"{base}.err"
    new_err = f"{base}.err.{n:03d}"
    if os.path.isfile(err):
        os.rename(err, new_err)
    return new_out, new_err, n


def _read(path: str | None) -> str:
    if not path or not os.path.isfile(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def output_metadata(stdout: str) -> list[dict[str, Any]]:
    """``.meta`` entries for the outputs recorded in our JSON records or in kickstart YAML."""
    from . import integrity

    entries: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(lfn: Any, size: Any, sha: Any, timing: Any, user: Any, ctime: Any) -> None:
        if not isinstance(lfn, str) or not isinstance(sha, str) or not sha or lfn in seen:
            return
        seen.add(lfn)
        t = None if timing is None else (timing if isinstance(timing, str) else f"{timing}")
        entries.append(integrity.meta_entry(lfn, size, sha, t, user, ctime))

    if _has_aerie(stdout):
        for r in inv.parse_lines(stdout):
            for f in r.get("outputs") or []:
                if isinstance(f, dict):
                    add(
                        f.get("lfn"),
                        f.get("size"),
                        f.get("sha256"),
                        f.get("checksum_timing"),
                        r.get("user"),
                        f.get("ctime"),
                    )
    elif "invocation: True" in stdout:
        from . import kickstart

        for r in kickstart.invocations(stdout):
            files = r.get("files") or {}
            for key, f in files.items():
                if isinstance(f, dict) and f.get("output") is True:
                    add(
                        f.get("lfn") or key,
                        f.get("size"),
                        f.get("sha256"),
                        f.get("checksum_timing"),
                        f.get("user"),
                        f.get("ctime"),
                    )
    return entries


def _rce_line(entry: dict[str, Any]) -> str:
    attrs = " ".join(f'{k}="{v}"' for k, v in entry["_attributes"].items())
    return f"{entry['_id']} @@PFN@@ {attrs}"


def main(argv: list[str], out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """``aerie-lite exitcode …``: 0 when the job succeeded, 1 when it failed, 2 on bad usage."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        opts, args = getopt.gnu_getopt(
            argv,
            "r:R:s:f:l:M:nNIUh",
            [
                "return=",
                "retry=",
                "success-message=",
                "failure-message=",
                "log=",
                "metadata-log=",
                "no-rename",
                "no-metadata",
                "no-invocations",
                "update-submit-file",
                "help",
            ],
        )
    except getopt.GetoptError as exc:
        err.write(f"aerie-lite exitcode: {exc}\n{USAGE}")
        return 2
    status: int | None = None
    job_retry = 0
    succ: list[str] = []
    fail: list[str] = []
    log_file = cache_meta = None
    rename = gen_meta = check_inv = True
    for k, v in opts:
        try:
            if k in ("-r", "--return"):
                status = int(v)
            elif k in ("-R", "--retry"):
                job_retry = int(v)
        except ValueError:
            err.write(f"aerie-lite exitcode: {k} expects an integer, got {v!r}\n")
            return 2
        if k in ("-s", "--success-message"):
            succ.append(v)
        elif k in ("-f", "--failure-message"):
            fail.append(v)
        elif k in ("-l", "--log"):
            log_file = v
        elif k in ("-M", "--metadata-log"):
            cache_meta = v
        elif k in ("-n", "--no-rename"):
            rename = False
        elif k in ("-N", "--no-metadata"):
            gen_meta = False
        elif k in ("-I", "--no-invocations"):
            check_inv = False
        elif k in ("-h", "--help"):
            out.write(USAGE)
            return 0
    if len(args) != 1:
        err.write(USAGE)
        return 2
    outfile = args[0]
    log: dict[str, Any] = {
        "name": outfile,
        "timestamp": datetime.now().astimezone().isoformat(),
        "exitcode": None,
        "app_exitcode": status,
        "retry": None,
        "job_retry": job_retry,
        "std_out": "",
        "std_err": "",
    }
    try:
        if not os.path.isfile(outfile):
            raise JobFailed(f"{outfile} does not exist")
        if not outfile.endswith(".out") and not re.search(r"\.out\.[0-9]{3}$", outfile):
            raise JobFailed(f"{outfile} does not look like a job .out file")
        errfile = errfile_for(outfile)
        meta_file = re.sub(r"\.out(\.[0-9]{3})?$", ".meta", outfile)
        if rename:
            outfile, errfile, log["retry"] = rotate(outfile)
        stdout, stderr = _read(outfile), _read(errfile)
        log["app_exitcode"] = judge_text(
            stdout,
            stderr,
            dagman_status=status,
            success_messages=succ,
            failure_messages=fail,
            check_invocations=check_inv,
        )
        if gen_meta:
            from . import integrity

            entries = output_metadata(stdout)
            integrity.write_meta(meta_file, entries)
            if cache_meta and entries:
                with open(cache_meta, "a", encoding="utf-8") as fh:
                    fh.write("".join(_rce_line(e) + "\n" for e in entries))
            log["std_out"] = f"wrote {meta_file} ({len(entries)} files)"
        log["exitcode"] = 0
    except (JobFailed, OSError) as exc:
        log["exitcode"] = 1
        log["std_err"] = str(exc)
        err.write(f"aerie-lite exitcode: {outfile}: {exc}\n")
    if log_file:
        try:
            with open(log_file, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(log, ensure_ascii=False) + "\n")
        except OSError as exc:
            err.write(f"aerie-lite exitcode: cannot append to {log_file}: {exc.strerror}\n")
    return int(log["exitcode"])
