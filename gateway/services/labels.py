"""Run labels are a flat map of text to text, wherever they appear.

The dashboard's `key=value` form, the list filter `label=key=value`, the chips on a run and
the API all speak text, so one rule keeps them in agreement: a JSON scalar given as a label
value is stored as its JSON text (`true` -> "true", `3` -> "3", `"x"` -> "x"), and `imported:
"true"` is what the importer writes. Nested values and `null` are refused: they have no text
a filter could match. Rows written before this rule (the importer once stored `true`) read
the same way, so `label=imported=true` finds every imported run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from gateway.errors import InvalidInput


def label_text(value: Any) -> str:
    """A stored label value as the text the API, pages and filters show and compare."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def stored_labels(labels: Mapping[str, Any] | None) -> dict[str, str]:
    """A run's labels as they read everywhere (tolerates rows written before this rule)."""
    return {str(k): label_text(v) for k, v in (labels or {}).items()}


def clean_labels(labels: Mapping[str, Any] | None) -> dict[str, str]:
    """Labels given by a user: scalars to their text; 422 naming `labels.<key>` otherwise."""
    cleaned: dict[str, str] = {}
    for key, value in (labels or {}).items():
        scalar = isinstance(value, str | bool | int) or (
            isinstance(value, float) and math.isfinite(value)
        )
        if not scalar:
            raise InvalidInput(
                f"label {key!r} must be text, a number or true/false, not {json.dumps(value)}",
                details=[{"field": f"labels.{key}", "message": "not text, a number or a boolean"}],
            )
        cleaned[str(key)] = label_text(value)
    return cleaned


def label_matches(labels: Mapping[str, Any] | None, key: str, value: str) -> bool:
    """`label=key` (present) or `label=key=value` (equal text) of the run list filter."""
    labels = labels or {}
    if key not in labels:
        return False
    return not value or label_text(labels[key]) == value
