"""Between two versions of an app: SDKs, permissions, PI types and findings added and removed."""

from __future__ import annotations

from typing import Any


def _pi_owners(rep: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """PI type → who collects it by a direct API call: the app, an SDK id or a library, with its kind."""
    out: dict[str, list[dict[str, Any]]] = {}
    for p in rep["pi_summary"]:
        for c in p["collectors"]:
            if any(e["kind"] == "api" and e["certainty"] == "direct" for e in c["evidence"]):
                kind = c.get("owner_kind") or ("app" if c["owner"] == "app" else None)
                out.setdefault(p["pi_type"], []).append({"owner": c["owner"], "kind": kind})
    return out


def _keys(rep: dict[str, Any]) -> dict[str, set]:
    return {
        "sdks": {d["id"] for d in rep["sdks"] if d["confidence"] != "low"},
        "permissions": {p["name"] for p in rep["permissions"]},
        "pi_types": set(_pi_owners(rep)),
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
    # who collects each added PI type (in the new version) and each removed one (in the old)
    new_owners, old_owners = _pi_owners(new), _pi_owners(old)
    out["pi_types"]["owners"] = {**{pi: old_owners[pi] for pi in out["pi_types"]["removed"]},
                                 **{pi: new_owners[pi] for pi in out["pi_types"]["added"]}}
    return out


def _owners_text(owners: list[dict[str, Any]]) -> str:
    return ", ".join(o["owner"] if o["owner"] == "app" else f"{o['owner']} ({o['kind'] or 'sdk'})"
                     for o in owners)


def diff_lines(d: dict[str, Any], lang: str = "en") -> list[str]:
    """The terminal lines of a diff; an added or removed finding with its rule's title in ``lang``,
    a PI type with who collects it."""
    from qingdan.knowledge.rules import load_rules

    rules = load_rules()

    def title(rid: str) -> str:
        r = rules.get(rid)
        return "" if r is None else " " + (r.title_zh if lang == "zh" else r.title_en)

    owners = d["pi_types"].get("owners", {})
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
        if k == "findings":
            def fmt(f):
                return f"[{f['severity']}] {f['rule']} ({f['owner']}){title(f['rule'])}"
        elif k == "pi_types":
            def fmt(pi):
                return f"{pi}: {_owners_text(owners[pi])}" if owners.get(pi) else pi
        else:
            fmt = str
        for x in add:
            lines.append(f"  {label:<9} + {fmt(x)}")
        for x in rem:
            lines.append(f"  {label:<9} - {fmt(x)}")
    return lines
