"""review accounts: console sessions issued before ``sessions_after`` are void (logout, key rotation,
disable); on PostgreSQL with lz4, the report columns are compressed with lz4 (about half the CPU of the
default pglz per report, the same size)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


REPORTS = (("review_scans", "report_json"), ("review_submissions", "merged_report_json"))


def _has_lz4(bind) -> bool:
    return bind.dialect.name == "postgresql" and bool(bind.exec_driver_sql(
        "SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' "
        "AND 'lz4' = ANY(enumvals)").scalar())


def upgrade() -> None:
    with op.batch_alter_table("review_accounts") as b:
        b.add_column(sa.Column("sessions_after", sa.DateTime(timezone=True)))
    if _has_lz4(op.get_bind()):
        for table, column in REPORTS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    if _has_lz4(op.get_bind()):
        for table, column in REPORTS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION pglz")
    with op.batch_alter_table("review_accounts") as b:
        b.drop_column("sessions_after")
