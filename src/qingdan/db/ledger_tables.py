"""The ledger's tables (SQLAlchemy Core). Changes go through a migration in ``migrations/versions``."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from qingdan.db.base import TS, BigId, metadata

apps = Table(
    "apps", metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("lists_path", Text),
    Column("lists_json", Text, nullable=False),  # the declared double list when the app was registered
    Column("retention_json", Text, nullable=False, server_default="{}"),  # {pi_type: days}
    Column("created_at", TS, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 hex of the token
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS),
)

events = Table(
    "events", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("user_ref", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # collected | shared
    Column("pi_type", String(64), nullable=False),
    Column("purpose", String(500), nullable=False),
    Column("scenario", String(500), nullable=False),
    Column("source", String(200), nullable=False),  # app | SDK id | third party
    Column("value_enc", LargeBinary),
    Column("key_id", String(40)),  # the API key that sent it
    Column("occurred_at", TS, nullable=False),
    Column("received_at", TS, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("flags", String(200), nullable=False, server_default=""),  # comma-separated
    UniqueConstraint("app_id", "idempotency_key", name="uq_events_app_idem"),
    Index("ix_events_user", "app_id", "user_ref", "occurred_at"),
    Index("ix_events_retention", "app_id", "pi_type", "occurred_at"),
)

AGG_KEY = ("app_id", "user_ref", "kind", "pi_type", "purpose", "scenario", "source")

aggregates = Table(
    "aggregates", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("user_ref", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("pi_type", String(64), nullable=False),
    Column("purpose", String(500), nullable=False),
    Column("scenario", String(500), nullable=False),
    Column("source", String(200), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("first_at", TS, nullable=False),
    Column("last_at", TS, nullable=False),
    Column("last_value_enc", LargeBinary),
    Column("flags", String(200), nullable=False, server_default=""),
    UniqueConstraint(*AGG_KEY, name="uq_aggregates_key"),  # also the index of the user page's query
)
