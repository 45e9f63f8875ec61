"""Settings of the ledger service, read from ``QINGDAN_*`` environment variables.

- ``QINGDAN_DATABASE_URL``: SQLAlchemy URL; unset → ``sqlite:///./qingdan-ledger.db`` (a file in the
  current folder). PostgreSQL: ``postgresql+psycopg://user@host/db`` (psycopg 3).
- ``QINGDAN_LEDGER_KEYS``: ``kid1:base64key,kid2:base64key`` — AES-256 keys (32 bytes each) for the
  values stored in the ledger; the first encrypts, all decrypt (rotation: put the new key first,
  run ``qingdan ledger rotate``, then drop the old one).
- ``QINGDAN_SECRET``: the HMAC key that signs the users' page links. Unset → a random one per
  process (links then die with the process; fine for a trial, not for production).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite:///qingdan-ledger.db"


@dataclass(slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    ledger_keys: str = ""
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    link_ttl_seconds: int = 15 * 60  # default life of a user link
    max_link_ttl_seconds: int = 7 * 24 * 3600
    migrate: bool = True  # run the migrations when the app starts

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = os.environ
        s = cls(
            database_url=env.get("QINGDAN_DATABASE_URL") or DEFAULT_DATABASE_URL,
            ledger_keys=env.get("QINGDAN_LEDGER_KEYS", ""),
        )
        if env.get("QINGDAN_SECRET"):
            s.secret = env["QINGDAN_SECRET"]
        for k, v in overrides.items():
            setattr(s, k, v)
        return s
