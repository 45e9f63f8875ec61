"""Every table of the one migration chain, registered in one ``MetaData``.

Changes to a table go through a new revision in ``migrations/versions``.
"""

from __future__ import annotations

from qingdan.db import ledger_tables, review_tables  # noqa: F401 - they register their tables
from qingdan.db.base import metadata

__all__ = ["metadata"]
