"""Hardening of the services' input (ledger API, user pages, review API, console), the same answer on
SQLite and PostgreSQL: occurred_at inside a sane window and pages that survive rows stored before it;
period filters that refuse what they cannot represent; no control character (NUL above all) from any
body field, form field, path or query parameter reaches the database; a deleted user's bytes leave
SQLite's WAL and free pages (PIPL Art. 47)."""

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("fastapi")

from qingdan.ledger import links  # noqa: E402
from tests.support.ledger import SECRET, postgres_database  # noqa: E402
from tests.test_ledger import Svc as LedgerSvc  # noqa: E402
from tests.test_ledger import ev, page_rows  # noqa: E402
from tests.test_review import Svc as ReviewSvc  # noqa: E402
from tests.test_review import _close_services, make_apk  # noqa: E402, F401 - the fixture closes services

DBS = ["sqlite", "postgresql"]


@pytest.fixture(params=DBS)
def ledger(request, tmp_path):
    if request.param == "sqlite":
        s = LedgerSvc(f"sqlite:///{tmp_path / 'ledger.db'}")
        yield s
        s.close()
        return
    gen = postgres_database()
    s = LedgerSvc(next(gen))
    yield s
    s.close()
    next(gen, None)


@pytest.fixture(params=DBS)
def review(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        yield ReviewSvc(tmp_path, monkeypatch)
        return
    gen = postgres_database()
    s = ReviewSvc(tmp_path, monkeypatch, db=next(gen))
    yield s
    s.close()
    next(gen, None)


def api_error(r, status: int, *words: str) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"code", "message"} and "Traceback" not in r.text
    for w in words:
        assert w in err["message"], err
    return err["message"]


# ------------------------------------------------------------------------------ 1. far-future timestamps


@pytest.mark.parametrize("at", [datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "now+2d",
                                datetime(1999, 12, 31, tzinfo=UTC), "0001-01-01T00:00:00+14:00"])
def test_occurred_at_outside_the_window_is_refused(ledger, at):
    if at == "now+2d":
        at = datetime.now(UTC) + timedelta(days=2)
    bad = ev(1, at=None)
    bad["occurred_at"] = at if isinstance(at, str) else at.isoformat()
    r = ledger.client.post("/v1/events", json={"events": [ev(0), bad]}, headers=ledger.h)
    api_error(r, 422, "events.1.occurred_at", "2000-01-01")
    assert ledger.summary("u1")["events"] == 0  # the whole batch refused: no partial write
    # the edges of the window are accepted: an hour ahead (clock skew), the first day of 2000
    ok = [ev(2, at=datetime.now(UTC) + timedelta(hours=1)), ev(3, at=datetime(2000, 1, 1, tzinfo=UTC))]
    assert ledger.post(ok)["accepted"] == 2


def test_page_survives_rows_stored_before_the_window(ledger):
    """A database written before the check may hold 9999-12-31: the page, its period filter and the
    exports render it instead of answering 500."""
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    row = {"idempotency_key": "old-1", "user_ref": "u1", "kind": "collected", "pi_type": "phone_number",
           "purpose": "用于注册、登录账号", "scenario": "", "source": "app", "value": "13812345678",
           "occurred_at": far}
    ledger.ledger.ingest(ledger.app_id, None, [row, {**row, "idempotency_key": "old-2",
                                                     "occurred_at": datetime(2025, 5, 1, tzinfo=UTC)}])
    link = ledger.link("u1")
    for q in ("", "?from=2025-01-01", "?reveal=1"):
        page = ledger.client.get(link + q)
        assert page.status_code == 200, (q, page.text)
        assert "9999-12-31 23:59 UTC" in page.text and "data-count>2<" in page.text
    page = ledger.client.get(link + "?to=9999-12-30")  # the last day a period can end on
    assert page.status_code == 200 and "data-count>1<" in page.text and "9999-12-31" not in page.text
    exported = ledger.client.get(link + "/export.json").json()["events"]
    assert exported[1]["occurred_at"].startswith("9999-12-31")
    assert "9999-12-31" in ledger.client.get(link + "/export.csv").text


