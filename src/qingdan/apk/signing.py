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

Field formats of :class:`Certificate`: ``subject``/``issuer`` are RFC 4514 strings from
``cryptography``; ``sha256`` is the lowercase hex digest of the certificate bytes exactly as stored
in the package (the signer identity Android uses); ``serial`` is lowercase hex without ``0x``
(``-`` prefix if negative); ``not_before``/``not_after`` are ISO 8601 UTC like
``2008-02-29T01:33:46Z``. A certificate that ``cryptography`` cannot parse is still reported, by
its sha256, with the fields it could not read left empty and a warning.
"""

from __future__ import annotations

import hashlib
import operator
import struct
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

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
    subject: str  # RFC 4514 string from cryptography (x509 Name.rfc4514_string())
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


def _der_header(buf: memoryview, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER TLV at ``pos``; definite lengths only."""
    if end - pos < 2:
        raise _Malformed("DER element cut off")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
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


def _pkcs7_raw_certificates(block: memoryview) -> list[bytes]:
    """Certificates of a PKCS#7 SignedData, by a minimal DER walk (fallback only).

    ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT SignedData }
    SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo SEQUENCE,
                              certificates [0] IMPLICIT SET OF Certificate OPTIONAL, ... }
    """
    tag, pos, end = _der_header(block, 0, len(block))
    if tag != 0x30:
        raise _Malformed("not a DER SEQUENCE")
    tag, start, stop = _der_header(block, pos, end)
    if tag != 0x06 or bytes(block[start:stop]) != _SIGNED_DATA_OID:
        raise _Malformed("content type is not PKCS#7 signedData")
    tag, start, stop = _der_header(block, stop, end)
    if tag != 0xA0:
        raise _Malformed("no [0] content")
    tag, pos, end = _der_header(block, start, stop)
    if tag != 0x30:
        raise _Malformed("SignedData is not a SEQUENCE")
    while pos < end:
        tag, start, stop = _der_header(block, pos, end)
        if tag == 0xA0:
            certs: list[bytes] = []
            while start < stop and len(certs) < MAX_CERTS_PER_SIGNER:
                _, _, cert_end = _der_header(block, start, stop)
                certs.append(bytes(block[start:cert_end]))
                start = cert_end
            return certs
        pos = stop
    return []


def _v1_certificates(block: memoryview, name: str, warn: Callable[[str], None]) -> list[bytes]:
    try:
        return [c.public_bytes(Encoding.DER) for c in pkcs7.load_der_pkcs7_certificates(block)]
    except Exception as exc:  # cryptography raises ValueError, but be safe with hostile DER
        first_error = _short(exc)
    try:
        certs = _pkcs7_raw_certificates(block)
    except _Malformed as exc:
        warn(f"v1 {name}: unreadable PKCS#7 ({first_error}; {exc})")
        return []
    if not certs:
        warn(f"v1 {name}: PKCS#7 holds no certificates")
    return certs


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


def _iso_utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _describe(der: bytes, scheme: str, warn: Callable[[str], None]) -> Certificate:
    sha256 = hashlib.sha256(der).hexdigest()
    info = Certificate("", "", sha256, "", "", "", scheme)
    try:
        cert = x509.load_der_x509_certificate(der)
    except Exception as exc:
        warn(f"{scheme} certificate {sha256[:16]}: not parseable X.509 ({_short(exc)})")
        return info
    failed: list[str] = []
    readers: Iterable[tuple[str, Callable[[], str]]] = (
        ("subject", lambda: cert.subject.rfc4514_string()),
        ("issuer", lambda: cert.issuer.rfc4514_string()),
        ("serial", lambda: format(cert.serial_number, "x")),
        ("not_before", lambda: _iso_utc(cert.not_valid_before_utc)),
        ("not_after", lambda: _iso_utc(cert.not_valid_after_utc)),
    )
    for attr, read in readers:
        try:
            with warnings.catch_warnings():  # cryptography's leniency notes are not ours to print
                warnings.simplefilter("ignore")
                setattr(info, attr, read())
        except Exception:
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
