"""Moving files by URL, and ``aerie-lite transfer <job>.in`` (pegasus-transfer's job).

Schemes: ``file://`` (copy; ``symlink://`` as a destination makes a link), ``http(s)://`` (read
only, with ``urllib``), ``scp://user@host[:port]/path`` through the ``scp`` client and
``s3://bucket/key`` through ``aws`` or ``s3cmd`` when they are on ``PATH``; any other scheme
through ``pegasus-transfer`` when it is installed.  A missing client is a ``TransferError`` that
names the URL, so the job's record says exactly which file could not be moved and why.

The ``.in`` format is Pegasus's (SPEC.md §2.13): a JSON list of ``transfer`` entries
(``src_urls``/``dest_urls``, each ``{site_label, url, priority?}``; ``generate_checksum`` and
``verify_checksum_remote`` flags), ``mkdir`` and ``remove`` entries with a ``target``.  Checksums
that ``generate_checksum`` asks for are written to ``<job>.meta`` beside the ``.in`` (Pegasus has
pegasus-exitcode write that file; our transfer nodes have no POST script, so we write it here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any
from urllib.parse import unquote, urlsplit

HTTP_TIMEOUT = 60.0


class TransferError(Exception):
    """A URL that could not be read or written; the message names it."""


def local_path(url: str) -> str | None:
    """The filesystem path of a ``file://``/``symlink://`` URL or a bare path, else None."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("file", "symlink"):
        return None
    if parts.netloc not in ("", "localhost"):
        # file://host/path: Pegasus writes file:///path; treat a stray host as part of the path.
        return unquote("/" + parts.netloc + parts.path)
    return unquote(parts.path)


def _ensure_parent(path: str) -> None:
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)


def _run_tool(argv: list[str], url: str) -> None:
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=3600)
    except OSError as exc:
        raise TransferError(f"{url}: cannot run {argv[0]}: {exc.strerror}") from exc
    except subprocess.TimeoutExpired as exc:
        raise TransferError(f"{url}: {argv[0]} timed out") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = err[-1] if err else f"exit code {proc.returncode}"
        raise TransferError(f"{url}: {argv[0]} failed: {tail}")


def _scp_remote(url: str) -> tuple[list[str], str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise TransferError(f"{url}: scp URL without a host")
    user = f"{parts.username}@" if parts.username else ""
    opts = ["-q", "-o", "BatchMode=yes"]
    if parts.port:
        opts += ["-P", str(parts.port)]
    return opts, f"{user}{host}:{unquote(parts.path)}"


def _s3_target(url: str) -> str:
    # Pegasus writes s3://user@site/bucket/key; the CLIs want s3://bucket/key.
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return "s3:/" + parts.path
    return url


def _s3_tool(url: str) -> str:
    for tool in ("aws", "s3cmd"):
        path = shutil.which(tool)
        if path:
            return path
    raise TransferError(f"{url}: s3 transfers need the 'aws' or 's3cmd' client on PATH")


def _scp_tool(url: str) -> str:
    path = shutil.which("scp")
    if not path:
        raise TransferError(f"{url}: scp transfers need the 'scp' client on PATH")
    return path


def _via_pegasus_transfer(src: str, dest: str, size: int) -> int:
    """Schemes we do not speak ourselves (gsiftp, gs, webdav…) go through pegasus-transfer."""
    import json

    tool = shutil.which("pegasus-transfer")
    remote = dest if src.startswith("file://") else src
    scheme = urlsplit(remote).scheme
    if not tool:
        raise TransferError(
            f"{remote}: unsupported URL scheme {scheme!r} (install pegasus-transfer for it)"
        )
    entry = {
        "type": "transfer",
        "lfn": os.path.basename(urlsplit(remote).path) or "file",
        "id": 1,
        "src_urls": [{"site_label": "source", "url": src}],
        "dest_urls": [{"site_label": "destination", "url": dest}],
    }
    try:
        proc = subprocess.run(
            [tool, "--max-attempts", "1"],
            input=json.dumps([entry]).encode(),
            capture_output=True,
            timeout=3600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TransferError(f"{remote}: cannot run pegasus-transfer: {exc}") from exc
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip().splitlines()
        raise TransferError(
            f"{remote}: pegasus-transfer failed: {err[-1] if err else proc.returncode}"
        )
    return size


def fetch(url: str, dest: str) -> int:
    """Copy ``url`` to the local path ``dest``; returns the bytes written."""
    _ensure_parent(dest)
    src = local_path(url)
    if src is not None:
        try:
            if os.path.lexists(dest) and os.path.samefile(src, dest):
                return os.path.getsize(dest)
            shutil.copyfile(src, dest)
        except OSError as exc:
            raise TransferError(f"{url}: cannot copy to {dest}: {exc.strerror}") from exc
        return os.path.getsize(dest)
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        import urllib.error
        import urllib.request

        tmp = f"{dest}.part{os.getpid()}"
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "aerie-lite"})
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp, open(tmp, "wb") as out:
                shutil.copyfileobj(resp, out, 1 << 20)
            os.replace(tmp, dest)
        except urllib.error.HTTPError as exc:
            raise TransferError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        except urllib.error.URLError as exc:
            raise TransferError(f"{url}: {exc.reason}") from exc
        except (OSError, ValueError) as exc:
            raise TransferError(f"{url}: {exc}") from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return os.path.getsize(dest)
    if scheme == "scp":
        tool = _scp_tool(url)
        opts, remote = _scp_remote(url)
        _run_tool([tool, *opts, remote, dest], url)
        return os.path.getsize(dest)
    if scheme == "s3":
        tool = _s3_tool(url)
        target = _s3_target(url)
        if tool.endswith("s3cmd"):
            _run_tool([tool, "--force", "get", target, dest], url)
        else:
            _run_tool([tool, "s3", "cp", "--only-show-errors", target, dest], url)
        return os.path.getsize(dest)
    _via_pegasus_transfer(url, f"file://{os.path.abspath(dest)}", 0)
    return os.path.getsize(dest)


