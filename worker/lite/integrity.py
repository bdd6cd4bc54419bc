"""Checksums: computing sha256, and reading and writing Pegasus ``.meta`` files.

A ``.meta`` file is what pegasus-exitcode writes beside a job's ``.out`` and what PegasusLite ships
with every child job so that ``pegasus-integrity`` can verify the inputs it produced::

    [{"_id": "f.b1", "_type": "file",
      "_attributes": {"user": "alice", "size": "1024", "ctime": "2026-11-25T08:00:02Z",
                      "checksum.type": "sha256", "checksum.value": "a7f5...",
                      "checksum.timing": "0.001"}}]

Values are strings, as Pegasus writes them.  We read and write the same format so that parent
``.meta`` files from either tool verify children run by either tool.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

CHUNK = 1 << 20


class IntegrityError(Exception):
    """A checksum mismatch or an unreadable ``.meta`` file; the message names the file."""


def sha256_file(path: str) -> tuple[str, float]:
    """The hex sha256 of a file and the seconds it took."""
    import hashlib  # lazily: loading OpenSSL costs a no-op job ~10-20 ms

    t0 = time.perf_counter()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest(), time.perf_counter() - t0


def meta_entry(
    lfn: str,
    size: int | None,
    sha256: str,
    timing: float | str | None = None,
    user: str | None = None,
    ctime: str | None = None,
) -> dict[str, Any]:
    """One ``.meta`` list item in Pegasus's shape (attribute values as strings)."""
    attrs: dict[str, str] = {}
    if user:
        attrs["user"] = str(user)
    if size is not None:
        attrs["size"] = str(size)
    if ctime:
        attrs["ctime"] = str(ctime)
    attrs["checksum.type"] = "sha256"
    attrs["checksum.value"] = sha256
    if timing is not None:
        attrs["checksum.timing"] = timing if isinstance(timing, str) else f"{timing:.3f}"
    return {"_id": lfn, "_type": "file", "_attributes": attrs}


def write_meta(path: str, entries: list[dict[str, Any]]) -> None:
    """Write a ``.meta`` file atomically (readers never see half a file).

    The temporary file is created exclusively: the POST verdict writes here with the engine's
    rights into a directory isolated jobs may also write to, and must not follow a link a job
    left under the temporary name."""
    tmp = f"{path}.tmp{os.getpid()}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        fd = os.open(tmp, flags, 0o644)
    except FileExistsError:
        os.unlink(tmp)
        fd = os.open(tmp, flags, 0o644)
    with open(fd, "w", encoding="utf-8") as fh:
        json.dump(entries, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def read_meta(path: str) -> dict[str, str]:
    """``{lfn: sha256}`` from one ``.meta`` file; an unreadable file raises naming it."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise IntegrityError(f"cannot read checksum file {path}: {exc.strerror}") from exc
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise IntegrityError(f"checksum file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise IntegrityError(f"checksum file {path}: expected a JSON list of files")
    out: dict[str, str] = {}
    for item in data:
        if not isinstance(item, dict):
            continue
        attrs = item.get("_attributes") or {}
        lfn = item.get("_id")
        if not isinstance(lfn, str) or not isinstance(attrs, dict):
            continue
        if str(attrs.get("checksum.type", "sha256")).lower() != "sha256":
            continue
        value = attrs.get("checksum.value")
        if isinstance(value, str) and value:
            out[lfn] = value.lower()
    return out


def read_meta_dir(directory: str) -> dict[str, tuple[str, str]]:
    """``{lfn: (sha256, meta file)}`` from every ``*.meta`` in a directory (PegasusLite's rule)."""
    out: dict[str, tuple[str, str]] = {}
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return out
    for name in names:
        if name.endswith(".meta"):
            path = os.path.join(directory, name)
            for lfn, sha in read_meta(path).items():
                out[lfn] = (sha, name)
    return out


def main(argv: list[str]) -> int:
    """``aerie-lite integrity FILE...``: pegasus-integrity ``--verify`` against ``./*.meta``.

    Each argument is ``lfn`` or ``lfn=path``; exit 1 if any known checksum does not match.
    """
    import sys

    if not argv or argv[0] in ("-h", "--help"):
        sys.stderr.write("usage: aerie-lite integrity LFN[=PATH]...\n")
        return 2
    try:
        known = read_meta_dir(os.getcwd())
    except IntegrityError as exc:
        sys.stderr.write(f"aerie-lite integrity: {exc}\n")
        return 1
    bad = 0
    for arg in argv:
        lfn, _, path = arg.partition("=")
        path = path or lfn
        if lfn not in known:
            sys.stdout.write(f"{lfn}: no checksum known, skipped\n")
            continue
        want, source = known[lfn]
        try:
            got, _ = sha256_file(path)
        except OSError as exc:
            sys.stderr.write(f"aerie-lite integrity: {lfn}: cannot read {path}: {exc.strerror}\n")
            bad += 1
            continue
        if got != want:
            sys.stderr.write(
                f"aerie-lite integrity: {lfn}: checksum mismatch in {path}: expected {want} "
                f"(from {source}), got {got}\n"
            )
            bad += 1
        else:
            sys.stdout.write(f"{lfn}: ok\n")
    return 1 if bad else 0
