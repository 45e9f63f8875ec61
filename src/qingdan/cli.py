"""The ``qingdan`` command line."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Annotated, Any

import typer

from qingdan import __version__
from qingdan._io import csv_cell, output_target, terminal_text, write_atomic
from qingdan.apk.errors import ApkError

app = typer.Typer(
    name="qingdan",
    help="qingdan (清单): personal-information compliance for Chinese mobile apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PACKAGE_SUFFIXES = (".apk", ".apks", ".xapk")
# the top-level modules of each optional extra (pyproject.toml) and of what they pull in
EXTRA_MODULES = {"service": frozenset({
    "uvicorn", "httptools", "uvloop", "fastapi", "starlette", "pydantic", "sqlalchemy", "alembic", "psycopg",
    "cryptography", "multipart", "python_multipart", "celery", "kombu", "redis"})}


def fail(what: str, why: str) -> typer.Exit:
    """Print the one-line error of the exit-code contract and return the exit to raise."""
    typer.echo(terminal_text(f"error: {what}: {why}"), err=True)
    return typer.Exit(2)


def _extra_of(module: str | None) -> str | None:
    top = (module or "").split(".")[0]
    return next((extra for extra, mods in EXTRA_MODULES.items() if top in mods), None)


def _extra_line(command: str, extra: str, module: str) -> str:
    return (f"error: {command}: needs the optional {extra!r} extra (no module named {module!r});"
            f" install it with: pip install 'qingdan[{extra}]'")


def _need_extra(extra: str, *modules: str) -> None:
    """Stop with one line naming the extra to install when one of ``modules`` is missing."""
    import importlib.util

    for m in modules:
        try:
            found = importlib.util.find_spec(m) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            typer.echo(_extra_line(_argv_command(), extra, m), err=True)
            raise typer.Exit(2)


def _argv_command() -> str:
    """The (sub)command named on the command line, e.g. ``review account list``."""
    cmd, words = typer.main.get_command(app), []
    for a in sys.argv[1:]:
        sub = getattr(cmd, "commands", {}).get(a)
        if sub is None:
            break
        words.append(a)
        cmd = sub
    return " ".join(words) or "qingdan"


def _echo(text: object = "", err: bool = False) -> None:
    """Print one line that may hold outside text (an app's strings, file names): no control
    character reaches the terminal, and an embedded newline cannot start a line of its own."""
    typer.echo(terminal_text(text), err=err)


class _OutputFailed(Exception):
    """An output file could not be written: the error names the output, not the input."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def _check_outputs(*paths: str | None) -> None:
    """Refuse outputs that cannot be files (FIFOs, devices, folders) before any work is done."""
    for path in paths:
        if path:
            try:
                output_target(path)
            except OSError as exc:
                raise fail(path, exc.strerror or str(exc)) from None


def _write_out(path: str, text: str | bytes) -> None:
    """Write one output file whole (through a symlink, never over a FIFO or a device); a failure
    ends the command with one line naming the output."""
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise fail(path, exc.strerror or str(exc)) from None


def _input_kind(path: Path, folder_ok: bool = False) -> bool:
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


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ApkError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory while reading"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if os.environ.get("QINGDAN_DEBUG"):
        traceback.print_exc()
    return f"internal error ({type(exc).__name__}: {exc}); set QINGDAN_DEBUG=1 for details"


def _scan_one(path: str, json_out: str | None, html_out: str | None, config=None,
              app_type: str | None = None) -> dict[str, Any]:
    """Analyze one package and write its reports. Returns the report dict (raises on bad input)."""
    from qingdan.checks.pipeline import analyze, find_config
    from qingdan.report.jsonreport import to_dict

    for out in (json_out, html_out):
        if out:
            try:
                output_target(out)
            except OSError as exc:
                raise _OutputFailed(out, exc.strerror or str(exc)) from None
    cfg = config if config is not None else find_config(path)
    res, _ = analyze(path, cfg, app_type)
    rep = to_dict(res)
    # render everything first, then write: nothing partial is left behind on failure
    texts: list[tuple[str, str]] = []
    if json_out:
        texts.append((json_out, json.dumps(rep, ensure_ascii=False, indent=2)))
    if html_out:
        from qingdan.report.html import render_html

        texts.append((html_out, render_html(rep)))
    for target, text in texts:
        try:
            write_atomic(target, text)
        except OSError as exc:
            raise _OutputFailed(target, exc.strerror or str(exc)) from None
    return rep


def _open_findings(rep: dict[str, Any], level: str | None) -> int:
    if level is None:
        return 0
    rank = {"info": 0, "warn": 1, "block": 2}
    return sum(1 for f in rep["findings"] if not f["accepted"] and rank[f["severity"]] >= rank[level])


def _scan_or_fail(package: Path):
    """Scan a package for a command that compares against it; bad input ends the command (exit 2)."""
    from qingdan.checks.scan import scan_path

    _input_kind(package)
    try:
        return scan_path(package)
    except Exception as exc:  # noqa: BLE001 - one line, exit 2
        raise fail(str(package), _reason(exc)) from None


def _folder_job(path: str, json_dir: str | None, html_dir: str | None, config, app_type):
    stem = Path(path).name
    try:
        rep = _scan_one(
            path,
            str(Path(json_dir) / f"{stem}.json") if json_dir else None,
            str(Path(html_dir) / f"{stem}.html") if html_dir else None,
            config, app_type,
        )
        return path, rep, None, None
    except _OutputFailed as exc:  # the line names the output; the summary row, the package
        return path, None, exc.reason, exc.path
    except Exception as exc:  # noqa: BLE001 - every failure becomes a counted, one-line error
        return path, None, _reason(exc), None


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


def _resolve_options(config_path: str | None, app_type: str | None, fail_on: str | None, target: Path):
    """The config (explicit, or qingdan.toml beside the package), app type and fail-on level."""
    from qingdan.checks.pipeline import ConfigError, find_config, load_config

    try:
        cfg = load_config(config_path) if config_path else (find_config(target) if target.is_file() else None)
        if cfg is None and target.is_dir() and (target / "qingdan.toml").is_file():
            cfg = load_config(target / "qingdan.toml")
    except ConfigError as exc:
        raise fail(*str(exc).split(": ", 1)) from None
    level = fail_on or (cfg.fail_on if cfg else None)
    if level is not None and level not in ("block", "warn", "info"):
        raise fail("--fail-on", f"must be block, warn or info, not {level!r}")
    at = app_type or (cfg.app_type if cfg else None)
    if at is not None:
        from qingdan.knowledge.app_types import find_app_type

        t = find_app_type(at)
        if t is None:
            raise fail("--app-type", f"unknown app type {at!r} (see `qingdan app-types`)")
        at = t.key
    return cfg, at, level


@app.command()
def scan(
    target: Annotated[Path, typer.Argument(help="An .apk/.apks/.xapk file, or a folder to scan recursively.",
                                           readable=False)],
    json_out: Annotated[str | None, typer.Option("--json", help="Write the JSON report here (a folder when TARGET is a folder).")] = None,
    html_out: Annotated[str | None, typer.Option("--html", help="Write the HTML report here (a folder when TARGET is a folder).")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="Exit 1 when an open finding is at or above this level: block, warn or info.")] = None,
    app_type: Annotated[str | None, typer.Option("--app-type", help="One of the 39 app types (key, number or Chinese name): checks permissions against its necessary information.")] = None,
    config: Annotated[str | None, typer.Option("--config", help="qingdan.toml to use (default: the one beside the package, if any).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel scans for a folder.")] = max(1, min(4, os.cpu_count() or 1)),
    summary: Annotated[str | None, typer.Option("--summary", help="Folder scans: write a .csv or .json summary here.")] = None,
) -> None:
    """Read an app package, report what it contains and what the rules find."""
    is_dir = _input_kind(target, folder_ok=True)
    cfg, at, level = _resolve_options(config, app_type, fail_on, target)
    if is_dir:
        _scan_folder(target, json_out, html_out, jobs, summary, cfg, at, level)
        return
    _check_outputs(json_out, html_out)
    try:
        rep = _scan_one(str(target), json_out, html_out, cfg, at)
    except _OutputFailed as exc:
        raise fail(exc.path, exc.reason) from None
    except Exception as exc:  # noqa: BLE001
        raise fail(str(target), _reason(exc)) from None
    from qingdan.report.summary import summary_lines

    for line in summary_lines(rep):  # one line each: an app's string cannot add or rewrite lines
        _echo(line)
    for label, out in (("json", json_out), ("html", html_out)):
        if out:
            _echo(f"  {label:<9} {out}")
    n = _open_findings(rep, level)
    if n:
        typer.echo(f"{n} open finding(s) at or above {level}", err=True)
        raise typer.Exit(1)


