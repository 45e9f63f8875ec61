"""Between two versions of an app: SDKs, permissions, PI types and findings added and removed."""

from __future__ import annotations

from typing import Any


def _keys(rep: dict[str, Any]) -> dict[str, set]:
    return {
        "sdks": {d["id"] for d in rep["sdks"] if d["confidence"] != "low"},
        "permissions": {p["name"] for p in rep["permissions"]},
        "pi_types": {p["pi_type"] for p in rep["pi_summary"]
                     if any(e["kind"] == "api" and e["certainty"] == "direct" for c in p["collectors"]
                            for e in c["evidence"])},
        "findings": {(f["rule"], f["owner"]) for f in rep["findings"] if not f["accepted"]},
    }


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    a, b = _keys(old), _keys(new)
    out: dict[str, Any] = {
        "schema": "qingdan.diff/1",
        "old": {"package": old["app"]["package"], "version_name": old["app"]["version_name"],
                "version_code": old["app"]["version_code"], "sha256": old["input"]["sha256"]},
        "new": {"package": new["app"]["package"], "version_name": new["app"]["version_name"],
                "version_code": new["app"]["version_code"], "sha256": new["input"]["sha256"]},
    }
    # a packed side's code-based differences are the shell's, not the app's
    out["packing"] = {side: (rep.get("packing") or {}).get("packer")
                      for side, rep in (("old", old), ("new", new))}
    sev = {(f["rule"], f["owner"]): f["severity"] for f in old["findings"] + new["findings"]}
    for k in ("sdks", "permissions", "pi_types", "findings"):
        added, removed = sorted(b[k] - a[k]), sorted(a[k] - b[k])
        if k == "findings":
            added = [{"rule": r, "owner": o, "severity": sev[(r, o)]} for r, o in added]
            removed = [{"rule": r, "owner": o, "severity": sev[(r, o)]} for r, o in removed]
        out[k] = {"added": added, "removed": removed}
    return out


def diff_lines(d: dict[str, Any]) -> list[str]:
    o, n = d["old"], d["new"]
    lines = [f"{o['package']} {o['version_name']} ({o['version_code']}) → {n['package']} {n['version_name']} "
             f"({n['version_code']})"]
    if o["package"] != n["package"]:
        lines.append("  note      the two packages have different names")
    for side, packer in (d.get("packing") or {}).items():
        if packer:
            lines.append(f"  note      the {side} package is packed ({packer}): its code-based sections "
                         "cover only the shell")
    for k, label in (("sdks", "SDKs"), ("permissions", "perms"), ("pi_types", "PI"),
                     ("findings", "findings")):
        add, rem = d[k]["added"], d[k]["removed"]
        if not add and not rem:
            lines.append(f"  {label:<9} unchanged")
            continue
        fmt = (lambda f: f"[{f['severity']}] {f['rule']} ({f['owner']})") if k == "findings" else str
        for x in add:
            lines.append(f"  {label:<9} + {fmt(x)}")
        for x in rem:
            lines.append(f"  {label:<9} - {fmt(x)}")
    return lines
