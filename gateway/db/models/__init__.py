"""Every model module, imported so `Base.metadata` is complete (Alembic and tests rely on it)."""

from gateway.db.models.audit import AuditEntry
from gateway.db.models.gateway_run import Quota, RunEvent, UserCatalog
from gateway.db.models.provenance import (
    DagStatus,
    Host,
    Integrity,
    Invocation,
    Job,
    JobEdge,
    JobInstance,
    JobState,
    MonitorCursor,
    RCLfn,
    RCMeta,
    RCPfn,
    Tag,
    Task,
    TaskEdge,
    TaskMeta,
    Workflow,
    WorkflowFiles,
    WorkflowMeta,
    WorkflowState,
)
from gateway.db.models.run import Run
from gateway.db.models.token import ApiToken
from gateway.db.models.user import User

__all__ = [
    "ApiToken",
    "AuditEntry",
    "DagStatus",
    "Host",
    "Integrity",
    "Invocation",
    "Job",
    "JobEdge",
    "JobInstance",
    "JobState",
    "MonitorCursor",
    "Quota",
    "RCLfn",
    "RCMeta",
    "RCPfn",
    "Run",
    "RunEvent",
    "Tag",
    "Task",
    "TaskEdge",
    "TaskMeta",
    "User",
    "UserCatalog",
    "Workflow",
    "WorkflowFiles",
    "WorkflowMeta",
    "WorkflowState",
]
