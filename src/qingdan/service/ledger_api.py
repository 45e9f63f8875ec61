"""The ledger API (JSON; errors ``{"error": {"code", "message"}}``; API key in ``Authorization: Bearer``):
``POST /v1/events``, ``POST /v1/user-links``, ``DELETE /v1/users/{user_ref}``,
``GET /v1/users/{user_ref}/summary``, ``POST /v1/retention/purge``; for the operator ``GET /v1/summary``
(the app's totals and its records the double list does not declare) and ``GET /v1/metrics`` (the same
counts in the Prometheus text format)."""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from qingdan.ledger.links import sign
from qingdan.ledger.settings import Settings
from qingdan.service.deps import LedgerDep, PiIndexDep, SettingsDep, bearer_token
from qingdan.service.errors import ServiceError
from qingdan.service.inputs import Ident, Text

MAX_BATCH = 1000
# occurred_at: no earlier than this, no later than a day from now (clock skew); anything else is a typo
# or a placeholder (9999-12-31), which would stand first/last on the user's page for good
OCCURRED_MIN = datetime(2000, 1, 1, tzinfo=UTC)
OCCURRED_MAX_AHEAD = timedelta(days=1)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    idempotency_key: Ident = Field(min_length=1, max_length=200,
                                   description="unique per app; a retry reuses it")
    user_ref: Ident = Field(min_length=1, max_length=200,
                            description="the app's pseudonymous user reference")
    kind: Literal["collected", "shared"]
    pi_type: Ident = Field(min_length=1, max_length=64,
                           description="a PI taxonomy key (imei) or its Chinese name")
    purpose: Text = Field(min_length=1, max_length=500)
    scenario: Text = Field(default="", max_length=500)
    source: Ident = Field(default="app", min_length=1, max_length=200,
                          description="collected: app or an SDK id; "
                                      "shared: the third party (name, SDK id or company)")
    value: Text | None = Field(default=None, max_length=4096,
                               description="the content; encrypted at rest")
    occurred_at: datetime = Field(description="ISO 8601; without a zone it is UTC; "
                                              "from 2000-01-01 to a day from now")


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class Flagged(BaseModel):
    index: int
    idempotency_key: str
    flags: list[str]


class IngestOut(BaseModel):
    accepted: int
    duplicates: int
    flagged: list[Flagged]


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_ref: Ident = Field(min_length=1, max_length=200)
    ttl_seconds: int | None = Field(default=None, ge=30)


class LinkOut(BaseModel):
    url: str
    path: str
    expires_at: datetime


def pi_index() -> tuple[dict, dict]:
    """(PI types by key, key by synonym, Chinese or English name, casefolded)."""
    from qingdan.knowledge.pi import load_pi_types, synonym_index

    types = load_pi_types()
    idx = dict(synonym_index())
    for k, t in types.items():
        idx[t.zh.casefold()] = k
        idx[t.en.casefold()] = k
    return types, idx


def auth(ledger: LedgerDep, authorization: Annotated[str | None, Header()] = None) -> tuple[str, str]:
    """(app id, key id) of the request's API key; 401 without one or with an unknown one."""
    found = ledger.authenticate(bearer_token(authorization))
    if found is None:
        raise ServiceError(401, "unauthorized", "unknown or revoked API key")
    return found


Auth = Annotated[tuple[str, str], Depends(auth)]
router = APIRouter()


@router.post("/v1/events", response_model=IngestOut, tags=["events"],
             summary="Record collections and sharings (batch of at most 1000; retries are idempotent)")
def post_events(batch: EventBatch, who: Auth, ledger: LedgerDep, pi: PiIndexDep) -> IngestOut:
    """Each event is one collection or sharing of one PI type for one user. A PI type may be given by
    its taxonomy key or its Chinese or English name. Every event is stored; one that the app's double
    list does not declare is flagged. An event whose idempotency key was seen counts as a duplicate."""
    app_id, key_id = who
    pi_types, pi_idx = pi
    rows = []
    newest = datetime.now(UTC) + OCCURRED_MAX_AHEAD  # checked here: once per batch, not per event
    for i, e in enumerate(batch.events):
        d = e.model_dump()
        if d["pi_type"] not in pi_types:
            d["pi_type"] = pi_idx.get(d["pi_type"].casefold(), d["pi_type"])
        if d["value"] is not None and not ledger.keys:
            raise ServiceError(503, "encryption_unavailable",
                               "this server has no QINGDAN_LEDGER_KEYS, so it cannot store values")
        if d["occurred_at"].tzinfo is None:
            d["occurred_at"] = d["occurred_at"].replace(tzinfo=UTC)
        if not OCCURRED_MIN <= d["occurred_at"] <= newest:
            raise ServiceError(422, "invalid_request", f"body.events.{i}.occurred_at: must be between "
                                                       "2000-01-01 and one day from now")
        rows.append(d)
    r = ledger.ingest(app_id, key_id, rows)
    return IngestOut(accepted=r.accepted, duplicates=r.duplicates,
                     flagged=[Flagged(**f) for f in r.flagged])