def _output_folder(path: str | None) -> None:
    """A folder scan's --json/--html: a folder (made if missing), or one line naming it."""
    if not path:
        return
    real = Path(os.path.realpath(path))
    try:
        if real.exists() and not real.is_dir():
            raise fail(path, "not a folder (a folder scan writes one report per package into it)")
        real.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(path, exc.strerror or str(exc)) from None


def _scan_folder(folder: Path, json_dir: str | None, html_dir: str | None, jobs: int, summary: str | None,
                 cfg=None, app_type: str | None = None, level: str | None = None) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from qingdan.report.summary import one_line

    files = sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PACKAGE_SUFFIXES)
    if not files:
        raise fail(str(folder), f"no {'/'.join(PACKAGE_SUFFIXES)} files below this folder")
    _output_folder(json_dir)
    _output_folder(html_dir)
    _check_outputs(summary)
    console = Console(stderr=False, highlight=False, soft_wrap=True, emoji=False)  # app text as it is
    rows: list[dict[str, Any]] = []
    failed = over = 0
    with Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("scan", total=len(files))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futs = [pool.submit(_folder_job, f, json_dir, html_dir, cfg, app_type) for f in files]
            for fut in as_completed(futs):
                try:
                    path, rep, err, blame = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker died
                    path, rep, err, blame = "?", None, _reason(exc), None
                rel = os.path.relpath(path, folder) if path != "?" else path
                if err is not None:
                    failed += 1
                    # an output that could not be written is named, not the package
                    progress.console.print(terminal_text(f"error: {blame or path}: {err}"), markup=False,
                                           style=None)
                    rows.append({"file": rel, "ok": False, "error": f"{blame}: {err}" if blame else err})
                else:
                    assert rep is not None
                    progress.console.print(terminal_text(f"{rel}: {one_line(rep)}"), markup=False)
                    over += _open_findings(rep, level) > 0
                    fc = rep["finding_counts"]
                    rows.append({
                        "file": rel, "ok": True, "error": "", "package": rep["app"]["package"],
                        "version": rep["app"]["version_name"], "permissions": len(rep["permissions"]),
                        "dangerous": rep["permission_counts"]["dangerous"], "components": len(rep["components"]),
                        "classes": rep["dex_totals"]["classes"], "sdks": " ".join(d["id"] for d in rep["sdks"]
                                                                                   if d["confidence"] != "low"),
                        "block": fc["block"], "warn": fc["warn"], "info": fc["info"],
                        # what a reviewer would likely decide: open block → reject; open warn → review
                        "suggestion": "reject" if fc["block"] else "review" if fc["warn"] else "approve",
                        "warnings": len(rep["warnings"]),
                    })
                progress.advance(task)
    rows.sort(key=lambda r: r["file"])
    typer.echo(f"{len(files)} packages: {len(files) - failed} scanned, {failed} failed"
               + (f", {over} with open findings at or above {level}" if level else ""))
    if summary:
        if summary.lower().endswith(".csv"):
            buf = io.StringIO()
            cols = ["file", "ok", "error", "package", "version", "suggestion", "permissions", "dangerous",
                    "components", "classes", "sdks", "block", "warn", "info", "warnings"]
            w = csv.DictWriter(buf, fieldnames=cols)
            w.writeheader()
            for r in rows:
                w.writerow({c: csv_cell(r.get(c, "")) for c in cols})  # package names are the app's
            _write_out(summary, buf.getvalue())
        else:
            _write_out(summary, json.dumps(rows, ensure_ascii=False, indent=2))
    if failed:
        raise typer.Exit(2)
    if over:
        raise typer.Exit(1)


