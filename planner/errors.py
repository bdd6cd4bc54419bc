"""Planner errors: every problem found in the input, each with the file, line and field it is about.

A user fixing a workflow wants the whole list at once, not one error per attempt, so the loader
and the semantic checks collect `Problem`s and raise them together in one `ProblemsError`:
`SpecError` when a document is not a valid Pegasus 5.0 document (syntax, schema), and
`PlanningError` when valid documents cannot be planned together (cycles, unknown
transformations, missing inputs…). The gateway returns `[p.to_dict() for p in err.problems]` as
a 422 body; the CLI prints `str(p)` per line:

    wf.yml:41: jobs[3].uses[0].type: 'inptu' is not one of none, input, output, inout, checkpoint
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["PlannerError", "PlanningError", "Problem", "ProblemsError", "SpecError"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input.

    `file` is the document as the user named it (None when unknown), `line` is 1-based (None when
    the place has no line, e.g. a command-line option), `path` is the field inside the document
    in `jobs[3].uses[0].type` form ("" for the document itself), and `code` names the rule that
    was broken (`syntax`, `schema`, `cycle`, `duplicate-job`, …) so callers can react to kinds.
    """

    file: str | None
    line: int | None
    path: str
    message: str
    code: str = "schema"

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        if self.path:
            return f"{where}: {self.path}: {self.message}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "code": self.code,
        }


class PlannerError(Exception):
    """Base class of everything the planner raises on purpose."""


class ProblemsError(PlannerError):
    """Carries every `Problem` found, in document order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(self._summary())

    def _summary(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        return "\n".join([head, *(str(p) for p in self.problems)])

    def __str__(self) -> str:
        return self._summary()


class SpecError(ProblemsError):
    """A document is not valid YAML or not a valid Pegasus 5.0 workflow or catalog."""


class PlanningError(ProblemsError):
    """The documents are valid but cannot be planned together (cycle, unknown job, …)."""
