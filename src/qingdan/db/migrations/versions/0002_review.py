"""the app-store review service: accounts, apps, scans (one per package sha256), submissions,
verdicts and the submissions' event log

Revision ID: 0002
Revises: 0001
Create Date: 2025-07-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_accounts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("disabled_at", TS),
    )
    op.create_table(
        "review_apps",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("package", sa.String(255), nullable=False, unique=True),
        sa.Column("owner_id", sa.String(40), sa.ForeignKey("review_accounts.id")),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "review_scans",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("package", sa.String(255)),
        sa.Column("version_name", sa.String(200)),
        sa.Column("version_code", sa.BigInteger()),
        sa.Column("report_json", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("lease_until", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
    )
    op.create_table(
        "review_submissions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("app_id", sa.String(40), sa.ForeignKey("review_apps.id")),
        sa.Column("submitted_by", sa.String(40), sa.ForeignKey("review_accounts.id"), nullable=False),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("review_scans.sha256"), nullable=False),
        sa.Column("version_name", sa.String(200)),
        sa.Column("version_code", sa.BigInteger()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
    )
    op.create_index("ix_review_submissions_app", "review_submissions", ["app_id", "created_at"])
    op.create_index("ix_review_submissions_sha", "review_submissions", ["sha256"])
    op.create_index("ix_review_submissions_status", "review_submissions", ["status"])
    op.create_table(
        "review_verdicts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.String(40), sa.ForeignKey("review_submissions.id"), nullable=False),
        sa.Column("reviewer_id", sa.String(40), sa.ForeignKey("review_accounts.id"), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("rules_json", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_review_verdicts_submission", "review_verdicts", ["submission_id"])
    op.create_table(
        "review_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.String(40), sa.ForeignKey("review_submissions.id"), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_review_log_submission", "review_log", ["submission_id"])


def downgrade() -> None:
    op.drop_table("review_log")
    op.drop_table("review_verdicts")
    op.drop_table("review_submissions")
    op.drop_table("review_scans")
    op.drop_table("review_apps")
    op.drop_table("review_accounts")
