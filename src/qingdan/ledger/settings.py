"""Settings of the ledger service, read from ``QINGDAN_*`` environment variables.

- ``QINGDAN_DATABASE_URL``: SQLAlchemy URL; unset → ``sqlite:///./qingdan-ledger.db`` (a file in the
  current folder). PostgreSQL: ``postgresql+psycopg://user@host/db`` (psycopg 3).
- ``QINGDAN_LEDGER_KEYS``: ``kid1:base64key,kid2:base64key`` — AES-256 keys (32 bytes each) for the
  values stored in the ledger; the first encrypts, all decrypt (rotation: put the new key first,
  run ``qingdan ledger rotate``, then drop the old one).
- ``QINGDAN_SECRET``: the HMAC key that signs the users' page links. Unset → a random one per
  process (links then die with the process; fine for a trial, not for production).
- ``QINGDAN_PUBLIC_URL``: the service's address as the users see it (``https://privacy.example.com``);
  the users' links are built on it, never on the request's ``Host``. ``qingdan serve`` bound beyond
  loopback refuses to start without it.
- ``QINGDAN_TRUSTED_PROXIES``: comma-separated IPs/CIDRs of reverse proxies whose ``X-Forwarded-For``
  and ``X-Forwarded-Proto`` are believed (empty, the default: no peer is).
- ``QINGDAN_MAX_JSON_BYTES``: the largest request body of the JSON endpoints (and console forms);
  default 4 MiB (a 1000-event batch is about 0.3 MB). Package uploads have their own limit.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from qingdan.db import DEFAULT_DATABASE_URL

DEFAULT_MAX_JSON_BYTES = 4 * 1024 * 1024


class SettingsError(ValueError):
    """A malformed ``QINGDAN_*`` variable: ``what`` names it, the message says why."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")
        self.what, self.why = what, why


def parse_proxies(raw: str) -> list[str]:
    """``QINGDAN_TRUSTED_PROXIES`` → normalised IPs and CIDR networks; SettingsError on a bad entry."""
    out = []
    for item in (x.strip() for x in raw.split(",")):
        if not item:
            continue
        try:
            ip = ipaddress.ip_network(item, strict=False) if "/" in item else ipaddress.ip_address(item)
        except ValueError:
            raise SettingsError("QINGDAN_TRUSTED_PROXIES",
                                f"{item!r} is not an IP address or CIDR network") from None
        out.append(str(ip))
    return out


def parse_public_url(raw: str) -> str:
    """``QINGDAN_PUBLIC_URL`` → ``scheme://host[:port][/prefix]`` without a trailing slash ("" if unset)."""
    raw = raw.strip()
    if not raw:
        return ""
    try:
        u = urlsplit(raw)
        u.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise SettingsError("QINGDAN_PUBLIC_URL", f"{raw!r} is not a URL") from None
    if (u.scheme not in ("http", "https") or not u.hostname or u.username or u.password or u.query
            or u.fragment):
        raise SettingsError("QINGDAN_PUBLIC_URL", f"{raw!r} is not of the form https://host[:port][/path]"
                                                  " (no user, query or fragment)")
    return raw.rstrip("/")


def parse_bytes(what: str, raw: str | None, default: int) -> int:
    if raw is None or not raw.strip():
        return default
    try:
        n = int(raw.strip())
    except ValueError:
        n = 0
    if n <= 0:
        raise SettingsError(what, f"{raw!r} is not a positive number of bytes")
    return n


@dataclass(slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    ledger_keys: str = ""
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    link_ttl_seconds: int = 15 * 60  # default life of a user link
    max_link_ttl_seconds: int = 7 * 24 * 3600
    migrate: bool = True  # run the migrations when the app starts
    public_url: str = ""  # users' links are built on it; "" → the bound address (see service/app.py)
    trusted_proxies: list[str] = field(default_factory=list)  # peers whose X-Forwarded-* are believed
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = os.environ
        s = cls(
            database_url=env.get("QINGDAN_DATABASE_URL") or DEFAULT_DATABASE_URL,
            ledger_keys=env.get("QINGDAN_LEDGER_KEYS", ""),
            public_url=parse_public_url(env.get("QINGDAN_PUBLIC_URL", "")),
            trusted_proxies=parse_proxies(env.get("QINGDAN_TRUSTED_PROXIES", "")),
            max_json_bytes=parse_bytes("QINGDAN_MAX_JSON_BYTES", env.get("QINGDAN_MAX_JSON_BYTES"),
                                       DEFAULT_MAX_JSON_BYTES),
        )
        if env.get("QINGDAN_SECRET"):
            s.secret = env["QINGDAN_SECRET"]
        for k, v in overrides.items():
            setattr(s, k, v)
        return s
