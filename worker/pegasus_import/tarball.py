"""Import a Pegasus submit directory uploaded as a tar.gz (the REST import endpoint's core).

Uploads are untrusted: members are extracted with tarfile's `data` filter (no absolute
paths, no `..`, no links leaving the destination, no devices, no set-uid bits), and the total
size and member count are capped before anything is written. The tree is kept under
`<imports_dir>/<random>/` because imported runs keep pointing at their submit directory
(pegasus-status reads its dagman.out files, the analyzer its .out/.err files).
"""

from __future__ import annotations

import shutil
import tarfile
import uuid
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from gateway.db.models.user import User
from worker.pegasus_import.errors import SubmitDirError
from worker.pegasus_import.importer import ImportResult, import_submit_dir

MAX_BYTES = 4 * 1024**3
MAX_MEMBERS = 500_000


_REFUSALS: dict[type[tarfile.FilterError], str] = {
    tarfile.AbsolutePathError: "an absolute path",
    tarfile.OutsideDestinationError: "it would be written outside the upload",
    tarfile.AbsoluteLinkError: "a link to an absolute path",
    tarfile.LinkOutsideDestinationError: "a link pointing outside the upload",
    tarfile.SpecialFileError: "a special file",
}


class UnsafeArchive(SubmitDirError):
    """The archive tries to write outside its directory, or is too large."""


class ArchiveTooLarge(UnsafeArchive):
    """The archive holds more bytes or entries than an import may unpack (HTTP 413)."""


def safe_extract(fileobj: IO[bytes], destination: Path, *, max_bytes: int = MAX_BYTES,
                 max_members: int = MAX_MEMBERS) -> None:  # fmt: skip
    """Extract a (possibly compressed) tar stream into `destination`, refusing unsafe members."""
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=fileobj, mode="r:*") as archive:
            members = []
            total = 0
            for member in archive:
                members.append(member)
                total += max(member.size, 0)
                if len(members) > max_members:
                    raise ArchiveTooLarge("upload", f"more than {max_members} entries")
                if total > max_bytes:
                    raise ArchiveTooLarge("upload", f"more than {max_bytes} bytes uncompressed")
                parts = Path(member.name).parts
                if member.name.startswith(("/", "\\")) or ".." in parts:
                    raise UnsafeArchive(member.name, "paths must stay inside the upload")
                if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                    raise UnsafeArchive(member.name, "special files are not allowed")
            try:
                archive.extractall(destination, members=members, filter="data")
            except tarfile.FilterError as exc:
                # tarfile's own text names resolved paths on this server: say it in our words
                why = _REFUSALS.get(type(exc), "unsafe member")
                raise UnsafeArchive(exc.tarinfo.name, f"refused: {why}") from exc
    except tarfile.TarError as exc:
        raise SubmitDirError("upload", f"not a readable tar archive: {exc}") from exc


def find_submit_dir(root: Path) -> Path:
    """The shallowest directory holding a braindump (archives usually wrap it in runNNNN/)."""
    names = ("braindump.yml", "braindump.txt")
    found = [p.parent for p in root.rglob("braindump.*") if p.name in names]
    candidates = sorted(found, key=lambda p: (len(p.relative_to(root).parts), str(p)))
    if not candidates:
        raise SubmitDirError("upload", "no braindump.yml: not a Pegasus submit directory")
    return candidates[0]


def import_tarball(
    session: Session, fileobj: IO[bytes], owner: User | str, imports_dir: Path
) -> ImportResult:
    """Extract an uploaded submit directory under `imports_dir` and import it.

    The extracted copy is removed again when the import fails or when the workflow had
    already been imported (nothing changes then, as with `import_submit_dir`).
    """
    target = imports_dir / uuid.uuid4().hex
    try:
        safe_extract(fileobj, target)
        result = import_submit_dir(session, find_submit_dir(target), owner)
    except SubmitDirError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise _inside_archive(exc, target) from exc
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    if not result.created:
        shutil.rmtree(target, ignore_errors=True)
    return result


def _inside_archive(exc: SubmitDirError, target: Path) -> SubmitDirError:
    """The same error naming files by their path in the archive, never by this server's."""
    prefix = str(exc.path)
    if exc.line is not None:
        prefix += f":{exc.line}"
    if exc.field is not None:
        prefix += f" [{exc.field}]"
    text = str(exc)
    message = text[len(prefix) + 2 :] if text.startswith(prefix + ": ") else text
    for root in {str(target.resolve()), str(target)}:
        message = message.replace(root + "/", "").replace(root, ".")
    try:
        path: Path | str = exc.path.resolve().relative_to(target.resolve())
    except ValueError:
        path = exc.path
    copy = type(exc).__new__(type(exc))
    SubmitDirError.__init__(copy, path, message, line=exc.line, field=exc.field)
    return copy
