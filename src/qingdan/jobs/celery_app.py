"""Celery on Redis: ``celery -A qingdan.jobs.celery_app worker`` (what ``qingdan worker`` runs).

Tasks are acknowledged late and rejected (so redelivered) when their worker dies; the task is
idempotent (see :mod:`qingdan.review.worker`), so a worker killed mid-scan loses nothing and the
submission still finishes once.
"""

from __future__ import annotations

import logging
from functools import cache

from celery import Celery, bootsteps
from celery.signals import worker_ready
from celery.worker.consumer import Consumer as CeleryConsumer

from qingdan.review.settings import ReviewSettings


def make_celery(settings: ReviewSettings) -> Celery:
    c = Celery("qingdan", broker=settings.broker_url)
    c.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.queue,
        task_ignore_result=True,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,  # a lost broker connection: reconnect (default; stated, it matters)
        broker_connection_max_retries=None,  # … for as long as it takes (Redis restarted, failed over)
        worker_consumer="qingdan.jobs.celery_app:Consumer",
        worker_hijack_root_logger=False,
    )
    return c


class Consumer(CeleryConsumer):
    """Celery's consumer, surviving the loss of its Redis connection while a task is unacknowledged.

    On a lost connection Celery collects the connection, then closes it; closing the Redis channel
    restores the unacknowledged messages through the transport that collect() has already detached,
    which raises AttributeError (kombu 5.x) and the worker exits ("Unrecoverable error"). Those
    messages are gone with a restarted Redis anyway (and are redelivered after the visibility timeout
    otherwise); the unfinished submissions are queued again on reconnection (RequeueOnReconnect)."""

    def on_connection_error_after_connected(self, exc):  # noqa: ANN001
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError as err:
            logging.getLogger("qingdan.jobs").warning(
                "broker connection closed uncleanly (%r); reconnecting", err)
            self.connection = None


@cache
def _context():
    from qingdan.db.engine import make_engine
    from qingdan.review.store import ReviewStore

    settings = ReviewSettings.from_env()
    return settings, ReviewStore(make_engine(settings.database_url))


_settings = ReviewSettings.from_env()
app = make_celery(_settings)


@app.task(name="qingdan.review.process", bind=True, acks_late=True, reject_on_worker_lost=True,
          max_retries=None)
def process_task(self, submission_id: str) -> str | None:
    from sqlalchemy.exc import InterfaceError, OperationalError

    from qingdan.review.worker import Busy, process

    settings, store = _context()
    try:
        return process(store, submission_id, settings.scan_lease_s)
    except Busy as b:
        raise self.retry(countdown=max(1, min(int(b.seconds) + 1, 60))) from None
    except (OperationalError, InterfaceError):  # the database went away mid-task: it is idempotent, try again
        raise self.retry(countdown=min(60, 2 ** min(self.request.retries, 6))) from None


REQUEUE_WINDOW_S = 30


class RequeueOnReconnect(bootsteps.StartStopStep):
    """When the worker's broker connection comes back (Redis restarted: a Redis without persistence
    comes back empty, its queued tasks and the unacknowledged ones gone), queue the unfinished
    submissions again, as at start. Duplicates are harmless (the task is idempotent)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c) -> None:  # noqa: ANN001 - the worker's Consumer
        if c.restart_count > 0:  # not the first start (worker_ready does that one): a reconnection
            try:
                _requeue_unfinished()
            except Exception:  # noqa: BLE001 - the database down too: the next reconnection or start
                logging.getLogger("qingdan.jobs").exception("requeue after the broker came back")


app.steps["consumer"].add(RequeueOnReconnect)


@worker_ready.connect
def _requeue_unfinished(sender=None, **_kw) -> None:
    """A starting worker queues unfinished submissions again. A task whose worker died is also
    redelivered by Redis after the visibility timeout, but this does not wait for it, and queued
    tasks lost with a restarted Redis come back. Running submissions (at most one per worker) are
    queued by every starting worker; the queued ones by one worker per ``REQUEUE_WINDOW_S`` (a Redis
    key taken with SET NX), so that N workers starting together do not add N copies of the whole
    queue. Duplicates are harmless: the task is idempotent, a live scan's lease makes a copy wait."""
    settings, store = _context()
    taken = _take_window(settings)
    for sub_id in store.unfinished(running_only=not taken):
        app.send_task("qingdan.review.process", args=[sub_id], queue=settings.queue)


def _take_window(settings: ReviewSettings) -> bool:
    """True for the first starting worker in a window (and whenever Redis cannot say: queue it all)."""
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return True
    try:
        import redis

        r = redis.Redis.from_url(settings.broker_url, socket_timeout=5, socket_connect_timeout=5)
        try:
            return bool(r.set(f"qingdan:requeue:{settings.queue}", "1", nx=True, ex=REQUEUE_WINDOW_S))
        finally:
            r.close()
    except Exception:  # noqa: BLE001 - duplicates are harmless, a lost submission is not
        return True
