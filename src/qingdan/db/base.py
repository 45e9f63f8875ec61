"""The one ``MetaData`` every table registers into, and the column types the tables share."""

from __future__ import annotations

from sqlalchemy import BigInteger, DateTime, Integer, MetaData

metadata = MetaData()

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite so autoincrement works there
BigId = BigInteger().with_variant(Integer(), "sqlite")
TS = DateTime(timezone=True)
