"""What a Java package name says about whose code it holds, before any catalogue is asked.

Owners of code (the ``owner`` of an API use, a PI collector, a finding's subject):

* ``app`` (:data:`APP`) -- the app's own namespaces;
* an SDK or library id of the catalogue;
* ``unattributed`` (:data:`UNATTRIBUTED`) -- obfuscated code (``a.b.c``, ``com.tencent.b.b``) that no
  evidence ties to anyone;
* ``unidentified`` (:data:`UNIDENTIFIED`) -- readable third-party namespaces that are neither the
  app's nor known to the catalogue.

Only ``app`` code is the app's own. The others are shown apart so that a catalogue miss never turns
into a statement about the app.
"""

from __future__ import annotations

import re

__all__ = ["APP", "NON_APP_OWNERS", "PLATFORM_PREFIXES", "UNATTRIBUTED", "UNIDENTIFIED", "is_platform",
           "looks_obfuscated"]

APP = "app"
UNATTRIBUTED = "unattributed"
UNIDENTIFIED = "unidentified"
NON_APP_OWNERS = (UNATTRIBUTED, UNIDENTIFIED)

#: Java packages of the platform and the language runtimes: nobody's third-party code.
PLATFORM_PREFIXES = ("android.", "java.", "javax.", "dalvik.", "kotlin.", "kotlinx.", "androidx.", "sun.",
                     "libcore.", "org.w3c.", "org.xml.", "org.json.", "org.apache.http.")

# Two-letter segments that are real words or country domains, not obfuscator output.
_REAL_SHORT = frozenset({
    "io", "me", "tv", "cn", "jp", "de", "uk", "fr", "ru", "kr", "tw", "hk", "us", "in", "it", "nl", "se",
    "no", "es", "pl", "br", "au", "ca", "ch", "at", "be", "dk", "fi", "il", "ie", "nz", "sg", "vn", "th",
    "my", "id", "ui", "db", "ad", "im", "qq", "mm", "gl", "os", "v4", "v7", "v8", "ar", "vr", "ai", "ml",
    "js", "ws", "hw", "mi", "cc", "co", "ly", "gg", "to", "fm", "sh", "so", "la", "ok", "go", "up", "lm",
    "rx", "ss", "vk",
})
_SEGMENT = re.compile(r"^[a-z]{1,2}$")


def is_platform(name: str) -> bool:
    """A class or package of the Android platform / language runtime (``android.app``, ``java.util``)."""
    return (name + ".").startswith(PLATFORM_PREFIXES)


def looks_obfuscated(package: str) -> bool:
    """Whether an obfuscator named this package: a one-letter segment followed only by one- or
    two-letter segments (``a.b.c``, ``com.tencent.b.b.n``, ``com.qq.e.comm.a``; not ``com.qq.e.ads``,
    a real name), or only one- or two-letter segments none of which is a real word or country domain
    (``ab.cd``). The default package (``""``) counts as obfuscated."""
    if not package:
        return True
    parts = package.split(".")
    for i, p in enumerate(parts):
        if len(p) == 1 and all(len(q) <= 2 for q in parts[i + 1:]):
            return True
    return all(_SEGMENT.match(p) and p not in _REAL_SHORT for p in parts)
