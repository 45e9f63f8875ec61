"""Signer certificates of an APK: JAR signing (v1) and APK Signature Scheme v2, v3 and v3.1.

This module **parses only; it does not verify any signature or digest**. It tells which signature
schemes a package carries and which X.509 certificates they name, so that a scan can report the
signer. It does not tell whether Android would accept the package.

Formats, as publicly described:

* APK Signing Block (source.android.com, "APK Signature Scheme v2"): located immediately before the
  ZIP central directory::

      uint64  size of block in bytes (excluding this field)
      repeated ID-value pairs:  uint64 length, uint32 ID, (length - 4) bytes of value
      uint64  size of block in bytes (same value as the first field)
      16 bytes  magic "APK Sig Block 42"

* v2 block value (ID 0x7109871a)::

      length-prefixed sequence of length-prefixed signer:
          length-prefixed signed data:
              length-prefixed sequence of length-prefixed digests
              length-prefixed sequence of length-prefixed X.509 certificates (ASN.1 DER)
              length-prefixed sequence of length-prefixed additional attributes
          length-prefixed sequence of length-prefixed signatures
          length-prefixed public key

* v3 (ID 0xf05368c0) and v3.1 (ID 0x1b93ad61) use the v2 layout with ``uint32 minSDK`` and
  ``uint32 maxSDK`` added after the certificates of the signed data and after the signed data of
  the signer. All length prefixes inside a block value are little-endian uint32. Pairs with
  other IDs (verity padding 0x42726577, source stamp, Play metadata, ...) are skipped silently.

* v1 (JAR signing): ``META-INF/<NAME>.SF`` plus a PKCS#7 SignedData block
  ``META-INF/<NAME>.RSA|.DSA|.EC`` holding the certificates. Android pairs a signature block with
  the ``.SF`` of the same base name; a block without its ``.SF`` is not a signature, so it is
  reported as a warning and left out (the names are checked against the central directory).

Hostile input never raises: every problem becomes a one-line entry of ``SigningInfo.warnings`` and
whatever could be read is returned. Every loop is bounded by the bytes available (and by a few
sanity caps); the file is never copied, only sliced through ``memoryview``. No view into ``data``
outlives the call, so an ``mmap`` passed in can be closed right after.

Field formats of :class:`Certificate`: ``subject``/``issuer`` are RFC 4514 strings, the same as
``cryptography``'s ``Name.rfc4514_string()`` gives (see :func:`_name`); ``sha256`` is the lowercase
hex digest of the certificate bytes exactly as stored in the package (the signer identity Android
uses); ``serial`` is lowercase hex without ``0x`` (``-`` prefix if negative); ``not_before``/
``not_after`` are ISO 8601 UTC like ``2008-02-29T01:33:46Z``. A certificate that cannot be parsed
is still reported, by its sha256, with the fields it could not read left empty and a warning.

Certificates and PKCS#7 blocks are decoded here by a small bounds-checked DER reader (no
``cryptography`` at run time: importing it costs every scan process ~11 MiB). Only the fields
above are read; nothing is verified.
"""

from __future__ import annotations

import hashlib
import operator
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "APK_SIG_BLOCK_MAGIC",
    "V2_BLOCK_ID",
    "V3_BLOCK_ID",
    "V31_BLOCK_ID",
    "Certificate",
    "SigningInfo",
    "read_signing",
]

APK_SIG_BLOCK_MAGIC = b"APK Sig Block 42"
V2_BLOCK_ID = 0x7109871A
V3_BLOCK_ID = 0xF05368C0
V31_BLOCK_ID = 0x1B93AD61

_BLOCK_SCHEMES = {V2_BLOCK_ID: "v2", V3_BLOCK_ID: "v3", V31_BLOCK_ID: "v3.1"}
_SCHEME_ORDER = ("v1", "v2", "v3", "v3.1")  # order of SigningInfo.schemes
_CERT_ORDER = ("v3.1", "v3", "v2", "v1")  # order of SigningInfo.certificates

