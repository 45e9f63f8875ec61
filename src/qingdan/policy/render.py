"""The four-way comparison as one self-contained HTML page (no scripts, every string escaped)."""

from __future__ import annotations

from html import escape

from qingdan.policy.check import VIEWS, Comparison

_VIEW_ZH = {"declared": "清单声明 declared", "detected": "扫描发现 detected",
            "disclosed": "政策说明 disclosed", "observed": "台账记录 observed"}
_CSS = """body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:.35rem .5rem;\
vertical-align:top;text-align:left}
th{background:#f0f0f0}tr.mismatch{background:#fff4e5}.mm{font-weight:bold;color:#8a3b00}
td.na{color:#888}summary{cursor:pointer}details ul{margin:.2rem 0;padding-left:1.1rem;font-size:.9em}"""


def _cell(c) -> str:
    if c is None:
        return '<td class="na">— n/a</td>'
    mark = ("≈ 仅厂商名 by vendor name" if c.by == "vendor" else "✓ yes") if c.present else "✗ no"
    if not c.evidence:
        return f"<td>{mark}</td>"
    items = "".join(f"<li>{escape(e)}</li>" for e in c.evidence)
    return f"<td><details><summary>{mark}</summary><ul>{items}</ul></details></td>"


def render_comparison(cmp_: Comparison, title: str = "") -> str:
    head = "".join(f"<th scope=\"col\">{escape(_VIEW_ZH[v])}</th>" for v in VIEWS)
    body = []
    for kind, caption in (("pi", "个人信息种类 PI types"), ("third_party", "第三方 / SDK third parties")):
        rows = [r for r in cmp_.rows if r.kind == kind]
        body.append(f'<tr><th colspan="6" scope="rowgroup">{escape(caption)} ({len(rows)})</th></tr>')
        for r in rows:
            cls = ' class="mismatch"' if r.mismatches else ""
            mm = (("<span class=\"mm\">⚠ MISMATCH: " + escape("; ".join(r.mismatches)) + "</span>")
                  if r.mismatches else "consistent" + (" (disclosed by vendor name)"
                                                         if r.cells["disclosed"].by == "vendor" else ""))
            sens = " <em>(敏感 sensitive)</em>" if r.sensitive else ""
            cells = "".join(_cell(r.cells[v]) for v in VIEWS)
            body.append(f"<tr{cls}><th scope=\"row\">{escape(r.label)}{sens}<br>"
                        f"<code>{escape(r.key)}</code></th>"
                        f"{cells}<td>{mm}</td></tr>")
    n = sum(1 for r in cmp_.rows if r.mismatches)
    missing = [v for v, ok in cmp_.views.items() if not ok]
    note = f"<p>Views not given: {escape(', '.join(missing))} (shown as n/a).</p>" if missing else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>四方一致性 · {escape(title)}</title><style>{_CSS}</style></head>
<body><h1>四方一致性对照 Four-way consistency</h1>
<p>{escape(title)} · {len(cmp_.rows)} rows · <strong>{n} with mismatches</strong></p>{note}
<table><thead><tr><th scope="col">item</th>{head}<th scope="col">result</th></tr></thead>
<tbody>{"".join(body)}</tbody></table></body></html>
"""
