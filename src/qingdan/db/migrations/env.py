"""Alembic environment of the one migration chain: run by qingdan.db.engine.migrate (no alembic.ini)."""

from alembic import context

from qingdan.db.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the ledger migrations through `qingdan ledger migrate`")
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
