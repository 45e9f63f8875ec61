"""PolicyDoc → PolicyFacts: what a policy says, each fact with the sentences that support it."""

from __future__ import annotations

import re

from qingdan.knowledge.policy_terms import load_policy_terms
from qingdan.policy.lexicon import company_short, find_terms, package_names, sdk_reference
from qingdan.policy.model import (
    SECTIONS,
    SENSITIVE_PERMISSIONS,
    Contact,
    Evidence,
    ListsLinks,
    PermissionStatement,
    PIMention,
    PolicyDoc,
    PolicyFacts,
    Right,
    Section,
    Sentence,
    Summary,
    ThirdPartyMention,
)

SUMMARY_RE = re.compile(r"摘要|概要|要点|简要版|简明版|精简版|概述|Summary", re.IGNORECASE)
PURPOSE_RE = re.compile(r"为了|用于|以便|以供|目的|便于|为您提供|为实现|为保障|为向您|以实现|以提供|以帮助|"
                        r"用来|用作|从而|以确保|为保证|为方便|方便您|帮助您|以保障|以完成|以识别")
NEGATION_RE = re.compile(r"(不|没有|未|无需|无)(会|得|再)?"
                         r"(收集|包含|获取|读取|采集|共享|使用|调用|涉及|记录|存储)")
RIGHTS_RE = {
    "access": re.compile(r"查阅|查询|访问您的个人信息|访问个人信息|复制"),
    "correct": re.compile(r"更正|修改您的个人信息|补充"),
    "delete": re.compile(r"删除"),
    "withdraw": re.compile(r"撤回[^，。]{0,6}(同意|授权)|撤销授权|改变您授权同意|关闭[^，。]{0,8}权限"),
    "deregister": re.compile(r"注销[^，。]{0,4}(账号|账户|帐号|帐户|用户)"),
}
SECTION_RE = {
    "retention": re.compile(r"存储期限|保存期限|保存期|存储期|保存时间|存储地点|存放地|存储在中华人民共和国|"
                            r"境内存储|存储于"),
    "security": re.compile(r"安全措施|安全防护|加密|SSL|TLS|去标识化|匿名化|访问控制|安全技术"),
    "cookies": re.compile(r"Cookie|同类技术|网络beacon|像素标签|网络信标|Web beacon", re.IGNORECASE),
    "minors": re.compile(r"未满(14|十四)周岁|不满(14|十四)周岁|(14|十四)周岁以下|儿童|未成年"),
    "withdrawal": re.compile(r"撤回[^，。]{0,6}(同意|授权)|撤销授权|改变您授权同意"),
    "cross_border": re.compile(r"跨境|出境|境外|传输至[^，。]{0,10}(国家|地区)|"
                               r"传送至[^，。]{0,10}(国家|地区)|国家/地区"),
}
RESPONSE_RE = re.compile(r"(\d{1,3}|[一二三四五六七八九十两]{1,3})\s*个?\s*(工作日|自然日|日|天)")
RESPOND_WORD = re.compile(r"回复|答复|响应|处理|反馈|完成核验|予以")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
ADDRESS_IN_TEXT = re.compile(EMAIL_RE.pattern + r"|(?:https?://|www\.)[\x21-\x7e]+", re.IGNORECASE)
PHONE_RE = re.compile(r"(?<!\d)(400[-\s]?\d{3}[-\s]?\d{4}|800[-\s]?\d{3}[-\s]?\d{4}|1[3-9]\d{9}|"
                      r"0\d{2,3}[-\s]?\d{7,8}|95\d{3,6}|10\d{3,5})(?!\d)")
HOTLINE_RE = re.compile(r"客服|热线|服务电话|联系电话|咨询电话")
COMPANY_RE = re.compile(r"([\u4e00-\u9fa5（）()A-Za-z0-9]{2,40}?"
                        r"(?:股份有限公司|有限责任公司|有限公司|集团公司|集团))")
OPERATOR_RE = re.compile(r"公司名称|运营者|运营方|运营主体|开发者|我们是|本公司|以下简称|以下称|"
                         r"由.{2,40}运营|主体名称|个人信息处理者")
ADDRESS_RE = re.compile(r"(?:注册地址|办公地址|联系地址|通讯地址|地址)\s*[:：为是]\s*([^。；;\n]{4,80})")
LIST_COLLECTED_RE = re.compile(r"已收集(的)?个人信息清单|个人信息收集清单|收集个人信息清单|个人信息收集明细|"
                               r"已收集个人信息明细")
LIST_SHARED_RE = re.compile(r"(第三方)[^，。]{0,8}(共享|SDK)[^，。]{0,6}清单|共享个人信息清单|第三方SDK目录|"
                            r"第三方SDK列表|与第三方共享个人信息清单|第三方信息共享清单")
