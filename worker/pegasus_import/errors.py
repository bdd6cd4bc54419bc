"""The one error the importer raises for bad or incomplete submit directories."""

from __future__ import annotations

from pathlib import Path


class SubmitDirError(ValueError):
    """A file of the submit directory cannot be used; names the file, line and field."""

    def __init__(
        self, path: Path | str, message: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.field = field
        where = str(self.path)
        if line is not None:
            where += f":{line}"
        if field is not None:
            where += f" [{field}]"
        super().__init__(f"{where}: {message}")
