"""The submissions store: accounts, apps, scans (deduplicated by sha256), submissions, verdicts."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from qingdan.ledger.db import writer
from qingdan.ledger.store import as_utc, hash_token, utcnow
from qingdan.review.schema import accounts, apps, log, scans, submissions, verdicts

ROLES = ("reviewer", "developer")
FINAL = ("done", "failed")
DECISIONS = ("approve", "reject")


# a submission's report: its own (with the attachments' findings) when it has one, else its scan's
_REPORT = func.coalesce(submissions.c.merged_report_json, scans.c.report_json).label("report_json")


class Forbidden(Exception):
    pass


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def _ts(v: datetime | None) -> str | None:
    return as_utc(v).isoformat() if v is not None else None


class ReviewStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.w = writer(engine)

    # ---------------------------------------------------------------- accounts and apps
    def create_account(self, name: str, role: str) -> tuple[str, str]:
        """A new account; returns (id, API key). Only the key's hash is stored."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        acc_id, key = _new_id("acc"), "qdr_" + secrets.token_urlsafe(32)
        with self.w.begin() as c:
            if c.execute(select(accounts.c.id).where(accounts.c.name == name)).first():
                raise ValueError(f"an account named {name!r} exists")
            c.execute(insert(accounts).values(id=acc_id, name=name, role=role, key_hash=hash_token(key),
                                              created_at=utcnow()))
        return acc_id, key

    def authenticate(self, key: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(accounts.c.id, accounts.c.name, accounts.c.role).where(
                accounts.c.key_hash == hash_token(key), accounts.c.disabled_at.is_(None))).first()
        return dict(row._mapping) if row else None

    def app_by_package(self, package: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(apps).where(apps.c.package == package)).first()
        return dict(row._mapping) if row else None

    def app_for_upload(self, package: str, owner_id: str) -> str:
        """The app's id, registering it to ``owner_id`` on first upload; Forbidden if another owns it."""
        with self.w.begin() as c:
            row = c.execute(select(apps).where(apps.c.package == package)).first()
            if row is None:
                app_id = _new_id("app")
                c.execute(insert(apps).values(id=app_id, package=package, owner_id=owner_id, created_at=utcnow()))
                return app_id
            if row.owner_id != owner_id:
                raise Forbidden(f"app {package} is registered to another account")
            return row.id

    # ---------------------------------------------------------------- submissions
    def create_submission(self, app_id: str | None, account_id: str, sha256: str, path: str,
                          size: int, attachments: list[dict] | None = None) -> tuple[str, bool]:
        """(submission id, duplicate). The same package for the same app is one submission; the same
        package anywhere is one scan. ``attachments``: stored policy/lists/UI files (see
        qingdan.review.attachments), kept with a new submission only."""
        now = utcnow()
        with self.w.begin() as c:
            if app_id is not None:
                dup = c.execute(select(submissions.c.id).where(
                    submissions.c.app_id == app_id, submissions.c.sha256 == sha256)).first()
                if dup:
                    return dup.id, True
            if c.execute(select(scans.c.sha256).where(scans.c.sha256 == sha256)).first() is None:
                c.execute(insert(scans).values(sha256=sha256, path=path, size=size, status="queued", attempts=0,
                                               created_at=now))
            sub_id = _new_id("sub")
            c.execute(insert(submissions).values(id=sub_id, app_id=app_id, submitted_by=account_id, sha256=sha256,
                                                 status="queued", attempts=0, created_at=now,
                                                 attachments_json=json.dumps(attachments, ensure_ascii=False)
                                                 if attachments else None))
            c.execute(insert(log).values(submission_id=sub_id, event="queued", detail="", at=now))
            if attachments:
                c.execute(insert(log).values(submission_id=sub_id, event="attachments", at=now, detail="; ".join(
                    f"{a['kind']} {a['name']} {a['sha256'][:12]}" for a in attachments)[:2000]))
        return sub_id, False

    def submission(self, sub_id: str) -> dict | None:
        q = (select(submissions, apps.c.package, apps.c.owner_id, _REPORT, scans.c.report_json.label("scan_report_json"),
                    scans.c.size,
                    scans.c.path, scans.c.status.label("scan_status"), scans.c.attempts.label("scan_attempts"))
             .select_from(submissions.join(scans, scans.c.sha256 == submissions.c.sha256)
                          .outerjoin(apps, apps.c.id == submissions.c.app_id))
             .where(submissions.c.id == sub_id))
        with self.engine.connect() as c:
            row = c.execute(q).first()
        return dict(row._mapping) if row else None

    def set_report(self, sub_id: str, report: dict) -> None:
        """The submission's own report (the scan's plus its attachments' findings), until it is final."""
        with self.w.begin() as c:
            c.execute(update(submissions).where(submissions.c.id == sub_id, submissions.c.status.not_in(FINAL))
                      .values(merged_report_json=json.dumps(report, ensure_ascii=False)))

    def unfinished(self) -> list[str]:
        with self.engine.connect() as c:
            return [r.id for r in c.execute(select(submissions.c.id).where(
                submissions.c.status.not_in(FINAL)).order_by(submissions.c.created_at))]

    def start(self, sub_id: str) -> bool:
        """Count an attempt; False when there is nothing to do (unknown or already finished)."""
        now = utcnow()
        with self.w.begin() as c:
            row = c.execute(select(submissions.c.status, submissions.c.attempts)
                            .where(submissions.c.id == sub_id)).first()
            if row is None or row.status in FINAL:
                return False
            c.execute(update(submissions).where(submissions.c.id == sub_id).values(
                status="running", attempts=row.attempts + 1, started_at=now))
            c.execute(insert(log).values(submission_id=sub_id, event="started", detail=f"attempt {row.attempts + 1}",
                                         at=now))
        return True

    def claim_scan(self, sha256: str, lease_s: float) -> tuple[str, float]:
        """('done'|'failed', 0) when scanned; ('claimed', 0) when this caller must scan it now;
        ('busy', seconds) while another worker's lease runs."""
        now = utcnow()
        with self.w.begin() as c:
            row = c.execute(select(scans.c.status, scans.c.attempts, scans.c.lease_until)
                            .where(scans.c.sha256 == sha256)).first()
            if row is None:
                raise LookupError(f"no scan for {sha256}")
            if row.status in FINAL:
                return row.status, 0.0
            if row.status == "running" and row.lease_until is not None and as_utc(row.lease_until) > now:
                return "busy", (as_utc(row.lease_until) - now).total_seconds()
            c.execute(update(scans).where(scans.c.sha256 == sha256).values(
                status="running", attempts=row.attempts + 1, started_at=now,
                lease_until=now + timedelta(seconds=lease_s)))
        return "claimed", 0.0

    def finish_scan(self, sha256: str, report: dict | None, error: str | None) -> None:
        vals: dict[str, Any] = {"finished_at": utcnow(), "lease_until": None}
        if report is not None:
            app = report["app"]
            vals.update(status="done", report_json=json.dumps(report, ensure_ascii=False), error=None,
                        package=app["package"], version_name=app.get("version_name"),
                        version_code=app.get("version_code"))
        else:
            vals.update(status="failed", error=error or "scan failed")
        with self.w.begin() as c:
            c.execute(update(scans).where(scans.c.sha256 == sha256, scans.c.status.not_in(FINAL)).values(**vals))

    def finish(self, sub_id: str) -> str | None:
        """Carry the scan's outcome to the submission, once: returns the final status, or None if the
        submission was already final (a redelivered task)."""
        now = utcnow()
        with self.w.begin() as c:
            sub = c.execute(select(submissions).where(submissions.c.id == sub_id)).first()
            if sub is None or sub.status in FINAL:
                return None
            sc = c.execute(select(scans).where(scans.c.sha256 == sub.sha256)).first()
            if sc.status not in FINAL:
                return None
            vals: dict[str, Any] = {"finished_at": now}
            status, error = sc.status, sc.error
            if status == "done":
                vals.update(version_name=sc.version_name, version_code=sc.version_code)
                app_id = sub.app_id
                if app_id is None:  # a batch item: the app is known only now
                    row = c.execute(select(apps.c.id).where(apps.c.package == sc.package)).first()
                    if row is None:
                        app_id = _new_id("app")
                        c.execute(insert(apps).values(id=app_id, package=sc.package, owner_id=None, created_at=now))
                    else:
                        app_id = row.id
                    vals["app_id"] = app_id
                else:
                    declared = c.execute(select(apps.c.package).where(apps.c.id == app_id)).scalar_one()
                    if declared != sc.package:
                        status, error = "failed", f"the package is {sc.package}, not the app {declared} it was submitted for"
            vals.update(status=status, error=error)
            c.execute(update(submissions).where(submissions.c.id == sub_id).values(**vals))
            c.execute(insert(log).values(submission_id=sub_id, event=status, detail=error or "", at=now))
        return status

    def events(self, sub_id: str) -> list[dict]:
        with self.engine.connect() as c:
            return [{"event": r.event, "detail": r.detail, "at": _ts(r.at)} for r in c.execute(
                select(log).where(log.c.submission_id == sub_id).order_by(log.c.id))]

    # ---------------------------------------------------------------- verdicts and history
    def add_verdict(self, sub_id: str, reviewer_id: str, decision: str, rules: list[str], note: str) -> dict:
        now = utcnow()
        with self.w.begin() as c:
            vid = c.execute(insert(verdicts).values(submission_id=sub_id, reviewer_id=reviewer_id, decision=decision,
                                                    rules_json=json.dumps(rules), note=note, at=now)).inserted_primary_key[0]
        return {"id": vid, "decision": decision, "rules": rules, "note": note, "at": _ts(now)}

    def verdicts(self, sub_ids: list[str]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {s: [] for s in sub_ids}
        if not sub_ids:
            return out
        q = (select(verdicts, accounts.c.name.label("reviewer"))
             .join(accounts, accounts.c.id == verdicts.c.reviewer_id)
             .where(verdicts.c.submission_id.in_(sub_ids)).order_by(verdicts.c.id))
        with self.engine.connect() as c:
            for r in c.execute(q):
                out[r.submission_id].append({"id": r.id, "decision": r.decision, "rules": json.loads(r.rules_json),
                                             "note": r.note, "reviewer": r.reviewer, "at": _ts(r.at)})
        return out

    def app_submissions(self, app_id: str) -> list[dict]:
        q = (select(submissions, _REPORT)
             .join(scans, scans.c.sha256 == submissions.c.sha256)
             .where(submissions.c.app_id == app_id)
             .order_by(func.coalesce(submissions.c.version_code, 0), submissions.c.created_at))
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(q)]
