"""review: a package name is claimed by the first successful scan of a developer's upload for it
(``review_submissions.declared_package``, ``app_id`` set then); identical uploads are one submission
by a unique ``dedup_key``; the first version's signing certificates bind later ones
(``review_apps.signer``, ``review_scans.signer``)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_submissions") as b:
        b.add_column(sa.Column("declared_package", sa.String(255)))
        b.add_column(sa.Column("dedup_key", sa.String(64)))
        b.create_index("ux_review_submissions_dedup", ["dedup_key"], unique=True)
    with op.batch_alter_table("review_apps") as b:
        b.add_column(sa.Column("signer", sa.Text()))
    with op.batch_alter_table("review_scans") as b:
        b.add_column(sa.Column("signer", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("review_scans") as b:
        b.drop_column("signer")
    with op.batch_alter_table("review_apps") as b:
        b.drop_column("signer")
    with op.batch_alter_table("review_submissions") as b:
        b.drop_index("ux_review_submissions_dedup")
        b.drop_column("dedup_key")
        b.drop_column("declared_package")
