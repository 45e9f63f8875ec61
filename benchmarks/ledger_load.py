"""Load test of the ledger service over HTTP on 127.0.0.1.

Starts ``qingdan serve`` as a subprocess (PostgreSQL in a fresh database on 127.0.0.1:5432 by
default, ``--sqlite`` for a file), then measures:

1. ingest rate with batches of 1000 events, while the server is killed (SIGKILL) and restarted
   mid-load — the client retries failed batches with the same idempotency keys;
2. ingest rate with single-event requests;
3. p50/p99 latency of users' pages (``GET /u/{token}``) at N events over U users;
4. no loss, no double count: events stored and the sum of the per-user counts both equal the
   events sent.

    python benchmarks/ledger_load.py                          # 1,000,000 events, 100,000 users, PostgreSQL
    python benchmarks/ledger_load.py --events 200000 --users 20000
    python benchmarks/ledger_load.py --sqlite --events 50000 --users 5000

Targets: ≥ 20,000 events/s batched on PostgreSQL; page p99 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# the server `scripts/services start` runs; another one through the environment
PG_URL = os.environ.get("QINGDAN_TEST_POSTGRES", "postgresql://qingdan:qingdan@127.0.0.1:5432/postgres")
sys.path.insert(0, str(ROOT / "src"))

PIS = [("phone_number", "用于注册、登录账号", "注册、登录时", "app"),
       ("precise_location", "推荐附近门店", "首页选择收货地址时", "app"),
       ("android_id", "推送订单消息", "App 启动后", "jpush")]
LISTS = """schema: qingdan.lists/1
app:
  name: 压测应用
collected:
  - {pi_type: phone_number, purpose: 用于注册、登录账号, scenario: 注册、登录时, method: provided}
  - {pi_type: precise_location, purpose: 推荐附近门店, scenario: 首页选择收货地址时, method: permission}
  - {pi_type: android_id, purpose: 推送订单消息, scenario: App 启动后, method: automatic, collector: jpush}
shared:
  - {third_party: 极光推送, company: 深圳市和讯华谷信息技术有限公司, sdk: jpush, pi_types: [android_id],
     purpose: 向您推送订单状态消息, scenario: App 启动后, method: sdk_local}
