"""What every command shares: the one-line error of the exit-code contract, terminal-safe printing,
checked inputs and outputs, the ``--fail-on`` level and the printing and JSON rows of findings."""

from __future__ import annotations

import json
import os
import stat
import sys
import traceback
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from qingdan._io import output_target, terminal_text, write_atomic
from qingdan.apk.errors import ApkError

# the top-level modules of each optional extra (pyproject.toml) and of what they pull in
EXTRA_MODULES = {"service": frozenset({
    "uvicorn", "httptools", "uvloop", "fastapi", "starlette", "pydantic", "sqlalchemy", "alembic", "psycopg",
    "cryptography", "multipart", "python_multipart", "celery", "kombu", "redis"})}


def fail(what: str, why: str) -> typer.Exit:
    """Print the one-line error of the exit-code contract and return the exit to raise."""
    typer.echo(terminal_text(f"error: {what}: {why}"), err=True)
    return typer.Exit(2)


def echo(text: object = "", err: bool = False) -> None:
    """Print one line that may hold outside text (an app's strings, file names): no control
    character reaches the terminal, and an embedded newline cannot start a line of its own."""
    typer.echo(terminal_text(text), err=err)


def extra_of(module: str | None) -> str | None:
    top = (module or "").split(".")[0]
    return next((extra for extra, mods in EXTRA_MODULES.items() if top in mods), None)


def extra_line(command: str, extra: str, module: str) -> str:
    return (f"error: {command}: needs the optional {extra!r} extra (no module named {module!r});"
            f" install it with: pip install 'qingdan[{extra}]'")


def need_extra(extra: str, *modules: str) -> None:
    """Stop with one line naming the extra to install when one of ``modules`` is missing."""
    import importlib.util

    for m in modules:
        try:
            found = importlib.util.find_spec(m) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            typer.echo(extra_line(argv_command(), extra, m), err=True)
            raise typer.Exit(2)


def argv_command() -> str:
    """The (sub)command named on the command line, e.g. ``review account list``."""
    from qingdan.cli import app

    cmd, words = typer.main.get_command(app), []
    for a in sys.argv[1:]:
        sub = getattr(cmd, "commands", {}).get(a)
        if sub is None:
            break
        words.append(a)
        cmd = sub
    return " ".join(words) or "qingdan"


def echo_secret(id_line: str, secret_line: str, note: str) -> None:
    """A new credential: its id, the secret (shown this once), and on stderr where to keep it."""
    typer.echo(id_line)
    typer.echo(secret_line)
    typer.echo(note, err=True)


def reason(exc: BaseException) -> str:
    """The reason part of an error line for an exception (a traceback only with QINGDAN_DEBUG)."""
    if isinstance(exc, ApkError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory while reading"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if os.environ.get("QINGDAN_DEBUG"):
        traceback.print_exc()
    return f"internal error ({type(exc).__name__}: {exc}); set QINGDAN_DEBUG=1 for details"


# ------------------------------------------------------------------------------ inputs and outputs
class OutputFailed(Exception):
    """An output file could not be written: the error names the output, not the input."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def check_outputs(*paths: str | None) -> None:
    """Refuse outputs that cannot be files (FIFOs, devices, folders) before any work is done."""
    for path in paths:
        if path:
            try:
                output_target(path)
            except OSError as exc:
                raise fail(path, exc.strerror or str(exc)) from None


def write_out(path: str, text: str | bytes) -> None:
    """Write one output file whole (through a symlink, never over a FIFO or a device); a failure
    ends the command with one line naming the output."""
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise fail(path, exc.strerror or str(exc)) from None


def write_json(path: str, doc: Any, **dumps: Any) -> None:
    """Write a JSON output (UTF-8 as it is, indented) whole, or end the command naming it."""
    write_out(path, json.dumps(doc, ensure_ascii=False, indent=2, **dumps))


def input_kind(path: Path, folder_ok: bool = False) -> bool:
    """Check an input path before reading it: one line naming it if it is missing, cannot be
    looked at, or is a folder where a file is expected. Returns whether it is a folder."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise fail(str(path), "no such file or folder" if folder_ok else "no such file") from None
    except OSError as exc:
        raise fail(str(path), exc.strerror or str(exc)) from None
    is_dir = stat.S_ISDIR(st.st_mode)
    if is_dir and not folder_ok:
        raise fail(str(path), "is a folder, not a file")
    return is_dir


def scan_or_fail(package: Path):
    """Scan a package for a command that compares against it; bad input ends the command (exit 2)."""
    from qingdan.checks.scan import scan_path

    input_kind(package)
    try:
        return scan_path(package)
    except Exception as exc:  # noqa: BLE001 - one line, exit 2
        raise fail(str(package), reason(exc)) from None


# ------------------------------------------------------------------------------------- findings
class FailOn(StrEnum):
    """``--fail-on``: exit 1 when an open finding is at or above this level."""

    BLOCK = "block"
    WARN = "warn"
    INFO = "info"

    @classmethod
    def parse(cls, value: str | None) -> FailOn | None:
        """The level named by ``--fail-on`` (or a config's ``fail_on``), or one line and exit 2."""
        if value is None:
            return None
        try:
            return cls(value)
        except ValueError:
            raise fail("--fail-on", f"must be block, warn or info, not {value!r}") from None


def open_at_or_above(findings: list, level: str | None) -> int:
    """How many findings are open (not accepted) at or above ``level`` (none without a level)."""
    if level is None:
        return 0
    from qingdan.checks.pipeline import failing

    return len(failing(findings, level))


def exit_on_findings(findings: list, level: str) -> None:
    """Exit 1 when a finding is open at or above ``level``."""
    if open_at_or_above(findings, level):
        raise typer.Exit(1)


def sort_findings(findings: list, by_owner: bool = True) -> None:
    """Most severe first, then by rule id (and owner)."""
    from qingdan.checks.findings import SEVERITY_ORDER

    if by_owner:
        findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.rule_id, f.owner))
    else:
        findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.rule_id))


