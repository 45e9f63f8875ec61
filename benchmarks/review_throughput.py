"""Throughput of the app-store review service: apps per minute through upload → scan → report ready,
with 1 and with 2 Celery scan workers.

Everything runs on this machine and talks only to 127.0.0.1: ``qingdan serve`` as a subprocess
(Celery on Redis at 127.0.0.1:6379 via ``QINGDAN_BROKER_URL``, a queue of its own), ``qingdan worker
--pool=solo`` processes (one scanning process each, so "2 workers" means 2 scans at once), PostgreSQL
at 127.0.0.1:5432 in a fresh database created here and dropped at the end, package storage in a temp
folder (removed at the end).

The packages are the APKs of ``../shared/corpus/apks`` (``edge/`` excluded: hostile input), each
uploaded as a distinct submission: every upload is a copy whose zip comment (the end-of-central-
directory record, the only bytes changed) carries a unique counter, so its sha256 is new and the
service's dedup (same sha256 = one scan) never skips a scan. Each copy is declared under the package
name its manifest gives.

Uploads send the package as the request body (``Content-Type: application/vnd.android.package-archive``,
``?app=``), the API's path for tools; ``--multipart`` sends the console's form instead.

The machine is a virtual one: RAM the guest has never touched costs about 3 ms of kernel time per MiB
the first time (the host backs it then), and every stored package lands in such RAM as page cache. A
server that has run for a while never pays it again, so the benchmark first touches ``--warm`` MiB
(2,048 by default, freed at once) for both configurations alike, and removes each run's stored
packages once it is finished (so the page cache does not grow into untouched RAM round after round;
the reports stay in the database and are checked at the end); ``--warm 0`` measures the cold case.

``--trials`` rounds (5 by default) each run 1 worker and 2 workers, in alternating order; the ratios are
per round and their median is the result (one round is ~15 s of work per configuration on this machine,
so one noisy neighbour second moves a single round by several per cent).

Per configuration and round, two runs over ``--repeat`` × the corpus each:

- **scan only** (queued → done): the packages are uploaded with no worker running; then the workers
  start and the time from the first scan started to the last report stored (the service's own
  timestamps in PostgreSQL) gives the scanning rate, free of the API's upload cost;
- **end to end** (upload → scan → report ready): the workers are up and idle, ``--concurrency``
  clients upload at once; the time from the first upload sent to the last report stored gives
  apps/minute; "drain" is the time from the last upload answered to the last report stored.

Then every submission is checked: status ``done``, exactly one ``done`` event in its log, no
``failed``, and its ``report.json`` served over HTTP. Last, the database's row sizes per submission
and the corpus's mean package size, for sizing.

    python benchmarks/review_throughput.py                 # the corpus × 2 per run (128 apps)
    python benchmarks/review_throughput.py --repeat 4 --concurrency 4
    python benchmarks/review_throughput.py --in-process    # `qingdan serve` alone: SQLite, in-process queue

Target: scaling ratio 2 workers / 1 worker ≥ 1.8× on this 2-core machine.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# the server `scripts/services start` runs; another one through the environment
PG_URL = os.environ.get("QINGDAN_TEST_POSTGRES", "postgresql://qingdan:qingdan@127.0.0.1:5432/postgres")
sys.path.insert(0, str(ROOT / "src"))
CORPUS = ROOT.parent / "shared" / "corpus" / "apks"
REDIS_URL = "redis://127.0.0.1:6379/0"
EOCD = b"PK\x05\x06"


def corpus() -> list[tuple[str, str, bytes]]:
    """(file name, manifest package, bytes) of every corpus APK outside edge/."""
    from qingdan.apk.package import read_package

    out = []
    for p in sorted(CORPUS.rglob("*.apk")):
        if "edge" in p.relative_to(CORPUS).parts:
            continue
        out.append((str(p.relative_to(CORPUS)), read_package(p).package, p.read_bytes()))
    return out


def variant(data: bytes, tag: str) -> bytes:
    """The same package with ``tag`` as its zip comment (EOCD comment length and bytes rewritten)."""
    i = data.rfind(EOCD)
    if i < 0 or i + 22 > len(data):
        raise ValueError("no end-of-central-directory record")
    comment = f"qingdan-bench {tag}".encode()
    return data[:i + 20] + struct.pack("<H", len(comment)) + comment


class Proc:
    """A subprocess in its own process group (so its Celery/uvicorn children go with it)."""

    def __init__(self, args: list[str], env: dict, log: Path) -> None:
        self.log = log
        self.fh = open(log, "ab")
        self.p = subprocess.Popen(args, env=env, stdout=self.fh, stderr=subprocess.STDOUT, cwd=ROOT,
                                  start_new_session=True)

    def alive(self) -> bool:
        return self.p.poll() is None

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(10)
        self.fh.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (Linux /proc/stat)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = f[3] + f[4]
    return (sum(f[:8]) - idle) / os.sysconf("SC_CLK_TCK"), sum(f[:8]) / os.sysconf("SC_CLK_TCK")


_PIDS: dict[str, tuple[float, list[int]]] = {}


def proc_cpu(comm: str) -> float:
    """CPU seconds so far of every live process with this command name (PostgreSQL's backends). The
    list of processes is read again once a second (walking /proc costs the client CPU)."""
    at, pids = _PIDS.get(comm, (0.0, []))
    if time.monotonic() - at > 1.0:
        pids = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if (d / "comm").read_text().strip() == comm:
                        pids.append(int(d.name))
                except OSError:
                    pass
        _PIDS[comm] = (time.monotonic(), pids)
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (OSError, ValueError, IndexError):
            pass
    return total


class Sampler(threading.Thread):
    """Every 0.2 s: wall time, machine busy/total, and CPU seconds of the workers, the API server,
    PostgreSQL, Redis and this client, so that any window can be broken down afterwards."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple] = []
        self.workers: list[int] = []
        self.server = 0
        self.stop_ev = threading.Event()
        self.dead: dict[int, float] = {}

    def _cpu(self, pid: int) -> float:
        try:
            v = cpu_seconds(pid)
            self.dead[pid] = v
            return v
        except (OSError, ValueError, IndexError):
            return self.dead.get(pid, 0.0)

    def sample(self) -> None:
        b, t = machine_busy()
        me = os.times()
        self.samples.append((time.time(), b, t, sum(self._cpu(p) for p in self.workers),
                             self._cpu(self.server) if self.server else 0.0, proc_cpu("postgres"),
                             proc_cpu("redis-server"), me.user + me.system))

    def run(self) -> None:
        while not self.stop_ev.wait(0.2):
            self.sample()

    def window(self, t0: float, t1: float) -> dict:
        a = min(self.samples, key=lambda x: abs(x[0] - t0))
        z = min(self.samples, key=lambda x: abs(x[0] - t1))
        cores = os.cpu_count() or 1
        wall = max(z[0] - a[0], 1e-9)
        d = [z[i] - a[i] for i in range(8)]
        return {"machine": d[1] / d[2] * cores if d[2] else 0.0, "workers": d[3] / wall,
                "server": d[4] / wall,
                "postgres": d[5] / wall, "redis": d[6] / wall, "client": d[7] / wall}


def start_server(env: dict, port: int, log: Path) -> Proc:
    srv = Proc([sys.executable, "-m", "qingdan.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
               env, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return srv
        except httpx.HTTPError:
            time.sleep(0.2)
        if not srv.alive():
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
    srv.stop()
    raise SystemExit("server did not start in 60 s")


def start_workers(n: int, env: dict, tmp: Path, wait_ready: bool) -> list[Proc]:
    ws = []
    for i in range(n):
        log = tmp / f"worker-{secrets.token_hex(3)}.log"
        ws.append(Proc([sys.executable, "-m", "qingdan.cli", "worker", "--pool=solo", "--loglevel=INFO",
                        "--without-mingle", "--without-gossip", "--without-heartbeat",
                        "-n", f"bench{i}-{secrets.token_hex(3)}@%h"], env, log))
    if wait_ready:
        deadline = time.monotonic() + 90
        for w in ws:
            while b" ready." not in w.log.read_bytes():
                if not w.alive():
                    raise SystemExit(f"worker exited: {w.log.read_text()[-2000:]}")
                if time.monotonic() > deadline:
                    raise SystemExit("workers not ready in 90 s")
                time.sleep(0.2)
    return ws


def warm(mib: int) -> float:
    """Touch ``mib`` MiB of fresh memory once and free it (see the module docstring); seconds taken."""
    t = time.perf_counter()
    if mib > 0:
        buf = bytearray(mib << 20)
        for i in range(0, len(buf), 4096):
            buf[i] = 1
        del buf
    return time.perf_counter() - t


def clear_storage(folder: Path) -> None:
    """Remove the stored packages of a finished run (their reports are in the database): their page
    cache goes back to the free RAM that later runs allocate from (see the module docstring)."""
    for p in folder.iterdir():
        if p.is_file():
            p.unlink()


def upload_all(base: str, key: str, items: list[tuple[str, bytes]], concurrency: int,
               multipart: bool = False) -> tuple[list[str], float, float]:
    """Upload (package, bytes) items, ``concurrency`` at once; returns (submission ids, wall start, wall
    end of the last answer). Raw bodies go through the standard library's http.client on one kept-alive
    connection per thread (the client stands in for developers elsewhere: it should cost this machine
    little); the multipart form through httpx."""
    host, port = base.removeprefix("http://").split(":")
    local = threading.local()

    def post_raw(pkg: str, data: bytes) -> tuple[int, dict]:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        conn.request("POST", f"/v1/review/submissions?app={pkg}", body=data, headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/vnd.android.package-archive"})
        r = conn.getresponse()
        return r.status, json.loads(r.read())

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(base_url=base, timeout=120, limits=limits) as client:
        def one(item):
            pkg, data = item
            for attempt in range(3):
                try:
                    if multipart:
                        r = client.post("/v1/review/submissions", headers={"Authorization": f"Bearer {key}"},
                                        data={"app": pkg},
                                        files={"file": ("app.apk", data,
                                                        "application/vnd.android.package-archive")})
                        status, body = r.status_code, r.json()
                    else:
                        status, body = post_raw(pkg, data)
                except (httpx.TransportError, OSError, http.client.HTTPException):
                    local.conn = None
                    if attempt == 2:
                        raise
                    time.sleep(0.5)
                    continue
                if status != 202 or body.get("duplicate"):
                    raise SystemExit(f"upload refused or deduplicated: {status} {str(body)[:300]}")
                return body["id"]
            raise AssertionError

        t0 = time.time()
        with ThreadPoolExecutor(concurrency) as ex:
            ids = list(ex.map(one, items))
        return ids, t0, time.time()


def wait_done(engine, ids: list[str], timeout: float, procs: list[Proc]) -> None:
    from sqlalchemy import func, select

    from qingdan.db.review_tables import submissions

    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as c:
            n = c.execute(select(func.count()).select_from(submissions).where(
                submissions.c.id.in_(ids), submissions.c.status.in_(("done", "failed")))).scalar_one()
        if n == len(ids):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"timeout: {n}/{len(ids)} finished after {timeout:.0f} s")
        for p in procs:
            if not p.alive():
                raise SystemExit(f"a worker exited: {p.log.read_text()[-2000:]}")
        time.sleep(0.25)


def span(engine, ids: list[str]) -> tuple[float, float]:
    """(first scan started, last finished) of these submissions, as epoch seconds."""
    from sqlalchemy import func, select

    from qingdan.db.review_tables import submissions

    with engine.connect() as c:
        lo, hi = c.execute(select(func.min(submissions.c.started_at), func.max(submissions.c.finished_at))
                           .where(submissions.c.id.in_(ids))).one()
    return _epoch(lo), _epoch(hi)


def _epoch(v: datetime) -> float:
    from qingdan.db.util import as_utc

    return as_utc(v).timestamp()


def check(engine, base: str, key: str, ids: list[str]) -> tuple[bool, str]:
    from sqlalchemy import func, select

    from qingdan.db.review_tables import log, submissions

    with engine.connect() as c:
        status = dict(c.execute(select(submissions.c.id, submissions.c.status)
                                .where(submissions.c.id.in_(ids))).all())
        ev = {}
        for sid, event, n in c.execute(select(log.c.submission_id, log.c.event, func.count())
                                       .where(log.c.submission_id.in_(ids))
                                       .group_by(log.c.submission_id, log.c.event)):
            ev[(sid, event)] = n
        attempts = [a for (a,) in c.execute(select(submissions.c.attempts).where(submissions.c.id.in_(ids)))]
    not_done = [s for s in ids if status.get(s) != "done"]
    bad_events = [s for s in ids if ev.get((s, "done"), 0) != 1 or ev.get((s, "failed"), 0) != 0]
    headers = {"Authorization": f"Bearer {key}"}
    no_report = 0
    with httpx.Client(base_url=base, timeout=60) as client:
        for s in ids:
            r = client.get(f"/v1/review/submissions/{s}/report.json", headers=headers)
            if r.status_code != 200 or "findings" not in r.json():
                no_report += 1
    ok = not not_done and not bad_events and not no_report
    return ok, (f"{len(ids) - len(not_done)}/{len(ids)} done, {len(bad_events)} with a 'done' count ≠ 1,"
                f" {no_report} report.json not served, attempts max {max(attempts)}")


def sizes(engine) -> dict:
    """Bytes per submission in PostgreSQL (heap + TOAST + indexes of each table, per row) and the report
    JSON."""
    from sqlalchemy import text

    out = {}
    with engine.connect() as c:
        for t in ("review_scans", "review_submissions", "review_log"):
            total, rows = c.execute(text(f"SELECT pg_total_relation_size('{t}'), count(*) FROM {t}")).one()
            out[t] = (total, rows)
        out["report_raw"], out["report_stored"], out["report_max"] = c.execute(text(
            "SELECT avg(octet_length(report_json)), avg(pg_column_size(report_json)), "
            "max(octet_length(report_json))"
            " FROM review_scans WHERE report_json IS NOT NULL")).one()
        out["subs"] = c.execute(text("SELECT count(*) FROM review_submissions")).scalar_one()
    return out


def service_env(url: str, storage: Path, **extra: str) -> dict:
    """The environment of the service's processes: database, storage, fresh secrets, no test hooks."""
    env = {**os.environ, "QINGDAN_DATABASE_URL": url, "QINGDAN_STORAGE_DIR": str(storage),
           "PYTHONPATH": str(ROOT / "src"),
           "QINGDAN_LEDGER_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
           "QINGDAN_SECRET": secrets.token_urlsafe(24), **extra}
    for k in ("QINGDAN_BROKER_URL", "QINGDAN_TEST_SCAN_DELAY", "QINGDAN_DEBUG"):
        if k not in extra:
            env.pop(k, None)
    return env


def new_database(url: str):
    """(engine, a developer account's key) of a freshly migrated database."""
    from qingdan.db.engine import make_engine, migrate
    from qingdan.review.store import ReviewStore

    engine = make_engine(url)
    migrate(engine)
    return engine, ReviewStore(engine).create_account("bench-dev", "developer")[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_process(args, apks) -> None:
    """``qingdan serve`` alone (the default on one machine): SQLite, the in-process queue with
    QINGDAN_REVIEW_WORKERS=1 or 2 (each a thread with its own scanner process), uploads while it
    scans; apps/minute from the first upload to the last report stored, per round, alternating."""

    n_run = len(apks) * args.repeat
    counter = iter(range(10**9))
    warm_s = warm(args.warm)
    rounds = []
    for k in range(args.trials):
        res = {}
        for n in ((1, 2) if k % 2 == 0 else (2, 1)):
            tmp = Path(tempfile.mkdtemp(prefix="qingdan-review-bench-"))
            url = f"sqlite:///{tmp / 'review.db'}"
            env = service_env(url, tmp / "storage", QINGDAN_REVIEW_WORKERS=str(n))
            engine, key = new_database(url)
            port = free_port()
            server = start_server(env, port, tmp / "server.log")
            try:
                items = [(pkg, variant(data, f"{next(counter)}"))
                         for _ in range(args.repeat) for _, pkg, data in apks]
                ids, u0, _ = upload_all(f"http://127.0.0.1:{port}", key, items, args.concurrency,
                                        args.multipart)
                wait_done(engine, ids, args.timeout, [server])
                _, e1 = span(engine, ids)
                ok, detail = check(engine, f"http://127.0.0.1:{port}", key, ids)
                if not ok:
                    raise SystemExit(f"in-process run with {n} workers: {detail}")
                res[n] = e1 - u0
            finally:
                server.stop()
                engine.dispose()
                shutil.rmtree(tmp, ignore_errors=True)
        rounds.append(res)
    print(f"review throughput, qingdan serve alone (in-process queue, SQLite) · {len(apks)} corpus APKs × "
          f"{args.repeat}"
          f" = {n_run} submissions per run · {os.cpu_count()} cores · {args.warm:,} MiB of RAM warmed first "
          f"({warm_s:.1f} s)")
    for k, r in enumerate(rounds, 1):
        print(f" round {k}: 1 worker {n_run / r[1] * 60:,.0f} apps/min ({r[1]:.1f} s) · 2 workers"
              f" {n_run / r[2] * 60:,.0f} apps/min ({r[2]:.1f} s) · {r[1] / r[2]:.2f}×")
    print(f"  median of {len(rounds)} rounds: {statistics.median(r[1] / r[2] for r in rounds):.2f}×;"
          f" every submission done once, its report served")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=2,
                    help="copies of the corpus per run (each copy a new sha256)")
    ap.add_argument("--concurrency", type=int, default=4, help="uploads in flight at once (end-to-end run)")
    ap.add_argument("--trials", type=int, default=5,
                    help="rounds of (1 worker, 2 workers); the median ratio is reported")
    ap.add_argument("--warm", type=int, default=2048,
                    help="MiB of fresh RAM touched once before measuring (0: none)")
    ap.add_argument("--multipart", action="store_true",
                    help="upload with the multipart form instead of the raw body")
    ap.add_argument("--timeout", type=float, default=600, help="seconds each run may take to finish")
    ap.add_argument("--in-process", action="store_true",
                    help="measure `qingdan serve` alone (in-process queue, SQLite) instead of Celery workers")
    args = ap.parse_args()
    if args.in_process:
        in_process(args, corpus())
        return

    import psycopg
    import redis


    apks = corpus()
    n_run = len(apks) * args.repeat
    mean_apk = sum(len(d) for _, _, d in apks) / len(apks)
    tmp = Path(tempfile.mkdtemp(prefix="qingdan-review-bench-"))
    queue = f"qingdan-bench-{secrets.token_hex(4)}"
    pg_db = f"qingdan_bench_{secrets.token_hex(4)}"
    admin = psycopg.connect(PG_URL, autocommit=True,
                            connect_timeout=10)
    admin.execute(f'CREATE DATABASE "{pg_db}"')
    url = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0] + f"/{pg_db}"
    env = service_env(url, tmp / "storage", QINGDAN_BROKER_URL=REDIS_URL, QINGDAN_QUEUE=queue)
    engine, key = new_database(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = workers = None
    counter = iter(range(10**9))

    def batch() -> list[tuple[str, bytes]]:
        return [(pkg, variant(data, f"{next(counter)}")) for _ in range(args.repeat) for _, pkg, data in apks]

    rounds: list[dict] = []
    all_ids: list[str] = []
    sampler = Sampler()
    warm_s = warm(args.warm)
    try:
        server = start_server(env, port, tmp / "server.log")
        sampler.server = server.p.pid
        sampler.start()
        for k in range(args.trials):
            results = {}
            for n in ((1, 2) if k % 2 == 0 else (2, 1)):  # alternate the order: drift cancels in the median
                # scan only: fill the queue with no worker, then start the workers
                ids, _, _ = upload_all(base, key, batch(), args.concurrency, args.multipart)
                workers = start_workers(n, env, tmp, wait_ready=False)
                sampler.workers = [w.p.pid for w in workers]
                wait_done(engine, ids, args.timeout, workers)
                time.sleep(0.3)
                s0, s1 = span(engine, ids)
                scan_cpu = sampler.window(s0, s1)
                all_ids += ids
                # end to end: workers up and idle, uploads in parallel
                for w in workers:  # they are ready: they have scanned
                    assert w.alive()
                items = batch()
                c0 = sum(cpu_seconds(w.p.pid) for w in workers)
                ids, u0, u1 = upload_all(base, key, items, args.concurrency, args.multipart)
                wait_done(engine, ids, args.timeout, workers)
                c1 = sum(cpu_seconds(w.p.pid) for w in workers)
                time.sleep(0.3)
                _, e1 = span(engine, ids)
                e2e_cpu = sampler.window(u0, e1)
                all_ids += ids
                for w in workers:
                    w.stop()
                workers = None
                clear_storage(tmp / "storage")
                results[n] = {"scan_s": s1 - s0, "e2e_s": e1 - u0, "upload_s": u1 - u0, "drain_s": e1 - u1,
                              "cpu_per_scan": (c1 - c0) / len(ids),
                              "scan_cpu": scan_cpu, "e2e_cpu": e2e_cpu}
            rounds.append(results)

        ok, detail = check(engine, base, key, all_ids)
        sz = sizes(engine)
    finally:
        sampler.stop_ev.set()
        if workers:
            for w in workers:
                w.stop()
        if server:
            server.stop()
        engine.dispose()
        try:
            redis.Redis.from_url(REDIS_URL, socket_timeout=5).delete(queue)
        except Exception:  # noqa: BLE001 - best effort
            pass
        admin.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"review throughput · {len(apks)} corpus APKs (edge/ excluded) × {args.repeat} = {n_run} "
          "submissions per run,"
          " each a distinct sha256 (zip comment with a counter) · PostgreSQL · Celery on Redis · "
          f"{os.cpu_count()} cores"
          f" · upload concurrency {args.concurrency}, {'multipart form' if args.multipart else 'raw body'}"
          f" · {args.warm:,} MiB of RAM warmed first ({warm_s:.1f} s)")
    e2e_ratios, scan_ratios = [], []
    for k, results in enumerate(rounds, 1):
        print(f" round {k}")
        for n, r in sorted(results.items()):
            print(f"  {n} worker{'s' if n > 1 else ' '} (--pool=solo)  end to end "
                  f"{n_run / r['e2e_s'] * 60:>7,.0f} apps/min"
                  f" ({r['e2e_s']:.1f} s: uploads {r['upload_s']:.1f} s, then drain {r['drain_s']:.1f} s)"
                  f" · scan only (queued → done) {n_run / r['scan_s'] * 60:>7,.0f} apps/min "
                  f"({r['scan_s']:.1f} s)")
            print(f"      worker CPU {r['cpu_per_scan'] * 1000:.0f} ms per scan (end-to-end run)")
            for label, c in (("scan only", r["scan_cpu"]), ("end to end", r["e2e_cpu"])):
                other = max(0.0, c['machine'] - c['workers'] - c['server'] - c['postgres'] - c['redis']
                            - c['client'])
                print(f"      cores busy, {label:<10}: machine {c['machine']:.2f} of {os.cpu_count()}"
                      f" = workers {c['workers']:.2f}"
                      f" + API {c['server']:.2f} + PostgreSQL {c['postgres']:.2f} + Redis {c['redis']:.2f}"
                      f" + bench client {c['client']:.2f} + other processes"
                      f" {other:.2f}")
        e2e_ratios.append(results[1]["e2e_s"] / results[2]["e2e_s"])
        scan_ratios.append(results[1]["scan_s"] / results[2]["scan_s"])
        print(f"  scaling 2 / 1 workers  end to end {e2e_ratios[-1]:.2f}× · scan only {scan_ratios[-1]:.2f}×")
    print(f"  median of {len(rounds)} rounds: end to end {statistics.median(e2e_ratios):.2f}×"
          f" · scan only {statistics.median(scan_ratios):.2f}×  (target ≥ 1.8×)")
    print(f"  every submission done exactly once: {'YES' if ok else 'NO'} ({detail})")
    per_sub = 0.0
    for t in ("review_scans", "review_submissions", "review_log"):
        total, rows = sz[t]
        per_sub += total / sz["subs"]
        print(f"  db {t:<19} {rows:>6,} rows · {total / 1024:>8,.0f} KiB with TOAST and indexes · "
              f"{total / sz['subs']:>7,.0f} B per submission")
    print(f"  db total per submission {per_sub / 1024:,.1f} KiB · report JSON raw mean "
          f"{sz['report_raw'] / 1024:,.1f} KiB"
          f" (max {sz['report_max'] / 1024:,.0f} KiB), stored compressed mean "
          f"{sz['report_stored'] / 1024:,.1f} KiB")
    print(f"  corpus mean APK size {mean_apk / 2**20:,.2f} MiB")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
