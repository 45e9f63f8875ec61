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


# --------------------------------------------------------------------------------------------
# certificate fields: our DER reader against cryptography (a test-only dependency)

TESTCERT_PEM = ROOT / "tests" / "support" / "testcert.pem"
FIELDS = ("subject", "issuer", "serial", "not_before", "not_after")


def crypto_fields(cert_der: bytes) -> dict[str, str]:
    """The Certificate fields as cryptography gives them (what signing.py used to report)."""
    import warnings

    from cryptography import x509 as cx509

    with warnings.catch_warnings():  # lenient-certificate notes (long country names, serials)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        cert = cx509.load_der_x509_certificate(cert_der)
        return {
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "serial": format(cert.serial_number, "x"),
            "not_before": cert.not_valid_before_utc.isoformat().replace("+00:00", "Z"),
            "not_after": cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        }


def our_fields(cert_der: bytes) -> tuple[Certificate, list[str]]:
    """Our Certificate for ``cert_der``, read through the public API (as a v2 signer)."""
    data, cd = make_apk(signing_block([(V2_BLOCK_ID, scheme_value([[cert_der]], v3=False))]))
    info = read_signing(data, cd, {})
    assert [c.sha256 for c in info.certificates] == [sha(cert_der)]
    return info.certificates[0], info.warnings


def assert_fields_match_cryptography(cert_der: bytes, ours: Certificate | None = None) -> None:
    if ours is None:
        ours, warns = our_fields(cert_der)
        assert warns == []
    assert {f: getattr(ours, f) for f in FIELDS} == crypto_fields(cert_der)


def corpus_certificates(path: Path) -> dict[str, bytes]:
    """sha256 -> DER of every certificate of every scheme of an APK (module internals)."""
    from qingdan.apk import signing

    data, cd_offset, blocks, _ = load_apk(path)
    found: list[bytes] = []
    ignore = [].append
    with memoryview(data) as view:
        if cd_offset is not None and 0 <= cd_offset <= len(data):
            pairs = signing._signing_block_pairs(view, cd_offset, ignore)
            for pair_id, scheme in signing._BLOCK_SCHEMES.items():
                if pair_id in pairs:
                    found += signing._scheme_certificates(pairs[pair_id], scheme, ignore)
            pairs.clear()
    for name, raw in blocks.items():
        found += signing._v1_certificates(memoryview(raw), name, ignore)
    return {sha(d): d for d in found}


@pytest.mark.parametrize("path", corpus_params())
def test_corpus_certificate_fields_match_cryptography(path: Path) -> None:
    pytest.importorskip("cryptography")
    info = scan(path)
    by_sha = corpus_certificates(path)
    assert {c.sha256 for c in info.certificates} <= set(by_sha)
    for cert in info.certificates:
        assert_fields_match_cryptography(by_sha[cert.sha256], cert)


def test_testcert_fields_match_cryptography() -> None:
    cx509 = pytest.importorskip("cryptography.x509")
    cert_der = cx509.load_pem_x509_certificate(TESTCERT_PEM.read_bytes()).public_bytes(
        Encoding.DER
    )
    assert_fields_match_cryptography(cert_der)
    ours, _ = our_fields(cert_der)
    assert ours.not_after.startswith("2099-")  # GeneralizedTime in the test certificate


def build_cert(
    subject,
    issuer=None,
    serial: int = 0x1234ABCD,
    not_before: dt.datetime = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    not_after: dt.datetime = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
) -> bytes:
    from cryptography import x509 as cx509

    key = ec.generate_private_key(ec.SECP256R1())
    subject = subject if isinstance(subject, cx509.Name) else cx509.Name(subject)
    issuer = issuer if isinstance(issuer, cx509.Name) else cx509.Name(issuer or subject)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.DER)


