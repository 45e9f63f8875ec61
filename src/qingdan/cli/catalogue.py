"""What qingdan knows: `qingdan rules`, `qingdan app-types` and `qingdan sdk list|show`."""

from __future__ import annotations

from typing import Annotated

import typer

from qingdan.cli._common import echo, fail


def rules_cmd(
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the catalogue as Markdown (docs/rules.md).")] = False,
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


def app_types_cmd() -> None:
    """The 39 app types of the necessary-personal-information provisions (for --app-type)."""
    from qingdan.knowledge.app_types import load_app_types

    for t in load_app_types().values():
        pis = ", ".join(sorted(t.necessary_pi)) if t.necessary_pi else "(no personal information needed)"
        typer.echo(f"{t.no:>2} {t.key:24} {t.zh}  {pis}")


sdk_app = typer.Typer(help="The SDK catalogue: what qingdan knows about third-party SDKs.",
                      no_args_is_help=True)


@sdk_app.command("list")
def sdk_list(
    category: Annotated[str | None, typer.Option(
        "--category", "-c", help="Only this category (push, analytics, ads, …).")] = None,
    search: Annotated[str | None, typer.Option(
        "--search", "-s", help="Text to look for in ids, names, companies, packages.")] = None,
) -> None:
    """List SDKs in the catalogue."""
    from qingdan.knowledge.sdks import CATEGORIES, search_sdks

    if category is not None and category not in CATEGORIES:
        raise fail("--category", f"unknown category {category!r} (one of: {', '.join(sorted(CATEGORIES))})")
    found = search_sdks(search, category)
    for s in found:
        echo(f"{s.id:32} {s.category:16} {s.name}" + (f" · {s.company}" if s.company else ""))
    echo(f"{len(found)} SDKs")


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
            echo(f"{k:20} {v}")
