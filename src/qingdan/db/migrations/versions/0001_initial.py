"""the ledger: apps, api_keys, events, aggregates

Revision ID: 0001
Revises:
Create Date: 2025-06-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lists_path", sa.Text()),
        sa.Column("lists_json", sa.Text(), nullable=False),
        sa.Column("retention_json", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
    )
    op.create_index("ix_api_keys_app_id", "api_keys", ["app_id"])
    op.create_table(
        "events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_ref", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pi_type", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("scenario", sa.String(500), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("value_enc", sa.LargeBinary()),
        sa.Column("key_id", sa.String(40)),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("flags", sa.String(200), nullable=False, server_default=""),
        sa.UniqueConstraint("app_id", "idempotency_key", name="uq_events_app_idem"),
    )
    op.create_index("ix_events_user", "events", ["app_id", "user_ref", "occurred_at"])
    op.create_index("ix_events_retention", "events", ["app_id", "pi_type", "occurred_at"])
    op.create_table(
        "aggregates",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.String(40), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_ref", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pi_type", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("scenario", sa.String(500), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_at", TS, nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.Column("last_value_enc", sa.LargeBinary()),
        sa.Column("flags", sa.String(200), nullable=False, server_default=""),
        sa.UniqueConstraint("app_id", "user_ref", "kind", "pi_type", "purpose", "scenario", "source",
                            name="uq_aggregates_key"),
    )


def downgrade() -> None:
    op.drop_table("aggregates")
    op.drop_table("events")
    op.drop_table("api_keys")
    op.drop_table("apps")
