"""Output files and terminal text, shared by every stage (this module imports nothing of qingdan).

``write_atomic`` writes a whole file or nothing: a temporary file beside the target, then a rename.
It writes *through* a symlink (the link's target is replaced, the link stays), refuses FIFOs,
devices, sockets and folders (a rename would replace them with a regular file), and gives a new
file the usual mode (``0666`` less the umask, so ``0644`` under umask 022), an existing one its own
mode; ``private=True`` makes it ``0600`` (for files that hold secrets).

``csv_cell`` keeps a spreadsheet from reading an outside string in a CSV file as a formula.

``terminal_text`` makes an outside string (an app's label, a component name, a policy's text, a
file name) safe to print: no control character reaches the terminal.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

__all__ = ["csv_cell", "output_target", "terminal_text", "write_atomic"]


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def output_target(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` lands in (symlinks followed); OSError if that is no regular file.

    The error's ``strerror`` says why in a few words and its ``filename`` is ``path``.
    """
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return real
    if not stat.S_ISREG(st.st_mode):
        code = errno.EISDIR if stat.S_ISDIR(st.st_mode) else errno.EINVAL
        raise OSError(code, f"is {_kind(st.st_mode)}, not a regular file; not written", str(path))
    return real


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, private: bool = False) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all; return the file written.

    Missing parent folders are created. Raises OSError (``filename`` = ``path``) on failure, with
    nothing left behind.
    """
    target = output_target(path)
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, f"{parent} is not a folder", str(path)) from None
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    keep: int | None = None
    if not private:
        try:
            keep = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            pass
    blob = data.encode("utf-8") if isinstance(data, str) else data
    tmp = parent / f".{target.name}.{os.urandom(6).hex()}.tmp"
    try:
        # O_EXCL: never a file someone else made; 0o666 less the umask, as any program's new file
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600 if private else 0o666)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            if keep is not None:
                os.fchmod(fh.fileno(), keep)
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise
    return target


# C0 controls, DEL and C1 (0x9b is an 8-bit CSI), line and paragraph separators, and the bidi
# controls that reorder what follows them (the "Trojan Source" characters)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\n\r\t]")


def terminal_text(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character removed; a newline, carriage return or tab becomes a
    space unless ``keep_newlines`` (then newlines and tabs stay: the caller's own layout)."""
    s = text if isinstance(text, str) else str(text)
    if not keep_newlines:
        s = _BREAKS.sub(" ", s)
    return _CONTROL.sub("", s)


def csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet program reads as a formula: a string starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's CSV-injection advice);
    ``None`` becomes empty; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
