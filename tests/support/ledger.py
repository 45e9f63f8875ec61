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
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname={db} connect_timeout=3"


def lists() -> DoubleList:
    return DoubleList(
        AppInfo(name="鲜到家", package="com.example.xiandaojia"),
        [CollectedItem("phone_number", "用于注册、登录账号", "注册、登录时", "provided"),
         CollectedItem("precise_location", "推荐附近门店", "首页选择收货地址时", "permission"),
         CollectedItem("android_id", "推送订单消息", "App 启动后", "automatic", collector="jpush")],
        [SharedItem("极光推送", "深圳市和讯华谷信息技术有限公司", ["android_id", "oaid"], "向您推送订单状态消息",
                    "App 启动后", "sdk_local", sdk="jpush"),
         SharedItem("顺丰同城", "顺丰同城（深圳）科技有限公司", ["name", "phone_number", "address"], "完成商品配送",
                    "下单选择同城配送时", "api_transfer")],
    )


def postgres_database():
    """Yield the URL of a fresh database (dropped afterwards); skip, or fail under CI, when PostgreSQL is down."""
    try:
        import psycopg

        admin = None
        for db in ("postgres", "test"):
            try:
                admin = psycopg.connect(PG_ADMIN.format(db=db), autocommit=True)
                break
            except psycopg.OperationalError as exc:
                err = exc
        if admin is None:
            raise err
    except Exception as exc:  # noqa: BLE001
        msg = f"PostgreSQL not reachable at 127.0.0.1:5432 as postgres ({type(exc).__name__}: {exc})"
        if os.environ.get("CI"):
            pytest.fail(msg + "; CI must start it")
        pytest.skip(msg)
    name = f"qingdan_test_{secrets.token_hex(6)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
