"""Read UI dumps — Android ``uiautomator dump`` XML and GKD JSON snapshots — into :class:`ScreenFacts`.

Both readers are defensive: files over :data:`MAX_DUMP_BYTES` are refused before reading, XML with a
DOCTYPE or entities is refused (dumps never have them; this closes entity expansion), and every
problem surfaces as :class:`UiError` with a one-line reason.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from qingdan.ui.model import Box, Node, ScreenFacts

MAX_DUMP_BYTES = 20 << 20  # 20 MiB: real dumps are tens of KiB
MAX_NODES = 100_000
DUMP_SUFFIXES = (".xml", ".json")
# Android's standard logical densities (DisplayMetrics: mdpi … xxxhdpi, with 420/440/560 dpi)
STANDARD_DENSITIES = (1.0, 1.5, 2.0, 2.625, 2.75, 3.0, 3.5, 4.0)
# Phones are 360–412 dp wide (412 dp: Pixel and Samsung flagships, 360 dp: the common minimum).
MAX_PHONE_DP_WIDTH = 412
_BOUNDS = re.compile(r"^\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]$")


class UiError(Exception):
    """A dump that cannot be read; ``str()`` is the one-line reason."""


def estimate_density(width: int, height: int) -> tuple[float, str]:
    """The smallest standard density that makes the short side at most 412 dp wide.

    Smallest, so that the dp sizes reported are the largest the device could have: a control is
    only called too small when it is too small at the most generous density the screen allows.
    1440 px → 3.5 (411 dp), 1080 px → 2.625 (411 dp), 720 px → 2.0 (360 dp).
    """
    short = min(width, height)
    for d in STANDARD_DENSITIES:
        if short / d <= MAX_PHONE_DP_WIDTH:
            return d, (f"estimated from the {short} px short side: the smallest standard density giving "
                       f"≤ {MAX_PHONE_DP_WIDTH} dp ({short / d:.0f} dp); give --density to override")
    d = STANDARD_DENSITIES[-1]
    return d, f"estimated: {short} px is wider than any phone at {d}; give --density"


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UiError(exc.strerror or str(exc)) from None
    if size > MAX_DUMP_BYTES:
        raise UiError(f"{size} bytes is over the {MAX_DUMP_BYTES >> 20} MiB limit for a UI dump")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_DUMP_BYTES + 1)
    except OSError as exc:
        raise UiError(exc.strerror or str(exc)) from None
    if len(data) > MAX_DUMP_BYTES:
        raise UiError(f"over the {MAX_DUMP_BYTES >> 20} MiB limit for a UI dump")
    return data


def _parse_bounds(s: str) -> Box:
    m = _BOUNDS.match(s.strip())
    if not m:
        raise UiError(f"bad bounds {s[:40]!r} (want [x1,y1][x2,y2])")
    x1, y1, x2, y2 = (int(v) for v in m.groups())
    return x1, y1, x2, y2


def _truthy(v: Any) -> bool:
    return v is True or (isinstance(v, str) and v.lower() == "true")


def parse_uiautomator(data: bytes) -> tuple[list[Node], dict[str, Any]]:
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise UiError("XML with a DOCTYPE or entities is refused (uiautomator dumps have none)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise UiError(f"not well-formed XML ({exc})") from None
    if root.tag != "hierarchy":
        raise UiError(f"not a uiautomator dump (root element <{root.tag[:40]}>, want <hierarchy>)")
    nodes: list[Node] = []

    def walk(el: ET.Element, parent: int | None, depth: int) -> None:
        stack = [(el, parent, depth)]
        while stack:
            e, par, dep = stack.pop()
            if e.tag != "node":
                continue
            if len(nodes) >= MAX_NODES:
                raise UiError(f"more than {MAX_NODES} nodes")
            a = e.attrib
            n = Node(index=len(nodes), cls=a.get("class", ""), text=a.get("text", ""),
                     desc=a.get("content-desc", ""),
                     rid=a.get("resource-id", ""), package=a.get("package", ""),
                     clickable=_truthy(a.get("clickable")),
                     visible=a.get("visible-to-user", "true") != "false",
                     bounds=_parse_bounds(a.get("bounds", "")),
                     parent=par, depth=dep)
            nodes.append(n)
            stack.extend((c, n.index, dep + 1) for c in reversed(list(e)))

    for top in root:
        walk(top, None, 0)
    return nodes, {"rotation": root.get("rotation")}


def parse_gkd(data: bytes) -> tuple[list[Node], dict[str, Any]]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UiError(f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise UiError("not a GKD snapshot (no \"nodes\" list)")
    raw = doc["nodes"]
    if len(raw) > MAX_NODES:
        raise UiError(f"more than {MAX_NODES} nodes")
    by_id: dict[Any, int] = {}
    nodes: list[Node] = []
    for i, r in enumerate(raw):
        if not isinstance(r, dict) or not isinstance(r.get("attr"), dict):
            raise UiError(f"nodes[{i}]: want an object with an \"attr\" object")
        a = r["attr"]
        try:
            box = tuple(int(a[k]) for k in ("left", "top", "right", "bottom"))
        except (KeyError, TypeError, ValueError):
            raise UiError(f"nodes[{i}]: missing or non-integer left/top/right/bottom") from None
        by_id[r.get("id", i)] = i
        nodes.append(Node(index=i, cls=str(a.get("name") or ""), text=str(a.get("text") or ""),
                          desc=str(a.get("desc") or ""), rid=str(a.get("id") or ""),
                          package=str(doc.get("appId") or ""),
                          clickable=a.get("clickable") is True,
                          visible=a.get("visibleToUser", True) is not False,
                          bounds=box, parent=None, depth=int(a.get("depth") or 0)))  # type: ignore[arg-type]
    for i, r in enumerate(raw):
        pid = r.get("pid")
        if pid is not None and pid != -1 and pid in by_id and by_id[pid] != i:
            nodes[i].parent = by_id[pid]
    # a parent cycle would hang the tree walks: cut it
    for n in nodes:
        seen, p = {n.index}, n.parent
        while p is not None:
            if p in seen:
                n.parent = None
                break
            seen.add(p)
            p = nodes[p].parent
    meta = {"screen": (doc.get("screenWidth"), doc.get("screenHeight")), "package": doc.get("appId"),
            "activity": doc.get("activityId")}
    return nodes, meta


def read_dump(path: str | Path, density: float | None = None) -> ScreenFacts:
    """One dump file → :class:`ScreenFacts`; the format is told from the content, not the name."""
    p = Path(path)
    data = _read_bytes(p)
    start = data.lstrip()[:1]
    if start == b"<":
        nodes, meta = parse_uiautomator(data)
        fmt = "uiautomator"
    elif start in (b"{", b"\xef"):
        nodes, meta = parse_gkd(data)
        fmt = "gkd"
    else:
        raise UiError("neither a uiautomator XML dump nor a GKD JSON snapshot")
    if not nodes:
        raise UiError("the dump has no nodes")
    tops = [n for n in nodes if n.parent is None] or nodes
    width = max(n.bounds[2] for n in tops)
    height = max(n.bounds[3] for n in tops)
    sw, sh = meta.get("screen", (None, None))
    if isinstance(sw, int) and isinstance(sh, int) and sw > 0 and sh > 0:
        width, height = sw, sh
    if width <= 0 or height <= 0:
        raise UiError("the root bounds give no screen size")
    warnings: list[str] = []
    if density is not None:
        if not 0.5 <= density <= 8:
            raise UiError(f"--density {density} is outside 0.5–8")
        note = "given (--density)"
    else:
        density, note = estimate_density(width, height)
    if not any(n.clickable for n in nodes):
        warnings.append("no node is marked clickable (a converted dump may have lost the flags): "
                        "clickable areas (ui.fullscreen-jump) cannot be judged")
    pkg = meta.get("package") or next((n.package for n in nodes if n.package), None)
    return ScreenFacts(source=str(path), format=fmt, width=width, height=height, density=density,
                       density_note=note,
                       nodes=nodes, package=pkg, activity=meta.get("activity"), warnings=warnings)


def dump_files(folder: Path) -> list[Path]:
    """The dumps below a folder (``.xml`` and ``.json``), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DUMP_SUFFIXES)
