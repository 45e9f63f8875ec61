"""The double lists as the pages of the app's secondary menu, and as files for regulators.

``render_site(dl, out_dir)`` writes a static H5 site: ``index.html`` in the first language
(zh-CN by default) and ``<lang>/index.html`` for each other one (``en/index.html``). Each page
holds both lists — 已收集个人信息清单 grouped by PI category, 与第三方共享个人信息清单 grouped by
sharing method — with the app's name, operator, contact, update date and privacy-policy link.

Pages:

* mobile first: one column of cards (definition lists, no wide tables), 48 px touch targets,
  readable at 360 px wide without horizontal scrolling;
* no external assets: CSS and JS are inline. The ``Content-Security-Policy`` meta allows exactly
  those two blocks by their SHA-256 hashes (``style-src 'sha256-…'; script-src 'sha256-…'``)
  and nothing else (``default-src 'none'``, no ``'unsafe-inline'``), so text injected into a
  page could neither run nor style anything even if escaping failed. Consequently the templates
  use no ``style=""`` attributes or event-handler attributes;
* every user string goes through Jinja2 autoescape; links are made only from ``http(s)`` URLs
  (and ``mailto:`` for an e-mail contact), anything else is shown as text;
* search: a search box, shipped ``hidden`` and revealed by the script, filters the cards of both
  lists (matching names, synonyms, purposes, scenarios, SDK names). Without JavaScript every
  card is visible and the box stays hidden.

The site is built in a temporary folder beside ``out_dir`` and moved into place; on any error
``out_dir`` is left as it was. An existing ``out_dir`` is replaced whole, so it is refused unless
it is empty or was written by this function (its ``index.html`` carries
``<meta name="generator" content="qingdan lists">``).

``export(dl, fmt, out)`` writes ``json``, ``csv`` or ``xlsx``:

* ``json``: ``{"schema": "qingdan.lists/1", "app": {...}, "collected": [...], "shared": [...]}``,
  items with their model fields plus PI names (``pi_zh``/``pi_en``, category, sensitivity);
* ``csv``: two files, ``<out>-collected.csv`` and ``<out>-shared.csv`` (a trailing ``.csv`` of
  ``out`` is dropped), UTF-8 with BOM, Chinese headers — the two lists have different columns, as
  in the published lists, so one file per list. A cell starting with ``= + - @``, tab or CR gets a
  leading ``'`` so spreadsheet programs do not read it as a formula;
* ``xlsx``: one workbook, sheets 已收集个人信息清单 and 与第三方共享个人信息清单, the CSV
  columns, header bold and frozen, every cell stored as text (never a formula).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from qingdan._io import csv_cell, output_target, write_atomic
from qingdan.knowledge.permissions import permission_info
from qingdan.knowledge.pi import load_pi_categories, pi_type
from qingdan.knowledge.sdks import load_sdks
from qingdan.lists.model import COLLECTION_METHODS, SCHEMA_ID, SHARING_METHODS, DoubleList

__all__ = ["EXPORT_FORMATS", "LANGS", "SHEETS", "export", "render_page", "render_site"]

LANGS = ("zh-CN", "en")
EXPORT_FORMATS = ("json", "csv", "xlsx")
GENERATOR = "qingdan lists"

_env = Environment(
    loader=PackageLoader("qingdan.lists", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

# --------------------------------------------------------------------------------------------
# UI strings

_T: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "个人信息清单",
        "collected": "已收集个人信息清单",
        "shared": "与第三方共享个人信息清单",
        "nav_collected": "已收集个人信息清单",
        "nav_shared": "与第三方共享个人信息清单",
        "nav_label": "清单目录",
        "operator": "运营者",
        "contact": "联系方式",
        "updated": "更新日期",
        "version": "适用版本",
        "policy": "隐私政策",
        "policy_link": "查看隐私政策",
        "none": "未提供",
        "intro_collected": "以下列出本应用（包括内嵌的第三方 SDK）收集的个人信息、使用目的和使用场景。",
        "intro_shared": "以下列出本应用与第三方共享的个人信息、使用目的、使用场景和共享方式。",
        "summary_collected": "共 {n} 项，其中敏感个人信息 {s} 项",
        "summary_shared": "共 {n} 个第三方",
        "legend": "标有“敏感个人信息”的条目一旦泄露或被非法使用，容易导致人格尊严受到侵害或人身、"
                  "财产安全受到危害；依法须取得您的单独同意后方可处理。",
        "sensitive": "敏感个人信息",
        "pi": "个人信息",
        "purpose": "使用目的",
        "scenario": "使用场景",
        "method": "收集方式",
        "collector": "收集方",
        "app_self": "App 自身",
        "sdk_prefix": "第三方 SDK：",
        "permission": "涉及权限",
        "retention": "保存期限",
        "note": "备注",
        "shared_pi": "共享信息",
        "sharing_method": "共享方式",
        "company": "第三方主体",
        "third_policy": "隐私政策",
        "third_policy_link": "查看第三方隐私政策",
        "third_contact": "联系方式",
        "group_sdk_local": "第三方 SDK（SDK 本机采集）",
        "group_api_transfer": "合作方（接口传输）",
        "group_other": "其他方式",
        "empty_collected": "本应用未收集个人信息。",
        "empty_shared": "本应用未与第三方共享个人信息。",
        "search_label": "搜索个人信息",
        "search_placeholder": "如：位置、设备标识、极光推送",
        "search_found": "找到 {n} 条",
        "search_none": "没有找到匹配的条目",
        "back_top": "返回顶部",
        "footer": "本清单更新于 {date}",
        "items": "{n} 项",
        "parties": "{n} 个",
    },
    "en": {
        "title": "Personal information lists",
        "collected": "Personal information collected",
        "shared": "Personal information shared with third parties",
        "nav_collected": "Information collected",
        "nav_shared": "Information shared with third parties",
        "nav_label": "Lists",
        "operator": "Operator",
        "contact": "Contact",
        "updated": "Updated",
        "version": "App version",
        "policy": "Privacy policy",
        "policy_link": "Read the privacy policy",
        "none": "Not provided",
        "intro_collected": "The personal information this app (including the third-party SDKs it embeds) "
                           "collects, why, and when.",
        "intro_shared": "The personal information this app shares with third parties, why, when and how.",
        "summary_collected": "{n} items, {s} of them sensitive personal information",
        "summary_shared": "{n} third parties",
        "legend": "Items marked “Sensitive PI” could, if leaked or misused, harm your dignity, safety or "
                  "property; by law they may be processed only with your separate consent.",
        "sensitive": "Sensitive PI",
        "pi": "Personal information",
        "purpose": "Purpose",
        "scenario": "When",
        "method": "How collected",
        "collector": "Collected by",
        "app_self": "The app itself",
        "sdk_prefix": "Third-party SDK: ",
        "permission": "Permission",
        "retention": "Retention",
        "note": "Note",
        "shared_pi": "Information shared",
        "sharing_method": "How shared",
        "company": "Company",
        "third_policy": "Privacy policy",
        "third_policy_link": "Third party’s privacy policy",
        "third_contact": "Contact",
        "group_sdk_local": "Third-party SDKs (collected on the device)",
        "group_api_transfer": "Partners (transferred through an API)",
        "group_other": "Other",
        "empty_collected": "This app collects no personal information.",
        "empty_shared": "This app shares no personal information with third parties.",
        "search_label": "Search the lists",
        "search_placeholder": "e.g. location, device ID, JPush",
        "search_found": "{n} found",
        "search_none": "Nothing matches",
        "back_top": "Back to top",
        "footer": "Lists last updated {date}",
        "items": "{n}",
        "parties": "{n}",
    },
}

_LANG_NAMES = {"zh-CN": "中文", "en": "English"}  # each in its own language, for the switch
_PAREN = re.compile(r"\s*\([^)]*\)")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_HTTP_URL = re.compile(r"^https?://[^\s<>\"'`]+$", re.I)
_EMAIL = re.compile(r"^[^\s@<>\"'`:/]+@[^\s@<>\"'`:/]+\.[A-Za-z]{2,}$")


def _safe_url(url: str | None) -> str | None:
    """``url`` if it is a plain http(s) URL, else None (shown as text, never as a link)."""
    if url and _HTTP_URL.match(url.strip()):
        return url.strip()
    return None


def _mailto(contact: str | None) -> str | None:
    if contact and _EMAIL.match(contact.strip()):
        return "mailto:" + contact.strip()
    return None


# --------------------------------------------------------------------------------------------
# view model


@dataclass(slots=True)
class _Text:
    """A user-provided string and the language to tag it with (None: the page's)."""

    text: str
    lang: str | None = None


@dataclass(slots=True)
class _Field:
    label: str
    value: _Text | None = None
    href: str | None = None  # render the value as a link
    pis: list[dict[str, Any]] | None = None  # shared PI types, each with its own badge


@dataclass(slots=True)
class _Row:
    title: _Text
    subtitle: _Text | None
    sensitive: bool
    fields: list[_Field]
    terms: str  # extra words the search matches (synonyms, other language's names, keys)
    anchor: str


@dataclass(slots=True)
class _Group:
    key: str
    title: str
    rows: list[_Row] = field(default_factory=list)


def _pi_names(key: str, lang: str) -> tuple[str, str | None, str, bool, str]:
    """(name in ``lang``, name in the other language or None, category key, sensitive, search terms)."""
    t = pi_type(key)
    if t is None:
        return key, None, "other", False, key
    terms = " ".join((t.key, t.zh, t.en, *t.synonyms))
    if lang == "en":
        return t.en, t.zh, t.category, t.is_sensitive, terms
    return t.zh, None, t.category, t.is_sensitive, terms


def _sdk_label(sdk_id: str, dl: DoubleList, lang: str) -> tuple[str, str | None]:
    """(display name, company) of an SDK: catalogue first, then the shared list, then the id."""
    sdk = load_sdks().get(sdk_id)
    name = company = None
    if sdk is not None:
        if lang == "en":
            name = sdk.name_en or sdk.name_zh
            company = sdk.company_en or sdk.company
        else:
            name = sdk.name_zh or sdk.name_en
            company = sdk.company or sdk.company_en
    for s in dl.shared:
        if s.sdk == sdk_id:
            name = name or s.third_party
            company = company or s.company
            break
    return name or sdk_id, company


class _Page:
    """Builds the view model of one language."""

    def __init__(self, dl: DoubleList, lang: str) -> None:
        self.dl = dl
        self.lang = lang
        self.t = _T[lang]

    def text(self, s: str | None) -> _Text | None:
        if s is None or not str(s).strip():
            return None
        s = str(s)
        # On the English page the declared strings are usually Chinese: tag them so screen
        # readers and fonts pick the right language.
        lang = "zh-CN" if self.lang == "en" and _CJK.search(s) else None
        return _Text(s, lang)

    def method(self, table: dict[str, tuple[str, str]], key: str) -> _Text | None:
        if key in table:
            return _Text(table[key][1 if self.lang == "en" else 0])
        return self.text(key)

    def permission(self, raw: str) -> _Text | None:
        """Permission names with their Chinese (or English) label: 精确位置（ACCESS_FINE_LOCATION）."""
        parts = []
        for name in (n for n in re.split(r"[\s,，、;；]+", raw) if n):
            full = name if "." in name else f"android.permission.{name}"
            info = permission_info(full)
            short = name.removeprefix("android.permission.")
            if info is None:
                parts.append(short)
            elif self.lang == "en":
                parts.append(f"{_PAREN.sub('', info.en)} · {short}")
            else:
                parts.append(f"{info.zh}（{short}）")
        return self.text(("；" if self.lang != "en" else "; ").join(parts))

    def collected_groups(self) -> list[_Group]:
        cats = load_pi_categories()
        groups: dict[str, _Group] = {}
        for i, c in enumerate(self.dl.collected):
            name, other, cat, sensitive, terms = _pi_names(c.pi_type, self.lang)
            if cat not in cats:
                cat = "other"
            if c.collector == "app":
                who = _Text(self.t["app_self"])
                who_terms = "app"
            else:
                sdk_name, company = _sdk_label(c.collector, self.dl, self.lang)
                label = self.t["sdk_prefix"] + sdk_name + (f"（{company}）" if self.lang != "en" and company
                                                           else f" ({company})" if company else "")
                who = self.text(label)
                who_terms = f"sdk {c.collector}"
            fields = [
                _Field(self.t["purpose"], self.text(c.purpose)),
                _Field(self.t["scenario"], self.text(c.scenario)),
                _Field(self.t["method"], self.method(COLLECTION_METHODS, c.method)),
                _Field(self.t["collector"], who),
            ]
            if c.permission:
                fields.append(_Field(self.t["permission"], self.permission(c.permission)))
            if c.retention:
                fields.append(_Field(self.t["retention"], self.text(c.retention)))
            if c.note:
                fields.append(_Field(self.t["note"], self.text(c.note)))
            row = _Row(
                title=_Text(name),
                subtitle=_Text(other, "zh-CN") if other else None,
                sensitive=sensitive,
                fields=[f for f in fields if f.value is not None],
                terms=f"{terms} {who_terms}",
                anchor=f"c{i + 1}",
            )
            if cat not in groups:
                cc = cats.get(cat)
                title = (cc.en if self.lang == "en" else cc.zh) if cc else cat
                groups[cat] = _Group(cat, title)
            groups[cat].rows.append(row)
        order = {k: n for n, k in enumerate(cats)}
        return sorted(groups.values(), key=lambda g: order.get(g.key, len(order)))

    def shared_groups(self) -> list[_Group]:
        groups: dict[str, _Group] = {}
        sdks = load_sdks()
        for i, s in enumerate(self.dl.shared):
            pis = []
            terms = [s.sdk or "", s.method]
            for key in s.pi_types:
                name, other, _cat, sensitive, pi_terms = _pi_names(key, self.lang)
                pis.append({"name": name, "other": other, "sensitive": sensitive})
                terms.append(pi_terms)
            sdk = sdks.get(s.sdk) if s.sdk else None
            if sdk is not None:
                terms += [sdk.name_zh or "", sdk.name_en or "", sdk.company or "", sdk.company_en or ""]
            policy = s.policy_url or (sdk.policy_url if sdk is not None else None)
            fields = [
                _Field(self.t["shared_pi"], _Text("、".join(p["name"] for p in pis)), pis=pis),
                _Field(self.t["purpose"], self.text(s.purpose)),
                _Field(self.t["scenario"], self.text(s.scenario)),
                _Field(self.t["sharing_method"], self.method(SHARING_METHODS, s.method)),
                _Field(self.t["company"], self.text(s.company)),
            ]
            if policy:
                url = _safe_url(policy)
                fields.append(_Field(self.t["third_policy"],
                                     _Text(self.t["third_policy_link"]) if url else self.text(policy),
                                     href=url))
            if s.contact:
                fields.append(_Field(self.t["third_contact"], self.text(s.contact), href=_mailto(s.contact)))
            if s.note:
                fields.append(_Field(self.t["note"], self.text(s.note)))
            row = _Row(
                title=self.text(s.third_party) or _Text(s.company),
                subtitle=None,
                sensitive=any(p["sensitive"] for p in pis),
                fields=[f for f in fields if f.value is not None],
                terms=" ".join(t for t in terms if t),
                anchor=f"s{i + 1}",
            )
            key = s.method if s.method in SHARING_METHODS else "other"
            if key not in groups:
                groups[key] = _Group(key, self.t[f"group_{key}"])
            groups[key].rows.append(row)
        order = {k: n for n, k in enumerate((*SHARING_METHODS, "other"))}
        return sorted(groups.values(), key=lambda g: order[g.key])

    def updated(self) -> _Text | None:
        raw = self.dl.app.updated
        if not raw:
            return None
        try:
            d = date.fromisoformat(str(raw)[:10])
        except ValueError:
            return self.text(str(raw))
        if self.lang == "en":
            return _Text(f"{d.day} {d.strftime('%B')} {d.year}")
        return _Text(f"{d.year}年{d.month}月{d.day}日")


# --------------------------------------------------------------------------------------------
# assets: one stylesheet and one script, allowed by hash in the CSP


def _asset(name: str) -> str:
    return resources.files("qingdan.lists").joinpath("templates", name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _assets() -> tuple[str, str, str]:
    css = _asset("site.css")
    js = _asset("site.js")
    if "</" in css or "</" in js:  # would end the inline block early
        raise ValueError("lists templates: inline CSS/JS must not contain '</'")
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    return css, js, csp


def _page_path(lang: str, langs: Sequence[str]) -> str:
    return "index.html" if lang == langs[0] else f"{lang.lower()}/index.html"


def _relative(from_path: str, to_path: str) -> str:
    depth = from_path.count("/")
    return "../" * depth + to_path


def render_page(dl: DoubleList, lang: str = "zh-CN", langs: Sequence[str] = LANGS) -> str:
    """The HTML of one page (``lang`` must be one of ``langs``)."""
    if lang not in _T:
        raise ValueError(f"unsupported language {lang!r}; supported: {', '.join(_T)}")
    css, js, csp = _assets()
    page = _Page(dl, lang)
    t = page.t
    here = _page_path(lang, langs)
    others = [{"lang": other, "href": _relative(here, _page_path(other, langs)), "label": _LANG_NAMES[other]}
              for other in langs if other != lang]
    collected = page.collected_groups()
    shared = page.shared_groups()
    n_sensitive = sum(r.sensitive for g in collected for r in g.rows)
    app = dl.app
    return _env.get_template("site.html.j2").render(
        lang=lang,
        t=t,
        app=app,
        app_name=page.text(app.name) or _Text(app.package or ""),
        operator=page.text(app.operator),
        contact=page.text(app.contact),
        contact_href=_mailto(app.contact),
        updated=page.updated(),
        updated_iso=str(app.updated)[:10] if app.updated else None,
        version=page.text(app.version),
        policy_url=_safe_url(app.policy_url),
        policy_text=page.text(app.policy_url),
        others=others,
        collected=collected,
        shared=shared,
        summary_collected=t["summary_collected"].format(n=len(dl.collected), s=n_sensitive),
        summary_shared=t["summary_shared"].format(n=len(dl.shared)),
        summary_collected_n=t["items"].format(n=len(dl.collected)),
        summary_shared_n=t["parties"].format(n=len(dl.shared)),
        css=Markup(css),
        js=Markup(js),
        csp=Markup(csp),  # our own value: hashes and keywords, no double quotes
        generator=GENERATOR,
    )


# --------------------------------------------------------------------------------------------
# atomic site write


def _write_page(path: Path, html: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")


def _ours(out_dir: Path) -> bool:
    """True if ``out_dir`` may be replaced: empty, or a site this module wrote."""
    if not any(out_dir.iterdir()):
        return True
    index = out_dir / "index.html"
    try:
        with index.open("r", encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">' in head


def render_site(dl: DoubleList, out_dir: str | Path, langs: Sequence[str] = LANGS) -> list[Path]:
    """Write the pages of ``dl`` into ``out_dir`` (replacing it whole, atomically); return their paths."""
    langs = tuple(langs)
    if not langs:
        raise ValueError("render_site: langs must name at least one language")
    unknown = [lang for lang in langs if lang not in _T]
    if unknown:
        raise ValueError(f"render_site: unsupported languages {unknown}; supported: {', '.join(_T)}")
    if len(set(langs)) != len(langs):
        raise ValueError(f"render_site: duplicate languages in {langs}")
    out = Path(os.path.realpath(out_dir))  # a symlink to a site: the site it points to is replaced
    if out.exists():
        if not out.is_dir():
            raise ValueError(f"render_site: {out} exists and is not a folder")
        if not _ours(out):
            raise ValueError(f"render_site: refusing to replace {out}: it is not empty and was not written "
                             "by qingdan (no generator meta in its index.html)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.urandom(6).hex()}"
    tmp.mkdir(0o777)  # less the umask, as any program's new folder: a web root must be readable
    try:
        rels = []
        for lang in langs:
            rel = _page_path(lang, langs)
            _write_page(tmp / rel, render_page(dl, lang, langs))
            rels.append(rel)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / rel for rel in rels]


def _swap(new: Path, out: Path) -> None:
    """Move ``new`` to ``out``; an existing ``out`` is set aside first and restored on failure."""
    if not out.exists():
        os.replace(new, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# exports

_COLLECTED_COLUMNS = [
    ("category_zh", "信息分类"),
    ("pi_zh", "个人信息"),
    ("pi_type", "类型代码"),
    ("sensitive_zh", "敏感个人信息"),
    ("purpose", "使用目的"),
    ("scenario", "使用场景"),
    ("method_zh", "收集方式"),
    ("collector_zh", "收集方"),
    ("permission", "涉及权限"),
    ("retention", "保存期限"),
    ("note", "备注"),
]
_SHARED_COLUMNS = [
    ("third_party", "第三方名称"),
    ("company", "第三方主体"),
    ("pi_zh_joined", "共享的个人信息"),
    ("pi_types_joined", "类型代码"),
    ("purpose", "使用目的"),
    ("scenario", "使用场景"),
    ("method_zh", "共享方式"),
    ("sdk", "SDK 标识"),
    ("policy_url", "第三方隐私政策"),
    ("contact", "联系方式"),
    ("note", "备注"),
]
SHEETS = ("已收集个人信息清单", "与第三方共享个人信息清单")


def _export_data(dl: DoubleList) -> dict[str, Any]:
    cats = load_pi_categories()
    a = dl.app
    app = {"name": a.name, "package": a.package, "operator": a.operator, "contact": a.contact,
           "policy_url": a.policy_url, "updated": a.updated, "version": a.version}
    collected = []
    for c in dl.collected:
        t = pi_type(c.pi_type)
        cat = cats.get(t.category) if t else None
        if c.collector == "app":
            collector_zh = "App 自身"
        else:
            name, company = _sdk_label(c.collector, dl, "zh-CN")
            collector_zh = f"第三方 SDK：{name}" + (f"（{company}）" if company else "")
        collected.append({
            "pi_type": c.pi_type,
            "pi_zh": t.zh if t else None,
            "pi_en": t.en if t else None,
            "category": t.category if t else None,
            "category_zh": cat.zh if cat else None,
            "sensitive": t.sensitive if t else None,
            "purpose": c.purpose,
            "scenario": c.scenario,
            "method": c.method,
            "method_zh": COLLECTION_METHODS.get(c.method, (c.method,))[0],
            "collector": c.collector,
            "collector_zh": collector_zh,
            "permission": c.permission,
            "retention": c.retention,
            "note": c.note,
        })
    shared = []
    for s in dl.shared:
        names = []
        for key in s.pi_types:
            t = pi_type(key)
            names.append(t.zh if t else key)
        shared.append({
            "third_party": s.third_party,
            "company": s.company,
            "pi_types": list(s.pi_types),
            "pi_zh": names,
            "purpose": s.purpose,
            "scenario": s.scenario,
            "method": s.method,
            "method_zh": SHARING_METHODS.get(s.method, (s.method,))[0],
            "sdk": s.sdk,
            "policy_url": s.policy_url,
            "contact": s.contact,
            "note": s.note,
        })
    return {"schema": SCHEMA_ID, "app": app, "collected": collected, "shared": shared}


def _table_rows(data: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    sens = {"true": "是", "false": "否", "context": "视场景而定", None: ""}
    collected = [[h for _k, h in _COLLECTED_COLUMNS]]
    for c in data["collected"]:
        row = dict(c, sensitive_zh=sens.get(c["sensitive"], ""))
        row["category_zh"] = row["category_zh"] or "其他信息"
        row["pi_zh"] = row["pi_zh"] or c["pi_type"]
        collected.append([_cell(row[k]) for k, _h in _COLLECTED_COLUMNS])
    shared = [[h for _k, h in _SHARED_COLUMNS]]
    for s in data["shared"]:
        row = dict(s, pi_zh_joined="、".join(s["pi_zh"]), pi_types_joined=";".join(s["pi_types"]))
        shared.append([_cell(row[k]) for k, _h in _SHARED_COLUMNS])
    return collected, shared


def _cell(v: Any) -> str:
    return "" if v is None else str(v)


def _csv_bytes(rows: Iterable[list[str]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    for i, row in enumerate(rows):
        w.writerow(row if i == 0 else [csv_cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _xlsx_bytes(dl: DoubleList, collected: list[list[str]], shared: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = f"{dl.app.name} 个人信息双清单"
    wb.properties.creator = "qingdan"
    widths = {"使用目的": 40, "使用场景": 32, "备注": 24, "第三方隐私政策": 36, "收集方": 28,
              "第三方主体": 28, "共享的个人信息": 28}
    for title, rows in zip(SHEETS, (collected, shared), strict=True):
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=c)
                cell.value = value
                cell.data_type = "s"  # text, never a formula, whatever the value starts with
                if r == 1:
                    cell.font = Font(bold=True)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        for c, head in enumerate(rows[0], start=1):
            ws.column_dimensions[get_column_letter(c)].width = widths.get(head, 16)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(rows[0]))}{max(len(rows), 1)}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export(dl: DoubleList, fmt: str, out: str | Path) -> list[Path]:
    """Write ``dl`` as ``fmt`` (json, csv, xlsx) to ``out``; return the files written.

    For ``csv`` ``out`` is a prefix: ``<out>-collected.csv`` and ``<out>-shared.csv``.
    """
    fmt = fmt.lower().strip()
    out = Path(out)
    data = _export_data(dl)
    if fmt == "json":
        write_atomic(out, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        return [out]
    collected, shared = _table_rows(data)
    if fmt == "csv":
        stem = out.name[:-4] if out.name.lower().endswith(".csv") else out.name
        paths = [out.with_name(f"{stem}-collected.csv"), out.with_name(f"{stem}-shared.csv")]
        for path in paths:
            output_target(path)  # both writable kinds of file, or neither is written
        for path, rows in zip(paths, (collected, shared), strict=True):
            write_atomic(path, _csv_bytes(rows))
        return paths
    if fmt == "xlsx":
        write_atomic(out, _xlsx_bytes(dl, collected, shared))
        return [out]
    raise ValueError(f"export: unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