def tricky_names() -> dict[str, object]:
    from cryptography import x509 as cx509
    from cryptography.x509.name import _ASN1Type
    from cryptography.x509.oid import ObjectIdentifier

    attr, rdn = cx509.NameAttribute, cx509.RelativeDistinguishedName
    return {
        "specials": [attr(NameOID.COMMON_NAME, 'a,b+c"d\\e;f<g>h=i')],
        "leading-hash": [attr(NameOID.ORGANIZATION_NAME, "#not hex")],
        "spaces": [
            attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "trailing "),
            attr(NameOID.ORGANIZATIONAL_UNIT_NAME, " leading"),
            attr(NameOID.ORGANIZATIONAL_UNIT_NAME, " "),
            attr(NameOID.LOCALITY_NAME, "  both  "),
        ],
        "nul": [attr(NameOID.COMMON_NAME, "nul\0byte")],
        "chinese": [
            attr(NameOID.COUNTRY_NAME, "CN"),
            attr(NameOID.STATE_OR_PROVINCE_NAME, "广东省"),
            attr(NameOID.LOCALITY_NAME, "深圳市"),
            attr(NameOID.ORGANIZATION_NAME, "腾讯科技(深圳)有限公司"),
            attr(NameOID.COMMON_NAME, "清单 😀"),
        ],
        "multi-valued": [
            rdn([attr(NameOID.COUNTRY_NAME, "CN")]),
            rdn([attr(NameOID.COMMON_NAME, "multi"), attr(NameOID.ORGANIZATION_NAME, "x+y")]),
            rdn(
                [
                    attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "one"),
                    attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "two"),
                    attr(NameOID.USER_ID, "uid1"),
                ]
            ),
        ],
        "email-and-others": [
            attr(NameOID.DOMAIN_COMPONENT, "com"),
            attr(NameOID.DOMAIN_COMPONENT, "example"),
            attr(NameOID.STREET_ADDRESS, "1 Main St, Apt 2"),
            attr(NameOID.SERIAL_NUMBER, "SN-42"),
            attr(NameOID.EMAIL_ADDRESS, "dev+apk@example.com"),
            attr(NameOID.COMMON_NAME, "with email"),
        ],
        "unknown-oid": [
            attr(ObjectIdentifier("1.3.6.1.4.1.99999.7.1"), "custom=value"),
            attr(ObjectIdentifier("2.999.1234567890123456789"), "#big arc"),
            attr(NameOID.JURISDICTION_COUNTRY_NAME, "CN"),
            attr(NameOID.BUSINESS_CATEGORY, "Private Organization"),
        ],
        "string-types": [
            attr(NameOID.COMMON_NAME, "bmp 中文 ,+", _ASN1Type.BMPString),
            attr(NameOID.ORGANIZATION_NAME, "universal 😀", _ASN1Type.UniversalString),
            attr(NameOID.ORGANIZATIONAL_UNIT_NAME, "t61", _ASN1Type.T61String),
            attr(NameOID.LOCALITY_NAME, "visible", _ASN1Type.VisibleString),
            attr(NameOID.SERIAL_NUMBER, "12345", _ASN1Type.NumericString),
            attr(NameOID.X500_UNIQUE_IDENTIFIER, b"\x00\xab\xcd", _ASN1Type.BitString),
        ],
        "empty": [],
    }


@pytest.mark.parametrize("case", list(tricky_names()))
def test_tricky_names_match_cryptography(case: str) -> None:
    names = tricky_names()
    issuer = names["chinese"] if case != "chinese" else names["specials"]
    cert_der = build_cert(names[case], issuer)
    assert_fields_match_cryptography(cert_der)


def test_tricky_name_strings() -> None:
    """A few expected strings spelled out (cryptography's format, kept for the reader)."""
    names = tricky_names()
    got = {case: our_fields(build_cert(names[case]))[0].subject for case in names}
    assert got["specials"] == 'CN=a\\,b\\+c\\"d\\\\e\\;f\\<g\\>h=i'
    assert got["leading-hash"] == "O=\\#not hex"
    assert got["spaces"] == "L=\\  both \\ ,OU=\\ ,OU=\\ leading,OU=trailing\\ "
    assert got["nul"] == "CN=nul\\00byte"
    assert got["chinese"] == "CN=清单 😀,O=腾讯科技(深圳)有限公司,L=深圳市,ST=广东省,C=CN"
    # a SET OF is written sorted by its DER bytes; both read it back in that order
    assert got["multi-valued"] == "OU=one+OU=two+UID=uid1,O=x\\+y+CN=multi,C=CN"
    assert got["email-and-others"] == (
        "CN=with email,1.2.840.113549.1.9.1=dev\\+apk@example.com,2.5.4.5=SN-42,"
        "STREET=1 Main St\\, Apt 2,DC=example,DC=com"
    )
    assert got["unknown-oid"].endswith(
        ",2.999.1234567890123456789=\\#big arc,1.3.6.1.4.1.99999.7.1=custom=value"
    )
    assert got["string-types"].startswith("2.5.4.45=#00abcd,2.5.4.5=12345,L=visible,OU=t61,")
    assert got["empty"] == ""


