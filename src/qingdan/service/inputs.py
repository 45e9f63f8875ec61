"""Text from a request that may reach the database, checked the same way on SQLite and PostgreSQL.

PostgreSQL refuses NUL in text (``DataError``: a 500) where SQLite stores it; other control
characters have no place in an identifier either. So:

- ``Ident``: identifiers (user refs, idempotency keys, PI types, sources, package names, ids) have no
  control character at all (C0, DEL);
- ``Text``: free text (purposes, scenarios, values, notes) may have tab, newline and carriage
  return, nothing else of the kind — NUL never;
- ``check_params``: one dependency of the whole app (every router) refuses a control character in
  the path (404: no such resource) or in a query parameter (422), before any handler runs. It raises
  ``BadParam``; the app's handler answers in the area's own format (API JSON, user page, console page);
- ``bad_char``: the same test for form fields (the console's, the review upload's multipart fields).

``Ident`` and ``Text`` are pydantic ``pattern`` constraints (checked in pydantic-core's regex engine,
where ``$`` is the very end: no Python call per field, and a 1000-event batch has 7000 such fields);
``validation_message`` words their failure plainly. Lone surrogates (not UTF-8) pydantic refuses
already; ``bad_char`` refuses them too.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Request
from pydantic import Field

IDENT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_IDENT_BAD = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_TEXT_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def bad_char(s: str, free_text: bool = False) -> str | None:
    """The first character not allowed in ``s``, as ``U+XXXX``; None when ``s`` is clean."""
    m = (_TEXT_BAD if free_text else _IDENT_BAD).search(s)
    return None if m is None else f"U+{ord(m.group()):04X}"


Ident = Annotated[str, Field(pattern=IDENT_PATTERN)]
Text = Annotated[str, Field(pattern=TEXT_PATTERN)]


def validation_message(error: dict) -> str:
    """The message of one pydantic error, a control character refused by ``Ident``/``Text`` named."""
    pattern = (error.get("ctx") or {}).get("pattern")
    if error.get("type") == "string_pattern_mismatch" and pattern in (IDENT_PATTERN, TEXT_PATTERN):
        c = bad_char(str(error.get("input", "")), free_text=pattern == TEXT_PATTERN)
        return f"control character {c} is not allowed"
    return str(error.get("msg"))


class BadParam(Exception):
    """A control character in the path (status 404) or in a query parameter (status 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def check_params(request: Request) -> None:
    """Refuse a control character in the (decoded) path or in a query parameter's name or value."""
    if (c := bad_char(request.scope.get("root_path", "") + request.scope.get("path", ""))) is not None:
        raise BadParam(404, f"no such resource: the path contains the control character {c}")
    for name, value in request.query_params.multi_items():
        if (c := bad_char(name)) is not None:
            raise BadParam(422, f"a query parameter's name contains the control character {c}")
        if (c := bad_char(value)) is not None:
            raise BadParam(422, f"query parameter `{name}`: control character {c} is not allowed")
