"""The ledger HTTP service: ``create_app(settings)`` gives the FastAPI app.

API (JSON; errors are ``{"error": {"code", "message"}}``; API key in ``Authorization: Bearer``):
``POST /v1/events``, ``POST /v1/user-links``, ``DELETE /v1/users/{user_ref}``,
``GET /v1/users/{user_ref}/summary``, ``POST /v1/retention/purge``.
User pages (signed link): ``GET /u/{token}``, ``/u/{token}/export.json``, ``/u/{token}/export.csv``.
"""


import csv
import io
import ipaddress
import json
import time
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from qingdan import __version__
from qingdan._io import csv_cell
from qingdan.db.engine import make_engine, migrate
from qingdan.ledger.crypto import KeyRing, mask
from qingdan.ledger.links import LinkError, sign, verify
from qingdan.ledger.settings import Settings
from qingdan.ledger.store import Ledger
from qingdan.service import faults, pages
from qingdan.service.inputs import BadParam, Ident, Text, bad_char, check_params, validation_message
from qingdan.service.limits import BodyLimit

MAX_BATCH = 1000
# occurred_at: no earlier than this, no later than a day from now (clock skew); anything else is a typo or a
# placeholder (9999-12-31), which would stand first/last on the user's page for good
OCCURRED_MIN = datetime(2000, 1, 1, tzinfo=UTC)
OCCURRED_MAX_AHEAD = timedelta(days=1)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _err(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    idempotency_key: Ident = Field(min_length=1, max_length=200,
                                   description="unique per app; a retry reuses it")
    user_ref: Ident = Field(min_length=1, max_length=200, description="the app's pseudonymous user reference")
    kind: Literal["collected", "shared"]
    pi_type: Ident = Field(min_length=1, max_length=64,
                           description="a PI taxonomy key (imei) or its Chinese name")
    purpose: Text = Field(min_length=1, max_length=500)
    scenario: Text = Field(default="", max_length=500)
    source: Ident = Field(default="app", min_length=1, max_length=200,
                          description="collected: app or an SDK id; "
                                      "shared: the third party (name, SDK id or company)")
    value: Text | None = Field(default=None, max_length=4096, description="the content; encrypted at rest")
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


def _pi_index():
    from qingdan.knowledge.pi import load_pi_types, synonym_index

    types = load_pi_types()
    idx = dict(synonym_index())
    for k, t in types.items():
        idx[t.zh.casefold()] = k
        idx[t.en.casefold()] = k
    return types, idx


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url)
    if settings.migrate:
        migrate(engine)
    ledger = Ledger(engine, KeyRing(settings.ledger_keys))
    pi_types, pi_idx = _pi_index()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        jobs = getattr(app.state, "review_queue", None)
        if jobs is not None and hasattr(jobs, "close"):  # the in-process queue's scanner processes
            jobs.close()

    app = FastAPI(title="qingdan ledger", version=__version__, lifespan=lifespan,
                  dependencies=[Depends(check_params)],  # no control character in any path or query
                  description="Per-user personal-information ledger: what an app collected and shared, per user.")
    app.state.ledger = ledger
    app.state.settings = settings
    app.add_middleware(BodyLimit, max_bytes=settings.max_json_bytes)
    if settings.trusted_proxies:  # X-Forwarded-For/-Proto from these peers only (`serve` turns uvicorn's off)
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError):
        return _err(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError):
        errs = exc.errors()
        if any(e.get("type") == "too_long" and tuple(e.get("loc", ()))[:2] == ("body", "events") for e in errs):
            return _err(413, "batch_too_large", f"at most {MAX_BATCH} events per batch")
        parts = []
        for e in errs[:10]:
            loc = ".".join(str(x) for x in e.get("loc", ()))
            parts.append(f"{loc}: {validation_message(e)}")
        return _err(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(BadParam)
    async def _bad_param(request: Request, exc: BadParam):  # a control character in the path or the query
        path = request.scope.get("path", "")
        if path.startswith("/u/"):
            title = "链接无效" if exc.status == 404 else "参数无效"
            return HTMLResponse(pages.render_error(title, "此链接含有无效字符。请回到 App 中重新打开“我的个人信息记录”。"),
                                status_code=exc.status, headers=pages.SECURITY_HEADERS)
        if path.startswith("/console"):
            from qingdan.service.console import ConsoleError

            title = "未找到 Not found" if exc.status == 404 else "参数无效 Invalid input"
            console_error = app.exception_handlers[ConsoleError]
            return await console_error(request, ConsoleError(exc.status, title, exc.message))
        return _err(exc.status, "not_found" if exc.status == 404 else "invalid_request", exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException):
        codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        return _err(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception):  # never a traceback to the client
        return _err(500, "internal_error", f"internal error ({type(exc).__name__})")
    faults.install(app)  # database or broker down: 503 + Retry-After; the package store's disk full: 507
    __import__("qingdan.service.review", fromlist=["mount"]).mount(app, engine)  # the review API (issue 9)

    def auth(authorization: Annotated[str | None, Header()] = None) -> tuple[str, str]:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ApiError(401, "unauthorized", "send the API key as `Authorization: Bearer <token>`")
        found = ledger.authenticate(authorization[7:].strip())
        if found is None:
            raise ApiError(401, "unauthorized", "unknown or revoked API key")
        return found

    Auth = Annotated[tuple[str, str], Depends(auth)]

    @app.post("/v1/events", response_model=IngestOut, tags=["events"],
              summary="Record collections and sharings (batch of at most 1000; retries are idempotent)")
    def post_events(batch: EventBatch, who: Auth) -> IngestOut:
        app_id, key_id = who
        rows = []
        newest = datetime.now(UTC) + OCCURRED_MAX_AHEAD  # checked here: once per batch, not per event
        for i, e in enumerate(batch.events):
            d = e.model_dump()
            if d["pi_type"] not in pi_types:
                d["pi_type"] = pi_idx.get(d["pi_type"].casefold(), d["pi_type"])
            if d["value"] is not None and not ledger.keys:
                raise ApiError(503, "encryption_unavailable",
                               "this server has no QINGDAN_LEDGER_KEYS, so it cannot store values")
            if d["occurred_at"].tzinfo is None:
                d["occurred_at"] = d["occurred_at"].replace(tzinfo=UTC)
            if not OCCURRED_MIN <= d["occurred_at"] <= newest:
                raise ApiError(422, "invalid_request", f"body.events.{i}.occurred_at: must be between "
                                                       "2000-01-01 and one day from now")
            rows.append(d)
        r = ledger.ingest(app_id, key_id, rows)
        return IngestOut(accepted=r.accepted, duplicates=r.duplicates, flagged=[Flagged(**f) for f in r.flagged])

    @app.post("/v1/user-links", response_model=LinkOut, tags=["users"],
              summary="A signed, short-lived link to one user's page")
    def post_link(body: LinkIn, who: Auth, request: Request) -> LinkOut:
        ttl = min(body.ttl_seconds or settings.link_ttl_seconds, settings.max_link_ttl_seconds)
        expires = int(time.time()) + ttl
        token = sign(settings.secret, who[0], body.user_ref, expires)
        path = f"/u/{token}"
        return LinkOut(url=_link_base(settings, request) + path, path=path,
                       expires_at=datetime.fromtimestamp(expires, UTC))

    @app.delete("/v1/users/{user_ref}", tags=["users"], summary="Delete everything about one user (PIPL Art. 47)")
    def delete_user(user_ref: str, who: Auth) -> dict:
        return {"user_ref": user_ref, "deleted": ledger.delete_user(who[0], user_ref)}

    @app.get("/v1/users/{user_ref}/summary", tags=["users"], summary="Counts of what is stored about one user")
    def summary(user_ref: str, who: Auth) -> dict:
        return ledger.summary(who[0], user_ref)

    @app.post("/v1/retention/purge", tags=["retention"],
              summary="Delete events older than their PI type's retention; recompute the aggregates")
    def purge(who: Auth) -> dict:
        return ledger.purge(who[0])

    # ------------------------------------------------------------------ the user's pages
    def _link(token: str) -> tuple[str, str, int] | HTMLResponse:
        try:
            link = verify(settings.secret, token)
            if bad_char(link[1]) is not None:  # signed before user refs were checked: never to the database
                raise LinkError("invalid")
            return link
        except LinkError as exc:
            if exc.reason == "expired":
                return HTMLResponse(pages.render_error("链接已过期", "此链接已过期。请回到 App 中重新打开“我的个人信息记录”。"),
                                    status_code=401, headers=pages.SECURITY_HEADERS)
            return HTMLResponse(pages.render_error("链接无效", "此链接无效或已被修改。请回到 App 中重新打开“我的个人信息记录”。"),
                                status_code=403, headers=pages.SECURITY_HEADERS)

    def _day(s: str | None, name: str) -> date | None:
        if not s:
            return None
        try:
            return date.fromisoformat(s[:10])
        except ValueError:
            raise ApiError(400, "bad_request", f"{name} must be a date (YYYY-MM-DD)") from None

    def _source(src: str, kind: str, app_name: str) -> str:
        if src == "app":
            return f"本应用（{app_name}）" if app_name else "本应用"
        from qingdan.knowledge.sdks import load_sdks

        s = load_sdks().get(src)
        return f"{s.name}（SDK）" if s is not None else src

    def _safe_decrypt(app_id: str, user_ref: str, blob) -> str | None:
        try:
            return ledger.decrypt(app_id, user_ref, blob)
        except Exception:  # noqa: BLE001 - a key gone from the ring, a damaged value: say so
            return "（无法解密）"

    @app.get("/u/{token}", response_class=HTMLResponse, tags=["user pages"], summary="The user's own page (H5)")
    def user_page(token: str, request: Request, reveal: str | None = None,
                  from_: Annotated[str | None, Query_("from")] = None, to: str | None = None):
        link = _link(token)
        if isinstance(link, HTMLResponse):
            return link
        app_id, user_ref, expires = link
        info = ledger.get_app(app_id)
        if info is None:
            return HTMLResponse(pages.render_error("链接无效", "此链接对应的应用不存在。"), status_code=403,
                                headers=pages.SECURITY_HEADERS)
        try:
            d_from, d_to = _day(from_, "from"), _day(to, "to")
        except ApiError:
            return HTMLResponse(pages.render_error("日期无效", "请按 年-月-日 的格式选择日期。"), status_code=400,
                                headers=pages.SECURITY_HEADERS)
        try:
            t_from = _day_start(d_from) if d_from else None
            t_to = _day_start(d_to + timedelta(days=1)) if d_to else None
        except OverflowError:  # 0001-01-01, 9999-12-31: no instant to compare with
            return HTMLResponse(pages.render_error("日期无效", "所选日期超出可查询的范围，请选择其他日期。"),
                                status_code=400, headers=pages.SECURITY_HEADERS)
        show = reveal == "1"
        rows = ledger.user_rows(app_id, user_ref, t_from, t_to)
        types = pi_types
        out = {"collected": [], "shared": []}
        for r in rows:
            t = types.get(r["pi_type"])
            value = _safe_decrypt(app_id, user_ref, r["last_value_enc"]) if r["last_value_enc"] is not None else None
            out[r["kind"]].append({
                "pi": f"{t.zh}" if t else r["pi_type"], "purpose": r["purpose"], "scenario": r["scenario"],
                "source": _source(r["source"], r["kind"], info.name), "count": r["count"],
                "first": pages.fmt_time(r["first_at"]), "last": pages.fmt_time(r["last_at"]),
                "value": None if value is None else (value if show else mask(value)), "flagged": bool(r["flags"])})
        frm_s, to_s = d_from.isoformat() if d_from else "", d_to.isoformat() if d_to else ""
        today = datetime.now(pages.CN).date()
        quick = [("全部", pages.query(reveal="1" if show else None)),
                 ("近 7 天", pages.query(**{"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat(),
                                          "reveal": "1" if show else None})),
                 ("近 30 天", pages.query(**{"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat(),
                                           "reveal": "1" if show else None}))]
        if frm_s or to_s:
            period = f"时段：{frm_s or '最早'} 至 {to_s or '今天'}"
        else:
            period = "时段：全部记录"
        html = pages.render_user_page(
            app_name=info.name, collected=out["collected"], shared=out["shared"], frm=frm_s, to=to_s,
            reveal=show, period_text=period, quick=quick,
            reveal_href=pages.query(**{"from": frm_s, "to": to_s, "reveal": "1"}),
            hide_href=pages.query(**{"from": frm_s, "to": to_s}),
            export_json=f"{token}/export.json", export_csv=f"{token}/export.csv",
            expires=pages.fmt_time(datetime.fromtimestamp(expires, UTC)))
        return HTMLResponse(html, headers=pages.SECURITY_HEADERS)

    def _export_rows(token: str):
        link = _link(token)
        if isinstance(link, HTMLResponse):
            return link, None
        app_id, user_ref, _ = link
        return (app_id, user_ref), ledger.user_events(app_id, user_ref)

    @app.get("/u/{token}/export.json", tags=["user pages"], summary="The user's own data as JSON (PIPL Art. 45)")
    def export_json(token: str):
        who, evs = _export_rows(token)
        if isinstance(who, HTMLResponse):
            return who
        info = ledger.get_app(who[0])
        body = {"schema": "qingdan.ledger-export/1", "app": info.name if info else who[0], "user_ref": who[1],
                "exported_at": datetime.now(UTC).isoformat(), "events": evs}
        return Response(json.dumps(body, ensure_ascii=False, indent=2), media_type="application/json",
                        headers={**pages.SECURITY_HEADERS,
                                 "Content-Disposition": 'attachment; filename="my-data.json"'})

    @app.get("/u/{token}/export.csv", tags=["user pages"], summary="The user's own data as CSV (PIPL Art. 45)")
    def export_csv(token: str):
        who, evs = _export_rows(token)
        if isinstance(who, HTMLResponse):
            return who
        buf = io.StringIO()
        w = csv.writer(buf)
        cols = ["occurred_at", "kind", "pi_type", "purpose", "scenario", "source", "value"]
        w.writerow(cols)
        for e in evs:
            w.writerow([csv_cell(e[c]) for c in cols])
        return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={**pages.SECURITY_HEADERS,
                                 "Content-Disposition": 'attachment; filename="my-data.csv"'})

    return app


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


def Query_(alias: str):  # noqa: N802 - reads like the FastAPI helper it wraps
    from fastapi import Query

    return Query(alias=alias)


def _day_start(d: date) -> datetime:
    """The start of a Beijing day as a UTC instant (SQLite compares the stored UTC text, dropping any zone);
    OverflowError at the ends of the calendar."""
    return datetime.combine(d, datetime.min.time(), pages.CN).astimezone(UTC)
