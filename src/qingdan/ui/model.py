"""The plain model of one captured screen: what a UI dump says, independent of its format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Box = tuple[int, int, int, int]  # left, top, right, bottom in screen pixels


@dataclass(slots=True)
class Node:
    index: int  # position in document order
    cls: str
    text: str
    desc: str
    rid: str  # resource id, "pkg:id/name" or ""
    package: str
    clickable: bool
    visible: bool
    bounds: Box
    parent: int | None
    depth: int

    @property
    def width(self) -> int:
        return max(0, self.bounds[2] - self.bounds[0])

    @property
    def height(self) -> int:
        return max(0, self.bounds[3] - self.bounds[1])

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def rid_name(self) -> str:
        """The id without its package: ``tt_splash_skip_btn``."""
        return self.rid.rsplit("/", 1)[-1] if self.rid else ""

    def label(self) -> str:
        """A short, human name for reports: id, else text, else class."""
        what = self.rid or (f'"{self.text[:30]}"' if self.text else "") or self.cls.rsplit(".", 1)[-1]
        return f"{what} [{self.bounds[0]},{self.bounds[1]}][{self.bounds[2]},{self.bounds[3]}]"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "class": self.cls, "text": self.text, "content_desc": self.desc,
                "resource_id": self.rid, "clickable": self.clickable, "bounds": list(self.bounds)}


@dataclass(slots=True)
class ScreenFacts:
    source: str
    format: str  # "uiautomator" or "gkd"
    width: int
    height: int
    density: float
    density_note: str  # "given (--density)" or how it was estimated
    nodes: list[Node]
    package: str | None = None
    activity: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def area(self) -> int:
        return max(1, self.width * self.height)

    def children(self, idx: int) -> list[Node]:
        return [n for n in self.nodes if n.parent == idx]

    def ancestors(self, node: Node) -> list[Node]:
        out, p = [], node.parent
        while p is not None:
            out.append(self.nodes[p])
            p = self.nodes[p].parent
        return out

    def descendants(self, node: Node) -> list[Node]:
        out, todo = [], [node.index]
        while todo:
            kids = self.children(todo.pop())
            out.extend(kids)
            todo.extend(k.index for k in kids)
        return out

    def dp(self, px: float) -> float:
        return px / self.density

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "format": self.format, "width": self.width, "height": self.height,
                "density": self.density, "density_note": self.density_note, "package": self.package,
                "activity": self.activity, "nodes": len(self.nodes), "warnings": list(self.warnings)}
