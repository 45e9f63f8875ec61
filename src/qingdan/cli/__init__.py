"""The ``qingdan`` command line: the Typer ``app`` and ``main``, the console script.

One module per command group (``scan``: scan and diff; ``catalogue``: rules, app-types, sdk;
``lists``; ``ledger``: ledger and serve; ``policy``; ``review``: review and worker; ``ui``), and
``_common`` for what they share. A command imports what it works with inside its function, so
``qingdan --help`` stays quick.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from qingdan import __version__
from qingdan.cli import catalogue, ledger, lists, policy, review, scan, ui
from qingdan.cli._common import argv_command, echo, extra_line, extra_of, fail, reason

__all__ = ["app", "fail", "main"]

app = typer.Typer(
    name="qingdan",
    help="qingdan (清单): personal-information compliance for Chinese mobile apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"qingdan {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_show_version,
                                          help="Show the version and exit.")] = False,
) -> None:
    """qingdan (清单): personal-information compliance for Chinese mobile apps."""


# the commands, then the groups, in the order `qingdan --help` lists them
app.command()(scan.scan)
app.command("rules")(catalogue.rules_cmd)
app.command("app-types")(catalogue.app_types_cmd)
app.command()(scan.diff)
app.command("serve")(ledger.serve)
app.command("worker", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    review.review_worker)
app.add_typer(catalogue.sdk_app, name="sdk")
app.add_typer(lists.lists_app, name="lists")
app.add_typer(ledger.ledger_app, name="ledger")
app.add_typer(policy.policy_app, name="policy")
app.add_typer(review.review_app, name="review")
app.add_typer(ui.ui_app, name="ui")


def main() -> None:
    """The console script: run the app; whatever escapes a command ends as one line (exit 2)."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)
    except ModuleNotFoundError as exc:  # an optional extra not installed: say which
        extra = extra_of(exc.name)
        if extra is None:
            typer.echo(f"error: qingdan: {reason(exc)}", err=True)
        else:
            typer.echo(extra_line(argv_command(), extra, (exc.name or "").split(".")[0]), err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the contract: one line, exit 2, never a traceback
        from qingdan.ledger.settings import SettingsError

        if isinstance(exc, SettingsError):  # a QINGDAN_* variable: its value is quoted, controls shown safe
            echo(f"error: {exc}", err=True)
        else:
            typer.echo(f"error: qingdan: {reason(exc)}", err=True)
        sys.exit(2)