@pytest.mark.parametrize(
    "serial, not_before, not_after",
    [
        (0x80, (1950, 1, 1), (2049, 12, 31, 23, 59, 59)),
        (0x80 << 144, (2049, 12, 31, 23, 59, 59), (2050, 1, 1)),
        (1, (2000, 2, 29, 12), (9999, 12, 31, 23, 59, 59)),
        (0x8000_0000_0000_0000, (1970, 1, 1), (2106, 2, 7, 6, 28, 16)),
    ],
)
def test_serials_and_times_match_cryptography(serial, not_before, not_after) -> None:
    """High-bit serials (a leading 00 keeps them positive), the UTCTime bounds 1950 and 2049,
    GeneralizedTime from 2050 on (up to 9999)."""
    not_before = dt.datetime(*not_before, tzinfo=dt.UTC)
    not_after = dt.datetime(*not_after, tzinfo=dt.UTC)
    name = [x509.NameAttribute(NameOID.COMMON_NAME, "t")]
    cert_der = build_cert(name, None, serial, not_before, not_after)
    assert_fields_match_cryptography(cert_der)
    ours, _ = our_fields(cert_der)
    assert (ours.not_before, ours.not_after) == (
        not_before.isoformat().replace("+00:00", "Z"),
        not_after.isoformat().replace("+00:00", "Z"),
    )


# A tiny test-side DER splicer, independent of signing.py, to put values cryptography's
# builder refuses (negative serials, hand-made names and times) into a certificate.


def tlv_items(data: bytes) -> list[bytes]:
    items, pos = [], 0
    while pos < len(data):
        first = data[pos + 1]
        if first < 0x80:
            head, size = 2, first
        else:
            head = 2 + (first & 0x7F)
            size = int.from_bytes(data[pos + 2 : pos + head], "big")
        items.append(data[pos : pos + head + size])
        pos += head + size
    return items


def tlv_body(item: bytes) -> bytes:
    first = item[1]
    return item[2:] if first < 0x80 else item[2 + (first & 0x7F) :]


def splice_tbs(cert_der: bytes, **fields: bytes) -> bytes:
    """cert_der with TBSCertificate fields (serial, issuer, validity, subject) replaced."""
    tbs, *rest = tlv_items(tlv_body(cert_der))
    items = tlv_items(tlv_body(tbs))
    index = {"serial": 1, "issuer": 3, "validity": 4, "subject": 5}
    for key, value in fields.items():
        items[index[key]] = value
    return der(0x30, der(0x30, b"".join(items)) + b"".join(rest))


