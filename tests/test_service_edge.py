"""The network edge of ``qingdan serve``: caps on the request head (431) and on JSON bodies (413),
proxy headers only from QINGDAN_TRUSTED_PROXIES, users' links never built on the request's Host,
framing refused, and a missing optional extra named in one line.

Most tests talk to a real ``qingdan serve`` (a subprocess on 127.0.0.1, SQLite) over raw sockets."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from qingdan.ledger.settings import DEFAULT_MAX_JSON_BYTES, Settings  # noqa: E402
from qingdan.service.app import create_app  # noqa: E402
from qingdan.service.server import MAX_HEAD_BYTES, MAX_HEADERS  # noqa: E402
from tests.conftest import cli  # noqa: E402
from tests.support.ledger import KEY1, SECRET, lists  # noqa: E402
from tests.test_review import Svc, _close_services  # noqa: E402, F401 - the fixture closes services
from tests.test_review_console import apk  # noqa: E402

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def _storage(tmp_path, monkeypatch):  # apps made here keep their packages in the test's folder
    monkeypatch.setenv("QINGDAN_STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.delenv("QINGDAN_BROKER_URL", raising=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QINGDAN_") or k == "QINGDAN_CACHE_DIR"}
    env.update({"QINGDAN_DATABASE_URL": f"sqlite:///{tmp / 'svc.db'}",
                "QINGDAN_STORAGE_DIR": str(tmp / "storage"), "QINGDAN_LEDGER_KEYS": KEY1,
                "QINGDAN_SECRET": SECRET, "QINGDAN_REVIEW_WORKERS": "1", **extra})
    return env


class Served:
    """``qingdan serve`` in a subprocess, with an app and its API key, and a developer account."""

    def __init__(self, tmp: Path) -> None:
        from qingdan.db.engine import make_engine, migrate
        from qingdan.ledger.crypto import KeyRing
        from qingdan.ledger.store import Ledger
        from qingdan.review.store import ReviewStore

        self.env = _env(tmp)
        engine = make_engine(self.env["QINGDAN_DATABASE_URL"])
        migrate(engine)
        ledger = Ledger(engine, KeyRing(KEY1))
        _, self.token = ledger.create_key(ledger.create_app("鲜到家", lists(), None, {}))
        self.dev = ReviewStore(engine).create_account("dev", "developer")[1]
        engine.dispose()
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "qingdan.cli", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port)], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.base + "/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.close()
        raise AssertionError(f"qingdan serve did not start: {self.proc.stderr.read().decode()[-2000:]}")

    def rss(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    s = Served(tmp_path_factory.mktemp("edge"))
    yield s
    s.close()


def _read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one HTTP/1.1 response with a Content-Length."""
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _send_until_answered(sock: socket.socket, first: bytes, chunk: bytes, max_bytes: int,
                         last: bytes = b"") -> int:
    """Send ``first`` then ``chunk`` repeatedly, at most ``max_bytes`` in all, stopping as soon as the
    server answers (or stops reading); then ``last``. The number of bytes sent."""
    sock.sendall(first)
    sent = len(first)
    while sent < max_bytes:
        if select.select([sock], [], [], 0)[0]:
            return sent
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return sent
        sent += len(chunk)
    if last:
        sock.sendall(last)
    return sent


# ---------------------------------------------------------------------------------------- 6. size limits
def test_huge_header_is_refused_with_431_without_being_buffered(served):
    assert httpx.get(served.base + "/openapi.json").status_code == 200  # warm: RSS of a served request
    before = served.rss()
    with socket.create_connection(("127.0.0.1", served.port)) as s:
        head = b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
        sent = _send_until_answered(s, head, b"a" * MiB, 200 * MiB, b"\r\n\r\n")
        status, headers, body = _read_response(s)
    assert status == 431, (status, body)
    assert json.loads(body)["error"]["code"] == "headers_too_large"
    assert sent < 100 * MiB, f"the server read {sent} bytes of one header before answering"
    assert served.rss() - before < 50 * MiB  # unpatched, RSS grew by the whole header (≥ 200 MiB)
    assert httpx.get(served.base + "/openapi.json").status_code == 200  # and it goes on serving


def test_too_many_headers_are_refused_with_431(served):
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(MAX_HEADERS + 50))
    with socket.create_connection(("127.0.0.1", served.port)) as s:
        s.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"\r\n")
        status, _, body = _read_response(s)
    assert status == 431 and json.loads(body)["error"]["code"] == "headers_too_large"


