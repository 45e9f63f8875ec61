"""How privacy policies name permissions and SDKs: the words the policy reader matches.

Data file ``qingdan/knowledge/data/policy_terms.yaml`` (package data; see its ``meta:``):

* ``permission_objects`` -- per sensitive permission, the regular expressions for the *object* a
  policy names when it speaks of the permission (存储权限, 读写手机存储, 相册 …); a verb (存储 in
  "如何收集、存储、共享") is not a mention.
* ``brands`` -- names for a family of SDKs (友盟, 极光, 微信 …) with the catalogue id prefixes of the
  family and its base components (``umeng-common``, ``jiguang-jcore``).
* ``product_words`` -- words that say which kind of product a vendor name refers to (统计, 推送 …),
  per catalogue category.

Loaded once per process and validated; a malformed file raises :class:`ValueError` naming the file and
the entry. This module imports nothing from other qingdan subpackages but the SDK catalogue.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import KnowledgeFile
from qingdan.knowledge.sdks import CATEGORIES, load_sdks

__all__ = ["DATA_FILE", "PERMISSIONS", "SCHEMA", "Brand", "PolicyTerms", "load_policy_terms"]

SCHEMA = "qingdan.knowledge.policy-terms/1"
DATA_FILE = "data/policy_terms.yaml"
#: The sensitive permissions a policy must explain (the same keys as qingdan.policy.model).
PERMISSIONS = ("location", "contacts", "storage", "camera", "microphone", "phone", "calendar", "sms",
               "call_log")


@dataclass(frozen=True, slots=True)
class Brand:
    names: tuple[str, ...]
    sdk_ids: tuple[str, ...]  # catalogue ids of the family, in catalogue order
    base: tuple[str, ...]  # base components, disclosed with any product of the family


@dataclass(frozen=True, slots=True)
class PolicyTerms:
    permission_objects: dict[str, re.Pattern]  # permission key → one alternation of its patterns
    brands: tuple[Brand, ...]
    product_words: dict[str, str]  # word → catalogue category
    product_re: re.Pattern  # every product word, the longest first
    sources: dict[str, dict[str, Any]]

    def categories_in(self, text: str) -> set[str]:
        """The catalogue categories the product words in ``text`` name."""
        return {self.product_words[m.group(0)] for m in self.product_re.finditer(text)}

    def base_of(self, sdk_id: str) -> tuple[str, ...]:
        """The base components of the families ``sdk_id`` belongs to."""
        return tuple(b for br in self.brands if sdk_id in br.sdk_ids for b in br.base if b != sdk_id)


_FILE: KnowledgeFile[Any] = KnowledgeFile(DATA_FILE, __file__)


def _read_text() -> str:
    return _FILE.read_text()


def _parse(text: str) -> PolicyTerms:
    ck = _FILE.check
    doc = ck.load(text)
    sources = ck.header(doc, SCHEMA)
    catalogue = load_sdks()

    def source(e: dict, where: str) -> None:
        if e["source"] not in sources:
            raise ck.fail(f"{where}: source {e['source']!r} is not a key of sources")

    perms: dict[str, re.Pattern] = {}
    for i, e in enumerate(doc.get("permission_objects") or []):
        where = f"permission_objects[{i}]"
        ck.entry(e, where, ("permission", "patterns", "source"))
        source(e, where)
        if e["permission"] not in PERMISSIONS or e["permission"] in perms:
            raise ck.fail(f"{where}: permission must be one of {PERMISSIONS}, once each")
        pats = ck.str_list(e["patterns"], "patterns", where, allow_empty=False)
        ck.regexes(pats, "patterns", where)
        perms[e["permission"]] = re.compile("|".join(f"(?:{p})" for p in pats))
    if set(perms) != set(PERMISSIONS):
        raise ck.fail(f"permission_objects: missing {sorted(set(PERMISSIONS) - set(perms))}")
    brands = []
    seen: set[str] = set()
    for i, e in enumerate(doc.get("brands") or []):
        where = f"brands[{i}]"
        ck.entry(e, where, ("names", "sdk_prefixes", "source"), ("base",))
        source(e, where)
        names = ck.str_list(e["names"], "names", where, allow_empty=False)
        if seen & set(names):
            raise ck.fail(f"{where}: names {sorted(seen & set(names))} listed twice")
        seen |= set(names)
        prefixes = ck.str_list(e["sdk_prefixes"], "sdk_prefixes", where, allow_empty=False)
        ids = tuple(i for i in catalogue if i.startswith(prefixes))
        if not ids:
            raise ck.fail(f"{where}: sdk_prefixes {list(prefixes)} match no catalogue id")
        base = ck.str_list(e.get("base", []), "base", where)
        if not set(base) <= set(ids):
            raise ck.fail(f"{where}: base {list(base)} must be ids of the family")
        brands.append(Brand(names, ids, base))
    words: dict[str, str] = {}
    for i, e in enumerate(doc.get("product_words") or []):
        where = f"product_words[{i}]"
        ck.entry(e, where, ("category", "words", "source"))
        source(e, where)
        if e["category"] not in CATEGORIES:
            raise ck.fail(f"{where}: category {e['category']!r} is not a catalogue category")
        for w in ck.str_list(e["words"], "words", where, allow_empty=False):
            if w in words:
                raise ck.fail(f"{where}: word {w!r} listed twice")
            words[w] = e["category"]
    product_re = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))
    return PolicyTerms(perms, tuple(brands), words, product_re, sources)


@functools.cache
def load_policy_terms() -> PolicyTerms:
    text = _read_text()
    return _parse(text)
