"""ScanResult → the ``qingdan.report/1`` JSON document (schema: ``report.schema.json``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from qingdan import __version__
from qingdan._io import write_atomic  # noqa: F401 - its old home, still imported from here
from qingdan.apk.dex import SCANNER
from qingdan.checks.attribution import PLATFORM
from qingdan.checks.findings import count_by_severity, finding_dict  # noqa: F401 - finding_dict: its old home
from qingdan.checks.scan import ScanResult

SCHEMA_ID = "qingdan.report/1"


def report_schema() -> dict[str, Any]:
    return json.loads(resources.files("qingdan.report").joinpath("report.schema.json").read_text("utf-8"))


def to_dict(r: ScanResult) -> dict[str, Any]:
    pkg = r.package
    m = pkg.manifest
    dex_rows = [
        {
            "source": d.source, "size": d.size, "version": d.version, "classes": d.n_classes,
            "method_refs": d.n_methods, "field_refs": d.n_fields, "strings": d.n_strings,
            "const_strings": d.n_const_strings, "defined_methods": d.n_defined_methods,
            "code_methods": d.n_code_methods, "call_sites": d.n_call_sites,
            "nested": "!/" in d.source or not d.source.startswith("classes"),
        }
        for d in pkg.dex
    ]
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "qingdan", "version": __version__, "dex_scanner": SCANNER},
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "input": {
            "path": pkg.path, "file_name": Path(pkg.path).name, "kind": pkg.kind, "sha256": pkg.sha256,
            "size": pkg.size, "entries": pkg.entry_count, "splits": pkg.splits,
        },
        "app": {
            "package": m.package, "label": pkg.label, "labels": pkg.labels,
            "version_name": m.version_name, "version_code": m.version_code,
            "min_sdk": m.min_sdk, "target_sdk": m.target_sdk, "compile_sdk": m.compile_sdk,
            "sdk_codenames": m.sdk_codenames, "shared_user_id": m.shared_user_id,
        },
        "signing": {
            "signed": pkg.signing.signed, "schemes": pkg.signing.schemes,
            "certificates": [
                {"subject": c.subject, "issuer": c.issuer, "sha256": c.sha256, "serial": c.serial,
                 "not_before": c.not_before, "not_after": c.not_after, "scheme": c.scheme}
                for c in pkg.signing.certificates
            ],
        },
        "permissions": [
            {"name": p.name, "protection": p.protection, "zh": p.zh, "en": p.en, "group": p.group,
             "pi_types": list(p.pi_types), "max_sdk": p.max_sdk, "sdk23": p.sdk23, "used_by": p.used_by}
            for p in r.permissions
        ],
        "permission_counts": r.permission_counts,
        "declared_permissions": [{"name": k, "protection": v} for k, v in m.declared_permissions.items()],
        "application": {
            "name": m.application_name, "debuggable": m.debuggable, "allow_backup": m.allow_backup,
            "uses_cleartext_traffic": m.uses_cleartext_traffic, "cleartext_explicit": m.cleartext_explicit,
            "network_security_config": m.network_security_config, "process": m.app_process,
            "meta_data": m.app_meta_data,
        },
        "components": [
            {
                "kind": c.kind, "name": c.name, "exported": c.exported,
                "exported_explicit": c.exported_explicit, "enabled": c.enabled, "process": c.process,
                "permission": c.permission,
                "intent_filters": [
                    {"actions": f.actions, "categories": f.categories, "data": f.data, "priority": f.priority}
                    for f in c.intent_filters
                ],
                "meta_data": c.meta_data, "authorities": c.authorities,
                "target_activity": c.target_activity, "direct_boot_aware": c.direct_boot_aware,
            }
            for c in m.components
        ],
        "components_of_note": [{"kind": n.kind, "name": n.name, "reason": n.reason}
                               for n in r.components_of_note],
        "queries": m.queries,
        "features": m.features,
        "dex": dex_rows,
        "dex_totals": {
            "files": len(dex_rows), "size": sum(d["size"] for d in dex_rows),
            "classes": sum(d["classes"] for d in dex_rows),
            "method_refs": sum(d["method_refs"] for d in dex_rows),
            "call_sites": sum(d["call_sites"] for d in dex_rows),
        },
        "package_prefixes": [{"prefix": p, "classes": n} for p, n in r.package_prefixes],
        "sdks": [_sdk(d) for d in r.sdks],
        "libraries": [
            {"id": d.sdk.id, "name": d.sdk.name, "category": d.sdk.category, "confidence": d.confidence,
             "classes": d.evidence.classes, "prefixes": d.evidence.prefixes}
            for d in r.libraries
        ],
        "owners": _owners(r),
        "unidentified": [{"namespace": g.namespace, "classes": g.classes, "sample_classes": g.sample_classes}
                         for g in r.unidentified],
        "api_uses": _api_uses(r),
        "pi_summary": _pi_summary(r),
        "findings": [f.to_dict(r) for f in r.findings],
        "finding_counts": count_by_severity(r.findings),
        "native_libs": [{"abi": n.abi, "name": n.name, "size": n.size, "source": n.source}
                        for n in pkg.native_libs],
        "assets": pkg.assets,
        "payloads": [{"path": x.path, "size": x.size, "kind": x.kind, "source": x.source}
                     for x in pkg.payloads],
        "packing": r.packing.to_dict() if r.packing is not None else None,
        "consent": _consent(r),
        "warnings": r.warnings,
    }


def _consent(r: ScanResult) -> dict[str, Any] | None:
    """What runs before the user agrees (``scan --consent``), or None when it was not searched."""
    v = r.consent
    if v is None:
        return None

    def entry(e) -> dict[str, str]:
        return {"kind": e.kind, "component": e.component, "method": e.method, "why": e.why}

    owner = (lambda c: r.owners.owner(c.rpartition(".")[0])) if r.owners is not None else (lambda c: "app")
    return {
        "entries": [entry(e) for e in v.entries],
        "gates": [{"method": m, "why": w} for m, w in v.gates],
        "before_consent": [{"api": u.api_id, "pi_types": list(u.pi_types), "callee": u.callee,
                            "caller": u.caller, "owner": owner(u.caller), "entry": entry(u.entry),
                            "path": u.path} for u in v.uses],
        "sdk_inits": [{"sdk": i.sdk, "method": i.method, "caller": i.caller, "entry": entry(i.entry),
                       "path": i.path} for i in v.inits],
        "sdk_switches": v.switched,
        "unresolved": [{"method": m, "why": w} for m, w in sorted(v.unresolved.items())],
        "reachable_methods": len(v.reachable),
    }


def _sdk(d) -> dict[str, Any]:
    s, e, t = d.sdk, d.evidence, d.exodus
    return {
        "id": s.id, "name": s.name, "name_zh": s.name_zh, "name_en": s.name_en, "company": s.company,
        "country": s.country, "category": s.category, "confidence": d.confidence, "version": d.version,
        "pi_types": list(s.pi_types), "policy_url": s.policy_url,
        "evidence": {"classes": e.classes, "sample_classes": e.sample_classes, "prefixes": e.prefixes,
                     "components": e.components, "declared_only": e.declared_only,
                     "native_libs": e.native_libs, "meta_data": e.meta_data,
                     "actions": e.actions, "permissions": e.permissions, "dex_sources": e.dex_sources,
                     "supporting": e.supporting},
        "exodus": {"id": t.id, "name": t.name, "url": t.url, "attribution": t.attribution} if t else None,
        "source": "exodus" if "exodus" in s.sources else "catalogue",
    }


MAX_SITES = 5


def _api_uses(r: ScanResult) -> list[dict[str, Any]]:
    """Sensitive API uses grouped by (API, owner, certainty): a count and a few call sites."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for u in r.api_uses:
        key = (u.api.id, u.owner, u.certainty)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {
                "api": u.api.id, "zh": u.api.zh, "en": u.api.en, "pi_types": list(u.api.pi_types),
                "permission": u.api.permission, "owner": u.owner, "owner_kind": r.owner_kind(u.owner),
                "certainty": u.certainty,
                "non_resettable": u.api.non_resettable, "weak": u.api.weak, "count": 0, "sites": [],
                "reachable": None if r.consent is None else False,
            }
        g["count"] += u.count
        for s in u.sites:
            if r.consent is not None and (s.caller_class, s.caller_method) in r.consent.reachable:
                g["reachable"] = True
            if len(g["sites"]) < MAX_SITES:
                g["sites"].append({"caller_class": s.caller_class, "caller_method": s.caller_method,
                                   "callee": u.callee, "how": u.how, "dex_source": s.dex_source,
                                   "strings": list(s.strings), "attribution": _rule_of(r, s.caller_class)})
    return list(groups.values())