# Sanity caps. Real packages have a handful of pairs, one or two signers and short chains; the
# caps only keep a crafted file from costing millions of Python iterations.
MAX_WARNINGS = 50
MAX_PAIRS = 4096
MAX_SIGNERS = 256
MAX_CERTS_PER_SIGNER = 256
MAX_CD_ENTRIES = 1 << 20

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_CD_SIG = b"PK\x01\x02"
_CD_HEADER_LEN = 46
_EOCD_SIGS = (b"PK\x05\x06", b"PK\x06\x06")
_SIGNED_DATA_OID = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2


@dataclass(slots=True)
class Certificate:
    subject: str  # RFC 4514 string, as cryptography's x509 Name.rfc4514_string() gives
    issuer: str
    sha256: str  # lowercase hex sha256 of the certificate DER
    serial: str  # hex
    not_before: str  # ISO 8601 UTC
    not_after: str
    scheme: str  # "v1", "v2", "v3" or "v3.1" - where it was first found


@dataclass(slots=True)
class SigningInfo:
    schemes: list[str]  # signature schemes present, e.g. ["v1", "v2", "v3"]
    certificates: list[Certificate]  # unique by sha256; order v3.1, v3, v2, v1
    warnings: list[str] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        """True when at least one signature scheme is present (not a claim that it verifies)."""
        return bool(self.schemes)


# --------------------------------------------------------------------------------------------
# helpers


class _Malformed(Exception):
    """Internal: a structure does not fit in the bytes available. Never leaves this module."""


class _Warnings:
    __slots__ = ("dropped", "items")

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def __call__(self, message: str) -> None:
        if len(self.items) < MAX_WARNINGS:
            self.items.append(" ".join(message.split()))
        else:
            self.dropped += 1

    def result(self) -> list[str]:
        if self.dropped:
            return [*self.items, f"{self.dropped} further signing warnings not shown"]
        return self.items


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


