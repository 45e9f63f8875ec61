"""The pre-consent rules: what a start-up path reaches before the user agrees (``pi.before-consent``),
SDK initialisation on such a path (``sdk.init-before-consent``) and SDKs that initialise themselves
through a provider (``sdk.autoinit-provider``). They read :class:`~qingdan.checks.consent.ConsentView`
on the scan result, which ``scan_package(..., consent=True)`` computes; without it they say nothing.
"""

from __future__ import annotations

from qingdan.checks.findings import Finding, rule
from qingdan.checks.rules import _owner_label, _owner_of
from qingdan.checks.sdks import APP
from qingdan.knowledge.consent import load_consent
from qingdan.knowledge.rules import Rule

MAX_ROWS = 8


@rule("pi.before-consent")
def _before_consent(r: Rule, ctx) -> list[Finding]:
    res = ctx.result
    view = getattr(res, "consent", None)
    if view is None:
        return []
    by_owner: dict[str, list] = {}
    for u in view.uses:
        by_owner.setdefault(_owner_of(res, u.caller.rpartition('.')[0]), []).append(u)
    out = []
    for owner, uses in by_owner.items():
        pis = sorted({p for u in uses for p in u.pi_types})
        apis = sorted({u.callee for u in uses})
        rows = [{"api": u.api_id, "callee": u.callee, "entry": f"{u.entry.kind} {u.entry.component}",
                 "path": u.path} for u in uses[:MAX_ROWS]]
        who = _owner_label(res, owner)
        out.append(Finding.of(
            r, owner,
            f"{who} 的代码在启动路径上可达 {len(apis)} 个敏感接口（{', '.join(pis)}），未经同意判断",
            f"{who} code reaches {len(apis)} sensitive API(s) ({', '.join(pis)}) on a start-up path "
            "with no agreement check on the way",
            paths=rows, more=max(0, len(uses) - MAX_ROWS), gates=[g for g, _w in view.gates][:MAX_ROWS]))
    return out


@rule("sdk.init-before-consent")
def _init_before_consent(r: Rule, ctx) -> list[Finding]:
    view = getattr(ctx.result, "consent", None)
    if view is None:
        return []
    k = load_consent()
    out = []
    for i in view.inits:
        refs = list(k.sdks[i.sdk].refs) if i.sdk in k.sdks else []
        out.append(Finding.of(
            r, i.sdk,
            f"{i.sdk} 的初始化方法 {i.method} 在启动路径上被调用（{i.entry.kind} {i.entry.component}），"
            "未经同意判断；其合规指南要求用户同意后再初始化",
            f"{i.sdk}'s initialisation {i.method} is called on a start-up path ({i.entry.kind} "
            f"{i.entry.component}) with no agreement check; its compliance guide says to initialise after "
            "the user agreed", method=i.method, caller=i.caller, path=i.path, guide=refs))
    return out


@rule("sdk.autoinit-provider")
def _autoinit_provider(r: Rule, ctx) -> list[Finding]:
    res = ctx.result
    view = getattr(res, "consent", None)
    if view is None:
        return []
    k = load_consent()
    off = {s.autoinit_provider: s for s in k.sdks.values() if s.autoinit_provider}
    per: dict[str, list] = {}
    for u in view.uses:
        if u.entry.kind != "provider":
            continue
        owner = _owner_of(res, u.entry.component)
        if owner == APP or res.owner_kind(owner) != "sdk":
            continue
        per.setdefault(u.entry.component, []).append((owner, u))
    out = []
    for provider, rows in per.items():
        owner = rows[0][0]
        who = _owner_label(res, owner)
        apis = sorted({u.callee for _o, u in rows})
        how = off.get(provider)
        extra_zh = f"；关闭方式：{how.off_zh}" if how else ""
        extra_en = f"; to turn it off: {how.off_en}" if how else ""
        out.append(Finding.of(
            r, owner,
            f"{who} 的 Provider {provider} 在 Application.onCreate 之前创建，其代码可达 "
            f"{', '.join(apis)}{extra_zh}",
            f"{who}'s provider {provider} is created before Application.onCreate and its code "
            f"reaches {', '.join(apis)}{extra_en}",
            provider=provider, paths=[u.path for _o, u in rows[:MAX_ROWS]],
            guide=list(how.refs) if how else []))
    return out
