"""The per-user ledger (issue 6): storage, HTTP API, user pages, admin CLI — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import select  # noqa: E402

from qingdan.db.ledger_tables import aggregates, events  # noqa: E402
from qingdan.ledger import links  # noqa: E402
from qingdan.ledger.crypto import KeyRing, mask  # noqa: E402
from qingdan.ledger.settings import Settings  # noqa: E402
from qingdan.service.app import create_app  # noqa: E402
from tests.conftest import cli  # noqa: E402
from tests.support.ledger import KEY1, KEY2, SECRET, lists, pg_admin, postgres_database  # noqa: E402

PHONE = "13812345678"
PHONE2 = "13987650000"


@pytest.fixture(scope="session")
def pg_url():
    yield from postgres_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("pg_url")


class Svc:
    def __init__(self, url: str, keys: str = KEY1, retention: dict | None = None) -> None:
        self.url = url
        self.app = create_app(Settings(database_url=url, ledger_keys=keys, secret=SECRET))
        self.client = TestClient(self.app)
        self.ledger = self.app.state.ledger
        self.app_id = self.ledger.create_app("鲜到家", lists(), None, retention or {})
        self.key_id, self.token = self.ledger.create_key(self.app_id)
        self.h = {"Authorization": f"Bearer {self.token}"}

    def post(self, evs: list[dict], status: int = 200) -> dict:
        r = self.client.post("/v1/events", json={"events": evs}, headers=self.h)
        assert r.status_code == status, r.text
        return r.json()

    def link(self, user: str, ttl: int | None = None) -> str:
        r = self.client.post("/v1/user-links",
                             json={"user_ref": user, **({"ttl_seconds": ttl} if ttl else {})},
                             headers=self.h)
        assert r.status_code == 200, r.text
        return r.json()["path"]

    def summary(self, user: str) -> dict:
        r = self.client.get(f"/v1/users/{user}/summary", headers=self.h)
        assert r.status_code == 200, r.text
        return r.json()

    def close(self) -> None:
        self.client.close()
        self.ledger.engine.dispose()


@pytest.fixture
def svc(db_url):
    s = Svc(db_url)
    yield s
    s.close()


def ev(i, user="u1", kind="collected", pi="phone_number", purpose="用于注册、登录账号",
       scenario="注册、登录时",
       source="app", value=PHONE, at: datetime | None = None, key: str | None = None) -> dict:
    at = at or datetime(2025, 5, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=i)
    return {"idempotency_key": key or f"{user}-{kind}-{i}", "user_ref": user, "kind": kind, "pi_type": pi,
            "purpose": purpose, "scenario": scenario, "source": source, "value": value,
            "occurred_at": at.isoformat()}


def shared_ev(i, user="u1", **kw) -> dict:
    kw.setdefault("pi", "android_id")
    kw.setdefault("purpose", "向您推送订单状态消息")
    kw.setdefault("scenario", "App 启动后")
    kw.setdefault("source", "jpush")
    kw.setdefault("value", None)
    return ev(i, user=user, kind="shared", **kw)


def page_rows(html: str) -> list[str]:
    return re.findall(r'<li class="row" data-row="(\w+)">(.*?)</li>', html, re.S)


# ------------------------------------------------------------------------------------------ ingestion


def test_ingest_counts_and_user_page(svc):
    r = svc.post([ev(i) for i in range(5)] + [shared_ev(i) for i in range(3)])
    assert r == {"accepted": 8, "duplicates": 0, "flagged": []}
    s = svc.summary("u1")
    assert s["events"] == 8 and s["by_kind"] == {"collected": 5, "shared": 3}
    assert s["aggregates"] == 2 and s["aggregate_count"] == 8 and s["values"] == 5
    page = svc.client.get(svc.link("u1"))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"] and "<script" not in page.text
    html = page.text
    assert '<html lang="zh-CN">' in html
    rows = page_rows(html)
    assert [k for k, _ in rows] == ["collected", "shared"]
    collected, shared = rows[0][1], rows[1][1]
    assert "手机号" in collected and '<span class="count" data-count>5</span>' in collected
    assert mask(PHONE) == "138****5678" and "138****5678" in collected and PHONE not in html
    assert "2025-05-01 16:00" in collected and "2025-05-01 16:04" in collected  # Beijing time
    assert "极光推送" in shared and '<span class="count" data-count>3</span>' in shared
    # ?reveal=1 on the user's own link shows the value
    assert PHONE in svc.client.get(svc.link("u1") + "?reveal=1").text


def test_pi_type_by_chinese_name_and_last_value(svc):
    svc.post([ev(0, value="13800000001"), ev(2, value="13800000003"), ev(1, value="13800000002")])
    svc.post([{**ev(3, value=None)}])
    rows = svc.ledger.user_rows(svc.app_id, "u1")
    assert len(rows) == 1 and rows[0]["count"] == 4
    assert (svc.ledger.decrypt(svc.app_id, "u1", rows[0]["last_value_enc"])
            == "13800000003")  # the latest value


def test_retry_never_double_counts(svc):
    batch = [ev(i) for i in range(20)] + [shared_ev(i) for i in range(10)]
    assert svc.post(batch)["accepted"] == 30
    before = svc.summary("u1")
    for _ in range(3):
        r = svc.post(batch)
        assert r["accepted"] == 0 and r["duplicates"] == 30
    assert svc.summary("u1") == before
    # a batch that half overlaps: only the new half counts
    r = svc.post([ev(i) for i in range(10, 30)])
    assert (r["accepted"], r["duplicates"]) == (10, 10)
    s = svc.summary("u1")
    assert s["events"] == 40 and s["aggregate_count"] == 40
    # the same key twice in one batch counts once
    r = svc.post([ev(100), ev(100)])
    assert (r["accepted"], r["duplicates"]) == (1, 1)
    assert svc.summary("u1")["aggregate_count"] == 41


def test_undeclared_events_are_stored_and_flagged(svc):
    r = svc.post([
        ev(0),  # declared
        ev(1, pi="imei"),  # undeclared PI type
        ev(2, purpose="精准广告"),  # undeclared purpose
        ev(3, source="umeng-analytics"),  # an SDK the lists do not name as collector
        shared_ev(4, source="某广告平台", pi="oaid"),  # undeclared third party
        shared_ev(5, pi="imei"),  # jpush is declared, imei not shared with it
        shared_ev(6, source="顺丰同城", pi="address", purpose="完成商品配送"),  # declared by name
    ])
    assert r["accepted"] == 7
    flagged = {f["index"]: f["flags"] for f in r["flagged"]}
    assert flagged == {1: ["undeclared_pi"], 2: ["undeclared_purpose"], 3: ["undeclared_third_party"],
                       4: ["undeclared_third_party"], 5: ["undeclared_pi"]}
    assert r["flagged"][0]["idempotency_key"] == "u1-collected-1"
    assert svc.summary("u1")["flagged"] == 5
    # the data subject's page shows what was recorded, not the operator's list gaps (issue 16, point 9)
    html = svc.client.get(svc.link("u1")).text
    assert len(page_rows(html)) == 7
    assert "未列入" not in html and 'class="flag"' not in html


def test_api_errors_are_json(svc):
    c = svc.client
    r = c.post("/v1/events", json={"events": [ev(0)]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = c.post("/v1/events", json={"events": [ev(0)]}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and set(r.json()["error"]) == {"code", "message"}
    r = c.post("/v1/events", json={"events": [ev(i) for i in range(1001)]}, headers=svc.h)
    assert r.status_code == 413 and r.json()["error"]["code"] == "batch_too_large"
    r = c.post("/v1/events", json={"events": [{**ev(0), "kind": "sold"}]}, headers=svc.h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert "kind" in r.json()["error"]["message"]
    r = c.post("/v1/events", json={"events": []}, headers=svc.h)
    assert r.status_code == 422
    r = c.post("/v1/events", content=b"{not json", headers={**svc.h, "Content-Type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()
    r = c.get("/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # a revoked key is refused
    assert svc.ledger.revoke_key(svc.key_id)
    r = c.post("/v1/events", json={"events": [ev(0)]}, headers=svc.h)
    assert r.status_code == 401


def test_values_need_keys(db_url):
    s = Svc(db_url, keys="")
    try:
        r = s.client.post("/v1/events", json={"events": [ev(0)]}, headers=s.h)
        assert r.status_code == 503 and r.json()["error"]["code"] == "encryption_unavailable"
        assert s.post([ev(1, value=None)])["accepted"] == 1
    finally:
        s.close()


# ------------------------------------------------------------------------------------------ encryption


def test_values_encrypted_at_rest(svc, db_url):
    raws = [f"1390000{i:04d}" for i in range(20)] + ["北京市朝阳区幸福路 8 号"]
    svc.post([ev(i, value=v) for i, v in enumerate(raws)])
    with svc.ledger.engine.connect() as c:
        blobs = [bytes(b) for b in c.execute(select(events.c.value_enc)).scalars() if b is not None]
        blobs += [bytes(b) for b in c.execute(select(aggregates.c.last_value_enc)).scalars() if b is not None]
    assert len(blobs) >= 21
    for raw in raws:
        assert all(raw.encode() not in b for b in blobs)
    if db_url.startswith("sqlite"):
        svc.ledger.engine.dispose()  # checkpoint: the WAL folds into the file
        path = db_url.removeprefix("sqlite:///")
        from pathlib import Path

        data = b"".join(p.read_bytes() for p in Path(path).parent.glob(Path(path).name + "*"))
        assert len(data) > 4096
        for raw in raws:
            assert raw.encode() not in data and raw.encode("utf-16-le") not in data
    # and they come back for the user
    exported = svc.client.get(svc.link("u1") + "/export.json").json()
    assert sorted(e["value"] for e in exported["events"]) == sorted(raws)


def test_key_rotation(db_url):
    s = Svc(db_url, keys=KEY1)
    try:
        s.post([ev(i, value=f"1380000{i:04d}") for i in range(5)])
    finally:
        s.close()
    # new key first, old one still there: everything readable, then re-encrypted under k2
    s2 = Svc(db_url, keys=f"{KEY2},{KEY1}")
    try:
        app_id = s.app_id
        assert s2.ledger.user_events(app_id, "u1")[0]["value"] == "13800000000"
        counts = s2.ledger.rotate()  # the whole database (other tests' apps too, on PostgreSQL)
        assert counts["events"] >= 5 and counts["aggregates"] >= 1
        assert s2.ledger.rotate() == {"events": 0, "aggregates": 0}
        with s2.ledger.engine.connect() as c:
            kids = {KeyRing.kid_of(bytes(b)) for b in c.execute(
                select(events.c.value_enc).where(events.c.app_id == app_id)).scalars()}
        assert kids == {"k2"}
    finally:
        s2.close()
    # the old key can go: values stay readable under k2 alone
    s3 = Svc(db_url, keys=KEY2)
    try:
        assert (sorted(e["value"] for e in s3.ledger.user_events(app_id, "u1"))
                == [f"1380000{i:04d}" for i in range(5)])
    finally:
        s3.close()


def test_mask():
    assert mask("13800000000") == "138****0000"
    assert mask("张三") == "张*" and mask("a") == "*"
    assert mask("zhang.san@example.com") == "z***@example.com"
    assert mask("110101199003074578") == "110****4578"


# ------------------------------------------------------------------------------------------ links


def test_links_expire_and_resist_tampering(svc):
    svc.post([ev(0), ev(0, user="u2", value=PHONE2)])
    path = svc.link("u1")
    token = path.removeprefix("/u/")
    # expired: 401 and a zh page
    old = links.sign(SECRET, svc.app_id, "u1", int(time.time()) - 1)
    r = svc.client.get(f"/u/{old}")
    assert r.status_code == 401 and "链接已过期" in r.text and '<html lang="zh-CN">' in r.text
    assert svc.client.get(f"/u/{old}/export.json").status_code == 401
    # tampered: change the user inside the payload, keep the signature → 403
    payload, mac = token.split(".")
    forged_payload = links._b64(json.dumps([svc.app_id, "u2", int(time.time()) + 600]).encode())
    for bad in (f"{forged_payload}.{mac}", token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
                "garbage",
                links.sign("another-secret", svc.app_id, "u1", int(time.time()) + 600)):
        r = svc.client.get(f"/u/{bad}")
        assert r.status_code == 403, bad
        assert "链接无效" in r.text and PHONE2 not in r.text
        assert svc.client.get(f"/u/{bad}/export.csv").status_code == 403
    # a link's life is what was asked, capped
    r = svc.client.post("/v1/user-links", json={"user_ref": "u1", "ttl_seconds": 60}, headers=svc.h).json()
    exp = datetime.fromisoformat(r["expires_at"])
    assert 50 <= (exp - datetime.now(UTC)).total_seconds() <= 61
    assert r["url"].endswith(r["path"])


def test_one_users_link_never_shows_another(svc):
    svc.post([ev(i, user="u1", value=PHONE) for i in range(3)]
             + [ev(i, user="u2", value=PHONE2) for i in range(7)])
    link = svc.link("u1")
    token = link.rsplit("/", 1)[-1]
    for fmt in ("", "?reveal=1", "/export.json", "/export.csv"):
        # the random signed token may itself contain "u2": look at the page without it
        t = svc.client.get(link + fmt).text.replace(token, "")
        assert PHONE2 not in t and "139****0000" not in t and "u2" not in t
    html = svc.client.get(svc.link("u2")).text
    assert '<span class="count" data-count>7</span>' in html
    # another app's key cannot make links for, read or delete this app's users
    other = svc.ledger.create_app("别的应用", lists())
    _, tok = svc.ledger.create_key(other)
    h = {"Authorization": f"Bearer {tok}"}
    path = svc.client.post("/v1/user-links", json={"user_ref": "u1"}, headers=h).json()["path"]
    assert (PHONE not in svc.client.get(path + "?reveal=1").text
            and "data-row" not in svc.client.get(path).text)
    assert svc.client.get("/v1/users/u1/summary", headers=h).json()["events"] == 0
    svc.client.delete("/v1/users/u1", headers=h)
    assert svc.summary("u1")["events"] == 3


def test_period_filter(svc):
    base = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)  # 12:00 Beijing time
    svc.post([ev(i, at=base + timedelta(days=i)) for i in range(10)]
             + [shared_ev(i, at=base + timedelta(days=i))
                                                                         for i in range(0, 10, 2)])
    link = svc.link("u1")
    html = svc.client.get(link + "?from=2025-03-03&to=2025-03-05").text
    rows = page_rows(html)
    assert '<span class="count" data-count>3</span>' in rows[0][1]  # 3rd, 4th, 5th
    assert '<span class="count" data-count>2</span>' in rows[1][1]  # the 3rd and the 5th (days 0, 2, 4 …)
    assert "2025-03-03 12:00" in rows[0][1] and "2025-03-05 12:00" in rows[0][1]
    assert '<span class="count" data-count>10</span>' in svc.client.get(link).text
    empty = svc.client.get(link + "?from=2030-01-01").text
    assert "没有收集记录" in empty and "没有共享记录" in empty
    assert svc.client.get(link + "?from=not-a-date").status_code == 400


def test_page_escapes_everything(svc):
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    svc.post([ev(0, purpose=evil, scenario=evil, value=evil), shared_ev(1, source=evil)])
    for q in ("", "?reveal=1"):
        html = svc.client.get(svc.link("u1") + q).text
        assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html


# ------------------------------------------------------------------------------- exports, deletion, retention


def test_exports(svc):
    svc.post([ev(i) for i in range(3)] + [shared_ev(0), ev(9, purpose="=cmd|' /C calc'!A0", value=None)])
    link = svc.link("u1")
    j = svc.client.get(link + "/export.json")
    assert j.status_code == 200 and "attachment" in j.headers["content-disposition"]
    body = j.json()
    assert (body["schema"] == "qingdan.ledger-export/1" and body["user_ref"] == "u1"
            and len(body["events"]) == 5)
    assert body["events"][0]["value"] == PHONE
    c = svc.client.get(link + "/export.csv")
    assert c.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(c.text.lstrip("\ufeff"))))
    assert rows[0] == ["occurred_at", "kind", "pi_type", "purpose", "scenario", "source", "value"]
    assert len(rows) == 6 and any(r[3].startswith("'=") for r in rows)  # no formula injection


def test_delete_user(svc):
    svc.post([ev(i) for i in range(4)] + [shared_ev(i) for i in range(2)] + [ev(0, user="u2")])
    r = svc.client.delete("/v1/users/u1", headers=svc.h)
    assert r.status_code == 200 and r.json()["deleted"] == {"events": 6, "aggregates": 2}
    s = svc.summary("u1")
    assert (s["events"], s["values"], s["aggregates"], s["aggregate_count"]) == (0, 0, 0, 0)
    with svc.ledger.engine.connect() as c:
        assert not c.execute(select(events.c.id).where(events.c.user_ref == "u1",
                                                       events.c.app_id == svc.app_id)).all()
    assert "data-row" not in svc.client.get(svc.link("u1")).text
    assert svc.summary("u2")["events"] == 1
    # the same idempotency keys may be sent again after deletion (they are new records)
    assert svc.post([ev(0)])["accepted"] == 1


def test_retention_purge(db_url):
    s = Svc(db_url, retention={"phone_number": 30})
    try:
        now = datetime.now(UTC)
        s.post([ev(0, at=now - timedelta(days=40), value="13800000040"),
                ev(1, at=now - timedelta(days=35), value="13800000035"),
                ev(2, at=now - timedelta(days=1), value=None),
                ev(3, user="u2", at=now - timedelta(days=50)),
                shared_ev(4, at=now - timedelta(days=400))])  # android_id: no retention set → kept
        r = s.client.post("/v1/retention/purge", headers=s.h)
        assert r.status_code == 200 and r.json() == {"deleted_events": 3, "recomputed_aggregates": 2}
        rows = {x["kind"]: x for x in s.ledger.user_rows(s.app_id, "u1")}
        assert rows["collected"]["count"] == 1 and rows["shared"]["count"] == 1
        assert rows["collected"]["first_at"] > now - timedelta(days=2)
        assert rows["collected"]["last_value_enc"] is None  # the purged values went with their events
        assert s.summary("u2")["aggregates"] == 0 and s.summary("u2")["events"] == 0
        assert s.client.post("/v1/retention/purge", headers=s.h).json()["deleted_events"] == 0
    finally:
        s.close()


# --------------------------------------------------------------------------------------- schema, OpenAPI, CLI


def test_migrations_match_the_models(svc):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from qingdan.db.engine import current_revision
    from qingdan.db.schema import metadata

    with svc.ledger.engine.connect() as c:
        diffs = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata)
    assert diffs == []
    assert current_revision(svc.ledger.engine) == "0005"
    # the reports are TOASTed with lz4 where the server has it
    if svc.ledger.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with svc.ledger.engine.connect() as c:
            lz4 = c.execute(text("SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression'"
                                 " AND 'lz4' = ANY(enumvals)")).scalar()
            got = c.execute(text("SELECT attcompression FROM pg_attribute WHERE attrelid = "
                                 "'review_scans'::regclass"
                                 " AND attname = 'report_json'")).scalar()
        assert got == ("l" if lz4 else "")


def test_openapi_is_valid(svc):
    from openapi_spec_validator import validate

    spec = svc.client.get("/openapi.json").json()
    validate(spec)
    paths = spec["paths"]
    assert {"/v1/events", "/v1/user-links", "/v1/users/{user_ref}", "/v1/users/{user_ref}/summary",
            "/v1/retention/purge", "/u/{token}", "/u/{token}/export.json",
            "/u/{token}/export.csv"} <= set(paths)
    assert "post" in paths["/v1/events"] and "delete" in paths["/v1/users/{user_ref}"]


def test_admin_cli(tmp_path, db_url):
    from qingdan.lists.export import export

    lists_file = tmp_path / "privacy-lists.yaml"
    _write_lists_yaml(lists_file)
    env = {"QINGDAN_DATABASE_URL": db_url, "QINGDAN_LEDGER_KEYS": KEY1}
    assert export is not None
    rc, out, err = cli("ledger", "migrate", env=env)
    assert rc == 0, err
    assert "0005" in out
    rc, out, err = cli("ledger", "app", "create", "--name", "鲜到家", "--lists", str(lists_file),
                       "--retention", "imei=30", "--retention", "phone_number=90", env=env)
    assert rc == 0, err
    app_id = out.strip()
    assert app_id.startswith("app_")
    rc, out, err = cli("ledger", "key", "create", app_id, env=env)
    assert rc == 0, err
    key_id = re.search(r"key id: (\S+)", out).group(1)
    token = re.search(r"token:\s+(\S+)", out).group(1)
    s = Svc.__new__(Svc)
    s.app = create_app(Settings(database_url=db_url, ledger_keys=KEY1, secret=SECRET))
    s.client, s.ledger = TestClient(s.app), s.app.state.ledger
    try:
        assert s.ledger.get_app(app_id).retention == {"imei": 30, "phone_number": 90}
        assert s.ledger.authenticate(token) == (app_id, key_id)
        with s.ledger.engine.connect() as c:  # only the hash is stored
            from qingdan.db.ledger_tables import api_keys

            stored = c.execute(select(api_keys.c.key_hash).where(api_keys.c.id == key_id)).scalar_one()
        assert token not in stored and len(stored) == 64
        r = s.client.post("/v1/events", json={"events": [ev(0)]},
                          headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["accepted"] == 1
        rc, out, err = cli("ledger", "rotate", env={**env, "QINGDAN_LEDGER_KEYS": f"{KEY2},{KEY1}"})
        assert rc == 0 and re.search(r"under k2: [1-9]\d* event values", out), err
        rc, out, err = cli("ledger", "key", "revoke", key_id, env=env)
        assert rc == 0, err
        assert s.ledger.authenticate(token) is None
        rc, out, err = cli("ledger", "key", "revoke", key_id, env=env)
        assert rc == 2 and err.startswith("error: ")
        rc, out, err = cli("ledger", "app", "create", "--name", "x", "--lists",
                           str(tmp_path / "missing.yaml"),
                           env=env)
        assert rc == 2 and "error:" in err
    finally:
        s.client.close()
        s.ledger.engine.dispose()


def _write_lists_yaml(path):
    path.write_text("""schema: qingdan.lists/1
