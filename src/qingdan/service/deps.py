"""What the routers need, taken from ``request.app.state`` (set by ``create_app``) as typed
dependencies: ``def route(ledger: LedgerDep)``. ``async`` so that FastAPI calls them on the event loop
(they only read an attribute; a plain ``def`` would go through the threadpool on every request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from qingdan.jobs import Queue
from qingdan.ledger.settings import Settings
from qingdan.ledger.store import Ledger
from qingdan.review.settings import ReviewSettings
from qingdan.review.storage import Storage
from qingdan.review.store import ReviewStore
from qingdan.service.errors import ServiceError


async def settings(request: Request) -> Settings:
    return request.app.state.settings


async def ledger(request: Request) -> Ledger:
    return request.app.state.ledger


async def pi_index(request: Request) -> tuple[dict, dict]:
    """(PI types by key, key by synonym or name): how ``POST /v1/events`` reads ``pi_type``."""
    return request.app.state.pi_index


async def review_store(request: Request) -> ReviewStore:
    return request.app.state.review


async def review_settings(request: Request) -> ReviewSettings:
    return request.app.state.review_settings


async def storage(request: Request) -> Storage:
    return request.app.state.storage


async def jobs(request: Request) -> Queue:
    return request.app.state.review_queue


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (the API keys); 401 without one."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ServiceError(401, "unauthorized", "send the API key as `Authorization: Bearer <token>`")
    return authorization[7:].strip()


SettingsDep = Annotated[Settings, Depends(settings)]
LedgerDep = Annotated[Ledger, Depends(ledger)]
PiIndexDep = Annotated[tuple[dict, dict], Depends(pi_index)]
ReviewStoreDep = Annotated[ReviewStore, Depends(review_store)]
ReviewSettingsDep = Annotated[ReviewSettings, Depends(review_settings)]
StorageDep = Annotated[Storage, Depends(storage)]
JobsDep = Annotated[Queue, Depends(jobs)]