class _Reader:
    """Cursor over a memoryview; every read checks the bytes left and raises _Malformed."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def left(self) -> int:
        return len(self.buf) - self.pos

    def u32(self, what: str) -> int:
        if self.left() < 4:
            raise _Malformed(f"{what}: needs 4 bytes, {self.left()} left")
        (value,) = _U32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return value

    def prefixed(self, what: str) -> memoryview:
        size = self.u32(f"length of {what}")
        if size > self.left():
            raise _Malformed(f"{what}: length {size} exceeds the {self.left()} bytes left")
        start = self.pos
        self.pos += size
        return self.buf[start : self.pos]


# --------------------------------------------------------------------------------------------
# APK Signing Block (v2, v3, v3.1)


def _signing_block_pairs(
    view: memoryview, cd_offset: int, warn: Callable[[str], None]
) -> dict[int, memoryview]:
    """ID → value of the pairs of the APK Signing Block before ``cd_offset``; {} if none."""
    if cd_offset < 16 or bytes(view[cd_offset - 16 : cd_offset]) != APK_SIG_BLOCK_MAGIC:
        return {}  # no signing block: normal for v1-only and unsigned packages
    if cd_offset < 24:
        warn("APK Signing Block: magic found but the size field is cut off")
        return {}
    (size,) = _U64.unpack_from(view, cd_offset - 24)
    if size < 24 or size > cd_offset - 8:
        warn(
            f"APK Signing Block: size {size} does not fit before the central directory "
            f"at offset {cd_offset}"
        )
        return {}
    start = cd_offset - 8 - size
    (size_again,) = _U64.unpack_from(view, start)
    if size_again != size:
        warn(f"APK Signing Block: size fields disagree ({size_again} at start, {size} at end)")
        return {}

    pairs: dict[int, memoryview] = {}
    pos, end = start + 8, cd_offset - 24
    count = 0
    while pos < end:
        count += 1
        if count > MAX_PAIRS:
            warn(f"APK Signing Block: more than {MAX_PAIRS} ID-value pairs; rest ignored")
            break
        if end - pos < 12:
            warn(f"APK Signing Block: {end - pos} stray bytes after pair {count - 1}")
            break
        (length,) = _U64.unpack_from(view, pos)
        if length < 4 or length > end - pos - 8:
            warn(
                f"APK Signing Block: pair {count} length {length} does not fit "
                f"in the {end - pos - 8} bytes left"
            )
            break
        (pair_id,) = _U32.unpack_from(view, pos + 8)
        if pair_id in pairs:
            if pair_id in _BLOCK_SCHEMES:
                warn(
                    f"APK Signing Block: duplicate {_BLOCK_SCHEMES[pair_id]} block "
                    f"(ID 0x{pair_id:08x}); first one used"
                )
        else:
            pairs[pair_id] = view[pos + 12 : pos + 8 + length]
        pos += 8 + length
    return pairs


def _scheme_certificates(
    value: memoryview, scheme: str, warn: Callable[[str], None]
) -> list[bytes]:
    """DER certificates of every signer of a v2/v3/v3.1 block value (in block order)."""
    v3 = scheme != "v2"
    found: list[bytes] = []
    try:
        signers = _Reader(_Reader(value).prefixed("signer sequence"))
    except _Malformed as exc:
        warn(f"{scheme} block: {exc}")
        return found
    index = 0
    while signers.left():
        index += 1
        where = f"{scheme} signer {index}"
        if index > MAX_SIGNERS:
            warn(f"{scheme} block: more than {MAX_SIGNERS} signers; rest ignored")
            break
        try:
            signer = _Reader(signers.prefixed(where))
        except _Malformed as exc:
            warn(f"{scheme} block: {exc}")
            break  # the sequence cannot be followed past a bad length
        try:
            signed_data = _Reader(signer.prefixed("signed data"))
            signed_data.prefixed("digests")
            cert_seq = _Reader(signed_data.prefixed("certificates"))
        except _Malformed as exc:
            warn(f"{where}: {exc}")
            continue
        count = 0
        while cert_seq.left():
            if count >= MAX_CERTS_PER_SIGNER:
                warn(f"{where}: more than {MAX_CERTS_PER_SIGNER} certificates; rest ignored")
                break
            try:
                der = cert_seq.prefixed(f"certificate {count + 1}")
            except _Malformed as exc:
                warn(f"{where}: {exc}")
                break
            count += 1
            if len(der):
                found.append(bytes(der))
            else:
                warn(f"{where}: certificate {count} is empty")
        if count == 0:
            warn(f"{where}: no certificates")
        # The rest is not needed for the certificates; read it only to report a broken layout.
        try:
            if v3:
                signed_data.u32("signed minSdkVersion")
                signed_data.u32("signed maxSdkVersion")
            signed_data.prefixed("additional attributes")
            if v3:
                signer.u32("minSdkVersion")
                signer.u32("maxSdkVersion")
            signer.prefixed("signatures")
            signer.prefixed("public key")
        except _Malformed as exc:
            warn(f"{where}: {exc}")
    if index == 0:
        warn(f"{scheme} block: no signers")
    return found


# --------------------------------------------------------------------------------------------
# DER (and, for the PKCS#7 envelope only, BER indefinite lengths)

_MAX_TAG_BYTES = 4
_MAX_BER_DEPTH = 32
_MAX_BER_ELEMENTS = 4096  # per PKCS#7 block; a real one needs a few dozen
_MAX_OID_BYTES = 128
_MAX_NAME_ATTRIBUTES = 1024  # per Name; real ones have a handful


def _der_header(buf: memoryview, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER TLV at ``pos``; definite lengths only.

    The tag is the identifier byte for tag numbers below 31 (class and constructed bits
    included, e.g. 0x30 for SEQUENCE); a multi-byte identifier gives a value above 0xff.
    """
    if end - pos < 2:
        raise _Malformed("DER element cut off")
    tag = buf[pos]
    pos += 1
    if tag & 0x1F == 0x1F:  # high tag number form: continuation bytes follow
        for _ in range(_MAX_TAG_BYTES):
            if pos >= end:
                raise _Malformed("DER tag cut off")
            tag = (tag << 8) | buf[pos]
            pos += 1
            if not tag & 0x80:
                break
        else:
            raise _Malformed("DER tag number too long")
        if pos >= end:
            raise _Malformed("DER element cut off")
    first = buf[pos]
    pos += 1
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise _Malformed("indefinite-length (BER) encoding")
    else:
        nbytes = first & 0x7F
        if nbytes > 4 or end - pos < nbytes:
            raise _Malformed("DER length field too long or cut off")
        length = int.from_bytes(buf[pos : pos + nbytes], "big")
        pos += nbytes
    if length > end - pos:
        raise _Malformed(f"DER length {length} exceeds the {end - pos} bytes left")
    return tag, pos, pos + length