app:
  name: 鲜到家
collected:
  - pi_type: phone_number
    purpose: 用于注册、登录账号
    scenario: 注册、登录时
    method: provided
shared:
  - third_party: 极光推送
    company: 深圳市和讯华谷信息技术有限公司
    sdk: jpush
    pi_types: [android_id]
    purpose: 向您推送订单状态消息
    scenario: App 启动后
    method: sdk_local
""", encoding="utf-8")


def test_pooled_connection_killed_while_idle_is_replaced(pg_url, monkeypatch):
    """PostgreSQL restarted (here: every backend of the database terminated) while the pool was idle:
    the next request gets a fresh connection instead of an error; a connection in steady use is not
    pinged, and then the error shows (what the idle ping is for)."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    import qingdan.db.engine as db

    dbname = pg_url.rsplit("/", 1)[1]

    def kill_backends():
        with pg_admin() as a:
            a.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                      "pg_backend_pid()",
                      (dbname,))

    engine = db.make_engine(pg_url)
    try:
        monkeypatch.setattr(db, "IDLE_PING_S", 0.0)
        with engine.connect() as c:
            pid = c.execute(text("SELECT pg_backend_pid()")).scalar_one()
        kill_backends()
        with engine.connect() as c:
            assert c.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
        monkeypatch.setattr(db, "IDLE_PING_S", 3600.0)
        kill_backends()
        with pytest.raises(OperationalError):
            with engine.connect() as c:
                c.execute(text("SELECT 1"))
    finally:
        engine.dispose()
