"""The web console of the app-store review service: server-rendered pages under ``/console/`` (``router``).

The same accounts and roles as ``/v1/review``: one logs in by pasting the account's API key, and gets a
signed (``QINGDAN_SECRET``), HttpOnly, SameSite=Strict session cookie. Every form carries a CSRF token
derived from the session; a POST from another origin is refused. Developers see their own apps only
(others' are 404) and cannot give verdicts (403); reviewers see the queue and give verdicts.
No scripts (a meta refresh while a scan runs), no external assets, everything escaped by Jinja2.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from qingdan.checks.findings import count_by_severity
from qingdan.db.util import as_utc
from qingdan.review.attachments import (
    ATTACH_MAX,
    ATTACH_TOTAL,
    MAX_UI,
    BadAttachment,
    count_check,
    store_all,
    validate,
)
from qingdan.review.storage import NotAPackage, Storage, TooLarge
from qingdan.review.store import Forbidden, ReviewStore
from qingdan.review.suggestion import verdict_suggestion
from qingdan.service.deps import JobsDep, ReviewSettingsDep, ReviewStoreDep, StorageDep
from qingdan.service.errors import ConsoleError
from qingdan.service.inputs import bad_char
from qingdan.service.pages import fmt_time

COOKIE = "qingdan_console"
SESSION_S = 8 * 3600
TEMPLATES = Path(__file__).resolve().parent / "templates"
CSS = (TEMPLATES / "console.css").read_text("utf-8")
CSS_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode() + "'"
CSP = (f"default-src 'none'; style-src {CSS_HASH}; img-src 'none'; frame-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "Referrer-Policy": "same-origin",
           "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "X-Robots-Tag": "noindex"}
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
STATUS = {"queued": "排队中 Queued", "running": "扫描中 Running", "done": "已完成 Done",
          "failed": "失败 Failed"}
DECISION = {"approve": "通过 Approved", "reject": "驳回 Rejected"}

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)
_env.filters["t"] = lambda v: fmt_time(as_utc(v)) if v is not None else ""
_env.globals.update(STATUS=STATUS, DECISION=DECISION)


LOGIN_FAILS, LOGIN_WINDOW_S = 10, 300  # failed logins per client address per window, then 429


def error_page(status: int, title: str, message: str, headers: dict | None = None) -> HTMLResponse:
    """An error page that needs nothing but the templates (no session: the database may be down)."""
    html = _env.get_template("error.html.j2").render(css=Markup(CSS), me=None, csrf="", title=title,
                                                     message=message)
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


def _check_form(form: FormData, free_text: tuple[str, ...] = ()) -> None:
    """Every text field without control characters (``free_text`` ones may have tab and newlines)."""
    for name, value in form.multi_items():
        if isinstance(value, str) and (c := bad_char(name) or bad_char(value, name in free_text)) is not None:
            raise ConsoleError(422, "输入无效 Invalid input",
                               f"字段 {name!r} 含有控制字符 {c}。"
                               f"The field {name!r} contains the control character {c}.")


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _mac(request: Request, msg: str) -> str:
    secret = request.app.state.settings.secret.encode()
    return _b64(hmac.new(secret, msg.encode(), hashlib.sha256).digest())


def _make_session(request: Request, acc_id: str) -> str:
    now_ms = time.time_ns() // 1_000_000
    body = f"{acc_id}.{now_ms // 1000 + SESSION_S}.{now_ms}.{secrets.token_urlsafe(16)}"
    return f"{body}.{_mac(request, 'console-session|' + body)}"


def session(request: Request) -> tuple[dict, str] | None:
    """(account, csrf token) of a valid session cookie, else None: signed, not expired, its account
    enabled, and issued after the account's last logout, key rotation or disabling."""
    raw = request.cookies.get(COOKIE, "")
    parts = raw.split(".")
    if len(parts) != 5:
        return None
    body = ".".join(parts[:4])
    if not hmac.compare_digest(parts[4], _mac(request, "console-session|" + body)):
        return None
    acc_id, exp, issued_ms, nonce = parts[:4]
    if not exp.isdigit() or int(exp) < time.time() or not issued_ms.isdigit():
        return None
    store: ReviewStore = request.app.state.review  # also for error pages, which have no dependencies
    row = store.session_account(acc_id)
    if row is None or (row["sessions_after"] is not None
                       and int(issued_ms) <= as_utc(row["sessions_after"]).timestamp() * 1000):
        return None
    return {"id": row["id"], "name": row["name"], "role": row["role"]}, _mac(request, "console-csrf|" + nonce)


