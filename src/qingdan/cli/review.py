"""The app-store review service: `qingdan review account …`, `qingdan review purge`, `qingdan worker`."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from qingdan.cli._common import echo_secret, fail, need_extra

review_app = typer.Typer(help="The app-store review service: accounts, package store.", no_args_is_help=True)
review_accounts = typer.Typer(help="Reviewer and developer accounts.", no_args_is_help=True)
review_app.add_typer(review_accounts, name="account")


def _review_store():
    from qingdan.db.engine import make_engine, migrate
    from qingdan.ledger.settings import Settings
    from qingdan.review.store import ReviewStore

    engine = make_engine(Settings.from_env().database_url)
    migrate(engine)
    return ReviewStore(engine)


@review_accounts.command("create")
def review_account_create(
    name: Annotated[str, typer.Option("--name", help="The account's name.")],
    role: Annotated[str, typer.Option("--role", help="reviewer or developer.")],
) -> None:
    """Create an account; prints its id and API key (shown this once: only its hash is stored)."""
    from qingdan.review.store import ROLES

    if role not in ROLES:
        raise fail("--role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    try:
        acc_id, key = _review_store().create_account(name, role)
    except ValueError as exc:
        raise fail(name, str(exc)) from None
    echo_secret(f"account: {acc_id} ({role})", f"key:     {key}", "the key is shown once; store it safely")


@review_accounts.command("list")
def review_account_list() -> None:
    """The accounts: name, role, id, created, disabled."""
    for a in _review_store().accounts():
        state = f"disabled {a['disabled_at']:%Y-%m-%d %H:%M}" if a["disabled_at"] else "active"
        typer.echo(f"{a['name']}\t{a['role']}\t{a['id']}\tcreated {a['created_at']:%Y-%m-%d}\t{state}")


@review_accounts.command("disable")
def review_account_disable(name: Annotated[str, typer.Argument(help="The account's name.")]) -> None:
    """Disable an account: its key and console sessions are refused from now on (its apps and history stay)."""  # noqa: E501 - a help text is one line
    _set_disabled(name, True)


@review_accounts.command("enable")
def review_account_enable(name: Annotated[str, typer.Argument(help="The account's name.")]) -> None:
    """Enable a disabled account again (with the key it had; console sessions from before stay void)."""
    _set_disabled(name, False)


def _set_disabled(name: str, disabled: bool) -> None:
    try:
        acc = _review_store().set_disabled(name, disabled)
    except LookupError as exc:
        raise fail(name, str(exc)) from None
    typer.echo(f"{'disabled' if disabled else 'enabled'}: {name} ({acc['role']}, {acc['id']})")


@review_accounts.command("rotate-key")
def review_account_rotate(name: Annotated[str, typer.Argument(help="The account's name.")]) -> None:
    """Give an account a new API key; the old key is refused from now on. Prints the new key once."""
    try:
        acc_id, key = _review_store().rotate_key(name)
    except LookupError as exc:
        raise fail(name, str(exc)) from None
    echo_secret(f"account: {acc_id}", f"key:     {key}", "the key is shown once; store it safely")


@review_app.command("purge")
def review_purge(
    keep_days: Annotated[float | None, typer.Option(
        "--keep-days", min=0, help="Also remove the packages of scans finished more than this many days ago "
        "(reports and history stay).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be removed.")] = False,
) -> None:
    """Clean the package store (QINGDAN_STORAGE_DIR): unfinished uploads' temporary files and files nothing refers to, both older than an hour; with --keep-days, old packages too."""  # noqa: E501 - a help text is one line
    from qingdan.review.retention import purge
    from qingdan.review.settings import ReviewSettings
    from qingdan.review.storage import Storage

    storage = Storage(ReviewSettings.from_env().storage_dir)
    p = purge(_review_store(), storage, keep_days, dry_run)
    line = (f"{'would remove' if dry_run else 'removed'} {p.files} file{'' if p.files == 1 else 's'}"
            f" ({p.bytes / 2**20:,.1f} MiB) from {storage.root}: unfinished uploads {len(p.temp)},"
            f" unreferenced {len(p.orphans)}")
    if keep_days is not None:
        line += f", packages of scans finished over {keep_days:g} days ago {len(p.expired)}"
    typer.echo(line)


def review_worker(ctx: typer.Context) -> None:
    """Run scan workers for the review service (Celery on QINGDAN_BROKER_URL); extra options go to Celery."""
    need_extra("service", "celery", "sqlalchemy")
    if not os.environ.get("QINGDAN_BROKER_URL"):
        raise fail("QINGDAN_BROKER_URL",
                   "not set (redis://host:6379/0); without it `qingdan serve` scans in-process")
    from qingdan.db.engine import make_engine, migrate
    from qingdan.ledger.settings import Settings
    from qingdan.review.settings import ReviewSettings

    migrate(make_engine(Settings.from_env().database_url))
    os.execvp(sys.executable, [sys.executable, "-m", "celery", "-A", "qingdan.jobs.celery_app", "worker",
                               "-Q", ReviewSettings.from_env().queue, *ctx.args])
