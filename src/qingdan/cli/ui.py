"""`qingdan ui check`: splash screens and popups from UI dumps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qingdan.cli._common import (
    ConfigOption,
    LangOption,
    accept,
    check_outputs,
    counts_text,
    echo,
    exit_on_findings,
    fail,
    fail_level,
    finding_row,
    input_kind,
    message,
    project_config,
    resolve_lang,
    sort_findings,
    write_json,
    write_out,
)

ui_app = typer.Typer(help="Splash screens and popups from UI dumps (uiautomator XML, GKD JSON snapshots).",
                     no_args_is_help=True)


@ui_app.command("check")
def ui_check(
    target: Annotated[Path, typer.Argument(
        help="A uiautomator .xml dump, a GKD .json snapshot, or a folder of them.", readable=False)],
    screenshot: Annotated[Path | None, typer.Option(
        "--screenshot", help="A PNG of the same screen: enables the contrast check "
        "(folders: NAME.png beside NAME.xml/.json).", readable=False)] = None,
    density: Annotated[float | None, typer.Option(
        "--density", help="Logical density (px per dp), e.g. 3.0; estimated from the screen width when "
        "absent.")] = None,
    json_out: Annotated[str | None, typer.Option(
        "--json", help="Write the screens and findings as JSON here.")] = None,
    html_out: Annotated[str | None, typer.Option(
        "--html", help="Write a page with each screen drawn and its findings boxed.")] = None,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", help="Exit 1 on open findings at or above: block, warn or info (default: the "
        "config's fail_on, else block).")] = None,
    config: Annotated[str | None, ConfigOption] = None,
    lang: Annotated[str | None, LangOption] = None,
) -> None:
    """Check splash screens and popups: close control present, ≥ 48 dp, findable, no countdown; no full-screen jump, shake prompts, unlabelled ads."""  # noqa: E501 - a help text is one line
    from qingdan.ui import UiError, check_screen, read_dump
    from qingdan.ui.check import load_screenshot
    from qingdan.ui.read import dump_files
    from qingdan.ui.render import render_ui_report

    lang = resolve_lang(lang)
    if density is not None and not 0.5 <= density <= 8:
        raise fail("--density", f"must be between 0.5 and 8, not {density}")
    check_outputs(json_out, html_out)
    is_dir = input_kind(target, folder_ok=True)
    cfg = project_config(config, target)
    level = fail_level(fail_on, cfg, "block")
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
            echo(f"error: {f}: {exc}", err=True)
            failed += 1
            continue
        if shot_path is not None and (screenshot is not None or shot_path.is_file()):
            try:
                shot = load_screenshot(shot_path)
            except UiError as exc:
                raise fail(str(shot_path), str(exc)) from None
        rec, findings = check_screen(facts, shot)
        accept(findings, cfg)
        sort_findings(findings, by_owner=False)
        screens.append((facts, findings, shot, rec))
        echo(f"{facts.source}: {facts.format} · {facts.width}×{facts.height} px · density {facts.density} "
             f"({facts.density_note})" + (f" · {facts.activity}" if facts.activity else ""))
        for w in facts.warnings:
            echo(f"  note: {w}")
        if rec.kind is None:
            echo("  no splash screen or popup recognised")
        for x in findings:
            mark = (", 已接受" if lang == "zh" else ", accepted") if x.accepted else ""
            echo(f"  [{x.severity}{mark}] {x.rule_id}: {message(x, lang)}")
            if x.evidence.get("source") and x.rule_id != "ui.splash-or-popup":
                echo(f"          threshold {x.evidence.get('threshold')} — {x.evidence['source']}")
    allf = [x for s in screens for x in s[1]]
    echo(f"{len(screens)} screen(s): " + counts_text(allf))
    if json_out:
        rows = [{**facts.to_dict(), "recognised": rec.kind, "ad": rec.ad,
                 "findings": [finding_row(x) for x in fs]} for facts, fs, _, rec in screens]
        write_json(json_out, {"schema": "qingdan.ui-check/1", "screens": rows}, default=str)
    if html_out:
        write_out(html_out, render_ui_report([(f, fs, shot) for f, fs, shot, _ in screens]))
    if failed:
        raise typer.Exit(2)
    exit_on_findings(allf, level)
