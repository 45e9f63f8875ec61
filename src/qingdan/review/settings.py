"""Settings of the review service, from ``QINGDAN_*`` environment variables.

- ``QINGDAN_STORAGE_DIR``: where uploaded packages are kept, one file per sha256
  (default ``./qingdan-storage``).
- ``QINGDAN_MAX_UPLOAD_MB``: the largest package accepted (default 512).
- ``QINGDAN_BROKER_URL``: unset → scans run in an in-process worker pool; ``redis://…`` → Celery
  (run ``qingdan worker``).
- ``QINGDAN_REVIEW_WORKERS``: threads of the in-process pool (default 2).
- ``QINGDAN_SCAN_LEASE_S``: how long a running scan may go before another worker takes it over as
  lost (default 900).
- ``QINGDAN_BATCH_ROOT``: server folders below this one may be submitted with ``POST /v1/review/batch``
  (unset: folder batches are refused).
- ``QINGDAN_QUEUE``: the Celery queue name (default ``qingdan-review``).
- ``QINGDAN_VISIBILITY_TIMEOUT``: seconds before Redis hands an unacknowledged task (its worker
  died) to another worker (default 3600).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from qingdan.db import DEFAULT_DATABASE_URL


@dataclass(slots=True)
class ReviewSettings:
    database_url: str
    storage_dir: Path
    max_upload_bytes: int
    broker_url: str | None
    workers: int = 2
    scan_lease_s: float = 900.0
    batch_root: Path | None = None
    queue: str = "qingdan-review"
    visibility_timeout: int = 3600

    @classmethod
    def from_env(cls, database_url: str | None = None) -> ReviewSettings:
        env = os.environ
        root = env.get("QINGDAN_BATCH_ROOT")
        return cls(
            database_url=database_url or env.get("QINGDAN_DATABASE_URL") or DEFAULT_DATABASE_URL,
            storage_dir=Path(env.get("QINGDAN_STORAGE_DIR") or "qingdan-storage"),
            max_upload_bytes=int(float(env.get("QINGDAN_MAX_UPLOAD_MB") or 512) * 1024 * 1024),
            broker_url=env.get("QINGDAN_BROKER_URL") or None,
            workers=max(1, int(env.get("QINGDAN_REVIEW_WORKERS") or 2)),
            scan_lease_s=float(env.get("QINGDAN_SCAN_LEASE_S") or 900),
            batch_root=Path(root).resolve() if root else None,
            queue=env.get("QINGDAN_QUEUE") or "qingdan-review",
            visibility_timeout=int(env.get("QINGDAN_VISIBILITY_TIMEOUT") or 3600),
        )
