"""HTCondor submit descriptions: an ordered ``{command: value}`` mapping per node, and its text.

Values are stored already in submit-language form (quoted where HTCondor wants quotes), so that
rendering is a join and the mapping can be fed to ``htcondor2.Submit`` unchanged in tests. The
quoting helpers implement HTCondor's "new" syntax for ``arguments`` and ``environment``, which
is the only one that can carry spaces and quotes safely.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Characters that force an argument or environment value into single quotes (new syntax).
_NEEDS_QUOTES = frozenset(" \t'\"")


def _quote_token(token: str) -> str:
    """One token of HTCondor's new-syntax list: ``'`` doubles, ``"`` doubles, blanks quoted."""
    if token == "":
        return "''"
    if not (_NEEDS_QUOTES & set(token)):
        return token
    return "'" + token.replace("'", "''").replace('"', '""') + "'"


def arguments(args: Iterable[str]) -> str:
    """``arguments = "<a1> <a2> …"`` in the new syntax; each item stays one argv entry."""
    return '"' + " ".join(_quote_token(a) for a in args) + '"'


def environment(env: Mapping[str, str]) -> str:
    """``environment = "K=v K2='v 2'"`` in the new syntax."""
    parts = []
    for key, value in env.items():
        if not key or "=" in key or _NEEDS_QUOTES & set(key):
            raise ValueError(f"invalid environment variable name {key!r}")
        parts.append(f"{key}={_quote_token(str(value))}")
    return '"' + " ".join(parts) + '"'


def classad_string(text: str) -> str:
    """A ClassAd string literal, for ``+Attr = "…"`` lines."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_value(key: str, value: str) -> None:
    """Refuse values that would silently change the meaning of the submit file."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"submit command {key!r}: value contains a line break")


def render(desc: Mapping[str, str], title: str = "") -> str:
    """The .sub text: optional comment header, ``key = value`` lines, ``queue``."""
    head = f"# AERIE GENERATED SUBMIT FILE: {title}\n" if title else ""
    body = "".join(f"{k} = {v}\n" for k, v in desc.items())
    return f"{head}{body}queue\n"
