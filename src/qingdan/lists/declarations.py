"""Read ``privacy-lists.yaml``: every problem reported at once, each with file, line and column.

PI types may be written as taxonomy keys (``imei``) or their Chinese names (``设备标识符（IMEI）``);
either way the model holds the key. Values left as ``TODO`` (what ``lists draft`` writes for a
person to fill) load fine and are refused by ``lists check``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from qingdan.knowledge.pi import load_pi_types, synonym_index
from qingdan.knowledge.sdks import exodus_sdks, load_sdks
from qingdan.lists.model import (
    COLLECTION_METHODS,
    SCHEMA_ID,
    SHARING_METHODS,
    AppInfo,
    CollectedItem,
    DoubleList,
    Position,
    SharedItem,
)

_URL = re.compile(r"^https?://\S+$")
MAX_BYTES = 8 << 20


@dataclass(slots=True)
class Problem:
    line: int
    column: int
    message: str


class ListsError(ValueError):
    """The declarations cannot be used; ``problems`` lists every one found."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}:{p.line}:{p.column}: {p.message}" for p in problems))


class _Node:
    """A YAML value with where it starts."""

    __slots__ = ("value", "line", "column")

    def __init__(self, value: Any, line: int, column: int) -> None:
        self.value = value
        self.line = line
        self.column = column


def _convert(node: yaml.Node, problems: list[Problem], loader: yaml.SafeLoader, depth: int = 0) -> _Node:
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if depth > 64:
        problems.append(Problem(line, col, "nested too deep"))
        return _Node(None, line, col)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, _Node] = {}
        keys: dict[str, _Node] = {}
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
            if key in out:
                problems.append(Problem(k.start_mark.line + 1, k.start_mark.column + 1,
                                        f"duplicate key {key!r}"))
            out[key] = _convert(v, problems, loader, depth + 1)
            keys[key] = _Node(key, k.start_mark.line + 1, k.start_mark.column + 1)
        n = _Node(out, line, col)
        n.value["__keys__"] = _Node(keys, line, col)  # where each key stands, for unknown-key messages
        return n
    if isinstance(node, yaml.SequenceNode):
        return _Node([_convert(v, problems, loader, depth + 1) for v in node.value], line, col)
    try:  # scalars: the types the safe loader gives (dates, numbers, booleans, null)
        value = loader.construct_object(node)
    except yaml.YAMLError:
        value = node.value
    return _Node(value, line, col)


def load_lists(path: str | Path) -> DoubleList:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ListsError(str(p), [Problem(1, 1, exc.strerror or str(exc))]) from None
    if len(raw) > MAX_BYTES:
        raise ListsError(str(p), [Problem(1, 1, f"file is larger than {MAX_BYTES} bytes")])
    return parse_lists(raw, str(p))


