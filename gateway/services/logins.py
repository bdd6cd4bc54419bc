"""Turning an identity asserted by an identity provider into an Aerie user.

First login creates the user from the claims (`sub`, `email`, `name`); later logins find them by
(issuer, subject), never by email, because an email address may be reassigned or unverified at
another provider. The operator's allow- and deny-lists (email domains or issuer URLs) are
checked on every login, not only the first, so tightening them takes effect at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import User
from gateway.errors import Forbidden, InvalidInput
from gateway.services import audit
from gateway.services import users as user_service
from gateway.settings import Settings


@dataclass(frozen=True)
class Identity:
    """Who the identity provider says logged in."""

    issuer: str
    subject: str
    email: str | None
    name: str | None
    preferred_username: str | None = None

    @classmethod
    def from_claims(cls, issuer: str, claims: Mapping[str, Any]) -> Identity:
        subject = claims.get("sub")
        if subject in (None, ""):
            raise InvalidInput("the identity provider returned no subject ('sub') claim")
        email = claims.get("email")
        username = claims.get("preferred_username") or claims.get("login")
        return cls(
            issuer=issuer,
            subject=str(subject),
            email=str(email) if email else None,
            name=str(claims["name"]) if claims.get("name") else None,
            preferred_username=str(username) if username else None,
        )

    @property
    def domain(self) -> str | None:
        return self.email.rsplit("@", 1)[1].lower() if self.email and "@" in self.email else None


def _matches(identity: Identity, entry: str) -> bool:
    entry = entry.strip()
    if "://" in entry:
        return identity.issuer.rstrip("/") == entry.rstrip("/")
    domain = identity.domain
    wanted = entry.lstrip("@").lower()
    return domain is not None and (domain == wanted or domain.endswith("." + wanted))


def check_policy(settings: Settings, identity: Identity) -> None:
    """Raise Forbidden when the operator's lists keep this identity out."""
    if any(_matches(identity, entry) for entry in settings.login_deny):
        raise Forbidden("logins from this identity provider or email domain are not allowed")
    if settings.login_allow and not any(_matches(identity, e) for e in settings.login_allow):
        raise Forbidden("this identity is not on the gateway's allow-list")


def _base_name(identity: Identity) -> str:
    raw = identity.preferred_username or (identity.email or "").split("@")[0] or "user"
    name = re.sub(r"[^a-z0-9_.-]+", "_", raw.lower()).strip("._-") or "user"
    if not re.match(r"[a-z_]", name):
        name = "u" + name
    return name[:56]


def _unique_name(session: Session, identity: Identity) -> str:
    base = _base_name(identity)
    candidate, n = base, 1
    while user_service.get_user_by_name(session, candidate) is not None:
        n += 1
        candidate = f"{base}{n}"
    return candidate


def login(
    session: Session, settings: Settings, identity: Identity, *, remote_addr: str | None = None
) -> User:
    """The user for `identity`, created on first login; Forbidden if not allowed or disabled."""
    check_policy(settings, identity)
    stmt = select(User).where(
        User.oidc_issuer == identity.issuer, User.oidc_subject == identity.subject
    )
    user = session.scalar(stmt)
    if user is None:
        user = user_service.create_user(
            session, name=_unique_name(session, identity), email=identity.email
        )
        user.oidc_issuer = identity.issuer
        user.oidc_subject = identity.subject
        session.flush()
    elif identity.email and user.email != identity.email:
        user.email = identity.email
    if user.disabled:
        raise Forbidden("this account is disabled")
    user_service.mark_login(user)
    audit.record(
        session,
        actor=user,
        action="login.oidc",
        target=f"user:{user.name}",
        details={"issuer": identity.issuer},
        remote_addr=remote_addr,
    )
    return user