@app.command("rules")
def rules_cmd(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the catalogue as Markdown (docs/rules.md).")] = False,
) -> None:
    """List the rule catalogue: ids, severities and the regulation clauses they serve."""
    from qingdan.knowledge.rules import load_documents, load_rules
    from qingdan.report.rulesdoc import rules_markdown

    if markdown:
        typer.echo(rules_markdown(), nl=False)
        return
    docs = load_documents()
    for r in load_rules().values():
        typer.echo(f"{r.id:28} {r.severity:5} {r.title_en}")
        typer.echo(f"{'':34} {r.title_zh}")
        for ref in r.refs:
            typer.echo(f"{'':34} · {docs[ref.doc].zh} {ref.item}")


@app.command("app-types")
def app_types_cmd() -> None:
    """The 39 app types of the necessary-personal-information provisions (for --app-type)."""
    from qingdan.knowledge.app_types import load_app_types

    for t in load_app_types().values():
        pis = ", ".join(sorted(t.necessary_pi)) if t.necessary_pi else "(no personal information needed)"
        typer.echo(f"{t.no:>2} {t.key:24} {t.zh}  {pis}")


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier version's package.", readable=False)],
    new: Annotated[Path, typer.Argument(help="The later version's package.", readable=False)],
    json_out: Annotated[str | None, typer.Option("--json", help="Write the diff as JSON here.")] = None,
    app_type: Annotated[str | None, typer.Option("--app-type", help="App type for the necessity rule.")] = None,
) -> None:
    """What changed between two versions: SDKs, permissions, PI types and findings."""
    from qingdan.report.diff import diff_lines, diff_reports

    _check_outputs(json_out)
    reps = []
    for p in (old, new):
        _input_kind(p)
    for p in (old, new):
        cfg, at, _ = _resolve_options(None, app_type, None, p)
        try:
            reps.append(_scan_one(str(p), None, None, cfg, at))
        except Exception as exc:  # noqa: BLE001
            raise fail(str(p), _reason(exc)) from None
    d = diff_reports(reps[0], reps[1])
    for line in diff_lines(d):
        _echo(line)
    if json_out:
        _write_out(json_out, json.dumps(d, ensure_ascii=False, indent=2))


