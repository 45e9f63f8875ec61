"""The policy against the other three views of an app: declared (the double lists), detected (a
scan) and observed (the ledger). Findings carry catalogue rule ids (area ``policy``).

:func:`compare` builds the four-way table (rows = PI types and third parties, columns = declared /
detected / disclosed / observed); :func:`check_policy` turns it, and the policy's own gaps, into
findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qingdan.checks.findings import Finding, rule, run_stage, stage_rules
from qingdan.checks.scan import ScanResult
from qingdan.checks.sdks import APP
from qingdan.knowledge.pi import load_pi_types
from qingdan.knowledge.policy_terms import load_policy_terms
from qingdan.knowledge.rules import Rule
from qingdan.knowledge.sdks import load_sdks
from qingdan.lists.model import DoubleList
from qingdan.policy.lexicon import company_short
from qingdan.policy.model import PolicyFacts

VIEWS = ("declared", "detected", "disclosed", "observed")
#: Android permission → the sensitive-permission key of PolicyFacts.permissions
PERMISSION_KEYS = {
    "ACCESS_FINE_LOCATION": "location", "ACCESS_COARSE_LOCATION": "location",
    "ACCESS_BACKGROUND_LOCATION": "location",
    "READ_CONTACTS": "contacts", "WRITE_CONTACTS": "contacts", "GET_ACCOUNTS": "contacts",
    "READ_EXTERNAL_STORAGE": "storage", "WRITE_EXTERNAL_STORAGE": "storage",
    "MANAGE_EXTERNAL_STORAGE": "storage",
    "READ_MEDIA_IMAGES": "storage", "READ_MEDIA_VIDEO": "storage", "READ_MEDIA_AUDIO": "storage",
    "CAMERA": "camera", "RECORD_AUDIO": "microphone",
    "READ_PHONE_STATE": "phone", "READ_PHONE_NUMBERS": "phone", "CALL_PHONE": "phone",
    "READ_CALENDAR": "calendar", "WRITE_CALENDAR": "calendar",
    "READ_SMS": "sms", "SEND_SMS": "sms", "RECEIVE_SMS": "sms",
    "READ_CALL_LOG": "call_log", "WRITE_CALL_LOG": "call_log", "PROCESS_OUTGOING_CALLS": "call_log",
}
PERMISSION_ZH = {"location": "位置", "contacts": "通讯录", "storage": "存储/相册", "camera": "相机",
                 "microphone": "麦克风", "phone": "电话/设备信息", "calendar": "日历", "sms": "短信",
                 "call_log": "通话记录"}
#: A disclosed type that also discloses narrower ones ("位置信息" covers coarse location).
COVERS = {"precise_location": {"coarse_location", "cell_info", "trajectory"}, "imei": {"meid"},
          "photos_media": {"screen_content"}, "address_book": {"friend_list"}}


@dataclass(slots=True)
class Cell:
    present: bool
    evidence: list[str] = field(default_factory=list)
    #: the disclosed cell of an SDK row: ``product`` (named), ``vendor`` (only its vendor is named)
    by: str | None = None


@dataclass(slots=True)
class Row:
    kind: str  # pi | third_party
    key: str  # PI type key, SDK id, or a third party's name
    label: str
    cells: dict[str, Cell | None]  # None: that view is not available
    mismatches: list[str] = field(default_factory=list)
    sensitive: bool = False


@dataclass(slots=True)
class Comparison:
    rows: list[Row]
    views: dict[str, bool]  # which of the four views were given


def _disclosed_pi(facts: PolicyFacts) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in facts.pi_mentions:
        if m.negated:
            continue
        ev = f"「{m.text}」 line {m.evidence.line}: {m.evidence.text[:120]}"
        for key in {m.pi_type, *COVERS.get(m.pi_type, ())}:
            lst = out.setdefault(key, [])
            if len(lst) < 3:
                lst.append(ev)
    return out


def _names_of(sid: str) -> list[str]:
    """The names that disclose the SDK itself where the lexicon cannot see them: its product names and
    packages (a company name is a vendor name: the lexicon resolves it, see lexicon.sdk_reference)."""
    s = load_sdks().get(sid)
    if s is None:
        return [sid]
    return [n for n in (s.name_zh, s.name_en) if n] + list(s.signatures.packages)


def _found(d) -> bool:
    """Found in the app: not a low-confidence trace made only of manifest entries (a declared
    WXEntryActivity with no WeChat class in the code is the app's own callback)."""
    return d.confidence != "low" or bool(d.evidence.classes or d.evidence.native_libs)


def _text_has(text: str, names: list[str]) -> str | None:
    low = text.casefold()
    return next((n for n in names if n and len(n) >= 2 and n.casefold() in low), None)


def compare(facts: PolicyFacts, scan: ScanResult | None = None, lists: DoubleList | None = None,
            observed: dict[str, set[str]] | None = None, policy_text: str = "") -> Comparison:
    pis = load_pi_types()
    sdks = load_sdks()
    views = {"declared": lists is not None, "detected": scan is not None, "disclosed": True,
             "observed": observed is not None}
    rows: list[Row] = []
    # -- PI types
    disclosed = _disclosed_pi(facts)
    declared: dict[str, list[str]] = {}
    if lists is not None:
        for c in lists.collected:
            declared.setdefault(c.pi_type, []).append(f"collected by {c.collector}: {c.purpose}")
        for s in lists.shared:
            for p in s.pi_types:
                declared.setdefault(p, []).append(f"shared with {s.third_party}: {s.purpose}")
    detected: dict[str, list[str]] = {}
    if scan is not None:
        # code evidence only: a permission alone (CAMERA → face) or an SDK's own policy is not proof
        # of collection
        for p, collectors in scan.pi_summary.items():
            ev = [f"{c.owner}: {e.detail}" + (f" in {e.where}" if e.where else "") for c in collectors
                  for e in c.evidence if e.kind == "api"]
            if ev:
                detected[p] = ev
    obs = {k: sorted(v) for k, v in (observed or {}).items()}
    keys = sorted(set(declared) | set(detected) | set(obs) | {m.pi_type for m in facts.pi_mentions
                                                              if not m.negated})
    for k in keys:
        t = pis.get(k)
        cells: dict[str, Cell | None] = {
            "declared": Cell(k in declared, declared.get(k, [])[:5]) if lists is not None else None,
            "detected": Cell(k in detected, detected.get(k, [])[:5]) if scan is not None else None,
            "disclosed": Cell(k in disclosed, disclosed.get(k, [])),
            "observed": (Cell(k in obs, [f"source: {s}" for s in obs.get(k, [])][:5])
                         if observed is not None else None),
        }
        row = Row("pi", k, f"{t.zh} ({t.en})" if t else k, cells, sensitive=bool(t and t.sensitive == "true"))
        for v in ("declared", "detected", "observed"):
            c = cells[v]
            if c is not None and c.present and not cells["disclosed"].present:
                row.mismatches.append(f"{v} but not disclosed in the policy")
        if lists is not None and k not in declared and (k in detected or k in obs):
            row.mismatches.append("collected but not declared in the lists")
        elif lists is not None and k not in declared and cells["disclosed"].present:
            row.mismatches.append("disclosed in the policy but not declared in the lists")
        rows.append(row)
    # -- third parties
    det_sdks = ({d.sdk.id: d for d in scan.sdks if d.confidence != "low" and not d.sdk.is_library}
                if scan else {})
    all_found = {d.sdk.id for d in [*scan.sdks, *scan.libraries] if _found(d)} if scan else set()
    traces = {d.sdk.id: d for d in scan.sdks if not _found(d)} if scan else {}
    mentioned: dict[str, list[str]] = {}
    by: dict[str, str] = {}  # SDK id → product | vendor (how the policy names it at best)
    for tp in facts.third_parties:
        where = f"「{tp.name}」 line {tp.evidence[0].line}" if tp.evidence else f"「{tp.name}」"
        for sid in tp.sdk_ids:
            base = [b for b in load_policy_terms().base_of(sid) if b not in tp.sdk_ids]
            for i, label in ((sid, where), *((b, f"{where} (its base component)") for b in base)):
                mentioned.setdefault(i, []).append(label if tp.named_by == "product"
                                                   else f"{label}, by vendor name")
                if by.get(i) != "product":
                    by[i] = tp.named_by
    obs_sources: dict[str, list[str]] = {}
    for p, srcs in (observed or {}).items():
        for s in srcs:
            if s != APP:
                obs_sources.setdefault(s, []).append(p)
    decl_tp: dict[str, list[str]] = {}
    if lists is not None:
        for s in lists.shared:
            decl_tp.setdefault(s.sdk or s.third_party, []).append(
                f"{s.third_party} ({s.company}): {', '.join(s.pi_types)}")
            for b in load_policy_terms().base_of(s.sdk) if s.sdk else ():
                decl_tp.setdefault(b, []).append(f"{s.third_party} ({s.company}), its base component")
    tp_keys = set(det_sdks) | set(decl_tp) | set(obs_sources)
    tp_keys |= {sid for sid in mentioned if sid in all_found}
    order = {sid: i for i, sid in enumerate(sdks)}
    for tp in facts.third_parties:
        if not tp.sdk_ids:
            tp_keys.add(tp.name)  # a party outside the catalogue
        elif tp.named_by == "product" and not set(tp.sdk_ids) & (all_found | set(decl_tp)):
            # SDKs the policy names that the app does not contain: one row per product (微信 for login
            # and for pay); a vendor name alone (腾讯, 华为) may stand for anything but an SDK
            by_kind: dict[str, list[str]] = {}
            for i in tp.sdk_ids:
                by_kind.setdefault(sdks[i].category if i in sdks else i, []).append(i)
            tp_keys |= {min(ids, key=lambda i: order.get(i, len(order))) for ids in by_kind.values()}
    for k in sorted(tp_keys):
        sdk = sdks.get(k)
        names = _names_of(k) if sdk else [k]
        if lists is not None:
            names += [x for s in lists.shared if (s.sdk or s.third_party) == k
                      for x in (s.third_party, s.company, company_short(s.company))]
        ev = list(mentioned.get(k, []))
        state = by.get(k)
        if not ev:
            named = [tp for tp in facts.third_parties if tp.name == k or tp.name in names]
            ev += [f"「{tp.name}」 line {tp.evidence[0].line if tp.evidence else '?'}"
                   + ("" if tp.named_by == "product" else ", by vendor name") for tp in named]
            state = "product" if any(tp.named_by == "product" for tp in named) else "vendor"
        if not ev and policy_text and (hit := _text_has(policy_text, names)):
            ev.append(f"the text names 「{hit}」")
            state = "product"
        det_ev = ([f"{det_sdks[k].confidence} confidence"] if k in det_sdks else
                  [f"only a trace: {', '.join(traces[k].evidence.kinds())} (no code)"] if k in traces else [])
        cells = {
            "declared": Cell(k in decl_tp, decl_tp.get(k, [])) if lists is not None else None,
            "detected": Cell(k in det_sdks, det_ev) if scan is not None else None,
            "disclosed": Cell(bool(ev), ev[:3], state if ev else None),
            "observed": Cell(k in obs_sources,
                             [f"PI: {', '.join(sorted(obs_sources.get(k, [])))}"] if k in obs_sources
                             else []) if observed is not None else None,
        }
        label = f"{sdk.name} · {sdk.company}" if sdk and sdk.company else (sdk.name if sdk else k)
        row = Row("third_party", k, label, cells)
        for v in ("declared", "detected", "observed"):
            c = cells[v]
            if c is not None and c.present and not cells["disclosed"].present:
                row.mismatches.append(f"{v} but not disclosed in the policy")
        if scan is not None and cells["disclosed"].present and sdk is not None and k not in all_found:
            row.mismatches.append("named in the policy but not found in the app")
        if lists is not None and scan is not None and k in det_sdks and k not in decl_tp:
            row.mismatches.append("embedded but not declared in the lists")
        elif lists is not None and cells["disclosed"].by == "product" and k not in decl_tp:
            row.mismatches.append("named in the policy but not declared in the lists")
        rows.append(row)
    return Comparison(rows, views)


@dataclass(slots=True)
class PolicyContext:
    facts: PolicyFacts
    scan: ScanResult | None
    comparison: Comparison

    @property
    def rows(self) -> list[Row]:
        return self.comparison.rows


def check_policy(facts: PolicyFacts, scan: ScanResult | None = None, lists: DoubleList | None = None,
                 observed: dict[str, set[str]] | None = None, policy_text: str = "",
                 comparison: Comparison | None = None) -> list[Finding]:
    """Every ``policy.*`` rule: the policy's own gaps first, then the comparison's rows one by one."""
    cmp_ = comparison or compare(facts, scan, lists, observed, policy_text)
    return run_stage("policy", PolicyContext(facts, scan, cmp_))


@rule("policy.no-summary")
def _no_summary(r: Rule, ctx: PolicyContext) -> list[Finding]:
    if ctx.facts.summary.present:
        return []
    return [Finding.of(r, APP, "隐私政策没有摘要（摘要/概要/要点/简要版）",
                       "the policy has no summary (摘要/概要/要点/简要版)", file=ctx.facts.source)]


@rule("policy.no-deregistration")
def _no_deregistration(r: Rule, ctx: PolicyContext) -> list[Finding]:
    if ctx.facts.right("deregister") is not None:
        return []
    return [Finding.of(r, APP, "隐私政策没有说明如何注销账号",
                       "the policy does not say how to deregister the account", file=ctx.facts.source)]


@rule("policy.no-contact")
def _no_contact(r: Rule, ctx: PolicyContext) -> list[Finding]:
    c = ctx.facts.contact
    if c.company and (c.emails or c.phones):
        return []
    missing = [x for x, ok in (("company", c.company), ("e-mail or phone", c.emails or c.phones)) if not ok]
    what_zh = "、".join("运营者名称" if m == "company" else "邮箱或电话" for m in missing)
    return [Finding.of(r, APP, f"隐私政策缺少：{what_zh}", f"the policy lacks: {', '.join(missing)}",
                       file=ctx.facts.source, missing=missing)]


@rule("policy.no-lists-link")
def _no_lists_link(r: Rule, ctx: PolicyContext) -> list[Finding]:
    ll = ctx.facts.lists_links
    if ll.collected and ll.shared:
        return []
    missing = [x for x, ok in (("collected", ll.collected), ("shared", ll.shared)) if not ok]
    return [Finding.of(r, APP, "隐私政策未提供" + "、".join(
        "已收集个人信息清单" if m == "collected" else "第三方共享清单" for m in missing) + "的入口",
        f"the policy does not point to the {' and '.join(missing)} list(s)", file=ctx.facts.source,
        missing=missing)]


@rule("policy.permission-no-purpose")
def _permission_no_purpose(r: Rule, ctx: PolicyContext) -> list[Finding]:
    if ctx.scan is None:
        return []
    requested: dict[str, list[str]] = {}
    for p in ctx.scan.permissions:
        key = PERMISSION_KEYS.get(p.name.rsplit(".", 1)[-1])
        if key and p.name.startswith("android.permission."):
            requested.setdefault(key, []).append(p.name)
    out: list[Finding] = []
    for key, perms in sorted(requested.items()):
        st = ctx.facts.permission(key)
        if st is None or not st.purpose_stated:
            why_zh = "政策提及但未说明目的" if st and st.mentioned else "政策未提及"
            why_en = "mentioned without a purpose" if st and st.mentioned else "not mentioned"
            out.append(Finding.of(r, APP,
                                  f"应用申请{PERMISSION_ZH[key]}权限（{', '.join(perms)}），{why_zh}",
                                  f"the app requests the {key} permission ({', '.join(perms)}): "
                                  f"{why_en} in the policy",
                                  permission=key, permissions=perms,
                                  evidence=[e.text[:120] for e in (st.evidence if st else [])[:3]]))
    return out


# -- the comparison's rows: a row the policy discloses can only be stale; one it does not, undisclosed


def _undisclosed_views(row: Row) -> list[str]:
    """The views that have the row when the policy does not disclose it."""
    if row.cells["disclosed"].present:
        return []
    return [v for v in ("declared", "detected", "observed")
            if row.cells[v] is not None and row.cells[v].present]


@rule("policy.sdk-stale", each="rows")
def _sdk_stale(r: Rule, ctx: PolicyContext, row: Row) -> list[Finding]:
    if not (row.cells["disclosed"].present and row.kind == "third_party"
            and "named in the policy but not found in the app" in row.mismatches):
        return []
    # a vendor or company name (友盟, 腾讯…) may stand for a service other than an SDK: only a product
    tp = next((t for t in ctx.facts.third_parties if row.key in t.sdk_ids and t.named_by == "product"), None)
    if tp is None:
        return []
    return [Finding.of(r, row.key, f"隐私政策列出 {tp.name}，应用中未发现该 SDK",
                       f"the policy names {tp.name} ({row.key}), which the app does not contain",
                       sdk=row.key, evidence=[e.text[:120] for e in tp.evidence[:2]])]


@rule("policy.pi-undisclosed", each="rows")
def _pi_undisclosed(r: Rule, ctx: PolicyContext, row: Row) -> list[Finding]:
    views = _undisclosed_views(row)
    if not views or row.kind != "pi":
        return []
    t = load_pi_types().get(row.key)
    name_zh = t.zh if t else row.key
    return [Finding.of(r, APP, f"{name_zh} 已被{'/'.join(_ZH[v] for v in views)}，政策中未说明",
                       f"{row.key} is {'/'.join(views)} but the policy does not mention it",
                       severity="block" if row.sensitive else None, pi_type=row.key, views=views,
                       evidence={v: row.cells[v].evidence[:3] for v in views})]


def _embedded_sdk(row: Row, views: list[str]) -> bool:
    return "detected" in views and row.key in load_sdks()


@rule("policy.sdk-undisclosed", each="rows")
def _sdk_undisclosed(r: Rule, ctx: PolicyContext, row: Row) -> list[Finding]:
    views = _undisclosed_views(row)
    if not views or row.kind == "pi" or not _embedded_sdk(row, views):
        return []
    return [Finding.of(r, row.key, f"应用内嵌 SDK {row.label}，政策中未列明",
                       f"the app embeds SDK {row.label}, which the policy does not name",
                       sdk=row.key, views=views)]


@rule("policy.third-party-undisclosed", each="rows")
def _third_party_undisclosed(r: Rule, ctx: PolicyContext, row: Row) -> list[Finding]:
    views = _undisclosed_views(row)
    if not views or row.kind == "pi" or _embedded_sdk(row, views):
        return []
    if "declared" in views:
        return [Finding.of(r, row.key, f"共享清单列出的第三方 {row.label} 在政策中未说明",
                           f"the sharing list names {row.label}, which the policy does not",
                           third_party=row.key, evidence=row.cells["declared"].evidence[:3])]
    if "observed" in views:
        return [Finding.of(r, row.key, f"台账记录向 {row.label} 提供了个人信息，政策中未说明",
                           f"the ledger records sharing with {row.label}, which the policy does not name",
                           third_party=row.key)]
    return []


_ZH = {"declared": "清单声明", "detected": "扫描发现", "observed": "台账记录"}
POLICY_RULES = stage_rules("policy")
