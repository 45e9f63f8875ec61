"""Packages on disk: one file per sha256 in the storage folder, written whole or not at all."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

ZIP_MAGIC = b"PK\x03\x04"
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(Exception):
    pass


class NotAPackage(Exception):
    pass


class StorageFull(Exception):  # noqa: N818 - a state of the disk, like TooLarge
    """The store's file system has no space (ENOSPC) or quota (EDQUOT) left: nothing was stored."""


FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class Storage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def path(self, sha256: str) -> Path:
        if not SHA_RE.match(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256

    def has(self, sha256: str) -> bool:
        return SHA_RE.match(sha256) is not None and self.path(sha256).is_file()

    def writer(self, limit: int, check_magic: bool = True) -> Writer:
        self.root.mkdir(parents=True, exist_ok=True)
        return Writer(self, limit, check_magic)

    def put_file(self, src: str | Path, limit: int) -> tuple[str, int]:
        """Copy a server-side file in (no content check: the worker's read_package judges it)."""
        w = self.writer(limit, check_magic=False)
        try:
            with open(src, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    w.write(chunk)
            return w.commit()
        finally:
            w.discard()

    def put_bytes(self, data: bytes, limit: int) -> tuple[str, int]:
        """Store a small file held in memory (an attachment checked by the caller)."""
        w = self.writer(limit, check_magic=False)
        try:
            w.write(data)
            return w.commit()
        finally:
            w.discard()


class Writer:
    """Streams bytes to a temporary file beside the store, hashing and counting as they come."""

    def __init__(self, storage: Storage, limit: int, check_magic: bool) -> None:
        self.storage, self.limit, self.check_magic = storage, limit, check_magic
        fd, self.tmp = tempfile.mkstemp(prefix=".upload-", dir=storage.root)
        self.fh: BinaryIO | None = os.fdopen(fd, "wb")
        self.h = hashlib.sha256()
        self.size = 0
        self.head = b""

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge(f"larger than the limit of {self.limit // (1024 * 1024)} MiB")
        if self.check_magic and len(self.head) < 4:
            self.head += data[: 4 - len(self.head)]
            if len(self.head) == 4 and self.head != ZIP_MAGIC:
                raise NotAPackage("not a zip archive (an Android package starts with PK\\x03\\x04)")
        self.h.update(data)
        assert self.fh is not None
        try:
            self.fh.write(data)
        except OSError as exc:
            self._full(exc)

    def commit(self) -> tuple[str, int]:
        """Close, check, and move into place under its sha256; returns (sha256, size)."""
        if self.check_magic and self.head != ZIP_MAGIC:
            raise NotAPackage("not a zip archive (an Android package starts with PK\\x03\\x04)")
        assert self.fh is not None
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
        except OSError as exc:
            self._full(exc)
        self.fh = None
        sha = self.h.hexdigest()
        target = self.storage.path(sha)
        if target.is_file():
            os.unlink(self.tmp)
        else:
            os.replace(self.tmp, target)
        self.tmp = ""
        return sha, self.size

    def _full(self, exc: OSError):
        """A write failed: the partial temporary file goes at once; disk full becomes StorageFull."""
        self.discard()
        if exc.errno in FULL_ERRNOS:
            raise StorageFull("the package store is out of disk space") from exc
        raise exc

    def discard(self) -> None:
        if self.fh is not None:
            try:
                self.fh.close()  # flushes what is buffered: fails again on a full disk
            except OSError:
                pass
            self.fh = None
        if self.tmp:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = ""
