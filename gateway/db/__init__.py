"""Database layer: declarative base, engine/session helpers, models and state machine."""

from gateway.db.base import Base, utcnow
from gateway.db.session import Database, make_engine, make_session_factory, session_scope

__all__ = ["Base", "Database", "make_engine", "make_session_factory", "session_scope", "utcnow"]
