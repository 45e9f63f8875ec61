"""Compliance rules: a :class:`ScanResult` → findings, each tied to its catalogue entry.

One function per rule id of ``knowledge/data/rules.yaml``. Every finding names its owner — the
app or the SDK whose code or component it is — so a developer sees at once which SDK to
reconfigure or replace, and carries evidence precise enough to act on (component and intent
filter, or caller class → callee with the constant arguments).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from qingdan.checks.findings import Finding, rule, run_stage
from qingdan.checks.intents import intent_sites, split_handoffs
from qingdan.checks.scan import SYSTEM_START_ACTIONS, ScanResult
from qingdan.checks.sdks import APP, own_namespaces
from qingdan.knowledge._data import data_bytes, load_yaml_data
from qingdan.knowledge.rules import Rule

MAX_SITES = 5


@dataclass(slots=True)
class Context:
    result: ScanResult
    app_type: str | None = None


def run_rules(result: ScanResult, app_type: str | None = None,
              only: Iterable[str] | None = None) -> list[Finding]:
    """Every scan rule, in catalogue order (the order of the functions below; ``only``: a subset of
    ids). The rules of other areas (lists, policy, ui, review) are run by their own stage, which
    has the inputs they need."""
    return run_stage("scan", Context(result, app_type), only)


def _owner_label(res: ScanResult, owner: str, classes: Iterable[str] = ()) -> str:
    """How a message names an owner: ``App``, an SDK with its company, ``library okhttp3 (OkHttp)``,
    or code nobody is known for, with its packages (``unidentified code com.foo.bar``)."""
    if owner == APP:
        return "App"
    kind = res.owner_kind(owner)
    if kind in ("unattributed", "unidentified"):
        pkgs = sorted({c.rpartition(".")[0] or "(default package)" for c in classes})
        shown = ", ".join(pkgs[:3]) + (" …" if len(pkgs) > 3 else "")
        what = "unattributed obfuscated code" if kind == "unattributed" else "unidentified code"
        return f"{what} {shown}".rstrip()
    if kind == "library":
        d = res.library(owner)
        return f"library {owner} ({d.sdk.name})" if d else f"library {owner}"
    d = res.sdk(owner)
    return f"{owner} ({d.sdk.name}{', ' + d.sdk.company if d and d.sdk.company else ''})" if d else owner


def _label(res: ScanResult, owner: str, sites: list[dict[str, Any]]) -> str:
    """:func:`_owner_label` for rows of call sites (``{"caller": "cls.method", …}``)."""
    return _owner_label(res, owner, [s["caller"].rpartition(".")[0] for s in sites])


def _unknown(res: ScanResult, owner: str) -> bool:
    """Code no one is known for (its label already says "code")."""
    return res.owner_kind(owner) in ("unattributed", "unidentified")


def _apps_own(res: ScanResult, owner: str) -> bool:
    """The app's code or open-source library code it bundles: no third party behind it."""
    return res.owner_kind(owner) in ("app", "library")


def _owner_of(res: ScanResult, class_name: str) -> str:
    return res.owners.owner(class_name) if res.owners is not None else APP


# -- self-start and keep-alive ------------------------------------------------------------------


@rule("sdk.autostart-receiver")
def _autostart(r: Rule, ctx: Context) -> list[Finding]:
    res = ctx.result
    out = []
    for c in res.package.manifest.components:
        if c.kind != "receiver" or not c.enabled:
            continue
        acts = sorted(a for a in c.actions() if a in SYSTEM_START_ACTIONS)
        if not acts:
            continue
        owner = _owner_of(res, c.name)
        short = ", ".join(a.rsplit(".", 1)[-1] for a in acts)
        who = _owner_label(res, owner, [c.name])
        out.append(Finding.of(
            r, owner,
            f"{who} 的接收器 {c.name} 监听系统广播 {short}，"
            "可在用户未打开应用时启动进程",
            f"{who} receiver {c.name} listens for {short} and can start the process "
            "without the user",
            component=c.name, actions=acts, exported=c.exported))
    return out


KEEPALIVE_CALLS = (
    ("Landroid/app/job/JobInfo$Builder;", "setPersisted"),
    ("Landroid/app/AlarmManager;", "setRepeating"),
    ("Landroid/app/AlarmManager;", "setInexactRepeating"),
    ("Landroid/app/AlarmManager;", "setAndAllowWhileIdle"),
    ("Landroid/app/AlarmManager;", "setExactAndAllowWhileIdle"),
)