def message(f, lang: str) -> str:
    """A finding's message (a Finding or its dict form) in ``lang``."""
    key = "message_zh" if lang == "zh" else "message_en"
    return f[key] if isinstance(f, dict) else getattr(f, key)


def echo_findings(findings: list, where=lambda f: "", lang: str = "en") -> None:
    """One line per finding: severity, rule and the message in ``lang``; an accepted one says so,
    with the config's reason on the next line."""
    for f in findings:
        mark = (", 已接受" if lang == "zh" else ", accepted") if f.accepted else ""
        echo(f"[{f.severity}{mark}] {f.rule_id}: {message(f, lang)}{where(f)}")
        if f.accepted:
            echo(f"        {f.accepted_reason}")


def counts_text(findings: list) -> str:
    """``2 block · 1 warn · 0 info`` open findings, and ``(1 accepted)`` when the config accepted some."""
    from qingdan.checks.findings import SEVERITIES, count_by_severity

    n = count_by_severity(findings)
    return " · ".join(f"{n[k]} {k}" for k in SEVERITIES) + (f" ({n['accepted']} accepted)"
                                                              if n["accepted"] else "")


def finding_row(f) -> dict[str, Any]:
    """A finding in the JSON output of `lists check`, `policy check` and `ui check`."""
    return {**f.short_dict(), "accepted": f.accepted, "accepted_reason": f.accepted_reason}


# ------------------------------------------------------------------- config, acceptances, language
ConfigOption = typer.Option(
    "--config", help="qingdan.toml to use (default: the one beside the input, if any; never the "
    "current folder's).")
LangOption = typer.Option(
    "--lang", help="Language of findings and reports: zh or en (default: QINGDAN_LANG, else zh when the "
    "locale is Chinese, else en).")
LANGS = ("zh", "en")


def project_config(explicit: str | None, *near: Path | str | None):
    """The config a command uses: ``--config``, else ``qingdan.toml`` beside the first input of
    ``near`` that has one. Says which file on stderr (one line), nothing when there is none; a bad
    file ends the command with one line naming it."""
    from qingdan.checks.pipeline import ConfigError, find_config, load_config

    try:
        cfg = load_config(explicit) if explicit else find_config(*near)
    except ConfigError as exc:
        raise fail(*str(exc).split(": ", 1)) from None
    if cfg is not None:
        echo(f"config: {cfg.path}", err=True)
    return cfg


def fail_level(option: str | None, cfg, default: str | None = None) -> FailOn | None:
    """``--fail-on``, else the config's ``fail_on``, else the command's default."""
    return FailOn.parse(option or (cfg.fail_on if cfg is not None else None) or default)


def accept(findings: list, cfg) -> list:
    """Mark the findings the config accepts (they stay listed, and no longer fail a command)."""
    if cfg is not None and cfg.accept:
        from qingdan.checks.pipeline import apply_acceptance

        apply_acceptance(findings, cfg.accept)
    return findings


def resolve_lang(option: str | None) -> str:
    """``--lang``, else ``QINGDAN_LANG``, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, the
    first one set): ``zh…`` → zh, anything else → en."""
    if option is not None:
        if option.lower() not in LANGS:
            raise fail("--lang", f"must be zh or en, not {option!r}")
        return option.lower()
    env = os.environ.get("QINGDAN_LANG")
    if env:
        if env.lower() not in LANGS:
            raise fail("QINGDAN_LANG", f"must be zh or en, not {env!r}")
        return env.lower()
    locale = next((v for k in ("LC_ALL", "LC_MESSAGES", "LANG") if (v := os.environ.get(k))), "")
    return "zh" if locale.lower().startswith("zh") else "en"