def _rule_of(r: ScanResult, class_name: str) -> str | None:
    return r.owners.attribution(class_name).rule if r.owners is not None else None


def _owner_name(r: ScanResult, owner: str, kind: str) -> str:
    d = r.sdk(owner) or r.library(owner)
    if d is not None:
        return d.sdk.name
    return {"app": "App", "unattributed": "unattributed (obfuscated, no evidence)",
            "unidentified": "unidentified (no catalogue match)"}.get(kind, owner) \
        if owner != PLATFORM else "AndroidX / support / Kotlin / Java runtime code"


def _owners(r: ScanResult) -> list[dict[str, Any]]:
    """Classes per owner (app, SDKs, libraries, unattributed, unidentified), with the rules that
    attributed them and a few sample classes for each rule."""
    return [
        {"owner": c.owner, "kind": c.kind, "name": _owner_name(r, c.owner, c.kind), "classes": c.classes,
         "rules": [{"rule": rule, "classes": n,
                    "samples": [{"class": cls, "detail": detail} for cls, detail in c.samples.get(rule, [])]}
                   for rule, n in sorted(c.rules.items(), key=lambda kv: -kv[1])]}
        for c in r.owner_counts
    ]


def _pi_summary(r: ScanResult) -> list[dict[str, Any]]:
    from qingdan.knowledge.pi import pi_type

    out = []
    for key, collectors in r.pi_summary.items():
        info = pi_type(key)
        out.append({
            "pi_type": key, "zh": info.zh if info else None, "en": info.en if info else None,
            "sensitive": info.sensitive if info else None,
            "collectors": [
                {"owner": c.owner, "owner_kind": r.owner_kind(c.owner),
                 "evidence": [{"kind": e.kind, "detail": e.detail, "certainty": e.certainty, "where": e.where,
                               "count": e.count} for e in c.evidence]}
                for c in collectors
            ],
        })
    return out


def dumps(r: ScanResult) -> str:
    return json.dumps(to_dict(r), ensure_ascii=False, indent=2)
