"""The user's own pages, opened with a signed link (``POST /v1/user-links``): ``GET /u/{token}``,
``/u/{token}/export.json``, ``/u/{token}/export.csv``. Errors are pages (zh-CN), never JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from qingdan._io import csv_cell
from qingdan.ledger.crypto import mask
from qingdan.ledger.links import LinkError, verify
from qingdan.ledger.store import Ledger
from qingdan.service import pages
from qingdan.service.deps import LedgerDep, PiIndexDep, SettingsDep
from qingdan.service.inputs import bad_char

router = APIRouter(tags=["user pages"])
_AGAIN = "请回到 App 中重新打开“我的个人信息记录”。"


def _error(status: int, title: str, message: str) -> HTMLResponse:
    return HTMLResponse(pages.render_error(title, message), status_code=status,
                        headers=pages.SECURITY_HEADERS)


def bad_param_page(status: int) -> HTMLResponse:
    """The answer to a control character in a user page's path (404) or query (422)."""
    return _error(status, "链接无效" if status == 404 else "参数无效", "此链接含有无效字符。" + _AGAIN)


def _link(secret: str, token: str) -> tuple[str, str, int] | HTMLResponse:
    try:
        link = verify(secret, token)
        if bad_char(link[1]) is not None:  # signed before user refs were checked: never to the database
            raise LinkError("invalid")
        return link
    except LinkError as exc:
        if exc.reason == "expired":
            return _error(401, "链接已过期", "此链接已过期。" + _AGAIN)
        return _error(403, "链接无效", "此链接无效或已被修改。" + _AGAIN)


def _day(s: str | None) -> date | None:
    return date.fromisoformat(s[:10]) if s else None  # ValueError: not a date


def _source(src: str, app_name: str) -> str:
    if src == "app":
        return f"本应用（{app_name}）" if app_name else "本应用"
    from qingdan.knowledge.sdks import load_sdks

    s = load_sdks().get(src)
    return f"{s.name}（SDK）" if s is not None else src


def _safe_decrypt(ledger: Ledger, app_id: str, user_ref: str, blob) -> str | None:
    try:
        return ledger.decrypt(app_id, user_ref, blob)
    except Exception:  # noqa: BLE001 - a key gone from the ring, a damaged value: say so
        return "（无法解密）"


@router.get("/u/{token}", response_class=HTMLResponse, summary="The user's own page (H5)")
def user_page(token: str, request: Request, ledger: LedgerDep, settings: SettingsDep, pi: PiIndexDep,
              reveal: str | None = None, from_: Annotated[str | None, Query(alias="from")] = None,
              to: str | None = None):
    """What the app collected about the user and shared with third parties, per PI type, purpose and
    source, for a period (``from``/``to``, Beijing days); values masked unless ``reveal=1``."""
    link = _link(settings.secret, token)
    if isinstance(link, HTMLResponse):
        return link
    app_id, user_ref, expires = link
    info = ledger.get_app(app_id)
    if info is None:
        return _error(403, "链接无效", "此链接对应的应用不存在。")
    try:
        d_from, d_to = _day(from_), _day(to)
    except ValueError:
        return _error(400, "日期无效", "请按 年-月-日 的格式选择日期。")
    try:
        t_from = _day_start(d_from) if d_from else None
        t_to = _day_start(d_to + timedelta(days=1)) if d_to else None
    except OverflowError:  # 0001-01-01, 9999-12-31: no instant to compare with
        return _error(400, "日期无效", "所选日期超出可查询的范围，请选择其他日期。")
    show = reveal == "1"
    rows = ledger.user_rows(app_id, user_ref, t_from, t_to)
    types = pi[0]
    out = {"collected": [], "shared": []}
    for r in rows:
        t = types.get(r["pi_type"])
        enc = r["last_value_enc"]
        value = _safe_decrypt(ledger, app_id, user_ref, enc) if enc is not None else None
        out[r["kind"]].append({
            "pi": f"{t.zh}" if t else r["pi_type"], "purpose": r["purpose"], "scenario": r["scenario"],
            "source": _source(r["source"], info.name), "count": r["count"],
            "first": pages.fmt_time(r["first_at"]), "last": pages.fmt_time(r["last_at"]),
            "value": None if value is None else (value if show else mask(value))})
    frm_s, to_s = d_from.isoformat() if d_from else "", d_to.isoformat() if d_to else ""
    today = datetime.now(pages.CN).date()
    keep = "1" if show else None

    def last(days: int) -> str:
        return pages.query(**{"from": (today - timedelta(days=days - 1)).isoformat(),
                              "to": today.isoformat(), "reveal": keep})

    quick = [("全部", pages.query(reveal=keep)), ("近 7 天", last(7)), ("近 30 天", last(30))]
    period = f"时段：{frm_s or '最早'} 至 {to_s or '今天'}" if frm_s or to_s else "时段：全部记录"
    html = pages.render_user_page(
        app_name=info.name, collected=out["collected"], shared=out["shared"], frm=frm_s, to=to_s,
        reveal=show, period_text=period, quick=quick,
        reveal_href=pages.query(**{"from": frm_s, "to": to_s, "reveal": "1"}),
        hide_href=pages.query(**{"from": frm_s, "to": to_s}),
        export_json=f"{token}/export.json", export_csv=f"{token}/export.csv",
        expires=pages.fmt_time(datetime.fromtimestamp(expires, UTC)))
    return HTMLResponse(html, headers=pages.SECURITY_HEADERS)


def _export_rows(ledger: Ledger, secret: str, token: str):
    link = _link(secret, token)
    if isinstance(link, HTMLResponse):
        return link, None
    app_id, user_ref, _ = link
    return (app_id, user_ref), ledger.user_events(app_id, user_ref)


@router.get("/u/{token}/export.json", summary="The user's own data as JSON (PIPL Art. 45)")
def export_json(token: str, ledger: LedgerDep, settings: SettingsDep):
    """Every event stored about the user, values decrypted, as ``qingdan.ledger-export/1``."""
    who, evs = _export_rows(ledger, settings.secret, token)
    if isinstance(who, HTMLResponse):
        return who
    info = ledger.get_app(who[0])
    body = {"schema": "qingdan.ledger-export/1", "app": info.name if info else who[0], "user_ref": who[1],
            "exported_at": datetime.now(UTC).isoformat(), "events": evs}
    return Response(json.dumps(body, ensure_ascii=False, indent=2), media_type="application/json",
                    headers={**pages.SECURITY_HEADERS,
                             "Content-Disposition": 'attachment; filename="my-data.json"'})


@router.get("/u/{token}/export.csv", summary="The user's own data as CSV (PIPL Art. 45)")
def export_csv(token: str, ledger: LedgerDep, settings: SettingsDep):
    """Every event stored about the user, one a row (UTF-8 with a BOM, for spreadsheets)."""
    who, evs = _export_rows(ledger, settings.secret, token)
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


def _day_start(d: date) -> datetime:
    """The start of a Beijing day as a UTC instant (SQLite compares the stored UTC text, dropping any
    zone); OverflowError at the ends of the calendar."""
    return datetime.combine(d, datetime.min.time(), pages.CN).astimezone(UTC)