def put(src: str, url: str) -> int:
    """Copy the local file ``src`` to ``url``; returns the bytes copied."""
    size = os.path.getsize(src)
    if url.startswith("symlink://"):
        dest = local_path(url)
        assert dest is not None
        _ensure_parent(dest)
        if os.path.lexists(dest):
            os.unlink(dest)
        os.symlink(os.path.abspath(src), dest)
        return size
    dest_path = local_path(url)
    if dest_path is not None:
        _ensure_parent(dest_path)
        try:
            if os.path.lexists(dest_path) and os.path.samefile(src, dest_path):
                return size
            tmp = f"{dest_path}.part{os.getpid()}"
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest_path)
        except OSError as exc:
            raise TransferError(f"{url}: cannot write: {exc.strerror}") from exc
        return size
    scheme = urlsplit(url).scheme
    if scheme == "scp":
        tool = _scp_tool(url)
        opts, remote = _scp_remote(url)
        _run_tool([tool, *opts, src, remote], url)
        return size
    if scheme == "s3":
        tool = _s3_tool(url)
        target = _s3_target(url)
        if tool.endswith("s3cmd"):
            _run_tool([tool, "--force", "put", src, target], url)
        else:
            _run_tool([tool, "s3", "cp", "--only-show-errors", src, target], url)
        return size
    if scheme in ("http", "https"):
        raise TransferError(f"{url}: http(s) URLs cannot be written to")
    return _via_pegasus_transfer(f"file://{os.path.abspath(src)}", url, size)


def fetch_first(urls: list[str] | tuple[str, ...], dest: str) -> tuple[str, int]:
    """Try each URL in turn; the one that worked and the bytes, or every error at once."""
    errors = []
    for url in urls:
        try:
            return url, fetch(url, dest)
        except TransferError as exc:
            errors.append(str(exc))
    raise TransferError("; ".join(errors) if errors else f"no URL to fetch {dest} from")


def mkdir(url: str) -> None:
    path = local_path(url)
    if path is not None:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise TransferError(f"{url}: cannot create directory: {exc.strerror}") from exc
        return
    scheme = urlsplit(url).scheme
    if scheme == "scp":
        parts = urlsplit(url)
        user = f"{parts.username}@" if parts.username else ""
        ssh = shutil.which("ssh")
        if not ssh:
            raise TransferError(f"{url}: creating remote directories needs 'ssh' on PATH")
        port = ["-p", str(parts.port)] if parts.port else []
        _run_tool(
            [ssh, "-o", "BatchMode=yes", *port, f"{user}{parts.hostname}", "mkdir", "-p",
             unquote(parts.path)],
            url,
        )  # fmt: skip
        return
    if scheme == "s3":
        return  # object stores have no directories
    raise TransferError(f"{url}: cannot create a directory for scheme {scheme!r}")


