"""Declared (the double lists) against detected (a scan): findings with catalogue rule ids."""

from __future__ import annotations

from dataclasses import dataclass, field

from qingdan.checks.findings import Finding, rule, run_stage, stage_rules
from qingdan.checks.scan import ScanResult
from qingdan.checks.sdks import APP
from qingdan.knowledge.pi import load_pi_types
from qingdan.knowledge.rules import Rule
from qingdan.knowledge.vague_purposes import is_catch_all, vague_phrases
from qingdan.lists.draft import observed_collection
from qingdan.lists.model import TODO, DoubleList


def _where(item, dl: DoubleList) -> dict:
    return {"file": dl.source, "line": item.pos.line if item.pos else None}


@dataclass(slots=True)
class ListsContext:
    dl: DoubleList
    scan: ScanResult | None
    pis: dict = field(default_factory=load_pi_types)

    @property
    def detected(self) -> dict:
        """The SDKs the scan found, by id (low confidence left out); empty without a scan."""
        return {d.sdk.id: d for d in self.scan.sdks if d.confidence != "low"} if self.scan else {}


def check_lists(dl: DoubleList, scan: ScanResult | None = None) -> list[Finding]:
    """Every ``lists.*`` rule; those that compare with the app only when ``scan`` is given."""
    return run_stage("lists", ListsContext(dl, scan))


@rule("lists.todo")
def _todo(r: Rule, ctx: ListsContext) -> list[Finding]:
    dl = ctx.dl
    out: list[Finding] = []
    for kind, it, todo in dl.todos():
        if kind == "app":
            out += [Finding.of(r, APP, f"{f} 仍为 TODO", f"{f} is still TODO", file=dl.source, field=f)
                    for f in todo]
            continue
        what = getattr(it, "pi_type", None) or getattr(it, "third_party", "")
        out.append(Finding.of(r, APP, f"{kind} 行 {what}：{', '.join(todo)} 仍为 TODO",
                              f"{kind} row {what}: {', '.join(todo)} still TODO", fields=todo,
                              **_where(it, dl)))
    return out


@rule("lists.sensitive-no-purpose")
def _sensitive_no_purpose(r: Rule, ctx: ListsContext) -> list[Finding]:
    out: list[Finding] = []
    for it in ctx.dl.collected:
        t = ctx.pis.get(it.pi_type)
        if t is None or t.sensitive != "true" or it.purpose == TODO:
            continue
        # catch-all phrases are knowledge data (vague_purposes.yaml), matched as patterns
        if is_catch_all(it.purpose) or len(it.purpose.strip()) < 4:
            phrases = vague_phrases(it.purpose)
            out.append(Finding.of(r, APP,
                                  f"敏感个人信息 {t.zh} 的使用目的过于笼统：{it.purpose}",
                                  f"sensitive {t.en}: the purpose is a catch-all: {it.purpose}",
                                  pi_type=it.pi_type, purpose=it.purpose,
                                  phrases=[p.id for p in phrases],
                                  sources=sorted({s for p in phrases for s in p.sources}),
                                  **_where(it, ctx.dl)))
    return out


@rule("lists.sdk-undeclared")
def _sdk_undeclared(r: Rule, ctx: ListsContext) -> list[Finding]:
    if ctx.scan is None:
        return []
    dl = ctx.dl
    declared_sdks = dl.sdk_ids() | {c.collector for c in dl.collected if c.collector != APP}
    return [Finding.of(r, sid,
                       f"检测到 SDK {d.sdk.name}（{d.sdk.company or '运营方未知'}），共享清单中没有对应行",
                       f"SDK {d.sdk.name} ({d.sdk.company or 'company unknown'}) is embedded "
                       "but not in the sharing list",
                       sdk=sid, evidence_classes=d.evidence.classes, components=d.evidence.components[:3])
            for sid, d in ctx.detected.items() if sid not in declared_sdks]


