"""jobstate: stampede's primary key (instance, state, timestamp, seq).

Real Pegasus runs (imported by `aerie import`) repeat a jobstate_submit_seq within one job
instance, e.g. JOB_ABORTED and JOB_FAILURE, so the narrower key of 0002 rejected them.

Revision ID: 0003_jobstate_key
Revises: 0002_provenance
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_jobstate_key"
down_revision: str | None = "0002_provenance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobstate", recreate="auto") as batch:
        batch.drop_constraint("pk_jobstate", type_="primary")
        batch.create_primary_key(
            "pk_jobstate", ["job_instance_id", "state", "timestamp", "jobstate_submit_seq"]
        )


def downgrade() -> None:
    with op.batch_alter_table("jobstate", recreate="auto") as batch:
        batch.drop_constraint("pk_jobstate", type_="primary")
        batch.create_primary_key("pk_jobstate", ["job_instance_id", "jobstate_submit_seq"])