UPDATED_RE = re.compile(r"(更新|生效|发布|修订)(日期|时间)\s*[:：为]?\s*"
                        r"(\d{4}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2}\s*日?)")
VERSION_RE = re.compile(r"(?:版本号?|版本)\s*[:：]?\s*[Vv]?(\d+(?:\.\d+){0,3})|[Vv](\d+\.\d+(?:\.\d+)?)\s*版")
SHARING_RE = re.compile(r"向(?:该|此|这些|上述)?([\u4e00-\u9fa5A-Za-z0-9]{2,12}?)"
                        r"(?:提供|共享|披露|传输|转让)")
GENERIC_PARTY = re.compile(r"^(您|你|我们|用户|第三方|关联|合作|其|他人|有关|相关|政府|司法|行政|监管|国家|"
                           r"公安|执法|法院|任何|其他|上述|对方|服务提供|供应商|商家|卖家|本|该|贵|此|前述|"
                           r"外部|境外|收件人|寄件人|主管|权力|广告|第三|业务|委托|受托|接收方|必要的|特定|"
                           r"个人|公众|社会|合作伙伴)")
# jurisdiction phrases, not information about the user ("传送至您所在国家/地区")
NOT_PI_CONTEXT = re.compile(r"国家[/或和及、]地区|地区[/或和及、]国家|(国家|地区)的法律")
TABLE_PARTY_HEAD = re.compile(r"第三方|合作方|SDK|共享方|接收方|提供方|服务商|名称")
TABLE_PI_HEAD = re.compile(r"个人信息|信息类型|信息种类|收集|字段|数据类型|共享信息|权限")
TABLE_PURPOSE_HEAD = re.compile(r"目的|用途|使用场景|场景|功能")
TABLE_METHOD_HEAD = re.compile(r"方式")
TABLE_COMPANY_HEAD = re.compile(r"主体|公司|运营方|提供方|开发者")


def _ev(s: Sentence) -> Evidence:
    return Evidence(s.index, s.line, s.text)


def _purpose(text: str) -> str | None:
    m = PURPOSE_RE.search(text)
    if not m:
        return None
    rest = re.split(r"[。；;]", text[m.start():])[0]
    return rest[:80]


def _summary(doc: PolicyDoc) -> Summary:
    for h in doc.headings:
        if SUMMARY_RE.search(h.text):
            body = [_ev(s) for s in doc.sentences if s.heading == h.heading and not s.is_heading][:5]
            return Summary(True, h.heading, h.line, [_ev(h), *body])
    for link in doc.links:
        if SUMMARY_RE.search(link.text):
            return Summary(True, link.text, link.line,
                           [Evidence(-1, link.line, f"{link.text} ({link.href})")])
    for s in doc.sentences[:40]:
        if len(s.text) <= 40 and re.search(r"(隐私政策|隐私权政策|隐私保护)(摘要|概要|要点|简要版|简明版)",
                                           s.text):
            return Summary(True, s.text, s.line, [_ev(s)])
    return Summary(False)


def _pi_mentions(doc: PolicyDoc, matches: dict[int, list]) -> list[PIMention]:
    out = []
    for s in doc.sentences:
        for m in matches[s.index]:
            pis = [t for t in m.terms if t.kind == "pi"]
            if not pis or (pis[0].weak and not m.enumerated):
                continue
            after = s.text[m.end:m.end + 1]
            if after in (":", "：") and not re.match(r"[:：]\s*(\d{4}|[\u4e00-\u9fa5A-Za-z]{1,10}、)",
                                                    s.text[m.end:]):
                continue  # a field label ("公司名称：…", "邮箱：…"), not information collected
            if NOT_PI_CONTEXT.search(s.text[max(0, m.start - 3):m.end + 4]):
                continue
            clause_start = max(s.text.rfind(c, 0, m.start) for c in "，,；;：:") + 1
            negated = bool(NEGATION_RE.search(s.text[clause_start:m.start]))
            out.append(PIMention(m.text, pis[0].keys[0], negated, _ev(s)))
    return out


def _permissions(doc: PolicyDoc) -> list[PermissionStatement]:
    """A permission is mentioned where the text names its object (knowledge/data/policy_terms.yaml)."""
    objects = load_policy_terms().permission_objects
    out = []
    for key in SENSITIVE_PERMISSIONS:
        rx = objects[key]
        hits = [s for s in doc.sentences if not s.is_heading and rx.search(s.text)]
        purpose = None
        for s in hits:
            purpose = _purpose(s.text)
            if purpose:
                break
        out.append(PermissionStatement(key, bool(hits), purpose is not None, purpose,
                                       [_ev(s) for s in hits[:5]]))
    return out


def _col(header: list[str], rx: re.Pattern) -> int | None:
    for i, h in enumerate(header):
        if rx.search(h):
            return i
    return None


def _third_parties(doc: PolicyDoc, matches: dict[int, list]) -> list[ThirdPartyMention]:
    found: dict[tuple[str, str], ThirdPartyMention] = {}
    pkgs = package_names()
    row_sentences = {s.text: s for s in doc.sentences if s.is_row}

    def add(name: str, ids: list[str], source: str, s: Sentence, named_by: str = "product",
            **kw) -> ThirdPartyMention:
        key = (name.casefold(), named_by)  # 友盟 next to 统计 and a bare 友盟 are two mentions
        tp = found.get(key)
        if tp is None:
            tp = found[key] = ThirdPartyMention(name, sorted(set(ids)), source, named_by=named_by, **kw)
        else:
            tp.sdk_ids = sorted(set(tp.sdk_ids) | set(ids))
            for k, v in kw.items():
                if v and not getattr(tp, k):
                    setattr(tp, k, v)
        if len(tp.evidence) < 5 and all(e.sentence != s.index for e in tp.evidence):
            tp.evidence.append(_ev(s))
        return tp

    # 1. tables whose header names a third party / SDK
    for table in doc.tables:
        if len(table) < 2:
            continue
        header = doc.rows[table[0]]
        ci = _col(header, TABLE_PARTY_HEAD)
        if ci is None or not re.search(r"第三方|合作方|SDK|共享|接收方", " ".join(header), re.IGNORECASE):
            continue
        pi_i, pu_i = _col(header, TABLE_PI_HEAD), _col(header, TABLE_PURPOSE_HEAD)
        me_i, co_i = _col(header, TABLE_METHOD_HEAD), _col(header, TABLE_COMPANY_HEAD)
        if co_i == ci:
            co_i = next((i for i, h in enumerate(header) if i != ci and TABLE_COMPANY_HEAD.search(h)), None)
        for ri in table[1:]:
            cells = doc.rows[ri]
            if ci >= len(cells) or not cells[ci]:
                continue
            s = row_sentences.get(" | ".join(cells))
            if s is None:
                continue

            def cell(i: int | None, cells: list[str] = cells) -> str | None:
                return cells[i] if i is not None and i < len(cells) and cells[i] else None

            ids: list[str] = []
            how: set[str] = set()
            for text in (cells[ci], cell(co_i) or ""):  # the company only when the name says nothing
                for m in find_terms(text):
                    if ref := sdk_reference(m.terms, text, m.start, m.end, " ".join(cells)):
                        ids += ref[0]
                        how.add(ref[1])
                if ids:
                    break
            named_by = "vendor" if how == {"vendor"} else "product"
            for p in re.findall(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+", " | ".join(cells)):
                while p and p not in pkgs and "." in p:
                    p = p.rsplit(".", 1)[0]
                if p in pkgs:
                    ids.append(pkgs[p])
            pi_text = cell(pi_i) or ""
            pis = sorted({t.keys[0] for m in find_terms(pi_text) for t in m.terms if t.kind == "pi"})
            add(cells[ci], ids, "table", s, named_by, company=cell(co_i), pi_types=pis, purpose=cell(pu_i),
                sharing_method=cell(me_i))
    # 2. catalogue names and brands anywhere in the text (not inside an address: 2960401314@qq.com)
    for s in doc.sentences:
        addresses = [a.span() for a in ADDRESS_IN_TEXT.finditer(s.text)]
        for m in matches[s.index]:
            sdk_terms = [t for t in m.terms if t.kind == "sdk"]
            if not sdk_terms or m.terms[0].kind == "pi" or any(a <= m.start < b for a, b in addresses):
                continue
            ref = sdk_reference(sdk_terms, s.text, m.start, m.end)
            if ref is None:
                continue
            company = next((t.company for t in sdk_terms if t.company), None)
            add(m.text, ref[0], "catalogue", s, ref[1], company=company)
    # 3. sharing sentences naming a recipient: 向菜鸟驿站提供…
    for s in doc.sentences:
        if s.is_row:
            continue
        for m in SHARING_RE.finditer(s.text):
            name = m.group(1)
            if (GENERIC_PARTY.match(name) or len(name) < 3
                    or re.search(r"您|我们|用户|信息|数据|服务|第三方", name)):
                continue
            if any(name.casefold() == k or name.casefold() in k or k in name.casefold() for k, _ in found):
                continue
            add(name, [], "sharing", s)
    return list(found.values())


def _contact(doc: PolicyDoc) -> Contact:
    c = Contact()
    ev: list[Sentence] = []
    for s in doc.sentences:
        t = s.text
        emails = EMAIL_RE.findall(t)
        phones = [p for p in PHONE_RE.findall(t) if not re.fullmatch(r"(19|20)\d{2}", p)]
        phones = [p for p in phones if not (p.startswith("10") and len(p) < 7 and not HOTLINE_RE.search(t))]
        if c.company is None and OPERATOR_RE.search(t):
            m = COMPANY_RE.search(t[OPERATOR_RE.search(t).start():]) or COMPANY_RE.search(t)
            if m:
                c.company = re.sub(r"^(公司名称|运营者|主体名称|本公司|我们是|由|为|是)[:：]?", "",
                                   m.group(1))
                ev.append(s)
        am = ADDRESS_RE.search(t)
        if c.address is None and am and not re.search(r"IP|MAC|页面|网页|邮箱地址|收货|地址簿",
                                                      t[:am.start() + 6]):
            c.address = am.group(1).strip()
            ev.append(s)
        if emails or phones:
            c.emails += [e for e in emails if e not in c.emails]
            c.phones += [p for p in phones if p not in c.phones]
            if c.hotline is None and phones and HOTLINE_RE.search(t):
                c.hotline = phones[0]
            ev.append(s)
    if c.company is None:  # the last resort: the first company named near the end (联系我们 blocks)
        for s in reversed(doc.sentences):
            m = COMPANY_RE.search(s.text)
            if m and not re.search(r"关联公司|第三方|合作", s.text):
                c.company = m.group(1)
                ev.append(s)
                break
    seen: set[int] = set()
    c.evidence = [_ev(s) for s in ev if not (s.index in seen or seen.add(s.index))][:10]
    return c


def _rights(doc: PolicyDoc) -> list[Right]:
    out = []
    for key, rx in RIGHTS_RE.items():
        hits = [s for s in doc.sentences if rx.search(s.text)]
        if key in ("access", "correct", "delete"):
            hits = [s for s in hits if re.search(r"个人信息|信息|资料|账号|账户", s.text)]
        if hits:
            out.append(Right(key, [_ev(s) for s in hits[:5]]))
    return out


def _sections(doc: PolicyDoc) -> list[Section]:
    out = []
    for key in SECTIONS:
        rx = SECTION_RE[key]
        heads = [h for h in doc.headings if rx.search(h.text)]
        hits = [s for s in doc.sentences if rx.search(s.text)]
        heading = heads[0].heading if heads else None
        out.append(Section(key, bool(hits), heading, [_ev(s) for s in (heads + hits)[:5]]))
    return out


def _lists_links(doc: PolicyDoc) -> ListsLinks:
    ll = ListsLinks()
    for s in doc.sentences:
        c, sh = bool(LIST_COLLECTED_RE.search(s.text)), bool(LIST_SHARED_RE.search(s.text))
        if c or sh:
            ll.collected |= c
            ll.shared |= sh
            ll.evidence.append(_ev(s))
    for link in doc.links:
        c, sh = bool(LIST_COLLECTED_RE.search(link.text)), bool(LIST_SHARED_RE.search(link.text))
        if c or sh:
            ll.collected |= c
            ll.shared |= sh
            if link.href:
                ll.urls.append(link.href)
    ll.evidence = ll.evidence[:6]
    return ll


def extract_facts(doc: PolicyDoc) -> PolicyFacts:
    matches = {s.index: find_terms(s.text) for s in doc.sentences}
    response = None
    response_ev: list[Evidence] = []
    for s in doc.sentences:
        m = RESPONSE_RE.search(s.text)
        if m and RESPOND_WORD.search(s.text) and re.search(r"请求|申请|要求|投诉|举报|问题|反馈", s.text):
            response = m.group(0).replace(" ", "")
            response_ev = [_ev(s)]
            break
    updated = version = None
    for s in doc.sentences[:60] + doc.sentences[-20:]:
        if updated is None and (m := UPDATED_RE.search(s.text)):
            updated = re.sub(r"\s+", "", m.group(3))
        if version is None and (m := VERSION_RE.search(s.text)) and re.search(r"政策|协议|版本", s.text):
            version = m.group(1) or m.group(2)
    return PolicyFacts(
        source=doc.source, encoding=doc.encoding, kind=doc.kind, sentence_count=len(doc.sentences),
        summary=_summary(doc), pi_mentions=_pi_mentions(doc, matches), permissions=_permissions(doc),
        third_parties=_third_parties(doc, matches), contact=_contact(doc), rights=_rights(doc),
        response_time=response, lists_links=_lists_links(doc), updated=updated, version=version,
        sections=_sections(doc), evidence_of_response_time=response_ev,
    )


__all__ = ["extract_facts", "company_short"]
