"""lists/render.py: the secondary-menu pages of the double lists, and the JSON/CSV/XLSX exports.

The browser tests drive the system Chromium (/usr/bin/chromium, Debian package ``chromium``)
through Playwright; they skip only when that binary or the ``playwright`` package is missing.
"""

from __future__ import annotations

import csv
import functools
import http.server
import json
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from qingdan.knowledge.pi import load_pi_categories, pi_type
from qingdan.lists import render
from qingdan.lists.export import export
from qingdan.lists.model import AppInfo, CollectedItem, DoubleList, SharedItem
from qingdan.lists.render import render_page, render_site

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
DOCS_IMAGE = ROOT / "docs" / "images" / "lists-zh.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def sample() -> DoubleList:
    app = AppInfo(
        name="鲜到家",
        package="com.example.xiandaojia",
        operator="杭州鲜到家网络科技有限公司",
        contact="privacy@xiandaojia.example",
        policy_url="https://www.xiandaojia.example/privacy.html",
        updated="2025-03-01",
        version="5.2.0",
    )
    collected = [
        CollectedItem("phone_number", "用于注册、登录账号及接收订单配送通知", "注册、登录时", "provided"),
        CollectedItem("precise_location", "推荐附近门店、计算配送范围", "首页选择收货地址、查看附近门店时",
                      "permission",
                      permission="android.permission.ACCESS_FINE_LOCATION", retention="实时使用，不保存"),
        CollectedItem("nickname", "在个人主页和商品评价中展示", "编辑个人资料时", "provided"),
        CollectedItem("android_id", "识别设备以向您推送订单状态消息", "App 启动后（同意隐私政策后）",
                      "automatic",
                      collector="jpush"),
        CollectedItem("oaid", "统计 App 使用情况、防范刷单作弊", "App 启动后（同意隐私政策后）", "automatic"),
        CollectedItem("device_model", "适配界面显示、排查崩溃问题", "App 运行期间", "automatic"),
        CollectedItem("precise_location", "在地图上定位您的位置以选择收货地址", "新增收货地址时",
                      "permission",
                      collector="amap-location", permission="android.permission.ACCESS_FINE_LOCATION"),
        CollectedItem("trajectory", "骑手配送途中向您展示配送进度", "订单配送中", "third_party",
                      retention="订单完成后 30 天"),
    ]
    shared = [
        SharedItem("极光推送", "深圳市和讯华谷信息技术有限公司", ["android_id", "oaid", "device_model"],
                   "向您推送订单状态消息", "App 启动后（同意隐私政策后）", "sdk_local", sdk="jpush",
                   policy_url="https://www.jiguang.cn/license/privacy"),
        SharedItem("高德定位 SDK", "高德软件有限公司", ["precise_location", "wifi_info"],
                   "定位收货地址", "新增收货地址时", "sdk_local", sdk="amap-location"),
        SharedItem("顺丰同城", "顺丰同城（深圳）科技有限公司", ["name", "phone_number", "address"],
                   "完成商品配送", "下单选择同城配送时", "api_transfer",
                   policy_url="https://www.sf-city.example/privacy", contact="privacy@sf-city.example"),
    ]
    return DoubleList(app=app, collected=collected, shared=shared)


CATEGORIES = {"basic_profile", "device", "location"}
SENSITIVE = {"precise_location", "trajectory"}


