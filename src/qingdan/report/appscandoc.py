"""``docs/appscan.md``: AppScan's 82 check items and how qingdan covers each (generated; a test keeps it
current). ``python -m qingdan.report.appscandoc > docs/appscan.md``."""

from __future__ import annotations

from collections import Counter

from qingdan.knowledge.appscan import STATUSES, load_appscan_items
from qingdan.knowledge.rules import load_rules

_MEANING = {
    "auto": "qingdan decides the item unattended from the package, the policy, the lists or a UI dump",
    "partial": "qingdan's rules cover part of it; the line says what is left",
    "open": "checkable from the package, the policy, the lists or a UI dump, but not yet a rule",
    "runtime": "needs the running app (or a person's judgement); the line says why",
}


def appscan_markdown() -> str:
    items = load_appscan_items()
    rules = load_rules()
    n = Counter(i.status for i in items)
    out = ["# AppScan's 82 check items in qingdan", "",
           "[AppScan](https://github.com/TongchengOpenSource/AppScan) (Apache-2.0) is the tool China's "
           "testing labs and app makers use for the MIIT actions: it records what an app does on a rooted "
           "phone and a person marks each of its 82 items. This table (generated from "
           "`src/qingdan/knowledge/data/appscan_items.yaml`) says which of them qingdan checks and how.", "",
           "| status | items | meaning |", "|---|---|---|"]
    out += [f"| {s} | {n.get(s, 0)} | {_MEANING[s]} |" for s in STATUSES]
    out += ["", "| # | item | group | status | qingdan rules | how |", "|---|---|---|---|---|---|"]
    for i in items:
        rs = ", ".join(f"`{r}` ({rules[r].severity})" for r in i.rules) or "—"
        title = i.title.replace("|", "\\|")
        out.append(f"| {i.n} | {title} | {i.type} | {i.status} | {rs} | {i.why.replace('|', '/')} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(appscan_markdown(), end="")
