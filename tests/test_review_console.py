"""The review service's web console (issue 9): login/logout with a signed SameSite=Strict cookie, roles,
CSRF-safe forms, escaping (TestClient); and the whole developer ↔ reviewer flow in headless Chromium
(uvicorn in a thread, SQLite, the in-process queue). The browser test skips only when /usr/bin/chromium
or the ``playwright`` package is missing."""

import re
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from tests.support.apkbuilder import ClassDef, build_apk, build_dex, build_manifest  # noqa: E402
from tests.test_lists_render import needs_browser  # noqa: E402
from tests.test_review import PKG, Svc, _close_services  # noqa: E402, F401 - the fixture closes services

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def apk(path, version_code=1, version_name="1.0", debuggable=False):
    attrs = {"android:allowBackup": False, **({"android:debuggable": True} if debuggable else {})}
    man = build_manifest(PKG, version_code=version_code, version_name=version_name, label="Shop",
                         app_attrs=attrs)
    return build_apk(path, man, [build_dex([ClassDef("Lcom/example/shop/Main;")])])


@pytest.fixture
def svc(tmp_path, monkeypatch):
    return Svc(tmp_path, monkeypatch)


def login(client, key):
    return client.post("/console/login", data={"api_key": key}, follow_redirects=False)


def csrf(html):
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html
    return m.group(1)


def fresh(svc):
    from fastapi.testclient import TestClient

    return TestClient(svc.app)


def upload_v1(svc, tmp_path):
    sub = svc.upload(apk(tmp_path / "v1.apk", debuggable=True)).json()["id"]
    assert svc.wait(sub)["status"] == "done"
    return sub


