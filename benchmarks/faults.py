"""Real faults under load: what clients see, and whether anything is lost or counted twice.

Each fault runs against ``qingdan serve`` (and ``qingdan worker``) as subprocesses on 127.0.0.1, with
services of its own, started here and removed afterwards (never the shared ones):

1. ``ledger: PostgreSQL restart`` — clients post ``/v1/events`` batches (idempotency keys) while a
   PostgreSQL cluster of our own is stopped (``pg_ctl -m fast``) and started again; a client retries a
   batch that got 503 (honouring ``Retry-After``) or no answer, with the same keys. Then: events stored
   and the sum of the per-user counts against the keys sent.
2. ``review: PostgreSQL restart`` — uploads to ``/v1/review/submissions`` (in-process scan pool) with
   the same restart; every package must end as one submission, ``done`` once.
3. ``review: Redis restart (Celery)`` — submissions queued and running under ``qingdan worker`` when a
   Redis of our own (no persistence: it comes back empty) is restarted, and uploads while it is down;
   every submission must end ``done`` exactly once.
4. ``review: package store disk full`` — the store on a small tmpfs (needs root) filled up: uploads
   get 507, no partial file and no submission without its whole package; after space is freed,
   uploads work again.

    python benchmarks/faults.py                 # all four; prints one table
    python benchmarks/faults.py --events 200000 --uploads 40

The columns: requests sent (not counting retries), the error answers clients saw by status (``conn``:
no answer), lost (sent but not stored / not done), doubled (stored or finished more than once).
``tests/test_faults.py`` runs the same functions smaller and asserts on them.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
PG_BIN = Path(os.environ.get("QINGDAN_PG_BIN", "/usr/lib/postgresql/15/bin"))
PKG = "com.example.faults"


class ServiceUnavailable(Exception):  # noqa: N818 - what the caller reports: skip, or fail under CI
    """A throwaway service could not be started here (binaries missing, not root for tmpfs, …)."""


@dataclass
class Row:
    fault: str
    sent: int = 0
    errors: collections.Counter = field(default_factory=collections.Counter)  # status (or "conn") -> n
    lost: int = 0
    doubled: int = 0
    no_retry_after: int = 0  # 503 answers without a Retry-After header
    bad_bodies: int = 0  # error answers that are not {"error": {"code", "message"}}
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None,
               log: Path | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}): "
                               + (log.read_text()[-2000:] if log else ""))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


# ---------------------------------------------------------------------------------------------- services
class PgCluster:
    """A PostgreSQL cluster of our own in a temporary folder (trust auth, loopback only)."""

    def __init__(self) -> None:
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).is_file():
                raise ServiceUnavailable(f"{PG_BIN / tool} not found (Debian: apt-get install postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="qingdan-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.log = self.root / "pg.log"
        self.running = False
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
            try:
                shutil.chown(self.root, "postgres", "postgres")
            except (LookupError, OSError) as exc:
                self.close()
                raise ServiceUnavailable(f"no postgres user to own the cluster ({exc})") from None
            self.root.chmod(0o700)
        try:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                      "-E", "UTF8", "--locale=C.UTF-8")
        except subprocess.CalledProcessError as exc:
            self.close()
            raise ServiceUnavailable(f"initdb failed: {exc.stderr[-500:]}") from None
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        cmd = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c max_connections=200", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def database(self) -> str:
        """A new database on this cluster: its SQLAlchemy URL."""
        import psycopg

        name = "faults_" + secrets.token_hex(4)
        with psycopg.connect(self.url, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        if self.running:
            try:
                self.stop("immediate")
            except Exception:  # noqa: BLE001 - removed below anyway
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        try:
            self.start()
        except subprocess.CalledProcessError as exc:
            self.close()
            raise ServiceUnavailable(f"pg_ctl start failed: {exc.stderr[-500:]}") from None
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RedisServer:
    """A Redis of our own, without persistence (a restart empties it, as the shipped setup would)."""

    def __init__(self) -> None:
        self.bin = shutil.which("redis-server")
        if self.bin is None:
            raise ServiceUnavailable("redis-server not found (Debian: apt-get install redis-server)")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="qingdan-faults-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.bin, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--daemonize", "no", "--dir", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, 10, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # a crash: nothing saved, nothing handed over
            self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> RedisServer:
        try:
            self.start()
        except Exception as exc:  # noqa: BLE001
            self.__exit__()
            raise ServiceUnavailable(f"redis-server did not start: {exc}") from None
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class SmallDisk:
    """A small tmpfs mounted on a temporary folder (root only)."""

    def __init__(self, size_kib: int) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="qingdan-faults-disk-"))
        self.size_kib = size_kib
        self.mounted = False

    def __enter__(self) -> SmallDisk:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            shutil.rmtree(self.path, ignore_errors=True)
            raise ServiceUnavailable("mounting a small tmpfs needs root and mount(8)")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_kib}k,mode=0755", "tmpfs",
                            str(self.path)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            shutil.rmtree(self.path, ignore_errors=True)
            raise ServiceUnavailable(f"mount tmpfs failed: {p.stderr.strip()}")
        self.mounted = True
        return self

    def free(self) -> int:
        return shutil.disk_usage(self.path).free

    def __exit__(self, *exc) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
        shutil.rmtree(self.path, ignore_errors=True)


class Server:
    """``qingdan serve`` (or ``qingdan worker``) in a subprocess with its own environment."""

    def __init__(self, work: Path, env: dict[str, str], worker: bool = False, name: str = "server") -> None:
        self.port = free_port()
        self.log = work / f"{name}.log"
        e = {k: v for k, v in os.environ.items() if not k.startswith("QINGDAN_") or k == "QINGDAN_CACHE_DIR"}
        e.update(env)
        e["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + e.get("PYTHONPATH", "")
        if worker:
            cmd = [sys.executable, "-m", "qingdan.cli", "worker", "--pool=solo", "--without-mingle",
                   "--without-gossip", "--loglevel=INFO", "-n", f"faults{secrets.token_hex(3)}@%h"]
        else:
            cmd = [sys.executable, "-m", "qingdan.cli", "serve", "--host", "127.0.0.1", "--port",
                   str(self.port)]
        self.fh = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, env=e, stdout=self.fh, stderr=subprocess.STDOUT, cwd=work)
        if not worker:
            _wait_port(self.port, 60, self.proc, self.log)
        self.base = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.fh.close()

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:]


def _note_error(row: Row, r: httpx.Response | None, lock: threading.Lock) -> None:
    with lock:
        if r is None:
            row.errors["conn"] += 1
            return
        row.errors[r.status_code] += 1
        if r.status_code == 503 and not r.headers.get("retry-after"):
            row.no_retry_after += 1
        try:
            err = r.json()["error"]
            ok = isinstance(err["code"], str) and isinstance(err["message"], str)
        except Exception:  # noqa: BLE001
            ok = False
        row.bad_bodies += not ok


def _pause(r: httpx.Response | None) -> float:
    """How long a client waits before a retry: the server's Retry-After, else half a second."""
    if r is not None and r.headers.get("retry-after", "").isdigit():
        return float(r.headers["retry-after"])
    return 0.5


