"""Helpers of the ledger tests: a double list, keys, and a fresh PostgreSQL database per session."""

from __future__ import annotations

import base64
import os
import secrets

import pytest

from qingdan.lists.model import AppInfo, CollectedItem, DoubleList, SharedItem

KEY1 = "k1:" + base64.b64encode(b"1" * 32).decode()
KEY2 = "k2:" + base64.b64encode(b"2" * 32).decode()
SECRET = "test-secret-" + "x" * 20
# The server `scripts/services start` runs (and .ci/run through it); another one through the environment.
PG_URL = os.environ.get("QINGDAN_TEST_POSTGRES", "postgresql://qingdan:qingdan@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("QINGDAN_TEST_REDIS", "redis://127.0.0.1:6379/0")


def pg_url(db: str, driver: str = "postgresql+psycopg") -> str:
    """PG_URL with another database name (and the SQLAlchemy driver prefix)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(PG_URL)
    return urlunsplit((driver, parts.netloc, "/" + db, parts.query, ""))


def pg_admin():
    """An autocommit connection to the test server's maintenance database."""
    import psycopg

    return psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)



def lists() -> DoubleList:
    return DoubleList(
        AppInfo(name="鲜到家", package="com.example.xiandaojia"),
        [CollectedItem("phone_number", "用于注册、登录账号", "注册、登录时", "provided"),
         CollectedItem("precise_location", "推荐附近门店", "首页选择收货地址时", "permission"),
         CollectedItem("android_id", "推送订单消息", "App 启动后", "automatic", collector="jpush")],
        [SharedItem("极光推送", "深圳市和讯华谷信息技术有限公司", ["android_id", "oaid"],
                    "向您推送订单状态消息",
                    "App 启动后", "sdk_local", sdk="jpush"),
         SharedItem("顺丰同城", "顺丰同城（深圳）科技有限公司", ["name", "phone_number", "address"],
                    "完成商品配送",
                    "下单选择同城配送时", "api_transfer")],
    )


def postgres_database():
    """Yield the URL of a fresh database (dropped afterwards); skip, or fail under CI, when PostgreSQL is
    down."""
    try:
        admin = pg_admin()
    except Exception as exc:  # noqa: BLE001
        msg = f"PostgreSQL not reachable at {PG_URL} ({type(exc).__name__}: {exc}); `scripts/services start`"
        if os.environ.get("CI"):
            pytest.fail(msg + "; CI must start it")
        pytest.skip(msg)
    name = f"qingdan_test_{secrets.token_hex(6)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
