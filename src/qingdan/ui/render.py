"""The ``ui check`` report: one self-contained HTML page, each screen drawn with its findings boxed."""

from __future__ import annotations

import base64
import io
from html import escape

from qingdan.checks.findings import Finding
from qingdan.ui.model import ScreenFacts

COLOURS = {"block": "#d1242f", "warn": "#bf8700", "info": "#0969da"}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _png_data_uri(im) -> str:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _svg(s: ScreenFacts, findings: list[Finding], screenshot=None) -> str:
    w, h = s.width, s.height
    stroke = max(2, w // 240)
    font = max(12, w // 22)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" '
             f'aria-label="{escape(s.source)}" class="screen">']
    if screenshot is not None:
        parts.append(f'<image href="{_png_data_uri(screenshot)}" x="0" y="0" width="{w}" height="{h}" '
                     'preserveAspectRatio="none"/>')
    else:
        parts.append(f'<rect x="0" y="0" width="{w}" height="{h}" fill="#f6f8fa" stroke="#57606a" '
                     f'stroke-width="{stroke}"/>')
        for n in s.nodes:  # the layout, faintly
            if n.visible and n.area and (n.text or n.clickable or n.rid):
                x1, y1, x2, y2 = n.bounds
                parts.append(f'<rect x="{x1}" y="{y1}" width="{x2 - x1}" height="{y2 - y1}" fill="none" '
                             f'stroke="#d0d7de" stroke-width="{max(1, stroke // 2)}"/>')
    boxes: dict[tuple, list[Finding]] = {}
    for f in findings:
        b = f.evidence.get("bounds")
        if b and f.rule_id != "ui.splash-or-popup":
            boxes.setdefault(tuple(b), []).append(f)
    for (x1, y1, x2, y2), fs in boxes.items():
        c = COLOURS.get(fs[0].severity, "#0969da")
        parts.append(f'<rect x="{x1}" y="{y1}" width="{max(1, x2 - x1)}" height="{max(1, y2 - y1)}" '
                     f'fill="{c}" '
                     f'fill-opacity="0.08" stroke="{c}" stroke-width="{stroke * 2}"/>')
        below = y2 + font * len(fs) + 4 < h and (y2 - y1) < font * 3
        for j, f in enumerate(fs):
            ty = (y2 + font * (j + 1)) if below else (y1 + font * (j + 1) + 4)
            tx = min(max(0, x1 + stroke * 2), max(0, w - font * 11))
            parts.append(f'<text x="{tx}" y="{ty}" font-size="{font}" font-family="sans-serif" '
                         f'fill="{COLOURS.get(f.severity, c)}" stroke="#fff" '
                         f'stroke-width="{max(1, font // 8)}" '
                         f'paint-order="stroke">{escape(f.rule_id)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_ui_report(screens: list[tuple[ScreenFacts, list[Finding], object]]) -> str:
    """``screens``: (facts, findings, screenshot image or None) per dump."""
    out = ['<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>qingdan ui check</title><style>"
           "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2328}"
           ".shot{display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start;margin-bottom:2rem}"
           ".screen{width:320px;height:auto;border:1px solid #d0d7de}"
           "table{border-collapse:collapse;font-size:.9rem;max-width:60rem}td,th{border:1px solid "
           "#d0d7de;padding:.3rem .5rem;"
           "text-align:left;vertical-align:top}.block{color:#d1242f}.warn{color:#bf8700}.info{color:#0969da}"
           "small{color:#57606a}</style></head><body>",
           "<h1>qingdan ui check · 开屏与弹窗检查</h1>"]
    for s, findings, shot in screens:
        out.append(f"<h2>{escape(s.source)}</h2>")
        meta = (f"{s.format} · {s.width}×{s.height} px · density {s.density} ({escape(s.density_note)})"
                + (f" · {escape(s.package)}" if s.package else "")
                + (f" · {escape(s.activity)}" if s.activity else ""))
        out.append(f"<p><small>{meta}</small></p>")
        for w in s.warnings:
            out.append(f"<p><small>note: {escape(w)}</small></p>")
        out.append('<div class="shot">' + _svg(s, findings, shot))
        if findings:
            out.append("<table><tr><th>severity</th><th>rule</th><th>finding</th><th>measured · threshold · "
                       "source</th></tr>")
            for f in findings:
                e = f.evidence
                thr = " · ".join(escape(str(e[k])) for k in ("measured", "threshold", "source")
                                 if e.get(k) not in (None, ""))
                out.append(f'<tr><td class="{escape(f.severity)}">{escape(f.severity)}</td>'
                           f'<td><code>{escape(f.rule_id)}</code></td>'
                           f"<td>{escape(f.message_zh)}<br><small>{escape(f.message_en)}</small></td>"
                           f"<td><small>{thr}</small></td></tr>")
            out.append("</table>")
        else:
            out.append("<p>No splash screen or popup recognised; nothing to check. "
                       "未识别出开屏页或弹窗。</p>")
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out)
