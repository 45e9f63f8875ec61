"""The double lists (个人信息保护"双清单") as plain data.

Declared in ``privacy-lists.yaml`` (format ``qingdan.lists/1``, JSON Schema in
``lists/privacy-lists.schema.json``), drafted from a scan, checked against scans, policies and
ledger records, and rendered as the pages of the app's secondary menu.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_ID = "qingdan.lists/1"

# How the information is collected (收集方式)
COLLECTION_METHODS = {
    "provided": ("用户主动提供", "Provided by the user"),
    "automatic": ("自动采集", "Collected automatically"),
    "permission": ("经授权后采集（系统权限）", "Collected with a system permission"),
    "third_party": ("从第三方获取", "Obtained from a third party"),
}
# How it reaches a third party (共享方式)
SHARING_METHODS = {
    "sdk_local": ("SDK本机采集", "Collected on the device by the SDK"),
    "api_transfer": ("接口传输", "Transferred through an API"),
}
TODO = "TODO"
# the row fields a draft leaves TODO for a person to fill
_ROW_FIELDS = ("purpose", "scenario", "company", "third_party", "collector", "policy_url", "pi_type")


@dataclass(slots=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(slots=True)
class AppInfo:
    name: str
    package: str | None = None
    operator: str | None = None  # 运营者 (the company responsible)
    contact: str | None = None  # privacy contact: e-mail, phone or address
    policy_url: str | None = None
    updated: str | None = None  # ISO date of this version of the lists
    version: str | None = None


@dataclass(slots=True)
class CollectedItem:
    pi_type: str  # a key of the PI taxonomy
    purpose: str  # 使用目的
    scenario: str  # 使用场景
    method: str  # a COLLECTION_METHODS key
    collector: str = "app"  # "app" or an SDK id (the 292 notice: lists include what SDKs collect)
    permission: str | None = None
    retention: str | None = None  # 保存期限
    note: str | None = None
    pos: Position | None = None


@dataclass(slots=True)
class SharedItem:
    third_party: str  # 第三方名称 (product or SDK name as shown)
    company: str  # 第三方主体 (legal entity)
    pi_types: list[str]
    purpose: str
    scenario: str
    method: str  # a SHARING_METHODS key
    sdk: str | None = None  # an SDK id of the catalogue, when the third party is an SDK
    policy_url: str | None = None
    contact: str | None = None
    note: str | None = None
    pos: Position | None = None


@dataclass(slots=True)
class DoubleList:
    app: AppInfo
    collected: list[CollectedItem] = field(default_factory=list)
    shared: list[SharedItem] = field(default_factory=list)
    source: str = ""  # the file it was read from

    def collectors(self) -> set[str]:
        return {c.collector for c in self.collected}

    def sdk_ids(self) -> set[str]:
        return {s.sdk for s in self.shared if s.sdk}

    def todos(self) -> list[tuple[str, AppInfo | CollectedItem | SharedItem, list[str]]]:
        """Every place still ``TODO``: ``("app", app, [fields])``, then ``(kind, row, [fields])`` for
        each collected or shared row that has one (``pi_types`` when the list holds a TODO)."""
        out: list[tuple[str, AppInfo | CollectedItem | SharedItem, list[str]]] = []
        app = [f"app.{k}" for k in ("name", "operator", "contact", "policy_url")
               if getattr(self.app, k) == TODO]
        if app:
            out.append(("app", self.app, app))
        for kind, items in (("collected", self.collected), ("shared", self.shared)):
            for it in items:
                todo = [k for k in _ROW_FIELDS if getattr(it, k, None) == TODO]
                if TODO in (getattr(it, "pi_types", None) or ()):
                    todo.append("pi_types")
                if todo:
                    out.append((kind, it, todo))
        return out