def test_login_cookie_and_logout(svc):
    c = svc.client
    assert c.get("/console/", follow_redirects=False).headers["location"] == "/console/login"
    page = c.get("/console/login")
    assert page.status_code == 200 and "API 密钥" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    bad = login(c, "qdr_nope")
    assert bad.status_code == 401 and "API 密钥无效" in bad.text and "set-cookie" not in bad.headers
    r = login(c, svc.dev)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert ("HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
            and "Path=/console" in cookie)
    assert svc.dev not in cookie  # the API key is never in the cookie
    assert c.get("/console/", follow_redirects=False).headers["location"] == "/console/apps"
    apps = c.get("/console/apps")
    assert apps.status_code == 200 and "dev-a" in apps.text and "我的应用" in apps.text
    # logout needs the CSRF token of the session
    assert c.post("/console/logout", data={}, follow_redirects=False).status_code == 403
    out = c.post("/console/logout", data={"csrf": csrf(apps.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert 'Max-Age=0' in out.headers["set-cookie"] and "SameSite=strict" in out.headers["set-cookie"]
    assert c.get("/console/apps").status_code == 401
    # a tampered or forged cookie is no session
    login(c, svc.rev)
    val = c.cookies.get("qingdan_console")
    acc, exp, issued, nonce, sig = val.split(".")
    c.cookies.clear()
    c.cookies.set("qingdan_console", f"{acc}.{int(exp) + 999}.{issued}.{nonce}.{sig}", path="/console")
    assert c.get("/console/queue").status_code == 401
    assert c.get("/console/login").status_code == 200


def test_logout_and_new_key_end_sessions_server_side(svc):
    """A copy of the cookie taken before logout (or before a key rotation or disabling) no longer works."""
    store = svc.app.state.review
    c = svc.client
    login(c, svc.dev)
    stolen = c.cookies.get("qingdan_console")
    apps = c.get("/console/apps")
    assert apps.status_code == 200
    c.post("/console/logout", data={"csrf": csrf(apps.text)}, follow_redirects=False)
    c.cookies.set("qingdan_console", stolen, path="/console")
    assert c.get("/console/apps").status_code == 401
    c.cookies.clear()
    assert (login(c, svc.dev).status_code == 303
            and c.get("/console/apps").status_code == 200)  # a new login works
    held = c.cookies.get("qingdan_console")
    _, new_key = store.rotate_key("dev-a")
    assert c.get("/console/apps").status_code == 401
    c.cookies.clear()
    assert login(c, svc.dev).status_code == 401  # the old key is refused
    assert login(c, new_key).status_code == 303 and c.get("/console/apps").status_code == 200
    store.set_disabled("dev-a", True)
    assert c.get("/console/apps").status_code == 401
    store.set_disabled("dev-a", False)
    assert c.get("/console/apps").status_code == 401  # enabling again does not revive old sessions
    c.cookies.set("qingdan_console", held, path="/console")
    assert c.get("/console/apps").status_code == 401


def test_failed_logins_are_rate_limited(svc):
    from qingdan.service.console import LOGIN_FAILS

    c = svc.client
    for _ in range(LOGIN_FAILS):
        assert login(c, "qdr_guess").status_code == 401
    r = login(c, svc.dev)  # even the right key waits: the address is blocked for the window
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0 and "Too many failed logins" in r.text
    assert "set-cookie" not in r.headers


def test_roles(svc, tmp_path):
    sub = upload_v1(svc, tmp_path)
    dev, dev2, rev = fresh(svc), fresh(svc), fresh(svc)
    login(dev, svc.dev), login(dev2, svc.dev2), login(rev, svc.rev)
    assert dev.get(f"/console/submissions/{sub}").status_code == 200
    assert dev2.get(f"/console/submissions/{sub}").status_code == 404
    assert dev2.get(f"/console/submissions/{sub}/report.html").status_code == 404
    assert dev2.get(f"/console/apps/{PKG}").status_code == 404
    assert PKG not in dev2.get("/console/apps").text
    assert dev.get("/console/queue").status_code == 403
    assert rev.get("/console/upload").status_code == 403
    page = dev.get(f"/console/submissions/{sub}").text
    assert "verdict-form" not in page and "提交下一个版本" in page
    r = dev.post(f"/console/submissions/{sub}/verdict", data={"csrf": csrf(page), "decision": "approve"})
    assert r.status_code == 403
    assert dev2.post(f"/console/submissions/{sub}/verdict", data={"decision": "approve"}).status_code == 404
    q = rev.get("/console/queue")
    assert q.status_code == 200 and PKG in q.text and "dev-a" in q.text
    assert "verdict-form" in rev.get(f"/console/submissions/{sub}").text
    rep = rev.get(f"/console/submissions/{sub}/report.html")
    assert (rep.status_code == 200 and "sec.debuggable" in rep.text
            and "frame-ancestors 'self'" in rep.headers["content-security-policy"])


def test_verdict_needs_session_csrf_and_same_origin(svc, tmp_path):
    sub = upload_v1(svc, tmp_path)
    anon = fresh(svc)
    assert anon.post(f"/console/submissions/{sub}/verdict", data={"decision": "approve"}).status_code == 401
    rev = fresh(svc)
    login(rev, svc.rev)
    page = rev.get(f"/console/submissions/{sub}").text
    token = csrf(page)
    assert rev.post(f"/console/submissions/{sub}/verdict", data={"decision": "approve"}).status_code == 403
    assert rev.post(f"/console/submissions/{sub}/verdict",
                    data={"decision": "approve", "csrf": "x" * 43}).status_code == 403
    assert rev.post(f"/console/submissions/{sub}/verdict", data={"decision": "approve", "csrf": token},
                    headers={"Origin": "https://evil.example"}).status_code == 403
    # the token of another session does not fit
    rev2 = fresh(svc)
    login(rev2, svc.rev)
    other = csrf(rev2.get("/console/queue").text)
    assert other != token
    assert rev.post(f"/console/submissions/{sub}/verdict",
                    data={"decision": "approve", "csrf": other}).status_code == 403
    # reasons must be the submission's findings; a rejection needs one
    bad = rev.post(f"/console/submissions/{sub}/verdict",
                   data={"decision": "reject", "csrf": token, "rules": "no.such"})
    assert bad.status_code == 422 and "驳回理由须来自" in bad.text
    assert rev.post(f"/console/submissions/{sub}/verdict",
                    data={"decision": "reject", "csrf": token}).status_code == 422
    assert svc.app.state.review.verdicts([sub])[sub] == []
    ok = rev.post(f"/console/submissions/{sub}/verdict", follow_redirects=False,
                  data={"decision": "reject", "csrf": token, "rules": "sec.debuggable", "note": "关闭调试"})
    assert ok.status_code == 303 and ok.headers["location"] == f"/console/submissions/{sub}"
    (v,) = svc.app.state.review.verdicts([sub])[sub]
    assert v["decision"] == "reject" and v["rules"] == ["sec.debuggable"] and v["note"] == "关闭调试"


def test_escaping(svc, tmp_path):
    sub = upload_v1(svc, tmp_path)
    rev = fresh(svc)
    login(rev, svc.rev)
    token = csrf(rev.get(f"/console/submissions/{sub}").text)
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    rev.post(f"/console/submissions/{sub}/verdict", data={"decision": "reject", "csrf": token, "note": evil})
    dev = fresh(svc)
    login(dev, svc.dev)
    page = dev.get(f"/console/submissions/{sub}").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # a hostile name in the upload form: refused by the owner check or escaped, never raw
    r = svc.client.get(f"/console/apps/{evil}")
    assert "<script>alert(1)" not in r.text


def test_console_upload_with_policy_and_refusals(svc, tmp_path):
    dev = fresh(svc)
    login(dev, svc.dev)
    form = dev.get("/console/upload?app=" + PKG)
    assert f'value="{PKG}"' in form.text
    token = csrf(form.text)
    p = apk(tmp_path / "v1.apk")
    with open(p, "rb") as fh:
        r = dev.post("/console/upload", follow_redirects=False, data={"csrf": token, "app": PKG},
                     files={"file": ("v1.apk", fh, "application/vnd.android.package-archive"),
                            "policy": ("privacy.txt", "我们收集……".encode(), "text/plain")})
    assert r.status_code == 303, r.text
    sub = r.headers["location"].rsplit("/", 1)[1]
    events = svc.app.state.review.events(sub)
    assert ([e["event"] for e in events][:2] == ["queued", "attachments"]
            and "policy privacy.txt" in events[1]["detail"])
    svc.wait(sub, key=svc.dev)
    page = dev.get(f"/console/submissions/{sub}").text
    assert "已完成 Done" in page and 'http-equiv="refresh"' not in page
    # the policy was checked: its findings are in the report and among the reviewer's reasons
    assert "policy.no-summary" in page
    # an attachment of the wrong kind or encoding is refused before anything is stored
    with open(p, "rb") as fh:
        bad = dev.post("/console/upload", data={"csrf": token, "app": PKG},
                       files={"file": ("v1.apk", fh, "application/octet-stream"),
                              "lists": ("privacy-lists.yaml", "清单".encode("gbk"), "application/yaml")})
    assert bad.status_code == 415 and "not UTF-8" in bad.text
    notzip = dev.post("/console/upload", data={"csrf": token, "app": PKG},
                      files={"file": ("x.apk", b"hello, not a zip", "application/octet-stream")})
    assert notzip.status_code == 415 and "不是安装包" in notzip.text
    nocsrf = dev.post("/console/upload", data={"app": PKG},
                      files={"file": ("x.apk", b"PK\x03\x04", "application/zip")})
    assert nocsrf.status_code == 403
    # another developer's app name
    dev2 = fresh(svc)
    login(dev2, svc.dev2)
    with open(p, "rb") as fh:
        taken = dev2.post("/console/upload",
                          data={"csrf": csrf(dev2.get("/console/upload").text), "app": PKG},
                          files={"file": ("v1.apk", fh, "application/octet-stream")})
    assert taken.status_code == 403
    # … refused before its package is stored
    stored = sorted(svc.storage.iterdir())
    new = apk(tmp_path / "v9.apk", version_code=9).read_bytes()
    taken = dev2.post("/console/upload", data={"csrf": csrf(dev2.get("/console/upload").text), "app": PKG},
                      files={"file": ("v9.apk", new, "application/octet-stream")})
    assert taken.status_code == 403 and "另一个账号" in taken.text and sorted(svc.storage.iterdir()) == stored


def test_apps_page_lists_uploads_for_names_not_yet_claimed(svc, tmp_path):
    """A first upload claims nothing until its scan succeeds: the developer still sees it (here one
    that failed, with the reason) on their apps page; nobody else does, and the name stays free."""
    import io
    import zipfile

    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("hello.txt", "not an app")
    dev2 = fresh(svc)
    login(dev2, svc.dev2)
    r = dev2.post("/console/upload", follow_redirects=False,
                  data={"csrf": csrf(dev2.get("/console/upload").text), "app": PKG},
                  files={"file": ("x.apk", zbuf.getvalue(), "application/octet-stream")})
    assert r.status_code == 303, r.text
    sub = r.headers["location"].rsplit("/", 1)[1]
    assert svc.wait(sub, key=svc.dev2)["status"] == "failed"
    page = dev2.get("/console/apps").text
    assert f'href="/console/submissions/{sub}">{PKG}</a>' in page and "no AndroidManifest.xml" in page
    assert "还没有应用。No apps yet." in page  # the name is not theirs
    dev = fresh(svc)
    login(dev, svc.dev)
    assert (sub not in dev.get("/console/apps").text
            and dev.get(f"/console/submissions/{sub}").status_code == 404)
    assert svc.app.state.review.app_by_package(PKG) is None


# ---------------------------------------------------------------------------------------------- browser


@needs_browser
def test_browser_walkthrough(svc, tmp_path):
    import uvicorn
    from playwright.sync_api import expect, sync_playwright

    v1 = apk(tmp_path / "shop-1.0.apk", 1, "1.0", debuggable=True)
    v2 = apk(tmp_path / "shop-2.0.apk", 2, "2.0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(svc.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not server.started and time.monotonic() < end:
        time.sleep(0.05)
    assert server.started
    base = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []

    def watch(page):
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    def shot(page, name):
        page.screenshot(path=str(ARTIFACTS / f"review-{name}.png"), full_page=True)

    def log_in(ctx, key):
        page = watch(ctx.new_page())
        page.goto(f"{base}/console/")
        expect(page.get_by_role("heading", name="登录 Log in")).to_be_visible()
        page.fill("#api_key", key)
        page.click("button[type=submit]")
        return page

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            dctx = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
            rctx = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")

            # developer: log in, upload v1, watch it go from queued to done, open the report
            dev = log_in(dctx, svc.dev)
            expect(dev.locator("#me")).to_contain_text("dev-a")
            expect(dev.locator("main")).to_contain_text("还没有应用")
            shot(dev, "dev-apps-empty")
            dev.click("text=上传新应用 Upload a new app")
            dev.fill("#app", PKG)
            dev.set_input_files("#file", str(v1))
            shot(dev, "dev-upload")
            dev.click("button:has-text('提交审核')")
            expect(dev.locator("#status")).to_be_visible()
            assert dev.locator("#status").inner_text() in ("排队中 Queued", "扫描中 Running", "已完成 Done")
            expect(dev.locator("#status")).to_have_text("已完成 Done", timeout=60_000)
            expect(dev.locator("#findings")).to_contain_text("sec.debuggable")
            expect(dev.locator("#feedback")).to_contain_text("尚无审核结论")
            expect(dev.frame_locator("iframe").locator("body")).to_contain_text("sec.debuggable")
            shot(dev, "dev-v1-done")
            with dctx.expect_page() as newp:
                dev.click("#report-link")
            report = watch(newp.value)
            report.wait_for_load_state()
            expect(report.locator("body")).to_contain_text(PKG)
            expect(report.locator("body")).to_contain_text("sec.debuggable")
            shot(report, "report-v1")
            report.close()

            # reviewer: the queue, the submission, reject with the finding as the reason
            rev = log_in(rctx, svc.rev)
            expect(rev).to_have_url(f"{base}/console/queue")
            expect(rev.locator("#queue")).to_contain_text(PKG)
            expect(rev.locator("#queue")).to_contain_text("待审核 Pending")
            shot(rev, "rev-queue")
            rev.locator("#queue a", has_text=PKG).first.click()
            expect(rev.locator("#verdict-form")).to_be_visible()
            rev.check("input[name=rules][value='sec.debuggable']")
            rev.fill("#note", "请关闭 android:debuggable 后重新提交。")
            shot(rev, "rev-reject-form")
            rev.click("button[value=reject]")
            expect(rev.locator("#feedback")).to_contain_text("驳回 Rejected")
            expect(rev.locator("#feedback")).to_contain_text("sec.debuggable")

            # developer: the feedback, then the fixed v2
            dev.reload()
            expect(dev.locator("#feedback")).to_contain_text("驳回 Rejected")
            expect(dev.locator("#feedback")).to_contain_text("请关闭 android:debuggable 后重新提交。")
            expect(dev.locator("#feedback")).to_contain_text("sec.debuggable")
            shot(dev, "dev-feedback")
            dev.click("text=提交下一个版本 Submit the next version")
            expect(dev.locator("#app")).to_have_value(PKG)
            dev.set_input_files("#file", str(v2))
            dev.click("button:has-text('提交审核')")
            expect(dev.locator("#status")).to_have_text("已完成 Done", timeout=60_000)
            expect(dev.locator("#findings")).not_to_contain_text("sec.debuggable")
            dev.click("text=版本历史与差异 History and diffs")
            expect(dev.locator("#versions")).to_contain_text("1.0 (1)")
            expect(dev.locator("#versions")).to_contain_text("2.0 (2)")
            expect(dev.locator("#versions")).to_contain_text("驳回 Rejected")
            expect(dev.locator("#diffs")).to_contain_text("1.0 (1) → 2.0 (2)")
            expect(dev.locator("#diffs li.removed")).to_contain_text("sec.debuggable")
            assert dev.locator("#diffs li.added", has_text="sec.debuggable").count() == 0
            shot(dev, "dev-history-diff")

            # reviewer: v2 is newest in the queue; approve it
            rev.goto(f"{base}/console/queue")
            first = rev.locator("#queue tbody tr").first
            expect(first).to_contain_text("2.0 (2)")
            expect(first).to_contain_text("待审核 Pending")
            first.locator("a").click()
            rev.click("button[value=approve]")
            expect(rev.locator("#feedback")).to_contain_text("通过 Approved")
            shot(rev, "rev-approved")

            dev.goto(f"{base}/console/apps")
            expect(dev.locator("section.app")).to_contain_text("通过 Approved")
            expect(dev.locator("section.app")).to_contain_text("驳回 Rejected")
            shot(dev, "dev-apps-final")

            # logout ends the session
            dev.click("button:has-text('退出 Log out')")
            expect(dev.get_by_role("heading", name="登录 Log in")).to_be_visible()
            assert dev.goto(f"{base}/console/apps").status == 401
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    errors = [e for e in errors if "401" not in e]  # the deliberate logged-out request above
    assert errors == []
    subs = svc.app.state.review.app_submissions(svc.app.state.review.app_by_package(PKG)["id"])
    assert [s["version_code"] for s in subs] == [1, 2]
