"""Engines and migrations. SQLite (a file, WAL) by default; PostgreSQL through psycopg 3."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
IDLE_PING_S = 2.0


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False,
                                                  "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free space
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            # writers take the lock up front: a deferred transaction that upgrades to a writer
            # fails at once with "database is locked" instead of waiting for the busy timeout
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("qd_write")
                                 else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, pool_size=10, max_overflow=20)

    # A pooled connection idle for a while is pinged when taken (a server restarted meanwhile: the pool
    # opens a new one); one in steady use is not (a ping per checkout costs every request a round trip).
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):  # noqa: ANN001
        record.info["qd_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):  # noqa: ANN001
        since = record.info.get("qd_idle_since")
        if since is not None and time.monotonic() - since > IDLE_PING_S:
            try:
                dbapi_conn.execute("SELECT 1")
                dbapi_conn.rollback()
            except Exception as exc:  # noqa: BLE001 - any failure: this connection is gone
                raise DisconnectionError(f"stale pooled connection: {exc}") from exc

    return engine


def scrub(engine: Engine) -> None:
    """After a deletion on SQLite: copy the WAL into the database file and truncate it, so the deleted
    rows' bytes (overwritten there by ``secure_delete``) are gone from the ``-wal`` file as well. It
    waits (busy timeout) for readers of older snapshots; a reader past that leaves the WAL for the next
    checkpoint (the deletion itself is committed: no error for it). Nothing to do on PostgreSQL."""
    import sqlite3

    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.OperationalError:  # busy past the timeout
        pass
    finally:
        raw.close()


def writer(engine: Engine) -> Engine:
    """The same engine, whose transactions are write transactions (BEGIN IMMEDIATE on SQLite)."""
    return engine.execution_options(qd_write=True)


def _config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (idempotent; run at startup and by `qingdan ledger migrate`)."""
    from alembic import command

    with writer(engine).begin() as conn:
        command.upgrade(_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
