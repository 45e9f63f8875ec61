"""The database both services share: one engine factory, one schema, one Alembic migration chain.

- ``engine``: ``make_engine`` (SQLite with WAL, or PostgreSQL through psycopg 3), ``writer``,
  ``scrub``, ``migrate`` and ``current_revision``;
- ``base``: the one ``MetaData`` and the column types the tables share;
- ``ledger_tables`` and ``review_tables``: the ledger's and the review service's tables;
- ``schema``: the ``MetaData`` with every table registered (what the migrations are checked against);
- ``util``: ``utcnow``, ``as_utc`` and ``hash_token``, used by both stores;
- ``migrations/``: the Alembic environment and the revisions (``0001`` … ``0005``).

The ledger and the review service are peers: each imports from here, neither from the other.
"""

# a file in the working folder: both services' settings default to it (QINGDAN_DATABASE_URL unset)
DEFAULT_DATABASE_URL = "sqlite:///qingdan-ledger.db"
