"""Tests of qingdan.apk.signing: corpus cross-checks against androguard, and hostile input."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import mmap
import random
import re
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if not (ROOT / "src" / "qingdan" / "__init__.py").exists():  # pragma: no cover - layout guard
    raise RuntimeError("tests expect the src/ layout")
try:
    import qingdan  # noqa: F401
except ImportError:  # not installed into the venv: import from the source tree
    sys.path.insert(0, str(ROOT / "src"))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from qingdan.apk.signing import (  # noqa: E402
    APK_SIG_BLOCK_MAGIC,
    V2_BLOCK_ID,
    V3_BLOCK_ID,
    V31_BLOCK_ID,
    Certificate,
    SigningInfo,
    read_signing,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "apks"
NO_CORPUS = f"corpus absent: {CORPUS} (needs ../shared beside the repository)"
V1_NAME = re.compile(r"\AMETA-INF/(?s:.)*\.(?:RSA|DSA|EC)\Z")
VERITY_PADDING_ID = 0x42726577
SOURCE_STAMP_ID = 0x6DFF800D

# cryptography warns (UserWarning) about over-long country names in some real certificates.
# Mutated certificates may have non-positive serial numbers, which it deprecates.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Attribute's length must be:UserWarning"),
    pytest.mark.filterwarnings("ignore:Parsed a serial number which wasn't positive"),
]


# --------------------------------------------------------------------------------------------
# reading an APK the way the caller of read_signing does


def eocd_cd_offset(data: bytes) -> int | None:
    """Central directory offset from the EOCD whose comment reaches exactly the end of the file."""
    pos = len(data) - 22
    lowest = max(0, len(data) - 22 - 0xFFFF)
    while pos >= lowest:
        pos = data.rfind(b"PK\x05\x06", lowest, pos + 4)
        if pos < 0:
            return None
        if pos + 22 + struct.unpack_from("<H", data, pos + 20)[0] == len(data):
            return struct.unpack_from("<I", data, pos + 16)[0]
        pos -= 1
    return None


def lenient_v1_blocks(data: bytes, cd_offset: int) -> dict[str, bytes]:
    """v1 blocks by walking the central directory directly, for archives zipfile rejects
    (e.g. a central directory size field that is off by two). Raises on anything odd."""
    blocks: dict[str, bytes] = {}
    pos = cd_offset
    while data[pos : pos + 4] == b"PK\x01\x02":
        (method,) = struct.unpack_from("<H", data, pos + 10)
        (csize,) = struct.unpack_from("<I", data, pos + 20)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        (local,) = struct.unpack_from("<I", data, pos + 42)
        name = data[pos + 46 : pos + 46 + name_len].decode("utf-8")
        if V1_NAME.search(name):
            assert data[local : local + 4] == b"PK\x03\x04"
            lname, lextra = struct.unpack_from("<HH", data, local + 26)
            raw = data[local + 30 + lname + lextra :][:csize]
            blocks[name] = {0: lambda b: b, 8: lambda b: zlib.decompress(b, -15)}[method](raw)
        pos += 46 + name_len + extra_len + comment_len
    return blocks


def load_apk(path: Path) -> tuple[bytes, int | None, dict[str, bytes], bool]:
    """(data, cd_offset, v1 blocks, v1 blocks complete?)"""
    data = path.read_bytes()
    cd_offset = eocd_cd_offset(data)
    blocks: dict[str, bytes] = {}
    complete = True
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                if V1_NAME.search(name):
                    try:
                        blocks[name] = zf.read(name)
                    except Exception:
                        complete = False
    except Exception:
        complete = False
        if cd_offset is not None:
            with contextlib.suppress(Exception):
                blocks, complete = lenient_v1_blocks(data, cd_offset), True
    return data, cd_offset, blocks, complete


def scan(path: Path) -> SigningInfo:
    data, cd_offset, blocks, _ = load_apk(path)
    return read_signing(data, cd_offset if cd_offset is not None else 0, blocks)


def corpus_params() -> list:
    if not CORPUS.is_dir():
        return [pytest.param(None, id="no-corpus", marks=pytest.mark.skip(reason=NO_CORPUS))]
    return [pytest.param(p, id=str(p.relative_to(CORPUS))) for p in sorted(CORPUS.rglob("*.apk"))]


def edge(name: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip(NO_CORPUS)
    path = CORPUS / "edge" / name
    if not path.is_file():
        pytest.skip(f"corpus file absent: {path}")
    return path


def sha(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


# --------------------------------------------------------------------------------------------
# corpus


@pytest.mark.parametrize("path", corpus_params())
def test_corpus_matches_androguard(path: Path) -> None:
    apk_module = pytest.importorskip("androguard.core.apk")
    try:
        from loguru import logger

        logger.disable("androguard")
    except ImportError:  # pragma: no cover
        pass
    try:
        apk = apk_module.APK(str(path))
    except Exception as exc:
        pytest.skip(f"androguard cannot open it: {type(exc).__name__}: {exc}")

    data, cd_offset, blocks, v1_complete = load_apk(path)
    assert cd_offset is not None
    info = read_signing(data, cd_offset, blocks)

    expected = [
        scheme
        for scheme, present in (
            ("v1", apk.is_signed_v1()),
            ("v2", apk.is_signed_v2()),
            ("v3", apk.is_signed_v3()),
            ("v3.1", apk.is_signed_v31()),
        )
        if present
    ]
    block_certs = {
        sha(der)
        for der in apk.get_certificates_der_v2()
        + apk.get_certificates_der_v3()
        + apk.get_certificates_der_v31()
    }
    try:
        v1_certs = {sha(cert.dump()) for cert in apk.get_certificates_v1()}
    except Exception:  # androguard cannot read the v1 block (e.g. mismatched compression)
        v1_certs = None

    ours = {c.sha256 for c in info.certificates}
    ours_blocks = {c.sha256 for c in info.certificates if c.scheme != "v1"}
    if v1_complete:
        assert info.schemes == expected
    else:  # zipfile could not give us every v1 block: compare the APK Signing Block only
        assert [s for s in info.schemes if s != "v1"] == [s for s in expected if s != "v1"]
    if v1_complete and v1_certs is not None:
        assert ours == block_certs | v1_certs
    else:
        assert ours_blocks == block_certs
    assert info.signed == bool(expected)
    assert len(ours) == len(info.certificates)  # unique by sha256


@pytest.mark.parametrize("path", corpus_params())
def test_corpus_never_raises_and_fields_are_well_formed(path: Path) -> None:
    info = scan(path)
    assert isinstance(info, SigningInfo)
    order = ["v3.1", "v3", "v2", "v1"]
    assert [order.index(c.scheme) for c in info.certificates] == sorted(
        order.index(c.scheme) for c in info.certificates
    )
    for cert in info.certificates:
        assert re.fullmatch(r"[0-9a-f]{64}", cert.sha256)
        assert re.fullmatch(r"-?[0-9a-f]+", cert.serial)
        for moment in (cert.not_before, cert.not_after):
            assert dt.datetime.fromisoformat(moment).utcoffset() == dt.timedelta(0)
        assert cert.subject and cert.issuer


def test_golden_v1v2v3_lineage() -> None:
    info = scan(edge("apksig-golden-aligned-v1v2v3-lineage-out.apk"))
    assert info.schemes == ["v1", "v2", "v3"]
    assert info.signed and info.warnings == []
    assert [(c.scheme, c.subject, c.issuer) for c in info.certificates] == [
        ("v3", "CN=rsa-2048_2", "CN=rsa-2048"),  # rotated key, signs v3
        ("v2", "CN=rsa-2048", "CN=rsa-2048"),  # original key, signs v2 and v1
    ]
    new, old = info.certificates
    assert new.sha256 == "681b0e56a796350c08647352a4db800cc44b2adc8f4c72fa350bd05d4d50264d"
    assert old.sha256 == "fb5dbd3c669af9fc236c6991e6387b7f11ff0590997f22d0f5c74ff40e04fca8"
    assert (new.serial, new.not_before, new.not_after) == (
        "d87b0146092a9f4f",
        "2018-06-19T00:05:00Z",
        "2028-06-16T00:05:00Z",
    )


def test_v1_only_with_max_sized_eocd_comment() -> None:
    info = scan(edge("apksig-v1-only-max-sized-eocd-comment.apk"))
    assert info.schemes == ["v1"]
    assert [(c.scheme, c.subject) for c in info.certificates] == [("v1", "CN=rsa-2048")]
    assert info.warnings == []


@pytest.mark.parametrize(
    "name", ["apksig-empty-unsigned.apk", "mshopping-mandroid1-release-unsigned-2014.apk"]
)
def test_unsigned(name: str) -> None:
    info = scan(edge(name))
    assert info.schemes == [] and info.certificates == [] and not info.signed
    assert info.warnings == []


def test_vasdolly_v1_only() -> None:
    info = scan(edge("vasdolly-v1-base-debug.apk"))
    assert info.schemes == ["v1"]
    assert len(info.certificates) == 1 and info.certificates[0].scheme == "v1"
    assert info.warnings == []


def test_partial_signature_block_without_sf_is_ignored() -> None:
    info = scan(edge("androguard-partialsignature.apk"))
    assert info.schemes == ["v1"]
    assert [c.sha256 for c in info.certificates] == [
        "1e3bf46f964d494c9094cbf1a7ebec99b63d4acf6ae7519287d94faf5ea6871b"
    ]
    assert info.certificates[0].subject.startswith("CN=FDroid")
    assert any("META-INF/CERT.RSA" in w and ".SF" in w for w in info.warnings)


def test_mmap_and_memoryview_inputs(tmp_path: Path) -> None:
    path = edge("apksig-golden-aligned-v1v2v3-lineage-out.apk")
    data, cd_offset, blocks, _ = load_apk(path)
    expected = read_signing(data, cd_offset, blocks)
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        assert read_signing(mm, cd_offset, blocks) == expected
        mm.close()  # no view into the mmap may outlive the call
    assert read_signing(memoryview(data), cd_offset, blocks) == expected
    assert read_signing(bytearray(data), cd_offset, blocks) == expected


# --------------------------------------------------------------------------------------------
# synthetic packages


def make_cert(cn: str, serial: int = 0x1234ABCD) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2050, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.DER)


CERT_A = make_cert("signer a", 0x1234ABCD)
CERT_B = make_cert("signer b", 0x42)
CERT_C = make_cert("signer c", 0x43)


def lp(*parts: bytes) -> bytes:
    """uint32 length-prefixed concatenation."""
    body = b"".join(parts)
    return struct.pack("<I", len(body)) + body


def seq(items: list[bytes]) -> bytes:
    return lp(*(lp(item) for item in items))


def signer(certs: list[bytes], v3: bool) -> bytes:
    digests = seq([struct.pack("<I", 0x0103) + lp(b"\x11" * 32)])
    sdk = struct.pack("<II", 28, 0x7FFFFFFF) if v3 else b""
    signed_data = lp(digests, seq(certs), sdk, seq([]))
    return lp(signed_data, sdk, seq([struct.pack("<I", 0x0103) + lp(b"sig")]), lp(b"pubkey"))


def scheme_value(signers: list[list[bytes]], v3: bool) -> bytes:
    return lp(*(signer(certs, v3) for certs in signers))


def signing_block(pairs: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(struct.pack("<QI", len(value) + 4, pid) + value for pid, value in pairs)
    size = len(body) + 8 + 16
    return struct.pack("<Q", size) + body + struct.pack("<Q", size) + APK_SIG_BLOCK_MAGIC


def make_zip(names: list[str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("AndroidManifest.xml", b"\x03\x00\x08\x00")
        for name in names:
            zf.writestr(name, b"x")
    return out.getvalue()


def make_apk(block: bytes = b"", names: tuple[str, ...] = ()) -> tuple[bytes, int]:
    """A zip with ``block`` inserted before the central directory; (data, cd_offset)."""
    base = make_zip(list(names))
    cd = eocd_cd_offset(base)
    assert cd is not None
    eocd = base.rfind(b"PK\x05\x06")
    data = bytearray(base[:cd] + block + base[cd:])
    struct.pack_into("<I", data, eocd + len(block) + 16, cd + len(block))
    return bytes(data), cd + len(block)


def full_block() -> bytes:
    return signing_block(
        [
            (VERITY_PADDING_ID, b"\x00" * 100),
            (V2_BLOCK_ID, scheme_value([[CERT_B, CERT_C]], v3=False)),
            (V3_BLOCK_ID, scheme_value([[CERT_A]], v3=True)),
            (SOURCE_STAMP_ID, b"stamp"),
            (V31_BLOCK_ID, scheme_value([[CERT_C]], v3=True)),
        ]
    )


def test_synthetic_v2_v3_v31_v1() -> None:
    data, cd = make_apk(full_block(), ("META-INF/A.SF", "META-INF/A.RSA"))
    v1 = pkcs7.serialize_certificates([x509.load_der_x509_certificate(CERT_B)], Encoding.DER)
    info = read_signing(data, cd, {"META-INF/A.RSA": v1})
    assert info.warnings == []
    assert info.schemes == ["v1", "v2", "v3", "v3.1"]
    assert [(c.scheme, c.subject) for c in info.certificates] == [
        ("v3.1", "CN=signer c"),
        ("v3", "CN=signer a"),
        ("v2", "CN=signer b"),
    ]
    a = info.certificates[1]
    assert a == Certificate(
        subject="CN=signer a",
        issuer="CN=signer a",
        sha256=sha(CERT_A),
        serial="1234abcd",
        not_before="2020-01-02T03:04:05Z",
        not_after="2050-01-02T03:04:05Z",
        scheme="v3",
    )


def test_only_unknown_pairs_is_unsigned() -> None:
    data, cd = make_apk(signing_block([(VERITY_PADDING_ID, b"\x00" * 4000)]))
    info = read_signing(data, cd, {})
    assert (info.schemes, info.certificates, info.warnings, info.signed) == ([], [], [], False)


def test_unparseable_certificate_reported_by_sha256() -> None:
    junk = b"\x30\x03\x02\x01\x05"
    data, cd = make_apk(signing_block([(V2_BLOCK_ID, scheme_value([[junk]], v3=False))]))
    info = read_signing(data, cd, {})
    assert info.schemes == ["v2"]
    assert [(c.sha256, c.subject) for c in info.certificates] == [(sha(junk), "")]
    assert len(info.warnings) == 1 and "X.509" in info.warnings[0]


def der(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def test_v1_fallback_der_walk_keeps_unparseable_certificate() -> None:
    odd_cert = der(0x30, der(0x02, b"\x05"))
    signed_data = der(
        0x30,
        der(0x02, b"\x01")
        + der(0x31, b"")
        + der(0x30, der(0x06, bytes.fromhex("2a864886f70d010701")))
        + der(0xA0, odd_cert + CERT_A)
        + der(0x31, b""),
    )
    content_info = der(
        0x30, der(0x06, bytes.fromhex("2a864886f70d010702")) + der(0xA0, signed_data)
    )
    data, cd = make_apk(names=("META-INF/X.SF", "META-INF/X.RSA"))
    info = read_signing(data, cd, {"META-INF/X.RSA": content_info})
    assert info.schemes == ["v1"]
    assert [c.sha256 for c in info.certificates] == [sha(odd_cert), sha(CERT_A)]
    assert info.certificates[1].subject == "CN=signer a"
    assert any("X.509" in w for w in info.warnings)


# --------------------------------------------------------------------------------------------
# hostile input


def assert_sane(info: SigningInfo) -> None:
    assert isinstance(info, SigningInfo)
    assert all(isinstance(s, str) for s in info.schemes)
    assert all(isinstance(c, Certificate) for c in info.certificates)
    assert all(isinstance(w, str) and "\n" not in w for w in info.warnings)
    assert len({c.sha256 for c in info.certificates}) == len(info.certificates)


def test_truncated_signing_block_every_cut() -> None:
    block = full_block()
    data, cd = make_apk(block)
    start = cd - len(block)
    for cut in range(start, cd):
        info = read_signing(data[:cut], cd, {})
        assert_sane(info)
        assert info.schemes == [] and info.warnings  # cd_offset now past the end


def test_signing_block_with_body_cut_but_footer_kept() -> None:
    block = full_block()
    for keep in range(0, len(block) - 24, 7):
        broken = block[:keep] + block[-24:]  # footer still claims the full size
        data, cd = make_apk(broken)
        info = read_signing(data, cd, {})
        assert_sane(info)
        assert info.warnings


def test_size_fields_disagree() -> None:
    block = bytearray(full_block())
    struct.pack_into("<Q", block, 0, 12345)
    data, cd = make_apk(bytes(block))
    info = read_signing(data, cd, {})
    assert info.schemes == [] and any("disagree" in w for w in info.warnings)


def test_block_size_larger_than_file() -> None:
    block = bytearray(full_block())
    struct.pack_into("<Q", block, len(block) - 24, 2**63)
    data, cd = make_apk(bytes(block))
    info = read_signing(data, cd, {})
    assert info.schemes == [] and info.warnings


def test_pair_length_lies() -> None:
    block = bytearray(full_block())
    struct.pack_into("<Q", block, 8, 2**64 - 1)  # first pair claims to be enormous
    data, cd = make_apk(bytes(block))
    info = read_signing(data, cd, {})
    assert_sane(info)
    assert info.schemes == [] and any("pair 1" in w for w in info.warnings)


@pytest.mark.parametrize(
    "value",
    [
        lp(b"\xff\xff\xff\xff"),  # signer claims 4 GiB
        struct.pack("<I", 0xFFFFFFFF),  # signer sequence claims 4 GiB
        lp(lp(struct.pack("<I", 0xFFFFFFF0))),  # signed data claims too much
        lp(lp(lp(lp(b"") + struct.pack("<I", 0x7FFFFFFF)))),  # certificate sequence lies
        lp(lp(lp(lp(b"") + lp(struct.pack("<I", 1000) + b"abc")))),  # certificate lies
        lp(lp(lp(lp(b"") + lp(lp(b""))))),  # empty certificate
        lp(),  # no signers
        b"",  # nothing at all
        b"\x01",
    ],
)
def test_nested_length_lies(value: bytes) -> None:
    data, cd = make_apk(signing_block([(V2_BLOCK_ID, value), (V3_BLOCK_ID, value)]))
    info = read_signing(data, cd, {})
    assert_sane(info)
    assert info.schemes == ["v2", "v3"]  # present, even though unreadable
    assert info.certificates == []
    assert any(w.startswith("v2") for w in info.warnings)
    assert any(w.startswith("v3") for w in info.warnings)


def test_one_broken_signer_does_not_hide_the_next() -> None:
    broken = lp(lp(b"\x00\x00"))  # signed data cut short
    value = lp(broken, signer([CERT_A], v3=False))
    data, cd = make_apk(signing_block([(V2_BLOCK_ID, value)]))
    info = read_signing(data, cd, {})
    assert [c.sha256 for c in info.certificates] == [sha(CERT_A)]
    assert any("v2 signer 1" in w for w in info.warnings)


def test_huge_signer_count_is_capped() -> None:
    value = lp(*(lp(b"") for _ in range(20000)))
    data, cd = make_apk(signing_block([(V2_BLOCK_ID, value)]))
    info = read_signing(data, cd, {})
    assert_sane(info)
    assert len(info.warnings) <= 51
    assert info.warnings[-1].endswith("not shown")


def test_duplicate_scheme_block() -> None:
    value = scheme_value([[CERT_A]], v3=False)
    other = scheme_value([[CERT_B]], v3=False)
    data, cd = make_apk(signing_block([(V2_BLOCK_ID, value), (V2_BLOCK_ID, other)]))
    info = read_signing(data, cd, {})
    assert [c.sha256 for c in info.certificates] == [sha(CERT_A)]
    assert any("duplicate" in w for w in info.warnings)


@pytest.mark.parametrize("cd_offset", [-1, 10**12, None, "12", 2.5, True])
def test_cd_offset_out_of_range(cd_offset) -> None:
    data, _ = make_apk(full_block())
    info = read_signing(data, cd_offset, {})
    assert_sane(info)
    assert info.schemes == [] and len(info.warnings) == 1 and "cd_offset" in info.warnings[0]


def test_cd_offset_wrong_but_in_range() -> None:
    data, _ = make_apk(full_block(), ("META-INF/A.SF", "META-INF/A.RSA"))
    v1 = pkcs7.serialize_certificates([x509.load_der_x509_certificate(CERT_A)], Encoding.DER)
    info = read_signing(data, 5, {"META-INF/A.RSA": v1})
    # no signing block found; v1 block cannot be paired with its .SF, so it is trusted
    assert info.schemes == ["v1"] and [c.scheme for c in info.certificates] == ["v1"]
    assert any("central directory" in w for w in info.warnings)


@pytest.mark.parametrize(
    "blob",
    [b"", b"\x00", b"not der at all", b"\x30\x80\x00\x00", b"\x30\x84\xff\xff\xff\xff", b"\x30"],
)
def test_bad_v1_der(blob: bytes) -> None:
    data, cd = make_apk(names=("META-INF/CERT.SF", "META-INF/CERT.RSA"))
    info = read_signing(data, cd, {"META-INF/CERT.RSA": blob})
    assert info.schemes == ["v1"] and info.certificates == []
    assert len(info.warnings) == 1 and "META-INF/CERT.RSA" in info.warnings[0]


def test_v1_block_without_sf_is_not_a_signature() -> None:
    data, cd = make_apk(names=("META-INF/CERT.RSA",))
    v1 = pkcs7.serialize_certificates([x509.load_der_x509_certificate(CERT_A)], Encoding.DER)
    info = read_signing(data, cd, {"META-INF/CERT.RSA": v1})
    assert info.schemes == [] and info.certificates == [] and not info.signed
    assert any("partial" in w for w in info.warnings)


def test_not_bytes_like_inputs() -> None:
    assert_sane(read_signing(None, 0, {}))
    assert_sane(read_signing("text", 0, {"META-INF/A.RSA": None}))  # type: ignore[dict-item]
    assert read_signing(b"", 0, {}) == SigningInfo([], [], [])  # nothing there, nothing to say


def test_random_bytes_never_raise() -> None:
    rng = random.Random(524)
    for _ in range(300):
        blob = rng.randbytes(rng.randrange(0, 600))
        cd = rng.randrange(-5, len(blob) + 5)
        blocks = (
            {"META-INF/R.RSA": rng.randbytes(rng.randrange(0, 80))} if rng.random() < 0.5 else {}
        )
        assert_sane(read_signing(blob, cd, blocks))


def test_mutated_signing_block_never_raises() -> None:
    rng = random.Random(42)
    block = full_block()
    data, cd = make_apk(block)
    start = cd - len(block)
    for _ in range(1500):
        mutated = bytearray(data)
        for _ in range(rng.randrange(1, 6)):
            pos = rng.randrange(start, cd)
            mutated[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        assert_sane(read_signing(bytes(mutated), cd, {}))


def test_random_magic_block_never_raises() -> None:
    """Random bytes that end in the magic, so the parser goes all the way in."""
    rng = random.Random(7)
    for _ in range(300):
        body = rng.randbytes(rng.randrange(0, 200))
        size = len(body) + 24
        block = struct.pack("<Q", size) + body + struct.pack("<Q", size) + APK_SIG_BLOCK_MAGIC
        data, cd = make_apk(block)
        assert_sane(read_signing(data, cd, {}))


def test_large_file_is_not_copied() -> None:
    """A big file with a signing block reads in well under a second (only slices are taken)."""
    import time

    block = full_block()
    data, cd = make_apk(block)
    big = bytearray(64 * 1024 * 1024) + data
    cd += 64 * 1024 * 1024
    started = time.perf_counter()
    for _ in range(20):
        info = read_signing(big, cd, {})
    assert info.schemes == ["v2", "v3", "v3.1"]
    assert time.perf_counter() - started < 2.0
