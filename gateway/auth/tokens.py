"""API token format, hashing and scopes.

A token looks like `aerie_<prefix>_<secret>`. Only the short prefix (for lookup) and the SHA-256
of the whole token are stored, so a database leak does not leak usable credentials. Tokens carry
256 bits of randomness, so a fast unsalted hash is enough (no password-style stretching), and
the stored hash is compared with `hmac.compare_digest` so timing reveals nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

TOKEN_MARKER = "aerie"
PREFIX_LENGTH = 8

SCOPE_WORKFLOWS_READ = "workflows:read"
SCOPE_WORKFLOWS_WRITE = "workflows:write"
SCOPE_PROVISION_WRITE = "provision:write"
SCOPE_ADMIN = "admin"

ALL_SCOPES: tuple[str, ...] = (
    SCOPE_WORKFLOWS_READ,
    SCOPE_WORKFLOWS_WRITE,
    SCOPE_PROVISION_WRITE,
    SCOPE_ADMIN,
)
DEFAULT_SCOPES: tuple[str, ...] = tuple(s for s in ALL_SCOPES if s != SCOPE_ADMIN)
"""Scopes a new token gets unless told otherwise: everything but admin."""


@dataclass(frozen=True)
class NewToken:
    """A freshly generated token: `value` is shown once, `prefix`/`digest` are stored."""

    value: str
    prefix: str
    digest: str


def hash_token(value: str) -> str:
    """Hex SHA-256 of the whole token string."""
    return hashlib.sha256(value.encode()).hexdigest()


def generate_token() -> NewToken:
    """A new random token with its lookup prefix and digest."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    value = f"{TOKEN_MARKER}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewToken(value=value, prefix=prefix, digest=hash_token(value))


def parse_prefix(value: str) -> str | None:
    """The lookup prefix of a token string, or None if it is not shaped like an Aerie token."""
    parts = value.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_MARKER or len(parts[1]) != PREFIX_LENGTH:
        return None
    if not parts[2]:
        return None
    return parts[1]


def matches(value: str, digest: str) -> bool:
    """Constant-time check that `value` hashes to the stored `digest`."""
    return hmac.compare_digest(hash_token(value), digest)


def normalize_scopes(raw: list[str] | tuple[str, ...]) -> list[str]:
    """Split space/comma separated scope strings, drop duplicates, keep the canonical order.

    Raises ValueError naming any scope Aerie does not know.
    """
    wanted: set[str] = set()
    for item in raw:
        wanted.update(part for part in item.replace(",", " ").split() if part)
    unknown = sorted(wanted - set(ALL_SCOPES))
    if unknown:
        raise ValueError(
            f"unknown scope(s): {', '.join(unknown)}; known scopes: {' '.join(ALL_SCOPES)}"
        )
    return [s for s in ALL_SCOPES if s in wanted]
