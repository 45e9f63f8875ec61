"""The scan queue. ``make_queue(settings, store)`` gives an object with ``submit(submission_id)``:
an in-process pool of worker threads by default (``qingdan serve`` alone, SQLite, one machine), or
Celery on Redis when ``QINGDAN_BROKER_URL`` is set (``qingdan worker`` runs the workers).

The implementation is in ``queue`` (and ``celery_app``); these are its public names."""

from __future__ import annotations

from qingdan.jobs.queue import CeleryQueue, InProcessQueue, Queue, make_queue

__all__ = ["CeleryQueue", "InProcessQueue", "Queue", "make_queue"]