sdk_app = typer.Typer(help="The SDK catalogue: what qingdan knows about third-party SDKs.", no_args_is_help=True)
app.add_typer(sdk_app, name="sdk")


@sdk_app.command("list")
def sdk_list(
    category: Annotated[str | None, typer.Option("--category", "-c", help="Only this category (push, analytics, ads, …).")] = None,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Text to look for in ids, names, companies, packages.")] = None,
) -> None:
    """List SDKs in the catalogue."""
    from qingdan.knowledge.sdks import CATEGORIES, search_sdks

    if category is not None and category not in CATEGORIES:
        raise fail("--category", f"unknown category {category!r} (one of: {', '.join(sorted(CATEGORIES))})")
    found = search_sdks(search, category)
    for s in found:
        _echo(f"{s.id:32} {s.category:16} {s.name}" + (f" · {s.company}" if s.company else ""))
    _echo(f"{len(found)} SDKs")


@sdk_app.command("show")
def sdk_show(sdk_id: Annotated[str, typer.Argument(help="An SDK id from `qingdan sdk list`.")]) -> None:
    """Everything the catalogue says about one SDK, with its sources."""
    from qingdan.knowledge.sdks import load_sdks

    s = load_sdks().get(sdk_id)
    if s is None:
        raise fail(sdk_id, "no such SDK id (see `qingdan sdk list --search`)")
    rows = [("id", s.id), ("name (zh)", s.name_zh), ("name (en)", s.name_en), ("company", s.company),
            ("company (en)", s.company_en), ("country", s.country), ("category", s.category),
            ("PI collected", ", ".join(s.pi_types)), ("privacy policy", s.policy_url)]
    sig = s.signatures
    for label, vals in (("packages", sig.packages), ("components", sig.components),
                        ("native libs", sig.native_libs), ("meta-data", sig.meta_data),
                        ("actions", sig.actions), ("permissions", sig.permissions),
                        ("component patterns", sig.component_patterns),
                        ("native lib patterns", sig.native_lib_patterns)):
        if vals:
            rows.append((label, ", ".join(vals)))
    rows.append(("sources", ", ".join(s.sources) + ("" if s.verified else " (not yet verified)")))
    for k, v in rows:
        if v:
            _echo(f"{k:20} {v}")


lists_app = typer.Typer(help="The double lists (双清单): draft from a scan, check, render for the app's menu.",
                        no_args_is_help=True)
app.add_typer(lists_app, name="lists")


def _load_lists(path: str):
    from qingdan.lists.declarations import ListsError, load_lists

    _input_kind(Path(path))
    try:
        return load_lists(path)
    except ListsError as exc:
        for prob in exc.problems:
            _echo(f"error: {exc.path}:{prob.line}:{prob.column}: {prob.message}", err=True)
        raise typer.Exit(2) from None