def remove(url: str, recursive: bool) -> None:
    path = local_path(url)
    if path is None:
        raise TransferError(f"{url}: cleanup supports file:// URLs only")
    try:
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        elif os.path.isdir(path):
            if recursive:
                shutil.rmtree(path)
            else:
                os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise TransferError(f"{url}: cannot remove: {exc.strerror}") from exc


def _truthy(v: Any) -> bool:
    return v is True or (isinstance(v, str) and v.strip().lower() == "true")


def _urls(entry: dict[str, Any], key: str, where: str) -> list[str]:
    items = entry.get(key)
    if not isinstance(items, list) or not items:
        raise TransferError(f"{where}: field {key}: expected a non-empty list of URLs")
    urls = []
    for i, item in enumerate(sorted(items, key=lambda u: -int(u.get("priority") or 0))):
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url:
            raise TransferError(f"{where}: field {key}[{i}].url: expected a URL")
        urls.append(url)
    return urls


def _copy_entry(
    src_urls: list[str], dest_urls: list[str], name: str, here: str
) -> tuple[str, int, str | None]:
    """Deliver one file to every destination; returns a local path holding its content (for
    checksums), the bytes, and a temporary directory the caller removes afterwards.

    ``symlink://`` destinations link to a local source; when every source is remote the file is
    copied there instead (a link into a temporary download would dangle).
    """
    local_src = next(
        (p for u in src_urls if (p := local_path(u)) is not None and os.path.exists(p)), None
    )
    tmpdir: str | None = None
    local_copy: str | None = None
    size = 0
    for url in dest_urls:
        path = local_path(url)
        if url.startswith("symlink://") and local_src is not None:
            size = put(local_src, url)
            local_copy = local_copy or local_src
        elif path is not None:  # file://, or symlink:// of a remote source
            if local_copy is not None and not url.startswith("symlink://"):
                size = put(local_copy, url)
            else:
                _, size = fetch_first(src_urls, path)
            local_copy = local_copy or path
        else:  # scp://, s3://…: upload from a local copy
            if local_copy is None:
                if local_src is not None:
                    local_copy = local_src
                else:
                    tmpdir = os.path.join(here, f".aerie-transfer-{os.getpid()}")
                    local_copy = os.path.join(tmpdir, os.path.basename(name))
                    fetch_first(src_urls, local_copy)
            size = put(local_copy, url)
    if local_copy is None:
        raise TransferError("no destination URL")
    return local_copy, size, tmpdir


