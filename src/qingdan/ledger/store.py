"""The ledger: apps, API keys, events in, per-user views out.

Ingestion inserts a batch with ``INSERT … ON CONFLICT (app_id, idempotency_key) DO NOTHING RETURNING``
and folds only the rows actually inserted into the per-user aggregates (an upsert), in the same
transaction: a retried batch never counts twice, and the user's page is one indexed query.

Declared vs observed: an event is stored whatever it says, and flagged when the app's double list
does not declare it — ``undeclared_pi`` (a collected PI type not in the collected list, or a shared
PI type the shared rows for that third party do not name), ``undeclared_purpose`` (no row for that
PI type, of that kind, has exactly that purpose), ``undeclared_third_party`` (a shared event whose
source is no shared row's third party, SDK id or company; a collected event whose source is neither
``app`` nor a declared collector or SDK).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from qingdan.db.engine import scrub, writer
from qingdan.db.ledger_tables import AGG_KEY, aggregates, api_keys, apps, events
from qingdan.db.util import as_utc, hash_token, utcnow
from qingdan.ledger.crypto import KeyRing, aad
from qingdan.lists.model import DoubleList

KINDS = ("collected", "shared")
GROUP = AGG_KEY[1:]  # user_ref, kind, pi_type, purpose, scenario, source


def lists_to_json(dl: DoubleList) -> str:
    def strip(d: dict) -> dict:
        d.pop("pos", None)
        return d

    return json.dumps({"app": dataclasses.asdict(dl.app),
                       "collected": [strip(dataclasses.asdict(c)) for c in dl.collected],
                       "shared": [strip(dataclasses.asdict(s)) for s in dl.shared]}, ensure_ascii=False)


@dataclass(slots=True)
class Declared:
    """What an app's double list allows, indexed for the flag checks."""

    collected_pi: set[str]
    collected_purposes: dict[str, set[str]]  # pi_type -> purposes
    collectors: set[str]
    shared_rows: list[dict]
    name: str

    @classmethod
    def from_json(cls, text: str) -> Declared:
        d = json.loads(text)
        purposes: dict[str, set[str]] = {}
        for c in d.get("collected", []):
            purposes.setdefault(c["pi_type"], set()).add(c["purpose"])
        collectors = {"app"} | {c.get("collector") or "app" for c in d.get("collected", [])}
        collectors |= {s["sdk"] for s in d.get("shared", []) if s.get("sdk")}
        return cls(set(purposes), purposes, collectors, d.get("shared", []), d.get("app", {}).get("name", ""))

    def flags(self, kind: str, pi: str, purpose: str, source: str) -> list[str]:
        out: list[str] = []
        if kind == "collected":
            if pi not in self.collected_pi:
                out.append("undeclared_pi")
            allowed = self.collected_purposes.get(pi) or set().union(*self.collected_purposes.values())
            if purpose not in allowed:
                out.append("undeclared_purpose")
            if source not in self.collectors:
                out.append("undeclared_third_party")
            return out
        rows = [s for s in self.shared_rows if source in (s["third_party"], s.get("sdk"), s["company"])]
        if not rows:
            if not any(pi in s["pi_types"] for s in self.shared_rows):
                out.append("undeclared_pi")
            if not any(purpose == s["purpose"] for s in self.shared_rows):
                out.append("undeclared_purpose")
            out.append("undeclared_third_party")
            return out
        with_pi = [s for s in rows if pi in s["pi_types"]]
        if not with_pi:
            out.append("undeclared_pi")
        if not any(purpose == s["purpose"] for s in (with_pi or rows)):
            out.append("undeclared_purpose")
        return out


@dataclass(slots=True)
class AppInfo:
    id: str
    name: str
    retention: dict[str, int]
    declared: Declared
    lists: dict


@dataclass(slots=True)
class IngestResult:
    accepted: int  # newly stored
    duplicates: int  # already stored under the same idempotency key (a retry): not counted again
    flagged: list[dict]  # {index, idempotency_key, flags}


