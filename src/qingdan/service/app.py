"""The HTTP service: ``create_app(settings)`` gives the FastAPI app.

Its routers: the ledger API (``service/ledger_api.py``), the users' pages (``service/user_pages.py``),
the review API (``service/review.py``) and the review console (``service/console.py``). They take
stores and settings from ``app.state`` (``service/deps.py``); errors are ``ServiceError``s
(``service/errors.py``): ``{"error": {"code", "message"}}`` from the APIs, a page from the console
and the users' pages.
"""

from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from qingdan import __version__
from qingdan.db.engine import make_engine, migrate
from qingdan.jobs import make_queue
from qingdan.ledger.crypto import KeyRing
from qingdan.ledger.settings import Settings
from qingdan.ledger.store import Ledger
from qingdan.review.settings import ReviewSettings
from qingdan.review.storage import Storage
from qingdan.review.store import ReviewStore
from qingdan.service import console, faults, ledger_api, review, user_pages
from qingdan.service.errors import ConsoleError, ServiceError, error_json
from qingdan.service.inputs import BadParam, check_params, validation_message
from qingdan.service.limits import BodyLimit


@asynccontextmanager
async def _lifespan(app: FastAPI):
    yield
    jobs = getattr(app.state, "review_queue", None)
    if jobs is not None and hasattr(jobs, "close"):  # the in-process queue's scanner processes
        jobs.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    rs = ReviewSettings.from_env()
    engine = make_engine(settings.database_url)
    if settings.migrate:
        migrate(engine)
    app = FastAPI(title="qingdan ledger", version=__version__, lifespan=_lifespan,
                  dependencies=[Depends(check_params)],  # no control character in any path or query
                  description="Per-user personal-information ledger: what an app collected and shared, "
                              "per user.")
    app.state.settings = settings
    app.state.ledger = Ledger(engine, KeyRing(settings.ledger_keys))
    app.state.pi_index = ledger_api.pi_index()
    app.state.review_settings = rs
    app.state.review = store = ReviewStore(engine)
    app.state.storage = Storage(rs.storage_dir)
    app.state.review_queue = make_queue(rs, store)
    app.state.login_failures = {}  # the console's: client address -> times of its recent failed logins

    app.add_middleware(BodyLimit, max_bytes=settings.max_json_bytes)
    if settings.trusted_proxies:  # X-Forwarded-For/-Proto from these peers only (`serve` turns uvicorn's off)
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    _install_handlers(app)
    faults.install(app)  # database or broker down: 503 + Retry-After; the package store's disk full: 507
    for router in (review.router, console.router, ledger_api.router, user_pages.router):
        app.include_router(router)
    return app


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_req: Request, exc: ServiceError):
        return error_json(exc.status, exc.code, exc.message)

    app.add_exception_handler(ConsoleError, console.error_handler)  # the more specific class: a page

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError):
        errs = exc.errors()
        if any(e.get("type") == "too_long" and tuple(e.get("loc", ()))[:2] == ("body", "events")
               for e in errs):
            return error_json(413, "batch_too_large", f"at most {ledger_api.MAX_BATCH} events per batch")
        parts = []
        for e in errs[:10]:
            loc = ".".join(str(x) for x in e.get("loc", ()))
            parts.append(f"{loc}: {validation_message(e)}")
        return error_json(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(BadParam)
    async def _bad_param(request: Request, exc: BadParam):  # a control character in the path or the query
        path = request.scope.get("path", "")
        if path.startswith("/u/"):
            return user_pages.bad_param_page(exc.status)
        if path.startswith("/console"):
            title = "未找到 Not found" if exc.status == 404 else "参数无效 Invalid input"
            return await console.error_handler(request, ConsoleError(exc.status, title, exc.message))
        return error_json(exc.status, "not_found" if exc.status == 404 else "invalid_request", exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException):
        codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        return error_json(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception):  # never a traceback to the client
        return error_json(500, "internal_error", f"internal error ({type(exc).__name__})")
