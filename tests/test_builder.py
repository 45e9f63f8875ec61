"""Validate the test-side APK writer (tests/support/apkbuilder.py).

Everything here checks the builder *independently of qingdan*: the output is
parsed with androguard 4.1.4 and, for header/ordering invariants, with small
struct-based checks written straight from the dex-format spec.
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

pytest.importorskip("androguard")

from androguard.core.apk import APK  # noqa: E402
from androguard.core.axml import END_DOCUMENT, START_TAG, AXMLParser  # noqa: E402
from androguard.core.dex import DEX  # noqa: E402
from androguard.misc import AnalyzeAPK  # noqa: E402

from tests.support.apkbuilder import (  # noqa: E402
    ANDROID_ATTR_IDS,
    ClassDef,
    Component,
    Element,
    IntentFilter,
    Invoke,
    Method,
    TypedValue,
    build_apk,
    build_arsc,
    build_axml,
    build_dex,
    build_large_app,
    build_manifest,
    build_zip,
    dummy_elf,
    mutf8,
    utf16_sort_key,
)

try:  # androguard logs through loguru; keep the test output quiet
    from loguru import logger as _loguru

    _loguru.remove()
except Exception:  # pragma: no cover
    pass

REPO = Path(__file__).resolve().parent.parent
S = "Ljava/lang/String;"
CTX = "Landroid/content/Context;"
OBJ = "Ljava/lang/Object;"
ANDROID = "{http://schemas.android.com/apk/res/android}"


# --------------------------------------------------------------------------
# helpers: minimal spec-based dex header reading (not qingdan code)
# --------------------------------------------------------------------------

def dex_header(data: bytes) -> dict:
    names = ["file_size", "header_size", "endian_tag", "link_size", "link_off", "map_off",
             "string_ids_size", "string_ids_off", "type_ids_size", "type_ids_off",
             "proto_ids_size", "proto_ids_off", "field_ids_size", "field_ids_off",
             "method_ids_size", "method_ids_off", "class_defs_size", "class_defs_off",
             "data_size", "data_off"]
    h = dict(zip(names, struct.unpack_from("<20I", data, 32), strict=True))
    h["magic"] = data[:8]
    h["checksum"] = struct.unpack_from("<I", data, 8)[0]
    h["signature"] = data[12:32]
    return h


def dex_map(data: bytes) -> list[tuple[int, int, int]]:
    off = dex_header(data)["map_off"]
    (n,) = struct.unpack_from("<I", data, off)
    return [struct.unpack_from("<HxxII", data, off + 4 + 12 * i) for i in range(n)]


def read_uleb(data: bytes, off: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[off]
        off += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, off


def dex_strings(data: bytes) -> list[str]:
    """Decode string_ids via MUTF-8 (spec) -> Python str (surrogates joined)."""
    h = dex_header(data)
    out = []
    for i in range(h["string_ids_size"]):
        (off,) = struct.unpack_from("<I", data, h["string_ids_off"] + 4 * i)
        n16, off = read_uleb(data, off)
        end = data.index(b"\x00", off)
        raw = data[off:end].replace(b"\xc0\x80", b"\x00")
        s = raw.decode("utf-8", "surrogatepass")
        # re-join surrogate pairs that MUTF-8 encodes separately
        s = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        assert len(s.encode("utf-16-le")) // 2 == n16
        out.append(s)
    return out


def dex_ids(data: bytes):
    h = dex_header(data)
    strings = dex_strings(data)
    types = [strings[struct.unpack_from("<I", data, h["type_ids_off"] + 4 * i)[0]]
             for i in range(h["type_ids_size"])]
    type_idx = [struct.unpack_from("<I", data, h["type_ids_off"] + 4 * i)[0]
                for i in range(h["type_ids_size"])]
    protos = []
    for i in range(h["proto_ids_size"]):
        shorty, ret, params_off = struct.unpack_from("<III", data, h["proto_ids_off"] + 12 * i)
        params = []
        if params_off:
            (n,) = struct.unpack_from("<I", data, params_off)
            params = list(struct.unpack_from(f"<{n}H", data, params_off + 4))
        protos.append((ret, params))
    methods = [struct.unpack_from("<HHI", data, h["method_ids_off"] + 8 * i)
               for i in range(h["method_ids_size"])]
    return strings, types, type_idx, protos, methods


def all_instructions(dex: DEX):
    for cls in dex.get_classes():
        for m in cls.get_methods():
            if m.get_code() is None:
                continue
            yield cls, m, list(m.get_instructions())


def sample_classes() -> list[ClassDef]:
    return [
        # subclass listed first on purpose: the writer must reorder
        ClassDef("Lcom/example/app/Sub;", "Lcom/example/app/Base;", interfaces=["Ljava/lang/Runnable;"],
                 source_file="Sub.java",
                 methods=[Method("<init>", invokes=[Invoke("Lcom/example/app/Base;", "<init>", kind="direct",
                                                           receiver_this=True)]),
                          Method("run", invokes=[Invoke("Lcom/example/app/Base;", "helper", [S], "I",
                                                        kind="static", string_args={0: "from run"})])]),
        ClassDef("Lcom/example/app/Base;", source_file="Base.java", methods=[
            Method("<init>", invokes=[Invoke(OBJ, "<init>", kind="direct", receiver_this=True)]),
            Method("<clinit>", strings=["static init"]),
            Method("helper", [S], "I", static=True, access=0x2, invokes=[
                Invoke("Landroid/util/Log;", "d", [S, S], "I", kind="static",
                       string_args={0: "TAG", 1: "中文日志"}),
            ]),
            Method("imei", [CTX], S, invokes=[
                Invoke(CTX, "getSystemService", [S], OBJ, string_args={1: "phone"}),
                Invoke("Landroid/telephony/TelephonyManager;", "getDeviceId", [], S),
            ]),
            Method("androidId", [CTX], S, static=True, invokes=[
                Invoke("Landroid/provider/Settings$Secure;", "getString",
                       ["Landroid/content/ContentResolver;", S], S, kind="static",
                       string_args={1: "android_id"}),
            ]),
            Method("wide", ["J", "D"], "J", invokes=[
                Invoke("Lcom/other/Lib;", "six", ["I", "J", S, "D", "Z"], "D", kind="static",
                       string_args={2: "wide-arg"}),
                Invoke("Ljava/util/List;", "size", [], "I", kind="interface"),
                Invoke("Lcom/other/Lib;", "one", [S], "V", kind="virtual", range=True),
                Invoke(OBJ, "toString", [], S, kind="super", receiver_this=True),
            ]),
            Method("switchy", ["I"], payload=True),
            Method("sparse", payload="sparse-switch"),
            Method("nothing", abstract=True),
        ], access=0x401),
    ]


# --------------------------------------------------------------------------
# DEX
# --------------------------------------------------------------------------

def test_dex_header_checksum_signature_and_map():
    data = build_dex(sample_classes())
    h = dex_header(data)
    assert h["magic"] == b"dex\n035\x00"
    assert h["file_size"] == len(data)
    assert h["header_size"] == 0x70
    assert h["endian_tag"] == 0x12345678
    assert h["signature"] == hashlib.sha1(data[32:]).digest()
    assert h["checksum"] == zlib.adler32(data[12:])
    assert h["data_off"] + h["data_size"] == len(data)
    assert h["data_size"] % 4 == 0
    items = dex_map(data)
    types = {t for t, _, _ in items}
    # header, string/type/proto/method ids, class defs, map, type lists, code, strings, class data
    assert {0x0000, 0x0001, 0x0002, 0x0003, 0x0005, 0x0006, 0x1000, 0x1001, 0x2000, 0x2001, 0x2002} <= types
    offsets = [o for _, _, o in items]
    assert offsets == sorted(offsets)
    by_type = {t: (n, o) for t, n, o in items}
    assert by_type[0x0001] == (h["string_ids_size"], h["string_ids_off"])
    assert by_type[0x0005] == (h["method_ids_size"], h["method_ids_off"])
    assert by_type[0x0006] == (h["class_defs_size"], h["class_defs_off"])
    assert by_type[0x1000] == (1, h["map_off"])
    assert by_type[0x2001][0] == 10  # methods with code (one is abstract)


def test_dex_parsed_by_androguard():
    dex = DEX(build_dex(sample_classes()))
    classes = {c.get_name(): c for c in dex.get_classes()}
    assert list(classes) == ["Lcom/example/app/Base;", "Lcom/example/app/Sub;"]  # superclass first
    sub, base = classes["Lcom/example/app/Sub;"], classes["Lcom/example/app/Base;"]
    assert sub.get_superclassname() == "Lcom/example/app/Base;"
    assert sub.get_interfaces() == ["Ljava/lang/Runnable;"]
    assert dex.get_strings()[base.get_source_file_idx()] == "Base.java"
    methods = {m.get_name(): m for m in base.get_methods()}
    assert set(methods) == {"<init>", "<clinit>", "helper", "imei", "androidId", "wide", "switchy", "sparse",
                            "nothing"}
    assert methods["<init>"].get_access_flags() == 0x10001
    assert methods["<clinit>"].get_access_flags() == 0x10008
    assert methods["helper"].get_access_flags() == 0x0A  # private static
    assert methods["nothing"].get_code() is None
    assert methods["wide"].get_descriptor() == "(J D)J"

    # register accounting
    imei = methods["imei"].get_code()
    assert (imei.get_registers_size(), imei.get_ins_size(), imei.get_outs_size()) == (4, 2, 2)
    wide = methods["wide"].get_code()
    assert wide.get_ins_size() == 5  # this + J(2) + D(2)
    assert wide.get_outs_size() == 7  # I, J(2), String, D(2), Z
    assert wide.get_registers_size() == 7 + 5
    helper = methods["helper"].get_code()
    assert (helper.get_ins_size(), helper.get_outs_size()) == (1, 2)


def test_dex_instructions_and_const_strings():
    dex = DEX(build_dex(sample_classes()))
    code = {(c.get_name(), m.get_name()): ins for c, m, ins in all_instructions(dex)}

    imei = code[("Lcom/example/app/Base;", "imei")]
    names = [i.get_name() for i in imei]
    assert names == ["const/4", "const-string", "invoke-virtual", "move-result-object",
                     "const/4", "invoke-virtual", "move-result-object", "const/4", "return-object"]
    assert '"phone"' in imei[1].get_output()
    assert "getDeviceId" in imei[5].get_output()

    aid = [i.get_name() + " " + i.get_output() for i in code[("Lcom/example/app/Base;", "androidId")]]
    k = next(n for n, s in enumerate(aid) if "Settings$Secure;->getString" in s)
    assert aid[k].startswith("invoke-static v0, v1,")
    assert aid[k - 1] == 'const-string v1, "android_id"'

    wide = [i.get_name() for i in code[("Lcom/example/app/Base;", "wide")]]
    assert wide.count("const-wide/16") == 2 + 1  # J and D args, plus the wide return value
    assert "invoke-static/range" in wide  # 7 registers
    assert "invoke-virtual/range" in wide  # forced range
    assert "invoke-interface" in wide and "invoke-super" in wide
    assert "move-result-wide" in wide and "return-wide" in wide

    helper = [i.get_output() for i in code[("Lcom/example/app/Base;", "helper")]]
    assert any('"中文日志"' in s for s in helper)

    init = [i.get_name() for i in code[("Lcom/example/app/Sub;", "<init>")]]
    assert init == ["move-object/from16", "invoke-direct", "return-void"]


def test_dex_payload_instructions_lengths():
    dex = DEX(build_dex(sample_classes()))
    for _cls, m, ins in all_instructions(dex):
        code = m.get_code()
        # the sum of instruction lengths (in bytes) covers insns exactly
        assert sum(i.get_length() for i in ins) == code.get_insns_size() * 2, m.get_name()
        if m.get_name() == "switchy":
            names = [i.get_name() for i in ins]
            assert "packed-switch" in names and "fill-array-data" in names and "new-array" in names
            assert "packed-switch-payload" in names and "fill-array-data-payload" in names
        if m.get_name() == "sparse":
            names = [i.get_name() for i in ins]
            assert names[:2] == ["const/4", "sparse-switch"]
            assert names[-1] == "sparse-switch-payload"
            assert "nop" in names  # alignment padding before the payload


def test_dex_id_tables_sorted_per_spec():
    tricky = ["b", "a", "B", "\uffef", "😀", "\ue000x", "\u00e9", "中文", "", "\x00nul", "𝄞clef", "ab",
              "a\u0100"]
    cls = ClassDef("Lz/Z;", methods=[
        Method("m", strings=tricky, invokes=[
            Invoke("La/A;", "x", [], "V"), Invoke("La/A;", "x", ["I"], "V"), Invoke("La/A;", "b", [], "I"),
            Invoke("Lb/B;", "a", ["I", "J"], "V"), Invoke("Lb/B;", "a", ["I"], "V"),
            Invoke("[I", "clone", [], OBJ),
        ])])
    data = build_dex([cls])
    strings, types, type_idx, protos, methods = dex_ids(data)
    assert set(tricky) <= set(strings)
    keys = [utf16_sort_key(s) for s in strings]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # UTF-16 order (not code point order): a supplementary char sorts before U+E000..U+FFFF
    assert strings.index("😀") < strings.index("\ue000x") < strings.index("\uffef")
    assert type_idx == sorted(type_idx)
    proto_keys = [(r, p) for r, p in protos]
    assert proto_keys == sorted(proto_keys)
    mkeys = [(c, n, p) for c, p, n in methods]
    assert mkeys == sorted(mkeys)
    # androguard decodes the MUTF-8 identically
    assert DEX(data).get_strings() == strings


def test_mutf8_encoding():
    assert mutf8("abc") == (b"abc", 3)
    assert mutf8("\x00") == (b"\xc0\x80", 1)
    assert mutf8("é") == ("é".encode(), 1)
    assert mutf8("中") == ("中".encode(), 1)
    enc, n = mutf8("😀")
    assert n == 2 and enc == b"\xed\xa0\xbd\xed\xb8\x80"  # two 3-byte surrogates, never 4-byte UTF-8


def test_const_string_jumbo():
    many = [f"s{i:05d}" for i in range(66000)]
    cls = ClassDef("Lcom/example/Jumbo;", methods=[
        Method("call", invokes=[Invoke("Landroid/util/Log;", "d", [S, S], "I", kind="static",
                                       string_args={0: "zz-last-tag", 1: "s00001"})]),
        Method("bulk", strings=many),  # fills the pool so "zz-last-tag" gets an index > 0xFFFF
    ])
    data = build_dex([cls])
    strings = dex_strings(data)
    assert strings.index("zz-last-tag") > 0xFFFF
    dex = DEX(data)
    call = next(m for c, m, _ in all_instructions(dex) if m.get_name() == "call")
    ins = list(call.get_instructions())
    assert [i.get_name() for i in ins[:2]] == ["const-string/jumbo", "const-string"]
    assert ins[0].get_string() == "zz-last-tag" and ins[1].get_string() == "s00001"


def test_dex_rejects_bad_input():
    with pytest.raises(ValueError):
        build_dex([ClassDef("Lx/A;"), ClassDef("Lx/A;")])
    with pytest.raises(ValueError):
        build_dex([ClassDef("Lx/A;", "Lx/B;"), ClassDef("Lx/B;", "Lx/A;")])
    with pytest.raises(ValueError):
        build_dex([ClassDef("x.A")])
    with pytest.raises(ValueError):
        build_dex([ClassDef("Lx/A;", methods=[Method("m", invokes=[Invoke("Lx/B;", "f", ["I"],
                                                                          string_args={1: "s"})])])])


# --------------------------------------------------------------------------
# AXML / manifest
# --------------------------------------------------------------------------

def demo_manifest(utf8: bool = False, **kw) -> bytes:
    args = dict(
        version_code=7, version_name="1.2.3", min_sdk=19, target_sdk=31, compile_sdk=33,
        label="Plain Label",
        permissions=["android.permission.INTERNET", ("android.permission.WRITE_EXTERNAL_STORAGE", 28),
                     "android.permission.INTERNET"],
        permissions_sdk23=["android.permission.CAMERA"],
        app_attrs={"android:debuggable": True, "android:allowBackup": False,
                   "android:networkSecurityConfig": "@0x7f0c0001", "android:name": ".App"},
        components=[
            Component("activity", "com.t.Main", exported=True, intent_filters=[
                IntentFilter(["android.intent.action.MAIN"], ["android.intent.category.LAUNCHER"]),
                IntentFilter(["android.intent.action.VIEW"],
                             ["android.intent.category.DEFAULT", "android.intent.category.BROWSABLE"],
                             data=[{"scheme": "https", "host": "t.example.com", "path": "/open"}],
                             attrs={"android:autoVerify": True})]),
            Component("service", "com.t.Svc", exported=False, process=":remote", permission="com.t.PERM",
                      meta_data={"svc.key": "v", "svc.int": 5}),
            Component("receiver", "com.t.Recv", enabled=False, intent_filters=[
                IntentFilter(["android.intent.action.BOOT_COMPLETED"], priority=999)]),
            Component("provider", "com.t.Prov", authorities="com.t.provider", exported=False),
        ],
        app_meta_data={"APPKEY": "abc123", "flag": True, "res": "@0x7f020000"},
        declared_permissions=[("com.t.PERM", "signature")],
        utf8=utf8,
    )
    args.update(kw)
    return build_manifest("com.t.app", **args)


@pytest.mark.parametrize("utf8", [False, True])
def test_manifest_via_androguard(tmp_path, utf8):
    manifest = demo_manifest(utf8=utf8)
    flags = struct.unpack_from("<I", manifest, 8 + 16)[0]
    assert bool(flags & 0x100) == utf8
    path = build_apk(tmp_path / "m.apk", manifest, dexes=[build_dex([ClassDef("Lcom/t/Main;")])])
    a = APK(str(path))
    assert a.get_package() == "com.t.app"
    assert a.get_androidversion_code() == "7"
    assert a.get_androidversion_name() == "1.2.3"
    assert a.get_min_sdk_version() == "19" and a.get_target_sdk_version() == "31"
    assert a.get_app_name() == "Plain Label"
    # androguard only reports <uses-permission>; the sdk-23 one is checked in the XML below
    assert set(a.get_permissions()) == {"android.permission.INTERNET",
                                        "android.permission.WRITE_EXTERNAL_STORAGE"}
    assert a.get_declared_permissions() == ["com.t.PERM"]
    assert a.get_activities() == ["com.t.Main"] and a.get_main_activity() == "com.t.Main"
    assert a.get_services() == ["com.t.Svc"]
    assert a.get_receivers() == ["com.t.Recv"]
    assert a.get_providers() == ["com.t.Prov"]
    f = a.get_intent_filters("activity", "com.t.Main")
    assert set(f["action"]) == {"android.intent.action.MAIN", "android.intent.action.VIEW"}
    assert {"scheme": "https", "host": "t.example.com", "path": "/open"} in f["data"]
    assert (a.get_intent_filters("receiver", "com.t.Recv")
            == {"action": ["android.intent.action.BOOT_COMPLETED"]})

    xml = a.get_android_manifest_xml()
    assert xml.get(ANDROID + "compileSdkVersion") == "33"
    ups = [e.get(ANDROID + "name") for e in xml.findall("uses-permission")]
    assert ups == ["android.permission.INTERNET", "android.permission.WRITE_EXTERNAL_STORAGE",
                   "android.permission.INTERNET"]  # duplicate kept, order kept
    assert xml.findall("uses-permission")[1].get(ANDROID + "maxSdkVersion") == "28"
    assert ([e.get(ANDROID + "name") for e in xml.findall("uses-permission-sdk-23")]
            == ["android.permission.CAMERA"])
    app = xml.find("application")
    assert app.get(ANDROID + "debuggable") == "true" and app.get(ANDROID + "allowBackup") == "false"
    assert app.get(ANDROID + "networkSecurityConfig") == "@7F0C0001"
    assert app.get(ANDROID + "name") == ".App"
    md = {e.get(ANDROID + "name"): e for e in app.findall("meta-data")}
    assert md["APPKEY"].get(ANDROID + "value") == "abc123"
    assert md["flag"].get(ANDROID + "value") == "true"
    assert md["res"].get(ANDROID + "resource") == "@7F020000"
    svc = app.find("service")
    assert svc.get(ANDROID + "exported") == "false" and svc.get(ANDROID + "process") == ":remote"
    assert svc.get(ANDROID + "permission") == "com.t.PERM"
    assert {e.get(ANDROID + "name"): e.get(ANDROID + "value") for e in svc.findall("meta-data")} == \
        {"svc.key": "v", "svc.int": "5"}
    assert app.find("receiver").get(ANDROID + "enabled") == "false"
    assert app.find("receiver/intent-filter").get(ANDROID + "priority") == "999"
    assert app.find("provider").get(ANDROID + "authorities") == "com.t.provider"
    assert app.find("activity/intent-filter[2]").get(ANDROID + "autoVerify") == "true"
    perm = xml.find("permission")
    assert int(perm.get(ANDROID + "protectionLevel"), 16) == 2


def axml_attrs(data: bytes) -> dict:
    """{(tag, attr_name): (namespace, type, data, value)} from androguard's low-level parser."""
    p = AXMLParser(data)
    assert p.is_valid()
    out = {}
    while True:
        ev = next(p)
        if ev == END_DOCUMENT:
            break
        if ev == START_TAG:
            for i in range(p.getAttributeCount()):
                out[(p.name, p.getAttributeName(i))] = (p.getAttributeNamespace(i),
                                                        p.getAttributeValueType(i),
                                                        p.getAttributeValueData(i), p.getAttributeValue(i))
    return out


