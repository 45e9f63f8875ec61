"""review submissions: attached policy, lists and UI dumps, and the report with their findings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_submissions") as b:
        b.add_column(sa.Column("attachments_json", sa.Text()))
        b.add_column(sa.Column("merged_report_json", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("review_submissions") as b:
        b.drop_column("merged_report_json")
        b.drop_column("attachments_json")
