"""Read a privacy policy file (plain text, HTML, or text inside ``<pre>``) into a :class:`PolicyDoc`.

Encoding: a BOM decides (UTF-8, UTF-16); otherwise strict UTF-8; otherwise GB18030 (a superset of
GBK and GB2312). HTML becomes text with one block element per line; a table row becomes one line
``cell | cell | cell`` so that a row stays one unit. Only the standard library's ``html.parser``.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from pathlib import Path

from qingdan.policy.model import Link, PolicyDoc, Sentence

MAX_POLICY_BYTES = 8 << 20


class PolicyError(ValueError):
    """The file cannot be read as a policy (the message is the one-line reason)."""


def decode(raw: bytes) -> tuple[str, str]:
    """Bytes → (text, encoding name)."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise PolicyError(f"bad {enc} text after the byte-order mark ({exc.reason})") from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise PolicyError("neither UTF-8 nor GB18030/GBK text") from None


_BLOCK = {"p", "div", "br", "li", "ul", "ol", "section", "article", "header", "footer", "main", "nav",
          "aside", "blockquote", "dl", "dt", "dd", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr",
          "pre", "form", "figure", "figcaption", "address", "body", "html", "caption", "thead", "tbody",
          "tfoot"}
_SKIP = {"script", "style", "head", "noscript", "template", "svg"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_WS = re.compile(r"[ \t\r\n\f\u00a0\u3000]+")


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[str, str]] = []  # (kind: text|heading|row, text)
        self.buf: list[str] = []
        self.skip = 0
        self.pre = 0
        self.heading = 0
        self.cells: list[str] | None = None  # the current row
        self.cell: list[str] | None = None
        self.rows: list[list[str]] = []
        self.tables: list[list[int]] = []
        self.table_depth = 0
        self.links: list[tuple[str, str, int]] = []
        self.href: str | None = None
        self.link_text: list[str] = []

    def flush(self) -> None:
        text = "".join(self.buf)
        self.buf = []
        if self.pre:
            for ln in text.split("\n"):
                if ln.strip():
                    self.lines.append(("text", ln.strip()))
            return
        text = _WS.sub(" ", text).strip()
        if text:
            self.lines.append(("heading" if self.heading else "text", text))

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "a":
            self.href = dict(attrs).get("href") or ""
            self.link_text = []
        if tag == "table":
            self.table_depth += 1
            if self.table_depth == 1:
                self.flush()
                self.tables.append([])
            return
        if self.table_depth:
            if tag == "tr" and self.table_depth == 1:
                self.cells = []
            elif tag in ("td", "th") and self.table_depth == 1:
                self.cell = []
            elif tag == "br" and self.cell is not None:
                self.cell.append(" ")
            return
        if tag in _BLOCK:
            self.flush()
        if tag == "pre":
            self.pre += 1
        if tag in _HEADINGS:
            self.heading += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img", "input", "meta", "link"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "a" and self.href is not None:
            self.links.append(("".join(self.link_text).strip(), self.href, len(self.lines) + 1))
            self.href = None
        if self.table_depth:
            if tag in ("td", "th") and self.cell is not None and self.table_depth == 1:
                if self.cells is not None:
                    self.cells.append(_WS.sub(" ", "".join(self.cell)).strip())
                self.cell = None
            elif tag == "tr" and self.table_depth == 1 and self.cells is not None:
                if any(self.cells):
                    self.tables[-1].append(len(self.rows))
                    self.rows.append(self.cells)
                    self.lines.append(("row", " | ".join(self.cells)))
                self.cells = None
            elif tag == "table":
                self.table_depth -= 1
            return
        if tag in _BLOCK:
            self.flush()
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _HEADINGS:
            self.heading = max(0, self.heading - 1)

    def handle_data(self, data):
        if self.skip:
            return
        if self.href is not None:
            self.link_text.append(data)
        if self.cell is not None:
            self.cell.append(data)
        elif self.table_depth:
            return
        else:
            self.buf.append(data)

    def close(self):
        super().close()
        self.flush()