def test_axml_typed_values_and_resource_map():
    root = Element("root", {
        "android:versionCode": 42, "android:debuggable": True, "android:exported": False,
        "android:label": "@0x7f010003", "android:theme": "?0x01010001", "android:name": "名字",
        "android:priority": -5, "android:glEsVersion": TypedValue(0x11, 0x20000), "plain": "x",
    }, children=[Element("child", {"app:custom": "y"}, text="text node")])
    data = build_axml(root)
    attrs = axml_attrs(data)
    assert attrs[("root", "versionCode")][1:3] == (0x10, 42)
    assert attrs[("root", "debuggable")][1:3] == (0x12, 0xFFFFFFFF)
    assert attrs[("root", "exported")][1:3] == (0x12, 0)
    assert attrs[("root", "label")][1:3] == (0x01, 0x7F010003)
    assert attrs[("root", "theme")][1:3] == (0x02, 0x01010001)
    assert attrs[("root", "name")][1] == 0x03 and attrs[("root", "name")][3] == "名字"
    assert attrs[("root", "priority")][1:3] == (0x10, 0xFFFFFFFB)
    assert attrs[("root", "glEsVersion")][1:3] == (0x11, 0x20000)
    assert attrs[("root", "plain")][0] == "" and attrs[("root", "plain")][3] == "x"
    assert attrs[("child", "custom")][0] == "http://schemas.android.com/apk/res-auto"
    assert attrs[("root", "name")][0] == "http://schemas.android.com/apk/res/android"

    # resource map: the first N pool strings are the android attribute names, ids ascending
    (pool_size,) = struct.unpack_from("<I", data, 8 + 4)
    rm_off = 8 + pool_size
    typ, hsz, size = struct.unpack_from("<HHI", data, rm_off)
    assert (typ, hsz) == (0x0180, 8)
    ids = list(struct.unpack_from(f"<{(size - 8) // 4}I", data, rm_off + 8))
    assert ids == sorted(ids)
    assert set(ids) == {ANDROID_ATTR_IDS[n] for n in
                        ("versionCode", "debuggable", "exported", "label", "theme", "name", "priority",
                         "glEsVersion")}
    assert b"text node".decode() in APK_xml_text(data)


