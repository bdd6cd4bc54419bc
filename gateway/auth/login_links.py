"""One-time login links, like Jupyter's token URL: `http://host:port/login?token=...`.

`aerie serve` issues one at start-up for the admin user and prints it. The link is kept only in
memory, as a hash, and is consumed by its first successful use; a restart prints a new one.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.auth.tokens import hash_token, matches
from gateway.db.base import utcnow


@dataclass
class _Link:
    digest: str
    user_id: int
    expires_at: datetime | None


class LoginLinks:
    """Issued, not yet used login links of this process."""

    def __init__(self) -> None:
        self._links: list[_Link] = []
        self._lock = threading.Lock()

    def issue(self, user_id: int, *, valid_for: timedelta | None = None) -> str:
        """A new single-use token that logs in as `user_id`; shown to the operator once."""
        value = secrets.token_urlsafe(32)
        expires_at = utcnow() + valid_for if valid_for is not None else None
        with self._lock:
            self._links.append(_Link(hash_token(value), user_id, expires_at))
        return value

    def consume(self, value: str) -> int | None:
        """The user id the link logs in as, removing it so it never works again; else None."""
        now = utcnow()
        with self._lock:
            self._links = [
                link for link in self._links if link.expires_at is None or link.expires_at > now
            ]
            for link in self._links:
                if matches(value, link.digest):
                    self._links.remove(link)
                    return link.user_id
        return None
