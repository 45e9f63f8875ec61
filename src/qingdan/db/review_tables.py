"""The review service's tables (SQLAlchemy Core), created by migration 0002 of the one chain."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from qingdan.db.base import TS, BigId, metadata  # one schema, one migration chain

accounts = Table(
    "review_accounts", metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # reviewer | developer
    Column("key_hash", String(64), nullable=False, unique=True),  # db.util.hash_token of the key
    Column("created_at", TS, nullable=False),
    Column("disabled_at", TS),
    Column("sessions_after", TS),  # console sessions issued before this are void (logout, new key, disable)
)

apps = Table(
    "review_apps", metadata,
    Column("id", String(40), primary_key=True),
    Column("package", String(255), nullable=False, unique=True),
    Column("owner_id", String(40), ForeignKey("review_accounts.id")),  # None: known only from a batch
    Column("created_at", TS, nullable=False),
    # migration 0005: the signing certificates (sha256s, sorted, comma-joined) of the first version
    # scanned for the app; later versions must share one of them (else a review.signer-changed finding)
    Column("signer", Text),
)

# one row per package content: the same sha256 is scanned once, whatever submits it
scans = Table(
    "review_scans", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("path", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("package", String(255)),
    Column("version_name", String(200)),
    Column("version_code", BigInteger),
    Column("report_json", Text),
    Column("error", Text),
    Column("lease_until", TS),  # a running scan whose lease ran out was lost with its worker
    Column("signer", Text),  # migration 0005: the package's certificate sha256s (sorted, comma-joined)
    Column("created_at", TS, nullable=False),
    Column("started_at", TS),
    Column("finished_at", TS),
)

submissions = Table(
    "review_submissions", metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("review_apps.id")),  # None until a batch item is scanned
    Column("submitted_by", String(40), ForeignKey("review_accounts.id"), nullable=False),
    Column("sha256", String(64), ForeignKey("review_scans.sha256"), nullable=False),
    Column("version_name", String(200)),
    Column("version_code", BigInteger),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("created_at", TS, nullable=False),
    Column("started_at", TS),
    Column("finished_at", TS),
    # migration 0003: the policy, lists and UI dumps sent with the package (JSON list of
    # {kind, name, sha256, size, path}), and the scan's report with their findings merged in
    Column("attachments_json", Text),
    Column("merged_report_json", Text),
    # migration 0005: the package name a developer's upload was made for (the app is claimed, and
    # app_id set, only when its scan succeeds with that name), and the key that makes identical
    # uploads one submission (package, account, sha256, attachments; unique, so a race cannot double it)
    Column("declared_package", String(255)),
    Column("dedup_key", String(64)),
    Index("ux_review_submissions_dedup", "dedup_key", unique=True),
    Index("ix_review_submissions_app", "app_id", "created_at"),
    Index("ix_review_submissions_sha", "sha256"),
    Index("ix_review_submissions_status", "status"),
)

verdicts = Table(
    "review_verdicts", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("submission_id", String(40), ForeignKey("review_submissions.id"), nullable=False),
    Column("reviewer_id", String(40), ForeignKey("review_accounts.id"), nullable=False),
    Column("decision", String(16), nullable=False),  # approve | reject
    Column("rules_json", Text, nullable=False, server_default="[]"),  # rule ids among the findings
    Column("note", Text, nullable=False, server_default=""),
    Column("at", TS, nullable=False),
    Index("ix_review_verdicts_submission", "submission_id"),
)

log = Table(
    "review_log", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("submission_id", String(40), ForeignKey("review_submissions.id"), nullable=False),
    Column("event", String(32), nullable=False),  # queued | started | done | failed
    Column("detail", Text, nullable=False, server_default=""),
    Column("at", TS, nullable=False),
    Index("ix_review_log_submission", "submission_id"),
)