def page(request: Request, template: str, status: int = 200, **kw) -> HTMLResponse:
    s = session(request)
    html = _env.get_template(template).render(css=Markup(CSS), me=s[0] if s else None,
                                              csrf=s[1] if s else "", **kw)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


async def error_handler(request: Request, exc: ConsoleError) -> HTMLResponse:
    """How a ``ConsoleError`` is answered: the console's error page (with the session's header)."""
    return page(request, "error.html.j2", exc.status, title=exc.title, message=exc.message)


def need(request: Request, role: str | None = None) -> tuple[dict, str]:
    s = session(request)
    if s is None:
        raise ConsoleError(401, "请先登录 Please log in",
                           "此页面需要登录。This page needs a console session.")
    if role and s[0]["role"] != role:
        raise ConsoleError(403, "无权限 Forbidden",
                           f"仅限{'审核员 reviewers' if role == 'reviewer' else '开发者 developers'}。")
    return s


def same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
        raise ConsoleError(403, "请求被拒绝 Refused", "跨站请求被拒绝。Cross-origin form posts are refused.")


def _csrf(form: FormData, token: str) -> None:
    if not hmac.compare_digest(str(form.get("csrf", "")), token):
        raise ConsoleError(403, "请求被拒绝 Refused",
                           "表单已过期或无效，请刷新页面后重试。Invalid CSRF token.")


async def form_checked(request: Request, role: str | None = None) -> tuple[dict, FormData]:
    same_origin(request)
    acc, token = need(request, role)
    form = await request.form(max_files=0, max_fields=300, max_part_size=16 * 1024)
    _csrf(form, token)
    _check_form(form, free_text=("note",))
    return acc, form


def visible(store: ReviewStore, sub_id: str, acc: dict) -> dict:
    sub = store.visible_submission(sub_id, acc)
    if sub is None:
        raise ConsoleError(404, "未找到 Not found", f"没有提交 {sub_id}。No such submission.")
    return sub


def app_visible(store: ReviewStore, package: str, acc: dict) -> dict:
    a = store.visible_app(package, acc)
    if a is None:
        raise ConsoleError(404, "未找到 Not found", f"没有应用 {package}。No such app.")
    return a


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _not_yours(package: str) -> ConsoleError:
    return ConsoleError(403, "无权限 Forbidden",
                        f"应用 {package} 属于另一个账号。The app belongs to another account.")


router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- login and logout
@router.get("/console")
@router.get("/console/")
def home(request: Request):
    """To the login page, or to a reviewer's queue or a developer's apps."""
    s = session(request)
    if s is None:
        return redirect("/console/login")
    return redirect("/console/queue" if s[0]["role"] == "reviewer" else "/console/apps")


@router.get("/console/login")
def login_form(request: Request):
    """The login form: the account's API key."""
    return page(request, "login.html.j2", error=None)


def recent_failures(request: Request, ip: str) -> list[float]:
    failures: dict[str, list[float]] = request.app.state.login_failures  # address -> recent failed logins
    now = time.monotonic()
    if len(failures) > 10_000:  # many addresses: forget those with nothing recent
        for k in [k for k, v in failures.items() if not v or now - v[-1] > LOGIN_WINDOW_S]:
            del failures[k]
    recent = [t for t in failures.get(ip, ()) if now - t < LOGIN_WINDOW_S]
    failures[ip] = recent
    return recent


@router.post("/console/login")
async def login(request: Request, store: ReviewStoreDep):
    """A session cookie for a valid API key; too many failures from one address: 429 for a while."""
    same_origin(request)
    ip = request.client.host if request.client else "-"
    recent = recent_failures(request, ip)
    if len(recent) >= LOGIN_FAILS:
        wait = int(LOGIN_WINDOW_S - (time.monotonic() - recent[0])) + 1
        resp = page(request, "login.html.j2", 429, error=f"登录失败次数过多，请 {wait} 秒后再试。"
                                                         f"Too many failed logins; try again in {wait} s.")
        resp.headers["Retry-After"] = str(wait)
        return resp
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    _check_form(form)
    acc = store.authenticate(str(form.get("api_key", "")).strip())
    if acc is None:
        recent.append(time.monotonic())
        return page(request, "login.html.j2", 401,
                    error="API 密钥无效或账号已停用。Unknown or disabled API key.")
    request.app.state.login_failures.pop(ip, None)
    resp = redirect("/console/")
    resp.set_cookie(COOKIE, _make_session(request, acc["id"]), max_age=SESSION_S, path="/console",
                    httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.post("/console/logout")
async def logout(request: Request, store: ReviewStoreDep):
    """Ends every session of the account, on this browser and any other."""
    acc, _ = await form_checked(request)
    store.end_sessions(acc["id"])  # server side: a copied cookie stops working too
    resp = redirect("/console/login")
    resp.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict",
                       secure=request.url.scheme == "https")
    return resp