def _ber_element(
    buf: memoryview, pos: int, end: int, budget: list[int], depth: int = 0
) -> tuple[int, int, int, int]:
    """(tag, content start, content end, element end) of the element at ``pos``.

    Like :func:`_der_header`, but a constructed element may also have a BER indefinite length
    (content up to the matching end-of-contents octets 00 00): old signing tools wrote PKCS#7
    blocks that way. Finding the end of such an element means walking its children, so the
    nesting depth is capped and every element looked at spends one unit of ``budget[0]``.
    """
    budget[0] -= 1
    if budget[0] < 0:
        raise _Malformed("too many BER elements")
    if end - pos >= 2 and buf[pos + 1] == 0x80 and buf[pos] & 0x1F != 0x1F:
        tag = buf[pos]
        if not tag & 0x20:
            raise _Malformed("indefinite length on a primitive BER element")
        if depth >= _MAX_BER_DEPTH:
            raise _Malformed(f"BER nesting deeper than {_MAX_BER_DEPTH}")
        start = pos = pos + 2
        while True:
            if end - pos >= 2 and buf[pos] == 0 and buf[pos + 1] == 0:
                return tag, start, pos, pos + 2
            pos = _ber_element(buf, pos, end, budget, depth + 1)[3]  # raises when cut off
    tag, start, stop = _der_header(buf, pos, end)
    return tag, start, stop, stop


def _children(buf: memoryview, start: int, end: int, limit: int) -> list[tuple[int, int, int]]:
    """(tag, content start, content end) of the first ``limit`` DER elements in start..end."""
    found: list[tuple[int, int, int]] = []
    while start < end and len(found) < limit:
        tag, pos, stop = _der_header(buf, start, end)
        found.append((tag, pos, stop))
        start = stop
    return found


# --------------------------------------------------------------------------------------------
# v1 (JAR signing): PKCS#7 SignedData


def _pkcs7_certificates(block: memoryview, warn: Callable[[str], None], where: str) -> list[bytes]:
    """DER certificates of a PKCS#7 SignedData (DER, or BER with indefinite lengths).

    ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT SignedData }
    SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo SEQUENCE,
                              certificates [0] IMPLICIT SET OF Certificate OPTIONAL, ... }
    """
    budget = [_MAX_BER_ELEMENTS]
    tag, pos, end, _ = _ber_element(block, 0, len(block), budget)
    if tag != 0x30:
        raise _Malformed("not a SEQUENCE")
    tag, start, stop, after = _ber_element(block, pos, end, budget)
    if tag != 0x06 or bytes(block[start:stop]) != _SIGNED_DATA_OID:
        raise _Malformed("content type is not PKCS#7 signedData")
    tag, start, stop, _ = _ber_element(block, after, end, budget)
    if tag != 0xA0:
        raise _Malformed("no [0] content")
    tag, pos, end, _ = _ber_element(block, start, stop, budget)
    if tag != 0x30:
        raise _Malformed("SignedData is not a SEQUENCE")
    while pos < end:
        tag, start, stop, pos = _ber_element(block, pos, end, budget)
        if tag == 0xA0:
            break
    else:
        return []
    certs: list[bytes] = []
    while start < stop:
        if len(certs) >= MAX_CERTS_PER_SIGNER:
            warn(f"{where}: more than {MAX_CERTS_PER_SIGNER} certificates; rest ignored")
            break
        tag, _, _, element_end = _ber_element(block, start, stop, budget)
        if tag == 0x30:
            certs.append(bytes(block[start:element_end]))
        else:  # another CertificateChoices (attribute certificate, ...): not an X.509 cert
            warn(f"{where}: skipped a certificates entry that is not X.509 (tag 0x{tag:02x})")
        start = element_end
    return certs