def oid_der(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = b""
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        while arc := arc >> 7:
            chunk.append(0x80 | (arc & 0x7F))
        body += bytes(reversed(chunk))
    return der(0x06, body)


def name_der(*rdns: list[tuple[str, int, bytes]], sort: bool = True) -> bytes:
    out = b""
    for rdn in rdns:
        atvs = [der(0x30, oid_der(oid) + der(tag, value)) for oid, tag, value in rdn]
        out += der(0x31, b"".join(sorted(atvs) if sort else atvs))
    return der(0x30, out)


@pytest.mark.parametrize(
    "serial", [b"\xff", b"\x80", b"\xff\x7f", b"\x80" + b"\x00" * 19, b"\x00", b"\x7f"]
)
def test_negative_and_edge_serials_match_cryptography(serial: bytes) -> None:
    cert_der = splice_tbs(CERT_A, serial=der(0x02, serial))
    assert_fields_match_cryptography(cert_der)
    ours, _ = our_fields(cert_der)
    assert ours.serial.startswith("-") == bool(serial[0] & 0x80)


def test_hand_made_names_match_cryptography() -> None:
    cases = [
        name_der([("2.5.4.3", 0x0C, "é".encode())], [("2.5.4.10", 0x16, b"ia5")]),
        name_der([("2.5.4.3", 0x1E, "中".encode("utf-16-be")), ("2.5.4.11", 0x13, b"p")]),
        name_der([("1.2.840.113549.1.9.1", 0x16, b"#a@b.c ")]),
        name_der([("2.5.4.3", 0x0C, b"")]),  # empty value
        name_der([("2.5.4.3", 0x04, b"octets")]),  # OCTET STRING, decoded as UTF-8
        name_der([("0.9.2342.19200300.100.1.25", 0x16, b"cn")], [("2.5.4.3", 0x14, b"t61")]),
        der(0x30, b""),  # empty Name
    ]
    for name in cases:
        cert_der = splice_tbs(CERT_A, subject=name, issuer=name)
        assert_fields_match_cryptography(cert_der)


@pytest.mark.parametrize(
    "time, expected",
    [
        (der(0x17, b"500101000000Z"), "1950-01-01T00:00:00Z"),
        (der(0x17, b"491231235959Z"), "2049-12-31T23:59:59Z"),
        (der(0x17, b"000229000000Z"), "2000-02-29T00:00:00Z"),
        (der(0x18, b"20500101000000Z"), "2050-01-01T00:00:00Z"),
        (der(0x18, b"20200101000000Z"), "2020-01-01T00:00:00Z"),  # GeneralizedTime before 2050
        (der(0x18, b"00010101000000Z"), "0001-01-01T00:00:00Z"),
    ],
)
def test_times_match_cryptography(time: bytes, expected: str) -> None:
    cert_der = splice_tbs(CERT_A, validity=der(0x30, time + time))
    assert_fields_match_cryptography(cert_der)
    assert our_fields(cert_der)[0].not_before == expected


@pytest.mark.parametrize(
    "time",
    [
        der(0x17, b"2001011200Z"),  # no seconds
        der(0x17, b"200101120000+0000"),  # offset
        der(0x18, b"20200101120000.5Z"),  # fraction
        der(0x17, b"210229120000Z"),  # not a leap year
        der(0x17, b"200101120060Z"),  # second 60
        der(0x18, b"00000101000000Z"),  # year 0
        der(0x17, b"20010112000 Z"),
        der(0x18, b"200101120000Z"),  # UTCTime digits in a GeneralizedTime
        der(0x02, b"\x00"),
    ],
)
def test_unreadable_time_leaves_field_empty(time: bytes) -> None:
    good = der(0x17, b"200101000000Z")
    ours, warns = our_fields(splice_tbs(CERT_A, validity=der(0x30, good + time)))
    assert (ours.not_before, ours.not_after) == ("2020-01-01T00:00:00Z", "")
    assert ours.subject == "CN=signer a"
    assert len(warns) == 1 and "could not read not_after" in warns[0]


def test_values_cryptography_rejects_are_written_as_hex() -> None:
    """cryptography refuses these names; we write the value as '#' + hex of its DER (RFC 4514
    2.4) instead of dropping the whole name. Unsorted SET OF stays in encoded order."""
    bad_utf8 = name_der([("2.5.4.3", 0x0C, b"\xff\xfe")], [("2.5.4.10", 0x13, b"ok")])
    integer = name_der([("2.5.4.3", 0x02, b"\x05")])
    bit_string = name_der([("2.5.4.3", 0x03, b"\x00\x01")])
    unsorted = name_der([("2.5.4.3", 0x0C, b"z"), ("2.5.4.10", 0x0C, b"a")], sort=False)
    expected = {
        bad_utf8: "O=ok,CN=#0c02fffe",
        integer: "CN=#020105",
        bit_string: "CN=#03020001",
        unsorted: "CN=z+O=a",
    }
    for name, subject in expected.items():
        ours, warns = our_fields(splice_tbs(CERT_A, subject=name))
        assert (ours.subject, ours.issuer, warns) == (subject, "CN=signer a", [])


@pytest.mark.parametrize(
    "subject",
    [
        der(0x30, der(0x31, b"")),  # empty RDN
        der(0x30, der(0x30, b"")),  # RDN not a SET
        der(0x30, der(0x31, der(0x30, der(0x02, b"\x01") + der(0x0C, b"x")))),  # type not an OID
        der(0x30, der(0x31, der(0x30, oid_der("2.5.4.3")))),  # no value
        der(0x30, der(0x31, der(0x30, der(0x06, b"\x85")))),  # OID cut inside an arc
        der(0x30, der(0x31, der(0x30, oid_der("2.5.4.3") + der(0x0C, b"x") + der(0x0C, b"y")))),
        der(0x30, der(0x31, der(0x30, oid_der("2.5.4.3") + b"\x0c\x80"))),  # indefinite length
        der(0x30, der(0x31, der(0x30, oid_der("2.5.4.3") + b"\x1f\xff\xff\xff\xff\x01\x00"))),
        der(0x30, der(0x31, der(0x30, oid_der("2.5.4.3") + der(0x0C, b"x"))) * 1100),  # too many
    ],
)
def test_malformed_name_leaves_field_empty(subject: bytes) -> None:
    ours, warns = our_fields(splice_tbs(CERT_A, subject=subject))
    assert (ours.subject, ours.issuer, ours.serial) == ("", "CN=signer a", "1234abcd")
    assert len(warns) == 1 and "could not read subject" in warns[0]


def test_long_form_tag_value_is_hex() -> None:
    value = b"\x1f\x81\x00\x01x"  # [UNIVERSAL 128] "x": a multi-byte identifier
    subject = der(0x30, der(0x31, der(0x30, oid_der("2.5.4.3") + value)))
    ours, warns = our_fields(splice_tbs(CERT_A, subject=subject))
    assert (ours.subject, warns) == ("CN=#" + value.hex(), [])


@pytest.mark.parametrize(
    "cert_der, reason",
    [
        (CERT_A + b"\x00", "after the certificate"),
        (der(0x30, der(0x30, b"") + der(0x30, b"") + der(0x03, b"\x00")), "TBSCertificate"),
        (splice_tbs(CERT_A, serial=der(0x13, b"1")), "TBSCertificate"),
        (der(0x31, b""), "SEQUENCE"),
    ],
)
def test_not_a_certificate(cert_der: bytes, reason: str) -> None:
    ours, warns = our_fields(cert_der)
    assert (ours.subject, ours.serial, ours.not_after) == ("", "", "")
    assert len(warns) == 1 and "not parseable X.509" in warns[0] and reason in warns[0]


def test_empty_serial_leaves_field_empty() -> None:
    ours, warns = our_fields(splice_tbs(CERT_A, serial=der(0x02, b"")))
    assert (ours.serial, ours.subject) == ("", "CN=signer a")
    assert len(warns) == 1 and "could not read serial" in warns[0]


def test_random_names_and_times_match_cryptography() -> None:
    """Seeded differential check: wherever cryptography reads a field, ours is identical."""
    rng = random.Random(4514)
    oids = ["2.5.4.3", "2.5.4.6", "2.5.4.7", "2.5.4.8", "2.5.4.9", "2.5.4.10", "2.5.4.11",
            "0.9.2342.19200300.100.1.1", "0.9.2342.19200300.100.1.25", "1.2.840.113549.1.9.1",
            "2.5.4.5", "1.3.6.1.4.1.311.60.2.1.3", "2.999.77"]
    pool = list("abZ09 #,+\"\\;<>=\0\n/é中😀") + ["  ", " #"]
    codecs = {0x0C: "utf-8", 0x14: "utf-8", 0x16: "utf-8", 0x1E: "utf-16-be", 0x1C: "utf-32-be"}
    compared = 0
    for _ in range(400):
        rdns = []
        for _ in range(rng.randrange(4)):
            rdn = []
            for _ in range(rng.choice((1, 1, 2))):
                tag = rng.choice(list(codecs))
                text = "".join(rng.choice(pool) for _ in range(rng.choice((0, 1, 2, 5))))
                rdn.append((rng.choice(oids), tag, text.encode(codecs[tag])))
            rdns.append(rdn)
        year = rng.choice((1950, 1999, 2000, 2049, rng.randrange(1, 10000)))
        month, day, hour = rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24)
        stamp = f"{year:04d}{month:02d}{day:02d}{hour:02d}"
        stamp += f"{rng.randrange(60):02d}{rng.randrange(60):02d}Z"
        time = der(0x17, stamp[2:].encode()) if 1950 <= year < 2050 else der(0x18, stamp.encode())
        cert_der = splice_tbs(
            CERT_A, subject=name_der(*rdns), validity=der(0x30, time + der(0x17, b"300101000000Z"))
        )
        try:
            expected = crypto_fields(cert_der)
        except ValueError:  # e.g. a duplicate attribute in one RDN
            continue
        ours, warns = our_fields(cert_der)
        assert {f: getattr(ours, f) for f in FIELDS} == expected
        assert warns == []
        compared += 1
    assert compared > 300