@router.post("/v1/user-links", response_model=LinkOut, tags=["users"],
             summary="A signed, short-lived link to one user's page")
def post_link(body: LinkIn, who: Auth, request: Request, settings: SettingsDep) -> LinkOut:
    """The link opens the user's own page (``/u/{token}``) without a login until it expires
    (``ttl_seconds``, capped by the server's maximum). It points at QINGDAN_PUBLIC_URL when set."""
    ttl = min(body.ttl_seconds or settings.link_ttl_seconds, settings.max_link_ttl_seconds)
    expires = int(time.time()) + ttl
    token = sign(settings.secret, who[0], body.user_ref, expires)
    path = f"/u/{token}"
    return LinkOut(url=_link_base(settings, request) + path, path=path,
                   expires_at=datetime.fromtimestamp(expires, UTC))


@router.delete("/v1/users/{user_ref}", tags=["users"],
               summary="Delete everything about one user (PIPL Art. 47)")
def delete_user(user_ref: str, who: Auth, ledger: LedgerDep) -> dict:
    """The user's events and aggregates go, their bytes overwritten; the answer counts them."""
    return {"user_ref": user_ref, "deleted": ledger.delete_user(who[0], user_ref)}


@router.get("/v1/users/{user_ref}/summary", tags=["users"],
            summary="Counts of what is stored about one user")
def summary(user_ref: str, who: Auth, ledger: LedgerDep) -> dict:
    """How many events (by kind, with values, flagged) and aggregates the ledger holds about the user,
    and the first and last times; never the values themselves."""
    return ledger.summary(who[0], user_ref)


@router.get("/v1/summary", tags=["operator"],
            summary="The app's totals and its records the double list does not declare")
def app_summary(who: Auth, ledger: LedgerDep) -> dict:
    """For the operator: events stored, and ``unlisted`` — the events the app's double list does not
    declare (flagged ``undeclared_pi``, ``undeclared_purpose`` or ``undeclared_third_party``), grouped
    by kind, PI type, purpose and source with their counts of events and users. Fix them in the lists
    (or in the app); the users' own pages do not show these flags. Never values or user references."""
    return {"app_id": who[0], **ledger.app_totals(who[0]), "unlisted": ledger.unlisted(who[0])}


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@router.get("/v1/metrics", tags=["operator"], response_class=PlainTextResponse,
            summary="The app's event and unlisted-event counts (Prometheus text format)")
def metrics(who: Auth, ledger: LedgerDep) -> PlainTextResponse:
    """``qingdan_ledger_events`` and ``qingdan_ledger_unlisted_events`` (by kind and flag), and
    ``qingdan_ledger_unlisted_users``, for the calling app."""
    app = _label(who[0])
    totals, unl = ledger.app_totals(who[0]), ledger.unlisted(who[0])
    by: dict[tuple[str, str], int] = {}
    for r in unl["rows"]:
        for f in r["flags"]:
            by[(r["kind"], f)] = by.get((r["kind"], f), 0) + r["events"]
    lines = ["# HELP qingdan_ledger_events Events stored for the app.", "# TYPE qingdan_ledger_events gauge",
             f'qingdan_ledger_events{{app="{app}"}} {totals["events"]}',
             "# HELP qingdan_ledger_unlisted_events Events the app's double list does not declare, by flag.",
             "# TYPE qingdan_ledger_unlisted_events gauge"]
    lines += [f'qingdan_ledger_unlisted_events{{app="{app}",kind="{_label(k)}",flag="{_label(f)}"}} {n}'
              for (k, f), n in sorted(by.items())]
    lines += ["# HELP qingdan_ledger_unlisted_users Users with at least one undeclared record.",
              "# TYPE qingdan_ledger_unlisted_users gauge",
              f'qingdan_ledger_unlisted_users{{app="{app}"}} {unl["users"]}']
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


@router.post("/v1/retention/purge", tags=["retention"],
             summary="Delete events older than their PI type's retention; recompute the aggregates")
def purge(who: Auth, ledger: LedgerDep) -> dict:
    """For the calling app only, with the retention of each PI type registered for that app."""
    return ledger.purge(who[0])


def _link_base(settings: Settings, request: Request) -> str:
    """Where the users' links point: QINGDAN_PUBLIC_URL; without it the address the server is bound to
    (``qingdan serve`` allows that on loopback only), or "" (a relative link) when that is unknown or a
    wildcard. Never the request's Host header, which the client chooses."""
    if settings.public_url:
        return settings.public_url
    server = request.scope.get("server")
    if not server or server[1] is None:
        return ""
    host, port = server
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and ip.is_unspecified:
        return ""
    scheme = request.scope.get("scheme", "http")
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = f"[{host}]" if ip is not None and ip.version == 6 else host
    return f"{scheme}://{netloc}" + ("" if port == default else f":{port}")