@pytest.mark.parametrize("q", ["?to=9999-12-31", "?from=0001-01-01", "?from=2025-01-01&to=9999-12-31"])
def test_period_out_of_range_is_a_page_error(ledger, q):
    r = ledger.client.get(ledger.link("u1") + q)
    assert r.status_code == 400 and "日期" in r.text and "<html" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_period_is_beijing_days(ledger):
    """2025-03-02 17:00 UTC is 2025-03-03 01:00 in Beijing: it is in the 3rd's page, not the 2nd's (SQLite
    compared the stored UTC text with Beijing wall-clock text, eight hours off)."""
    ledger.post([ev(0, at=datetime(2025, 3, 2, 17, 0, tzinfo=UTC)),
                 ev(1, at=datetime(2025, 3, 3, 15, 59, tzinfo=UTC))])  # 23:59 on the 3rd
    link = ledger.link("u1")
    third = page_rows(ledger.client.get(link + "?from=2025-03-03&to=2025-03-03").text)
    assert len(third) == 1 and "data-count>2<" in third[0][1]
    assert page_rows(ledger.client.get(link + "?from=2025-03-02&to=2025-03-02").text) == []
    assert page_rows(ledger.client.get(link + "?from=2025-03-04").text) == []


# ------------------------------------------------------------------------------ 2. control characters


@pytest.mark.parametrize("field", ["idempotency_key", "user_ref", "pi_type", "purpose", "scenario", "source",
                                   "value"])
@pytest.mark.parametrize("char", ["\x00", "\x1b"])
def test_control_character_in_an_event_field_is_refused(ledger, field, char):
    bad = ev(1)
    bad[field] = "a" + char + "b"
    r = ledger.client.post("/v1/events", json={"events": [ev(0), bad]}, headers=ledger.h)
    api_error(r, 422, f"events.1.{field}", f"U+{ord(char):04X}")
    assert ledger.summary("u1")["events"] == 0


def test_free_text_keeps_tabs_and_newlines(ledger):
    ledger.post([ev(0, purpose="第一行\n第二行\t制表", scenario="a\r\nb", value="x\ty")])
    assert ledger.summary("u1")["events"] == 1
    for user in ("a\tb", "ab\n"):  # an identifier: no tab, no newline (not even at the end)
        bad = ev(1, user=user)
        api_error(ledger.client.post("/v1/events", json={"events": [bad]}, headers=ledger.h), 422, "user_ref")


def test_control_character_in_a_link_request_is_refused(ledger):
    r = ledger.client.post("/v1/user-links", json={"user_ref": "u\x00x"}, headers=ledger.h)
    api_error(r, 422, "user_ref", "U+0000")


@pytest.mark.parametrize("method,path", [("GET", "/v1/users/u%00x/summary"), ("DELETE", "/v1/users/u%00x"),
                                         ("GET", "/v1/users/u%01x/summary")])
def test_control_character_in_a_ledger_path_is_404(ledger, method, path):
    api_error(ledger.client.request(method, path, headers=ledger.h), 404, "control character")


@pytest.mark.parametrize("q", ["?from=%00", "?to=2025-01-01%00", "?reveal=1%00", "?x%00=1"])
def test_control_character_in_a_user_page_query_is_refused(ledger, q):
    link = ledger.link("u1")
    for path in (link, link + "/export.json", link + "/export.csv"):
        r = ledger.client.get(path + q)
        assert r.status_code == 422 and "<html" in r.text and "无效字符" in r.text, (path, q, r.text)


