"""The verdict the review service suggests for a scanned submission, with its reasons.

An open block finding suggests rejecting; an open warn, a closer look; nothing open, approving. A packed
submission (加固: an open ``sec.packed`` finding) is never suggested for approval: its real code is
encrypted, so what it collects could not be checked, and the store should ask for an unpacked build.
The decision itself is :func:`qingdan.report.summary.suggestion` (the folder scan's CSV column too).
"""

from __future__ import annotations

from typing import Any

from qingdan.report.summary import suggestion

DECISIONS = ("approve", "review", "reject")


def verdict_suggestion(rep: dict[str, Any]) -> dict[str, Any]:
    """``{"decision", "rules", "reason_zh", "reason_en"}`` for a scan report (``qingdan.report/1``)."""
    decision = suggestion(rep)
    open_ = [f for f in rep.get("findings", []) if not f["accepted"]]
    packed = next((f for f in open_ if f["rule"] == "sec.packed"), None)
    blocks = sorted({f["rule"] for f in open_ if f["severity"] == "block"})
    warns = sorted({f["rule"] for f in open_ if f["severity"] == "warn"})
    zh: list[str] = []
    en: list[str] = []
    rules: list[str] = []
    if packed is not None:
        pk = rep.get("packing") or {}
        name = pk.get("name") or packed["evidence"].get("packer_name") or "加固"
        name_en = pk.get("name_en") or pk.get("packer") or "a packer"
        zh.append(f"应用经{name}加固，真实代码已加密、未能检查：请开发者提交未加固的构建后再审核。")
        en.append(f"The app is packed with {name_en}: its real code is encrypted and was not checked; "
                  "ask the developer for an unpacked build and review that.")
        rules.append("sec.packed")
    if blocks:
        zh.append(f"存在阻断级问题：{'、'.join(blocks)}。")
        en.append(f"Open block findings: {', '.join(blocks)}.")
        rules.extend(r for r in blocks if r not in rules)
    if decision == "review" and packed is None:
        zh.append(f"存在需审核员确认的问题：{'、'.join(warns)}。")
        en.append(f"Open warnings for the reviewer to weigh: {', '.join(warns)}.")
    if decision == "approve":
        zh.append("没有未处理的阻断或警告级问题。")
        en.append("No open block or warn findings.")
    return {"decision": decision, "rules": rules, "reason_zh": "".join(zh), "reason_en": " ".join(en)}