class _Parse(HTMLParser):
    """Cards (data-row), group headings, badges and scripts of a page, for structure checks."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.groups: list[str] = []
        self.scripts: list[str] = []
        self._stack: list[str] = []
        self._in_h3 = False
        self._in_script = False
        self._h3 = ""
        self.lang = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "li" and "data-row" in a:
            self.rows.append({"id": a["id"], "text": "", "badge": False,
                              "group": self.groups[-1] if self.groups else None})
        if tag == "span" and a.get("class") == "badge" and self.rows and self._open_row():
            self.rows[-1]["badge"] = True
        if tag == "h3":
            self._in_h3, self._h3 = True, ""
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        self._stack.append(tag)

    def _open_row(self) -> bool:
        return "li" in self._stack

    def handle_endtag(self, tag):
        if tag == "h3":
            self._in_h3 = False
            self.groups.append(self._h3.strip())
        if tag == "script":
            self._in_script = False
        while self._stack:
            if self._stack.pop() == tag:
                break

    def handle_data(self, data):
        if self._in_h3:
            self._h3 += data
        if self._in_script:
            self.scripts[-1] += data
        elif self.rows and self._open_row():
            self.rows[-1]["text"] += data


def parse(html: str) -> _Parse:
    p = _Parse()
    p.feed(html)
    return p


# ------------------------------------------------------------------------------------------
# pages


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lists") / "site"
    paths = render_site(sample(), out)
    assert paths == [out / "index.html", out / "en" / "index.html"]
    return out


@pytest.mark.parametrize("page,lang", [("index.html", "zh-CN"), ("en/index.html", "en")])
def test_every_row_in_both_languages(site, page, lang):
    dl = sample()
    html = (site / page).read_text("utf-8")
    p = parse(html)
    assert p.lang == lang
    assert len(p.rows) == len(dl.collected) + len(dl.shared)
    ids = [r["id"] for r in p.rows]
    # grouped: c2 is a location row
    assert ids == [f"c{i}" for i in (1, 3, 4, 5, 6, 2, 7, 8)] + ["s1", "s2", "s3"]
    by_id = {r["id"]: r for r in p.rows}
    for i, c in enumerate(dl.collected, start=1):
        t = pi_type(c.pi_type)
        text = by_id[f"c{i}"]["text"]
        assert (t.en if lang == "en" else t.zh) in text
        assert c.purpose in text and c.scenario in text
    for i, s in enumerate(dl.shared, start=1):
        text = by_id[f"s{i}"]["text"]
        assert s.third_party in text and s.company in text and s.purpose in text and s.scenario in text
        for key in s.pi_types:
            t = pi_type(key)
            assert (t.en if lang == "en" else t.zh) in text
    # both lists, anchor nav, app facts
    for anchor in ('href="#collected"', 'href="#shared"', 'id="collected"', 'id="shared"'):
        assert anchor in html
    if lang == "zh-CN":
        for s in ("已收集个人信息清单", "与第三方共享个人信息清单", "杭州鲜到家网络科技有限公司",
                  "2025年3月1日",
                  "privacy@xiandaojia.example", 'href="https://www.xiandaojia.example/privacy.html"',
                  'href="en/index.html"'):
            assert s in html
    else:
        assert 'href="../index.html"' in html and "1 March 2025" in html
        # declared Chinese text is tagged as Chinese on the English page
        assert '<span lang="zh-CN">注册、登录时</span>' in html


def test_grouped_by_category_in_taxonomy_order(site):
    p = parse((site / "index.html").read_text("utf-8"))
    cats = load_pi_categories()
    want = [cats[k].zh for k in cats if k in CATEGORIES]
    collected_groups = [g.split(" ")[0] for g in p.groups[:3]]
    assert collected_groups == want  # 个人基本资料, 个人常用设备信息, 个人位置信息
    assert p.groups[0].endswith("2 项") and p.groups[1].endswith("3 项") and p.groups[2].endswith("3 项")
    for r in p.rows:
        if r["id"].startswith("c"):
            key = sample().collected[int(r["id"][1:]) - 1].pi_type
            assert r["group"].startswith(cats[pi_type(key).category].zh)
    # shared list grouped by sharing method: SDKs first, then API partners
    assert p.groups[3].startswith("第三方 SDK") and p.groups[4].startswith("合作方（接口传输）")


@pytest.mark.parametrize("page,word", [("index.html", "敏感个人信息"), ("en/index.html", "Sensitive PI")])
def test_sensitive_marked_with_text(site, page, word):
    dl = sample()
    p = parse((site / page).read_text("utf-8"))
    for r in p.rows:
        if r["id"].startswith("c"):
            sensitive = dl.collected[int(r["id"][1:]) - 1].pi_type in SENSITIVE
            assert r["badge"] == sensitive, r
            assert (word in r["text"]) == sensitive
    # a shared row carrying sensitive PI marks that PI
    shared = {r["id"]: r for r in p.rows if r["id"].startswith("s")}
    assert shared["s2"]["badge"] and word in shared["s2"]["text"]
    assert not shared["s1"]["badge"]
    # "context" types (phone number, Wi-Fi) are not marked
    assert pi_type("phone_number").sensitive == "context" and not shared["s3"]["badge"]


def test_collector_shown(site):
    html = (site / "index.html").read_text("utf-8")
    p = parse(html)
    rows = {r["id"]: r["text"] for r in p.rows}
    assert "App 自身" in rows["c1"]
    assert "第三方 SDK：极光推送（深圳市和讯华谷信息技术有限公司）" in rows["c4"]
    assert "高德定位 SDK" in rows["c7"] and "高德软件有限公司" in rows["c7"]
    en = {r["id"]: r["text"] for r in parse((site / "en" / "index.html").read_text("utf-8")).rows}
    assert "The app itself" in en["c1"] and "JPush" in en["c4"]
    # sharing method and third-party policy link (the SDK catalogue fills a missing one)
    assert "SDK本机采集" in rows["s1"] and "接口传输" in rows["s3"]
    assert 'href="https://lbs.amap.com/pages/privacy/"' in html
    assert 'href="mailto:privacy@sf-city.example"' in html


def test_permission_names():
    zh = render_page(sample(), "zh-CN")
    assert "精确位置（ACCESS_FINE_LOCATION）" in zh
    en = render_page(sample(), "en")
    assert "Access precise location · ACCESS_FINE_LOCATION" in en
    dl = sample()
    dl.collected[0].permission = "READ_PHONE_STATE, com.example.permission.OWN"
    assert ("读取电话状态(设备信息)（READ_PHONE_STATE）；com.example.permission.OWN"
            in render_page(dl, "zh-CN"))


def test_escaping_and_unsafe_links(tmp_path):
    dl = sample()
    evil = '<script>alert("x")</script>'
    dl.app.name = 'A&B "<b>app</b>'
    dl.app.policy_url = "javascript:alert(1)"
    dl.collected[0].purpose = evil
    dl.collected[1].scenario = '" onmouseover="alert(1)'
    dl.shared[2].third_party = "<img src=x onerror=alert(1)>"
    dl.shared[2].policy_url = "javascript:alert(2)"
    dl.shared[2].contact = '"><script>x</script>@a.b'
    render_site(dl, tmp_path / "s")
    for page in ("index.html", "en/index.html"):
        html = (tmp_path / "s" / page).read_text("utf-8")
        assert evil not in html and "<img" not in html and "<b>app" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        assert "A&amp;B &#34;&lt;b&gt;app&lt;/b&gt;" in html
        assert 'href="javascript:' not in html
        assert 'href="mailto:&#34;' not in html
        p = parse(html)
        assert len(p.scripts) == 1  # only the page's own script
        assert "onmouseover=\"alert" not in html


def test_csp_hashes_match_inline_blocks(site):
    import base64
    import hashlib

    html = (site / "index.html").read_text("utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp

    def h(s: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"

    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    assert f"style-src {h(style)}" in csp and f"script-src {h(script)}" in csp
    assert ' style="' not in html and not re.search(r"\son[a-z]+=", html)
    assert "http://" not in html.split("<body>")[0]  # nothing external in the head


def test_search_box_only_with_javascript(site):
    html = (site / "index.html").read_text("utf-8")
    assert re.search(r'<div class="search" id="search" role="search" hidden', html)
    assert '<label for="q">搜索个人信息</label>' in html


def test_empty_lists(tmp_path):
    dl = DoubleList(app=AppInfo(name="空应用"))
    render_site(dl, tmp_path / "s")
    html = (tmp_path / "s" / "index.html").read_text("utf-8")
    assert "本应用未收集个人信息。" in html and "本应用未与第三方共享个人信息。" in html
    assert "未提供" in html  # operator, contact, policy


def test_unknown_pi_type_and_collector(tmp_path):
    dl = sample()
    dl.collected.append(CollectedItem("TODO", "TODO", "TODO", "TODO", collector="no-such-sdk"))
    render_site(dl, tmp_path / "s", draft=True)  # TODO values: only a draft renders them
    p = parse((tmp_path / "s" / "index.html").read_text("utf-8"))
    row = [r for r in p.rows if r["id"] == "c9"][0]
    assert row["group"].startswith("其他信息") and "no-such-sdk" in row["text"]


def test_langs_option(tmp_path):
    paths = render_site(sample(), tmp_path / "s", langs=("en",))
    assert paths == [tmp_path / "s" / "index.html"]
    assert parse(paths[0].read_text("utf-8")).lang == "en"
    with pytest.raises(ValueError, match="unsupported"):
        render_site(sample(), tmp_path / "t", langs=("fr",))
    assert not (tmp_path / "t").exists()


# ------------------------------------------------------------------------------------------
# atomic write


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_atomic_failure_leaves_old_site(tmp_path, monkeypatch):
    out = tmp_path / "site"
    old = sample()
    old.app.name = "旧版本"
    render_site(old, out)
    before = _snapshot(out)
    calls = []
    real = render._write_page

    def failing(path, html):
        calls.append(path)
        if len(calls) == 2:  # index.html is written, en/index.html fails
            raise OSError("disk full")
        real(path, html)

    monkeypatch.setattr(render, "_write_page", failing)
    with pytest.raises(OSError, match="disk full"):
        render_site(sample(), out)
    assert len(calls) == 2
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no temp folder left behind
    monkeypatch.undo()
    render_site(sample(), out)
    assert "鲜到家" in (out / "index.html").read_text("utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_atomic_failure_new_site(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "_write_page", lambda path, html: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError):
        render_site(sample(), tmp_path / "site")
    assert list(tmp_path.iterdir()) == []


def test_refuses_foreign_folder(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="refusing"):
        render_site(sample(), out)
    assert (out / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        render_site(sample(), tmp_path / "file")


# ------------------------------------------------------------------------------------------
# exports


def test_export_json(tmp_path):
    dl = sample()
    (path,) = export(dl, "json", tmp_path / "lists.json")
    data = json.loads(path.read_text("utf-8"))
    assert data["schema"] == "qingdan.lists/1"
    assert data["app"]["name"] == "鲜到家" and data["app"]["updated"] == "2025-03-01"
    assert len(data["collected"]) == 8 and len(data["shared"]) == 3
    for item, c in zip(data["collected"], dl.collected, strict=True):
        for f in ("pi_type", "purpose", "scenario", "method", "collector", "permission", "retention", "note"):
            assert item[f] == getattr(c, f)
        assert item["pi_zh"] == pi_type(c.pi_type).zh
        assert item["sensitive"] == pi_type(c.pi_type).sensitive
    for item, s in zip(data["shared"], dl.shared, strict=True):
        for f in ("third_party", "company", "pi_types", "purpose", "scenario", "method", "sdk", "policy_url",
                  "contact"):
            assert item[f] == getattr(s, f)
        assert item["pi_zh"] == [pi_type(k).zh for k in s.pi_types]
    assert "pos" not in data["collected"][0]


def test_export_csv(tmp_path):
    dl = sample()
    dl.collected[1].purpose = "=HYPERLINK(\"http://evil\")"
    paths = export(dl, "csv", tmp_path / "out.csv")
    assert [p.name for p in paths] == ["out-collected.csv", "out-shared.csv"]
    for p in paths:
        assert p.read_bytes().startswith(b"\xef\xbb\xbf")
    with paths[0].open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8
    assert rows[0]["个人信息"] == "手机号码" and rows[0]["使用目的"] == dl.collected[0].purpose
    assert rows[0]["信息分类"] == "个人基本资料" and rows[1]["敏感个人信息"] == "是"
    assert rows[1]["使用目的"].startswith("'=")  # no formula
    assert rows[3]["收集方"].startswith("第三方 SDK：极光推送")
    with paths[1].open(encoding="utf-8-sig", newline="") as f:
        shared = list(csv.DictReader(f))
    assert [r["第三方名称"] for r in shared] == ["极光推送", "高德定位 SDK", "顺丰同城"]
    assert shared[2]["共享的个人信息"] == "姓名、手机号码、住址" and shared[2]["共享方式"] == "接口传输"
    assert shared[0]["类型代码"] == "android_id;oaid;device_model"


def test_export_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    dl = sample()
    dl.collected[1].purpose = "=1+1"
    (path,) = export(dl, "xlsx", tmp_path / "lists.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["已收集个人信息清单", "与第三方共享个人信息清单"]
    ws = wb["已收集个人信息清单"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["信息分类", "个人信息", "类型代码", "敏感个人信息", "使用目的", "使用场景"]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.max_row == 9
    assert ws.cell(row=2, column=2).value == "手机号码"
    assert ws.cell(row=3, column=5).value == "=1+1" and ws.cell(row=3, column=5).data_type == "s"
    ws2 = wb["与第三方共享个人信息清单"]
    assert [c.value for c in ws2[1]][:3] == ["第三方名称", "第三方主体", "共享的个人信息"]
    assert ws2.freeze_panes == "A2" and ws2.max_row == 4
    assert ws2.cell(row=4, column=1).value == "顺丰同城"


def test_export_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        export(sample(), "pdf", tmp_path / "x.pdf")


# ------------------------------------------------------------------------------------------
# real headless Chromium


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright not installed (pip install playwright; no browser download needed)"
    return None


# Skips where Chromium or Playwright is missing, except under CI (CI=true), where the test runs and fails.
needs_browser = pytest.mark.skipif(_browser_missing() is not None and not os.environ.get("CI"),
                                   reason=str(_browser_missing()))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def served(site):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, url, *, js=True):
    ctx = browser.new_context(viewport={"width": 360, "height": 640}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, java_script_enabled=js, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.goto(url, wait_until="load")
    return ctx, page, errors


ROWS = len(sample().collected) + len(sample().shared)

_CONTRAST_JS = """() => {
  function rgb(s) { const m = s.match(/[\\d.]+/g).map(Number); \
return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
  function lum(c) { return [c.r, c.g, c.b].map(v => { v /= 255; \
return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
                     .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0); }
  function bg(el) { for (; el; el = el.parentElement) { \
const c = rgb(getComputedStyle(el).backgroundColor); if (c.a > 0.5) return c; }
                    return {r: 255, g: 255, b: 255, a: 1}; }
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement; \
if (!el || !el.getClientRects().length || el.closest('[hidden],script,style')) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) bad.push(n.textContent.trim().slice(0, 30) + ' ' + ratio.toFixed(2));
  }
  return bad;
}"""

_TARGETS_JS = """() => Array.from(document.querySelectorAll(\
'a[href],button,input,select,textarea,summary,[tabindex]'))
  .filter(e => e.getClientRects().length)
  .map(e => { const r = e.getBoundingClientRect(); \
return {what: e.outerHTML.slice(0, 80), w: r.width, h: r.height}; })"""


@needs_browser
@pytest.mark.parametrize("path", ["", "en/"])
def test_browser_mobile_layout(browser, served, path):
    ctx, page, errors = _open(browser, served + path)
    try:
        rows = page.locator("[data-row]")
        assert rows.count() == ROWS
        for i in range(ROWS):
            row = rows.nth(i)
            row.scroll_into_view_if_needed()
            assert row.is_visible()
            box = row.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert page.evaluate("document.body.scrollWidth") <= 360
        # every interactive element is a 48x48 touch target
        targets = page.evaluate(_TARGETS_JS)
        assert len(targets) >= 6  # language switch, nav cells, policy, search, links in cards, back to top
        small = [t for t in targets if t["w"] < 48 or t["h"] < 48]
        assert not small, small
        # text contrast >= 4.5:1 everywhere
        assert page.evaluate(_CONTRAST_JS) == []
        # headings: one h1, h2 per list
        assert page.locator("h1").count() == 1 and page.locator("h2").count() == 2
        # the search input has a label and is visible with JS
        assert page.get_by_label("搜索个人信息" if not path else "Search the lists").is_visible()
        # visible focus on keyboard navigation
        page.keyboard.press("Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert page.evaluate("document.activeElement.tagName") == "A" and outline != "none"
        page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
        ARTIFACTS.mkdir(exist_ok=True)
        name = "lists-360x640.png" if not path else "lists-360x640-en.png"
        page.screenshot(path=str(ARTIFACTS / name))
        page.screenshot(path=str(ARTIFACTS / name.replace(".png", "-full.png")), full_page=True)
        if not path:
            import os

            if not DOCS_IMAGE.exists() or os.environ.get("QINGDAN_UPDATE_DOCS_IMAGES"):
                DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ARTIFACTS / name, DOCS_IMAGE)
        assert errors == []
    finally:
        ctx.close()


@needs_browser
def test_browser_search(browser, served):
    ctx, page, errors = _open(browser, served)
    try:
        box = page.get_by_label("搜索个人信息")
        visible = page.locator("[data-row]:visible")
        assert visible.count() == ROWS
        box.fill("精确位置")  # two collected rows + the AMap SDK share
        assert visible.count() == 3
        assert page.locator("#search-status").inner_text() == "找到 3 条"
        # groups without matches are hidden; matching ones stay
        assert page.locator("#cat-basic_profile").is_hidden() and page.locator("#cat-location").is_visible()
        box.fill("GPS")  # a synonym / English name on the Chinese page
        assert visible.count() == 3
        box.fill("极光")  # an SDK: the row it collects and its share
        assert visible.count() == 2
        box.fill("没有这种信息")
        assert visible.count() == 0
        assert page.locator("#search-status").inner_text() == "没有找到匹配的条目"
        box.fill("")
        assert visible.count() == ROWS
        assert errors == []
    finally:
        ctx.close()


@needs_browser
@pytest.mark.parametrize("path", ["", "en/"])
def test_browser_without_javascript(browser, served, path):
    ctx, page, errors = _open(browser, served + path, js=False)
    try:
        rows = page.locator("[data-row]")
        assert rows.count() == ROWS
        for i in range(ROWS):
            assert rows.nth(i).is_visible()
        assert page.locator("#search").is_hidden() and page.locator("#q").is_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert errors == []
    finally:
        ctx.close()
