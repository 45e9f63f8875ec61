"""`qingdan scan` (a package, or a folder of them) and `qingdan diff`."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from qingdan._io import csv_cell, output_target, terminal_text, write_atomic
from qingdan.cli._common import (
    ConfigOption,
    LangOption,
    OutputFailed,
    check_outputs,
    echo,
    fail,
    fail_level,
    input_kind,
    open_at_or_above,
    project_config,
    reason,
    resolve_lang,
    write_json,
    write_out,
)


def _scan_one(path: str, json_out: str | None, html_out: str | None, config=None,
              app_type: str | None = None, level: str | None = None,
              lang: str | None = None, consent: bool = False) -> tuple[dict[str, Any], int]:
    """Analyze one package and write its reports (the HTML in ``lang``). Returns the report dict and
    how many findings are open at or above ``level`` (raises on bad input)."""
    from qingdan.checks.pipeline import analyze
    from qingdan.report.jsonreport import to_dict

    for out in (json_out, html_out):
        if out:
            try:
                output_target(out)
            except OSError as exc:
                raise OutputFailed(out, exc.strerror or str(exc)) from None
    res, findings = analyze(path, config, app_type, consent=consent)
    rep = to_dict(res)
    # render everything first, then write: nothing partial is left behind on failure
    texts: list[tuple[str, str]] = []
    if json_out:
        texts.append((json_out, json.dumps(rep, ensure_ascii=False, indent=2)))
    if html_out:
        from qingdan.report.html import render_html

        texts.append((html_out, render_html(rep, lang)))
    for target, text in texts:
        try:
            write_atomic(target, text)
        except OSError as exc:
            raise OutputFailed(target, exc.strerror or str(exc)) from None
    return rep, open_at_or_above(findings, level)


def _folder_job(path: str, json_dir: str | None, html_dir: str | None, config, app_type, level, lang,
                consent=False):
    stem = Path(path).name
    try:
        rep, n_open = _scan_one(
            path,
            str(Path(json_dir) / f"{stem}.json") if json_dir else None,
            str(Path(html_dir) / f"{stem}.html") if html_dir else None,
            config, app_type, level, lang, consent,
        )
        return path, rep, n_open, None, None
    except OutputFailed as exc:  # the line names the output; the summary row, the package
        return path, None, 0, exc.reason, exc.path
    except Exception as exc:  # noqa: BLE001 - every failure becomes a counted, one-line error
        return path, None, 0, reason(exc), None


def _resolve_options(config_path: str | None, app_type: str | None, fail_on: str | None, *near: Path):
    """The config (``--config``, or qingdan.toml beside the input), app type and fail-on level."""
    cfg = project_config(config_path, *near)
    level = fail_level(fail_on, cfg)
    at = app_type or (cfg.app_type if cfg else None)
    if at is not None:
        from qingdan.knowledge.app_types import find_app_type

        t = find_app_type(at)
        if t is None:
            raise fail("--app-type", f"unknown app type {at!r} (see `qingdan app-types`)")
        at = t.key
    return cfg, at, level


def scan(
    target: Annotated[Path, typer.Argument(
        help="An .apk/.apks/.xapk file, or a folder to scan recursively.", readable=False)],
    json_out: Annotated[str | None, typer.Option(
        "--json", help="Write the JSON report here (a folder when TARGET is a folder).")] = None,
    html_out: Annotated[str | None, typer.Option(
        "--html", help="Write the HTML report here (a folder when TARGET is a folder).")] = None,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on",
        help="Exit 1 when an open finding is at or above this level: block, warn or info.")] = None,
    app_type: Annotated[str | None, typer.Option(
        "--app-type", help="One of the 39 app types (key, number or Chinese name): checks permissions "
        "against its necessary information.")] = None,
    config: Annotated[str | None, ConfigOption] = None,
    lang: Annotated[str | None, LangOption] = None,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=1, help="Parallel scans for a folder.")] = max(1, min(4, os.cpu_count() or 1)),
    summary: Annotated[str | None, typer.Option(
        "--summary", help="Folder scans: write a .csv or .json summary here.")] = None,
    consent: Annotated[bool, typer.Option(
        "--consent", help="Also search the call graph for what runs before the user agrees to the privacy "
        "policy (pre-consent rules, reachability of each API use); costs several times the scan.")] = False,
) -> None:
    """Read an app package, report what it contains and what the rules find."""
    is_dir = input_kind(target, folder_ok=True)
    lang = resolve_lang(lang)
    # a folder's own qingdan.toml applies to every package below it; a package's, beside it
    cfg, at, level = _resolve_options(config, app_type, fail_on, target)
    if is_dir:
        _scan_folder(target, json_out, html_out, jobs, summary, cfg, at, level, lang, consent)
        return
    try:  # _scan_one refuses FIFOs, devices and folders as outputs before it reads the package
        rep, n = _scan_one(str(target), json_out, html_out, cfg, at, level, lang, consent)
    except OutputFailed as exc:
        raise fail(exc.path, exc.reason) from None
    except Exception as exc:  # noqa: BLE001
        raise fail(str(target), reason(exc)) from None
    from qingdan.report.summary import summary_lines

    for line in summary_lines(rep, lang):  # one line each: an app's string cannot add or rewrite lines
        echo(line)
    for label, out in (("json", json_out), ("html", html_out)):
        if out:
            echo(f"  {label:<9} {out}")
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
                 cfg=None, app_type: str | None = None, level: str | None = None,
                 lang: str | None = None, consent: bool = False) -> None:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from qingdan.apk.package import PACKAGE_SUFFIXES
    from qingdan.report.summary import FOLDER_COLUMNS, folder_row, one_line

    files = sorted(str(p) for p in folder.rglob("*")
                   if p.is_file() and p.suffix.lower() in PACKAGE_SUFFIXES)
    if not files:
        raise fail(str(folder), f"no {'/'.join(PACKAGE_SUFFIXES)} files below this folder")
    _output_folder(json_dir)
    _output_folder(html_dir)
    check_outputs(summary)
    console = Console(stderr=False, highlight=False, soft_wrap=True, emoji=False)  # app text as it is
    rows: list[dict[str, Any]] = []
    failed = over = 0
    # the bar only when a person watches both streams: piped or redirected output gets none of it
    watched = console.is_terminal and Console(stderr=True).is_terminal
    with Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not watched) as progress:
        task = progress.add_task("scan", total=len(files))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futs = [pool.submit(_folder_job, f, json_dir, html_dir, cfg, app_type, level, lang, consent)
                    for f in files]
            for fut in as_completed(futs):
                try:
                    path, rep, n_open, err, blame = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker died
                    path, rep, n_open, err, blame = "?", None, 0, reason(exc), None
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
                    over += n_open > 0
                    rows.append(folder_row(rel, rep))
                progress.advance(task)
    rows.sort(key=lambda r: r["file"])
    typer.echo(f"{len(files)} packages: {len(files) - failed} scanned, {failed} failed"
               + (f", {over} with open findings at or above {level}" if level else ""))
    if summary:
        if summary.lower().endswith(".csv"):
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=FOLDER_COLUMNS)
            w.writeheader()
            for r in rows:
                # package names and the like are the app's: no cell may read as a formula
                w.writerow({c: csv_cell(r.get(c, "")) for c in FOLDER_COLUMNS})
            write_out(summary, buf.getvalue())
        else:
            write_json(summary, rows)
    if failed:
        raise typer.Exit(2)
    if over:
        raise typer.Exit(1)


def diff(
    old: Annotated[Path, typer.Argument(help="The earlier version's package.", readable=False)],
    new: Annotated[Path, typer.Argument(help="The later version's package.", readable=False)],
    json_out: Annotated[str | None, typer.Option("--json", help="Write the diff as JSON here.")] = None,
    app_type: Annotated[str | None, typer.Option(
        "--app-type", help="App type for the necessity rule.")] = None,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", help="Exit 1 when the later version adds an open finding at or above this level: "
        "block, warn or info.")] = None,
    config: Annotated[str | None, ConfigOption] = None,
    lang: Annotated[str | None, LangOption] = None,
) -> None:
    """What changed between two versions: SDKs, permissions, PI types (and who collects each) and findings."""  # noqa: E501 - a help text is one line
    from qingdan.checks.findings import at_or_above
    from qingdan.report.diff import diff_lines, diff_reports

    check_outputs(json_out)
    for p in (old, new):
        input_kind(p)
    lang = resolve_lang(lang)
    # one config for both sides (the later version's, else the earlier's), so that the same
    # acceptances apply to both and an accepted finding is neither added nor removed
    cfg, at, level = _resolve_options(config, app_type, fail_on, new, old)
    reps = []
    for p in (old, new):
        try:
            reps.append(_scan_one(str(p), None, None, cfg, at)[0])
        except Exception as exc:  # noqa: BLE001
            raise fail(str(p), reason(exc)) from None
    d = diff_reports(reps[0], reps[1])
    for line in diff_lines(d, lang):
        echo(line)
    if json_out:
        write_json(json_out, d)
    n = len(at_or_above([{**f, "accepted": False} for f in d["findings"]["added"]], level)) if level else 0
    if n:
        typer.echo(f"{n} added open finding(s) at or above {level}", err=True)
        raise typer.Exit(1)