def _v1_certificates(block: memoryview, name: str, warn: Callable[[str], None]) -> list[bytes]:
    try:
        certs = _pkcs7_certificates(block, warn, f"v1 {name}")
    except _Malformed as exc:
        warn(f"v1 {name}: unreadable PKCS#7 ({exc})")
        return []
    if not certs:
        warn(f"v1 {name}: PKCS#7 holds no certificates")
    return certs


# --------------------------------------------------------------------------------------------
# v1 (JAR signing)


def _sf_names(view: memoryview, cd_offset: int, warn: Callable[[str], None]) -> set[str] | None:
    """Upper-cased names of the META-INF/*.SF entries listed in the central directory.

    None when there is no central directory at ``cd_offset`` (the caller then cannot pair).
    """
    total = len(view)
    pos = cd_offset
    if bytes(view[pos : pos + 4]) in _EOCD_SIGS:
        return set()  # an empty archive: the EOCD follows directly
    if bytes(view[pos : pos + 4]) != _CD_SIG:
        warn(f"no central directory record at cd_offset {cd_offset}; v1 .SF files not checked")
        return None
    names: set[str] = set()
    for _ in range(MAX_CD_ENTRIES):
        if bytes(view[pos : pos + 4]) != _CD_SIG:
            break
        if total - pos < _CD_HEADER_LEN:
            warn(f"central directory entry at offset {pos} is cut off")
            break
        (flags,) = _U16.unpack_from(view, pos + 8)
        (name_len,) = _U16.unpack_from(view, pos + 28)
        (extra_len,) = _U16.unpack_from(view, pos + 30)
        (comment_len,) = _U16.unpack_from(view, pos + 32)
        name_end = pos + _CD_HEADER_LEN + name_len
        if name_end > total:
            warn(f"central directory entry at offset {pos}: name runs past the end of the file")
            break
        if name_len >= 12:  # len("META-INF/.SF")
            raw = bytes(view[pos + _CD_HEADER_LEN : name_end])
            if raw[:9].upper() == b"META-INF/" and raw[-3:].upper() == b".SF":
                names.add(raw.decode("utf-8" if flags & 0x800 else "cp437", "replace").upper())
        pos = name_end + extra_len + comment_len
    return names


def _v1(
    view: memoryview,
    cd_offset: int | None,
    v1_blocks: Mapping[str, bytes],
    warn: Callable[[str], None],
) -> tuple[bool, list[bytes]]:
    """(v1 present, certificates) from the signature block files that have a matching .SF."""
    if not v1_blocks:
        return False, []
    sf_names = _sf_names(view, cd_offset, warn) if cd_offset is not None else None
    present = False
    certs: list[bytes] = []
    for name, raw in v1_blocks.items():
        name = str(name)
        if sf_names is not None and name.rsplit(".", 1)[0].upper() + ".SF" not in sf_names:
            warn(f"v1 {name}: no matching .SF file; partial signature ignored")
            continue
        present = True
        try:
            with memoryview(raw) as block:
                if block.ndim != 1 or block.itemsize != 1:
                    block = block.cast("B")
                certs.extend(_v1_certificates(block, name, warn))
        except (TypeError, ValueError) as exc:
            warn(f"v1 {name}: not a bytes-like object ({_short(exc)})")
    return present, certs


# --------------------------------------------------------------------------------------------
# certificates
#
# Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm, signature }
# TBSCertificate ::= SEQUENCE { version [0] EXPLICIT OPTIONAL, serialNumber INTEGER,
#                               signature AlgorithmIdentifier, issuer Name, validity Validity,
#                               subject Name, ... }
# Name ::= SEQUENCE OF RelativeDistinguishedName;  RDN ::= SET OF AttributeTypeAndValue
# AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY }
# Validity ::= SEQUENCE { notBefore Time, notAfter Time };  Time ::= UTCTime | GeneralizedTime