@pytest.mark.parametrize("utf8", [False, True])
def test_axml_string_pool_encodings(utf8):
    values = {"ascii": "x" * 300, "cjk": "清单" * 200, "astral": "😀𝄞", "empty": "",
              "mixed": "a\u00e9\u4e2d😀"}
    data = build_axml(Element("manifest", {"package": "p"}, children=[
        Element("meta-data", {"android:name": k, "android:value": v}) for k, v in values.items()]), utf8=utf8)
    (flags,) = struct.unpack_from("<I", data, 8 + 16)
    assert bool(flags & 0x100) == utf8
    p = AXMLParser(data)
    got = {}
    while (ev := next(p)) != END_DOCUMENT:
        if ev == START_TAG and p.name == "meta-data":
            a = {p.getAttributeName(i): p.getAttributeValue(i) for i in range(p.getAttributeCount())}
            got[a["name"]] = a["value"]
    assert got == values


def test_manifest_shorthand_keys_and_invoke_of():
    xml = APK_xml_text(build_manifest("p.q", app_attrs={"debuggable": True},
                                      components=[Component("service", "p.q.S",
                                                            attrs={"isolatedProcess": True})]))
    assert 'android:debuggable="true"' in xml and 'android:isolatedProcess="true"' in xml
    inv = Invoke.of("Landroid/content/Intent;->setClassName(Ljava/lang/String;Ljava/lang/String;)"
                    "Landroid/content/Intent;", string_args={1: "a", 2: "b"})
    assert (inv.cls, inv.name, inv.params, inv.ret, inv.kind) == (
        "Landroid/content/Intent;", "setClassName", [S, S], "Landroid/content/Intent;", "virtual")
    assert inv.signature == "Landroid/content/Intent;->setClassName(Ljava/lang/String;Ljava/lang/String;)" \
                            "Landroid/content/Intent;"


