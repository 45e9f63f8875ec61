"""Faults of what a request needs besides the server itself, answered so that a client can act on them.

- The database or the message broker cannot be reached (down, restarting, connection lost, the pool
  has no connection free): **503** ``{"error": {"code": "unavailable", …}}`` with ``Retry-After`` (the
  console: a friendly page). Nothing was done, or it was done whole (one transaction): a retry with
  the same request is safe (ledger events carry idempotency keys; an upload of the same package is a
  duplicate of the first).
- The package store's disk is full: **507** ``{"error": {"code": "storage_full", …}}``; the partial
  file is removed and nothing refers to it.

Anything else stays a 500 (logged, never a traceback to the client).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from qingdan.review.storage import StorageFull

RETRY_AFTER_S = 2
log = logging.getLogger("qingdan.service")


def unavailable(exc: BaseException) -> str | None:
    """What cannot be reached, when ``exc`` says so ("the database", "the message broker"), else None."""
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.TimeoutError):  # the pool: no connection came free in time
        return "the database"
    if isinstance(exc, sa.DBAPIError):
        if exc.connection_invalidated:
            return "the database"
        exc = exc.orig
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the service extra brings it
        psycopg = None
    # connection lost or refused, server shutting down or starting up, too many connections, disk full
    if psycopg is not None and isinstance(exc, psycopg.OperationalError):
        return "the database"
    import sqlite3

    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):  # busy past its timeout
        return "the database"
    try:
        from kombu.exceptions import OperationalError as BrokerError
    except ImportError:  # pragma: no cover - no Celery: no broker
        return None
    if isinstance(exc, BrokerError):
        return "the message broker"
    return None


def _console(request: Request) -> bool:
    return request.url.path == "/console" or request.url.path.startswith("/console/")


def answer(request: Request, exc: BaseException) -> Response:
    """The response to a fault: 503 / 507 as above, else the generic 500."""
    what = unavailable(exc) if not isinstance(exc, StorageFull) else None
    if isinstance(exc, StorageFull):
        status, code = 507, "storage_full"
        message = "the package store is out of disk space; nothing was stored: try again later"
        title = "存储空间不足 Storage full"
        zh = "安装包存储空间已满，本次上传未保存，请稍后重试。"
        headers = {"Retry-After": str(RETRY_AFTER_S * 30)}
    elif what is not None:
        status, code = 503, "unavailable"
        message = f"{what} is unavailable right now; nothing was changed: retry after {RETRY_AFTER_S} s"
        title = "服务暂不可用 Service unavailable"
        zh = "服务暂时不可用，请稍后重试。"
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    else:
        log.error("%s %s", request.method, request.url.path, exc_info=exc)
        status, code, message, headers = 500, "internal_error", f"internal error ({type(exc).__name__})", None
        title, zh = "内部错误 Internal error", "服务器内部错误。"
    if status != 500:
        log.warning("%s %s: %d %s (%s: %s)", request.method, request.url.path, status, code,
                    type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    if _console(request):
        from qingdan.service.console import error_page

        return error_page(status, title, f"{zh} {message[:1].upper()}{message[1:]}.", headers)
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Handlers for the faults above, on every route of the app (the APIs and the console)."""
    from sqlalchemy import exc as sa

    kinds: list[type[BaseException]] = [sa.DBAPIError, sa.TimeoutError, StorageFull]
    try:
        import psycopg

        kinds.append(psycopg.Error)  # raised bare by the ledger's COPY path (driver-level cursor)
    except ImportError:  # pragma: no cover
        pass
    try:
        from kombu.exceptions import OperationalError as BrokerError

        kinds.append(BrokerError)
    except ImportError:  # pragma: no cover
        pass

    async def handler(request: Request, exc: Exception) -> Response:
        return answer(request, exc)

    for k in kinds:
        app.add_exception_handler(k, handler)
