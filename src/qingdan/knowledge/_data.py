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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def cache_dir() -> Path:
    base = os.environ.get("QINGDAN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "qingdan")
    return Path(base)


def data_bytes(name: str) -> bytes:
    return (Path(__file__).parent / "data" / name).read_bytes()


def load_yaml_data(name: str, raw: bytes | None = None) -> Any:
    """The parsed YAML of ``knowledge/data/<name>``. Raises ValueError on bad YAML."""
    raw = data_bytes(name) if raw is None else raw
    key = hashlib.sha256(raw + sys.version.encode()).hexdigest()[:20]
    path = cache_dir() / f"{Path(name).stem}-{key}.marshal"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    import tempfile  # imported here: a cache hit needs neither module

    import yaml

    try:
        doc = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        raise ValueError(f"knowledge/data/{name}: not valid YAML: {exc}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = marshal.dumps(doc)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
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
        import tempfile

        path.parent.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass
    return obj