def _restart_pg(pg: PgCluster, when: threading.Event, down_s: float, row: Row,
                after: threading.Event | None = None) -> None:
    try:
        when.wait(120)
        pg.stop("fast")  # every session ended with FATAL, like a restart or a fail-over
        row.notes.append(f"PostgreSQL down {down_s:g} s")
        time.sleep(down_s)
        pg.start()
    finally:
        if after is not None:
            after.set()


# ---------------------------------------------------------------------------------------------- 1. ledger
def ledger_pg_restart(pg: PgCluster, work: Path, batches: int = 40, batch_size: int = 250, clients: int = 4,
                      users: int = 200, down_s: float = 3.0) -> Row:
    from qingdan.db.engine import make_engine, migrate
    from qingdan.ledger.crypto import KeyRing
    from qingdan.ledger.store import Ledger
    from qingdan.lists.model import AppInfo, CollectedItem, DoubleList

    row = Row("ledger: PostgreSQL restart")
    t0 = time.monotonic()
    url = pg.database()
    engine = make_engine(url)
    migrate(engine)
    ledger = Ledger(engine, KeyRing(""))
    app_id = ledger.create_app("faults", DoubleList(AppInfo(name="faults", package=PKG),
                                                    [CollectedItem("android_id", "推送", "启动时",
                                                                   "automatic")], []))
    _, token = ledger.create_key(app_id)
    engine.dispose()
    srv = Server(work, {"QINGDAN_DATABASE_URL": url, "QINGDAN_STORAGE_DIR": str(work / "storage"),
                        "QINGDAN_SECRET": "f" * 32}, name="ledger-server")
    lock, sent_keys, accepted, retried_stored = threading.Lock(), set(), [0], [0]
    done = [0]
    fault = threading.Event()

    restarted = threading.Event()

    def client(ci: int) -> None:
        """Batches until this client's share is sent and the restart is over (so some meet the outage)."""
        with httpx.Client(base_url=srv.base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as h:
            b = ci
            while b < batches or not restarted.is_set():
                evs = [{"idempotency_key": f"b{b}-e{k}", "user_ref": f"u{(b * batch_size + k) % users}",
                        "kind": "collected", "pi_type": "android_id", "purpose": "推送", "scenario": "启动时",
                        "source": "app", "occurred_at": datetime.now(UTC).isoformat()}
                       for k in range(batch_size)]
                b += clients
                with lock:
                    sent_keys.update(e["idempotency_key"] for e in evs)
                    row.sent += 1
                for _attempt in range(200):
                    r = None
                    try:
                        r = h.post("/v1/events", json={"events": evs})
                    except httpx.TransportError:
                        pass
                    if r is not None and r.status_code == 200:
                        with lock:
                            accepted[0] += r.json()["accepted"]
                            # stored by an attempt that failed
                            retried_stored[0] += r.json()["duplicates"] > 0
                        break
                    _note_error(row, r, lock)
                    time.sleep(_pause(r))
                with lock:
                    done[0] += 1
                    if done[0] >= batches // 4:
                        fault.set()

    restarter = threading.Thread(target=_restart_pg, args=(pg, fault, down_s, row, restarted))
    restarter.start()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        fault.set()
        restarter.join()
        srv.close()
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "")) as c:
        stored = [k for (k,) in c.execute("SELECT idempotency_key FROM events WHERE app_id = %s", (app_id,))]
        agg = c.execute("SELECT coalesce(sum(count), 0) FROM aggregates WHERE app_id = %s",
                        (app_id,)).fetchone()[0]
    row.lost = len(sent_keys - set(stored))
    row.doubled = ((len(stored) - len(set(stored))) + max(0, int(agg) - len(stored))
                   + max(0, accepted[0] - len(stored)))
    if int(agg) < len(stored):
        row.notes.append(f"aggregates count {agg} < {len(stored)} events")
        row.lost += len(stored) - int(agg)
    row.notes.append(f"{len(sent_keys)} events in batches of {batch_size}; {len(stored)} stored, "
                     f"aggregates count {agg}; {retried_stored[0]} retried batches found already stored")
    row.seconds = time.monotonic() - t0
    return row


