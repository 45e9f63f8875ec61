"""The service's one error type: a request refused with a status, a code and a one-line message.

``ServiceError`` is answered as the APIs answer, ``{"error": {"code", "message"}}`` (the ledger API and
the review API raise it); ``ConsoleError`` as the console answers, an HTML page with a title (its code
is the status's name); ``create_app`` installs both renderings."""

from __future__ import annotations

from http import HTTPStatus

from fastapi.responses import JSONResponse


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ConsoleError(ServiceError):
    """An error of the web console: rendered as its error page, ``title`` its heading."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(status, HTTPStatus(status).phrase.lower().replace(" ", "_"), message)
        self.title = title


def error_json(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)