def run_in_file(path: str) -> dict[str, Any]:
    """Carry out a Pegasus ``.in`` transfer list; returns counts and the checksums it made.

    Raises ``TransferError`` naming the ``.in`` file, the entry and the URL on the first failure.
    """
    import json

    from . import integrity

    try:
        with open(path, encoding="utf-8") as fh:
            entries = json.load(fh)
    except OSError as exc:
        raise TransferError(f"{path}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise TransferError(f"{path}: invalid JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise TransferError(f"{path}: expected a JSON list of transfer entries")
    here = os.path.dirname(os.path.abspath(path))
    known: dict[str, tuple[str, str]] | None = None
    stats: dict[str, Any] = {"files": 0, "bytes": 0, "mkdir": 0, "remove": 0, "checksums": []}
    for n, entry in enumerate(entries):
        where = f"{path}: entry {n} (id {entry.get('id', '?') if isinstance(entry, dict) else '?'})"
        if not isinstance(entry, dict):
            raise TransferError(f"{where}: expected an object")
        kind = entry.get("type", "transfer")
        if kind in ("mkdir", "remove"):
            target = entry.get("target")
            url = target.get("url") if isinstance(target, dict) else None
            if not isinstance(url, str):
                raise TransferError(f"{where}: field target.url: expected a URL")
            try:
                if kind == "mkdir":
                    mkdir(url)
                    stats["mkdir"] += 1
                else:
                    remove(url, _truthy(target.get("recursive")))  # type: ignore[union-attr]
                    stats["remove"] += 1
            except TransferError as exc:
                raise TransferError(f"{where}: {exc}") from exc
            continue
        if kind != "transfer":
            raise TransferError(f"{where}: field type: unknown entry type {kind!r}")
        lfn = entry.get("lfn")
        src_urls = _urls(entry, "src_urls", where)
        dest_urls = _urls(entry, "dest_urls", where)
        tmpdir = None
        try:
            local_copy, size, tmpdir = _copy_entry(src_urls, dest_urls, str(lfn or "file"), here)
        except (TransferError, OSError) as exc:
            raise TransferError(f"{where} (lfn {lfn}): {exc}") from exc
        stats["files"] += 1
        stats["bytes"] += size
        gen = _truthy(entry.get("generate_checksum"))
        verify = _truthy(entry.get("verify_checksum_remote"))
        if (gen or verify) and os.path.isfile(local_copy):
            sha, timing = integrity.sha256_file(local_copy)
            if verify and lfn:
                if known is None:
                    known = integrity.read_meta_dir(here)
                    if os.path.abspath(os.getcwd()) != here:
                        known.update(integrity.read_meta_dir(os.getcwd()))
                expected = known.get(str(lfn))
                if expected and expected[0] != sha:
                    raise TransferError(
                        f"{where} (lfn {lfn}): checksum mismatch at {dest_urls[0]}: expected "
                        f"{expected[0]} from {expected[1]}, got {sha}"
                    )
            if gen and lfn:
                stats["checksums"].append(
                    integrity.meta_entry(str(lfn), os.path.getsize(local_copy), sha, timing)
                )
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return stats


def _transformation(in_file: str) -> str:
    """Pegasus's names for auxiliary jobs, by what the ``.in`` holds."""
    try:
        with open(in_file, encoding="utf-8") as fh:
            import json

            kinds = {e.get("type", "transfer") for e in json.load(fh) if isinstance(e, dict)}
    except (OSError, ValueError, AttributeError, TypeError):
        return "pegasus::transfer"
    if kinds == {"mkdir"}:
        return "pegasus::dirmanager"
    if kinds == {"remove"}:
        return "pegasus::cleanup"
    return "pegasus::transfer"


def main(argv: list[str], out: Any = None, err: Any = None) -> int:
    """``aerie-lite transfer <job>.in``: do the list, write ``<job>.meta``, print a record."""
    import sys

    from . import integrity
    from . import invocation as inv

    out = out or sys.stdout
    err = err or sys.stderr
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        err.write("usage: aerie-lite transfer <job>.in\n")
        return 2
    in_file = argv[0]
    job = os.path.basename(in_file)
    job = job[:-3] if job.endswith(".in") else job
    t0 = time.time()
    rec = inv.new_record(
        job_id=job,
        job_name=job,
        transformation=_transformation(in_file),
        start=inv.iso_utc(t0),
        argv=["aerie-lite", "transfer", in_file],
        **inv.host_facts(os.getcwd()),
    )
    code = 0
    try:
        stats = run_in_file(in_file)
        if stats["checksums"]:
            base = in_file[:-3] if in_file.endswith(".in") else in_file
            integrity.write_meta(base + ".meta", stats["checksums"])
        rec["stage_in"] = {"files": stats["files"], "bytes": stats["bytes"]}
        rec["outputs"] = [
            {
                "lfn": e["_id"],
                "size": int(e["_attributes"]["size"]),
                "sha256": e["_attributes"]["checksum.value"],
            }
            for e in stats["checksums"]
        ]
        rec["stdout_tail"] = (
            f"{stats['files']} transfers ({stats['bytes']} bytes), {stats['mkdir']} mkdir, "
            f"{stats['remove']} remove\n"
        )
        rec["exitcode"] = 0
        rec["raw_status"] = 0
    except TransferError as exc:
        rec["exitcode"] = 1
        rec["raw_status"] = 256
        rec["failed_step"] = "exec"
        rec["error"] = f"exec: {exc}"
        err.write(f"aerie-lite transfer: {exc}\n")
        code = 1
    rec["duration"] = round(time.time() - t0, 6)
    out.write(inv.dumps(rec) + "\n")
    out.flush()
    return code