_HTML_START = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype|html|head|body|div|p|pre|section|article|table|"
                         r"h[1-6]|meta)\b",
                         re.IGNORECASE | re.DOTALL)
# numbered or marked headings in plain text: 一、  （一）  1.  1、  第一条  **…**  # …  【…】
_TEXT_HEADING = re.compile(
    r"^(#{1,6}\s*\S|\*\*[^*]{1,40}\*\*$|【[^】]{1,30}】$|[一二三四五六七八九十]{1,3}[、.．]|"
    r"（[一二三四五六七八九十]{1,3}）|"
    r"\d{1,2}(\.\d{1,2})*[、.．\s]\s*\S|第[一二三四五六七八九十百]+[条章节])")
_TERMINAL = re.compile(r"(?<=[。！？!?])|(?<=\.)(?=\s)|(?<=\.)$")
_SEPARATOR = re.compile(r"^[=\-_*#~·.。 ]{3,}$")


def _is_heading(line: str) -> bool:
    s = line.strip()
    if len(s) > 40 or s.endswith(("。", "；", ";", "，", ",", "：", ":")):
        return False
    return bool(_TEXT_HEADING.match(s))


def _clean_heading(s: str) -> str:
    return s.strip().strip("*#【】 ").strip()


def split_sentences(lines: list[tuple[str, str]]) -> tuple[list[Sentence], list[Sentence]]:
    sentences: list[Sentence] = []
    headings: list[Sentence] = []
    heading: str | None = None
    for lineno, (kind, line) in enumerate(lines, 1):
        if kind == "row":
            sentences.append(Sentence(len(sentences), line, lineno, heading, is_row=True))
            continue
        if _SEPARATOR.match(line):
            continue
        if kind == "heading" or _is_heading(line):
            heading = _clean_heading(line)
            s = Sentence(len(sentences), line.strip(), lineno, heading, is_heading=True)
            sentences.append(s)
            headings.append(s)
            continue
        for part in _TERMINAL.split(line):
            part = part.strip()
            if part and not _SEPARATOR.match(part):
                sentences.append(Sentence(len(sentences), part, lineno, heading))
    return sentences, headings


def parse_policy_text(text: str, source: str = "<text>", encoding: str = "utf-8") -> PolicyDoc:
    """Text already decoded → PolicyDoc (HTML or plain text, decided by the first tag)."""
    if _HTML_START.match(text) or re.search(r"<(p|div|table|br)\b[^>]*>", text[:4096], re.IGNORECASE):
        parser = _Html()
        parser.feed(text)
        parser.close()
        lines = parser.lines
        kind = "pre" if re.search(r"<pre\b", text, re.IGNORECASE) and not parser.rows and \
            not re.search(r"<(p|li|h[1-6])\b", text, re.IGNORECASE) else "html"
        rows, tables = parser.rows, [t for t in parser.tables if t]
        links = [Link(t, h, ln) for t, h, ln in parser.links]
    else:
        lines = [("text", ln.strip()) for ln in text.splitlines() if ln.strip()]
        kind, rows, tables, links = "text", [], [], []
    sentences, headings = split_sentences(lines)
    out_text = "\n".join(t for _, t in lines)
    return PolicyDoc(source, out_text, encoding, kind, sentences, headings, links, rows, tables)


def read_policy(path: str | Path) -> PolicyDoc:
    """Read a policy file. Raises :class:`PolicyError` (bad content) or ``OSError``."""
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_POLICY_BYTES:
        raise PolicyError(f"too large for a policy ({size} bytes)")
    raw = p.read_bytes()
    return read_policy_bytes(raw, str(p))


def read_policy_bytes(raw: bytes, source: str) -> PolicyDoc:
    if not raw.strip():
        raise PolicyError("empty file")
    if b"\x00" in raw[:4096] and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise PolicyError("binary data, not a text or HTML policy")
    text, enc = decode(raw)
    doc = parse_policy_text(text, source, enc)
    if not doc.sentences:
        raise PolicyError("no text found")
    return doc