# Short names exactly as cryptography's rfc4514_string() uses them (x509/name.py
# _NAMEOID_TO_NAME); every other type, emailAddress included, is written as its dotted OID.
_SHORT_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.6": "C",
    "2.5.4.9": "STREET",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
_X500_UNIQUE_IDENTIFIER = "2.5.4.45"
# Universal string tags whose content cryptography decodes as UTF-8: OCTET STRING, UTF8String,
# NumericString, PrintableString, T61String, IA5String, UTCTime, GeneralizedTime, VisibleString.
_UTF8_VALUE_TAGS = frozenset((0x04, 0x0C, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1A))
_VALUE_CODECS = {0x1E: "utf-16-be", 0x1C: "utf-32-be"}  # BMPString, UniversalString
_DN_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        '"': '\\"',
        "+": "\\+",
        ",": "\\,",
        ";": "\\;",
        "<": "\\<",
        ">": "\\>",
        "\0": "\\00",
    }
)
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18


def _oid(content: memoryview) -> str:
    """Dotted string of an OBJECT IDENTIFIER's content octets."""
    if not 0 < len(content) <= _MAX_OID_BYTES:
        raise _Malformed(f"OID of {len(content)} bytes")
    if content[-1] & 0x80:
        raise _Malformed("OID cut off inside a sub-identifier")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(map(str, head + arcs[1:]))


def _escape_dn_value(value: str) -> str:
    """RFC 4514 section 2.4 escaping (the same text cryptography's rfc4514_string() gives)."""
    if not value:
        return ""
    value = value.translate(_DN_ESCAPES)
    if value[0] == "#" or (value[0] == " " and len(value) > 1):
        value = "\\" + value
    if value[-1] == " ":
        value = value[:-1] + "\\ "
    return value


def _attribute_value(oid: str, buf: memoryview, tlv: int, tag: int, start: int, end: int) -> str:
    """RFC 4514 text of one attribute value (the TLV at ``tlv``, content start..end).

    Decoded as cryptography does: BMPString as UTF-16BE, UniversalString as UTF-32BE, the other
    string types (and OCTET STRING) as UTF-8, a BIT STRING x500UniqueIdentifier as ``#`` + hex of
    its content. Where cryptography would refuse the whole name (another tag, bytes that do not
    decode), the value is written as ``#`` + hex of its complete DER encoding (RFC 4514 2.4).
    """
    raw = bytes(buf[start:end])
    if tag == 0x03 and oid == _X500_UNIQUE_IDENTIFIER:
        return "#" + raw.hex() if raw else ""
    codec = _VALUE_CODECS.get(tag) or ("utf-8" if tag in _UTF8_VALUE_TAGS else None)
    if codec is not None:
        try:
            return _escape_dn_value(raw.decode(codec))
        except UnicodeDecodeError:
            pass
    return "#" + bytes(buf[tlv:end]).hex()


def _name(buf: memoryview, start: int, end: int) -> str:
    """RFC 4514 string of the content of a Name: RDNs last to first, joined by ',';
    the attributes of a multi-valued RDN in encoded order, joined by '+'."""
    rdns: list[str] = []
    count = 0
    while start < end:
        tag, pos, rdn_end = _der_header(buf, start, end)
        start = rdn_end
        if tag != 0x31:
            raise _Malformed(f"RDN is not a SET (tag 0x{tag:02x})")
        if pos == rdn_end:
            raise _Malformed("empty RDN")
        parts: list[str] = []
        while pos < rdn_end:
            count += 1
            if count > _MAX_NAME_ATTRIBUTES:
                raise _Malformed(f"more than {_MAX_NAME_ATTRIBUTES} attributes")
            tag, atv, atv_end = _der_header(buf, pos, rdn_end)
            pos = atv_end
            if tag != 0x30:
                raise _Malformed(f"attribute is not a SEQUENCE (tag 0x{tag:02x})")
            tag, oid_start, oid_end = _der_header(buf, atv, atv_end)
            if tag != 0x06:
                raise _Malformed(f"attribute type is not an OID (tag 0x{tag:02x})")
            oid = _oid(buf[oid_start:oid_end])
            tag, value_start, value_end = _der_header(buf, oid_end, atv_end)
            if value_end != atv_end:
                raise _Malformed("attribute has more than a type and a value")
            value = _attribute_value(oid, buf, oid_end, tag, value_start, value_end)
            parts.append(f"{_SHORT_NAMES.get(oid, oid)}={value}")
        rdns.append("+".join(parts))
    rdns.reverse()
    return ",".join(rdns)


