"""The submissions store: accounts, apps, scans (deduplicated by sha256), submissions, verdicts."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from qingdan._io import terminal_text
from qingdan.checks.findings import count_by_severity
from qingdan.db.engine import writer
from qingdan.db.review_tables import accounts, apps, log, scans, submissions, verdicts
from qingdan.db.util import as_utc, hash_token, utcnow
from qingdan.review.queries import PACKAGE_OF, ConsoleQueries
from qingdan.review.rules import REVIEW_RULES, signer_finding  # noqa: F401 - REVIEW_RULES: its old home

ROLES = ("reviewer", "developer")
FINAL = ("done", "failed")


# what Android accepts as a package name (segments of letters, digits and _, not starting with a digit)
VALID_PACKAGE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _column(text: str | None, limit: int) -> str | None:
    """An app's string as a column can hold it on every database: no control character (PostgreSQL
    refuses NUL in text), at most ``limit`` characters (the report keeps the whole string)."""
    return None if text is None else terminal_text(text)[:limit]


# a submission's report: its own (with the attachments' findings) when it has one, else its scan's
_REPORT = func.coalesce(submissions.c.merged_report_json, scans.c.report_json).label("report_json")
_PACKAGE = PACKAGE_OF  # a submission's app: its app's package once bound, else the one it was uploaded for
PACKAGE = _PACKAGE.label("package")


class Forbidden(Exception):
    pass


def sees(viewer: dict, owner_id: str | None, submitted_by: str | None = None) -> bool:
    """The access rule: a reviewer sees every app and submission, a developer their own apps' and the
    submissions they made (also those for a name they have not claimed, e.g. a scan that failed)."""
    return viewer["role"] == "reviewer" or (owner_id is not None and owner_id == viewer["id"]) or (
        submitted_by is not None and submitted_by == viewer["id"])


def signer_of(report: dict | None) -> str:
    """The signing certificates of a scanned package: sha256s, sorted, comma-joined ('' unsigned)."""
    certs = ((report or {}).get("signing") or {}).get("certificates") or ()
    return ",".join(sorted({c["sha256"] for c in certs if c.get("sha256")}))


def same_signer(bound: str | None, signer: str | None) -> bool:
    """Whether a version signed by ``signer`` may follow versions signed by ``bound``: nothing bound
    yet, or at least one certificate in common (a v3 key rotation keeps the old one for old devices)."""
    return not bound or bool(set(bound.split(",")) & set((signer or "").split(",")) - {""})


def _dedup_key(package: str, account_id: str, sha256: str, attachments: list[dict] | None) -> str:
    raw = json.dumps([package, account_id, sha256, _files(attachments)], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def _files(attachments: list[dict] | None) -> list[tuple[str, str]]:
    """What identifies a submission's attachments: (kind, sha256) of each, in order."""
    return sorted((a["kind"], a["sha256"]) for a in attachments or ())


def _ts(v: datetime | None) -> str | None:
    return as_utc(v).isoformat() if v is not None else None