class Ledger:
    def __init__(self, engine: Engine, keyring: KeyRing) -> None:
        self.engine = engine
        self.w = writer(engine)
        self.keys = keyring
        self.dialect = engine.dialect.name
        self._apps: dict[str, AppInfo] = {}

    # -------------------------------------------------------------- admin
    def create_app(self, name: str, lists: DoubleList, lists_path: str | None = None,
                   retention: dict[str, int] | None = None) -> str:
        app_id = "app_" + secrets.token_hex(8)
        with self.w.begin() as c:
            c.execute(apps.insert().values(id=app_id, name=name, lists_path=lists_path,
                                           lists_json=lists_to_json(lists),
                                           retention_json=json.dumps(retention or {}), created_at=utcnow()))
        return app_id

    def create_key(self, app_id: str) -> tuple[str, str]:
        """A new API key: (key id, token). Only the token's sha256 is stored: show the token once."""
        if self.get_app(app_id) is None:
            raise LookupError(f"no app {app_id!r}")
        key_id = "key_" + secrets.token_hex(6)
        token = "qd_" + secrets.token_urlsafe(32)
        with self.w.begin() as c:
            c.execute(api_keys.insert().values(id=key_id, app_id=app_id, key_hash=hash_token(token),
                                               created_at=utcnow()))
        return key_id, token

    def revoke_key(self, key_id: str) -> bool:
        with self.w.begin() as c:
            r = c.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                          .values(revoked_at=utcnow()))
            return r.rowcount > 0

    def authenticate(self, token: str) -> tuple[str, str] | None:
        """(app id, key id) of a live API key, or None."""
        with self.engine.connect() as c:
            row = c.execute(select(api_keys.c.app_id, api_keys.c.id).where(
                api_keys.c.key_hash == hash_token(token), api_keys.c.revoked_at.is_(None))).first()
        return (row[0], row[1]) if row else None

    def get_app(self, app_id: str) -> AppInfo | None:
        if app_id in self._apps:
            return self._apps[app_id]
        with self.engine.connect() as c:
            row = c.execute(select(apps).where(apps.c.id == app_id)).mappings().first()
        if row is None:
            return None
        info = AppInfo(row["id"], row["name"],
                       {k: int(v) for k, v in json.loads(row["retention_json"]).items()},
                       Declared.from_json(row["lists_json"]), json.loads(row["lists_json"]))
        self._apps[app_id] = info
        return info

    # -------------------------------------------------------------- ingestion
    def _insert(self, table):
        return (postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table))

    def ingest(self, app_id: str, key_id: str | None, batch: list[dict]) -> IngestResult:
        """Store a batch. Each event: idempotency_key, user_ref, kind, pi_type, purpose, scenario, source,
        occurred_at (aware datetime), value (str or None)."""
        app = self.get_app(app_id)
        if app is None:
            raise LookupError(f"no app {app_id!r}")
        now = utcnow()
        rows: dict[str, dict] = {}
        flagged = []
        for i, e in enumerate(batch):
            flags = app.declared.flags(e["kind"], e["pi_type"], e["purpose"], e["source"])
            if flags:
                flagged.append({"index": i, "idempotency_key": e["idempotency_key"], "flags": flags})
            value = e.get("value")
            rows.setdefault(e["idempotency_key"], {
                "app_id": app_id, "user_ref": e["user_ref"], "kind": e["kind"], "pi_type": e["pi_type"],
                "purpose": e["purpose"], "scenario": e["scenario"], "source": e["source"],
                "value_enc": (self.keys.encrypt(value, aad(app_id, e["user_ref"]))
                              if value is not None else None),
                "key_id": key_id, "occurred_at": as_utc(e["occurred_at"]), "received_at": now,
                "idempotency_key": e["idempotency_key"], "flags": ",".join(flags)})
        ordered = [rows[k] for k in sorted(rows)]  # one lock order for concurrent batches
        inserted: set[str] = set()
        with self.w.begin() as c:
            if ordered and self.dialect == "postgresql":
                inserted = _pg_insert_events(c, ordered)
            elif ordered:
                stmt = (self._insert(events)
                        .on_conflict_do_nothing(index_elements=["app_id", "idempotency_key"])
                        .returning(events.c.idempotency_key))
                inserted = set(c.execute(stmt, ordered).scalars())
            deltas = self._deltas(rows[k] for k in inserted)
            if deltas and self.dialect == "postgresql":
                _pg_upsert_aggregates(c, deltas)
            elif deltas:
                self._upsert(c, deltas)
        return IngestResult(len(inserted), len(batch) - len(inserted), flagged)

    @staticmethod
    def _deltas(rows: Iterable[dict]) -> list[dict]:
        acc: dict[tuple, dict] = {}
        for r in rows:
            k = tuple(r[c] for c in AGG_KEY)
            a = acc.get(k)
            if a is None:
                acc[k] = {**{c: r[c] for c in AGG_KEY}, "count": 1, "first_at": r["occurred_at"],
                          "last_at": r["occurred_at"], "last_value_enc": r["value_enc"], "flags": r["flags"],
                          "_vat": r["occurred_at"] if r["value_enc"] is not None else None}
                continue
            a["count"] += 1
            a["first_at"] = min(a["first_at"], r["occurred_at"])
            a["last_at"] = max(a["last_at"], r["occurred_at"])
            if r["value_enc"] is not None and (a["_vat"] is None or r["occurred_at"] >= a["_vat"]):
                a["last_value_enc"], a["_vat"] = r["value_enc"], r["occurred_at"]
        out = []
        for k in sorted(acc):
            a = acc[k]
            a.pop("_vat")
            out.append(a)
        return out

    def _upsert(self, c, deltas: list[dict]) -> None:
        ins = self._insert(aggregates)
        ex = ins.excluded
        t = aggregates.c
        least, greatest = ((func.least, func.greatest) if self.dialect == "postgresql"
                           else (func.min, func.max))
        stmt = ins.on_conflict_do_update(
            index_elements=list(AGG_KEY),
            set_={"count": t.count + ex.count,
                  "first_at": least(t.first_at, ex.first_at),
                  "last_at": greatest(t.last_at, ex.last_at),
                  "last_value_enc": case((and_(ex.last_value_enc.is_not(None), ex.last_at >= t.last_at),
                                          ex.last_value_enc),
                                         else_=func.coalesce(t.last_value_enc, ex.last_value_enc)),
                  "flags": ex.flags})
        c.execute(stmt, deltas)

    # -------------------------------------------------------------- reading
    def user_rows(self, app_id: str, user_ref: str, frm: datetime | None = None,
                  to: datetime | None = None) -> list[dict]:
        """The user's lists: one row per (kind, PI type, purpose, scenario, source) with count,
        first/last time and the last value (encrypted). Without a period: the aggregates (one
        indexed query); with one: folded from the events of the period."""
        with self.engine.connect() as c:
            if frm is None and to is None:
                res = c.execute(select(aggregates).where(aggregates.c.app_id == app_id,
                                                         aggregates.c.user_ref == user_ref)
                                .order_by(aggregates.c.kind, aggregates.c.last_at.desc())).mappings().all()
                rows = [dict(r) for r in res]
            else:
                q = select(events).where(events.c.app_id == app_id, events.c.user_ref == user_ref)
                if frm is not None:
                    q = q.where(events.c.occurred_at >= frm)
                if to is not None:
                    q = q.where(events.c.occurred_at < to)
                evs = [dict(r) for r in c.execute(q).mappings()]
                for e in evs:
                    e["occurred_at"] = as_utc(e["occurred_at"])
                rows = self._deltas(evs)
                rows.sort(key=lambda r: (r["kind"], -r["last_at"].timestamp()))
        for r in rows:
            r["first_at"], r["last_at"] = as_utc(r["first_at"]), as_utc(r["last_at"])
        return rows

    def decrypt(self, app_id: str, user_ref: str, blob: bytes | None) -> str | None:
        return None if blob is None else self.keys.decrypt(blob, aad(app_id, user_ref))

    def user_events(self, app_id: str, user_ref: str) -> list[dict]:
        """Every stored event of the user, values decrypted (PIPL Art. 45 export); without the
        operator's flags (``unlisted`` shows those to the operator)."""
        with self.engine.connect() as c:
            res = c.execute(select(events).where(events.c.app_id == app_id, events.c.user_ref == user_ref)
                            .order_by(events.c.occurred_at, events.c.id)).mappings().all()
        out = []
        for r in res:
            out.append({"kind": r["kind"], "pi_type": r["pi_type"], "purpose": r["purpose"],
                        "scenario": r["scenario"],
                        "source": r["source"], "occurred_at": as_utc(r["occurred_at"]).isoformat(),
                        "value": self.decrypt(app_id, user_ref, r["value_enc"])})
        return out

    def observed(self, app_id: str) -> dict[str, set[str]]:
        """PI type → the sources (app, SDK ids, third parties) recorded for an app, across users:
        the "observed" view of the four-way comparison."""
        a = aggregates.c
        out: dict[str, set[str]] = {}
        with self.engine.connect() as c:
            for pi, src in c.execute(select(a.pi_type, a.source).where(a.app_id == app_id).distinct()):
                out.setdefault(pi, set()).add(src)
        return out

    def summary(self, app_id: str, user_ref: str) -> dict[str, Any]:
        e, a = events.c, aggregates.c
        with self.engine.connect() as c:
            n_events, n_values, n_flagged, first, last = c.execute(select(
                func.count(), func.count(e.value_enc), func.count().filter(e.flags != ""),
                func.min(e.occurred_at), func.max(e.occurred_at)).where(e.app_id == app_id,
                                                                        e.user_ref == user_ref)).one()
            by_kind = dict(c.execute(select(e.kind, func.count()).where(e.app_id == app_id,
                                                                        e.user_ref == user_ref)
                                     .group_by(e.kind)).all())
            n_agg, agg_total, agg_values = c.execute(select(func.count(), func.coalesce(func.sum(a.count), 0),
                                                            func.count(a.last_value_enc))
                                                     .where(a.app_id == app_id, a.user_ref == user_ref)).one()
        return {"user_ref": user_ref, "events": n_events, "values": n_values, "flagged": n_flagged,
                "by_kind": {k: by_kind.get(k, 0) for k in KINDS}, "aggregates": n_agg,
                "aggregate_count": int(agg_total), "aggregate_values": agg_values,
                "first_at": as_utc(first).isoformat() if first else None,
                "last_at": as_utc(last).isoformat() if last else None}

    def unlisted(self, app_id: str) -> dict[str, Any]:
        """The app's records its double list does not declare, for the operator to fix (the data subject's
        page does not show them): per (kind, PI type, purpose, source, flags) the events, users and
        first/last times, most events first; never values or user references."""
        a = aggregates.c
        key = (a.kind, a.pi_type, a.purpose, a.source, a.flags)
        with self.engine.connect() as c:
            res = c.execute(select(*key, func.coalesce(func.sum(a.count), 0),
                                   func.count(func.distinct(a.user_ref)), func.min(a.first_at),
                                   func.max(a.last_at))
                            .where(a.app_id == app_id, a.flags != "").group_by(*key)).all()
            users = c.execute(select(func.count(func.distinct(a.user_ref)))
                              .where(a.app_id == app_id, a.flags != "")).scalar_one()
        rows = [{"kind": k, "pi_type": pi, "purpose": purpose, "source": src,
                 "flags": [f for f in flags.split(",") if f], "events": int(n), "users": int(u),
                 "first_at": as_utc(first).isoformat(), "last_at": as_utc(last).isoformat()}
                for k, pi, purpose, src, flags, n, u, first, last in res]
        rows.sort(key=lambda r: (-r["events"], r["kind"], r["pi_type"], r["purpose"], r["source"]))
        return {"events": sum(r["events"] for r in rows), "users": int(users), "rows": rows}

    def app_totals(self, app_id: str) -> dict[str, int]:
        with self.engine.connect() as c:
            n = c.execute(select(func.count()).where(events.c.app_id == app_id)).scalar_one()
            s = c.execute(select(func.coalesce(func.sum(aggregates.c.count), 0))
                          .where(aggregates.c.app_id == app_id)).scalar_one()
        return {"events": int(n), "aggregate_count": int(s)}

    # -------------------------------------------------------------- deletion, retention, rotation
    def delete_user(self, app_id: str, user_ref: str) -> dict[str, int]:
        """PIPL Art. 47: every event, aggregate and value of the user goes, from the SQLite WAL too."""
        with self.w.begin() as c:
            ne = c.execute(delete(events).where(events.c.app_id == app_id,
                                                events.c.user_ref == user_ref)).rowcount
            na = c.execute(delete(aggregates).where(aggregates.c.app_id == app_id,
                                                    aggregates.c.user_ref == user_ref)).rowcount
        scrub(self.engine)
        return {"events": ne, "aggregates": na}

    def purge(self, app_id: str, now: datetime | None = None) -> dict[str, Any]:
        """Delete events older than their PI type's retention; recompute the aggregates they fed."""
        app = self.get_app(app_id)
        if app is None:
            raise LookupError(f"no app {app_id!r}")
        now = now or utcnow()
        e = events.c
        deleted = 0
        affected: set[tuple] = set()
        with self.w.begin() as c:
            for pi, days in sorted(app.retention.items()):
                cutoff = now - timedelta(days=days)
                cond = and_(e.app_id == app_id, e.pi_type == pi, e.occurred_at < cutoff)
                affected |= {tuple(r)
                             for r in c.execute(select(*[e[k] for k in GROUP]).where(cond).distinct())}
                deleted += c.execute(delete(events).where(cond)).rowcount
            for key in sorted(affected):
                self._recompute(c, app_id, key)
        if deleted:
            scrub(self.engine)
        return {"deleted_events": deleted, "recomputed_aggregates": len(affected)}

    def _recompute(self, c, app_id: str, key: tuple) -> None:
        e, a = events.c, aggregates.c
        ecols = [e.app_id == app_id] + [e[k] == v for k, v in zip(GROUP, key, strict=True)]
        acols = [a.app_id == app_id] + [a[k] == v for k, v in zip(GROUP, key, strict=True)]
        n, first, last = c.execute(select(func.count(), func.min(e.occurred_at), func.max(e.occurred_at))
                                   .where(*ecols)).one()
        if not n:
            c.execute(delete(aggregates).where(*acols))
            return
        value = c.execute(select(e.value_enc).where(*ecols, e.value_enc.is_not(None))
                          .order_by(e.occurred_at.desc(), e.id.desc()).limit(1)).scalar()
        c.execute(update(aggregates).where(*acols).values(count=n, first_at=first, last_at=last,
                                                          last_value_enc=value))

    def rotate(self, batch: int = 500) -> dict[str, int]:
        """Re-encrypt every stored value under the current key."""
        counts = {}
        for table, col in ((events, "value_enc"), (aggregates, "last_value_enc")):
            done, last_id = 0, 0
            while True:
                with self.w.begin() as c:
                    rows = c.execute(select(table.c.id, table.c.app_id, table.c.user_ref, table.c[col])
                                     .where(table.c.id > last_id, table.c[col].is_not(None))
                                     .order_by(table.c.id).limit(batch)).all()
                    if not rows:
                        break
                    for rid, app_id, user, blob in rows:
                        if KeyRing.kid_of(bytes(blob)) != self.keys.current:
                            ad = aad(app_id, user)
                            new = self.keys.encrypt(self.keys.decrypt(blob, ad), ad)
                            c.execute(update(table).where(table.c.id == rid).values({col: new}))
                            done += 1
                    last_id = rows[-1][0]
            counts[table.name] = done
        return counts