def APK_xml_text(data: bytes) -> str:
    from androguard.core.axml import AXMLPrinter

    return AXMLPrinter(data).get_xml().decode("utf-8")


def test_attribute_ids_match_public_resources():
    from androguard.core.resources import public

    fwd = public.SYSTEM_RESOURCES["attributes"]["forward"]
    checked = 0
    for name, rid in ANDROID_ATTR_IDS.items():
        if name in fwd:  # androguard's table predates a few newer attributes
            assert fwd[name] == rid, name
            checked += 1
    assert checked >= 80


def test_uses_sdk_codename():
    a_xml = APK_xml_text(build_manifest("p.q", uses_sdk_codename="VanillaIceCream", label=None))
    assert 'android:minSdkVersion="VanillaIceCream"' in a_xml
    assert 'android:targetSdkVersion="VanillaIceCream"' in a_xml


# --------------------------------------------------------------------------
# ARSC
# --------------------------------------------------------------------------

def test_arsc_label_resolution_and_locales(tmp_path):
    arsc, ids = build_arsc("com.t.app", {"app_name": "清单演示", "other": "Other 😀"},
                           localized={"zh-rCN": {"app_name": "清单(中国)"}, "en": {"app_name": "Manifest"}})
    assert ids == {"app_name": 0x7F010000, "other": 0x7F010001}
    path = build_apk(tmp_path / "r.apk", build_manifest("com.t.app", label="@0x7f010000"), arsc=arsc)
    a = APK(str(path))
    assert a.get_app_name() == "清单演示"
    res = a.get_android_resources()
    assert res.get_packages_names() == ["com.t.app"]
    assert res.get_res_id_by_key("com.t.app", "string", "other") == 0x7F010001
    resolved = {cfg.get_language_and_region(): v for cfg, v in res.get_resolved_res_configs(0x7F010000)}
    assert resolved == {"\x00\x00": "清单演示", "zh-rCN": "清单(中国)", "en": "Manifest"}
    assert [v for _, v in res.get_resolved_res_configs(0x7F010001)] == ["Other 😀"]
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("resources.arsc").compress_type == zipfile.ZIP_STORED

    arsc2, ids2 = build_arsc("com.t.app", {"a": "A"}, type_id=5, utf8=False)
    assert ids2 == {"a": 0x7F050000}
    from androguard.core.axml import ARSCParser

    p = ARSCParser(arsc2)
    assert p.get_resolved_res_configs(0x7F050000)[0][1] == "A"


