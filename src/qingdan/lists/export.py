"""The double lists as files for regulators and stores: export(dl, fmt, out) writes json,
``csv`` or ``xlsx``:

* ``json``: ``{"schema": "qingdan.lists/1", "app": {...}, "collected": [...], "shared": [...]}``,
  items with their model fields plus PI names (``pi_zh``/``pi_en``, category, sensitivity);
* ``csv``: two files, ``<out>-collected.csv`` and ``<out>-shared.csv`` (a trailing ``.csv`` of
  ``out`` is dropped), UTF-8 with BOM, Chinese headers — the two lists have different columns, as
  in the published lists, so one file per list. A cell starting with ``= + - @``, tab or CR gets a
  leading ``'`` so spreadsheet programs do not read it as a formula;
* ``xlsx``: one workbook, sheets 已收集个人信息清单 and 与第三方共享个人信息清单, the CSV
  columns, header bold and frozen, every cell stored as text (never a formula).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qingdan._io import csv_cell, output_target, write_atomic
from qingdan.knowledge.pi import load_pi_categories, pi_type
from qingdan.lists.model import COLLECTION_METHODS, SCHEMA_ID, SHARING_METHODS, DoubleList
from qingdan.lists.render import sdk_label

__all__ = ["EXPORT_FORMATS", "SHEETS", "export"]

EXPORT_FORMATS = ("json", "csv", "xlsx")

# --------------------------------------------------------------------------------------------
# exports

_COLLECTED_COLUMNS = [
    ("category_zh", "信息分类"),
    ("pi_zh", "个人信息"),
    ("pi_type", "类型代码"),
    ("sensitive_zh", "敏感个人信息"),
    ("purpose", "使用目的"),
    ("scenario", "使用场景"),
    ("method_zh", "收集方式"),
    ("collector_zh", "收集方"),
    ("permission", "涉及权限"),
    ("retention", "保存期限"),
    ("note", "备注"),
]
_SHARED_COLUMNS = [
    ("third_party", "第三方名称"),
    ("company", "第三方主体"),
    ("pi_zh_joined", "共享的个人信息"),
    ("pi_types_joined", "类型代码"),
    ("purpose", "使用目的"),
    ("scenario", "使用场景"),
    ("method_zh", "共享方式"),
    ("sdk", "SDK 标识"),
    ("policy_url", "第三方隐私政策"),
    ("contact", "联系方式"),
    ("note", "备注"),
]
SHEETS = ("已收集个人信息清单", "与第三方共享个人信息清单")


def _export_data(dl: DoubleList) -> dict[str, Any]:
    cats = load_pi_categories()
    a = dl.app
    app = {"name": a.name, "package": a.package, "operator": a.operator, "contact": a.contact,
           "policy_url": a.policy_url, "updated": a.updated, "version": a.version}
    collected = []
    for c in dl.collected:
        t = pi_type(c.pi_type)
        cat = cats.get(t.category) if t else None
        if c.collector == "app":
            collector_zh = "App 自身"
        else:
            name, company = sdk_label(c.collector, dl, "zh-CN")
            collector_zh = f"第三方 SDK：{name}" + (f"（{company}）" if company else "")
        collected.append({
            "pi_type": c.pi_type,
            "pi_zh": t.zh if t else None,
            "pi_en": t.en if t else None,
            "category": t.category if t else None,
            "category_zh": cat.zh if cat else None,
            "sensitive": t.sensitive if t else None,
            "purpose": c.purpose,
            "scenario": c.scenario,
            "method": c.method,
            "method_zh": COLLECTION_METHODS.get(c.method, (c.method,))[0],
            "collector": c.collector,
            "collector_zh": collector_zh,
            "permission": c.permission,
            "retention": c.retention,
            "note": c.note,
        })
    shared = []
    for s in dl.shared:
        names = []
        for key in s.pi_types:
            t = pi_type(key)
            names.append(t.zh if t else key)
        shared.append({
            "third_party": s.third_party,
            "company": s.company,
            "pi_types": list(s.pi_types),
            "pi_zh": names,
            "purpose": s.purpose,
            "scenario": s.scenario,
            "method": s.method,
            "method_zh": SHARING_METHODS.get(s.method, (s.method,))[0],
            "sdk": s.sdk,
            "policy_url": s.policy_url,
            "contact": s.contact,
            "note": s.note,
        })
    return {"schema": SCHEMA_ID, "app": app, "collected": collected, "shared": shared}


def _table_rows(data: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    sens = {"true": "是", "false": "否", "context": "视场景而定", None: ""}
    collected = [[h for _k, h in _COLLECTED_COLUMNS]]
    for c in data["collected"]:
        row = dict(c, sensitive_zh=sens.get(c["sensitive"], ""))
        row["category_zh"] = row["category_zh"] or "其他信息"
        row["pi_zh"] = row["pi_zh"] or c["pi_type"]
        collected.append([_cell(row[k]) for k, _h in _COLLECTED_COLUMNS])
    shared = [[h for _k, h in _SHARED_COLUMNS]]
    for s in data["shared"]:
        row = dict(s, pi_zh_joined="、".join(s["pi_zh"]), pi_types_joined=";".join(s["pi_types"]))
        shared.append([_cell(row[k]) for k, _h in _SHARED_COLUMNS])
    return collected, shared


def _cell(v: Any) -> str:
    return "" if v is None else str(v)


def _csv_bytes(rows: Iterable[list[str]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    for i, row in enumerate(rows):
        w.writerow(row if i == 0 else [csv_cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _xlsx_bytes(dl: DoubleList, collected: list[list[str]], shared: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = f"{dl.app.name} 个人信息双清单"
    wb.properties.creator = "qingdan"
    widths = {"使用目的": 40, "使用场景": 32, "备注": 24, "第三方隐私政策": 36, "收集方": 28,
              "第三方主体": 28, "共享的个人信息": 28}
    for title, rows in zip(SHEETS, (collected, shared), strict=True):
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=c)
                cell.value = value
                cell.data_type = "s"  # text, never a formula, whatever the value starts with
                if r == 1:
                    cell.font = Font(bold=True)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        for c, head in enumerate(rows[0], start=1):
            ws.column_dimensions[get_column_letter(c)].width = widths.get(head, 16)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(rows[0]))}{max(len(rows), 1)}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export(dl: DoubleList, fmt: str, out: str | Path) -> list[Path]:
    """Write ``dl`` as ``fmt`` (json, csv, xlsx) to ``out``; return the files written.

    For ``csv`` ``out`` is a prefix: ``<out>-collected.csv`` and ``<out>-shared.csv``.
    """
    fmt = fmt.lower().strip()
    out = Path(out)
    data = _export_data(dl)
    if fmt == "json":
        write_atomic(out, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        return [out]
    collected, shared = _table_rows(data)
    if fmt == "csv":
        stem = out.name[:-4] if out.name.lower().endswith(".csv") else out.name
        paths = [out.with_name(f"{stem}-collected.csv"), out.with_name(f"{stem}-shared.csv")]
        for path in paths:
            output_target(path)  # both writable kinds of file, or neither is written
        for path, rows in zip(paths, (collected, shared), strict=True):
            write_atomic(path, _csv_bytes(rows))
        return paths
    if fmt == "xlsx":
        write_atomic(out, _xlsx_bytes(dl, collected, shared))
        return [out]
    raise ValueError(f"export: unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
