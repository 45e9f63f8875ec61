"""The per-user ledger service: `qingdan ledger …` and `qingdan serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qingdan.cli._common import check_outputs, echo, echo_secret, fail, need_extra, write_json
from qingdan.cli.lists import load_lists_or_fail

ledger_app = typer.Typer(
    help="The per-user personal-information ledger: apps, API keys, migrations, key rotation.",
    no_args_is_help=True)
ledger_apps = typer.Typer(help="Apps known to the ledger.", no_args_is_help=True)
ledger_keys = typer.Typer(help="API keys of an app (the app backend sends events with one).",
                          no_args_is_help=True)
ledger_app.add_typer(ledger_apps, name="app")
ledger_app.add_typer(ledger_keys, name="key")


def open_ledger():
    """The ledger of QINGDAN_DATABASE_URL (migrated), with the keys of QINGDAN_LEDGER_KEYS."""
    from qingdan.db.engine import make_engine, migrate
    from qingdan.ledger.crypto import KeyRing, KeyringError
    from qingdan.ledger.settings import Settings
    from qingdan.ledger.store import Ledger

    settings = Settings.from_env()
    try:
        ring = KeyRing(settings.ledger_keys)
    except KeyringError as exc:
        raise fail("QINGDAN_LEDGER_KEYS", str(exc)) from None
    engine = make_engine(settings.database_url)
    migrate(engine)
    return Ledger(engine, ring)


@ledger_app.command("migrate")
def ledger_migrate() -> None:
    """Create or upgrade the ledger's tables (QINGDAN_DATABASE_URL; default ./qingdan-ledger.db)."""
    from qingdan.db.engine import current_revision, make_engine, migrate
    from qingdan.ledger.settings import Settings

    engine = make_engine(Settings.from_env().database_url)
    migrate(engine)
    typer.echo(f"ledger schema at revision {current_revision(engine)}")


@ledger_app.command("rotate")
def ledger_rotate() -> None:
    """Re-encrypt every stored value under the first key of QINGDAN_LEDGER_KEYS."""
    led = open_ledger()
    if not led.keys:
        raise fail("QINGDAN_LEDGER_KEYS", "not set: nothing to rotate to")
    counts = led.rotate()
    typer.echo(f"re-encrypted under {led.keys.current}: {counts['events']} event values, "
               f"{counts['aggregates']} aggregate values")


@ledger_apps.command("create")
def ledger_app_create(
    name: Annotated[str, typer.Option("--name", help="The app's name, as users know it.")],
    lists: Annotated[str, typer.Option(
        "--lists", help="The app's privacy-lists.yaml: events are checked against it.")],
    retention: Annotated[list[str] | None, typer.Option(
        "--retention", help="PI_TYPE=DAYS: delete such events after DAYS (repeatable).")] = None,
) -> None:
    """Register an app; prints its id."""
    dl = load_lists_or_fail(lists)
    ret: dict[str, int] = {}
    for item in retention or []:
        k, sep, v = item.partition("=")
        if not sep or not k or not v.isdigit():
            raise fail("--retention", f"expected PI_TYPE=DAYS, got {item!r}")
        ret[k.strip()] = int(v)
    typer.echo(open_ledger().create_app(name, dl, str(Path(lists).resolve()), ret))


@ledger_app.command("unlisted")
def ledger_unlisted(
    app_id: Annotated[str, typer.Argument(help="The app id from `qingdan ledger app create`.")],
    json_out: Annotated[str | None, typer.Option("--json", help="Write the records as JSON here.")] = None,
) -> None:
    """The app's records its double list does not declare (the operator's to fix; users' pages do not
    show them): per kind, PI type, purpose and source, with events and users."""
    check_outputs(json_out)
    led = open_ledger()
    if led.get_app(app_id) is None:
        raise fail(app_id, "no such app")
    unl = led.unlisted(app_id)
    for r in unl["rows"]:
        echo(f"[{', '.join(r['flags'])}] {r['kind']} {r['pi_type']} by {r['source']}: {r['purpose']} "
             f"— {r['events']} events, {r['users']} users, last {r['last_at'][:10]}")
    echo(f"{unl['events']} unlisted events of {unl['users']} users in {len(unl['rows'])} records"
         + ("; declare them in the lists (or stop them in the app)" if unl["rows"] else ""))
    if json_out:
        write_json(json_out, {"schema": "qingdan.ledger-unlisted/1", "app_id": app_id, **unl})


@ledger_keys.command("create")
def ledger_key_create(
    app_id: Annotated[str, typer.Argument(help="The app id from `qingdan ledger app create`.")],
) -> None:
    """Create an API key; prints its id and the token (shown this once: only its hash is stored)."""
    try:
        key_id, token = open_ledger().create_key(app_id)
    except LookupError as exc:
        raise fail(app_id, str(exc)) from None
    echo_secret(f"key id: {key_id}", f"token:  {token}",
                "the token is shown once; store it in the app backend's secrets")


@ledger_keys.command("revoke")
def ledger_key_revoke(key_id: Annotated[str, typer.Argument(help="The key id to revoke.")]) -> None:
    """Revoke an API key (requests with it are refused from now on)."""
    if not open_ledger().revoke_key(key_id):
        raise fail(key_id, "no such live key")
    typer.echo(f"revoked {key_id}")


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the ledger service (the API for the app backend and the users' pages)."""
    need_extra("service", "uvicorn", "httptools", "fastapi", "sqlalchemy")
    import uvicorn

    from qingdan.db.engine import make_engine, migrate
    from qingdan.ledger.settings import Settings
    from qingdan.service.server import uvicorn_options

    settings = Settings.from_env()  # a malformed QINGDAN_* variable stops here, with one line
    if not settings.public_url and not _is_loopback(host):
        raise fail("QINGDAN_PUBLIC_URL", f"not set; required when serving on {host} (beyond loopback): the "
                                         "users' links are built on it, e.g. https://privacy.example.com")
    migrate(make_engine(settings.database_url))  # once, before the workers start
    options = uvicorn_options(host, port, workers)
    if workers == 1:
        uvicorn.run(**options)
        return
    import socket

    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(**options)
    sock = config.bind_socket()
    # uvicorn's shared socket is made with proto 0, so asyncio does not set TCP_NODELAY on the
    # connections the workers accept, and Nagle's algorithm then holds small responses ~40 ms.
    # On Linux accepted sockets inherit TCP_NODELAY from the listening socket: set it there.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything
