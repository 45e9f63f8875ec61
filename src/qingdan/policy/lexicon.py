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
from qingdan.knowledge.sdks import load_sdks

WINDOW = 8
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

# Brand names policies use for SDK families; each maps to catalogue id prefixes (public brand names
# of the vendors in the catalogue; the ids are qingdan's own).
BRANDS: dict[str, tuple[str, ...]] = {
    "微信": ("wechat-",), "WeChat": ("wechat-",), "QQ": ("tencent-qq-connect",),
    "QQ互联": ("tencent-qq-connect",),
    "支付宝": ("alipay-",), "Alipay": ("alipay-",), "友盟": ("umeng-",), "Umeng": ("umeng-",),
    "极光": ("jpush", "jiguang-"), "JPush": ("jpush",), "个推": ("getui-",), "Bugly": ("tencent-bugly",),
    "高德": ("amap-",), "高德地图": ("amap-",), "百度地图": ("baidu-map", "baidu-location"),
    "百度定位": ("baidu-location",),
    "穿山甲": ("pangle", "bytedance-pangle", "csj"), "广点通": ("tencent-gdt",), "优量汇": ("tencent-gdt",),
    "新浪微博": ("sina-weibo",), "微博": ("sina-weibo",), "华为推送": ("huawei-push",),
    "小米推送": ("xiaomi-push",),
    "OPPO推送": ("oppo-push",), "vivo推送": ("vivo-push",), "魅族推送": ("meizu-push",), "神策": ("sensors",),
    "数美": ("shumei",), "腾讯地图": ("tencent-map",), "腾讯定位": ("tencent-location",),
    "银联": ("unionpay",),
    "Firebase": ("firebase",), "友盟+": ("umeng-",), "阿里巴巴": ("alibaba-utdid",),
}


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    kind: str  # pi | sdk
    keys: tuple[str, ...]  # PI type key, or SDK ids
    weak: bool = False
    company: str | None = None


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
    company_of: dict[str, str | None] = {}
    for s in sdks.values():
        forms = set()
        for name in (s.name_zh, s.name_en):
            if name:
                forms.update({name, _core(name)})
        if s.company:
            forms.add(s.company)
            short = company_short(s.company)
            if len(short) >= 2 and short != s.company:
                forms.add(short)
        for f in forms:
            # ASCII names of open-source libraries (OkHttp, APKiD…) are not how policies name parties
            if f and _ok_form(f) and not (s.is_library and f.isascii()):
                by_form.setdefault(f, set()).add(s.id)
                company_of.setdefault(f, s.company)
    for brand, prefixes in BRANDS.items():
        ids = {i for i in sdks if any(i.startswith(p) for p in prefixes)}
        by_form.setdefault(brand, set()).update(ids)
    for f, ids in by_form.items():
        if any(t.kind == "pi" for t in out.get(norm(f), ())):
            continue  # a PI word wins ("运营商" is not an SDK)
        add(f, Term(f, "sdk", tuple(sorted(ids)), company=company_of.get(f)))
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