# --------------------------------------------------------------------------
# APK, signing, analysis
# --------------------------------------------------------------------------

def analysis_classes() -> list[ClassDef]:
    return [
        ClassDef("Lcom/t/app/Main;", "Landroid/app/Activity;", methods=[
            Method("<init>",
                   invokes=[Invoke("Landroid/app/Activity;", "<init>", kind="direct", receiver_this=True)]),
            Method("onCreate", ["Landroid/os/Bundle;"], invokes=[
                Invoke("Landroid/app/Activity;", "onCreate", ["Landroid/os/Bundle;"], kind="super",
                       receiver_this=True),
                Invoke("Lcom/t/app/Util;", "imei", [CTX], S, kind="static"),
            ]),
        ]),
        ClassDef("Lcom/t/app/Util;", methods=[
            Method("imei", [CTX], S, static=True, invokes=[
                Invoke("Landroid/telephony/TelephonyManager;", "getDeviceId", [], S),
                Invoke("Ljava/lang/Class;", "forName", [S], "Ljava/lang/Class;", kind="static",
                       string_args={0: "android.telephony.TelephonyManager"}),
                Invoke("Ljava/lang/Class;", "getMethod", [S, "[Ljava/lang/Class;"],
                       "Ljava/lang/reflect/Method;",
                       string_args={1: "getDeviceId"}),
            ]),
        ]),
    ]