# --------------------------------------------------------------------------------------------
# PKCS#7 envelopes written with BER indefinite lengths


def ber_signed_data(*certs: bytes, nested_eoc: bool = True) -> bytes:
    def indef(tag: int, body: bytes) -> bytes:
        return bytes([tag, 0x80]) + body + b"\x00\x00"

    encap = indef(0x30, oid_der("1.2.840.113549.1.7.1"))
    signed_data = indef(
        0x30,
        der(0x02, b"\x01") + der(0x31, b"") + encap + indef(0xA0, b"".join(certs)) + der(0x31, b""),
    )
    return indef(0x30, oid_der("1.2.840.113549.1.7.2") + indef(0xA0, signed_data))


def test_v1_ber_indefinite_lengths() -> None:
    data, cd = make_apk(names=("META-INF/X.SF", "META-INF/X.RSA"))
    info = read_signing(data, cd, {"META-INF/X.RSA": ber_signed_data(CERT_A, CERT_B)})
    assert info.warnings == [] and info.schemes == ["v1"]
    assert [(c.sha256, c.subject) for c in info.certificates] == [
        (sha(CERT_A), "CN=signer a"),
        (sha(CERT_B), "CN=signer b"),
    ]


def test_v1_skips_non_certificate_choices() -> None:
    data, cd = make_apk(names=("META-INF/X.SF", "META-INF/X.RSA"))
    attr_cert = der(0xA1, b"\x05\x00")  # [1] v1AttrCert: not X.509
    info = read_signing(data, cd, {"META-INF/X.RSA": ber_signed_data(attr_cert, CERT_A)})
    assert [c.sha256 for c in info.certificates] == [sha(CERT_A)]
    assert len(info.warnings) == 1 and "not X.509" in info.warnings[0]


@pytest.mark.parametrize(
    "blob",
    [
        b"\x30\x80" + b"\x04\x00" * 200_000,  # endless flat indefinite SEQUENCE
        b"\x30\x80" * 50_000,  # deep nesting
        b"\x30\x80" + oid_der("1.2.840.113549.1.7.2") + b"\xa0\x80\x30\x80",  # cut off
        b"\x04\x80\x00\x00",  # indefinite primitive
        ber_signed_data(CERT_A)[:-3],
    ],
)
def test_v1_hostile_ber_is_bounded(blob: bytes) -> None:
    import time

    data, cd = make_apk(names=("META-INF/X.SF", "META-INF/X.RSA"))
    started = time.perf_counter()
    info = read_signing(data, cd, {"META-INF/X.RSA": blob})
    assert time.perf_counter() - started < 0.5
    assert info.schemes == ["v1"] and info.certificates == []
    assert len(info.warnings) == 1 and "unreadable PKCS#7" in info.warnings[0]


def test_signing_does_not_import_cryptography() -> None:
    import subprocess

    code = "import sys, qingdan.apk.signing; print('cryptography' in sys.modules)"
    env = {"PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "False", out.stderr