# --------------------------------------------------------------------------------------------- review helpers
def make_packages(folder: Path, n: int, pad_kib: int = 0, start: int = 1) -> list[Path]:
    """``n`` small distinct APKs (version codes start…); ``pad_kib``: a stored random asset of that size."""
    from tests.support.apkbuilder import ClassDef, build_apk, build_dex, build_manifest

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        man = build_manifest(PKG, version_code=i, version_name=f"1.{i}", label="Faults",
                             permissions=["android.permission.READ_PHONE_STATE"])
        files = {"assets/pad.bin": os.urandom(pad_kib * 1024)} if pad_kib else None
        out.append(build_apk(folder / f"v{i}.apk", man, [build_dex([ClassDef(f"Lcom/example/faults/M{i};")])],
                             files=files, compress=not pad_kib))
    return out


def _review_db(url: str) -> tuple[str, object]:
    """Migrate, create a developer account: (its key, the store)."""
    from qingdan.db.engine import make_engine, migrate
    from qingdan.review.store import ReviewStore

    engine = make_engine(url)
    migrate(engine)
    store = ReviewStore(engine)
    return store.create_account("faults-dev", "developer")[1], store


def _upload(h: httpx.Client, path: Path) -> httpx.Response | None:
    try:
        return h.post("/v1/review/submissions", params={"app": PKG}, content=path.read_bytes(),
                      headers={"Content-Type": "application/vnd.android.package-archive"})
    except httpx.TransportError:
        return None


