"""Android binary XML (AXML) and the string pools it shares with resources.arsc.

Attributes in the ``android:`` namespace are named by their framework resource id (from the
resource map), not by the string the file carries, because that string can be blanked or faked
by obfuscators while Android itself only looks at the id.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from qingdan.apk.errors import ApkError

ANDROID_NS = "http://schemas.android.com/apk/res/android"

RES_STRING_POOL = 0x0001
RES_XML = 0x0003
RES_XML_START_NS = 0x0100
RES_XML_END_NS = 0x0101
RES_XML_START_ELEMENT = 0x0102
RES_XML_END_ELEMENT = 0x0103
RES_XML_CDATA = 0x0104
RES_XML_RESOURCE_MAP = 0x0180

# Res_value data types
TYPE_NULL = 0x00
TYPE_REFERENCE = 0x01
TYPE_ATTRIBUTE = 0x02
TYPE_STRING = 0x03
TYPE_FLOAT = 0x04
TYPE_DIMENSION = 0x05
TYPE_FRACTION = 0x06
TYPE_INT_DEC = 0x10
TYPE_INT_HEX = 0x11
TYPE_INT_BOOLEAN = 0x12

# Framework attribute ids (android.R.attr) that qingdan reads.
FRAMEWORK_ATTRS: dict[int, str] = {
    0x01010000: "theme",
    0x01010001: "label",
    0x01010002: "icon",
    0x01010003: "name",
    0x01010006: "permission",
    0x01010007: "readPermission",
    0x01010008: "writePermission",
    0x01010009: "protectionLevel",
    0x0101000A: "permissionGroup",
    0x0101000B: "sharedUserId",
    0x0101000C: "hasCode",
    0x0101000D: "persistent",
    0x0101000E: "enabled",
    0x0101000F: "debuggable",
    0x01010010: "exported",
    0x01010011: "process",
    0x01010018: "authorities",
    0x0101001B: "grantUriPermissions",
    0x0101001C: "priority",
    0x01010020: "description",
    0x01010024: "value",
    0x01010025: "resource",
    0x01010026: "mimeType",
    0x01010027: "scheme",
    0x01010028: "host",
    0x01010029: "port",
    0x0101002A: "path",
    0x0101002B: "pathPrefix",
    0x0101002C: "pathPattern",
    0x01010202: "targetActivity",
    0x0101020C: "minSdkVersion",
    0x0101021B: "versionCode",
    0x0101021C: "versionName",
    0x01010270: "targetSdkVersion",
    0x01010271: "maxSdkVersion",
    0x01010280: "allowBackup",
    0x0101028E: "required",
    0x010102B7: "installLocation",
    0x010104EA: "extractNativeLibs",
    0x010104EC: "usesCleartextTraffic",
    0x01010505: "directBootAware",
    0x01010527: "networkSecurityConfig",
    0x01010572: "compileSdkVersion",
    0x01010573: "compileSdkVersionCodename",
    0x01010603: "requestLegacyExternalStorage",
    0x0101054C: "isSplitRequired",
    0x01010226: "foregroundServiceType",
}


@dataclass(frozen=True, slots=True)
class ResRef:
    """A reference to a resource (``@0x7f0b0001``), resolved later through resources.arsc."""

    id: int

    def __str__(self) -> str:
        return f"@0x{self.id:08x}"


@dataclass(slots=True)
class XmlNode:
    tag: str
    attrs: dict[str, object] = field(default_factory=dict)
    children: list[XmlNode] = field(default_factory=list)

    def get(self, key: str, default: object = None) -> object:
        return self.attrs.get(key, default)

    def iter(self, tag: str | None = None):
        stack = [self]
        while stack:
            node = stack.pop()
            if tag is None or node.tag == tag:
                yield node
            stack.extend(reversed(node.children))

    def findall(self, tag: str) -> list[XmlNode]:
        return [c for c in self.children if c.tag == tag]


class StringPool:
    """ResStringPool: UTF-8 or UTF-16 strings, decoded lazily."""

    __slots__ = ("_data", "_offsets", "_base", "_utf8", "_cache", "count")

    def __init__(self, data: bytes, off: int, limit: int) -> None:
        if off + 28 > limit:
            raise ApkError("string pool header truncated")
        (typ, hsize, size, count, _styles, flags, str_start, _style_start) = struct.unpack_from(
            "<HHLLLLLL", data, off
        )
        if typ != RES_STRING_POOL:
            raise ApkError(f"expected a string pool, found chunk type 0x{typ:04x}")
        end = min(off + size, limit) if size >= hsize else limit
        if count > (end - off) // 4:
            raise ApkError(f"string pool claims {count} strings in {size} bytes")
        self._data = data
        self._offsets = struct.unpack_from(f"<{count}L", data, off + hsize) if count else ()
        self._base = off + str_start
        self._utf8 = bool(flags & 0x100)
        self._cache: dict[int, str] = {}
        self.count = count

    def __len__(self) -> int:
        return self.count

    def get(self, i: int) -> str:
        if i < 0 or i >= self.count:
            return ""
        s = self._cache.get(i)
        if s is None:
            try:
                s = self._decode(self._base + self._offsets[i])
            except (IndexError, struct.error):
                s = ""
            self._cache[i] = s
        return s

    def _decode(self, p: int) -> str:
        d = self._data
        if self._utf8:
            # utf-16 length (1 or 2 bytes), then utf-8 length (1 or 2 bytes), then bytes.
            n = d[p]
            p += 2 if n & 0x80 else 1
            n = d[p]
            if n & 0x80:
                n = ((n & 0x7F) << 8) | d[p + 1]
                p += 2
            else:
                p += 1
            raw = d[p : p + n]
            return raw.decode("utf-8", "replace")
        (n,) = struct.unpack_from("<H", d, p)
        p += 2
        if n & 0x8000:
            (lo,) = struct.unpack_from("<H", d, p)
            n = ((n & 0x7FFF) << 16) | lo
            p += 2
        return d[p : p + 2 * n].decode("utf-16-le", "replace")


def typed_value(pool: StringPool, dtype: int, data: int, raw_idx: int) -> object:
    if dtype == TYPE_STRING:
        return pool.get(data)
    if dtype == TYPE_INT_BOOLEAN:
        return data != 0
    if dtype in (TYPE_INT_DEC, TYPE_INT_HEX):
        return data - (1 << 32) if data & 0x80000000 and dtype == TYPE_INT_DEC else data
    if dtype == TYPE_REFERENCE or dtype == TYPE_ATTRIBUTE:
        return ResRef(data)
    if dtype == TYPE_NULL:
        return pool.get(raw_idx) if raw_idx != 0xFFFFFFFF else None
    if dtype == TYPE_FLOAT:
        return struct.unpack("<f", struct.pack("<L", data))[0]
    if raw_idx != 0xFFFFFFFF:
        return pool.get(raw_idx)
    return data


def parse_axml(data: bytes, *, max_nodes: int = 500_000) -> tuple[XmlNode, list[str]]:
    """Parse binary XML into a tree. Returns (root, warnings). Raises ApkError if unreadable."""
    warnings: list[str] = []
    n = len(data)
    if n < 8:
        raise ApkError("binary XML is empty or truncated")
    typ, hsize, size = struct.unpack_from("<HHL", data, 0)
    if typ != RES_XML:
        if data[:1] == b"<" or data[:5] == b"\xef\xbb\xbf<?x":
            raise ApkError("manifest is plain-text XML, not compiled binary XML")
        warnings.append(f"binary XML header type 0x{typ:04x} (expected 0x0003)")
    if size != n:
        warnings.append(f"binary XML declares {size} bytes, file has {n}")
    limit = n
    p = hsize if 8 <= hsize < n else 8
    pool: StringPool | None = None
    resmap: tuple[int, ...] = ()
    ns_prefix: dict[str, str] = {}
    root: XmlNode | None = None
    stack: list[XmlNode] = []
    nodes = 0
    while p + 8 <= limit:
        ctype, chsize, csize = struct.unpack_from("<HHL", data, p)
        if csize < 8 or p + csize > limit:
            if ctype in (RES_XML_END_NS, RES_XML_END_ELEMENT) and chsize >= 8:
                # Android reads these by header size; a zero or bogus chunk size is tolerated.
                warnings.append(f"chunk 0x{ctype:04x} at {p} has bad size {csize}")
                csize = max(chsize + 8, 24) if csize < chsize + 8 else csize
                if p + csize > limit:
                    break
            else:
                warnings.append(f"chunk 0x{ctype:04x} at {p} has bad size {csize}; stopped there")
                break
        if ctype == RES_STRING_POOL:
            if pool is None:
                pool = StringPool(data, p, limit)
        elif ctype == RES_XML_RESOURCE_MAP:
            cnt = (csize - chsize) // 4
            resmap = struct.unpack_from(f"<{cnt}L", data, p + chsize) if cnt > 0 else ()
        elif ctype == RES_XML_START_NS:
            if pool is not None and p + 24 <= limit:
                pre, uri = struct.unpack_from("<LL", data, p + 16)
                ns_prefix[pool.get(uri)] = pool.get(pre)
        elif ctype == RES_XML_START_ELEMENT:
            if pool is None:
                raise ApkError("binary XML has an element before its string pool")
            nodes += 1
            if nodes > max_nodes:
                raise ApkError(f"binary XML has more than {max_nodes} elements")
            node = _element(data, p, csize, pool, resmap, ns_prefix)
            if stack:
                stack[-1].children.append(node)
            elif root is None:
                root = node
            else:
                warnings.append(f"second root element <{node.tag}> ignored")
                stack.append(node)  # keep nesting balanced, but detached
                p += csize
                continue
            stack.append(node)
        elif ctype == RES_XML_END_ELEMENT:
            if stack:
                stack.pop()
        p += csize
    if root is None:
        raise ApkError("binary XML contains no element")
    return root, warnings


def _element(data: bytes, p: int, csize: int, pool: StringPool, resmap, ns_prefix) -> XmlNode:
    # ResXMLTree_node (16 bytes) + ResXMLTree_attrExt (20 bytes)
    if p + 36 > len(data):
        raise ApkError("element chunk truncated")
    _ns, name, astart, asize, acount, _id, _cls, _style = struct.unpack_from("<LLHHHHHH", data, p + 16)
    tag = pool.get(name)
    node = XmlNode(tag)
    if asize < 20:
        asize = 20
    base = p + 16 + astart
    end = p + csize
    acount = min(acount, max(0, (end - base) // asize))
    for i in range(acount):
        q = base + i * asize
        ans, aname, araw, _vsize, _res0, dtype, vdata = struct.unpack_from("<LLLHBBL", data, q)
        rid = resmap[aname] if aname < len(resmap) else 0
        known = FRAMEWORK_ATTRS.get(rid)
        if known is not None:
            key = "android:" + known
        else:
            key = pool.get(aname)
            if ans != 0xFFFFFFFF:
                uri = pool.get(ans)
                prefix = "android" if uri == ANDROID_NS else ns_prefix.get(uri, "")
                if prefix:
                    key = f"{prefix}:{key}"
            if not key:
                key = f"@0x{rid:08x}" if rid else f"attr{i}"
        node.attrs[key] = typed_value(pool, dtype, vdata, araw)
    return node
