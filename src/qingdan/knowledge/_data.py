"""Load a knowledge data file (YAML, the source of truth) fast.

Parsing YAML costs tens of milliseconds per file even with libyaml, paid by every scan process.
The parsed document is therefore cached (``marshal``: exact types, fast) under the user's cache
folder, keyed by a hash of the YAML bytes and the Python version: an edited data file is simply
a new key. Without a writable cache folder the
YAML is parsed every time, with the same result.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import pickle
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from qingdan._io import write_atomic

T = TypeVar("T")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
#: An http(s) URL (policy links, refs).
URL_RE = re.compile(r"^https?://\S+$")


def cache_dir() -> Path:
    base = os.environ.get("QINGDAN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "qingdan")
    return Path(base)


def data_bytes(name: str) -> bytes:
    return (Path(__file__).parent / "data" / name).read_bytes()


def yaml_loader() -> Any:
    """PyYAML's safe loader: libyaml's ``CSafeLoader`` where PyYAML was built with it, else the pure
    ``SafeLoader`` (same data, slower). Every data file is tested to load alike with both."""
    import yaml

    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def load_yaml_data(name: str, raw: bytes | None = None) -> Any:
    """The parsed YAML of ``knowledge/data/<name>``. Raises ValueError on bad YAML."""
    raw = data_bytes(name) if raw is None else raw
    key = hashlib.sha256(raw + sys.version.encode()).hexdigest()[:20]
    path = cache_dir() / f"{Path(name).stem}-{key}.marshal"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    import yaml  # imported here: a cache hit needs no YAML

    try:
        doc = yaml.load(raw, Loader=yaml_loader())  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ValueError(f"knowledge/data/{name}: not valid YAML: {exc}") from None
    try:
        write_atomic(path, marshal.dumps(doc))
    except (OSError, TypeError, ValueError):
        pass  # no cache: parse next time too
    return doc


def cached_build(name: str, raw: bytes, build: Callable[[], T], loader_file: str) -> T:
    """``build()`` (parse + validate a data file into objects), cached as a pickle.

    The key covers the data bytes, the loader's own source and the Python version, so an edit to
    either file, or another interpreter, builds afresh. The cache lives in the user's own cache
    folder; without one, ``build()`` runs every time.
    """
    h = hashlib.sha256(raw)
    try:
        h.update(Path(loader_file).read_bytes())
    except OSError:
        return build()
    h.update(sys.version.encode())
    path = cache_dir() / f"{Path(name).stem}-built-{h.hexdigest()[:20]}.pickle"
    try:
        return pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    obj = build()
    try:
        write_atomic(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass
    return obj


class DataChecker:
    """Validation shared by the knowledge loaders: every error names the data file and the entry."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = f"qingdan/knowledge/data/{name}"

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{self.path}: {what}")

    def load(self, text: str | bytes) -> dict[str, Any]:
        """The parsed document, which must be a mapping."""
        try:
            doc = load_yaml_data(self.name, text.encode("utf-8") if isinstance(text, str) else text)
        except ValueError as exc:
            raise self.fail(str(exc).split(": ", 1)[-1]) from exc
        if not isinstance(doc, dict):
            raise self.fail("top level must be a mapping")
        return doc

    def header(self, doc: dict[str, Any], schema: str, sources_key: str = "sources",
               source_fields: tuple[str, ...] = ("title",)) -> dict[str, Any]:
        """Check ``meta.schema`` and return the ``sources`` table (each source a mapping whose
        ``source_fields`` are strings)."""
        meta = doc.get("meta")
        if not isinstance(meta, dict) or meta.get("schema") != schema:
            raise self.fail(f"meta.schema must be {schema!r}")
        sources = doc.get(sources_key)
        if not isinstance(sources, dict) or not sources:
            raise self.fail(f"{sources_key} must be a non-empty mapping")
        for key, value in sources.items():
            if not isinstance(value, dict) or not all(isinstance(value.get(f), str) for f in source_fields):
                raise self.fail(f"{sources_key}.{key}: must be a mapping with {' and '.join(source_fields)}")
        return sources

    def entry(self, e: Any, where: str, fields: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
        """``e`` is a mapping with every key of ``fields`` and nothing beyond ``fields`` + ``optional``."""
        if not isinstance(e, dict):
            raise self.fail(f"{where}: entry must be a mapping")
        missing = [k for k in fields if k not in e]
        if missing:
            raise self.fail(f"{where}: missing keys {missing}")
        extra = sorted(set(e) - set(fields) - set(optional))
        if extra:
            raise self.fail(f"{where}: unknown keys {extra}")

    def slug_id(self, value: Any, where: str, seen: Any) -> str:
        """A lowercase slug (``a-z0-9-``) not among ``seen``."""
        if not isinstance(value, str) or not _SLUG_RE.match(value):
            raise self.fail(f"{where}: id must be a lowercase slug, got {value!r}")
        if value in seen:
            raise self.fail(f"{where}: duplicate id")
        return value

    def names(self, e: dict[str, Any], where: str) -> tuple[str | None, str | None]:
        """``name_zh`` and ``name_en`` (each a string or null; one of them at least)."""
        name_zh = self.opt_text(e["name_zh"], "name_zh", where)
        name_en = self.opt_text(e["name_en"], "name_en", where)
        if name_zh is None and name_en is None:
            raise self.fail(f"{where}: needs name_zh or name_en")
        return name_zh, name_en

    def country(self, value: Any, where: str) -> str | None:
        if value is not None and (not isinstance(value, str) or not _COUNTRY_RE.match(value)):
            raise self.fail(f"{where}: country must be a two-letter code or null, got {value!r}")
        return value

    def regexes(self, values: tuple[str, ...], field: str, where: str) -> None:
        for rx in values:
            try:
                re.compile(rx)
            except re.error as exc:
                raise self.fail(f"{where}: {field} has an invalid regular expression {rx!r}: {exc}") from exc

    def text(self, value: Any, field: str, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}: {field} must be a non-empty string, got {value!r}")
        return value

    def opt_text(self, value: Any, field: str, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}: {field} must be a non-empty string or null, got {value!r}")
        return value

    def boolean(self, value: Any, field: str, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{where}: {field} must be true or false, got {value!r}")
        return value

    def sources_and_refs(self, e: dict[str, Any], where: str, sources: dict[str, Any]) -> tuple:
        """An entry's ``sources`` (keys of the file's sources table, at least one) and ``refs``
        (http(s) URLs, at least one)."""
        srcs = self.str_list(e["sources"], "sources", where, allow_empty=False)
        unknown = [s for s in srcs if s not in sources]
        if unknown:
            raise self.fail(f"{where}: source keys {unknown} are not defined in sources")
        refs = self.str_list(e["refs"], "refs", where, allow_empty=False)
        if any(not URL_RE.match(r) for r in refs):
            raise self.fail(f"{where}: refs must be http(s) URLs, got {refs!r}")
        return srcs, refs

    def str_list(self, value: Any, field: str, where: str, *, allow_scalar: bool = False,
                 allow_empty: bool = True,
                 pattern: Any = None) -> tuple[str, ...]:
        if allow_scalar and isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"{where}: {field} must be a list of non-empty strings, got {value!r}")
        if not value and not allow_empty:
            raise self.fail(f"{where}: {field} must not be empty")
        if len(set(value)) != len(value):
            raise self.fail(f"{where}: {field} has duplicates: {value!r}")
        if pattern is not None:
            bad = [v for v in value if not pattern.match(v)]
            if bad:
                raise self.fail(f"{where}: {field} has malformed values {bad!r}")
        return tuple(value)


class KnowledgeFile(Generic[T]):
    """One file of ``knowledge/data`` as its loader sees it: the name, the checker whose errors name
    the file, the text, and the parsed form built by the loader's ``parse`` and cached by
    :func:`cached_build` (keyed by the data, the loader's own source and the Python version).

    The loader keeps a module-level ``_read_text`` and a ``functools.cache``'d function around
    :meth:`build`, so tests can patch the one and clear the other.
    """

    def __init__(self, data_file: str, loader_file: str,
                 checker: Callable[[str], DataChecker] = DataChecker) -> None:
        self.data_file = data_file  # relative to the qingdan.knowledge package: "data/pi_types.yaml"
        self.name = data_file.rsplit("/", 1)[-1]
        self.check = checker(self.name)
        self.loader_file = loader_file

    def raw(self) -> bytes:
        return data_bytes(self.name)

    def read_text(self) -> str:
        return self.raw().decode("utf-8")

    def build(self, data: str | bytes, parse: Callable[[Any], T], key_extra: bytes = b"") -> T:
        """``parse(data)``, cached; ``key_extra`` adds what else the result depends on to the key."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return cached_build(self.data_file, raw + key_extra, lambda: parse(data), self.loader_file)