# -- PostgreSQL fast path: COPY into a session-local staging table, then one set-based statement.
# A thousand-row multi-VALUES insert spends most of its time building and parsing a 12,000-
# parameter statement; COPY streams the rows and lets the server do the rest.

_EVENT_COLS = ("app_id", "user_ref", "kind", "pi_type", "purpose", "scenario", "source", "value_enc",
               "key_id", "occurred_at", "received_at", "idempotency_key", "flags")
_AGG_COLS = (*AGG_KEY, "count", "first_at", "last_at", "last_value_enc", "flags")


def _pg_cursor(c):
    raw = c.connection.driver_connection  # the psycopg connection of this transaction
    cur = raw.cursor()
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS qd_events_in AS SELECT " + ", ".join(_EVENT_COLS)
                + " FROM events WITH NO DATA")
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS qd_aggs_in AS SELECT " + ", ".join(_AGG_COLS)
                + " FROM aggregates WITH NO DATA")
    return cur


def _pg_insert_events(c, ordered: list[dict]) -> set[str]:
    cols = ", ".join(_EVENT_COLS)
    with _pg_cursor(c) as cur:
        cur.execute("TRUNCATE qd_events_in")
        with cur.copy(f"COPY qd_events_in ({cols}) FROM STDIN") as cp:
            for r in ordered:
                cp.write_row(tuple(r[k] for k in _EVENT_COLS))
        cur.execute(f"INSERT INTO events ({cols}) SELECT {cols} FROM qd_events_in ORDER BY idempotency_key "
                    "ON CONFLICT (app_id, idempotency_key) DO NOTHING RETURNING idempotency_key")
        return {row[0] for row in cur.fetchall()}


def _pg_upsert_aggregates(c, deltas: list[dict]) -> None:
    cols = ", ".join(_AGG_COLS)
    key = ", ".join(AGG_KEY)
    with _pg_cursor(c) as cur:
        cur.execute("TRUNCATE qd_aggs_in")
        with cur.copy(f"COPY qd_aggs_in ({cols}) FROM STDIN") as cp:
            for d in deltas:
                cp.write_row(tuple(d[k] for k in _AGG_COLS))
        cur.execute(
            f"INSERT INTO aggregates AS t ({cols}) SELECT {cols} FROM qd_aggs_in ORDER BY {key} "
            f"ON CONFLICT ({key}) DO UPDATE SET count = t.count + excluded.count, "
            "first_at = LEAST(t.first_at, excluded.first_at), "
            "last_at = GREATEST(t.last_at, excluded.last_at), "
            "last_value_enc = CASE WHEN excluded.last_value_enc IS NOT NULL "
            "AND excluded.last_at >= t.last_at "
            "THEN excluded.last_value_enc ELSE COALESCE(t.last_value_enc, excluded.last_value_enc) END, "
            "flags = excluded.flags")