def test_user_page_paths_and_old_links_with_control_characters(ledger):
    assert ledger.client.get(ledger.link("u1") + "%00").status_code == 404
    # a link signed before user refs were checked: an invalid link, never a database error
    token = links.sign(SECRET, ledger.app_id, "u\x00x", int(datetime.now(UTC).timestamp()) + 600)
    for suffix in ("", "/export.json", "/export.csv"):
        r = ledger.client.get(f"/u/{token}{suffix}")
        assert r.status_code == 403 and "链接无效" in r.text


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/review/submissions/x%00"), ("GET", "/v1/review/submissions/x%00/report.json"),
    ("GET", "/v1/review/submissions/x%00/report.html"), ("GET", "/v1/review/apps/a%00b/history"),
    ("POST", "/v1/review/submissions/x%00/verdict")])
def test_control_character_in_a_review_path_is_404(review, method, path):
    r = review.client.request(method, path, headers=review.h(review.rev), json={"decision": "approve"})
    api_error(r, 404, "control character")


@pytest.mark.parametrize("q", ["app=a%00b", "before=x%00", "status=done%00", "app=a%1bb"])
def test_control_character_in_a_review_query_is_422(review, q):
    api_error(review.client.get(f"/v1/review/submissions?{q}", headers=review.h(review.rev)), 422,
              "query parameter", "control character")


def test_control_character_in_an_upload_is_refused_before_anything_is_kept(review, tmp_path):
    apk = make_apk(tmp_path / "a.apk")
    raw = review.client.post("/v1/review/submissions?app=com.a%00b", content=apk.read_bytes(),
                             headers={**review.h(review.dev),
                                      "content-type": "application/vnd.android.package-archive"})
    api_error(raw, 422, "`app`", "U+0000")
    form = review.upload(apk, app="com.a\x00b")
    api_error(form, 422, "'app'", "U+0000")
    assert not review.storage.exists() or list(review.storage.iterdir()) == []
    assert review.client.get("/v1/review/submissions", headers=review.h(review.rev)).json()["items"] == []


@pytest.mark.parametrize("body,field", [({"decision": "reject", "note": "a\x00b"}, "note"),
                                        ({"decision": "reject", "rules": ["a\x00"]}, "rules.0")])
def test_control_character_in_a_verdict_is_422(review, body, field):
    r = review.client.post("/v1/review/submissions/sub_x/verdict", headers=review.h(review.rev), json=body)
    api_error(r, 422, f"body.{field}", "U+0000")


@pytest.mark.parametrize("body,field", [({"sha256s": ["a\x00"]}, "sha256s.0"),
                                        ({"folder": "a\x00b"}, "folder")])
def test_control_character_in_a_batch_is_422(review, body, field):
    r = review.client.post("/v1/review/batch", headers=review.h(review.rev), json=body)
    api_error(r, 422, f"body.{field}", "U+0000")


def _console_login(review, key):
    from fastapi.testclient import TestClient

    c = TestClient(review.app)
    assert c.post("/console/login", data={"api_key": key}, follow_redirects=False).status_code == 303
    return c


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_control_characters_in_the_console(review, tmp_path):
    bad = review.client.post("/console/login", data={"api_key": "qdr_\x00"}, follow_redirects=False)
    assert bad.status_code == 422 and "控制字符" in bad.text and "set-cookie" not in bad.headers
    dev = _console_login(review, review.dev)
    for path in ("/console/apps/a%00b", "/console/submissions/x%00", "/console/submissions/x%00/report.html"):
        r = dev.get(path)
        assert r.status_code == 404 and "未找到" in r.text and "<html" in r.text.lower(), path
    r = dev.get("/console/upload?app=a%00b")
    assert r.status_code == 422 and "参数无效" in r.text
    token = _csrf(dev.get("/console/upload").text)
    r = dev.post("/console/upload", data={"csrf": token, "app": "com.a\x00b"},
                 files={"file": ("a.apk", make_apk(tmp_path / "a.apk").read_bytes(), "application/zip")})
    assert r.status_code == 422 and "控制字符" in r.text
    assert review.client.get("/v1/review/submissions", headers=review.h(review.rev)).json()["items"] == []
    # a verdict note: newlines are fine, NUL is not
    sub = review.upload(make_apk(tmp_path / "b.apk")).json()["id"]
    review.wait(sub)
    rev = _console_login(review, review.rev)
    token = _csrf(rev.get(f"/console/submissions/{sub}").text)
    r = rev.post(f"/console/submissions/{sub}/verdict",
                 data={"csrf": token, "decision": "reject", "note": "a\x00b"})
    assert r.status_code == 422 and "控制字符" in r.text
    ok = rev.post(f"/console/submissions/{sub}/verdict", follow_redirects=False,
                  data={"csrf": token, "decision": "reject", "note": "第一行\n第二行"})
    assert ok.status_code == 303
    assert review.get(sub).json()["verdicts"][0]["note"] == "第一行\n第二行"