def test_ordinary_heads_still_pass(served):
    headers = {f"X-H{i}": "1" for i in range(MAX_HEADERS - 20)}
    headers["Cookie"] = "c=" + "x" * (MAX_HEAD_BYTES // 2)
    assert httpx.get(served.base + "/openapi.json", headers=headers).status_code == 200


JSON_POSTS = ["/v1/events", "/v1/user-links", "/v1/retention/purge", "/v1/review/batch",
              "/v1/review/submissions/x/verdict", "/console/login"]


@pytest.mark.parametrize("path", JSON_POSTS)
def test_json_body_over_the_limit_by_content_length_is_413_before_reading(served, path):
    with socket.create_connection(("127.0.0.1", served.port)) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {served.token}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {DEFAULT_MAX_JSON_BYTES + 1}\r\n\r\n"
                  .encode())  # the body is never sent: the answer cannot wait for it
        status, _, body = _read_response(s)
    assert status == 413, (path, status, body)
    err = json.loads(body)["error"]
    assert err["code"] == "too_large" and "QINGDAN_MAX_JSON_BYTES" in err["message"]


def test_chunked_json_body_is_counted_as_it_streams(served):
    with socket.create_connection(("127.0.0.1", served.port)) as s:
        head = (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {served.token}\r\n"
                f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        piece = b" " * 65536
        chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
        sent = _send_until_answered(s, head + b"1\r\n{\r\n", chunk, 20 * DEFAULT_MAX_JSON_BYTES, b"0\r\n\r\n")
        status, _, body = _read_response(s)
    assert status == 413, (status, body)
    assert json.loads(body)["error"]["code"] == "too_large"
    assert sent < 20 * DEFAULT_MAX_JSON_BYTES  # answered while the body was still coming


def test_a_1000_event_batch_fits_the_default_limit(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'l.db'}", ledger_keys=KEY1, secret=SECRET)
    app = create_app(settings)
    ledger = app.state.ledger
    _, token = ledger.create_key(ledger.create_app("鲜到家", lists(), None, {}))
    events = [{"idempotency_key": f"k{i}", "user_ref": f"user{i % 97}", "kind": "collected",
               "pi_type": "phone_number", "purpose": "用于注册、登录账号" * 4, "scenario": "注册、登录时" * 4,
               "source": "app", "value": f"138{i:08d}" + "x" * 1000,
               "occurred_at": "2025-01-01T00:00:00+08:00"}
              for i in range(1000)]
    body = json.dumps({"events": events}).encode()
    assert len(body) < settings.max_json_bytes
    with TestClient(app) as c:
        r = c.post("/v1/events", content=body, headers={"Authorization": f"Bearer {token}",
                                                        "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["accepted"] == 1000, r.text
    ledger.engine.dispose()


def test_package_uploads_keep_their_own_limit(served):
    blob = b"PK\x03\x04" + bytes(DEFAULT_MAX_JSON_BYTES + MiB)  # over the JSON limit, under the upload one

    def stream():
        for i in range(0, len(blob), MiB):
            yield blob[i:i + MiB]

    r = httpx.post(served.base + "/v1/review/submissions?app=com.example.big", content=stream(), timeout=60,
                   headers={"Authorization": f"Bearer {served.dev}",
                            "Content-Type": "application/vnd.android.package-archive"})
    assert r.status_code == 202, r.text
    assert r.json()["sha256"] and r.json()["status"] == "queued"


# ---------------------------------------------------------------------------------- 7. trusting the network
def test_forged_x_forwarded_for_does_not_reset_the_login_lockout(served):
    for i in range(10):
        r = httpx.post(served.base + "/console/login", data={"api_key": "qdr_guess"},
                       headers={"X-Forwarded-For": f"10.9.0.{i}"})
        assert r.status_code == 401, r.text
    r = httpx.post(served.base + "/console/login", data={"api_key": served.dev},
                   headers={"X-Forwarded-For": "10.9.1.1"})
    assert r.status_code == 429 and "Too many failed logins" in r.text


def _lockout_by_proxy(tmp_path, trusted: list[str]) -> tuple[int, int]:
    """Ten failures for client 10.0.0.1 through a proxy at 127.0.0.1; then (status for 10.0.0.2,
    status for 10.0.0.1)."""
    tmp_path.mkdir()
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", secret=SECRET,
                              trusted_proxies=trusted))
    try:
        with TestClient(app, client=("127.0.0.1", 40000)) as c:
            for _ in range(10):
                c.post("/console/login", data={"api_key": "qdr_guess"},
                       headers={"X-Forwarded-For": "10.0.0.1"})
            other = c.post("/console/login", data={"api_key": "qdr_guess"},
                           headers={"X-Forwarded-For": "10.0.0.2"}).status_code
            same = c.post("/console/login", data={"api_key": "qdr_guess"},
                          headers={"X-Forwarded-For": "10.0.0.1"}).status_code
        return other, same
    finally:
        app.state.ledger.engine.dispose()


def test_x_forwarded_for_believed_from_trusted_proxies_only(tmp_path):
    assert _lockout_by_proxy(tmp_path / "a", ["127.0.0.0/8"]) == (401, 429)  # the proxy's clients apart
    assert _lockout_by_proxy(tmp_path / "b", ["10.1.0.0/16"]) == (429, 429)  # 127.0.0.1 is not a proxy
    assert _lockout_by_proxy(tmp_path / "c", []) == (429, 429)  # the default: no one is


def test_forged_host_does_not_change_the_user_link(served):
    r = httpx.post(served.base + "/v1/user-links", json={"user_ref": "u1"},
                   headers={"Authorization": f"Bearer {served.token}", "Host": "evil.example",
                            "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"})
    assert r.status_code == 200, r.text
    link = r.json()
    assert link["url"] == f"http://127.0.0.1:{served.port}{link['path']}"
    assert httpx.get(link["url"]).status_code == 200


def test_user_link_is_built_on_the_public_url(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'l.db'}", ledger_keys=KEY1, secret=SECRET,
                              public_url="https://privacy.example.com/ledger"))
    ledger = app.state.ledger
    _, token = ledger.create_key(ledger.create_app("鲜到家", lists(), None, {}))
    with TestClient(app, base_url="http://evil.example") as c:
        link = c.post("/v1/user-links", json={"user_ref": "u1"},
                      headers={"Authorization": f"Bearer {token}"}).json()
    assert link["url"] == "https://privacy.example.com/ledger" + link["path"]
    ledger.engine.dispose()