def _upload_until_taken(h: httpx.Client, path: Path, row: Row, lock: threading.Lock,
                        tries: int = 200) -> str | None:
    for _ in range(tries):
        r = _upload(h, path)
        if r is not None and r.status_code in (200, 202):
            return r.json()["id"]
        _note_error(row, r, lock)
        time.sleep(_pause(r))
    return None


def _wait_final(store, ids: list[str], timeout: float) -> None:
    from sqlalchemy import select

    from qingdan.db.review_tables import submissions

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with store.engine.connect() as c:
                st = dict(c.execute(select(submissions.c.id, submissions.c.status)
                                    .where(submissions.c.id.in_(ids))).all())
            if all(st.get(i) in ("done", "failed") for i in ids):
                return
        except Exception:  # noqa: BLE001 - the database restarting
            pass
        time.sleep(0.25)


def _check_review(store, packages: list[Path], ids: dict[Path, str | None], row: Row) -> None:
    """lost: a package sent without a submission ending done; doubled: more than one submission for a
    package, or a submission done more than once. Every submission's stored file is whole."""
    from sqlalchemy import select

    from qingdan.db.review_tables import log, scans, submissions

    with store.engine.connect() as c:
        subs = c.execute(select(submissions.c.id, submissions.c.sha256, submissions.c.status)).all()
        dones = collections.Counter(sid for (sid,) in c.execute(select(log.c.submission_id)
                                                                   .where(log.c.event == "done")))
        paths = dict(c.execute(select(scans.c.sha256, scans.c.path)).all())
    by_sha = collections.Counter(s.sha256 for s in subs)
    status = {s.id: s.status for s in subs}
    for p in packages:
        sha = hashlib.sha256(p.read_bytes()).hexdigest()
        sid = ids.get(p)
        if sid is None or status.get(sid) != "done" or by_sha[sha] == 0:
            row.lost += 1
        row.doubled += max(0, by_sha[sha] - 1)
    row.doubled += sum(max(0, n - 1) for n in dones.values())
    for s in subs:
        f = Path(paths.get(s.sha256, ""))
        if not f.is_file() or hashlib.sha256(f.read_bytes()).hexdigest() != s.sha256:
            row.notes.append(f"submission {s.id}: stored file missing or partial")
            row.lost += 1
    states = collections.Counter(status.values())
    row.notes.append("submissions " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))


