"""The user's ledger page in headless Chromium at 360×640, served by uvicorn on 127.0.0.1 (SQLite).

Drives Debian's /usr/bin/chromium through Playwright (no browser download); skips only when that
binary or the ``playwright`` package is missing.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
import httpx  # noqa: E402

from qingdan.ledger.settings import Settings  # noqa: E402
from qingdan.service.app import create_app  # noqa: E402
from tests.support.ledger import KEY1, SECRET, lists  # noqa: E402
from tests.test_lists_render import CHROMIUM, CHROMIUM_ARGS, needs_browser  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture
def served(tmp_path):
    import uvicorn

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}", ledger_keys=KEY1,
                              secret=SECRET))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    app.state.ledger.engine.dispose()


@needs_browser
def test_user_page_in_chromium(served):
    from playwright.sync_api import sync_playwright

    app, base = served
    led = app.state.ledger
    app_id = led.create_app("鲜到家", lists())
    _, token = led.create_key(app_id)
    h = {"Authorization": f"Bearer {token}"}
    t0 = datetime(2025, 5, 1, 2, 0, tzinfo=UTC)

    def ev(i, user, **kw):
        d = {"idempotency_key": f"{user}-{i}", "user_ref": user, "kind": "collected",
             "pi_type": "phone_number",
             "purpose": "用于注册、登录账号", "scenario": "注册、登录时", "source": "app", "value": None,
             "occurred_at": (t0 + timedelta(hours=i)).isoformat()}
        d.update(kw)
        return d

    mine = [ev(i, "alice", value="13812345678") for i in range(6)]
    mine += [ev(10 + i, "alice", pi_type="precise_location", purpose="推荐附近门店",
                scenario="首页选择收货地址时",
                value="北京市朝阳区幸福路8号（一段很长很长的地址用于检查换行）") for i in range(3)]
    mine += [ev(20 + i, "alice", kind="shared", pi_type="android_id", purpose="向您推送订单状态消息",
                scenario="App 启动后",
                source="jpush") for i in range(4)]
    theirs = [ev(i, "bob", value="13999990000") for i in range(9)]
    with httpx.Client(base_url=base, timeout=10) as c:
        r = c.post("/v1/events", json={"events": mine + theirs}, headers=h)
        assert r.status_code == 200 and r.json()["accepted"] == len(mine) + len(theirs)
        url = c.post("/v1/user-links", json={"user_ref": "alice"}, headers=h).json()["url"]
    assert url.startswith(base + "/u/")

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            ctx = b.new_context(viewport={"width": 360, "height": 640}, device_scale_factor=2, is_mobile=True,
                                has_touch=True, locale="zh-CN")
            page = ctx.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(url, wait_until="load")
            rows = page.locator("[data-row]")
            assert rows.count() == 3
            counts = [rows.nth(i).locator("[data-count]").inner_text() for i in range(3)]
            assert sorted(counts) == ["3", "4", "6"]
            for i in range(3):
                row = rows.nth(i)
                row.scroll_into_view_if_needed()
                assert row.is_visible()
                box = row.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box
            text = page.inner_text("body")
            assert "手机号" in text and "138****5678" in text and "极光推送" in text
            assert "13999990000" not in page.content() and "139****0000" not in text
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            assert page.evaluate("document.body.scrollWidth") <= 360
            ARTIFACTS.mkdir(exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / "ledger-user-360x640.png"))
            page.screenshot(path=str(ARTIFACTS / "ledger-user-360x640-full.png"), full_page=True)
            # the period form works without JavaScript's help: a plain GET
            page.fill("#from", "2030-01-01")
            page.click("button[type=submit]")
            page.wait_for_load_state("load")
            assert page.locator("[data-row]").count() == 0 and "没有收集记录" in page.inner_text("body")
            assert errors == []
            ctx.close()
        finally:
            b.close()