def test_serve_beyond_loopback_needs_the_public_url(tmp_path):
    code, out, err = cli("serve", "--host", "0.0.0.0", "--port", str(_free_port()), env=_env(tmp_path),
                         timeout=60)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: QINGDAN_PUBLIC_URL: not set"), err


@pytest.mark.parametrize("var,value,why", [
    ("QINGDAN_PUBLIC_URL", "ftp://x", "is not of the form"),
    ("QINGDAN_TRUSTED_PROXIES", "10.0.0.1,proxy.local", "'proxy.local' is not an IP address or CIDR"),
    ("QINGDAN_MAX_JSON_BYTES", "lots", "is not a positive number of bytes"),
])
def test_serve_refuses_malformed_edge_settings(tmp_path, var, value, why):
    code, _, err = cli("serve", "--port", str(_free_port()), env=_env(tmp_path, **{var: value}), timeout=60)
    assert code == 2 and err.count("\n") == 1 and err.startswith(f"error: {var}: ") and why in err, err


def test_report_and_pages_refuse_framing(tmp_path, monkeypatch):
    svc = Svc(tmp_path, monkeypatch)
    sub = svc.upload(apk(tmp_path / "v1.apk")).json()["id"]
    assert svc.wait(sub)["status"] == "done"
    rep = svc.get(sub, suffix="/report.html")
    assert rep.status_code == 200
    assert "frame-ancestors 'none'" in rep.headers["content-security-policy"]
    assert rep.headers["x-frame-options"] == "DENY"
    login = svc.client.get("/console/login")  # the console's own pages
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    expired = svc.client.get("/u/x.y")  # the users' pages
    assert "frame-ancestors 'none'" in expired.headers["content-security-policy"]


# ------------------------------------------------------------------------------- 10. missing optional extras
HIDE = """import sys
HIDDEN = {HIDDEN!r}
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _Hide())
"""


@pytest.mark.parametrize("hidden,args,env", [
    ("uvicorn", ["serve", "--port", "1"], {}),
    ("fastapi", ["serve", "--port", "1"], {}),
    ("celery", ["worker"], {"QINGDAN_BROKER_URL": "redis://127.0.0.1:1/0"}),
    ("sqlalchemy", ["ledger", "migrate"], {}),
    ("sqlalchemy", ["review", "account", "list"], {}),
])
def test_a_missing_extra_is_named_in_one_line(tmp_path, hidden, args, env):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(HIDE.format(HIDDEN={hidden}))
    e = _env(tmp_path, PYTHONPATH=os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")]), **env)
    code, out, err = cli(*args, env=e, timeout=60)
    assert code == 2 and out == "", (code, out, err)
    assert err.count("\n") == 1 and err.startswith(f"error: {' '.join(a for a in args if a[0].isalpha())}: ")
    assert "internal error" not in err and f"no module named '{hidden}'" in err, err
    assert "pip install 'qingdan[service]'" in err, err
