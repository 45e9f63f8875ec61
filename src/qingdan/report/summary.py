"""A concise terminal summary of a scan (English, with the Chinese names of data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qingdan.checks.findings import SEVERITIES, SEVERITY_ORDER


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _short_perm(name: str) -> str:
    return name.rsplit(".", 1)[-1] if name.startswith(("android.permission.", "com.android.")) else name


def summary_lines(rep: dict[str, Any], lang: str | None = "en") -> list[str]:
    """Lines of the terminal summary, built from the JSON report document; findings in ``lang``."""
    app, inp, sig = rep["app"], rep["input"], rep["signing"]
    out: list[str] = []
    ver = f"{app['version_name'] or '?'} ({app['version_code'] if app['version_code'] is not None else '?'})"
    out.append(f"{app['package'] or '(no package)'} {ver}  {app['label'] or ''}".rstrip())
    signer = ""
    if sig["certificates"]:
        signer = f" ({sig['certificates'][0]['subject'] or sig['certificates'][0]['sha256'][:16]})"
    signed = f"signed {'+'.join(sig['schemes'])}{signer}" if sig["signed"] else "unsigned"
    out.append(f"  file      {Path(inp['path']).name} · {inp['kind']} · {_size(inp['size'])} · "
               f"sha256 {inp['sha256'][:16]}… · {signed}")
    pk = rep.get("packing")
    if pk:
        name = f"{pk['name_en'] or pk['name']} {pk['name_zh'] or ''}".strip()
        out.append(f"  PACKED    {name} ({pk['packer']}): the real code is encrypted and unseen;")
        out.append("            code-based sections (SDKs, API uses, PI from code) cover only the shell;")
        out.append("            manifest evidence is used in full; ask for an unpacked build (sec.packed)")
    names = app["sdk_codenames"]
    sdk = (f"min {app['min_sdk']}{' (' + names['min'] + ')' if 'min' in names else ''}"
           f" · target {app['target_sdk']}")
    sdk += f"{' (' + names['target'] + ')' if 'target' in names else ''}"
    if app["compile_sdk"]:
        sdk += f" · compile {app['compile_sdk']}"
    out.append(f"  sdk       {sdk}")
    pc = rep["permission_counts"]
    counts = " · ".join(f"{pc[k]} {k}" for k in ("dangerous", "normal", "signature", "special", "unknown")
                        if pc[k])
    out.append(f"  perms     {len(rep['permissions'])}" + (f": {counts}" if counts else ""))
    dangerous = [p for p in rep["permissions"] if p["protection"] in ("dangerous", "special")]
    if dangerous:
        shown = ", ".join(f"{_short_perm(p['name'])} {p['zh'] or ''}".strip() for p in dangerous[:8])
        more = f" (+{len(dangerous) - 8})" if len(dangerous) > 8 else ""
        out.append(f"            {shown}{more}")
    kinds = {"activity": 0, "service": 0, "receiver": 0, "provider": 0}
    for c in rep["components"]:
        kinds["activity" if c["kind"] == "activity-alias" else c["kind"]] += 1
    exported_open = sum(1 for n in rep["components_of_note"]
                        if n["reason"] == "exported without permission")
    plural = {"activity": "activities"}
    parts = [f"{n} {kind if n == 1 else plural.get(kind, kind + 's')}" for kind, n in kinds.items()]
    out.append(f"  comps     {' · '.join(parts)}; exported without permission: {exported_open}")
    for n in rep["components_of_note"]:
        if n["reason"].startswith("system broadcast"):
            out.append(f"            {n['kind']} {n['name']}: {n['reason']}")
    a = rep["application"]
    flags = [k for k, on in (("debuggable", a["debuggable"]), ("allowBackup", a["allow_backup"]),
                             ("usesCleartextTraffic", a["uses_cleartext_traffic"])) if on]
    if a["network_security_config"]:
        flags.append("networkSecurityConfig")
    out.append(f"  flags     {' · '.join(flags) if flags else 'none'}")
    dt = rep["dex_totals"]
    nested = sum(1 for d in rep["dex"] if d["nested"])
    files = (f"{dt['files'] - nested} file{'s' if dt['files'] - nested != 1 else ''}"
             + (f" + {nested} nested" if nested else ""))
    out.append(f"  dex       {files} · {_size(dt['size'])} · {dt['classes']} classes · "
               f"{dt['method_refs']} method refs · {dt['call_sites']} call sites")
    if rep["sdks"]:
        shown = [d for d in rep["sdks"] if d["confidence"] != "low"]
        low = len(rep["sdks"]) - len(shown)
        out.append(f"  sdks      {len(shown)}" + (f" (+{low} low-confidence)" if low else ""))
        observed: dict[str, list[str]] = {}
        for item in rep["pi_summary"]:
            for c in item["collectors"]:
                if any(e["kind"] == "api" for e in c["evidence"]):
                    observed.setdefault(c["owner"], []).append(item["pi_type"])
        for d in shown[:12]:
            pis = observed.get(d["id"])
            if pis:
                pi_text = ", ".join(pis)
            else:
                pi_text = ", ".join(d["pi_types"][:6]) + " (per its policy)" if d["pi_types"] else "-"
            ex = f" · {d['exodus']['attribution']}" if d.get("source") == "exodus" else ""
            out.append(f"            {d['id']} {d['name']} · {d['company'] or 'company unknown'} · "
                       f"PI: {pi_text}{ex}")
        if len(shown) > 12:
            out.append(f"            … {len(shown) - 12} more in the report")
    if rep.get("owners"):
        kinds: dict[str, int] = {}
        for o in rep["owners"]:
            kinds[o["kind"]] = kinds.get(o["kind"], 0) + o["classes"]
        attributed = sum(ru["classes"] for o in rep["owners"] for ru in o["rules"]
                         if ru["rule"] in ("manifest-superclass", "vendor-root", "call-edges", "strings"))
        order = ("app", "sdk", "library", "unattributed", "unidentified")
        shown = " · ".join(f"{k} {kinds[k]}" for k in order if kinds.get(k))
        out.append(f"  owners    {shown} classes"
                   + (f" ({attributed} obfuscated tied to an owner by evidence)" if attributed else ""))
    if rep["libraries"]:
        libs = [d["name"] for d in rep["libraries"] if d["confidence"] != "low"]
        out.append(f"  libraries {len(libs)}: {', '.join(libs[:10])}"
                   + (" …" if len(libs) > 10 else ""))
    if rep.get("unidentified"):
        un = rep["unidentified"]
        out.append(f"  unknown   {len(un)} namespace{'s' if len(un) > 1 else ''} no known SDK claims: "
                   + " · ".join(f"{g['namespace']} ({g['classes']})" for g in un[:5])
                   + (" …" if len(un) > 5 else ""))
    app_pi = [i["pi_type"] for i in rep["pi_summary"]
              if any(c["owner"] == "app" and any(e["kind"] == "api" for e in c["evidence"])
                     for c in i["collectors"])]
    if app_pi:
        out.append(f"  app PI    {', '.join(app_pi)}")
    # collection by code that is not the app's own, by kind of owner: never folded into "app PI"
    labels = (("library", "lib PI   "), ("unattributed", "unattr PI"), ("unidentified", "unid PI  "))
    for kind, label in labels:
        by_owner: dict[str, list[str]] = {}
        for i in rep["pi_summary"]:
            for c in i["collectors"]:
                if c.get("owner_kind") == kind and any(e["kind"] == "api" for e in c["evidence"]):
                    by_owner.setdefault(c["owner"], []).append(i["pi_type"])
        if by_owner:
            text = "; ".join(f"{o}: {', '.join(p)}" if kind == "library" else ", ".join(p)
                             for o, p in sorted(by_owner.items()))
            out.append(f"  {label} {text}")
    fc = rep["finding_counts"]
    if rep["findings"]:
        parts = [f"{fc[k]} {k}" for k in SEVERITIES if fc[k]]
        acc = f" ({fc['accepted']} accepted)" if fc["accepted"] else ""
        out.append(f"  findings  {' · '.join(parts) or 'none open'}{acc}")
        shown = sorted((f for f in rep["findings"] if not f["accepted"] and f["severity"] != "info"),
                       key=lambda f: (SEVERITY_ORDER[f["severity"]], f["rule"], f["owner"]))
        for f in shown[:10]:
            out.append(f"            [{f['severity']}] {f['rule']}: "
                       + (f["message_zh"] if lang == "zh" else f["message_en"]))
        if len(shown) > 10:
            out.append(f"            … {len(shown) - 10} more in the report")
    if rep["native_libs"]:
        by_abi: dict[str, list[str]] = {}
        for n in rep["native_libs"]:
            by_abi.setdefault(n["abi"], []).append(n["name"])
        libs = sorted({n["name"] for n in rep["native_libs"]})
        out.append(f"  native    {', '.join(sorted(by_abi))}: {', '.join(libs[:8])}"
                   + (f" (+{len(libs) - 8})" if len(libs) > 8 else ""))
    if rep.get("payloads"):
        shown = ", ".join(f"{p['path']} ({p['kind']})" for p in rep["payloads"][:4])
        more = " …" if len(rep["payloads"]) > 4 else ""
        out.append(f"  payloads  {len(rep['payloads'])}: {shown}{more}")
    if rep["package_prefixes"]:
        out.append("  prefixes  " + " · ".join(f"{p['prefix']} ({p['classes']})"
                                              for p in rep["package_prefixes"][:8]))
    if rep["warnings"]:
        out.append(f"  warnings  {len(rep['warnings'])}: {rep['warnings'][0]}"
                   + (" …" if len(rep["warnings"]) > 1 else ""))
    return out


def one_line(rep: dict[str, Any]) -> str:
    """One summary line for folder scans."""
    app = rep["app"]
    pc = rep["permission_counts"]
    return (f"{app['package']} {app['version_name'] or '?'} · {len(rep['permissions'])} perms "
            f"({pc['dangerous']} dangerous) · {len(rep['components'])} components · "
            f"{rep['dex_totals']['classes']} classes"
            + (f" · {len(rep['warnings'])} warnings" if rep["warnings"] else ""))


def suggestion(rep: dict[str, Any]) -> str:
    """What a reviewer would likely decide: an open block finding → reject; an open warn → review.
    A packed build (an open ``sec.packed``) → reject: its code could not be checked; ask for an
    unpacked one."""
    fc = rep["finding_counts"]
    packed = any(f["rule"] == "sec.packed" and not f["accepted"] for f in rep["findings"])
    return "reject" if fc["block"] or packed else "review" if fc["warn"] else "approve"


# the columns of a folder scan's CSV summary, in order
FOLDER_COLUMNS = ["file", "ok", "error", "package", "version", "suggestion", "permissions", "dangerous",
                  "components", "classes", "sdks", "block", "warn", "info", "warnings"]


def folder_row(file: str, rep: dict[str, Any]) -> dict[str, Any]:
    """One scanned package's row in a folder scan's summary."""
    fc = rep["finding_counts"]
    return {
        "file": file, "ok": True, "error": "", "package": rep["app"]["package"],
        "version": rep["app"]["version_name"], "permissions": len(rep["permissions"]),
        "dangerous": rep["permission_counts"]["dangerous"], "components": len(rep["components"]),
        "classes": rep["dex_totals"]["classes"],
        "sdks": " ".join(d["id"] for d in rep["sdks"] if d["confidence"] != "low"),
        "block": fc["block"], "warn": fc["warn"], "info": fc["info"],
        "suggestion": suggestion(rep),
        "warnings": len(rep["warnings"]),
    }