def signed_apk(path: Path) -> Path:
    arsc, ids = build_arsc("com.t.app", {"app_name": "T"})
    return build_apk(
        path, build_manifest("com.t.app", label=f"@0x{ids['app_name']:08x}"),
        dexes=[build_dex(analysis_classes()), build_dex([ClassDef("Lcom/t/app/Second;")])],
        arsc=arsc,
        files={"lib/arm64-v8a/libx.so": dummy_elf("arm64-v8a"),
               "lib/armeabi-v7a/libx.so": dummy_elf("armeabi-v7a"),
               "assets/x.jar": build_zip({"classes.dex": build_dex([ClassDef("Lcom/t/plugin/P;")])}),
               "assets/" + "very_long_directory_name/" * 4 + "file.bin": b"\x00" * 10},
        sign=True,
    )


def test_apk_layout(tmp_path):
    path = signed_apk(tmp_path / "s.apk")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert names[:4] == ["AndroidManifest.xml", "classes.dex", "classes2.dex", "resources.arsc"]
        assert names[-3:] == ["META-INF/MANIFEST.MF", "META-INF/CERT.SF", "META-INF/CERT.RSA"]
        assert zf.getinfo("classes.dex").compress_type == zipfile.ZIP_DEFLATED
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
        so64 = zf.read("lib/arm64-v8a/libx.so")
        so32 = zf.read("lib/armeabi-v7a/libx.so")
        assert so64[:5] == b"\x7fELF\x02" and struct.unpack_from("<H", so64, 18)[0] == 183
        assert so32[:5] == b"\x7fELF\x01" and struct.unpack_from("<H", so32, 18)[0] == 40
        with zipfile.ZipFile(io.BytesIO(zf.read("assets/x.jar"))) as jar:
            inner = DEX(jar.read("classes.dex"))
            assert [c.get_name() for c in inner.get_classes()] == ["Lcom/t/plugin/P;"]
    a = APK(str(path))
    assert a.get_dex_names() and list(a.get_dex_names()) == ["classes.dex", "classes2.dex"]
    assert a.get_app_name() == "T"


