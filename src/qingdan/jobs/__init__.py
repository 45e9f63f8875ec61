"""The scan queue. ``make_queue(settings, store)`` gives an object with ``submit(submission_id)``:
an in-process pool of worker threads by default (``qingdan serve`` alone, SQLite, one machine), or
Celery on Redis when ``QINGDAN_BROKER_URL`` is set (``qingdan worker`` runs the workers)."""

from __future__ import annotations

import logging
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
    queued again (a restarted server loses nothing)."""

    def __init__(self, store: ReviewStore, workers: int = 2, lease_s: float = 900.0) -> None:
        self.store, self.lease_s = store, lease_s
        self.q: queue.Queue[str] = queue.Queue()
        self.threads = [threading.Thread(target=self._run, name=f"qingdan-review-{i}", daemon=True)
                        for i in range(workers)]
        for t in self.threads:
            t.start()
        for sub_id in store.unfinished():
            self.submit(sub_id)

    def submit(self, submission_id: str) -> None:
        self.q.put(submission_id)

    def _run(self) -> None:
        from qingdan.review.worker import Busy, process

        while True:
            sub_id = self.q.get()
            try:
                process(self.store, sub_id, self.lease_s)
            except Busy as b:  # the same package is being scanned by another thread: come back later
                threading.Timer(min(max(b.seconds, 0.2), 2.0), self.submit, args=(sub_id,)).start()
            except Exception:  # noqa: BLE001 - a database hiccup: try again shortly
                log.exception("review job %s", sub_id)
                time.sleep(1.0)
                self.submit(sub_id)
            finally:
                self.q.task_done()


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