def _sites_of(res: ScanResult, calls: Iterable[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """Owner → call sites of the given (class descriptor, method) pairs."""
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for d in res.package.dex:
        ids: list[int] = []
        for cls, name in calls:
            ids.extend(d.find_methods(cls, name))
        for s in d.calls_to(ids):
            by_owner.setdefault(_owner_of(res, s.caller_class), []).append({
                "caller": f"{s.caller_class}.{s.caller_method}",
                "callee": f"{s.callee_class}.{s.callee_method}",
                "strings": list(s.strings), "dex": d.source})
    return by_owner


@rule("sdk.keepalive-job")
def _keepalive_job(r: Rule, ctx: Context) -> list[Finding]:
    res = ctx.result
    out = []
    for owner, sites in sorted(_sites_of(res, KEEPALIVE_CALLS).items()):
        kinds = sorted({s["callee"].rsplit(".", 1)[-1] for s in sites})
        out.append(Finding.of(
            r, owner,
            f"{_label(res, owner, sites)} 使用持久化任务或唤醒闹钟（{', '.join(kinds)}），共 {len(sites)} 处",
            f"{_label(res, owner, sites)} uses persisted jobs or wake-up alarms ({', '.join(kinds)}), "
            f"{len(sites)} call sites",
            sites=sites[:MAX_SITES], count=len(sites)))
    return out


SYNC_ACTIONS = {"android.accounts.AccountAuthenticator", "android.content.SyncAdapter"}


@rule("sdk.keepalive-sync")
def _keepalive_sync(r: Rule, ctx: Context) -> list[Finding]:
    res = ctx.result
    out = []
    for c in res.package.manifest.components:
        acts = sorted(c.actions() & SYNC_ACTIONS)
        if not acts:
            continue
        owner = _owner_of(res, c.name)
        who = _owner_label(res, owner, [c.name])
        out.append(Finding.of(
            r, owner,
            f"{who} 的组件 {c.name} 声明账户同步（{', '.join(acts)}），"
            "系统会定期拉起进程",
            f"{who} component {c.name} declares account sync ({', '.join(acts)}); the "
            "system starts it periodically",
            severity="info" if _apps_own(res, owner) else None, component=c.name, actions=acts))
    return out


# -- associated start ---------------------------------------------------------------------------

@rule("sdk.associated-start")
def _associated_start(r: Rule, ctx: Context) -> list[Finding]:
    """Two patterns, per owner: (1) one method aims an Intent at another app by constant package
    or class name and starts/binds/broadcasts it; (2) the owner's code enumerates other apps'
    components that answer an action (queryIntentServices / queryBroadcastReceivers) and
    elsewhere starts or broadcasts to explicit components it computes at run time — the mutual
    wake-up of push SDKs, whose targets are only known on the device."""
    res = ctx.result
    direct, enumerate_, explicit = intent_sites(res.package, own_namespaces(res.package),
                                                lambda cls: _owner_of(res, cls))
    background = {c.name for c in res.package.manifest.components
                  if c.kind in ("service", "receiver", "provider")}
    out = []
    for owner in sorted(set(direct) | (set(enumerate_) & set(explicit))):
        # user-initiated hand-offs (pay, log in, share, navigate in the vendor's app) are told from
        # starts that wake another app: they are noted in the evidence, and alone make an info
        handoffs, starts = split_handoffs(owner, direct.get(owner, []), background)
        handoffs_e, rest = split_handoffs(owner, explicit.get(owner, []), background)
        handoffs += handoffs_e
        if not starts and not (rest and owner in enumerate_):
            out.append(_handoff_finding(r, res, owner, handoffs))
            continue
        sites = starts
        pattern = "constant-target" if sites else "enumerate-then-start"
        if not sites:
            sites = enumerate_[owner][:MAX_SITES] + rest
        targets = sorted({t for s in starts for t in s["targets"]})
        acts = sorted({a for s in enumerate_.get(owner, []) for a in s["actions"]})
        if targets:
            what_zh, what_en = f"指向 {', '.join(targets[:5])}", f"aimed at {', '.join(targets[:5])}"
        else:
            shown = f"（{', '.join(acts[:3])}）" if acts else ""
            what_zh = f"枚举响应特定 action 的其他应用组件{shown}后显式启动/广播"
            what_en = ("enumerating other apps' components that answer an action"
                       + (f" ({', '.join(acts[:3])})" if acts else "")
                       + ", then starting or broadcasting to explicit components")
        sev = "info" if _apps_own(res, owner) else None
        who = _label(res, owner, sites)
        who_code = who if _unknown(res, owner) else f"{who} code"
        extra = {"handoffs": handoffs[:MAX_SITES]} if handoffs else {}
        out.append(Finding.of(
            r, owner,
            f"{who} 的代码可启动、绑定或广播到其他应用的组件：{what_zh}",
            f"{who_code} can start, bind or broadcast to other apps' components: {what_en}",
            severity=sev, pattern=pattern, targets=targets, actions=acts, sites=sites[:MAX_SITES],
            count=len(starts) or len(rest), **extra))
    return out


_HANDOFF_ZH = {"payment": "支付", "login": "登录", "share": "分享", "navigation": "导航"}


def _handoff_finding(r: Rule, res: ScanResult, owner: str, handoffs: list[dict[str, Any]]) -> Finding:
    kinds = sorted({k for s in handoffs for k in s["kinds"]})
    targets = sorted({t for s in handoffs for t in s["targets"]})
    who = _label(res, owner, handoffs)
    shown = ", ".join(targets[:5]) + (" …" if len(targets) > 5 else "") if targets else "other apps"
    return Finding.of(
        r, owner,
        f"{who} 在用户发起{'/'.join(_HANDOFF_ZH[k] for k in kinds)}时跳转到 {shown}：用户主动发起的跳转，"
        "不属于后台关联启动",
        f"{who} hands off to {shown} for a {'/'.join(kinds)} the user asks for (a user-initiated hand-off, "
        "not a background associated start)",
        severity="info", pattern="user-handoff", targets=targets, kinds=kinds, actions=[],
        sites=handoffs[:MAX_SITES], count=len(handoffs))


@rule("sdk.wakeup-service-exported")
def _wakeup_exported(r: Rule, ctx: Context) -> list[Finding]:
    res = ctx.result
    out = []
    for c in res.package.manifest.components:
        if c.kind not in ("service", "receiver") or not c.exported or c.permission or not c.intent_filters:
            continue
        owner = _owner_of(res, c.name)
        if res.owner_kind(owner) != "sdk":
            continue
        acts = sorted(a for a in c.actions() if not a.startswith("android."))
        if not acts:
            continue
        out.append(Finding.of(
            r, owner,
            f"{_owner_label(res, owner)} 导出组件 {c.name}（{', '.join(acts)}），其他应用可借此唤醒本应用",
            f"{_owner_label(res, owner)} exports {c.name} ({', '.join(acts)}); other apps can wake this app "
            "through it",
            component=c.name, kind=c.kind, actions=acts))
    return out


# -- personal information collected, by whom ----------------------------------------------------


def _pi_uses(r: Rule, ctx: Context, pick: Callable[[Any], Iterable[str]], zh_what: str,
             en_what: str) -> list[Finding]:
    """One finding per owner whose code calls the APIs ``pick`` returns PI types for (the rule's
    own types among the API's: a rule names only what it is about), reflection only: info.

    "App …" speaks only of the app's own namespaces. A library's calls are an ``info`` note naming
    the library: open-source code the app bundles, which collects only when the app uses that
    feature (AppCompat's night mode reads the last known location only if the app asks for
    automatic night mode and holds a location permission) -- the app should check that it does
    not. Unattributed and unidentified code keeps the rule's severity: no one known answers for
    it, and the app ships it. Calls to an API whose gating permission the app does not request
    (certainty ``capability``) cannot return the data: when an owner has only those, an ``info``
    note of the capability, whose PI types are not counted as collected (``pi_types`` empty)."""
    res = ctx.result
    by_owner: dict[str, list[tuple[Any, tuple[str, ...]]]] = {}
    for u in res.api_uses:
        if u.api.weak:
            continue
        pis = tuple(pick(u.api))
        if pis:
            by_owner.setdefault(u.owner, []).append((u, pis))
    out = []
    for owner, picked in sorted(by_owner.items()):
        collecting = [(u, p) for u, p in picked if u.certainty != "capability"]
        able = [(u, p) for u, p in picked if u.certainty == "capability"]
        capable = sorted({x for _, p in able for x in p} - {x for _, p in collecting for x in p})
        missing = sorted({perm for u, _ in able for perm in u.api.permissions})
        shown = collecting or able
        uses = [u for u, _ in shown]
        direct = [u for u in uses if u.certainty == "direct"]
        pis = sorted({x for _, p in collecting for x in p})
        n = sum(u.count for u in uses)
        sites = [{"caller": f"{s.caller_class}.{s.caller_method}", "callee": u.callee, "api": u.api.id,
                  "certainty": u.certainty, "strings": list(s.strings), "dex": s.dex_source}
                 for u in (direct or uses) for s in u.sites]
        library = res.owner_kind(owner) == "library"
        label = _owner_label(res, owner, [s.caller_class for u in uses for s in u.sites])
        if not collecting:
            perms = ", ".join(p.rsplit(".", 1)[-1] for p in missing)
            code = label if _unknown(res, owner) else f"{label} code"
            out.append(Finding.of(
                r, owner,
                f"{label} 的代码可调用相关接口（{', '.join(capable)}），{n} 处；但应用未申请 {perms}，"
                "无法取得数据：属能力而非收集",
                f"{code} can call these APIs ({', '.join(capable)}), {n} call sites, but the app does "
                f"not request {perms}: it cannot get the data (a capability, not collection)",
                severity="info", pi_types=[], capability_pi_types=capable, missing_permissions=missing,
                count=n, owner_kind=res.owner_kind(owner), sites=sites[:MAX_SITES]))
            continue
        extra = {"capability_pi_types": capable, "missing_permissions": missing} if capable else {}
        out.append(Finding.of(
            r, owner,
            f"{label} {zh_what}（{', '.join(pis)}），{n} 处调用" + ("" if direct else "，仅反射可能")
            + ("；开源库代码，仅在应用使用相应功能时采集" if library else ""),
            f"{label} {en_what} ({', '.join(pis)}), {n} call sites" + ("" if direct else ", reflection only")
            + ("; open-source library code, which collects only when the app uses that feature"
               if library else ""),
            severity=None if direct and not library else "info", pi_types=pis, count=n,
            owner_kind=res.owner_kind(owner), sites=sites[:MAX_SITES], **extra))
    return out


def _only(*keys: str) -> Callable[[Any], tuple[str, ...]]:
    """The API's PI types among ``keys``."""
    return lambda a: tuple(p for p in a.pi_types if p in keys)


@functools.cache
def _non_resettable_types() -> frozenset[str]:
    """The PI types the taxonomy (pi_types.yaml) marks non-resettable: IMEI, IMSI, serial, MAC …;
    OAID, VAID, AAID and Android ID are resettable."""
    from qingdan.knowledge.pi import load_pi_types

    return frozenset(k for k, t in load_pi_types().items() if t.non_resettable)


@rule("pi.non-resettable-id")
def _non_resettable_id(r: Rule, ctx: Context) -> list[Finding]:
    return _pi_uses(r, ctx, lambda a: tuple(p for p in a.pi_types if p in _non_resettable_types()),
                    "收集不可变更的设备标识符", "collects non-resettable device identifiers")


@rule("pi.installed-apps")
def _installed_apps(r: Rule, ctx: Context) -> list[Finding]:
    return _pi_uses(r, ctx, _only("installed_apps"), "读取已安装应用列表", "reads the installed-app list")


@rule("pi.running-processes")
def _running_processes(r: Rule, ctx: Context) -> list[Finding]:
    return _pi_uses(r, ctx, _only("running_processes"), "读取运行中的进程/任务",
                    "reads running processes/tasks")


@rule("pi.clipboard")
def _clipboard(r: Rule, ctx: Context) -> list[Finding]:
    return _pi_uses(r, ctx, _only("clipboard"), "读取剪贴板", "reads the clipboard")


@rule("pi.contacts")
def _contacts(r: Rule, ctx: Context) -> list[Finding]:
    return _pi_uses(r, ctx, _only("address_book"), "读取通讯录", "reads contacts")


@rule("pi.sms")
def _sms(r: Rule, ctx: Context) -> list[Finding]:
    return _pi_uses(r, ctx, _only("sms_content", "sms_code"), "访问短信", "reads or sends SMS")


@rule("pi.call-log")
def _call_log(r: Rule, ctx: Context) -> list[Finding]:
    return _pi_uses(r, ctx, _only("call_log"), "读取通话记录", "reads the call log")


# -- ads ----------------------------------------------------------------------------------------


@rule("ad.shake-sensor")
def _shake(r: Rule, ctx: Context) -> list[Finding]:
    res = ctx.result
    ads = {d.sdk.id for d in res.sdks if d.sdk.category == "ads"}
    by_owner: dict[str, list[Any]] = {}
    for u in res.api_uses:
        if u.owner in ads and u.callee.startswith("android.hardware.SensorManager."):
            by_owner.setdefault(u.owner, []).append(u)
    out = []
    for owner, uses in sorted(by_owner.items()):
        n = sum(u.count for u in uses)
        sites = [{"caller": f"{s.caller_class}.{s.caller_method}", "callee": u.callee, "dex": s.dex_source}
                 for u in uses for s in u.sites]
        out.append(Finding.of(
            r, owner,
            f"广告 SDK {_owner_label(res, owner)} 注册运动传感器，可实现“摇一摇”跳转，{n} 处",
            f"ad SDK {_owner_label(res, owner)} listens to motion sensors (shake-to-jump), {n} places",
            count=n, sites=sites[:MAX_SITES]))
    return out


@functools.cache
def _splash_apis() -> tuple[tuple[str, str, str], ...]:
    doc = load_yaml_data("ad_apis.yaml", data_bytes("ad_apis.yaml"))
    out = []
    for e in doc["splash_apis"]:
        desc = "L" + e["class"].replace(".", "/") + ";"
        out.extend((desc, m, e["sdk"]) for m in e["methods"])
    return tuple(out)


@rule("ad.splash-sdk")
def _splash(r: Rule, ctx: Context) -> list[Finding]:
    res = ctx.result
    found: dict[str, list[dict[str, Any]]] = {}
    for d in res.package.dex:
        for desc, name, sdk in _splash_apis():
            for s in d.calls_to(d.find_methods(desc, name)):
                found.setdefault(sdk, []).append({"caller": f"{s.caller_class}.{s.caller_method}",
                                                  "callee": f"{s.callee_class}.{s.callee_method}",
                                                  "dex": d.source})
    out = []
    for sdk, sites in sorted(found.items()):
        owner = sdk if res.sdk(sdk) else APP
        out.append(Finding.of(
            r, owner,
            f"使用 {sdk} 的开屏广告接口（{len(sites)} 处）；请用 qingdan ui check "
            "检查开屏界面的关闭按钮与点击区域",
            f"{sdk}'s splash-ad API is used ({len(sites)} places); check the splash screen with `qingdan ui "
            "check`",
            sdk=sdk, sites=sites[:MAX_SITES], count=len(sites)))
    return out


# -- necessity ----------------------------------------------------------------------------------


@rule("perm.beyond-necessary")
def _beyond_necessary(r: Rule, ctx: Context) -> list[Finding]:
    """A permission the user can refuse (dangerous, or special access) that serves none of the app
    type's necessary PI: none of the PI it reaches is necessary, or the necessary PI it reaches is
    information the user provides rather than the device (the registration phone number:
    ``user_provided`` in app_types.yaml). Install-time permissions are granted without asking and
    cannot be refused, so they are no matter for this rule."""
    if not ctx.app_type:
        return []
    from qingdan.knowledge.app_types import find_app_type, user_provided_pi

    t = find_app_type(ctx.app_type)
    if t is None:  # the CLI refuses unknown types before scanning
        raise ValueError(f"unknown app type {ctx.app_type!r}")
    res = ctx.result
    provided = user_provided_pi()
    out = []
    for p in res.permissions:
        if not p.pi_types or p.protection not in ("dangerous", "special"):
            continue
        if any(pi in t.necessary_pi and pi not in provided for pi in p.pi_types):
            continue  # the permission serves some necessary information
        outside = [pi for pi in p.pi_types if pi not in t.necessary_pi]
        given = [pi for pi in p.pi_types if pi in t.necessary_pi]
        users = p.used_by or [APP]
        short = p.name.rsplit(".", 1)[-1]
        out.append(Finding.of(
            r, users[0] if len(users) == 1 else APP,
            f"{t.zh}的必要个人信息不包括 {short}（{p.zh or ''}）所涉的 {', '.join(outside)}"
            + (f"；{', '.join(given)} 由用户提供，无需该权限" if given else "")
            + "；拒绝该权限不得影响基本功能",
            f"{p.name} reaches {', '.join(outside)}, outside the necessary information of {t.en} apps"
            + (f" ({', '.join(given)}: given by the user, not read from the device)" if given else "")
            + "; refusing it must not block the basic function",
            permission=p.name, pi_types=outside, user_provided=given, app_type=t.key, used_by=users))
    return out


# -- security basics ----------------------------------------------------------------------------


@rule("sec.debuggable")
def _debuggable(r: Rule, ctx: Context) -> list[Finding]:
    if not ctx.result.package.manifest.debuggable:
        return []
    return [Finding.of(r, APP, "application 设置了 android:debuggable=\"true\"",
                     "the application sets android:debuggable=\"true\"", attribute="android:debuggable")]


@rule("sec.cleartext-traffic")
def _cleartext(r: Rule, ctx: Context) -> list[Finding]:
    m = ctx.result.package.manifest
    if not m.uses_cleartext_traffic or m.network_security_config:
        return []
    how_zh = "显式设置" if m.cleartext_explicit else f"targetSdkVersion {m.target_sdk} 的默认值"
    how_en = "set explicitly" if m.cleartext_explicit else f"the default for target SDK {m.target_sdk}"
    return [Finding.of(r, APP, f"允许明文 HTTP（{how_zh}），且无网络安全配置",
                     f"cleartext HTTP is allowed ({how_en}) with no network security config",
                     explicit=m.cleartext_explicit, target_sdk=m.target_sdk)]


@rule("sec.allow-backup-pi")
def _backup(r: Rule, ctx: Context) -> list[Finding]:
    res = ctx.result
    if not res.package.manifest.allow_backup:
        return []
    # code evidence by the app, its SDKs or code no one is known for; library code collects only
    # when the app uses that feature (as in the lists draft), and a call without its gating
    # permission is no collection at all (pi_summary leaves it out)
    collected = sorted(pi for pi, cols in res.pi_summary.items()
                       if any(e.kind == "api" and e.certainty == "direct" for c in cols for e in c.evidence
                              if res.owner_kind(c.owner) != "library"))
    if not collected:
        return []
    return [Finding.of(r, APP,
                     f"允许备份（allowBackup），而应用收集个人信息：{', '.join(collected[:8])}",
                     "backup is allowed while the app collects personal information: "
                     f"{', '.join(collected[:8])}",
                     pi_types=collected)]


@rule("sec.exported-unprotected")
def _exported(r: Rule, ctx: Context) -> list[Finding]:
    res = ctx.result
    callers = res.sensitive_callers
    out = []
    for c in res.package.manifest.components:
        if c.kind not in ("service", "receiver", "provider") or not c.exported or c.permission:
            continue
        handles = c.name in callers
        owner = _owner_of(res, c.name)
        out.append(Finding.of(
            r, owner,
            f"{c.kind} {c.name} 对外导出且无权限保护" + ("，并调用敏感 API" if handles else ""),
            f"{c.kind} {c.name} is exported without a permission"
            + (" and calls sensitive APIs" if handles else ""),
            severity=None if handles else "info", component=c.name, kind=c.kind, handles_pi=handles))
    return out


@rule("sec.low-target-sdk")
def _low_target(r: Rule, ctx: Context) -> list[Finding]:
    t = ctx.result.package.manifest.target_sdk
    if t >= 30:
        return []
    sev = "warn" if t < 23 else "info"
    return [Finding.of(r, APP,
                     f"targetSdkVersion 为 {t}"
                       + ("，危险权限在安装时一次性授予" if t < 23 else "，低于应用商店普遍要求的 30"),
                     f"target SDK is {t}" + (": dangerous permissions are all granted at install" if t < 23
                                              else ", below the 30 stores generally require"),
                     severity=sev, target_sdk=t)]


# the pre-consent rules live beside the call graph they read; importing registers them
from qingdan.checks import consent_rules as _consent_rules  # noqa: E402,F401
