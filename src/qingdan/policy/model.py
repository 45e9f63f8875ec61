"""Plain models of a read policy (:class:`PolicyDoc`) and of what it says (:class:`PolicyFacts`).

``PolicyFacts.to_dict()`` is the JSON published as ``docs/schema/policy-facts-1.json``
(``"schema": "qingdan.policy-facts/1"``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = "qingdan.policy-facts/1"
#: The sensitive permissions whose purpose the 524 action asks a policy to state.
SENSITIVE_PERMISSIONS = ("location", "contacts", "storage", "camera", "microphone", "phone", "calendar",
                         "sms", "call_log")
RIGHTS = ("access", "correct", "delete", "withdraw", "deregister")
SECTIONS = ("retention", "security", "cookies", "minors", "withdrawal", "cross_border")


@dataclass(slots=True)
class Sentence:
    index: int
    text: str
    line: int  # 1-based line of the extracted text
    heading: str | None = None  # the section heading it sits under
    is_row: bool = False  # a table row: "cell | cell | cell"
    is_heading: bool = False


@dataclass(slots=True)
class Link:
    text: str
    href: str
    line: int


@dataclass(slots=True)
class PolicyDoc:
    source: str
    text: str  # the extracted text, one block element / table row per line
    encoding: str
    kind: str  # text | html | pre
    sentences: list[Sentence] = field(default_factory=list)
    headings: list[Sentence] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # cells of every table row, in order
    tables: list[list[int]] = field(default_factory=list)  # per table: indices into rows


@dataclass(slots=True)
class Evidence:
    sentence: int
    line: int
    text: str


@dataclass(slots=True)
class Summary:
    present: bool
    heading: str | None = None
    line: int | None = None
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class PIMention:
    text: str
    pi_type: str
    negated: bool
    evidence: Evidence


@dataclass(slots=True)
class PermissionStatement:
    permission: str  # one of SENSITIVE_PERMISSIONS
    mentioned: bool
    purpose_stated: bool
    purpose: str | None = None
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class ThirdPartyMention:
    name: str  # as the policy writes it
    sdk_ids: list[str]  # catalogue SDKs it names (empty for a party outside the catalogue)
    source: str  # catalogue | table | sharing
    company: str | None = None
    pi_types: list[str] = field(default_factory=list)
    purpose: str | None = None
    sharing_method: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    #: ``product``: the text names the SDK product (友盟统计, or 友盟 next to 统计); ``vendor``: only the
    #: vendor or company (a bare 友盟), which discloses every SDK of the vendor ("by vendor name")
    named_by: str = "product"


@dataclass(slots=True)
class Contact:
    company: str | None = None
    address: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    hotline: str | None = None
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class Right:
    right: str  # one of RIGHTS
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class Section:
    key: str  # one of SECTIONS
    present: bool
    heading: str | None = None
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class ListsLinks:
    collected: bool = False  # 已收集个人信息清单
    shared: bool = False  # 第三方共享清单
    urls: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class PolicyFacts:
    source: str
    encoding: str
    kind: str
    sentence_count: int
    summary: Summary
    pi_mentions: list[PIMention]
    permissions: list[PermissionStatement]
    third_parties: list[ThirdPartyMention]
    contact: Contact
    rights: list[Right]
    response_time: str | None
    lists_links: ListsLinks
    updated: str | None
    version: str | None
    sections: list[Section]
    evidence_of_response_time: list[Evidence] = field(default_factory=list)

    @property
    def pi_types(self) -> set[str]:
        """PI types the policy discloses (mentions that are not negated)."""
        return {m.pi_type for m in self.pi_mentions if not m.negated}

    @property
    def sdk_ids(self) -> set[str]:
        return {s for t in self.third_parties for s in t.sdk_ids}

    def right(self, key: str) -> Right | None:
        return next((r for r in self.rights if r.right == key), None)

    def permission(self, key: str) -> PermissionStatement | None:
        return next((p for p in self.permissions if p.permission == key), None)

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {"schema": SCHEMA, **d, "pi_types": sorted(self.pi_types)}
