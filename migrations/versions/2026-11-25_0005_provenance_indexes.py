"""Provenance: drop indexes that only slowed down the monitor's bulk inserts.

`job_instance(job_id)` and `invocation(job_instance_id)` are already the leading column of a
unique constraint; `jobstate(state, timestamp)` and `invocation(transformation)` were never
used alone (every statistics query starts from a workflow's jobs).

Revision ID: 0005_provenance_indexes
Revises: 0004_gateway_runs
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_provenance_indexes"
down_revision: str | None = "0004_gateway_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_job_instance_job_id", table_name="job_instance")
    op.drop_index("ix_invocation_job_instance_id", table_name="invocation")
    op.drop_index("ix_jobstate_state_timestamp", table_name="jobstate")
    op.drop_index("ix_invocation_transformation", table_name="invocation")


def downgrade() -> None:
    op.create_index("ix_invocation_transformation", "invocation", ["transformation"])
    op.create_index("ix_jobstate_state_timestamp", "jobstate", ["state", "timestamp"])
    op.create_index("ix_invocation_job_instance_id", "invocation", ["job_instance_id"])
    op.create_index("ix_job_instance_job_id", "job_instance", ["job_id"])