# ------------------------------------------------------------------------------ 13. deletion leaves no bytes


@pytest.mark.parametrize("how", ["delete", "purge"])
def test_deleted_user_leaves_no_bytes_in_the_sqlite_files(tmp_path, monkeypatch, how):
    """After ``DELETE /v1/users/…`` (and a retention purge) the WAL is checkpointed and truncated, and the
    deleted rows are overwritten in the main file (``secure_delete``), not left in free space. Debian's
    SQLite has secure_delete on by default: each connection first turns it off here, as a build without
    that default would have it."""
    from sqlalchemy import event

    from qingdan.service import app as service_app

    def make_engine(url):
        engine = real_make_engine(url)
        event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA secure_delete=OFF"), insert=True)
        return engine

    real_make_engine = service_app.make_engine
    monkeypatch.setattr(service_app, "make_engine", make_engine)
    db = tmp_path / "ledger.db"
    s = LedgerSvc(f"sqlite:///{db}", retention={"phone_number": 30})  # the user's events are older
    try:
        gone, purpose, keep = "erase-me-7f3a9c", "独特的目的-zq81", "keep-me-5b2e"
        # interleaved keys: the user's rows share pages with rows that stay
        s.post([ev(i, user=gone, purpose=purpose, scenario=purpose, key=f"{i:03d}-a") for i in range(40)]
               + [ev(i, user=keep, pi="precise_location", purpose="推荐附近门店", key=f"{i:03d}-b")
                  for i in range(40)])

        def raw() -> bytes:
            return b"".join(p.read_bytes() for p in (db, tmp_path / "ledger.db-wal") if p.exists())

        # as on a server that has run a while: the rows are in the main file (an automatic checkpoint),
        # and later pages in the WAL
        with sqlite3.connect(db) as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        s.post([ev(i, user=gone, purpose=purpose, key=f"{i:03d}-c") for i in range(40, 45)])
        assert (gone.encode() in db.read_bytes()
                and purpose.encode() in db.read_bytes())  # the test can see them
        assert gone.encode() in (tmp_path / "ledger.db-wal").read_bytes()
        if how == "delete":
            r = s.client.delete(f"/v1/users/{gone}", headers=s.h)
            assert r.status_code == 200 and r.json()["deleted"]["events"] == 45
        else:
            r = s.client.post("/v1/retention/purge", headers=s.h)
            assert r.status_code == 200 and r.json()["deleted_events"] == 45
        after = raw()
        assert gone.encode() not in after and purpose.encode() not in after
        assert keep.encode() in after and s.summary(keep)["events"] == 40
        page = s.client.get(s.link(keep))
        assert page.status_code == 200 and "data-count>40<" in page.text
    finally:
        s.close()


def test_api_errors_are_one_json_object(ledger):
    r = ledger.client.post("/v1/events", content=json.dumps({"events": [ev(0, purpose="a\x00")]}),
                           headers={**ledger.h, "content-type": "application/json"})
    assert r.status_code == 422 and list(r.json()) == ["error"] and "\n" not in r.json()["error"]["message"]