@lists_app.command("draft")
def lists_draft(
    package: Annotated[Path, typer.Argument(help="The app package to draft the lists from.", readable=False)],
    out: Annotated[str, typer.Option("--output", "-o", help="Where to write privacy-lists.yaml.")] = "privacy-lists.yaml",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Draft privacy-lists.yaml from a scan: rows for every SDK and every PI type found, purposes left TODO."""
    from qingdan.lists.draft import draft_yaml

    if Path(out).exists() and not force:
        raise fail(out, "exists; use --force to overwrite it")
    _check_outputs(out)
    res = _scan_or_fail(package)
    text = draft_yaml(res)
    _write_out(out, text)
    n_c = text.count("\n  - pi_type:")
    n_s = text.count("\n  - third_party:")
    _echo(f"wrote {out}: {n_c} collected rows, {n_s} shared rows; "
          "fill the TODOs, then run `qingdan lists check`")


@lists_app.command("check")
def lists_check(
    lists: Annotated[str, typer.Argument(help="privacy-lists.yaml")],
    package: Annotated[Path | None, typer.Argument(help="The app package to compare with (optional).",
                                                   readable=False)] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Exit 1 on open findings at or above: block, warn or info.")] = "block",
    json_out: Annotated[str | None, typer.Option("--json", help="Write the findings as JSON here.")] = None,
) -> None:
    """Declared vs detected: SDKs and PI found but not declared, stale rows, TODOs, vague purposes."""
    from qingdan.checks.rules import SEVERITY_RANK
    from qingdan.lists.check import check_lists

    if fail_on not in SEVERITY_RANK:
        raise fail("--fail-on", f"must be block, warn or info, not {fail_on!r}")
    _check_outputs(json_out)
    dl = _load_lists(lists)
    res = _scan_or_fail(package) if package is not None else None
    findings = check_lists(dl, res)
    rank = {"block": 0, "warn": 1, "info": 2}
    findings.sort(key=lambda f: (rank[f.severity], f.rule_id, f.owner))
    for f in findings:
        where = f" ({lists}:{f.evidence['line']})" if f.evidence.get("line") else ""
        _echo(f"[{f.severity}] {f.rule_id}: {f.message_en}{where}")
        _echo(f"        {f.message_zh}")
    counts = {k: sum(1 for f in findings if f.severity == k) for k in ("block", "warn", "info")}
    _echo(f"{len(dl.collected)} collected rows, {len(dl.shared)} shared rows: "
          + " · ".join(f"{v} {k}" for k, v in counts.items()))
    if json_out:
        rows = [{"rule": f.rule_id, "severity": f.severity, "owner": f.owner, "message_zh": f.message_zh,
                 "message_en": f.message_en, "evidence": f.evidence} for f in findings]
        _write_out(json_out, json.dumps({"schema": "qingdan.lists-check/1", "findings": rows},
                                        ensure_ascii=False, indent=2))
    if any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on] for f in findings):
        raise typer.Exit(1)


@lists_app.command("render")
def lists_render(
    lists: Annotated[str, typer.Argument(help="privacy-lists.yaml")],
    out: Annotated[str, typer.Option("--output", "-o", help="Output folder (html) or file (json/csv/xlsx).")] = "site",
    fmt: Annotated[str, typer.Option("--format", "-f", help="html (pages for the app menu), json, csv or xlsx.")] = "html",
) -> None:
    """Render the lists: H5 pages for the app's secondary menu, or JSON/CSV/XLSX for regulators and stores."""
    from qingdan.lists import render

    dl = _load_lists(lists)
    try:
        if fmt == "html":
            written = render.render_site(dl, out)
        elif fmt in ("json", "csv", "xlsx"):
            written = render.export(dl, fmt, out)
        else:
            raise fail("--format", f"must be html, json, csv or xlsx, not {fmt!r}")
    except OSError as exc:  # an export names the file it could not write (csv: two of them)
        where = str(exc.filename) if fmt != "html" and exc.filename else out
        raise fail(where, exc.strerror or str(exc)) from None
    except ValueError as exc:  # the site folder is a file, or a folder qingdan did not write
        raise fail(out, str(exc).removeprefix("render_site: ")) from None
    files = written if isinstance(written, list) else [written]
    _echo(f"wrote {', '.join(str(f) for f in files)}")


# ------------------------------------------------------------------------------------------
# the per-user ledger service (issue 6): `qingdan serve`, `qingdan ledger …`

ledger_app = typer.Typer(help="The per-user personal-information ledger: apps, API keys, migrations, key rotation.",
                         no_args_is_help=True)
ledger_apps = typer.Typer(help="Apps known to the ledger.", no_args_is_help=True)
ledger_keys = typer.Typer(help="API keys of an app (the app backend sends events with one).", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
ledger_app.add_typer(ledger_apps, name="app")
ledger_app.add_typer(ledger_keys, name="key")


def _ledger():
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
    led = _ledger()
    if not led.keys:
        raise fail("QINGDAN_LEDGER_KEYS", "not set: nothing to rotate to")
    counts = led.rotate()
    typer.echo(f"re-encrypted under {led.keys.current}: {counts['events']} event values, "
               f"{counts['aggregates']} aggregate values")


@ledger_apps.command("create")
def ledger_app_create(
    name: Annotated[str, typer.Option("--name", help="The app's name, as users know it.")],
    lists: Annotated[str, typer.Option("--lists", help="The app's privacy-lists.yaml: events are checked against it.")],
    retention: Annotated[list[str] | None, typer.Option("--retention", help="PI_TYPE=DAYS: delete such events after DAYS (repeatable).")] = None,
) -> None:
    """Register an app; prints its id."""
    dl = _load_lists(lists)
    ret: dict[str, int] = {}
    for item in retention or []:
        k, sep, v = item.partition("=")
        if not sep or not k or not v.isdigit():
            raise fail("--retention", f"expected PI_TYPE=DAYS, got {item!r}")
        ret[k.strip()] = int(v)
    typer.echo(_ledger().create_app(name, dl, str(Path(lists).resolve()), ret))


@ledger_keys.command("create")
def ledger_key_create(app_id: Annotated[str, typer.Argument(help="The app id from `qingdan ledger app create`.")]) -> None:
    """Create an API key; prints its id and the token (shown this once: only its hash is stored)."""
    try:
        key_id, token = _ledger().create_key(app_id)
    except LookupError as exc:
        raise fail(app_id, str(exc)) from None
    typer.echo(f"key id: {key_id}")
    typer.echo(f"token:  {token}")
    typer.echo("the token is shown once; store it in the app backend's secrets", err=True)


@ledger_keys.command("revoke")
def ledger_key_revoke(key_id: Annotated[str, typer.Argument(help="The key id to revoke.")]) -> None:
    """Revoke an API key (requests with it are refused from now on)."""
    if not _ledger().revoke_key(key_id):
        raise fail(key_id, "no such live key")
    typer.echo(f"revoked {key_id}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the ledger service (the API for the app backend and the users' pages)."""
    _need_extra("service", "uvicorn", "httptools", "fastapi", "sqlalchemy")
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


policy_app = typer.Typer(help="Privacy-policy analysis: what the policy says, checked against the app and its lists.",
                         no_args_is_help=True)
app.add_typer(policy_app, name="policy")
_POLICY_ASSET = ("privacy", "policy", "隐私")


def _policy_from_package(package: Path):
    """The policy bundled in the package (assets/ or res/raw/, named like privacy/policy/隐私, .html/.txt)."""
    from qingdan.apk.package import read_package
    from qingdan.apk.zipread import ZipArchive
    from qingdan.policy import read_policy_bytes

    pkg = read_package(package)
    names = [a for a in pkg.assets if a.lower().endswith((".html", ".htm", ".txt"))
             and any(k in a.lower().rsplit("/", 1)[-1] for k in _POLICY_ASSET)]
    if not names:
        return None
    arc = ZipArchive.open(package)
    try:
        for name in sorted(names, key=lambda n: ("privacy" not in n.lower() and "隐私" not in n, n)):
            if name in arc:
                return read_policy_bytes(arc.read(name, max_size=8 << 20), f"{package}!{name}")
    finally:
        arc.close()
    return None


@policy_app.command("check")
def policy_check(
    policy: Annotated[Path | None, typer.Argument(
        help="The policy: .html or .txt (UTF-8 or GBK). Optional with --app.", readable=False)] = None,
    package: Annotated[Path | None, typer.Option(
        "--app", help="The app package: checks against its scan; its bundled policy when none is given.",
        readable=False)] = None,
    lists: Annotated[str | None, typer.Option("--lists", help="privacy-lists.yaml to compare with.")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the facts, the comparison and the findings as JSON here.")] = None,
    html_out: Annotated[str | None, typer.Option("--html", help="Write the four-way comparison page here.")] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Exit 1 on findings at or above: block, warn or info.")] = "block",
    ledger_app_id: Annotated[str | None, typer.Option("--ledger-app", help="An app id of the ledger (QINGDAN_DATABASE_URL): its recorded collections are the 'observed' view.")] = None,
) -> None:
    """Read a privacy policy: summary, PI, permissions and purposes, third parties, contact, rights; compare it with the app, the lists and the ledger."""
    from dataclasses import asdict

    from qingdan.checks.rules import SEVERITY_RANK
    from qingdan.policy import PolicyError, extract_facts, read_policy
    from qingdan.policy.check import check_policy, compare
    from qingdan.policy.render import render_comparison

    if fail_on not in SEVERITY_RANK:
        raise fail("--fail-on", f"must be block, warn or info, not {fail_on!r}")
    if policy is None and package is None:
        raise fail("policy", "give a policy file, or --app with a package that bundles one")
    _check_outputs(json_out, html_out)
    res = _scan_or_fail(package) if package is not None else None
    try:
        if policy is not None:
            _input_kind(policy)
            doc = read_policy(policy)
        else:
            doc = _policy_from_package(package)
            if doc is None:
                raise fail(str(package), "no privacy policy bundled in the package (assets/ or res/raw/); give the policy file")
    except PolicyError as exc:
        raise fail(str(policy or package), str(exc)) from None
    except OSError as exc:
        raise fail(str(policy or package), exc.strerror or str(exc)) from None
    dl = _load_lists(lists) if lists else None
    facts = extract_facts(doc)
    observed = None
    if ledger_app_id is not None:
        ledger = _ledger()
        if ledger.get_app(ledger_app_id) is None:
            raise fail("--ledger-app", f"no app {ledger_app_id!r} in the ledger")
        observed = ledger.observed(ledger_app_id)
    cmp_ = compare(facts, res, dl, observed, doc.text)
    findings = check_policy(facts, res, dl, observed, doc.text, comparison=cmp_)
    rank = {"block": 0, "warn": 1, "info": 2}
    findings.sort(key=lambda f: (rank[f.severity], f.rule_id, f.owner))
    _echo(f"{doc.source}: {doc.kind}, {doc.encoding}, {len(doc.sentences)} sentences")
    _echo(f"  summary   {'yes: ' + (facts.summary.heading or '') if facts.summary.present else 'none'}")
    _echo(f"  PI        {', '.join(sorted(facts.pi_types)) or '—'}")
    _echo(f"  parties   {', '.join(t.name for t in facts.third_parties) or '—'}")
    c = facts.contact
    _echo(f"  contact   {c.company or '—'} · {', '.join(c.emails + c.phones) or 'no e-mail/phone'}")
    _echo(f"  rights    {', '.join(r.right for r in facts.rights) or '—'}"
          + (f" · respond within {facts.response_time}" if facts.response_time else ""))
    for f in findings:
        _echo(f"[{f.severity}] {f.rule_id}: {f.message_en}")
        _echo(f"        {f.message_zh}")
    counts = {k: sum(1 for f in findings if f.severity == k) for k in ("block", "warn", "info")}
    _echo("findings: " + " · ".join(f"{v} {k}" for k, v in counts.items()))
    if json_out:
        rows = [{"rule": f.rule_id, "severity": f.severity, "owner": f.owner, "message_zh": f.message_zh,
                 "message_en": f.message_en, "evidence": f.evidence} for f in findings]
        _write_out(json_out, json.dumps({"schema": "qingdan.policy-check/1", "facts": facts.to_dict(),
                                         "comparison": [asdict(r) for r in cmp_.rows], "findings": rows},
                                        ensure_ascii=False, indent=2, default=str))
    if html_out:
        _write_out(html_out, render_comparison(cmp_, str(doc.source)))
    if any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on] for f in findings):
        raise typer.Exit(1)


# ---------------------------------------------------------------- the app-store review service (issue 9)
review_app = typer.Typer(help="The app-store review service: accounts, package store.", no_args_is_help=True)
review_accounts = typer.Typer(help="Reviewer and developer accounts.", no_args_is_help=True)
app.add_typer(review_app, name="review")
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
    typer.echo(f"account: {acc_id} ({role})")
    typer.echo(f"key:     {key}")
    typer.echo("the key is shown once; store it safely", err=True)


@review_accounts.command("list")
def review_account_list() -> None:
    """The accounts: name, role, id, created, disabled."""
    for a in _review_store().accounts():
        state = f"disabled {a['disabled_at']:%Y-%m-%d %H:%M}" if a["disabled_at"] else "active"
        typer.echo(f"{a['name']}\t{a['role']}\t{a['id']}\tcreated {a['created_at']:%Y-%m-%d}\t{state}")


@review_accounts.command("disable")
def review_account_disable(name: Annotated[str, typer.Argument(help="The account's name.")]) -> None:
    """Disable an account: its key and console sessions are refused from now on (its apps and history stay)."""
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
    typer.echo(f"account: {acc_id}")
    typer.echo(f"key:     {key}")
    typer.echo("the key is shown once; store it safely", err=True)


@review_app.command("purge")
def review_purge(
    keep_days: Annotated[float | None, typer.Option("--keep-days", min=0, help="Also remove the packages of scans finished more than this many days ago (reports and history stay).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be removed.")] = False,
) -> None:
    """Clean the package store (QINGDAN_STORAGE_DIR): unfinished uploads' temporary files and files nothing refers to, both older than an hour; with --keep-days, old packages too."""
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


@app.command("worker", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def review_worker(ctx: typer.Context) -> None:
    """Run scan workers for the review service (Celery on QINGDAN_BROKER_URL); extra options go to Celery."""
    _need_extra("service", "celery", "sqlalchemy")
    if not os.environ.get("QINGDAN_BROKER_URL"):
        raise fail("QINGDAN_BROKER_URL", "not set (redis://host:6379/0); without it `qingdan serve` scans in-process")
    from qingdan.db.engine import make_engine, migrate
    from qingdan.ledger.settings import Settings
    from qingdan.review.settings import ReviewSettings

    migrate(make_engine(Settings.from_env().database_url))
    os.execvp(sys.executable, [sys.executable, "-m", "celery", "-A", "qingdan.jobs.celery_app", "worker",
                               "-Q", ReviewSettings.from_env().queue, *ctx.args])


ui_app = typer.Typer(help="Splash screens and popups from UI dumps (uiautomator XML, GKD JSON snapshots).",
                     no_args_is_help=True)
app.add_typer(ui_app, name="ui")


@ui_app.command("check")
def ui_check(
    target: Annotated[Path, typer.Argument(
        help="A uiautomator .xml dump, a GKD .json snapshot, or a folder of them.", readable=False)],
    screenshot: Annotated[Path | None, typer.Option(
        "--screenshot", help="A PNG of the same screen: enables the contrast check "
        "(folders: NAME.png beside NAME.xml/.json).", readable=False)] = None,
    density: Annotated[float | None, typer.Option("--density", help="Logical density (px per dp), e.g. 3.0; estimated from the screen width when absent.")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the screens and findings as JSON here.")] = None,
    html_out: Annotated[str | None, typer.Option("--html", help="Write a page with each screen drawn and its findings boxed.")] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Exit 1 on findings at or above: block, warn or info.")] = "block",
) -> None:
    """Check splash screens and popups: close control present, ≥ 48 dp, findable, no countdown; no full-screen jump, shake prompts, unlabelled ads."""
    from qingdan.checks.rules import SEVERITY_RANK
    from qingdan.ui import UiError, check_screen, read_dump
    from qingdan.ui.check import load_screenshot
    from qingdan.ui.read import dump_files
    from qingdan.ui.render import render_ui_report

    if fail_on not in SEVERITY_RANK:
        raise fail("--fail-on", f"must be block, warn or info, not {fail_on!r}")
    if density is not None and not 0.5 <= density <= 8:
        raise fail("--density", f"must be between 0.5 and 8, not {density}")
    _check_outputs(json_out, html_out)
    is_dir = _input_kind(target, folder_ok=True)
    if is_dir:
        if screenshot is not None:
            raise fail("--screenshot", "give screenshots of a folder as NAME.png beside each dump")
        files = dump_files(target)
        if not files:
            raise fail(str(target), "no .xml or .json dumps in the folder")
    else:
        files = [target]
    screens, failed = [], 0
    for f in files:
        shot = None
        shot_path = screenshot if screenshot is not None else (f.with_suffix(".png") if is_dir else None)
        try:
            facts = read_dump(f, density)
        except UiError as exc:
            _echo(f"error: {f}: {exc}", err=True)
            failed += 1
            continue
        if shot_path is not None and (screenshot is not None or shot_path.is_file()):
            try:
                shot = load_screenshot(shot_path)
            except UiError as exc:
                raise fail(str(shot_path), str(exc)) from None
        rec, findings = check_screen(facts, shot)
        findings.sort(key=lambda x: (-SEVERITY_RANK[x.severity], x.rule_id))
        screens.append((facts, findings, shot, rec))
        _echo(f"{facts.source}: {facts.format} · {facts.width}×{facts.height} px · density {facts.density} "
              f"({facts.density_note})" + (f" · {facts.activity}" if facts.activity else ""))
        for w in facts.warnings:
            _echo(f"  note: {w}")
        if rec.kind is None:
            _echo("  no splash screen or popup recognised")
        for x in findings:
            _echo(f"  [{x.severity}] {x.rule_id}: {x.message_en}")
            if x.evidence.get("source") and x.rule_id != "ui.splash-or-popup":
                _echo(f"          threshold {x.evidence.get('threshold')} — {x.evidence['source']}")
    allf = [x for s in screens for x in s[1]]
    counts = {k: sum(1 for x in allf if x.severity == k) for k in ("block", "warn", "info")}
    _echo(f"{len(screens)} screen(s): " + " · ".join(f"{v} {k}" for k, v in counts.items()))
    if json_out:
        rows = [{**facts.to_dict(), "recognised": rec.kind, "ad": rec.ad, "findings": [
            {"rule": x.rule_id, "severity": x.severity, "owner": x.owner, "message_zh": x.message_zh,
             "message_en": x.message_en, "evidence": x.evidence} for x in fs]}
                for facts, fs, _, rec in screens]
        _write_out(json_out, json.dumps({"schema": "qingdan.ui-check/1", "screens": rows}, ensure_ascii=False,
                                        indent=2, default=str))
    if html_out:
        _write_out(html_out, render_ui_report([(f, fs, shot) for f, fs, shot, _ in screens]))
    if failed:
        raise typer.Exit(2)
    if any(SEVERITY_RANK[x.severity] >= SEVERITY_RANK[fail_on] for x in allf):
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)
    except ModuleNotFoundError as exc:  # an optional extra not installed: say which
        extra = _extra_of(exc.name)
        if extra is None:
            typer.echo(f"error: qingdan: {_reason(exc)}", err=True)
        else:
            typer.echo(_extra_line(_argv_command(), extra, (exc.name or "").split(".")[0]), err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the contract: one line, exit 2, never a traceback
        from qingdan.ledger.settings import SettingsError

        if isinstance(exc, SettingsError):  # a QINGDAN_* variable: its value is quoted, controls shown safe
            _echo(f"error: {exc}", err=True)
        else:
            typer.echo(f"error: qingdan: {_reason(exc)}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
