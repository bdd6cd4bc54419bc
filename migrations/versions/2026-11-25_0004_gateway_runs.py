"""Gateway: run events (SSE), per-user catalogs, quotas; runs get options and engine handle.

Revision ID: 0004_gateway_runs
Revises: 0003_jobstate_key
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_gateway_runs"
down_revision: str | None = "0003_jobstate_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("options", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("engine_handle", sa.Text(), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.alter_column("options", server_default=None)

    op.create_table(
        "run_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_events_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_events")),
    )
    op.create_index(op.f("ix_run_events_run_id"), "run_events", ["run_id"])

    op.create_table(
        "user_catalogs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_user_catalogs_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_catalogs")),
        sa.UniqueConstraint("owner_id", "kind", name=op.f("uq_user_catalogs_owner_id_kind")),
    )
    op.create_index(op.f("ix_user_catalogs_owner_id"), "user_catalogs", ["owner_id"])

    op.create_table(
        "quotas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("max_concurrent_runs", sa.Integer(), nullable=True),
        sa.Column("max_jobs_per_run", sa.Integer(), nullable=True),
        sa.Column("max_storage_bytes", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_quotas_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotas")),
        sa.UniqueConstraint("user_id", name=op.f("uq_quotas_user_id")),
    )


def downgrade() -> None:
    op.drop_table("quotas")
    op.drop_index(op.f("ix_user_catalogs_owner_id"), table_name="user_catalogs")
    op.drop_table("user_catalogs")
    op.drop_index(op.f("ix_run_events_run_id"), table_name="run_events")
    op.drop_table("run_events")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("engine_handle")
        batch.drop_column("options")