def _serial(buf: memoryview, start: int, end: int) -> str:
    if start == end:
        raise _Malformed("empty INTEGER")
    return format(int.from_bytes(buf[start:end], "big", signed=True), "x")


def _time(tag: int, content: memoryview) -> str:
    """ISO 8601 UTC of a UTCTime (YYMMDDHHMMSSZ; YY 50-99 is 19YY, RFC 5280) or GeneralizedTime
    (YYYYMMDDHHMMSSZ). Only the DER forms RFC 5280 allows: seconds present, 'Z', no fractions."""
    text = bytes(content)
    digits = text[:-1]
    if text[-1:] != b"Z" or not digits.isdigit():
        raise _Malformed("time is not digits followed by Z")
    if tag == _UTC_TIME and len(digits) == 12:
        year = int(digits[:2])
        year += 1900 if year >= 50 else 2000
        rest = digits[2:]
    elif tag == _GENERALIZED_TIME and len(digits) == 14:
        year = int(digits[:4])
        rest = digits[4:]
    else:
        raise _Malformed(f"not an RFC 5280 UTCTime/GeneralizedTime (tag 0x{tag:02x})")
    month, day, hour, minute, second = (int(rest[i : i + 2]) for i in range(0, 10, 2))
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise _Malformed(f"invalid time: {exc}") from None
    return moment.isoformat() + "Z"


def _tbs_fields(buf: memoryview) -> dict[str, tuple[int, int, int]]:
    """(tag, content start, content end) of serial, issuer, validity and subject."""
    tag, pos, end = _der_header(buf, 0, len(buf))
    if tag != 0x30:
        raise _Malformed("not a DER SEQUENCE")
    if end != len(buf):
        raise _Malformed(f"{len(buf) - end} bytes after the certificate")
    outer = _children(buf, pos, end, 4)
    if len(outer) != 3 or [t for t, _, _ in outer] != [0x30, 0x30, 0x03]:
        raise _Malformed("not a Certificate SEQUENCE { tbsCertificate, algorithm, signature }")
    _, pos, end = outer[0]
    items = _children(buf, pos, end, 6)
    if items and items[0][0] == 0xA0:  # version [0] EXPLICIT
        items = items[1:]
    items = items[:5]
    expected = [0x02, 0x30, 0x30, 0x30, 0x30]
    if [t for t, _, _ in items] != expected:
        raise _Malformed(
            "TBSCertificate does not start with serial, signature, issuer, validity, subject"
        )
    return dict(zip(("serial", "signature", "issuer", "validity", "subject"), items, strict=True))


def _validity_time(buf: memoryview, validity: tuple[int, int, int], index: int) -> str:
    """notBefore (index 0) or notAfter (index 1) of the content of a Validity."""
    times = _children(buf, validity[1], validity[2], 3)
    if len(times) != 2:
        raise _Malformed(f"validity has {len(times)} elements, not 2")
    tag, start, end = times[index]
    return _time(tag, buf[start:end])