def test_v1_signature(tmp_path):
    from asn1crypto import cms
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    path = signed_apk(tmp_path / "s.apk")
    a = APK(str(path))
    assert a.is_signed_v1()
    assert a.get_signature_names() == ["META-INF/CERT.RSA"]
    certs = a.get_certificates()
    assert len(certs) == 1
    assert certs[0].subject.human_friendly == "Common Name: qingdan test, Organization: qingdan, Country: CN"

    with zipfile.ZipFile(path) as zf:
        mf = zf.read("META-INF/MANIFEST.MF")
        sf = zf.read("META-INF/CERT.SF")
        rsa = zf.read("META-INF/CERT.RSA")
        entries = [n for n in zf.namelist() if not n.startswith("META-INF/")]
        # MANIFEST.MF: one section per entry with the SHA-256 of its content
        text = mf.decode().replace("\r\n ", "")
        sections = text.split("\r\n\r\n")
        assert sections[0].startswith("Manifest-Version: 1.0")
        digests = {}
        for sec in sections[1:]:
            if not sec:
                continue
            fields = dict(line.split(": ", 1) for line in sec.split("\r\n"))
            digests[fields["Name"]] = fields["SHA-256-Digest"]
        assert set(digests) == set(entries)
        for n in entries:
            assert digests[n] == base64.b64encode(hashlib.sha256(zf.read(n)).digest()).decode()
        assert all(len(line) <= 72 for line in mf.split(b"\r\n"))
    # CERT.SF: digest of the whole manifest and of each manifest section
    sf_text = sf.decode().replace("\r\n ", "")
    assert f"SHA-256-Digest-Manifest: {base64.b64encode(hashlib.sha256(mf).digest()).decode()}" in sf_text
    raw_sections = mf.split(b"\r\n\r\n")
    first = raw_sections[1] + b"\r\n\r\n"
    assert base64.b64encode(hashlib.sha256(first).digest()).decode() in sf_text
    # CERT.RSA: detached SignedData whose RSA signature verifies over CERT.SF
    info = cms.ContentInfo.load(rsa)
    assert info["content_type"].native == "signed_data"
    sd = info["content"]
    assert sd["encap_content_info"]["content"].native is None  # detached
    signer = sd["signer_infos"][0]
    cert = x509.load_der_x509_certificate(sd["certificates"][0].chosen.dump())
    cert.public_key().verify(signer["signature"].native, sf, padding.PKCS1v15(), hashes.SHA256())
    assert cert.subject.rfc4514_string() == "CN=qingdan test,O=qingdan,C=CN"


def test_analyze_apk_xrefs_and_const_strings(tmp_path):
    path = signed_apk(tmp_path / "s.apk")
    a, dexes, dx = AnalyzeAPK(str(path))
    assert len(dexes) == 2
    internal = sorted(c.name for c in dx.get_classes() if not c.is_external())
    assert internal == ["Lcom/t/app/Main;", "Lcom/t/app/Second;", "Lcom/t/app/Util;"]

    (gdi,) = list(dx.find_methods(classname="Landroid/telephony/TelephonyManager;", methodname="getDeviceId"))
    callers = {(c.name, m.name) for c, m, _ in gdi.get_xref_from()}
    assert callers == {("Lcom/t/app/Util;", "imei")}

    main = dx.get_method_analysis_by_name("Lcom/t/app/Main;", "onCreate", "(Landroid/os/Bundle;)V")
    callees = {(c.name, m.name) for c, m, _ in main.get_xref_to()}
    assert callees == {("Landroid/app/Activity;", "onCreate"), ("Lcom/t/app/Util;", "imei")}

    util = dx.get_method_analysis_by_name("Lcom/t/app/Util;", "imei",
                                          "(Landroid/content/Context;)Ljava/lang/String;")
    lines = [f"{i.get_name()} {i.get_output()}" for i in util.get_method().get_instructions()]
    def setup_before(call: str) -> list[str]:
        """Instructions between the previous invoke's result and the invoke of `call`."""
        k = next(n for n, s in enumerate(lines) if call in s)
        j = k - 1
        while j >= 0 and not lines[j].startswith(("invoke-", "move-result")):
            j -= 1
        return lines[j + 1:k]

    assert setup_before("Ljava/lang/Class;->getMethod") == ["const/4 v0, 0", 'const-string v1, "getDeviceId"',
                                                            "const/4 v2, 0"]
    assert setup_before("Ljava/lang/Class;->forName") == ['const-string v0, '
                                                          '"android.telephony.TelephonyManager"']
    # androguard's string analysis links the constants to the method
    s = {x.get_value(): x for x in dx.get_strings()}
    assert {(c.name, m.name) for c, m in s["getDeviceId"].get_xref_from()} == {("Lcom/t/app/Util;", "imei")}


def test_deterministic_output(tmp_path):
    assert build_dex(sample_classes()) == build_dex(sample_classes())
    assert demo_manifest() == demo_manifest()
    assert build_arsc("a.b", {"x": "y"}, localized={"zh-CN": {"x": "z"}}) == \
        build_arsc("a.b", {"x": "y"}, localized={"zh-CN": {"x": "z"}})
    p1 = signed_apk(tmp_path / "1.apk")
    p2 = signed_apk(tmp_path / "2.apk")
    assert p1.read_bytes() == p2.read_bytes()


# --------------------------------------------------------------------------
# large app (small instance) and the demo script
# --------------------------------------------------------------------------

