"""How ``qingdan serve`` runs uvicorn: httptools with caps on the request head, no proxy headers
from uvicorn itself (``create_app`` believes them from ``QINGDAN_TRUSTED_PROXIES`` only).

llhttp, under httptools, sets no limit on a header's size: uvicorn kept a 200 MiB header value in
memory. ``LimitedHttpTools`` counts the bytes of the request line and headers as they arrive and
the headers as they are parsed; past ``MAX_HEAD_BYTES`` or ``MAX_HEADERS`` it answers 431 and
closes the connection, so at most one read (≤ 256 KiB) beyond the limit is ever held."""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024  # request line + headers (nginx: 4 × 8 KiB; Node: 16 KiB)
MAX_HEADERS = 100  # like Python's http.client
LINGER_S = 2.0  # after a 431, how long the rest of the client's bytes are read and dropped
APP = "qingdan.service.app:create_app"


class _HeadTooLarge(Exception):
    pass


class LimitedHttpTools(HttpToolsProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = False
        self._head_bytes = 0
        self._n_headers = 0
        self._refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._n_headers = True, 0, 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self._n_headers += 1
        if self._n_headers > MAX_HEADERS:
            self._refused = True
            raise _HeadTooLarge  # stops the parser; data_received answers (via send_400_response)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        if self._in_head and not self._refused and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refused = True
                self.send_400_response("")

    def send_400_response(self, msg: str) -> None:
        if not self._refused:
            return super().send_400_response(msg)
        body = json.dumps({"error": {"code": "headers_too_large", "message":
                                     f"the request line and headers exceed {MAX_HEAD_BYTES} bytes"
                                     f" or {MAX_HEADERS} headers"}}).encode()
        self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                             b"content-type: application/json\r\nconnection: close\r\n"
                             b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        # A lingering close: closing with the client's bytes unread would send a reset, which can
        # destroy the answer before the client reads it. Send FIN after the answer, drop what still
        # comes (data_received ignores it), close after LINGER_S or at the client's EOF.
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()


def uvicorn_options(host: str, port: int, workers: int = 1) -> dict:
    """Keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` for the service."""
    return {"app": APP, "factory": True, "host": host, "port": port, "workers": workers,
            "log_level": "warning", "http": LimitedHttpTools, "proxy_headers": False}
