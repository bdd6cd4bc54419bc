"""Every model module, imported so `Base.metadata` is complete (Alembic and tests rely on it)."""

from gateway.db.models.audit import AuditEntry
from gateway.db.models.run import Run
from gateway.db.models.token import ApiToken
from gateway.db.models.user import User

__all__ = ["ApiToken", "AuditEntry", "Run", "User"]
