"""Draft ``privacy-lists.yaml`` from a scan: the rows a person then completes.

A collected row needs evidence for that PI type from that owner: a call, a field read or a content
URI in the owner's code (library code makes no row, only a comment; code that neither the app's
namespaces nor any known SDK hold makes a row whose collector is ``TODO``). A requested permission
with no such code is evidence only for the types its grant gives as such (``alone_pi_types`` of
``permissions.yaml``: CAMERA → pictures, not face data; READ_PHONE_STATE → none of its identifiers),
an app row whose comment says so; its other types get a comment, not a row. Types that do not exist
on Android (``platforms`` of ``pi_types.yaml``: IDFA, IDFV) are never drafted.

One shared row per embedded SDK with its company and privacy-policy URL from the knowledge base.
Its PI types are what the SDK's code is seen to take in this app, plus the types the catalogue
records from the SDK's own policy (``pi_types`` of ``sdks.yaml``), each item commented with which of
the two it is, so a person deletes the stated ones the app does not let the SDK take.

Purposes and scenarios are a person's to write: they are left as ``TODO``, and ``lists check``
refuses a file that still has one; an SDK row's purpose is drafted from the catalogue where the
SDK's policy states one, with a comment asking to confirm it.
"""

from __future__ import annotations

import datetime as _dt
import json

from qingdan.checks.scan import ScanResult
from qingdan.checks.sdks import APP
from qingdan.knowledge.permissions import permission_info
from qingdan.knowledge.pi import load_pi_types
from qingdan.lists.model import SCHEMA_ID, TODO

PLATFORM = "android"  # qingdan drafts from APKs


def _q(v: str | None) -> str:
    """A YAML scalar (JSON strings are valid YAML)."""
    return "null" if v is None else json.dumps(v, ensure_ascii=False)


def _purpose(s) -> str:
    """The purpose line of an SDK's shared row: the catalogue's purpose (as the SDK's own policy
    states it), marked as a suggestion to confirm, or ``TODO``."""
    if not s.purpose:
        return f"    purpose: {_q(TODO)}"
    return f"    purpose: {_q(s.purpose)}   # suggested from the SDK's own policy (catalogue): confirm"


def observed_collection(r: ScanResult) -> dict[tuple[str, str], list[str]]:
    """(PI type, owner) → evidence lines, for what the code directly collects (weak APIs left out)."""
    out: dict[tuple[str, str], list[str]] = {}
    for pi, collectors in r.pi_summary.items():
        for c in collectors:
            lines = []
            for e in c.evidence:
                if e.kind == "api" and e.certainty == "direct":
                    lines.append(f"{e.detail} ×{e.count} e.g. {e.where}")
            if lines:
                out[(pi, c.owner)] = lines
    return out