def _describe(der: bytes, scheme: str, warn: Callable[[str], None]) -> Certificate:
    sha256 = hashlib.sha256(der).hexdigest()
    info = Certificate("", "", sha256, "", "", "", scheme)
    failed: list[str] = []
    with memoryview(der) as buf:
        try:
            fields = _tbs_fields(buf)
        except _Malformed as exc:
            warn(f"{scheme} certificate {sha256[:16]}: not parseable X.509 ({_short(exc)})")
            return info
        readers: tuple[tuple[str, Callable[[], str]], ...] = (
            ("subject", lambda: _name(buf, *fields["subject"][1:])),
            ("issuer", lambda: _name(buf, *fields["issuer"][1:])),
            ("serial", lambda: _serial(buf, *fields["serial"][1:])),
            ("not_before", lambda: _validity_time(buf, fields["validity"], 0)),
            ("not_after", lambda: _validity_time(buf, fields["validity"], 1)),
        )
        for attr, read in readers:
            try:
                setattr(info, attr, read())
            except _Malformed:
                failed.append(attr)
    if failed:
        warn(f"{scheme} certificate {sha256[:16]}: could not read {', '.join(failed)}")
    return info


# --------------------------------------------------------------------------------------------
# entry point


def read_signing(data, cd_offset: int, v1_blocks: dict[str, bytes]) -> SigningInfo:
    """Signature schemes and signer certificates of an APK. Parses only; verifies nothing.

    data: the whole APK as a bytes-like (bytes, memoryview or mmap); cd_offset: offset of the
    zip central directory (from the EOCD); v1_blocks: {"META-INF/CERT.RSA": raw bytes, ...} of every
    META-INF/*.RSA|*.DSA|*.EC entry (already inflated).

    Never raises: problems become one-line ``warnings`` and what could be read is returned.
    """
    warn = _Warnings()
    present: set[str] = set()
    by_scheme: dict[str, list[bytes]] = {}
    try:
        _collect(data, cd_offset, v1_blocks or {}, warn, present, by_scheme)
    except Exception as exc:  # last line of defence; a bug here must not stop a scan
        warn(f"signing block reader failed: {type(exc).__name__}: {_short(exc)}")

    certificates: list[Certificate] = []
    seen: set[str] = set()
    for scheme in _CERT_ORDER:
        for der in by_scheme.get(scheme, ()):
            sha256 = hashlib.sha256(der).hexdigest()
            if sha256 in seen:
                continue
            seen.add(sha256)
            try:
                certificates.append(_describe(der, scheme, warn))
            except Exception as exc:
                warn(f"{scheme} certificate {sha256[:16]}: {type(exc).__name__}: {_short(exc)}")
                certificates.append(Certificate("", "", sha256, "", "", "", scheme))
    schemes = [s for s in _SCHEME_ORDER if s in present]
    return SigningInfo(schemes=schemes, certificates=certificates, warnings=warn.result())


def _collect(
    data,
    cd_offset,
    v1_blocks: Mapping[str, bytes],
    warn: Callable[[str], None],
    present: set[str],
    by_scheme: dict[str, list[bytes]],
) -> None:
    try:
        view = memoryview(data)
    except TypeError:
        warn(f"data is not bytes-like ({type(data).__name__}); only v1 blocks read")
        view = memoryview(b"")
    with view:
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")  # raises for non-contiguous data: caught by read_signing
        with view:
            offset: int | None = None
            if isinstance(cd_offset, bool) or not hasattr(cd_offset, "__index__"):
                warn(f"cd_offset {cd_offset!r} is not an integer; APK Signing Block not searched")
            elif not 0 <= operator.index(cd_offset) <= len(view):
                warn(
                    f"cd_offset {cd_offset} is outside the file ({len(view)} bytes); "
                    "APK Signing Block not searched"
                )
            else:
                offset = operator.index(cd_offset)

            if offset is not None:
                pairs = _signing_block_pairs(view, offset, warn)
                for pair_id, scheme in _BLOCK_SCHEMES.items():
                    if pair_id in pairs:
                        present.add(scheme)
                        by_scheme[scheme] = _scheme_certificates(pairs[pair_id], scheme, warn)
                pairs.clear()

            v1_present, v1_certs = _v1(view, offset, v1_blocks, warn)
            if v1_present:
                present.add("v1")
                by_scheme["v1"] = v1_certs
