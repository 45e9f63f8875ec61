"""The review console's read-only lists, as methods of ``ReviewStore`` (a base class of it, kept here
so that ``store.py`` stays within the house's module size)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from qingdan.db.review_tables import accounts, apps, submissions

# a submission's app: its app's package once bound, else the package name it was uploaded for
PACKAGE_OF = func.coalesce(apps.c.package, submissions.c.declared_package)


class ConsoleQueries:
    engine: Engine

    def _rows(self, q) -> list[dict]:
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(q)]

    def session_account(self, acc_id: str) -> dict | None:
        """An enabled account, with ``sessions_after``: its console sessions issued until then are void."""
        a = accounts.c
        q = select(a.id, a.name, a.role, a.sessions_after).where(a.id == acc_id, a.disabled_at.is_(None))
        return next(iter(self._rows(q)), None)

    def visible_apps(self, viewer: dict) -> list[dict]:
        """The apps ``viewer`` may see (a reviewer: all), by package name."""
        q = select(apps).order_by(apps.c.package)
        return self._rows(q if viewer["role"] == "reviewer" else q.where(apps.c.owner_id == viewer["id"]))

    def unbound_submissions(self, account_id: str, limit: int = 100) -> list[dict]:
        """The account's newest uploads for names not (yet) theirs: queued, or failed (with why)."""
        s = submissions.c
        return self._rows(select(s.id, s.declared_package, s.status, s.error, s.created_at)
                          .where(s.app_id.is_(None), s.submitted_by == account_id)
                          .order_by(s.created_at.desc()).limit(limit))

    def review_queue(self, limit: int = 500) -> list[dict]:
        """The newest submissions of every account, with their package and their submitter's name."""
        return self._rows(select(submissions, PACKAGE_OF.label("package"), accounts.c.name.label("submitter"))
                          .outerjoin(apps, apps.c.id == submissions.c.app_id)
                          .join(accounts, accounts.c.id == submissions.c.submitted_by)
                          .order_by(submissions.c.created_at.desc(), submissions.c.id).limit(limit))