def parse_lists(raw: bytes | str, source: str = "privacy-lists.yaml") -> DoubleList:
    problems: list[Problem] = []
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    try:
        root_node = yaml.compose(text, Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        raise ListsError(source, [Problem(1, 1, f"not UTF-8 text ({exc.reason})")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ListsError(source, [Problem(line, col, f"not valid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise ListsError(source, [Problem(1, 1, f"not valid YAML: {exc}")]) from None
    if root_node is None:
        raise ListsError(source, [Problem(1, 1, "the file is empty")])
    loader = yaml.SafeLoader("")
    try:
        root = _convert(root_node, problems, loader)
    finally:
        loader.dispose()
    if not isinstance(root.value, dict):
        raise ListsError(source, [Problem(root.line, root.column, "the top level must be a mapping")])
    v = _Validator(problems)
    dl = v.document(root)
    if problems:
        problems.sort(key=lambda x: (x.line, x.column))
        raise ListsError(source, problems)
    dl.source = source
    return dl


class _Validator:
    def __init__(self, problems: list[Problem]) -> None:
        self.p = problems
        self.pi = load_pi_types()
        self.pi_by_name = dict(synonym_index())  # casefolded synonyms used in Chinese policies
        for key, t in self.pi.items():
            self.pi_by_name[t.zh.casefold()] = key
            self.pi_by_name[t.en.casefold()] = key
        self.sdks = {**load_sdks(), **exodus_sdks()}  # catalogue ids, and exodus-<n> for Exodus-only SDKs

    def err(self, n: _Node, msg: str) -> None:
        self.p.append(Problem(n.line, n.column, msg))

    def keys(self, n: _Node, allowed: set[str], where: str) -> None:
        for k, kn in n.value["__keys__"].value.items():
            if k not in allowed:
                self.err(kn, f"{where}: unknown field {k!r} (allowed: {', '.join(sorted(allowed))})")

    def text(self, m: dict, key: str, owner: _Node, where: str, required: bool = True) -> str | None:
        n = m.get(key)
        if n is None or n.value is None or (isinstance(n.value, str) and not n.value.strip()):
            if required:
                self.err(n or owner, f"{where}: missing {key}")
            return None
        if isinstance(n.value, (dict, list)):
            self.err(n, f"{where}: {key} must be text")
            return None
        return str(n.value).strip()

    def pi_key(self, n: _Node, where: str) -> str | None:
        v = n.value
        if not isinstance(v, str):
            self.err(n, f"{where}: PI type must be text")
            return None
        if v in self.pi or v == "TODO":  # TODO: drafted, for a person to fill (lists check refuses it)
            return v
        k = self.pi_by_name.get(v.casefold())
        if k:
            return k
        self.err(n, f"{where}: unknown PI type {v!r} (a key of the PI taxonomy, e.g. imei, precise_location)")
        return None

    def document(self, root: _Node) -> DoubleList:
        m = root.value
        self.keys(root, {"schema", "app", "collected", "shared"}, "top level")
        schema = m.get("schema")
        if schema is None:
            self.err(root, f"missing schema (write: schema: {SCHEMA_ID})")
        elif schema.value != SCHEMA_ID:
            self.err(schema, f"schema must be {SCHEMA_ID!r}, got {schema.value!r}")
        app = self.app(m.get("app"), root)
        collected = self.items(m.get("collected"), root, "collected", self.collected)
        shared = self.items(m.get("shared"), root, "shared", self.shared)
        self.duplicates(collected, lambda c: (c.pi_type, c.collector, c.purpose, c.scenario), "collected")
        self.duplicates(shared, lambda s: (s.third_party, s.sdk, s.purpose, s.scenario, tuple(s.pi_types)),
                        "shared")
        return DoubleList(app or AppInfo(name=""), collected, shared)

    def duplicates(self, items: list, key, where: str) -> None:
        seen: dict = {}
        for it in items:
            k = key(it)
            if k in seen:
                self.p.append(Problem(it.pos.line, it.pos.column,
                                      f"{where}: duplicate of the row at line {seen[k].pos.line}"))
            else:
                seen[k] = it

    def items(self, n: _Node | None, root: _Node, name: str, fn) -> list:
        if n is None or n.value is None:
            return []
        if not isinstance(n.value, list):
            self.err(n, f"{name} must be a list")
            return []
        out = []
        for i, item in enumerate(n.value):
            if not isinstance(item.value, dict):
                self.err(item, f"{name}[{i}] must be a mapping")
                continue
            r = fn(item, f"{name}[{i}]")
            if r is not None:
                out.append(r)
        return out

    def app(self, n: _Node | None, root: _Node) -> AppInfo | None:
        if n is None or not isinstance(n.value, dict):
            self.err(n or root, "missing app (name, package, operator, contact, policy_url, updated)")
            return None
        m = n.value
        self.keys(n, {"name", "package", "operator", "contact", "policy_url", "updated", "version"}, "app")
        url = self.text(m, "policy_url", n, "app", required=False)
        if url and url != "TODO" and not _URL.match(url):
            self.err(m["policy_url"], f"app: policy_url must be an http(s) URL, got {url!r}")
        return AppInfo(name=self.text(m, "name", n, "app") or "",
                       package=self.text(m, "package", n, "app", False),
                       operator=self.text(m, "operator", n, "app", False),
                       contact=self.text(m, "contact", n, "app", False), policy_url=url,
                       updated=self.text(m, "updated", n, "app", False),
                       version=self.text(m, "version", n, "app", False))

    def collected(self, n: _Node, where: str) -> CollectedItem | None:
        m = n.value
        self.keys(n,
                  {"pi_type", "purpose", "scenario", "method", "collector", "permission", "retention",
                   "note"}, where)
        pi = self.pi_key(m["pi_type"], where) if "pi_type" in m else None
        if "pi_type" not in m:
            self.err(n, f"{where}: missing pi_type")
        purpose = self.text(m, "purpose", n, where)
        scenario = self.text(m, "scenario", n, where)
        method = self.text(m, "method", n, where)
        if method and method not in COLLECTION_METHODS:
            self.err(m["method"],
                     f"{where}: method must be one of {', '.join(COLLECTION_METHODS)}, got {method!r}")
        collector = self.text(m, "collector", n, where, required=False) or "app"
        if collector not in ("app", "TODO") and collector not in self.sdks:
            self.err(m["collector"], f"{where}: collector must be app or an SDK id of the catalogue, "
                                     f"got {collector!r}{self.did_you_mean(collector)}")
        if None in (pi, purpose, scenario, method):
            return None
        return CollectedItem(pi, purpose, scenario, method, collector,
                             self.text(m, "permission", n, where, False),
                             self.text(m, "retention", n, where, False),
                             self.text(m, "note", n, where, False),
                             Position(n.line, n.column))

    def did_you_mean(self, word: str) -> str:
        """``; did you mean 'tencent-bugly'?``: the catalogue id closest to ``word`` by id or by the SDK's
        Chinese or English name (``bugly`` → 腾讯 Bugly), or nothing."""
        import difflib

        pool = {k: k for k in self.sdks}
        for k, sdk in self.sdks.items():
            for name in (getattr(sdk, "name_zh", None), getattr(sdk, "name_en", None)):
                if name:
                    pool.setdefault(name.lower(), k)
        close = difflib.get_close_matches(word.lower(), pool, n=1, cutoff=0.75)
        return f"; did you mean {pool[close[0]]!r}?" if close else ""

    def shared(self, n: _Node, where: str) -> SharedItem | None:
        m = n.value
        self.keys(n,
                  {"third_party", "company", "sdk", "pi_types", "purpose", "scenario", "method", "policy_url",
                      "contact", "note"}, where)
        tp = self.text(m, "third_party", n, where)
        company = self.text(m, "company", n, where)
        purpose = self.text(m, "purpose", n, where)
        scenario = self.text(m, "scenario", n, where)
        method = self.text(m, "method", n, where)
        if method and method not in SHARING_METHODS:
            self.err(m["method"],
                     f"{where}: method must be one of {', '.join(SHARING_METHODS)}, got {method!r}")
        sdk = self.text(m, "sdk", n, where, required=False)
        if sdk and sdk not in self.sdks:
            self.err(m["sdk"], f"{where}: unknown SDK id {sdk!r}{self.did_you_mean(sdk)} "
                               "(see `qingdan sdk list --search`)")
        pis: list[str] = []
        pn = m.get("pi_types")
        if pn is None or not isinstance(pn.value, list) or not pn.value:
            self.err(pn or n, f"{where}: pi_types must be a non-empty list")
        else:
            for item in pn.value:
                k = self.pi_key(item, where)
                if k:
                    pis.append(k)
        url = self.text(m, "policy_url", n, where, required=False)
        if url and url != "TODO" and not _URL.match(url):
            self.err(m["policy_url"], f"{where}: policy_url must be an http(s) URL, got {url!r}")
        if None in (tp, company, purpose, scenario, method) or not pis:
            return None
        return SharedItem(tp, company, pis, purpose, scenario, method, sdk, url,
                          self.text(m, "contact", n, where, False), self.text(m, "note", n, where, False),
                          Position(n.line, n.column))