# ---------------------------------------------------------------- apps, history, upload
def versions_of(store: ReviewStore, app_id: str) -> list[dict]:
    subs = store.app_submissions(app_id)
    vs = store.verdicts([s["id"] for s in subs])
    return [{**s, "verdicts": vs[s["id"]]} for s in subs]


@router.get("/console/apps")
def my_apps(request: Request, store: ReviewStoreDep):
    """The apps one may see with their versions; a developer's uploads for names not (yet) theirs."""
    acc, _ = need(request)
    rows = store.visible_apps(acc)
    # uploads for names not (yet) theirs: queued, or failed with why
    unbound = store.unbound_submissions(acc["id"]) if acc["role"] != "reviewer" else []
    return page(request, "apps.html.j2", apps=[{**a, "versions": versions_of(store, a["id"])} for a in rows],
                unbound=unbound)


@router.get("/console/apps/{package}")
def history(package: str, request: Request, store: ReviewStoreDep):
    """An app's versions with their verdicts, and what changed from each scanned version to the next."""
    from qingdan.report.diff import diff_reports

    acc, _ = need(request)
    a = app_visible(store, package, acc)
    versions = versions_of(store, a["id"])
    diffs, prev = [], None
    for s in versions:
        if s["status"] == "done" and s["report_json"]:
            rep = json.loads(s["report_json"])
            if prev is not None:
                titles = {f["rule"]: f["title_zh"] for f in prev[1]["findings"] + rep["findings"]}
                diffs.append({"from": prev[0], "to": s, "d": diff_reports(prev[1], rep), "titles": titles})
            prev = (s, rep)
    return page(request, "history.html.j2", app=a, versions=versions, diffs=diffs)


