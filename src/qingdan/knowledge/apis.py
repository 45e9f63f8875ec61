"""Privacy-sensitive Android APIs: which call, field read or content URI reveals which PI.

The data lives in ``qingdan/knowledge/data/sensitive_apis.yaml`` (package data). It is loaded
once per process and validated; a malformed file raises :class:`ValueError` naming the file and
the offending entry.

Entry kinds (``SensitiveApi.kind``):

``method``
    a call to one of ``members`` on ``cls``. Every overload counts. A call site names the
    class the compiler saw, so a call through a subclass (``ApplicationPackageManager``) is a
    different class and is not matched by the base-class entry.
``field``
    a read of one of the static fields ``members`` of ``cls`` (only non-constant fields such as
    ``Uri CONTENT_URI``: compile-time ``String``/``int`` constants are inlined by javac and show
    up as strings, which ``content_uri`` entries catch).
``content_uri``
    a constant string equal to one of ``uris`` or starting with it followed by ``/`` or ``?``;
    ``cls`` is ``None`` and ``members`` is empty. See :func:`match_content_uri`.
``reflection_name``
    ``cls`` and one of ``members`` appear as constant strings (``Class.forName`` plus
    ``getMethod``/``getDeclaredMethod``). Used for hidden or vendor classes that apps can reach
    only by reflection (``android.os.SystemProperties``, ``com.android.id.impl.IdProviderImpl``).

Reflection on ordinary classes: any member name of a ``method`` entry may also be invoked by
reflection (``TelephonyManager.class.getMethod("getDeviceId")``). A matcher may treat a constant
string equal to a member name, in a method that also calls ``java.lang.Class.getMethod`` or
``getDeclaredMethod``, as weak evidence for that entry; no separate entries are kept for this.

``args`` restricts an entry to calls that pass one of ``args.string_any`` as a constant string
argument (``Settings$Secure.getString(resolver, "android_id")``).

``weak`` marks calls that are common for benign reasons (self lookups such as
``PackageManager.getPackageInfo`` on the app's own package, generic device facts, existence
checks); treat them as evidence only together with other signals.

This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import KnowledgeFile

__all__ = [
    "DATA_FILE",
    "KINDS",
    "SCHEMA",
    "ArgCondition",
    "SensitiveApi",
    "apis_by_class",
    "descriptor",
    "is_java_class_name",
    "load_api_sources",
    "load_sensitive_apis",
    "match_content_uri",
    "sensitive_api",
]

SCHEMA = "qingdan.knowledge.apis/1"
#: Path of the data file relative to the ``qingdan.knowledge`` package.
DATA_FILE = "data/sensitive_apis.yaml"
_FILE: KnowledgeFile[_Knowledge] = KnowledgeFile(DATA_FILE, __file__)
_CK = _FILE.check
_fail = _CK.fail
_text = _CK.text


def _str_list(value: Any, field: str, where: str, *, pattern: re.Pattern[str] | None = None,
              allow_empty: bool = False) -> tuple[str, ...]:
    return _CK.str_list(value, field, where, pattern=pattern, allow_empty=allow_empty)


_bool = _CK.boolean
KINDS = frozenset({"method", "field", "content_uri", "reflection_name"})


_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_JAVA_CLASS_RE = re.compile(rf"^{_IDENT}(\.{_IDENT})*(\${_IDENT})*$")
_MEMBER_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_PERMISSION_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")
_URI_RE = re.compile(r"^content://[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")

_COMMON = ("id", "kind", "args", "pi_types", "permission", "zh", "en", "sources")
_OPTIONAL = ("alt_permissions", "non_resettable", "weak", "note")
_BY_KIND: dict[str, tuple[str, ...]] = {
    "method": ("class", "methods"),
    "reflection_name": ("class", "methods"),
    "field": ("class", "fields"),
    "content_uri": ("uris",),
}


@dataclass(frozen=True, slots=True)
class ArgCondition:
    """The entry applies only when one of ``string_any`` is passed as a constant argument."""

    string_any: tuple[str, ...]

    def matches(self, strings: Iterable[str]) -> bool:
        """True if any of the constant ``strings`` seen at a call site satisfies the condition."""
        wanted = self.string_any
        return any(s in wanted for s in strings)


@dataclass(frozen=True, slots=True)
class SensitiveApi:
    """One privacy-sensitive API (or content-URI family) and the PI types it reveals."""

    id: str
    kind: str  # method | field | content_uri | reflection_name
    cls: str | None  # Java name with $ for inner classes; None for content_uri
    members: tuple[str, ...]  # method or field names; () for content_uri
    args: ArgCondition | None
    uris: tuple[str, ...]  # content_uri only
    pi_types: tuple[str, ...]
    permission: str | None
    zh: str
    en: str
    non_resettable: bool
    weak: bool
    sources: tuple[str, ...]
    alt_permissions: tuple[str, ...] = ()
    note: str | None = None

    @property
    def descriptor(self) -> str | None:
        """The dex type descriptor of ``cls`` (``Landroid/os/Build;``), None for content URIs."""
        return descriptor(self.cls) if self.cls else None

    @property
    def permissions(self) -> tuple[str, ...]:
        """``permission`` followed by ``alt_permissions`` (empty when none is needed)."""
        return ((self.permission,) if self.permission else ()) + self.alt_permissions


@dataclass(frozen=True, slots=True)
class _Knowledge:
    apis: tuple[SensitiveApi, ...]
    sources: dict[str, dict[str, Any]]


def is_java_class_name(name: str) -> bool:
    """``android.provider.Settings$Secure`` style binary class name (not a descriptor)."""
    return isinstance(name, str) and bool(_JAVA_CLASS_RE.match(name))


def descriptor(cls: str) -> str:
    """``android.provider.Settings$Secure`` -> ``Landroid/provider/Settings$Secure;``."""
    if not is_java_class_name(cls):
        raise ValueError(f"not a Java class name: {cls!r}")
    return "L" + cls.replace(".", "/") + ";"


def _read_text() -> str:
    return _FILE.read_text()


def _permission(value: Any, field: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _PERMISSION_RE.match(value):
        raise _fail(f"{where}: {field} must be a full permission name or null, got {value!r}")
    return value


def _args(value: Any, kind: str, where: str) -> ArgCondition | None:
    if value is None:
        return None
    if kind not in ("method", "reflection_name"):
        raise _fail(f"{where}: args is only allowed on method and reflection_name entries")
    if not isinstance(value, dict) or set(value) != {"string_any"}:
        raise _fail(f"{where}: args must be null or a mapping with exactly the key string_any")
    return ArgCondition(_str_list(value["string_any"], "args.string_any", where))


def _parse_entry(e: Any, i: int, sources: dict[str, Any]) -> SensitiveApi:
    label = e.get("id") if isinstance(e, dict) else None
    where = f"apis[{i}]" + (f" ({label})" if isinstance(label, str) else "")
    if not isinstance(e, dict):
        raise _fail(f"{where}: entry must be a mapping")
    kind = e.get("kind")
    if kind not in KINDS:
        raise _fail(f"{where}: kind must be one of {sorted(KINDS)}, got {kind!r}")
    required = _COMMON + _BY_KIND[kind]
    missing = [k for k in required if k not in e]
    if missing:
        raise _fail(f"{where}: missing keys {missing}")
    extra = sorted(set(e) - set(required) - set(_OPTIONAL) - ({"class"} if kind == "content_uri" else set()))
    if extra:
        raise _fail(f"{where}: unknown keys for kind {kind} {extra}")
    api_id = _text(e["id"], "id", where)
    if not _ID_RE.match(api_id):
        raise _fail(f"{where}: id must be dotted lower_snake_case (group.name)")

    cls: str | None = None
    members: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()
    if kind == "content_uri":
        if e.get("class") is not None:
            raise _fail(f"{where}: content_uri entries have no class")
        uris = _str_list(e["uris"], "uris", where, pattern=_URI_RE)
    else:
        cls = e["class"]
        if not is_java_class_name(cls):
            raise _fail(f"{where}: class must be a Java class name (pkg.Name$Inner), got {cls!r}")
        key = "fields" if kind == "field" else "methods"
        members = _str_list(e[key], key, where, pattern=_MEMBER_RE)

    srcs = _str_list(e["sources"], "sources", where)
    unknown = [s for s in srcs if s not in sources]
    if unknown:
        raise _fail(f"{where}: source keys {unknown} are not defined in sources")
    note = e.get("note")
    if note is not None:
        note = _text(note, "note", where)
    permission = _permission(e["permission"], "permission", where)
    alt = tuple(_permission(p, "alt_permissions", where) or "" for p in
                _str_list(e.get("alt_permissions", []), "alt_permissions", where, allow_empty=True))
    if permission is not None and permission in alt:
        raise _fail(f"{where}: alt_permissions repeats permission {permission}")
    return SensitiveApi(
        id=api_id,
        kind=kind,
        cls=cls,
        members=members,
        args=_args(e["args"], kind, where),
        uris=uris,
        pi_types=_str_list(e["pi_types"], "pi_types", where),
        permission=permission,
        zh=_text(e["zh"], "zh", where),
        en=_text(e["en"], "en", where),
        non_resettable=_bool(e.get("non_resettable", False), "non_resettable", where),
        weak=_bool(e.get("weak", False), "weak", where),
        sources=srcs,
        alt_permissions=alt,
        note=note,
    )


def _parse(text: str) -> _Knowledge:
    doc = _CK.load(text)
    sources = _CK.header(doc, SCHEMA)
    raw = doc.get("apis")
    if not isinstance(raw, list) or not raw:
        raise _fail("apis must be a non-empty list")
    apis: list[SensitiveApi] = []
    seen: set[str] = set()
    for i, e in enumerate(raw):
        api = _parse_entry(e, i, sources)
        if api.id in seen:
            raise _fail(f"apis[{i}] ({api.id}): duplicate id")
        seen.add(api.id)
        apis.append(api)
    return _Knowledge(tuple(apis), sources)


@functools.cache
def _knowledge() -> _Knowledge:
    return _FILE.build(_read_text(), _parse)


@functools.cache
def load_sensitive_apis() -> list[SensitiveApi]:
    """All entries in file order. Cached and shared between callers: treat it as read-only."""
    return list(_knowledge().apis)


def load_api_sources() -> dict[str, dict[str, Any]]:
    """The ``sources`` table of the knowledge file (key -> description)."""
    return {k: dict(v) for k, v in _knowledge().sources.items()}


def sensitive_api(api_id: str) -> SensitiveApi | None:
    """The entry with id ``api_id``, or ``None``."""
    for api in load_sensitive_apis():
        if api.id == api_id:
            return api
    return None


@functools.cache
def apis_by_class() -> dict[str, tuple[SensitiveApi, ...]]:
    """``method``, ``field`` and ``reflection_name`` entries grouped by Java class name."""
    out: dict[str, list[SensitiveApi]] = {}
    for api in load_sensitive_apis():
        if api.cls is not None:
            out.setdefault(api.cls, []).append(api)
    return {k: tuple(v) for k, v in out.items()}


def match_content_uri(value: str) -> tuple[SensitiveApi, ...]:
    """``content_uri`` entries matched by a constant string: equal to one of their URIs or
    starting with it followed by ``/`` or ``?`` (``content://sms/inbox`` matches
    ``content://sms``; ``content://smsx`` does not)."""
    out = []
    for api in load_sensitive_apis():
        if api.kind != "content_uri":
            continue
        for uri in api.uris:
            if value == uri or (value.startswith(uri) and value[len(uri)] in "/?"):
                out.append(api)
                break
    return tuple(out)