"""
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def event(i: int, users: int, prefix: str = "b") -> dict:
    pi, purpose, scenario, source = PIS[i % 3]
    shared = i % 7 == 0
    return {"idempotency_key": f"{prefix}{i}", "user_ref": f"user{(i * 7919) % users}",
            "kind": "shared" if shared else "collected", "pi_type": "android_id" if shared else pi,
            "purpose": "向您推送订单状态消息" if shared else purpose, "scenario": scenario,
            "source": "jpush" if shared else source,
            "value": f"138{i % 100000000:08d}" if pi == "phone_number" else None,
            "occurred_at": (T0 + timedelta(seconds=i)).isoformat()}


class Server:
    def __init__(self, port: int, env: dict) -> None:
        self.port, self.env, self.proc = port, env, None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "qingdan.cli", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port), "--workers",
                                      self.env.get("BENCH_WORKERS", "1")],
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)  # its own group: the kill takes the workers too
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
        raise SystemExit("server did not start in 60 s")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the server's own process group (only ours)
            self.proc.wait()


def post_retrying(client: httpx.Client, headers: dict, batch: list[dict], stats: dict) -> None:
    delay = 0.05
    while True:
        try:
            r = client.post("/v1/events", json={"events": batch}, headers=headers)
            if r.status_code == 200:
                body = r.json()
                with stats["lock"]:
                    stats["accepted"] += body["accepted"]
                    stats["duplicates"] += body["duplicates"]
                return
            if r.status_code < 500:
                raise SystemExit(f"refused: {r.status_code} {r.text[:300]}")
        except httpx.TransportError:
            pass
        with stats["lock"]:
            stats["retries"] += 1
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--single", type=int, default=2000, help="single-event requests to time")
    ap.add_argument("--pages", type=int, default=500, help="user pages to time")
    ap.add_argument("--concurrency", type=int, default=4, help="requests in flight at once")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    ap.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    ap.add_argument("--no-kill", action="store_true", help="do not kill and restart the server mid-load")
    args = ap.parse_args()

    from qingdan.db.engine import make_engine, migrate
    from qingdan.ledger.crypto import KeyRing
    from qingdan.ledger.store import Ledger
    from qingdan.lists.declarations import parse_lists

    tmp = Path(tempfile.mkdtemp(prefix="qingdan-bench-"))
    pg_db = admin = None
    if args.sqlite:
        url = f"sqlite:///{tmp / 'ledger.db'}"
    else:
        import psycopg

        admin = psycopg.connect(PG_URL, autocommit=True)
        pg_db = f"qingdan_bench_{secrets.token_hex(4)}"
        admin.execute(f'CREATE DATABASE "{pg_db}"')
        url = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0] + f"/{pg_db}"
    keys = "k1:" + base64.b64encode(os.urandom(32)).decode()
    env = {**os.environ, "QINGDAN_DATABASE_URL": url, "QINGDAN_LEDGER_KEYS": keys,
           "QINGDAN_SECRET": secrets.token_urlsafe(24), "BENCH_WORKERS": str(args.workers),
           "PYTHONPATH": str(ROOT / "src")}
    engine = make_engine(url)
    migrate(engine)
    led = Ledger(engine, KeyRing(keys))
    app_id = led.create_app("压测应用", parse_lists(LISTS))
    _, token = led.create_key(app_id)
    headers = {"Authorization": f"Bearer {token}"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Server(port, env)
    server.start()
    base = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    client = httpx.Client(base_url=base, timeout=60, limits=limits)
    stats = {"lock": threading.Lock(), "accepted": 0, "duplicates": 0, "retries": 0}
    try:
        # 1. batches of 1000, killed and restarted half-way
        n_batches = (args.events + 999) // 1000
        sent = threading.Event()
        done_batches = [0]

        def one(b: int) -> None:
            lo, hi = b * 1000, min(args.events, (b + 1) * 1000)
            post_retrying(client, headers, [event(i, args.users) for i in range(lo, hi)], stats)
            with stats["lock"]:
                done_batches[0] += 1
                if done_batches[0] >= n_batches // 2:
                    sent.set()

        def killer() -> None:
            sent.wait()
            if args.no_kill:
                return
            server.kill()
            time.sleep(1.0)
            server.start()

        kt = threading.Thread(target=killer, daemon=True)
        kt.start()
        t = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as ex:
            list(ex.map(one, range(n_batches)))
        batched_s = time.perf_counter() - t
        kt.join(120)
        batched_rate = args.events / batched_s

        # 2. single events
        t = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as ex:
            list(ex.map(lambda i: post_retrying(client, headers, [event(i, args.users, "s")], stats),
                        range(args.single)))
        single_s = time.perf_counter() - t
        single_rate = args.single / single_s

        # 3. user pages
        rng = random.Random(6)
        users = [f"user{rng.randrange(args.users)}" for _ in range(args.pages)]
        paths = [client.post("/v1/user-links", json={"user_ref": u}, headers=headers).json()["path"]
                 for u in users]
        lat = []
        for p in paths:
            t = time.perf_counter()
            r = client.get(p)
            lat.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        lat.sort()
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]

        # 4. counted back
        totals = led.app_totals(app_id)
        expected = args.events + args.single
        ok = totals["events"] == expected and totals["aggregate_count"] == expected
        db = "SQLite" if args.sqlite else "PostgreSQL"
        print(f"ledger load · {db} · {args.events:,} batched + {args.single:,} single events over "
              f"{args.users:,} users"
              f" · concurrency {args.concurrency} · {args.workers} server worker(s)")
        print(f"  batched ingest   {batched_rate:>10,.0f} events/s  ({batched_s:.1f} s; target ≥ 20,000 on "
              "PostgreSQL)"
              f"{'' if args.no_kill else '  — server killed and restarted mid-load'}")
        print(f"  single events    {single_rate:>10,.0f} events/s  ({single_s:.1f} s)")
        print(f"  user page        p50 {p50:.1f} ms · p99 {p99:.1f} ms over {len(lat)} pages (target p99 ≤ "
              "50 ms)")
        print(f"  retries          {stats['retries']} failed requests retried; {stats['duplicates']} events"
              " answered as duplicates (already stored before the kill)")
        print(f"  counted back     events {totals['events']:,} · sum of per-user counts "
              f"{totals['aggregate_count']:,}"
              f" · sent {expected:,} → {'OK: no loss, no double count' if ok else 'MISMATCH'}")
        if not ok:
            sys.exit(1)
    finally:
        client.close()
        server.kill()
        engine.dispose()
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
            admin.close()


if __name__ == "__main__":
    main()