@router.get("/console/upload")
def upload_form(request: Request, rs: ReviewSettingsDep, app: str = ""):  # noqa: A002 - the query's name
    """The upload form (developers), the package name filled in from ``?app=``."""
    need(request, "developer")
    return page(request, "upload.html.j2", package=app, max_mb=rs.max_upload_bytes // (1024 * 1024),
                error=None, attach_mb=ATTACH_MAX // (1024 * 1024), max_ui=MAX_UI)


@router.post("/console/upload")
async def upload(request: Request, store: ReviewStoreDep, rs: ReviewSettingsDep, storage: StorageDep,
                 jobs: JobsDep):
    """A package (and optional attachments) submitted from the form; then to its submission's page."""
    same_origin(request)
    acc, token = need(request, "developer")
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise ConsoleError(411, "需要长度 Length required", "上传需要 Content-Length。")
    if int(length) > rs.max_upload_bytes + ATTACH_TOTAL + 64 * 1024:
        raise ConsoleError(413, "文件过大 Too large", f"安装包超过 {rs.max_upload_bytes // (1024 * 1024)} MiB"
                                                      " 的上限。The package is too large.")
    form = await request.form(max_files=3 + MAX_UI, max_fields=10, max_part_size=4096)
    try:
        _csrf(form, token)
        _check_form(form)
        package = str(form.get("app", "")).strip()
        file = form.get("file")
        if not package or len(package) > 255 or isinstance(file, str) or file is None or not file.filename:
            raise ConsoleError(422, "表单不完整 Incomplete form",
                               "请填写包名并选择安装包。Give the package name and the package file.")
        attached: list[tuple[str, str, bytes]] = []
        try:
            for kind in ("policy", "lists", "ui"):
                for up in form.getlist(kind):
                    if isinstance(up, str) or not up.filename:  # an empty optional file input
                        continue
                    up.file.seek(0)
                    data = up.file.read(ATTACH_MAX + 1)
                    attached.append((kind, validate(kind, up.filename, up.content_type, data), data))
                    count_check(attached)
        except BadAttachment as exc:
            raise ConsoleError(415, "附件无效 Bad attachment", f"{exc}.") from None
        try:  # another account's app: refused before the package is stored
            await run_in_threadpool(store.check_upload, package, acc["id"])
        except Forbidden:
            raise _not_yours(package) from None
        sha, size = await run_in_threadpool(_store_upload, storage, file.file, rs.max_upload_bytes, True)
    finally:
        await form.close()

    def record() -> str:  # database and broker: off the event loop
        sub_id, dup, _ = store.submit(package, acc["id"], sha, str(storage.path(sha)), size,
                                      store_all(storage, attached))
        if not dup:
            jobs.submit(sub_id)
        return sub_id

    try:
        sub_id = await run_in_threadpool(record)
    except Forbidden:
        raise _not_yours(package) from None
    return redirect(f"/console/submissions/{sub_id}")


# ---------------------------------------------------------------- submissions and verdicts
@router.get("/console/queue")
def queue(request: Request, store: ReviewStoreDep):
    """The newest submissions of every account, with their verdicts (reviewers)."""
    need(request, "reviewer")
    rows = store.review_queue()
    vs = store.verdicts([r["id"] for r in rows])
    return page(request, "queue.html.j2", subs=[{**r, "verdicts": vs[r["id"]]} for r in rows])


@router.get("/console/submissions/{sub_id}")
def submission(sub_id: str, request: Request, store: ReviewStoreDep, error: str | None = None):
    """A submission: its status, findings (one per rule), report, verdicts, events; the verdict form."""
    acc, _ = need(request)
    sub = visible(store, sub_id, acc)
    rep = json.loads(sub["report_json"]) if sub["status"] == "done" and sub["report_json"] else None
    findings, counts = [], count_by_severity(())
    if rep is not None:
        counts = count_by_severity(rep["findings"])
        seen: dict[str, dict] = {}
        for f in rep["findings"]:
            seen.setdefault(f["rule"], f)
        findings = list(seen.values())
    titles = {f["rule"]: f["title_zh"] for f in findings}
    suggested = verdict_suggestion(rep) if rep is not None else None
    return page(request, "submission.html.j2", sub=sub, rep=rep, findings=findings, counts=counts,
                suggested=suggested,
                titles=titles, verdicts=store.verdicts([sub_id])[sub_id], events=store.events(sub_id),
                progress={"queued": 0, "running": 50}.get(sub["status"], 100), error=error)


@router.get("/console/submissions/{sub_id}/report.html")
def report_html(sub_id: str, request: Request, store: ReviewStoreDep):
    """The HTML report, framed by the submission's page (same origin only)."""
    from qingdan.report.html import render_html

    acc, _ = need(request)
    sub = visible(store, sub_id, acc)
    if sub["status"] != "done" or not sub["report_json"]:
        raise ConsoleError(409, "报告未就绪 Not ready",
                           f"提交 {sub_id} 的状态是 {STATUS.get(sub['status'], sub['status'])}。")
    return HTMLResponse(render_html(json.loads(sub["report_json"])),
                        headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-store", "X-Frame-Options": "SAMEORIGIN"})


@router.post("/console/submissions/{sub_id}/verdict")
async def verdict(sub_id: str, request: Request, store: ReviewStoreDep) -> Response:
    """Approve or reject (reviewers); a rejection's reasons are findings of the submission or a note."""
    same_origin(request)
    acc, _ = need(request)
    visible(store, sub_id, acc)
    if acc["role"] != "reviewer":
        raise ConsoleError(403, "无权限 Forbidden",
                           "只有审核员可以给出审核结论。Only reviewers give verdicts.")
    acc, form = await form_checked(request, "reviewer")
    sub = visible(store, sub_id, acc)
    if sub["status"] != "done" or not sub["report_json"]:
        raise ConsoleError(409, "报告未就绪 Not ready", "扫描完成后才能给出审核结论。")
    decision = str(form.get("decision", ""))
    rules = list(dict.fromkeys(str(r) for r in form.getlist("rules")))
    note = str(form.get("note", "")).strip()[:5000]
    found = {x["rule"] for x in json.loads(sub["report_json"])["findings"]}

    def again(msg: str) -> Response:
        resp = submission(sub_id, request, store, error=msg)
        resp.status_code = 422
        return resp

    if decision not in DECISION:
        return again("请选择通过或驳回。Choose approve or reject.")
    if set(rules) - found:
        return again("驳回理由须来自本次提交的检测结果。Reasons must be findings of this submission.")
    if decision == "reject" and not rules and not note:
        return again("驳回需要理由：勾选检测结果或填写说明。A rejection needs a reason.")
    store.add_verdict(sub_id, acc["id"], decision, rules if decision == "reject" else [], note)
    return redirect(f"/console/submissions/{sub_id}")


def _store_upload(storage: Storage, fh, limit: int, check_magic: bool) -> tuple[str, int]:
    w = storage.writer(limit, check_magic=check_magic)
    try:
        fh.seek(0)
        while chunk := fh.read(1 << 20):
            w.write(chunk)
        return w.commit()
    except TooLarge as exc:
        raise ConsoleError(413, "文件过大 Too large", f"The file is {exc}.") from None
    except NotAPackage as exc:
        raise ConsoleError(415, "不是安装包 Not a package", f"The upload is {exc}.") from None
    finally:
        w.discard()