def test_large_app_small(tmp_path):
    truth = build_large_app(tmp_path / "big.apk", dex_mib=1, seed=3)
    assert truth["total_dex_bytes"] >= 1 << 20
    assert truth == build_large_app(tmp_path / "big2.apk", dex_mib=1, seed=3) | {"path": truth["path"]}
    assert (tmp_path / "big.apk").read_bytes() == (tmp_path / "big2.apk").read_bytes()
    assert all(n < 65536 for n in truth["method_ids_per_dex"] + truth["type_ids_per_dex"])
    prefixes = {"/".join(p.split("/")[:2]) for p in truth["prefix_classes"]}
    assert {"com/umeng", "cn/jpush", "com/tencent", "com/example"} <= prefixes

    total_invokes = 0
    api = {}
    with zipfile.ZipFile(tmp_path / "big.apk") as zf:
        assert [n for n in zf.namelist() if n.endswith(".dex")] == truth["dex_names"]
        for i, name in enumerate(truth["dex_names"]):
            data = zf.read(name)
            h = dex_header(data)
            assert len(data) == truth["dex_sizes"][i]
            assert (h["checksum"] == zlib.adler32(data[12:])
                    and h["signature"] == hashlib.sha1(data[32:]).digest())
            assert h["class_defs_size"] == truth["classes_per_dex"][i]
            assert h["method_ids_size"] == truth["method_ids_per_dex"][i]
            if i == 0:  # disassemble one dex fully with androguard
                dex = DEX(data)
                n_methods = 0
                n_const = 0
                for cls in dex.get_classes():
                    for m in cls.get_methods():
                        n_methods += 1
                        for ins in m.get_instructions():
                            op = ins.get_name()
                            if op.startswith("invoke-"):
                                total_invokes += 1
                                target = ins.get_output().split(", ")[-1]
                                api[target] = api.get(target, 0) + 1
                            elif op.startswith("const-string"):
                                n_const += 1
                assert len(dex.get_classes()) == truth["classes_per_dex"][0]
                assert n_methods == truth["methods_per_dex"][0]
                assert total_invokes == truth["invokes_per_dex"][0]
                assert n_const == truth["const_strings_per_dex"][0]
    assert sum(truth["api_invokes"].values()) < truth["total_invokes"]
    assert truth["total_invokes"] == sum(truth["invokes_per_dex"])


def test_demo_script(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_demo", REPO / "examples" / "build_demo.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = mod.build(tmp_path / "demo.apk")
    assert path.stat().st_size < 100_000

    a, dexes, dx = AnalyzeAPK(str(path))
    assert a.get_package() == "com.example.qingdan.demo"
    assert (a.get_androidversion_name(), a.get_androidversion_code()) == ("2.1.0", "21")
    assert (a.get_min_sdk_version(), a.get_target_sdk_version()) == ("21", "33")
    assert a.get_app_name() == "清单演示"
    assert a.is_signed_v1()
    assert len(set(a.get_permissions())) == 8
    xml = a.get_android_manifest_xml()
    ups = [e.get(ANDROID + "name") for e in xml.findall("uses-permission")]
    assert len(ups) == 9 and ups.count("android.permission.READ_PHONE_STATE") == 2
    assert len(xml.findall("uses-permission-sdk-23")) == 1
    app = xml.find("application")
    assert (app.get(ANDROID + "debuggable"), app.get(ANDROID + "allowBackup"),
            app.get(ANDROID + "usesCleartextTraffic")) == ("false", "true", "true")
    assert {e.get(ANDROID + "name") for e in app.findall("meta-data")} == \
        {"UMENG_APPKEY", "JPUSH_APPKEY", "com.amap.api.v2.apikey"}
    assert a.get_main_activity() == "com.example.qingdan.demo.MainActivity"
    recv = app.find("receiver")
    assert recv.get(ANDROID + "name") == "com.example.qingdan.demo.BootReceiver"
    assert recv.get(ANDROID + "exported") is None  # implied by the intent filter
    assert set(a.get_services()) == {"cn.jpush.android.service.PushService",
                                     "cn.jpush.android.service.DaemonService",
                                     "com.umeng.message.UmengIntentService"}
    assert list(a.get_dex_names()) == ["classes.dex", "classes2.dex"]
    files = a.get_files()
    assert "lib/arm64-v8a/libjcore.so" in files and "lib/armeabi-v7a/libjcore.so" in files
    with zipfile.ZipFile(io.BytesIO(a.get_file("assets/plugin.jar"))) as jar:
        assert len(DEX(jar.read("classes.dex")).get_classes()) == 1

    def callers(cls, name):
        return {(c.name, m.name) for ma in dx.find_methods(classname=cls, methodname=name)
                for c, m, _ in ma.get_xref_from()}

    assert callers("Landroid/telephony/TelephonyManager;", "getDeviceId") == \
        {("Lcom/example/qingdan/demo/util/DeviceInfo;", "getImei")}
    assert callers("Landroid/provider/Settings\\$Secure;", "getString")
    assert callers("Landroid/location/LocationManager;", "getLastKnownLocation")
    assert callers("Landroid/content/ClipboardManager;", "getPrimaryClip")
    assert ({c for c, _ in callers("Landroid/net/wifi/WifiInfo;", "getMacAddress")}
            == {"Lcom/umeng/analytics/pro/h;"})
    assert {c for c, _ in callers("Landroid/content/pm/PackageManager;", "getInstalledPackages")} == \
        {"Lcom/umeng/analytics/pro/h;"}
    assert ("Lcn/jpush/android/helper/ServiceHelper;", "startDaemon") in callers("Landroid/content/Context;",
                                                                                 "startService")
    assert callers("Ljava/lang/Class;", "getMethod")
    strings = {s.get_value() for s in dx.get_strings()}
    assert {"android_id", "getDeviceId", "cn.jpush.android.service.DaemonService",
            "com.example.qingdan.demo"} <= strings

    # the committed examples/demo.apk matches what the script builds (entry by entry)
    committed = REPO / "examples" / "demo.apk"
    if committed.exists():
        with zipfile.ZipFile(committed) as z1, zipfile.ZipFile(path) as z2:
            assert z1.namelist() == z2.namelist()
            for n in z1.namelist():
                assert z1.read(n) == z2.read(n), n
