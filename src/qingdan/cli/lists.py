"""`qingdan lists draft|check|render`: the double lists (双清单)."""

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
    echo_findings,
    exit_on_findings,
    fail,
    fail_level,
    finding_row,
    input_kind,
    project_config,
    resolve_lang,
    scan_or_fail,
    sort_findings,
    write_json,
    write_out,
)

lists_app = typer.Typer(
    help="The double lists (双清单): draft from a scan, check, render for the app's menu.",
    no_args_is_help=True)


def load_lists_or_fail(path: str):
    """The declarations of a privacy-lists.yaml; each problem on a line of its own, then exit 2."""
    from qingdan.lists.declarations import ListsError, load_lists

    input_kind(Path(path))
    try:
        return load_lists(path)
    except ListsError as exc:
        for prob in exc.problems:
            echo(f"error: {exc.path}:{prob.line}:{prob.column}: {prob.message}", err=True)
        raise typer.Exit(2) from None


@lists_app.command("draft")
def lists_draft(
    package: Annotated[Path, typer.Argument(help="The app package to draft the lists from.", readable=False)],
    out: Annotated[str, typer.Option(
        "--output", "-o", help="Where to write privacy-lists.yaml.")] = "privacy-lists.yaml",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Draft privacy-lists.yaml from a scan: rows for every SDK and every PI type found, purposes left TODO."""  # noqa: E501 - a help text is one line
    from qingdan.lists.draft import draft_yaml

    if Path(out).exists() and not force:
        raise fail(out, "exists; use --force to overwrite it")
    check_outputs(out)
    res = scan_or_fail(package)
    text = draft_yaml(res)
    write_out(out, text)
    n_c = text.count("\n  - pi_type:")
    n_s = text.count("\n  - third_party:")
    echo(f"wrote {out}: {n_c} collected rows, {n_s} shared rows; "
         "fill the TODOs, then run `qingdan lists check`")


@lists_app.command("check")
def lists_check(
    lists: Annotated[str, typer.Argument(help="privacy-lists.yaml")],
    package: Annotated[Path | None, typer.Argument(help="The app package to compare with (optional).",
                                                   readable=False)] = None,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", help="Exit 1 on open findings at or above: block, warn or info (default: the "
        "config's fail_on, else block).")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the findings as JSON here.")] = None,
    config: Annotated[str | None, ConfigOption] = None,
    lang: Annotated[str | None, LangOption] = None,
) -> None:
    """Declared vs detected: SDKs and PI found but not declared, stale rows, TODOs, vague purposes."""
    from qingdan.lists.check import check_lists

    lang = resolve_lang(lang)
    cfg = project_config(config, package, lists)
    level = fail_level(fail_on, cfg, "block")
    check_outputs(json_out)
    dl = load_lists_or_fail(lists)
    res = scan_or_fail(package) if package is not None else None
    findings = accept(check_lists(dl, res), cfg)
    sort_findings(findings)
    echo_findings(findings, lambda f: f" ({lists}:{f.evidence['line']})" if f.evidence.get("line") else "",
                  lang)
    echo(f"{len(dl.collected)} collected rows, {len(dl.shared)} shared rows: " + counts_text(findings))
    if json_out:
        write_json(json_out, {"schema": "qingdan.lists-check/1",
                              "findings": [finding_row(f) for f in findings]})
    exit_on_findings(findings, level)


@lists_app.command("render")
def lists_render(
    lists: Annotated[str, typer.Argument(help="privacy-lists.yaml")],
    out: Annotated[str, typer.Option(
        "--output", "-o", help="Output folder (html) or file (json/csv/xlsx).")] = "site",
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="html (pages for the app menu), json, csv or xlsx.")] = "html",
    draft: Annotated[bool, typer.Option(
        "--draft", help="Render lists that still have TODOs, every page stamped 草稿 (draft).")] = False,
) -> None:
    """Render the lists: H5 pages for the app's secondary menu, or JSON/CSV/XLSX for regulators and stores."""  # noqa: E501 - a help text is one line
    from qingdan.lists import export, render

    dl = load_lists_or_fail(lists)
    if not draft:  # as `check` does: a TODO must not reach a published page
        try:
            render.refuse_todos(dl)
        except render.DraftError as exc:
            raise fail(lists, str(exc)) from None
    try:
        if fmt == "html":
            written = render.render_site(dl, out, draft=draft)
        elif fmt in export.EXPORT_FORMATS:
            written = export.export(dl, fmt, out)
        else:
            raise fail("--format", f"must be html, json, csv or xlsx, not {fmt!r}")
    except OSError as exc:  # an export names the file it could not write (csv: two of them)
        where = str(exc.filename) if fmt != "html" and exc.filename else out
        raise fail(where, exc.strerror or str(exc)) from None
    except ValueError as exc:  # the site folder is a file, or a folder qingdan did not write
        raise fail(out, str(exc).removeprefix("render_site: ")) from None
    files = written if isinstance(written, list) else [written]
    stamp = " (draft: every page stamped 草稿)" if draft and fmt == "html" else ""
    echo(f"wrote {', '.join(str(f) for f in files)}{stamp}")