class ReviewStore(ConsoleQueries):
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

    def accounts(self) -> list[dict]:
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(
                select(accounts.c.id, accounts.c.name, accounts.c.role, accounts.c.created_at,
                       accounts.c.disabled_at)
                .order_by(accounts.c.created_at, accounts.c.name))]

    def set_disabled(self, name: str, disabled: bool) -> dict:
        """Disable (its key stops working at once) or enable an account; LookupError if unknown."""
        with self.w.begin() as c:
            now = utcnow()
            vals = {"disabled_at": now, "sessions_after": now} if disabled else {"disabled_at": None}
            n = c.execute(update(accounts).where(accounts.c.name == name).values(**vals)).rowcount
            if n != 1:
                raise LookupError(f"no account named {name!r}")
            row = c.execute(select(accounts.c.id, accounts.c.role).where(accounts.c.name == name)).one()
        return dict(row._mapping)

    def rotate_key(self, name: str) -> tuple[str, str]:
        """A new API key for the account (the old one, and console sessions opened with it, stop working
        at once); returns (id, key)."""
        key = "qdr_" + secrets.token_urlsafe(32)
        with self.w.begin() as c:
            row = c.execute(select(accounts.c.id).where(accounts.c.name == name)).first()
            if row is None:
                raise LookupError(f"no account named {name!r}")
            c.execute(update(accounts).where(accounts.c.id == row.id).values(key_hash=hash_token(key),
                                                                             sessions_after=utcnow()))
        return row.id, key

    def end_sessions(self, acc_id: str) -> None:
        """Void every console session of the account issued until now (logout ends them all)."""
        with self.w.begin() as c:
            c.execute(update(accounts).where(accounts.c.id == acc_id).values(sessions_after=utcnow()))

    def app_by_package(self, package: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(apps).where(apps.c.package == package)).first()
        return dict(row._mapping) if row else None

    def visible_app(self, package: str, viewer: dict) -> dict | None:
        """The app, or None when unknown or not the viewer's to see (the same answer: no leak)."""
        a = self.app_by_package(package)
        return a if a is not None and sees(viewer, a["owner_id"]) else None

    def check_upload(self, package: str, owner_id: str) -> None:
        """Forbidden when another account owns the app (asked before the upload's body is read)."""
        with self.engine.connect() as c:
            self._app_for_upload(c, package, owner_id)

    def _app_for_upload(self, c, package: str, owner_id: str) -> str | None:
        """The app's id when ``owner_id`` owns it; None when nobody does (unknown, or known only from a
        reviewer's batch): the name is claimed only when the upload's scan succeeds with that package
        name (see :meth:`complete`). Forbidden if another account owns it."""
        row = c.execute(select(apps.c.id, apps.c.owner_id).where(apps.c.package == package)).first()
        if row is None or row.owner_id is None:
            return None
        if row.owner_id != owner_id:
            raise Forbidden(f"app {package} is registered to another account")
        return row.id

    # ---------------------------------------------------------------- submissions
    def create_submission(self, app_id: str | None, account_id: str, sha256: str, path: str,
                          size: int, attachments: list[dict] | None = None) -> tuple[str, bool]:
        """(submission id, duplicate). The same package for the same app with the same attachments is
        one submission (new attachments, e.g. a corrected privacy policy for an unchanged package, make
        a new one); the same package anywhere is one scan. ``attachments``: stored policy/lists/UI files (see
        qingdan.review.attachments), kept with a new submission only."""
        sub_id, dup, _ = self._racing(lambda c: self._create(c, app_id, account_id, sha256, path, size,
                                                             attachments, None))
        return sub_id, dup

    def submit(self, package: str, owner_id: str, sha256: str, path: str, size: int,
               attachments: list[dict] | None = None) -> tuple[str, bool, str]:
        """A developer's upload in one transaction (Forbidden if another account owns the app): the
        submission, bound to the app when ``owner_id`` owns it already, else recording ``package`` as
        the name it claims if its scan succeeds. Returns (submission id, duplicate, status)."""
        return self._racing(lambda c: self._create(c, self._app_for_upload(c, package, owner_id), owner_id,
                                                   sha256, path, size, attachments, package))

    def _racing(self, work):
        """``work(connection)`` in a write transaction, run again when a concurrent one won the race to
        insert the same unique row (the second run finds it). Every check-then-insert that must not be
        doubled (app by package, scan by sha256, submission by dedup_key) is backed by a unique key:
        under READ COMMITTED a plain select sees nothing of a concurrent transaction until it commits."""
        for attempt in range(3):
            try:
                with self.w.begin() as c:
                    return work(c)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _create(self, c, app_id: str | None, account_id: str, sha256: str, path: str, size: int,
                attachments: list[dict] | None, package: str | None) -> tuple[str, bool, str]:
        now = utcnow()
        key = _dedup_key(package, account_id, sha256, attachments) if package is not None else None
        if key is not None:
            cond = submissions.c.dedup_key == key
            if app_id is not None:  # also rows from before migration 0005 (no dedup_key)
                cond = cond | ((submissions.c.app_id == app_id) & (submissions.c.sha256 == sha256))
            mine = _files(attachments)
            for dup in c.execute(select(submissions.c.id, submissions.c.status,
                                        submissions.c.attachments_json)
                                 .where(cond).order_by(submissions.c.created_at)):
                if _files(json.loads(dup.attachments_json) if dup.attachments_json else None) == mine:
                    return dup.id, True, dup.status
        if c.execute(select(scans.c.sha256).where(scans.c.sha256 == sha256)).first() is None:
            c.execute(insert(scans).values(sha256=sha256, path=path, size=size, status="queued", attempts=0,
                                           created_at=now))
        sub_id = _new_id("sub")
        c.execute(insert(submissions).values(id=sub_id, app_id=app_id, submitted_by=account_id, sha256=sha256,
                                             status="queued", attempts=0, created_at=now,
                                             declared_package=package, dedup_key=key,
                                             attachments_json=json.dumps(attachments, ensure_ascii=False)
                                             if attachments else None))
        c.execute(insert(log).values(submission_id=sub_id, event="queued", detail="", at=now))
        if attachments:
            c.execute(insert(log).values(submission_id=sub_id, event="attachments", at=now, detail="; ".join(
                f"{a['kind']} {a['name']} {a['sha256'][:12]}" for a in attachments)[:2000]))
        return sub_id, False, "queued"

    def submission(self, sub_id: str) -> dict | None:
        q = (select(submissions, PACKAGE, apps.c.owner_id, _REPORT,
                    scans.c.report_json.label("scan_report_json"),
                    scans.c.size,
                    scans.c.path, scans.c.status.label("scan_status"),
                    scans.c.attempts.label("scan_attempts"))
             .select_from(submissions.join(scans, scans.c.sha256 == submissions.c.sha256)
                          .outerjoin(apps, apps.c.id == submissions.c.app_id))
             .where(submissions.c.id == sub_id))
        with self.engine.connect() as c:
            row = c.execute(q).first()
        return dict(row._mapping) if row else None

    def visible_submission(self, sub_id: str, viewer: dict) -> dict | None:
        """The submission, or None when unknown or not the viewer's to see (the same answer: no leak)."""
        sub = self.submission(sub_id)
        return sub if sub is not None and sees(viewer, sub["owner_id"], sub["submitted_by"]) else None

    def list_submissions(self, viewer: dict, status: str | None = None, package: str | None = None,
                         limit: int = 50, before: str | None = None) -> list[dict]:
        """Submissions, newest first, that ``viewer`` may see (a developer: those of their own apps; a
        reviewer: all). ``before``: a submission id the viewer may see; only older ones (keyset paging).
        LookupError when ``before`` is unknown or not the viewer's (the same answer: no leak)."""
        joined = submissions.outerjoin(apps, apps.c.id == submissions.c.app_id)
        q = (select(submissions.c.id, submissions.c.sha256, submissions.c.status, submissions.c.version_name,
                    submissions.c.version_code, submissions.c.error, submissions.c.created_at,
                    submissions.c.finished_at, PACKAGE)
             .select_from(joined)
             .order_by(submissions.c.created_at.desc(), submissions.c.id.desc()).limit(limit))
        mine = None
        if viewer["role"] != "reviewer":
            mine = (apps.c.owner_id == viewer["id"]) | (submissions.c.submitted_by == viewer["id"])
            q = q.where(mine)
        if status:
            q = q.where(submissions.c.status == status)
        if package:
            q = q.where(_PACKAGE == package)
        with self.engine.connect() as c:
            if before:
                bq = select(submissions.c.created_at).select_from(joined).where(submissions.c.id == before)
                at = c.execute(bq if mine is None else bq.where(mine)).scalar()
                if at is None:
                    raise LookupError(f"no submission {before}")
                q = q.where((submissions.c.created_at < at)
                            | ((submissions.c.created_at == at) & (submissions.c.id < before)))
            return [dict(r._mapping) for r in c.execute(q)]

    def unfinished(self, running_only: bool = False) -> list[str]:
        """Submissions not final, oldest first (``running_only``: those a worker had started)."""
        cond = submissions.c.status == "running" if running_only else submissions.c.status.not_in(FINAL)
        with self.engine.connect() as c:
            return [r.id for r in c.execute(
                select(submissions.c.id).where(cond).order_by(submissions.c.created_at))]

    def begin(self, sub_id: str, lease_s: float) -> tuple[str, float, dict | None]:
        """A worker takes a submission, in one transaction (rows locked, so two deliveries of the same
        task cannot both start it). Returns (state, seconds, job):

        - ``("gone", 0, None)``: unknown or already final, nothing to do;
        - ``("busy", s, None)``: another worker's lease on the same package runs ``s`` seconds more
          (not counted as an attempt: come back later);
        - ``("scan", 0, job)``: this caller holds the scan's lease and must scan now;
        - ``("reuse", 0, job)``: the package was scanned already (for another submission).

        ``job``: ``sha256``, ``path`` and ``attachments`` (the decoded list, or None). The submission is
        ``running`` with one more attempt and a ``started`` event."""
        now = utcnow()
        with self.w.begin() as c:
            sub = c.execute(select(submissions.c.status, submissions.c.attempts, submissions.c.sha256,
                                   submissions.c.attachments_json)
                            .where(submissions.c.id == sub_id).with_for_update()).first()
            if sub is None or sub.status in FINAL:
                return "gone", 0.0, None
            sc = c.execute(select(scans.c.status, scans.c.attempts, scans.c.lease_until, scans.c.path)
                           .where(scans.c.sha256 == sub.sha256).with_for_update()).first()
            if sc is None:
                raise LookupError(f"no scan for {sub.sha256}")
            if sc.status in FINAL:
                state = "reuse"
            elif sc.status == "running" and sc.lease_until is not None and as_utc(sc.lease_until) > now:
                return "busy", (as_utc(sc.lease_until) - now).total_seconds(), None
            else:
                state = "scan"
                c.execute(update(scans).where(scans.c.sha256 == sub.sha256).values(
                    status="running", attempts=sc.attempts + 1, started_at=now,
                    lease_until=now + timedelta(seconds=lease_s)))
            c.execute(update(submissions).where(submissions.c.id == sub_id).values(
                status="running", attempts=sub.attempts + 1, started_at=now))
            c.execute(insert(log).values(submission_id=sub_id, event="started",
                                         detail=f"attempt {sub.attempts + 1}",
                                         at=now))
        attachments = json.loads(sub.attachments_json) if sub.attachments_json else None
        return state, 0.0, {"sha256": sub.sha256, "path": sc.path, "attachments": attachments}

    def scan_report(self, sha256: str) -> dict | None:
        """The stored report of a finished scan (None when it failed or is not finished)."""
        with self.engine.connect() as c:
            raw = c.execute(select(scans.c.report_json).where(scans.c.sha256 == sha256,
                                                              scans.c.status == "done")).scalar()
        return json.loads(raw) if raw else None

    def complete(self, sub_id: str, sha256: str, scanned: bool, report: dict | None, error: str | None,
                 merged: dict | None = None) -> str | None:
        """In one transaction: the scan's outcome stored (when ``scanned``: this caller scanned it, and
        a scan already final is left alone), then carried to the submission, once, with ``merged`` (the
        scan's report plus the attachments' findings) as its own report. Returns the submission's final
        status, or None if it was already final (a redelivered task) or the scan is not finished.

        The app is bound here, never at upload: a developer's upload claims an unowned package name
        only when its scan succeeded and the package inside has that name (the first such scan wins a
        race; the other submission fails with the reason); a batch item makes the app known, unowned.
        The first version scanned binds the signer: a later version signed by none of its certificates
        gets a ``review.signer-changed`` finding, and cannot claim an unowned app."""
        return self._racing(lambda c: self._complete(c, sub_id, sha256, scanned, report, error, merged))

    def _complete(self, c, sub_id: str, sha256: str, scanned: bool, report: dict | None, error: str | None,
                  merged: dict | None) -> str | None:
        now = utcnow()
        if scanned:
            vals: dict[str, Any] = {"finished_at": now, "lease_until": None}
            app = report["app"] if report is not None else None
            if app is not None and not (len(app.get("package") or "") <= 255
                                        and VALID_PACKAGE.fullmatch(app.get("package") or "")):
                report, error = None, (f"the manifest's package name {json.dumps(app.get('package'))[:300]} "
                                       "is not a valid Android package name")
            if report is not None:
                code = app.get("version_code")
                vals.update(status="done", report_json=json.dumps(report, ensure_ascii=False), error=None,
                            package=app["package"], version_name=_column(app.get("version_name"), 200),
                            version_code=code if isinstance(code, int) and -2**63 <= code < 2**63 else None,
                            signer=signer_of(report))
            else:
                vals.update(status="failed", error=(error or "scan failed").replace("\x00", ""))
            c.execute(update(scans).where(scans.c.sha256 == sha256, scans.c.status.not_in(FINAL))
                      .values(**vals))
        sub = c.execute(select(submissions.c.status, submissions.c.app_id, submissions.c.sha256,
                               submissions.c.submitted_by, submissions.c.declared_package,
                               apps.c.package.label("bound"))
                        .select_from(submissions.outerjoin(apps, apps.c.id == submissions.c.app_id))
                        .where(submissions.c.id == sub_id).with_for_update(of=submissions)).first()
        if sub is None or sub.status in FINAL:
            return None
        sc = c.execute(select(scans.c.status, scans.c.error, scans.c.package, scans.c.version_name,
                              scans.c.version_code, scans.c.signer)
                       .where(scans.c.sha256 == sub.sha256)).first()
        if sc.status not in FINAL:
            return None
        vals = {"finished_at": now}
        status, error = sc.status, sc.error
        if status == "done":
            vals.update(version_name=sc.version_name, version_code=sc.version_code)
            signer = sc.signer if sc.signer is not None else signer_of(self._scan_report(c, sub.sha256))
            declared = sub.bound or sub.declared_package
            if declared is not None and declared != sc.package:
                status = "failed"
                error = f"the package is {sc.package}, not the app {declared} it was submitted for"
            else:
                app_id, error, changed = self._bind(c, sub, sc.package, signer, now)
                if error:
                    status = "failed"
                else:
                    vals["app_id"] = app_id
                    if changed is not None:
                        base = merged or self._scan_report(c, sub.sha256)
                        merged = _with_finding(base, signer_finding(sc.package, changed, signer))
            if status == "done" and merged is not None:
                vals["merged_report_json"] = json.dumps(merged, ensure_ascii=False)
        vals.update(status=status, error=error)
        c.execute(update(submissions).where(submissions.c.id == sub_id).values(**vals))
        c.execute(insert(log).values(submission_id=sub_id, event=status, detail=error or "", at=now))
        return status

    @staticmethod
    def _scan_report(c, sha256: str) -> dict | None:
        raw = c.execute(select(scans.c.report_json).where(scans.c.sha256 == sha256)).scalar()
        return json.loads(raw) if raw else None

    @staticmethod
    def _bind(c, sub, package: str, signer: str, now) -> tuple[str | None, str | None, str | None]:
        """The app a successfully scanned submission belongs to: (app id, None, the bound signer when
        this version's differs, else None), or (None, why it may not, None). Locks the app's row; a
        concurrent insert of the same package fails on its unique key and the caller runs again."""
        row = c.execute(select(apps.c.id, apps.c.owner_id, apps.c.signer).where(apps.c.package == package)
                        .with_for_update()).first()
        developer = sub.declared_package is not None and sub.app_id is None  # not yet bound: a claim
        if row is None:
            app_id = _new_id("app")
            c.execute(insert(apps).values(id=app_id, package=package, signer=signer or None, created_at=now,
                                          owner_id=sub.submitted_by if developer else None))
            return app_id, None, None
        changed = None if same_signer(row.signer, signer) else row.signer
        if developer and row.owner_id is None:
            if changed is not None:
                return None, (f"{package} is signed by another certificate than its version already reviewed;"
                              " the name stays unclaimed (sign with the app's key, or ask the store)"), None
            c.execute(update(apps).where(apps.c.id == row.id, apps.c.owner_id.is_(None))
                      .values(owner_id=sub.submitted_by))
        elif developer and row.owner_id != sub.submitted_by:
            return None, (f"app {package} was registered to another account, whose submission's scan"
                          " finished first"), None
        if not row.signer and signer:
            c.execute(update(apps).where(apps.c.id == row.id).values(signer=signer))
        return row.id, None, changed

    def events(self, sub_id: str) -> list[dict]:
        with self.engine.connect() as c:
            return [{"event": r.event, "detail": r.detail, "at": _ts(r.at)} for r in c.execute(
                select(log).where(log.c.submission_id == sub_id).order_by(log.c.id))]

    # ---------------------------------------------------------------- verdicts and history
    def add_verdict(self, sub_id: str, reviewer_id: str, decision: str, rules: list[str], note: str) -> dict:
        now = utcnow()
        with self.w.begin() as c:
            vid = c.execute(insert(verdicts).values(submission_id=sub_id, reviewer_id=reviewer_id,
                                                    decision=decision, rules_json=json.dumps(rules),
                                                    note=note, at=now)).inserted_primary_key[0]
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
                out[r.submission_id].append({"id": r.id, "decision": r.decision,
                                             "rules": json.loads(r.rules_json),
                                             "note": r.note, "reviewer": r.reviewer, "at": _ts(r.at)})
        return out

    def app_submissions(self, app_id: str) -> list[dict]:
        q = (select(submissions, _REPORT)
             .join(scans, scans.c.sha256 == submissions.c.sha256)
             .where(submissions.c.app_id == app_id)
             .order_by(func.coalesce(submissions.c.version_code, 0), submissions.c.created_at))
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(q)]


def _with_finding(report: dict | None, finding: dict) -> dict | None:
    if report is None:
        return None
    rep = {**report, "findings": [*report.get("findings", []), finding]}
    rep["finding_counts"] = count_by_severity(rep["findings"])
    return rep
