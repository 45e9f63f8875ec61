"""Signed, short-lived links to one user's page: ``base64url(app|user|expiry).base64url(HMAC-SHA256)``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time


class LinkError(ValueError):
    def __init__(self, reason: str) -> None:  # "expired" | "invalid"
        super().__init__(reason)
        self.reason = reason


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), b"qingdan.user-link/1\x00" + payload, hashlib.sha256).digest()


def sign(secret: str, app_id: str, user_ref: str, expires: int) -> str:
    payload = json.dumps([app_id, user_ref, int(expires)], ensure_ascii=False, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def verify(secret: str, token: str, now: float | None = None) -> tuple[str, str, int]:
    """(app id, user ref, expiry); LinkError("invalid") when tampered, LinkError("expired") when late."""
    try:
        p, m = token.split(".")
        payload, mac = _unb64(p), _unb64(m)
    except (ValueError, TypeError):
        raise LinkError("invalid") from None
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise LinkError("invalid")
    try:
        app_id, user_ref, expires = json.loads(payload)
    except (ValueError, TypeError):
        raise LinkError("invalid") from None
    if (now if now is not None else time.time()) >= int(expires):
        raise LinkError("expired")
    return str(app_id), str(user_ref), int(expires)