# --------------------------------------------------------------------------------------------- 2. review + PG
def review_pg_restart(pg: PgCluster, work: Path, uploads: int = 12, clients: int = 3, down_s: float = 3.0,
                      scan_delay: float = 1.0) -> Row:
    """``uploads``: at least that many packages; clients go on uploading new ones until the restart is
    over."""
    row = Row("review: PostgreSQL restart")
    t0 = time.monotonic()
    url = pg.database()
    key, store = _review_db(url)
    pool = make_packages(work / "pkgs-pg", uploads + 40)
    srv = Server(work, {"QINGDAN_DATABASE_URL": url, "QINGDAN_STORAGE_DIR": str(work / "storage-pg"),
                        "QINGDAN_SECRET": "f" * 32, "QINGDAN_TEST_SCAN_DELAY": str(scan_delay)},
                 name="review-server")
    lock, ids, fault, restarted = threading.Lock(), {}, threading.Event(), threading.Event()
    todo = iter(pool)

    def client() -> None:
        with httpx.Client(base_url=srv.base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as h:
            while True:
                with lock:
                    if len(ids) >= uploads and restarted.is_set():
                        return
                    p = next(todo, None)
                    if p is None:
                        return
                    row.sent += 1
                    ids[p] = None
                sid = _upload_until_taken(h, p, row, lock)
                with lock:
                    ids[p] = sid
                time.sleep(0.3)  # uploads spread over the outage

    def trigger() -> None:
        """The restart when a third of the uploads are in and a scan is running (it ends while the
        database is down: its outcome must not be lost)."""
        from sqlalchemy import select

        from qingdan.db.review_tables import submissions

        end = time.monotonic() + 60
        while time.monotonic() < end and not fault.is_set():
            with lock:
                taken = sum(1 for v in ids.values() if v)
            if taken >= max(1, uploads // 3):
                with store.engine.connect() as c:
                    if c.execute(select(submissions.c.id).where(submissions.c.status == "running")).first():
                        break
            time.sleep(0.05)
        fault.set()

    restarter = threading.Thread(target=_restart_pg, args=(pg, fault, down_s, row, restarted))
    restarter.start()
    threads = [threading.Thread(target=client) for _ in range(clients)] + [threading.Thread(target=trigger)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        fault.set()
        restarter.join()
        _wait_final(store, [i for i in ids.values() if i], 120)
    finally:
        fault.set()
        restarter.join()
        srv.close()
    _check_review(store, list(ids), ids, row)
    store.engine.dispose()
    row.seconds = time.monotonic() - t0
    return row


# ------------------------------------------------------------------------------------------ 3. Celery + Redis
def celery_redis_restart(pg: PgCluster, redis: RedisServer, work: Path, uploads: int = 6, during: int = 2,
                         down_s: float = 3.0, scan_delay: float = 1.0) -> Row:
    row = Row("review: Redis restart (Celery)")
    t0 = time.monotonic()
    url = pg.database()
    key, store = _review_db(url)
    packages = make_packages(work / "pkgs-redis", uploads + during)
    queue = "faults-" + secrets.token_hex(3)
    env = {"QINGDAN_DATABASE_URL": url, "QINGDAN_STORAGE_DIR": str(work / "storage-redis"),
           "QINGDAN_SECRET": "f" * 32,
           "QINGDAN_BROKER_URL": redis.url, "QINGDAN_QUEUE": queue, "QINGDAN_SCAN_LEASE_S": "30"}
    srv = Server(work, env, name="celery-server")
    wrk = Server(work, {**env, "QINGDAN_TEST_SCAN_DELAY": str(scan_delay)}, worker=True, name="celery-worker")
    lock, ids = threading.Lock(), {}
    from sqlalchemy import select

    from qingdan.db.review_tables import submissions

    try:
        with httpx.Client(base_url=srv.base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as h:
            for p in packages[:uploads]:
                row.sent += 1
                ids[p] = _upload_until_taken(h, p, row, lock)
            end = time.monotonic() + 60  # one running, the others queued
            while time.monotonic() < end:
                with store.engine.connect() as c:
                    running = c.execute(select(submissions.c.id)
                                        .where(submissions.c.status == "running")).all()
                if running:
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError("no submission started: " + wrk.tail())
            redis.stop()
            row.notes.append(f"Redis down {down_s:g} s ({len(running)} running, the rest queued)")
            later = threading.Thread(target=lambda: (time.sleep(down_s), redis.start()))
            later.start()
            for p in packages[uploads:]:  # while it is down: 503 until it is back
                row.sent += 1
                ids[p] = _upload_until_taken(h, p, row, lock)
            later.join()
        _wait_final(store, [i for i in ids.values() if i], 60 + (uploads + during) * scan_delay * 3)
    finally:
        wrk.close()
        srv.close()
    _check_review(store, packages, ids, row)
    store.engine.dispose()
    if row.lost:
        row.notes.append("worker log: " + wrk.tail(1500))
    row.seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------------------------- 4. disk full
def disk_full(work: Path, uploads: int = 6, pad_kib: int = 300, disk_kib: int = 2048) -> Row:
    row = Row("review: package store disk full")
    t0 = time.monotonic()
    lock = threading.Lock()
    with SmallDisk(disk_kib) as disk:
        url = f"sqlite:///{work / 'disk-full.db'}"
        key, store = _review_db(url)
        packages = make_packages(work / "pkgs-disk", uploads, pad_kib=pad_kib)
        filler = disk.path / "filler"
        room = 2 * pad_kib * 1024 + pad_kib * 512  # two and a half packages' worth of space left
        with open(filler, "wb") as fh:
            fh.write(b"\0" * max(0, disk.free() - room))
        srv = Server(work, {"QINGDAN_DATABASE_URL": url, "QINGDAN_STORAGE_DIR": str(disk.path),
                            "QINGDAN_SECRET": "f" * 32}, name="disk-server")
        ids: dict[Path, str | None] = {}
        refused: list[Path] = []
        try:
            with httpx.Client(base_url=srv.base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as h:
                for i, p in enumerate(packages):
                    row.sent += 1
                    if i % 2:  # half as multipart forms, half as raw bodies
                        with open(p, "rb") as fh:
                            try:
                                r = h.post("/v1/review/submissions", data={"app": PKG},
                                           files={"file": (p.name, fh, "application/octet-stream")})
                            except httpx.TransportError:
                                r = None
                    else:
                        r = _upload(h, p)
                    if r is not None and r.status_code in (200, 202):
                        ids[p] = r.json()["id"]
                        continue
                    _note_error(row, r, lock)
                    if r is not None and r.status_code in (503, 507):
                        if r.json()["error"]["code"] != "storage_full":
                            row.notes.append(f"{p.name}: {r.status_code} {r.text[:200]}")
                        refused.append(p)
                partial = [f.name for f in disk.path.iterdir() if f.name.startswith(".upload-")]
                if partial:
                    row.notes.append(f"partial files left in the store: {partial}")
                    row.lost += len(partial)
                row.notes.append(f"{len(refused)} refused while full, {len(partial)} partial files left")
                filler.unlink()  # space freed: the refused ones go through now
                for p in refused:
                    ids[p] = _upload_until_taken(h, p, row, lock, tries=3)
                ok = h.get("/v1/review/submissions", params={"limit": 500})
                if ok.status_code != 200:
                    row.notes.append(f"after freeing space: GET submissions {ok.status_code}")
            _wait_final(store, [i for i in ids.values() if i], 60)
            _check_review(store, packages, ids, row)
            if not refused:
                row.notes.append("the disk never filled: nothing refused")
        finally:
            srv.close()
            store.engine.dispose()
    row.seconds = time.monotonic() - t0
    return row


# ---------------------------------------------------------------------------------------------- the table
def table(rows: list[Row]) -> str:
    head = f"{'fault':34} {'sent':>6}  {'errors seen by clients':32} {'lost':>5} {'doubled':>7} {'s':>5}"
    lines = [head, "-" * len(head)]
    for r in rows:
        errs = ", ".join(f"{k}×{v}" for k, v in sorted(r.errors.items(), key=lambda kv: str(kv[0]))) or "none"
        lines.append(f"{r.fault:34} {r.sent:>6}  {errs:32} {r.lost:>5} {r.doubled:>7} {r.seconds:>5.0f}")
    for r in rows:
        extra = ([f"503 without Retry-After: {r.no_retry_after}"] if r.no_retry_after else []) + \
                ([f"error bodies not {{error: {{code, message}}}}: {r.bad_bodies}"] if r.bad_bodies else [])
        lines.append(f"  {r.fault}: " + "; ".join([*r.notes, *extra]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000, help="ledger events (batches of 250)")
    ap.add_argument("--uploads", type=int, default=16, help="packages uploaded in the review faults")
    ap.add_argument("--down", type=float, default=3.0, help="seconds each service stays down")
    ap.add_argument("--only", choices=["ledger", "review", "celery", "disk"], action="append")
    a = ap.parse_args(argv)
    only = set(a.only or ["ledger", "review", "celery", "disk"])
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="qingdan-faults-") as tmp:
        work = Path(tmp)
        with PgCluster() as pg:
            if "ledger" in only:
                rows.append(ledger_pg_restart(pg, work, batches=max(8, a.events // 250), down_s=a.down))
            if "review" in only:
                rows.append(review_pg_restart(pg, work, uploads=a.uploads, down_s=a.down))
            if "celery" in only:
                with RedisServer() as redis:
                    rows.append(celery_redis_restart(pg, redis, work, uploads=max(3, a.uploads // 2),
                                                     down_s=a.down))
        if "disk" in only:
            rows.append(disk_full(work))
    print(table(rows))
    return 1 if any(r.lost or r.doubled or r.errors.get(500) for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
