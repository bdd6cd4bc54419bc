"""Provenance tables (stampede schema, SPEC.md §4.1) and the monitor's read cursors.

Revision ID: 0002_provenance
Revises: 0001_initial
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_provenance"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workflow",
        sa.Column(
            "wf_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wf_uuid", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("imported", sa.Boolean(), nullable=False),
        sa.Column("dag_file_name", sa.String(length=255), nullable=True),
        sa.Column("timestamp", sa.Float(), nullable=True),
        sa.Column("submit_hostname", sa.String(length=255), nullable=True),
        sa.Column("submit_dir", sa.Text(), nullable=True),
        sa.Column("planner_arguments", sa.Text(), nullable=True),
        sa.Column("user", sa.String(length=255), nullable=True),
        sa.Column("grid_dn", sa.String(length=255), nullable=True),
        sa.Column("planner_version", sa.String(length=255), nullable=True),
        sa.Column("dax_label", sa.String(length=255), nullable=True),
        sa.Column("dax_version", sa.String(length=255), nullable=True),
        sa.Column("dax_file", sa.Text(), nullable=True),
        sa.Column("db_url", sa.Text(), nullable=True),
        sa.Column(
            "parent_wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "root_wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["parent_wf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_workflow_parent_wf_id_workflow"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_workflow_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("wf_id", name=op.f("pk_workflow")),
        sa.UniqueConstraint("wf_uuid", name=op.f("uq_workflow_wf_uuid")),
    )
    op.create_index(op.f("ix_workflow_parent_wf_id"), "workflow", ["parent_wf_id"], unique=False)
    op.create_index(op.f("ix_workflow_root_wf_id"), "workflow", ["root_wf_id"], unique=False)
    op.create_index(op.f("ix_workflow_run_id"), "workflow", ["run_id"], unique=False)

    op.create_table(
        "dagstatus",
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=True),
        sa.Column("dag_status", sa.Integer(), nullable=False),
        sa.Column("nodes_total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("pre", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("post", sa.Integer(), nullable=False),
        sa.Column("ready", sa.Integer(), nullable=False),
        sa.Column("unready", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("futile", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("exit_status", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["wf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_dagstatus_wf_id_workflow"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("wf_id", name=op.f("pk_dagstatus")),
    )
    op.create_table(
        "host",
        sa.Column(
            "host_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("uname", sa.String(length=255), nullable=True),
        sa.Column("total_memory", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["wf_id"], ["workflow.wf_id"], name=op.f("fk_host_wf_id_workflow"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("host_id", name=op.f("pk_host")),
        sa.UniqueConstraint(
            "wf_id", "site", "hostname", "ip", name=op.f("uq_host_wf_id_site_hostname_ip")
        ),
    )
    op.create_index(op.f("ix_host_wf_id"), "host", ["wf_id"], unique=False)

    op.create_table(
        "job",
        sa.Column(
            "job_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("exec_job_id", sa.String(length=255), nullable=False),
        sa.Column("submit_file", sa.Text(), nullable=True),
        sa.Column("type_desc", sa.String(length=32), nullable=False),
        sa.Column("clustered", sa.Boolean(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("executable", sa.Text(), nullable=True),
        sa.Column("argv", sa.Text(), nullable=True),
        sa.Column("task_count", sa.Integer(), nullable=False),
        sa.Column("pre_script", sa.Text(), nullable=True),
        sa.Column("post_script", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["wf_id"], ["workflow.wf_id"], name=op.f("fk_job_wf_id_workflow"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job")),
        sa.UniqueConstraint("wf_id", "exec_job_id", name=op.f("uq_job_wf_id_exec_job_id")),
    )
    op.create_index(op.f("ix_job_wf_id"), "job", ["wf_id"], unique=False)

    op.create_table(
        "job_edge",
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("parent_exec_job_id", sa.String(length=255), nullable=False),
        sa.Column("child_exec_job_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["wf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_job_edge_wf_id_workflow"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "wf_id", "parent_exec_job_id", "child_exec_job_id", name=op.f("pk_job_edge")
        ),
    )
    op.create_table(
        "monitor_cursor",
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime", sa.Float(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["wf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_monitor_cursor_wf_id_workflow"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("wf_id", "path", name=op.f("pk_monitor_cursor")),
    )
    op.create_table(
        "rc_lfn",
        sa.Column(
            "lfn_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lfn", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["wf_id"], ["workflow.wf_id"], name=op.f("fk_rc_lfn_wf_id_workflow"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lfn_id", name=op.f("pk_rc_lfn")),
        sa.UniqueConstraint("wf_id", "lfn", name=op.f("uq_rc_lfn_wf_id_lfn")),
    )
    op.create_index(op.f("ix_rc_lfn_wf_id"), "rc_lfn", ["wf_id"], unique=False)

    op.create_table(
        "task_edge",
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("parent_abs_task_id", sa.String(length=255), nullable=False),
        sa.Column("child_abs_task_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["wf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_task_edge_wf_id_workflow"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "wf_id", "parent_abs_task_id", "child_abs_task_id", name=op.f("pk_task_edge")
        ),
    )
    op.create_table(
        "workflow_meta",
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["wf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_workflow_meta_wf_id_workflow"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("wf_id", "key", name=op.f("pk_workflow_meta")),
    )
    op.create_table(
        "workflowstate",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("restart_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["wf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_workflowstate_wf_id_workflow"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflowstate")),
        sa.UniqueConstraint(
            "wf_id",
            "state",
            "restart_count",
            name=op.f("uq_workflowstate_wf_id_state_restart_count"),
        ),
    )
    op.create_index(op.f("ix_workflowstate_wf_id"), "workflowstate", ["wf_id"], unique=False)

    op.create_table(
        "job_instance",
        sa.Column(
            "job_instance_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("host_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("job_submit_seq", sa.Integer(), nullable=False),
        sa.Column("sched_id", sa.String(length=64), nullable=True),
        sa.Column("site", sa.String(length=255), nullable=True),
        sa.Column("user", sa.String(length=255), nullable=True),
        sa.Column("work_dir", sa.Text(), nullable=True),
        sa.Column("cluster_start", sa.Float(), nullable=True),
        sa.Column("cluster_duration", sa.Float(), nullable=True),
        sa.Column("local_duration", sa.Float(), nullable=True),
        sa.Column("subwf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("stdout_file", sa.Text(), nullable=True),
        sa.Column("stdout_text", sa.Text(), nullable=True),
        sa.Column("stderr_file", sa.Text(), nullable=True),
        sa.Column("stderr_text", sa.Text(), nullable=True),
        sa.Column("stdin_file", sa.Text(), nullable=True),
        sa.Column("multiplier_factor", sa.Integer(), nullable=False),
        sa.Column("exitcode", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["host_id"],
            ["host.host_id"],
            name=op.f("fk_job_instance_host_id_host"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.job_id"], name=op.f("fk_job_instance_job_id_job"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subwf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_job_instance_subwf_id_workflow"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("job_instance_id", name=op.f("pk_job_instance")),
        sa.UniqueConstraint(
            "job_id", "job_submit_seq", name=op.f("uq_job_instance_job_id_job_submit_seq")
        ),
    )
    op.create_index(op.f("ix_job_instance_job_id"), "job_instance", ["job_id"], unique=False)

    op.create_table(
        "rc_meta",
        sa.Column("lfn_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lfn_id"], ["rc_lfn.lfn_id"], name=op.f("fk_rc_meta_lfn_id_rc_lfn"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lfn_id", "key", name=op.f("pk_rc_meta")),
    )
    op.create_table(
        "rc_pfn",
        sa.Column(
            "pfn_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lfn_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pfn", sa.Text(), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["lfn_id"], ["rc_lfn.lfn_id"], name=op.f("fk_rc_pfn_lfn_id_rc_lfn"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pfn_id", name=op.f("pk_rc_pfn")),
        sa.UniqueConstraint("lfn_id", "pfn", "site", name=op.f("uq_rc_pfn_lfn_id_pfn_site")),
    )
    op.create_index(op.f("ix_rc_pfn_lfn_id"), "rc_pfn", ["lfn_id"], unique=False)

    op.create_table(
        "task",
        sa.Column(
            "task_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("abs_task_id", sa.String(length=255), nullable=False),
        sa.Column("transformation", sa.Text(), nullable=True),
        sa.Column("argv", sa.Text(), nullable=True),
        sa.Column("type_desc", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.job_id"], name=op.f("fk_task_job_id_job"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["wf_id"], ["workflow.wf_id"], name=op.f("fk_task_wf_id_workflow"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task")),
        sa.UniqueConstraint("wf_id", "abs_task_id", name=op.f("uq_task_wf_id_abs_task_id")),
    )
    op.create_index(op.f("ix_task_job_id"), "task", ["job_id"], unique=False)
    op.create_index(op.f("ix_task_wf_id"), "task", ["wf_id"], unique=False)

    op.create_table(
        "integrity",
        sa.Column(
            "integrity_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "job_instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("file_type", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_instance_id"],
            ["job_instance.job_instance_id"],
            name=op.f("fk_integrity_job_instance_id_job_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_integrity_wf_id_workflow"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("integrity_id", name=op.f("pk_integrity")),
        sa.UniqueConstraint(
            "job_instance_id",
            "type",
            "file_type",
            name=op.f("uq_integrity_job_instance_id_type_file_type"),
        ),
    )
    op.create_index(op.f("ix_integrity_wf_id"), "integrity", ["wf_id"], unique=False)

    op.create_table(
        "invocation",
        sa.Column(
            "invocation_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "job_instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("task_submit_seq", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Float(), nullable=True),
        sa.Column("remote_duration", sa.Float(), nullable=True),
        sa.Column("remote_cpu_time", sa.Float(), nullable=True),
        sa.Column("exitcode", sa.Integer(), nullable=True),
        sa.Column("transformation", sa.Text(), nullable=True),
        sa.Column("executable", sa.Text(), nullable=True),
        sa.Column("argv", sa.Text(), nullable=True),
        sa.Column("abs_task_id", sa.String(length=255), nullable=True),
        sa.Column("maxrss", sa.BigInteger(), nullable=True),
        sa.Column("avg_cpu", sa.Float(), nullable=True),
        sa.Column("failed_step", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_instance_id"],
            ["job_instance.job_instance_id"],
            name=op.f("fk_invocation_job_instance_id_job_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_invocation_wf_id_workflow"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invocation_id", name=op.f("pk_invocation")),
        sa.UniqueConstraint(
            "job_instance_id",
            "task_submit_seq",
            name=op.f("uq_invocation_job_instance_id_task_submit_seq"),
        ),
    )
    op.create_index(
        op.f("ix_invocation_job_instance_id"), "invocation", ["job_instance_id"], unique=False
    )
    op.create_index("ix_invocation_transformation", "invocation", ["transformation"], unique=False)
    op.create_index(op.f("ix_invocation_wf_id"), "invocation", ["wf_id"], unique=False)

    op.create_table(
        "jobstate",
        sa.Column(
            "job_instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("jobstate_submit_seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_instance_id"],
            ["job_instance.job_instance_id"],
            name=op.f("fk_jobstate_job_instance_id_job_instance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_instance_id", "jobstate_submit_seq", name=op.f("pk_jobstate")),
    )
    op.create_index("ix_jobstate_state_timestamp", "jobstate", ["state", "timestamp"], unique=False)

    op.create_table(
        "tag",
        sa.Column(
            "tag_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "job_instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_instance_id"],
            ["job_instance.job_instance_id"],
            name=op.f("fk_tag_job_instance_id_job_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wf_id"], ["workflow.wf_id"], name=op.f("fk_tag_wf_id_workflow"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tag_id", name=op.f("pk_tag")),
        sa.UniqueConstraint(
            "wf_id", "job_instance_id", "name", name=op.f("uq_tag_wf_id_job_instance_id_name")
        ),
    )
    op.create_index(op.f("ix_tag_wf_id"), "tag", ["wf_id"], unique=False)

    op.create_table(
        "task_meta",
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.task_id"],
            name=op.f("fk_task_meta_task_id_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "key", name=op.f("pk_task_meta")),
    )
    op.create_table(
        "workflow_files",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wf_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "job_instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("lfn_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_type", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_instance_id"],
            ["job_instance.job_instance_id"],
            name=op.f("fk_workflow_files_job_instance_id_job_instance"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lfn_id"],
            ["rc_lfn.lfn_id"],
            name=op.f("fk_workflow_files_lfn_id_rc_lfn"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.task_id"],
            name=op.f("fk_workflow_files_task_id_task"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["wf_id"],
            ["workflow.wf_id"],
            name=op.f("fk_workflow_files_wf_id_workflow"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_files")),
        sa.UniqueConstraint(
            "wf_id",
            "lfn_id",
            "job_instance_id",
            "file_type",
            name=op.f("uq_workflow_files_wf_id_lfn_id_job_instance_id_file_type"),
        ),
    )
    op.create_index(op.f("ix_workflow_files_wf_id"), "workflow_files", ["wf_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_workflow_files_wf_id"), table_name="workflow_files")

    op.drop_table("workflow_files")
    op.drop_table("task_meta")
    op.drop_index(op.f("ix_tag_wf_id"), table_name="tag")

    op.drop_table("tag")
    op.drop_index("ix_jobstate_state_timestamp", table_name="jobstate")

    op.drop_table("jobstate")
    op.drop_index(op.f("ix_invocation_wf_id"), table_name="invocation")
    op.drop_index("ix_invocation_transformation", table_name="invocation")
    op.drop_index(op.f("ix_invocation_job_instance_id"), table_name="invocation")

    op.drop_table("invocation")
    op.drop_index(op.f("ix_integrity_wf_id"), table_name="integrity")

    op.drop_table("integrity")
    op.drop_index(op.f("ix_task_wf_id"), table_name="task")
    op.drop_index(op.f("ix_task_job_id"), table_name="task")

    op.drop_table("task")
    op.drop_index(op.f("ix_rc_pfn_lfn_id"), table_name="rc_pfn")

    op.drop_table("rc_pfn")
    op.drop_table("rc_meta")
    op.drop_index(op.f("ix_job_instance_job_id"), table_name="job_instance")

    op.drop_table("job_instance")
    op.drop_index(op.f("ix_workflowstate_wf_id"), table_name="workflowstate")

    op.drop_table("workflowstate")
    op.drop_table("workflow_meta")
    op.drop_table("task_edge")
    op.drop_index(op.f("ix_rc_lfn_wf_id"), table_name="rc_lfn")

    op.drop_table("rc_lfn")
    op.drop_table("monitor_cursor")
    op.drop_table("job_edge")
    op.drop_index(op.f("ix_job_wf_id"), table_name="job")

    op.drop_table("job")
    op.drop_index(op.f("ix_host_wf_id"), table_name="host")

    op.drop_table("host")
    op.drop_table("dagstatus")
    op.drop_index(op.f("ix_workflow_run_id"), table_name="workflow")
    op.drop_index(op.f("ix_workflow_root_wf_id"), table_name="workflow")
    op.drop_index(op.f("ix_workflow_parent_wf_id"), table_name="workflow")

    op.drop_table("workflow")
