"""Term lexicons for policy text: PI-type synonyms and SDK / company names, matched over jieba tokens.

jieba (with every term added to its user dictionary) cuts the text; the longest run of up to
:data:`WINDOW` consecutive tokens whose concatenation (case-folded, spaces removed) is a known term
is a match. Matching on token boundaries keeps ``IP`` from matching inside ``VIP``.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import dataclass

from qingdan.knowledge.pi import load_pi_types, synonym_index
from qingdan.knowledge.policy_terms import load_policy_terms
from qingdan.knowledge.sdks import load_sdks

WINDOW = 8
_RANK = {"product": 0, "brand": 1, "company": 2}
_JIEBA_WORD = re.compile(r"^[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+$")
_lock = threading.Lock()

# Policy wording the taxonomy's synonyms do not cover. "weak" terms are too common to count alone:
# they count only inside an enumeration (next to 、 or 和/及/与/或), e.g. "电子邮箱、地址、包裹信息".
EXTRA_PI_TERMS = {
    "手机串号": "imei", "设备IMEI": "imei", "IMEI码": "imei", "手机设备码": "imei", "设备标识码": "imei",
    "设备ID": "android_id", "安卓系统": "os_version", "系统类型": "os_version",
    "设备品牌型号": "device_model", "手机品牌": "device_model", "设备品牌": "device_model",
    "地理位置": "precise_location", "定位": "precise_location", "GPS": "precise_location",
    "网页记录": "browsing_history", "浏览网页活动": "browsing_history", "访问记录": "browsing_history",
    "账户": "account_id", "账户名": "account_id", "手机号码归属地": "phone_number",
    "个人照片": "photos_media",
    "评价": "user_content", "评价详情": "user_content", "订单号码": "order_info",
    "电信运营商": "network_info", "网络运营商": "network_info", "Cookie": "cookie", "cookies": "cookie",
}
WEAK_PI_TERMS = {"地址": "address", "电话": "phone_number", "位置": "precise_location",
                 "金额": "payment_info", "型号": "device_model", "设备码": "imei", "品牌": "device_model",
                 "生日": "birthday"}

@dataclass(frozen=True, slots=True)
class Term:
    text: str
    kind: str  # pi | sdk
    keys: tuple[str, ...]  # PI type key, or SDK ids
    weak: bool = False
    company: str | None = None
    #: how an SDK term names its SDKs: ``product`` (an SDK's own name), ``brand`` (a family name from
    #: knowledge/data/policy_terms.yaml) or ``company`` (the operating company, full or short)
    names_by: str = "product"


def norm(s: str) -> str:
    return re.sub(r"\s+", "", s).casefold()


_CORE_SUFFIX = re.compile(r"\s*(\(.*?\)|（.*?）)\s*$|\s*(SDK|sdk|开放平台)\s*$")
_COMPANY_AFFIX = re.compile(r"^(北京|上海|深圳|广州|杭州|南京|成都|武汉|厦门|天津|重庆|苏州|西安|珠海|"
                            r"徐州)(市)?|[（(][^）)]*[）)]|"
                            r"(信息技术|网络技术|网络科技|信息科技|科技|技术|计算机系统|软件|通信|"
                            r"移动通信|数据|网络)?(股份)?有限(责任)?公司$")
_GENERIC_EN = {"sdk", "push", "share", "map", "maps", "pay", "login", "analytics", "ads", "ad", "update",
               "core", "common", "base", "utils", "util", "app", "apps", "data", "web", "cloud", "location",
               "feedback", "im", "live", "video", "audio", "game", "security", "face", "voice", "speech",
               "ocr", "auth", "verify", "cookie", "ip", "id", "android", "google", "support", "network",
               "http", "json", "image"}


def _core(name: str) -> str:
    prev = None
    while prev != name:
        prev, name = name, _CORE_SUFFIX.sub("", name).strip()
    return name


def company_short(company: str) -> str:
    prev = None
    s = company
    while prev != s:
        prev, s = s, _COMPANY_AFFIX.sub("", s).strip()
    return s


def _ok_form(form: str) -> bool:
    n = norm(form)
    if len(n) < 2 or n in _GENERIC_EN:
        return False
    if n.isascii():
        return len(n) >= 4 and any(c.isupper() or c.isdigit() for c in form)  # brand-like ASCII
    return len(n) >= 2


@functools.lru_cache(maxsize=1)
def terms() -> dict[str, list[Term]]:
    """Normalised form → terms (PI and SDK)."""
    out: dict[str, list[Term]] = {}

    def add(form: str, t: Term) -> None:
        out.setdefault(norm(form), []).append(t)

    pis = load_pi_types()
    for syn, key in synonym_index().items():
        add(syn, Term(syn, "pi", (key,)))
    for t in pis.values():
        add(t.zh, Term(t.zh, "pi", (t.key,)))
    for form, key in EXTRA_PI_TERMS.items():
        if norm(form) not in out:
            add(form, Term(form, "pi", (key,)))
    for form, key in WEAK_PI_TERMS.items():
        if norm(form) not in out:
            add(form, Term(form, "pi", (key,), weak=True))
    sdks = load_sdks()
    by_form: dict[str, set[str]] = {}
    kind_of: dict[str, str] = {}  # form → product | brand | company (the most specific wins)
    company_of: dict[str, str | None] = {}

    def put(form: str, sid: str, kind: str, company: str | None) -> None:
        by_form.setdefault(form, set()).add(sid)
        if _RANK[kind] < _RANK[kind_of.get(form, "company")]:
            kind_of[form] = kind
        kind_of.setdefault(form, kind)
        company_of.setdefault(form, company)

    for s in sdks.values():
        for name in (s.name_zh, s.name_en):
            for f in {name, _core(name)} if name else ():
                # ASCII names of open-source libraries (OkHttp, APKiD…) are not how policies name parties
                if f and _ok_form(f) and not (s.is_library and f.isascii()):
                    put(f, s.id, "product", s.company)
        if s.company:
            short = company_short(s.company)
            for f in {s.company, short} if len(short) >= 2 else {s.company}:
                if _ok_form(f) and not (s.is_library and f.isascii()):
                    put(f, s.id, "company", s.company)
    for brand in load_policy_terms().brands:
        for name in brand.names:
            for sid in brand.sdk_ids:
                put(name, sid, "brand", sdks[sid].company)
            kind_of[name] = "brand"
    for f, ids in by_form.items():
        if any(t.kind == "pi" for t in out.get(norm(f), ())):
            continue  # a PI word wins ("运营商" is not an SDK)
        add(f, Term(f, "sdk", tuple(sorted(ids)), company=company_of.get(f), names_by=kind_of[f]))
    return out


@functools.lru_cache(maxsize=1)
def tokenizer():
    """A jieba tokenizer with every term in its user dictionary (built once per process)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _lock:
        tk = jieba.Tokenizer()
        tk.initialize()
        for ts in terms().values():
            for t in ts:
                if _JIEBA_WORD.match(t.text):
                    tk.add_word(t.text, freq=200000)
    return tk


