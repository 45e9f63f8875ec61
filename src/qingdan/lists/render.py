"""The double lists as the pages of the app's secondary menu.

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

The files for regulators and stores (``export``: JSON, CSV, XLSX) are in :mod:`qingdan.lists.export`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from qingdan.knowledge.permissions import permission_info
from qingdan.knowledge.pi import load_pi_categories, pi_type
from qingdan.knowledge.sdks import load_sdks
from qingdan.lists.model import COLLECTION_METHODS, SHARING_METHODS, DoubleList
from qingdan.lists.strings import UI_STRINGS

__all__ = ["LANGS", "DraftError", "refuse_todos", "render_page", "render_site", "sdk_label"]

LANGS = ("zh-CN", "en")
GENERATOR = "qingdan lists"

_env = Environment(
    loader=PackageLoader("qingdan.lists", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

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


def sdk_label(sdk_id: str, dl: DoubleList, lang: str) -> tuple[str, str | None]:
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
        self.t = UI_STRINGS[lang]

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
                sdk_name, company = sdk_label(c.collector, self.dl, self.lang)
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


def render_page(dl: DoubleList, lang: str = "zh-CN", langs: Sequence[str] = LANGS,
                draft: bool = False) -> str:
    """The HTML of one page (``lang`` must be one of ``langs``); ``draft`` stamps it 草稿 (a banner on
    top, the title, ``noindex``)."""
    if lang not in UI_STRINGS:
        raise ValueError(f"unsupported language {lang!r}; supported: {', '.join(UI_STRINGS)}")
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
        draft=draft,
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


class DraftError(ValueError):
    """The lists still hold TODOs and were not rendered as a draft."""


def refuse_todos(dl: DoubleList) -> None:
    """Raise :class:`DraftError` when ``dl`` still has a TODO (the pages would publish it)."""
    todos = dl.todos()
    if todos:
        n = sum(len(fields) for _, _, fields in todos)
        kind, item, fields = todos[0]
        row = getattr(item, "pi_type", None) or getattr(item, "third_party", "")
        where = fields[0] if kind == "app" else f"{kind} row {row}: {fields[0]}"
        raise DraftError(f"{n} fields are still TODO (first: {where}); fill them (`qingdan lists check` "
                         "lists them) or render with --draft")


def render_site(dl: DoubleList, out_dir: str | Path, langs: Sequence[str] = LANGS,
                draft: bool = False) -> list[Path]:
    """Write the pages of ``dl`` into ``out_dir`` (replacing it whole, atomically); return their paths.

    Lists with a TODO are refused (:class:`DraftError`) unless ``draft``, which stamps every page 草稿."""
    if not draft:
        refuse_todos(dl)
    langs = tuple(langs)
    if not langs:
        raise ValueError("render_site: langs must name at least one language")
    unknown = [lang for lang in langs if lang not in UI_STRINGS]
    if unknown:
        raise ValueError(f"render_site: unsupported languages {unknown}; supported: {', '.join(UI_STRINGS)}")
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
            _write_page(tmp / rel, render_page(dl, lang, langs, draft))
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
