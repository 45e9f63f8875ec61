"""The self-contained HTML report: one file, no external assets, every app string escaped."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from qingdan.checks.findings import SEVERITY_ORDER

_env = Environment(
    loader=PackageLoader("qingdan.report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _size(n: int) -> str:
    f = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if f < 1024 or unit == "GiB":
            return f"{int(f)} B" if unit == "B" else f"{f:.1f} {unit}"
        f /= 1024
    return str(n)


_env.filters["size"] = _size


def _groups(rep: dict[str, Any]) -> tuple[list, list]:
    """Findings grouped by regulation clause and by owner (app first, then each SDK)."""
    by_ref: dict[tuple[str, str], dict[str, Any]] = {}
    by_owner: dict[str, dict[str, Any]] = {}
    order = SEVERITY_ORDER
    for f in sorted(rep.get("findings", []), key=lambda f: (f["accepted"], order[f["severity"]], f["rule"])):
        for ref in f["refs"]:
            g = by_ref.setdefault((ref["doc"], ref["item"]),
                                  {"doc_zh": ref["doc_zh"], "doc_en": ref.get("doc_en"), "item": ref["item"],
                                   "findings": []})
            g["findings"].append(f)
        g = by_owner.setdefault(f["owner"],
                                {"owner": f["owner"], "name": f["owner_name"], "company": f["company"],
                                             "findings": []})
        g["findings"].append(f)
    refs = sorted(by_ref.values(),
                  key=lambda g: (min(order[f["severity"]] for f in g["findings"]), g["doc_zh"], g["item"]))
    owners = sorted(by_owner.values(), key=lambda g: (g["owner"] != "app", g["owner"]))
    return refs, owners


def render_html(rep: dict[str, Any], lang: str | None = None) -> str:
    """The report page. ``lang`` "zh" or "en": its fixed labels, findings' messages and fixes in that
    language; None: both side by side (the pages of the review service)."""
    def t(zh: str, en: str) -> str:
        return zh if lang == "zh" else en if lang == "en" else f"{zh} {en}"

    by_ref, by_owner = _groups(rep)
    return _env.get_template("report.html.j2").render(r=rep, by_ref=by_ref, by_owner=by_owner, lang=lang,
                                                      t=t)
