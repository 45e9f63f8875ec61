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


class BadFolder(Exception):
    """A batch folder that may not be read; the message names it and says why."""

    def __init__(self, message: str, too_many: bool = False) -> None:
        super().__init__(message)
        self.too_many = too_many


def batch_files(root: Path, folder: str, suffixes: tuple[str, ...], limit: int) -> list[tuple[str, Path]]:
    """The package files (by suffix) below ``folder`` — relative to ``root``, or absolute inside it —
    as (path shown, resolved path), sorted. Links are followed only while they stay inside ``root``:
    a link (to a file or a folder) that leads out of it refuses the whole folder, with its name, as
    does a folder that is not below ``root``, a NUL in the name, or more than ``limit`` packages."""
    root = root.resolve()
    if "\x00" in folder:
        raise BadFolder(f"{folder!r}: a folder name cannot contain a NUL character")
    try:
        real = (root / folder).resolve(strict=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise BadFolder(f"{folder}: not a folder below the batch root ({_why(exc)})") from None
    if not real.is_relative_to(root) or not real.is_dir():
        raise BadFolder(f"{folder}: not a folder below the batch root")
    out: list[tuple[str, Path]] = []
    seen = {real}

    def add(shown: Path, target: Path) -> None:
        out.append((str(shown), target))
        if len(out) > limit:
            raise BadFolder(f"{folder}: more than {limit} packages", too_many=True)

    def walk(shown: Path, here: Path) -> None:
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            raise BadFolder(f"{folder}/{shown}: cannot be read ({_why(exc)})") from None
        for e in entries:
            name = shown / e.name
            wanted = e.name.lower().endswith(suffixes)
            if e.is_symlink():
                try:
                    target = Path(e.path).resolve(strict=True)
                except (OSError, RuntimeError):
                    continue  # a dangling link or a loop of links: nothing to read
                if not target.is_relative_to(root):
                    raise BadFolder(f"{folder}/{name}: a link that leads outside the batch root")
                if target.is_dir() and target not in seen:
                    seen.add(target)
                    walk(name, target)
                elif wanted and target.is_file():
                    add(name, target)
            elif e.is_dir(follow_symlinks=False):
                walk(name, Path(e.path))
            elif wanted and e.is_file(follow_symlinks=False):
                add(name, Path(e.path))

    walk(Path(), real)
    return sorted(out)


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


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

    def put_file(self, src: str | Path, limit: int, inside: Path | None = None) -> tuple[str, int]:
        """Copy a server-side file in (no content check: the worker's read_package judges it).
        ``inside``: the file opened must be below this folder (a link swapped in after the caller
        resolved ``src`` is not followed out of it); OSError otherwise."""
        w = self.writer(limit, check_magic=False)
        try:
            fd = os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fh:
                opened = Path(f"/proc/self/fd/{fd}")
                if inside is not None and opened.is_symlink() and not Path(
                        os.readlink(opened)).is_relative_to(inside):
                    raise OSError(f"{src}: leads outside {inside}")
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
