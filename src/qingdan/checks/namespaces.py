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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from qingdan.apk.dex import java_name
from qingdan.apk.package import AppPackage
from qingdan.knowledge.sdks import GENERIC_PACKAGE_PREFIXES

__all__ = ["APP", "MAX_SAMPLES", "NON_APP_OWNERS", "PLATFORM_PREFIXES", "UNATTRIBUTED", "UNIDENTIFIED",
           "ClassIndex", "Namespace", "is_platform", "looks_obfuscated", "namespace_root",
           "unidentified_namespaces"]

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


# -- the classes of a package, per Java package ----------------------------------------------------

MAX_SAMPLES = 5


class ClassIndex:
    """The defined classes of a package grouped by Java package, read once per scan: descriptor
    strings only, Java names made for the few classes that need one (samples, lookups)."""

    __slots__ = ("dexes", "packages")

    def __init__(self, pkg: AppPackage) -> None:
        self.dexes: list[tuple] = []  # (dex, descriptors, {package (dotted): [class index]})
        self.packages: Counter[str] = Counter()  # dotted package → classes defined (every dex)
        for d in pkg.dex:
            descs = d.class_descriptors()
            raw: dict[str, list[int]] = {}
            for i, desc in enumerate(descs):
                cut = desc.rfind("/")
                raw.setdefault(desc[1:cut] if cut > 0 else "", []).append(i)
            by_pkg = {k.replace("/", "."): v for k, v in raw.items()}
            for k, v in by_pkg.items():
                self.packages[k] += len(v)
            self.dexes.append((d, descs, by_pkg))

    def find(self, class_name: str) -> tuple | None:
        """(dex, class index) of a defined class, or None."""
        package = class_name.rpartition(".")[0]
        desc = "L" + class_name.replace(".", "/") + ";"
        for d, descs, by_pkg in self.dexes:
            for i in by_pkg.get(package, ()):
                if descs[i] == desc:
                    return d, i
        return None

    def samples(self, package: str, n: int = MAX_SAMPLES) -> list[str]:
        out: list[str] = []
        for _d, descs, by_pkg in self.dexes:
            out += [java_name(descs[i]) for i in by_pkg.get(package, ())[: n - len(out)]]
        return out

    def sources(self, package: str) -> list[str]:
        return sorted({d.source for d, _descs, by_pkg in self.dexes if package in by_pkg})

    def classes(self, package: str) -> list[str]:
        """Every class defined in one Java package (dot form)."""
        return [java_name(descs[i]) for _d, descs, by_pkg in self.dexes for i in by_pkg.get(package, ())]


# -- unidentified namespaces -------------------------------------------------------------------------

#: First segments after which the second one is an organisation, so a namespace root takes three
#: segments (``com.squareup.picasso``, ``cn.jiguang.share``).
ORG_ROOTS = frozenset({"com", "cn", "org", "net", "edu", "gov"})


def namespace_root(package: str) -> str:
    """The namespace a package is grouped under in ``unidentified``: three segments under
    ``com``/``cn``/``org``/``net``/``edu``/``gov`` (organisation + product: ``com.squareup.picasso``);
    two under another short first segment, a domain such as ``io``/``me``/``tv`` or an obfuscator's
    letter (``io.reactivex``, ``u.aly``); one where the first segment is itself a name
    (``retrofit``, ``butterknife``, ``lecho``). A root that names a whole vendor or platform
    (``com.google.android``, :data:`~qingdan.knowledge.sdks.GENERIC_PACKAGE_PREFIXES`) takes one
    segment more."""
    parts = package.split(".")
    n = 3 if parts[0] in ORG_ROOTS else 2 if len(parts[0]) <= 3 else 1
    while n < len(parts) and ".".join(parts[:n]) in GENERIC_PACKAGE_PREFIXES:
        n += 1  # com.google.android.* says nothing; com.google.android.exoplayer2 does
    return ".".join(parts[:n])


@dataclass(slots=True)
class Namespace:
    """Third-party code that no one is known to own: a namespace root, its classes, a few samples."""

    namespace: str
    classes: int
    sample_classes: list[str]


def unidentified_namespaces(idx: ClassIndex, claimed: Callable[[str], bool],
                            limit: int | None = None) -> list[Namespace]:
    """Readable third-party namespaces that no one claims, largest first.

    A Java package counts when it is not the platform's (:func:`is_platform`), not obfuscated
    (:func:`looks_obfuscated`: that code is ``unattributed``) and ``claimed(package)`` is false
    (``claimed`` says whether the app or a catalogue SDK / library / Exodus tracker owns it).
    Packages are grouped by :func:`namespace_root`."""
    groups: dict[str, Namespace] = {}
    for package, n in idx.packages.items():
        if is_platform(package) or looks_obfuscated(package) or claimed(package):
            continue
        root = namespace_root(package)
        g = groups.get(root)
        if g is None:
            g = groups[root] = Namespace(root, 0, [])
        g.classes += n
        for c in idx.samples(package):
            if len(g.sample_classes) < MAX_SAMPLES:
                g.sample_classes.append(c)
    out = sorted(groups.values(), key=lambda g: (-g.classes, g.namespace))
    for g in out:
        g.sample_classes.sort()
    return out[:limit] if limit is not None else out
