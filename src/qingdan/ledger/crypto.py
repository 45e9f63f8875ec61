"""Values at rest: AES-256-GCM with a key ring (the first key encrypts, every key decrypts).

A stored value is ``version(1) | len(kid)(1) | kid | nonce(12) | ciphertext+tag``. The associated
data binds it to its app and user, so a value copied to another user's row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1


class KeyringError(ValueError):
    """QINGDAN_LEDGER_KEYS is malformed, or a value's key is not in the ring."""


class KeyRing:
    def __init__(self, spec: str) -> None:
        self.keys: dict[str, AESGCM] = {}
        self.current: str | None = None
        for part in (p.strip() for p in (spec or "").split(",")):
            if not part:
                continue
            kid, sep, b64 = part.partition(":")
            if not sep or not kid or len(kid.encode()) > 255:
                raise KeyringError("QINGDAN_LEDGER_KEYS: each entry is kid:base64key")
            try:
                raw = base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError):
                raise KeyringError(f"QINGDAN_LEDGER_KEYS: key {kid!r} is not base64") from None
            if len(raw) != 32:
                raise KeyringError(f"QINGDAN_LEDGER_KEYS: key {kid!r} must be 32 bytes (AES-256),"
                                   f" got {len(raw)}")
            if kid in self.keys:
                raise KeyringError(f"QINGDAN_LEDGER_KEYS: key id {kid!r} given twice")
            self.keys[kid] = AESGCM(raw)
            self.current = self.current or kid

    def __bool__(self) -> bool:
        return self.current is not None

    def encrypt(self, value: str, aad: bytes) -> bytes:
        if self.current is None:
            raise KeyringError("no encryption key: set QINGDAN_LEDGER_KEYS to store values")
        kid = self.current.encode()
        nonce = os.urandom(12)
        ct = self.keys[self.current].encrypt(nonce, value.encode("utf-8"), aad)
        return bytes([VERSION, len(kid)]) + kid + nonce + ct

    @staticmethod
    def kid_of(blob: bytes) -> str:
        return bytes(blob[2:2 + blob[1]]).decode()

    def decrypt(self, blob: bytes, aad: bytes) -> str:
        blob = bytes(blob)
        if not blob or blob[0] != VERSION:
            raise KeyringError("unknown value format")
        kid = self.kid_of(blob)
        key = self.keys.get(kid)
        if key is None:
            raise KeyringError(f"value encrypted under key {kid!r}, which QINGDAN_LEDGER_KEYS does not hold")
        off = 2 + blob[1]
        return key.decrypt(blob[off:off + 12], blob[off + 12:], aad).decode("utf-8")


def aad(app_id: str, user_ref: str) -> bytes:
    return f"qingdan.ledger/1\x00{app_id}\x00{user_ref}".encode()


def mask(value: str | None) -> str:
    """138****0000 style: keep a little of each end, hide the middle."""
    if value is None:
        return ""
    v = value
    if "@" in v and not v.startswith("@"):
        local, _, domain = v.partition("@")
        return (local[:1] + "***@" + domain) if domain else mask(local)
    n = len(v)
    if n <= 1:
        return "*"
    if n == 2:
        return v[0] + "*"
    if n <= 6:
        return v[0] + "*" * (n - 2) + v[-1]
    if n <= 10:
        return v[:3] + "****" + v[-2:]
    return v[:3] + "****" + v[-4:]
