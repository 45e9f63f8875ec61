"""The scan queues: an in-process pool of worker threads, or Celery on Redis (``make_queue`` picks)."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Protocol

from qingdan.review.settings import ReviewSettings
from qingdan.review.store import ReviewStore

log = logging.getLogger("qingdan.jobs")


class Queue(Protocol):
    def submit(self, submission_id: str) -> None: ...


class InProcessQueue:
    """Daemon threads taking submission ids from a queue; unfinished submissions found at start are
    queued again (a restarted server loses nothing). The threads do the database work; the scans run
    in a child process per thread: the server's own process holds Python's GIL, and a package that
    crashes the scanner takes its child with it, not the server nor another job (the submission then
    fails with that reason)."""

    def __init__(self, store: ReviewStore, workers: int = 2, lease_s: float = 900.0) -> None:
        self.store, self.lease_s, self.workers = store, lease_s, workers
        self.q: queue.Queue[str | None] = queue.Queue()
        self._pools: dict[int, object] = {}
        self._pool_lock = threading.Lock()
        self._closed = False
        self.threads = [threading.Thread(target=self._run, name=f"qingdan-review-{i}", daemon=True)
                        for i in range(workers)]
        for t in self.threads:
            t.start()
        for sub_id in store.unfinished():
            self.submit(sub_id)

    def submit(self, submission_id: str) -> None:
        if not self._closed:
            self.q.put(submission_id)

    def close(self) -> None:
        """Stop taking jobs and end the child processes, once the scans in flight are done."""
        self._closed = True
        for _ in self.threads:
            self.q.put(None)
        with self._pool_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:  # waits for a scan in flight: uvicorn ends the process right after
            pool.shutdown(wait=True, cancel_futures=True)

    def _executor(self):
        """This thread's own child process (one each: a crash fails only the job that caused it)."""
        me = threading.get_ident()
        with self._pool_lock:
            pool = self._pools.get(me)
            if pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                ctx = multiprocessing.get_context("forkserver")  # no fork of a threaded server
                ctx.set_forkserver_preload(["qingdan.review.worker", "qingdan.checks.pipeline"])
                pool = self._pools[me] = ProcessPoolExecutor(1, mp_context=ctx, initializer=_exit_with,
                                                             initargs=(os.getpid(),))
            return pool

    def _drop(self, pool) -> None:
        with self._pool_lock:  # this thread's next job gets a new child
            if self._pools.get(threading.get_ident()) is pool:
                del self._pools[threading.get_ident()]

    def _scan(self, *args):
        from concurrent.futures.process import BrokenProcessPool

        from qingdan.review.worker import scan_job

        for _ in range(2):
            pool = self._executor()
            try:
                fut = pool.submit(scan_job, *args)
            except BrokenProcessPool:  # the child died while idle (killed, out of memory): a new one
                self._drop(pool)
                continue
            try:
                return fut.result()
            except BrokenProcessPool:
                self._drop(pool)
                if self._closed:
                    raise
                return None, "the scanner process died while reading this package", None
        raise RuntimeError("no scanner process could be started")

    def _run(self) -> None:
        from qingdan.review.worker import Busy, process

        while True:
            sub_id = self.q.get()
            if sub_id is None:
                return
            try:
                process(self.store, sub_id, self.lease_s, self._scan)
            except Busy as b:  # the same package is being scanned by another thread: come back later
                threading.Timer(min(max(b.seconds, 0.2), 2.0), self.submit, args=(sub_id,)).start()
            except Exception:  # noqa: BLE001 - a database hiccup: try again shortly
                if self._closed:
                    return
                log.exception("review job %s", sub_id)
                time.sleep(1.0)
                self.submit(sub_id)
            finally:
                self.q.task_done()


def _exit_with(server_pid: int) -> None:
    """In a scanner process: end when the server process is gone (killed, crashed). Its queues and the
    forkserver's pipe are held open by this process too, so it would otherwise wait forever."""
    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(server_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the pid now belongs to another user's process: ours is gone
                os._exit(0)

    threading.Thread(target=watch, name="qingdan-exit-with-server", daemon=True).start()


class CeleryQueue:
    def __init__(self, settings: ReviewSettings) -> None:
        from qingdan.jobs.celery_app import make_celery

        self.celery = make_celery(settings)
        self.queue = settings.queue

    def submit(self, submission_id: str) -> None:
        self.celery.send_task("qingdan.review.process", args=[submission_id], queue=self.queue)


def make_queue(settings: ReviewSettings, store: ReviewStore) -> Queue:
    if settings.broker_url:
        return CeleryQueue(settings)
    return InProcessQueue(store, settings.workers, settings.scan_lease_s)
