"""The user's H5 page (zh-CN, mobile-first, no scripts, no external assets, everything escaped).

The page shows the data subject what was collected and shared; whether a record is missing from the
double lists is the operator's to fix and is shown to the operator (``GET /v1/summary``,
``qingdan ledger unlisted``, ``GET /v1/metrics``), never here."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

CN = timezone(timedelta(hours=8), "CST")

CSS = """
*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.6 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",\
sans-serif;
color:#1a1a1a;background:#f4f5f7;overflow-wrap:anywhere}
header{background:#1f5fbf;color:#fff;padding:16px}
header h1{margin:0;font-size:20px}header p{margin:4px 0 0;font-size:14px}
main{padding:12px;max-width:720px;margin:0 auto}
section{margin:16px 0}h2{font-size:17px;margin:0 0 8px}
form.period{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;background:#fff;padding:12px;\
border-radius:8px}
form.period label{display:flex;flex-direction:column;font-size:13px;flex:1 1 130px;min-width:0}
form.period input{min-height:44px;font:inherit;padding:4px 8px;border:1px solid #767676;border-radius:6px;\
width:100%}
button,.btn{min-height:48px;min-width:48px;padding:10px 16px;font:inherit;border:0;border-radius:6px;\
background:#1f5fbf;
color:#fff;text-decoration:none;display:inline-flex;align-items:center}
.links{display:flex;flex-wrap:wrap;gap:8px;margin-top:8px}\
.links a{color:#174a96;min-height:48px;display:inline-flex;align-items:center;padding:0 4px}
ul.rows{list-style:none;margin:0;padding:0}
li.row{background:#fff;border-radius:8px;padding:12px;margin:0 0 8px}
li.row h3{margin:0 0 4px;font-size:16px}
dl{margin:0;display:grid;grid-template-columns:5.5em 1fr;gap:2px 8px;font-size:14px}\
dt{color:#555}dd{margin:0;min-width:0}
.count{font-weight:700;color:#174a96}
.empty{background:#fff;border-radius:8px;padding:12px;color:#555}
footer{padding:16px;font-size:13px;color:#555;text-align:center}
a:focus,button:focus,input:focus{outline:3px solid #f0a000;outline-offset:2px}
"""
CSS_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode() + "'"
CSP = (f"default-src 'none'; style-src {CSS_HASH}; img-src 'none'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store",
                    "Referrer-Policy": "no-referrer",
                    "X-Content-Type-Options": "nosniff", "X-Robots-Tag": "noindex"}

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                   lstrip_blocks=True)

USER_PAGE = _env.from_string("""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>我的个人信息记录 · {{ app_name }}</title>
<style>{{ css }}</style></head>
<body>
<header><h1>我的个人信息记录</h1><p>{{ app_name }} 收集和共享您个人信息的记录</p></header>
<main>
<form class="period" method="get" action="">
<label for="from">开始日期<input id="from" name="from" type="date" value="{{ frm }}"></label>
<label for="to">结束日期<input id="to" name="to" type="date" value="{{ to }}"></label>
{% if reveal %}<input type="hidden" name="reveal" value="1">{% endif %}
<button type="submit">查询</button>
</form>
<p>{{ period_text }}</p>
<div class="links">
{% for label, href in quick %}<a href="{{ href }}">{{ label }}</a>{% endfor %}
</div>

<section aria-labelledby="h-collected"><h2 id="h-collected">已收集的个人信息（{{ collected|length }} 项）</h2>
{% if collected %}<ul class="rows">
{% for r in collected %}<li class="row" data-row="collected">
<h3>{{ r.pi }}</h3>
<dl>
<dt>使用目的</dt><dd>{{ r.purpose }}</dd>
{% if r.scenario %}<dt>使用场景</dt><dd>{{ r.scenario }}</dd>{% endif %}
<dt>收集方</dt><dd>{{ r.source }}</dd>
<dt>收集次数</dt><dd><span class="count" data-count>{{ r.count }}</span> 次</dd>
<dt>首次时间</dt><dd>{{ r.first }}</dd>
<dt>最近时间</dt><dd>{{ r.last }}</dd>
{% if r.value is not none %}<dt>内容</dt><dd data-value>{{ r.value }}</dd>{% endif %}
</dl>
</li>{% endfor %}
</ul>{% else %}<p class="empty">这一时段内没有收集记录。</p>{% endif %}
</section>

<section aria-labelledby="h-shared"><h2 id="h-shared">与第三方共享的个人信息（{{ shared|length }} 项）</h2>
{% if shared %}<ul class="rows">
{% for r in shared %}<li class="row" data-row="shared">
<h3>{{ r.source }}</h3>
<dl>
<dt>共享内容</dt><dd>{{ r.pi }}</dd>
<dt>共享目的</dt><dd>{{ r.purpose }}</dd>
{% if r.scenario %}<dt>共享场景</dt><dd>{{ r.scenario }}</dd>{% endif %}
<dt>共享次数</dt><dd><span class="count" data-count>{{ r.count }}</span> 次</dd>
<dt>首次时间</dt><dd>{{ r.first }}</dd>
<dt>最近时间</dt><dd>{{ r.last }}</dd>
{% if r.value is not none %}<dt>内容</dt><dd data-value>{{ r.value }}</dd>{% endif %}
</dl>
</li>{% endfor %}
</ul>{% else %}<p class="empty">这一时段内没有共享记录。</p>{% endif %}
</section>

<section aria-labelledby="h-more"><h2 id="h-more">更多</h2>
<div class="links">
{% if reveal %}<a href="{{ hide_href }}">隐藏完整内容</a>\
{% else %}<a href="{{ reveal_href }}">显示完整内容</a>{% endif %}
<a href="{{ export_json }}">下载我的数据（JSON）</a>
<a href="{{ export_csv }}">下载我的数据（CSV）</a>
</div>
<p>内容默认部分隐藏；时间为北京时间。此链接仅供您本人查看，{{ expires }} 前有效，请勿转发。</p>
</section>
</main>
<footer>{{ app_name }} · 个人信息记录由 qingdan 生成</footer>
</body></html>
""")

ERROR_PAGE = _env.from_string("""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ title }}</title><style>{{ css }}</style></head>
<body><header><h1>{{ title }}</h1></header>
<main><p class="empty">{{ message }}</p></main></body></html>
""")


def fmt_time(dt: datetime) -> str:
    try:
        return dt.astimezone(CN).strftime("%Y-%m-%d %H:%M")
    except OverflowError:  # a 9999-12-31 time stored before occurred_at was checked: shown in its own zone
        return dt.strftime("%Y-%m-%d %H:%M ") + (dt.tzname() or "UTC")


def render_user_page(**kw) -> str:
    return USER_PAGE.render(css=Markup(CSS), **kw)


def render_error(title: str, message: str) -> str:
    return ERROR_PAGE.render(css=Markup(CSS), title=title, message=message)


def query(**params) -> str:
    p = {k: v for k, v in params.items() if v not in (None, "", False)}
    return ("?" + urlencode(p)) if p else "?"
