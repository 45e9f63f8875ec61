"""`qingdan policy check`: a privacy policy, compared with the app, its lists and the ledger."""

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
from qingdan.cli.ledger import open_ledger
from qingdan.cli.lists import load_lists_or_fail

policy_app = typer.Typer(
    help="Privacy-policy analysis: what the policy says, checked against the app and its lists.",
    no_args_is_help=True)


@policy_app.command("check")
def policy_check(
    policy: Annotated[Path | None, typer.Argument(
        help="The policy: .html or .txt (UTF-8 or GBK). Optional with --app.", readable=False)] = None,
    package: Annotated[Path | None, typer.Option(
        "--app", help="The app package: checks against its scan; its bundled policy when none is given.",
        readable=False)] = None,
    lists: Annotated[str | None, typer.Option("--lists", help="privacy-lists.yaml to compare with.")] = None,
    json_out: Annotated[str | None, typer.Option(
        "--json", help="Write the facts, the comparison and the findings as JSON here.")] = None,
    html_out: Annotated[str | None, typer.Option(
        "--html", help="Write the four-way comparison page here.")] = None,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", help="Exit 1 on open findings at or above: block, warn or info (default: the "
        "config's fail_on, else block).")] = None,
    ledger_app_id: Annotated[str | None, typer.Option(
        "--ledger-app", help="An app id of the ledger (QINGDAN_DATABASE_URL): its recorded collections "
        "are the 'observed' view.")] = None,
    config: Annotated[str | None, ConfigOption] = None,
    lang: Annotated[str | None, LangOption] = None,
) -> None:
    """Read a privacy policy: summary, PI, permissions and purposes, third parties, contact, rights; compare it with the app, the lists and the ledger."""  # noqa: E501 - a help text is one line
    from dataclasses import asdict

    from qingdan.policy import PolicyError, extract_facts, read_policy
    from qingdan.policy.bundled import bundled_policy
    from qingdan.policy.check import check_policy, compare
    from qingdan.policy.render import render_comparison

    if policy is None and package is None:
        raise fail("policy", "give a policy file, or --app with a package that bundles one")
    lang = resolve_lang(lang)
    cfg = project_config(config, package, lists, policy)
    level = fail_level(fail_on, cfg, "block")
    check_outputs(json_out, html_out)
    res = scan_or_fail(package) if package is not None else None
    try:
        if policy is not None:
            input_kind(policy)
            doc = read_policy(policy)
        else:
            doc = bundled_policy(package)
            if doc is None:
                raise fail(str(package), "no privacy policy bundled in the package (assets/ or res/raw/); "
                                         "give the policy file")
    except PolicyError as exc:
        raise fail(str(policy or package), str(exc)) from None
    except OSError as exc:
        raise fail(str(policy or package), exc.strerror or str(exc)) from None
    dl = load_lists_or_fail(lists) if lists else None
    facts = extract_facts(doc)
    observed = None
    if ledger_app_id is not None:
        ledger = open_ledger()
        if ledger.get_app(ledger_app_id) is None:
            raise fail("--ledger-app", f"no app {ledger_app_id!r} in the ledger")
        observed = ledger.observed(ledger_app_id)
    cmp_ = compare(facts, res, dl, observed, doc.text)
    findings = accept(check_policy(facts, res, dl, observed, doc.text, comparison=cmp_), cfg)
    sort_findings(findings)
    echo(f"{doc.source}: {doc.kind}, {doc.encoding}, {len(doc.sentences)} sentences")
    echo(f"  summary   {'yes: ' + (facts.summary.heading or '') if facts.summary.present else 'none'}")
    echo(f"  PI        {', '.join(sorted(facts.pi_types)) or '—'}")
    parties = [t.name + (" (vendor name)" if t.named_by == "vendor" else "") for t in facts.third_parties]
    echo(f"  parties   {', '.join(parties) or '—'}")
    c = facts.contact
    echo(f"  contact   {c.company or '—'} · {', '.join(c.emails + c.phones) or 'no e-mail/phone'}")
    echo(f"  rights    {', '.join(r.right for r in facts.rights) or '—'}"
         + (f" · respond within {facts.response_time}" if facts.response_time else ""))
    echo_findings(findings, lang=lang)
    echo("findings: " + counts_text(findings))
    if json_out:
        write_json(json_out, {"schema": "qingdan.policy-check/1", "facts": facts.to_dict(),
                              "comparison": [asdict(r) for r in cmp_.rows],
                              "findings": [finding_row(f) for f in findings]}, default=str)
    if html_out:
        write_out(html_out, render_comparison(cmp_, str(doc.source)))
    exit_on_findings(findings, level)