@rule("lists.pi-undeclared")
def _pi_undeclared(r: Rule, ctx: ListsContext) -> list[Finding]:
    """Collected by code, by owner, but not declared."""
    if ctx.scan is None:
        return []
    dl, pis = ctx.dl, ctx.pis
    declared = {(c.pi_type, c.collector) for c in dl.collected}
    shared_by_sdk: dict[str, set[str]] = {}
    for s in dl.shared:
        if s.sdk:
            shared_by_sdk.setdefault(s.sdk, set()).update(s.pi_types)
    # per API: declaring any one of the PI types it yields (getDeviceId: IMEI or MEID) covers it
    flagged: set[tuple[str, tuple[str, ...]]] = set()
    out: list[Finding] = []
    for u in ctx.scan.api_uses:
        if u.certainty != "direct" or u.api.weak or not u.api.pi_types:
            continue
        types = tuple(u.api.pi_types)
        owner = u.owner
        kind = ctx.scan.owner_kind(owner)
        if kind == "library":
            continue  # a library's code collects for the app only when the app uses that feature
        if kind in ("unattributed", "unidentified") and any(pi == d[0] for d in declared for pi in types):
            continue  # code no one is known for: a row under any collector covers it
        if any((pi, owner) in declared or pi in shared_by_sdk.get(owner, ()) for pi in types):
            continue
        if (owner, types) in flagged:
            continue
        flagged.add((owner, types))
        names = [pis[pi].zh if pi in pis else pi for pi in types]
        sev = "block" if any(pis[pi].sensitive == "true" for pi in types if pi in pis) else None
        who_zh = "App" if owner == APP else f"SDK {owner}"
        out.append(Finding.of(r, owner,
                              f"{who_zh} 收集 {'/'.join(names)}（{u.api.zh}），清单中没有该收集方的对应行",
                              f"{'the app' if owner == APP else 'SDK ' + owner} collects {'/'.join(types)} "
                              f"({u.api.en}), which the lists do not declare for it",
                              severity=sev, pi_type=types[0], pi_types=list(types),
                              evidence=[f"{s.caller_class}.{s.caller_method} → {u.callee}"
                                        for s in u.sites[:3]]))
    return out


@rule("lists.stale-row")
def _stale_row(r: Rule, ctx: ListsContext) -> list[Finding]:
    """Declared but not found."""
    scan = ctx.scan
    if scan is None:
        return []
    dl, pis, detected = ctx.dl, ctx.pis, ctx.detected
    observed = observed_collection(scan)
    out: list[Finding] = []
    for s in dl.shared:
        if s.sdk and s.sdk not in detected:
            out.append(Finding.of(r, s.sdk, f"共享清单列出 {s.third_party}（{s.sdk}），应用中未发现该 SDK",
                                  f"the sharing list names {s.third_party} ({s.sdk}), "
                                  "which the app does not contain",
                                  sdk=s.sdk, **_where(s, dl)))
    permissions = {p.name for p in scan.permissions}
    # collection by code no one is known for may be anyone's row
    unknown = {pi for (pi, o) in observed if scan.owner_kind(o) in ("unattributed", "unidentified")}
    for c in dl.collected:
        if c.collector != APP and c.collector != TODO and c.collector not in detected:
            out.append(Finding.of(r, c.collector,
                                  f"已收集清单把 {c.pi_type} 记在 SDK {c.collector} 名下，应用中未发现该 SDK",
                                  f"the collected list attributes {c.pi_type} to SDK {c.collector}, "
                                  "which the app does not contain",
                                  sdk=c.collector, pi_type=c.pi_type, **_where(c, dl)))
        elif (c.method in ("automatic", "permission") and (c.pi_type, c.collector) not in observed
              and c.pi_type not in unknown and c.pi_type in pis):
            if c.permission and c.permission not in permissions:
                reason_zh, reason_en = f"且未申请 {c.permission}", f"and {c.permission} is not requested"
            else:
                reason_zh = reason_en = ""
            out.append(Finding.of(r, c.collector,
                                  f"已收集清单列出 {pis[c.pi_type].zh}（{c.method}），"
                                  f"代码中未发现采集{reason_zh}",
                                  f"the collected list declares {pis[c.pi_type].en} ({c.method}), "
                                  f"the code shows no collection {reason_en}".strip(),
                                  severity="info", pi_type=c.pi_type, **_where(c, dl)))
    return out


LIST_RULES = stage_rules("lists")
