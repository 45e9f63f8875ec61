"""Small helpers both stores use for what they write and read back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def hash_token(token: str) -> str:
    """What is stored of an API key or an account's key: the sha256 hex of the token."""
    return hashlib.sha256(token.encode()).hexdigest()
