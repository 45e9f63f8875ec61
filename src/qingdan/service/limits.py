"""Request body limit of the service: every route but the package uploads (which stream to storage
under their own limit) gets at most ``QINGDAN_MAX_JSON_BYTES`` of body.

A plain ASGI middleware, so nothing is buffered on its account: a ``Content-Length`` over the limit
is answered 413 before the body is read; a chunked body is counted as it streams and answered 413
as soon as it passes the limit (whatever the route then made of the cut-off body is discarded)."""

from __future__ import annotations

import json

# (method, path) of the routes with their own, larger, streaming limit
UPLOADS = frozenset({("POST", "/v1/review/submissions"), ("POST", "/console/upload")})


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _refusal(self) -> tuple[dict, dict]:
        mib = self.max_bytes / (1024 * 1024)
        body = json.dumps({"error": {"code": "too_large", "message":
                                     f"the request body is larger than the limit of {self.max_bytes} bytes"
                                     f" ({mib:.3g} MiB, QINGDAN_MAX_JSON_BYTES)"}}).encode()
        start = {"type": "http.response.start", "status": 413,
                 "headers": [(b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode()), (b"connection", b"close")]}
        return start, {"type": "http.response.body", "body": body}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"].removeprefix(scope.get("root_path") or "")
        if (scope["method"], path) in UPLOADS:
            return await self.app(scope, receive, send)
        for name, value in scope["headers"]:
            if name == b"content-length" and value.strip().isdigit() and int(value) > self.max_bytes:
                start, body = self._refusal()
                await send(start)
                await send(body)
                return
        seen = 0
        tripped = False
        started = False

        async def counted_receive():
            nonlocal seen, tripped
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    tripped = True
                    raise _TooLarge
            return msg

        async def guarded_send(msg):  # once tripped, whatever the route answers becomes the 413
            nonlocal started
            if tripped:
                if msg["type"] == "http.response.start" and not started:
                    started = True
                    start, body = self._refusal()
                    await send(start)
                    await send(body)
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLarge:
            pass
        except Exception:
            if not tripped:
                raise
        if tripped and not started:
            start, body = self._refusal()
            await send(start)
            await send(body)
