"""What the package store may forget: ``purge`` removes upload leftovers (temporary files of uploads
that never finished), orphans (files no scan or attachment refers to, e.g. an upload refused after it
was stored) and, when asked, the packages of scans finished more than ``keep_days`` ago. Reports,
verdicts and history stay in the database; a purged package only can no longer be scanned again
(a batch naming its sha256 says "no such stored package")."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from qingdan.db.review_tables import scans, submissions
from qingdan.db.util import utcnow
from qingdan.review.storage import SHA_RE, Storage
from qingdan.review.store import FINAL, ReviewStore

GRACE_S = 3600.0  # an upload stores its file before its row: younger files are never orphans


@dataclass
class Purged:
    temp: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    bytes: int = 0

    @property
    def files(self) -> int:
        return len(self.temp) + len(self.orphans) + len(self.expired)


def purge(store: ReviewStore, storage: Storage, keep_days: float | None = None, dry_run: bool = False,
          grace_s: float = GRACE_S) -> Purged:
    out = Purged()
    if not storage.root.is_dir():
        return out
    now = time.time()
    referenced: set[str] = set()
    expired: set[str] = set()
    with store.engine.connect() as c:
        referenced.update(sha for (sha,) in c.execute(select(scans.c.sha256)))
        attached = select(submissions.c.attachments_json).where(submissions.c.attachments_json.is_not(None))
        for (raw,) in c.execute(attached):
            referenced.update(a["sha256"] for a in json.loads(raw))
        if keep_days is not None:
            cutoff = utcnow() - timedelta(days=keep_days)
            live = {sha for (sha,) in c.execute(
                select(submissions.c.sha256).where(submissions.c.status.not_in(FINAL)))}
            expired = {sha for (sha,) in c.execute(select(scans.c.sha256).where(
                scans.c.status.in_(FINAL), scans.c.finished_at < cutoff))} - live
    for p in storage.root.iterdir():
        try:
            st = p.stat()
        except OSError:
            continue
        if not p.is_file():
            continue
        young = now - st.st_mtime < grace_s
        if p.name.startswith(".upload-"):
            bucket = None if young else out.temp
        elif SHA_RE.match(p.name):
            if p.name in expired:
                bucket = out.expired
            elif p.name not in referenced and not young:
                bucket = out.orphans
            else:
                bucket = None
        else:
            bucket = None  # not ours: left alone
        if bucket is None:
            continue
        if not dry_run:
            try:
                p.unlink()
            except FileNotFoundError:
                continue
        bucket.append(p.name)
        out.bytes += st.st_size
    return out
