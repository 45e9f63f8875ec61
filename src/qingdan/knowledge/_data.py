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
import sys
from pathlib import Path
from typing import Any


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