def draft_yaml(r: ScanResult, today: _dt.date | None = None) -> str:
    pkg = r.package
    pis = load_pi_types()

    def here(pi: str) -> bool:  # the type can exist in this app (no IDFA on Android)
        return pi not in pis or pis[pi].on(PLATFORM)

    perm_of: dict[str, str] = {}
    for p in r.permissions:
        for pi in p.pi_types:
            perm_of.setdefault(pi, p.name)
    out = [
        "# 个人信息保护双清单 (qingdan.lists/1) — drafted by `qingdan lists draft` from the scan of",
        f"# {pkg.path} ({pkg.package} {pkg.manifest.version_name or ''}, sha256 {pkg.sha256[:16]}…).",
        "# Fill every TODO (purpose 使用目的, scenario 使用场景, operator, contact); `qingdan lists check` "
        "refuses TODOs.",
        "# Rows for information users type in themselves (phone number, name, address…) are yours to add "
        "(method: provided).",
        f"schema: {SCHEMA_ID}",
        "app:",
        f"  name: {_q(pkg.label or pkg.package)}",
        f"  package: {_q(pkg.package)}",
        f"  operator: {_q(TODO)}   # 运营者 (the company responsible)",
        f"  contact: {_q(TODO)}   # privacy contact: e-mail, phone or address",
        f"  policy_url: {_q(TODO)}",
        f"  updated: {_q((today or _dt.date.today()).isoformat())}",
        f"  version: {_q(pkg.manifest.version_name)}",
        "collected:",
    ]
    observed_all_owners = observed_collection(r)
    # library code makes no row (it collects for the app only when the app uses that feature: a
    # comment says so); code no one is known for makes a row whose collector a person names
    library = {k: v for k, v in observed_all_owners.items() if r.owner_kind(k[1]) == "library"}
    observed = {k: v for k, v in observed_all_owners.items() if k not in library and here(k[0])}
    unknown = {k for k in observed if r.owner_kind(k[1]) in ("unattributed", "unidentified")}
    # a requested dangerous permission with no code use: a row only for the types its grant gives
    # as such, for a person to confirm or delete; its other types need code, so a comment only
    requested: dict[tuple[str, str], list[str]] = {}
    not_drafted: dict[str, list[str]] = {}
    for p in r.permissions:
        if p.protection not in ("dangerous", "special"):
            continue
        info = permission_info(p.name)
        alone = info.alone_pi_types if info else ()
        for pi in p.pi_types:
            if any(k[0] == pi for k in observed) or not here(pi):
                continue
            if pi in alone:
                requested.setdefault((pi, APP), [
                    f"permission {p.name} is requested: its grant alone gives the app this; no code use "
                    "found — confirm or delete"])
            else:
                not_drafted.setdefault(p.name, []).append(pi)
    rows = sorted({**requested, **observed},
                  key=lambda k: (pis[k[0]].category if k[0] in pis else "", k[0], k[1] != APP, k[1]))
    observed_all = {**requested, **observed}
    if not rows:
        out[-1] = "collected: []"
    written: set[tuple[str, str]] = set()
    for pi, owner in rows:
        t = pis.get(pi)
        collector = TODO if (pi, owner) in unknown else owner
        if (pi, collector) in written or (collector == TODO and (pi, APP) in written):
            # an app row already stands for this PI: the unknown owner's evidence goes under it
            out.append(f"  #   also by {owner} code:")
            out.extend(f"  #   {line}" for line in observed_all[(pi, owner)][:3])
            continue
        written.add((pi, collector))
        who = ("the app (permission only)" if (pi, owner) in requested else "the app" if owner == APP
               else f"{owner} code (not the app's namespace, no SDK known): name the collector, app or an "
               "SDK id" if collector == TODO else f"SDK {owner}")
        out.append(f"  # {t.zh if t else pi}{' [敏感]' if t and t.sensitive == 'true' else ''} — collected "
                   f"by {who}:")
        out.extend(f"  #   {line}" for line in observed_all[(pi, owner)][:3])
        perm = perm_of.get(pi)
        out += [
            f"  - pi_type: {pi}",
            f"    purpose: {_q(TODO)}",
            f"    scenario: {_q(TODO)}",
            f"    method: {'permission' if perm else 'automatic'}",
            f"    collector: {_q(collector) if collector == TODO else collector}",
        ]
        if perm:
            out.append(f"    permission: {perm}")
    for perm, types in not_drafted.items():
        rest = [t for t in types if (t, APP) not in requested]
        if rest:
            out.append(f"  # not drafted: permission {perm} reaches {', '.join(rest)} only through code that "
                       "reads them, and none was found — add a row for each the app takes")
    for (pi, owner), lines in sorted(library.items()):
        out.append(f"  # not drafted: library {owner} code reaches {pi} ({lines[0]}); it runs only when "
                   "the app uses that feature — add an app row if it does")
    shared = [d for d in r.sdks if d.confidence != "low"]
    out.append("shared:" if shared else "shared: []")
    for d in shared:
        s = d.sdk
        seen = sorted({pi for (pi, owner) in observed if owner == s.id})
        stated = [p for p in s.pi_types if p in pis and here(p) and p not in seen]
        comps = d.evidence.components[:2]
        out.append(f"  # {s.name}: {d.confidence} confidence — {d.evidence.classes} classes"
                   + (f", components {', '.join(comps)}" if comps else ""))
        out += [
            f"  - third_party: {_q(s.name)}",
            f"    company: {_q(s.company or TODO)}",
            f"    sdk: {s.id}",
        ]
        if seen or stated:
            out.append("    pi_types:")
            out += [f"      - {pi}   # seen: its code takes it in this app" for pi in seen]
            out += [f"      - {pi}   # its own policy states it (catalogue), not seen here: confirm or delete"
                    for pi in stated]
        else:
            out.append(f"    pi_types: [{TODO}]")
        out += [
            _purpose(s),
            f"    scenario: {_q(TODO)}",
            "    method: sdk_local",
            f"    policy_url: {_q(s.policy_url or TODO)}",
        ]
    return "\n".join(out) + "\n"
