"""Errors raised while reading an app package.

Every reader in :mod:`qingdan.apk` raises :class:`ApkError` (never a bare ``struct.error`` or
``IndexError``) when the input cannot be read at all; oddities that still allow a report are
collected as warning strings instead.
"""

from __future__ import annotations


class ApkError(Exception):
    """The package (or one part of it) cannot be read. ``str(err)`` is a one-line reason."""


class LimitExceeded(ApkError):
    """A safety limit (size, ratio, count) was hit; the input is refused rather than read."""