def package_names() -> dict[str, str]:
    """Package prefix → SDK id (for prefixes written out in a policy's SDK table)."""
    return {p: s.id for s in load_sdks().values() for p in s.signatures.packages}


@dataclass(frozen=True, slots=True)
class Match:
    text: str
    start: int  # character offset in the string matched
    end: int
    terms: tuple[Term, ...]
    enumerated: bool  # next to 、 or 和/及/与/或


_ENUM_BEFORE = ("、", "和", "及", "与", "或", "，包括", "包括", "如", "（")
_ENUM_AFTER = ("、", "和", "及", "与", "或", "等", "）")


def find_terms(text: str) -> list[Match]:
    tk = tokenizer()
    toks: list[tuple[str, int]] = []
    pos = 0
    for w in tk.cut(text, HMM=False):
        if w.strip():
            toks.append((w, pos))
        pos += len(w)
    lex = terms()
    out: list[Match] = []
    i = 0
    n = len(toks)
    while i < n:
        hit = None
        for k in range(min(WINDOW, n - i), 0, -1):
            key = norm("".join(t for t, _ in toks[i:i + k]))
            if key in lex:
                hit = (k, lex[key])
                break
        if hit is None:
            i += 1
            continue
        k, ts = hit
        start = toks[i][1]
        end = toks[i + k - 1][1] + len(toks[i + k - 1][0])
        before = text[max(0, start - 3):start]
        after = text[end:end + 1]
        enum = before.endswith(_ENUM_BEFORE) or after.startswith(_ENUM_AFTER)
        out.append(Match(text[start:end], start, end, tuple(ts), enum))
        i += k
    return out


@functools.lru_cache(maxsize=1)
def _catalogue_order() -> dict[str, int]:
    return {sid: i for i, sid in enumerate(load_sdks())}


_CLAUSE_END = re.compile(r"[，,；;。：:！？!?]")
_PARENT = re.compile(r"^\s*[)）]?\s*旗下")  # 阿里巴巴旗下（友盟）: the parent company, not a party


def sdk_reference(ts: tuple[Term, ...] | list[Term], text: str, start: int, end: int,
                  extra: str = "") -> tuple[list[str], str] | None:
    """Which SDKs an SDK-name match ``text[start:end]`` discloses, and how: ``(ids, "product")`` when
    the name, or the words around it, name the product; ``(ids, "vendor")`` when only the vendor is
    named (every SDK of the vendor); None for a parent company ("阿里巴巴旗下").

    A brand of one kind of product (高德地图, 华为推送) names the product; a vendor or company name
    (友盟, 极光, 友盟同欣…) is resolved by the product words (policy_terms.yaml ``product_words``)
    after it in its clause, else before it, else in the sentence, else in ``extra`` (the rest of a
    table row)."""
    sdks = load_sdks()
    ts = [t for t in ts if t.kind == "sdk"]
    order = _catalogue_order()

    def ordered(ids) -> list[str]:
        return sorted(set(ids), key=lambda i: order.get(i, len(order)))

    products = [k for t in ts if t.names_by == "product" for k in t.keys]
    if products:
        return ordered(products), "product"
    if _PARENT.match(text[end:]):
        return None
    ids = ordered(k for t in ts for k in t.keys)
    service = [i for i in ids if i in sdks and not sdks[i].is_library] or ids
    if all(t.names_by == "brand" for t in ts) and len({sdks[i].category for i in service if i in sdks}) <= 1:
        return service, "product"
    cut = _CLAUSE_END.search(text, end)
    clause_end = cut.start() if cut else len(text)
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    lex = load_policy_terms()
    for ctx in (text[end:clause_end], text[clause_start:start], text, extra):
        wanted = lex.categories_in(ctx)
        chosen = [i for i in service if i in sdks and sdks[i].category in wanted]
        if chosen:
            return chosen, "product"
    return service, "vendor"
