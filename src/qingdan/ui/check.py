"""Splash screens and popups from UI dumps: "找得到、关得了", no full-screen jump areas, no shake prompts.

Each finding names the element, its bounds, the measured value, the threshold and the threshold's
source. Every number the checks use is in :data:`THRESHOLDS`, with where it comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from qingdan.checks.findings import Finding, rule, run_stage, stage_rules
from qingdan.checks.sdks import APP
from qingdan.knowledge.rules import Rule
from qingdan.ui.model import Box, Node, ScreenFacts
from qingdan.ui.read import MAX_DUMP_BYTES, UiError


@dataclass(frozen=True, slots=True)
class Threshold:
    value: float
    unit: str
    source: str


THRESHOLDS: dict[str, Threshold] = {
    "min_touch_dp": Threshold(48, "dp",
                              "Android accessibility guidance and Material Design: touch targets at least "
                              "48×48 dp; qingdan's measure of 524 一、（四） '关得了'"),
    "min_contrast": Threshold(3.0, ":1",
                              "WCAG 2.1 SC 1.4.11 Non-text Contrast (3:1 for user-interface components); "
                              "qingdan's measure of 524 一、（四） '找得到'"),
    "contrast_percentile": Threshold(0.95, "quantile",
                                     "qingdan: the control's most distinct 5 % of pixels (its "
                                     "glyph or outline) against the median of a ring around it"),
    "contrast_ring_dp": Threshold(8, "dp", "qingdan: width of the ring sampled around the control"),
    "fullscreen_share": Threshold(0.70, "of the screen",
                                  "qingdan's reading of 整屏/全屏热区 (524 一、（四）; 〔2023〕26号 第4条), "
                                  "which give no number: clickable jump areas covering ≥ 70 %"),
    "corner_band_y": Threshold(0.20, "of the height",
                               "qingdan: the top and bottom fifth of the screen or popup, "
                               "where users look for close/skip controls"),
    "corner_band_x": Threshold(0.25, "of the width",
                               "qingdan: the left and right quarter of the screen or popup"),
    "adjacent_dp": Threshold(96, "dp", "qingdan: 'directly below or over the content' — horizontally centred "
                             "(middle third) and at most 96 dp beyond the popup's top or bottom edge"),
    "overlay_share": Threshold(0.50, "of the screen",
                               "qingdan: a dialog/popup/extra window covering at least half "
                               "the screen is treated as a popup"),
}

# Ad SDKs by the packages of their view classes and resource ids, and their resource-id prefixes
AD_SDKS = (("com.qq.e.", "tencent-gdt"), ("gdt_", "tencent-gdt"), ("com.bytedance.sdk.openadsdk", "pangle"),
           ("com.byted.pangle", "pangle"), ("tt_splash", "pangle"), ("com.kwad", "kuaishou-ads"),
           ("ksad_", "kuaishou-ads"), ("com.baidu.mobads", "baidu-mobads"), ("com.sigmob", "sigmob"))
CLOSE_TEXT = re.compile(r"跳过|关闭|skip|close|^\s*[×✕✖╳xX]\s*$", re.I)
CLOSE_TOKENS = {"skip", "close", "dismiss", "cancel", "closed", "guanbi", "tiaoguo"}
NOT_JUMP_TOKENS = CLOSE_TOKENS | {"mask", "scrim", "outside", "dim"}  # tap-outside-to-dismiss layers
COUNTDOWN = re.compile(r"\d+\s*(?:s|秒)(?![a-z])|秒后|跳过\s*\d+|\d+\s*跳过", re.I)
SHAKE = re.compile(r"摇一摇|摇动|晃动|晃一晃|扭一扭|扭动|转动|滑动|上滑|划一划|shake|twist", re.I)
POPUP_TOKENS = {"dialog", "popup", "popupwindow", "interstitial", "overlay", "mask", "alert"}
SPLASH_TOKENS = {"splash", "launch", "kaiping"}
AD_TOKENS = {"ad", "ads", "advert", "advertisement", "guanggao"}
AD_LABEL = re.compile(r"ad_?(logo|flag|label|tag|mark|sign)", re.I)


def tokens(name: str) -> set[str]:
    parts = re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name)
    return {p.lower() for p in parts if p}


def _thr(key: str) -> dict:
    t = THRESHOLDS[key]
    return {"threshold": t.value, "unit": t.unit, "source": t.source}


@dataclass(slots=True)
class Recognition:
    kind: str | None = None  # "splash", "popup" or None
    ad: bool = False
    owner: str = APP
    reasons: list[str] = field(default_factory=list)
    container: Node | None = None


def _ad_sdk(n: Node) -> str | None:
    for hay in (n.cls, n.rid, n.rid_name):
        for prefix, sdk in AD_SDKS:
            if hay.startswith(prefix):
                return sdk
    return None


def recognise(s: ScreenFacts) -> Recognition:
    rec = Recognition()
    splash = popup = False
    containers: list[Node] = []
    if s.activity and tokens(s.activity.rsplit(".", 1)[-1]) & (SPLASH_TOKENS | {"interstitial"}):
        splash = True
        rec.reasons.append(f"activity {s.activity}")
    tops = [n for n in s.nodes if n.parent is None]
    for n in s.nodes:
        if not n.visible or n.area == 0:
            continue
        toks = tokens(n.rid_name) | tokens(n.cls.rsplit(".", 1)[-1])
        sdk = _ad_sdk(n)
        if sdk:
            rec.ad = True
            if rec.owner == APP:
                rec.owner = sdk
                rec.reasons.append(f"ad SDK view {n.rid or n.cls} ({sdk})")
        if toks & SPLASH_TOKENS:
            splash = True
            containers.append(n)
            if len(rec.reasons) < 8:
                rec.reasons.append(f"splash view {n.rid or n.cls}")
        if toks & AD_TOKENS:
            rec.ad = True
            containers.append(n)
            if len(rec.reasons) < 8:
                rec.reasons.append(f"ad view {n.rid or n.cls}")
        if ((toks & POPUP_TOKENS or n.cls == "android.app.Dialog")
                and n.area >= THRESHOLDS["overlay_share"].value * s.area):
            popup = True
            containers.append(n)
            rec.reasons.append(f"popup view {n.rid or n.cls} covering {n.area / s.area:.0%} of the screen")
        elif toks & POPUP_TOKENS or n.cls == "android.app.Dialog":
            popup = True
            containers.append(n)
            rec.reasons.append(f"popup view {n.rid or n.cls}")
        text = f"{n.text} {n.desc}"
        if "跳过" in text:
            splash = True
            rec.reasons.append(f'skip text "{n.text or n.desc}"')
        elif COUNTDOWN.search(n.text):
            rec.reasons.append(f'countdown text "{n.text}"')
            splash = True
        if "广告" in text:
            rec.ad = True
            rec.reasons.append(f'ad text "{(n.text or n.desc)[:20]}"')
    for t in tops[1:]:  # a further window over the first one
        if t.area >= THRESHOLDS["overlay_share"].value * s.area:
            popup = True
            containers.append(t)
            rec.reasons.append(f"an overlay window {t.label()} covering {t.area / s.area:.0%} of the screen")
    if splash or popup or rec.ad:
        rec.kind = "splash" if splash else "popup"
    if containers:
        rec.container = max(containers, key=lambda n: n.area)
    rec.reasons = list(dict.fromkeys(rec.reasons))
    return rec


def _is_close(n: Node) -> bool:
    return bool(CLOSE_TEXT.search(n.text) or CLOSE_TEXT.search(n.desc) or tokens(n.rid_name) & CLOSE_TOKENS)


def close_controls(s: ScreenFacts) -> list[Node]:
    """The touch targets of the close/skip controls, best first (clickable, then larger)."""
    targets: dict[int, Node] = {}
    for n in s.nodes:
        if not n.visible or n.area == 0 or not _is_close(n):
            continue
        t = n
        if not n.clickable:
            t = next((a for a in s.ancestors(n) if a.clickable and a.area < 0.25 * s.area), n)
        targets[t.index] = t
    return sorted(targets.values(), key=lambda t: (not t.clickable, -t.area, t.index))


def _texts(s: ScreenFacts, n: Node) -> list[str]:
    return [x for m in [n, *s.descendants(n)] for x in (m.text.strip(), m.desc.strip()) if x]


def _in_corner(b: Box, area: Box) -> bool:
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    w, h = area[2] - area[0], area[3] - area[1]
    if w <= 0 or h <= 0:
        return False
    bx, by = THRESHOLDS["corner_band_x"].value, THRESHOLDS["corner_band_y"].value
    in_x = cx <= area[0] + bx * w or cx >= area[2] - bx * w
    in_y = cy <= area[1] + by * h or cy >= area[3] - by * h
    return in_x and in_y


def _adjacent(b: Box, area: Box, gap_px: float) -> bool:
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    w = area[2] - area[0]
    if not area[0] + w / 3 <= cx <= area[2] - w / 3:
        return False
    return area[3] - 0.15 * (area[3] - area[1]) <= cy <= area[3] + gap_px or \
        area[1] - gap_px <= cy <= area[1] + 0.15 * (area[3] - area[1])


def clickable_share(s: ScreenFacts, exclude: set[int]) -> tuple[float, list[Node]]:
    """The share of the screen covered by clickable jump areas (a raster of at most ~200k cells)."""
    jump = [n for n in s.nodes if n.clickable and n.visible and n.area and n.index not in exclude
            and not tokens(n.rid_name) & NOT_JUMP_TOKENS]
    if not jump:
        return 0.0, []
    scale = max(1, int((s.width * s.height / 200_000) ** 0.5) + 1)
    cols, rows = -(-s.width // scale), -(-s.height // scale)
    grid = [bytearray(cols) for _ in range(rows)]
    ones = b"\x01" * cols
    for n in jump:
        x1, y1 = max(0, n.bounds[0] // scale), max(0, n.bounds[1] // scale)
        x2, y2 = min(cols, -(-n.bounds[2] // scale)), min(rows, -(-n.bounds[3] // scale))
        for y in range(y1, y2):
            grid[y][x1:x2] = ones[: max(0, x2 - x1)]
    covered = sum(row.count(1) for row in grid)
    return covered / (cols * rows), sorted(jump, key=lambda n: -n.area)


# -- contrast -------------------------------------------------------------------------------------


def _lum(rgb: tuple[int, int, int]) -> float:
    def ch(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb[:3]
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)


def _ratio(a: float, b: float) -> float:
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


def load_screenshot(path: str | Path):
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        if p.stat().st_size > MAX_DUMP_BYTES:
            raise UiError(f"screenshot over the {MAX_DUMP_BYTES >> 20} MiB limit")
        im = Image.open(p)
        if im.width * im.height > 40_000_000:
            raise UiError(f"screenshot of {im.width}×{im.height} pixels is too large")
        return im.convert("RGB")
    except UnidentifiedImageError:
        raise UiError("not an image Pillow can read") from None
    except OSError as exc:
        raise UiError(exc.strerror or str(exc)) from None


def control_contrast(im, s: ScreenFacts, b: Box) -> float | None:
    """Contrast of the control's most distinct pixels against the median of a ring around it."""
    sx, sy = im.width / s.width, im.height / s.height
    box = (int(b[0] * sx), int(b[1] * sy), int(b[2] * sx), int(b[3] * sy))
    ring = max(2, int(THRESHOLDS["contrast_ring_dp"].value * s.density * sx))
    outer = (max(0, box[0] - ring), max(0, box[1] - ring), min(im.width, box[2] + ring),
             min(im.height, box[3] + ring))
    if box[2] - box[0] < 1 or box[3] - box[1] < 1:
        return None
    region = im.crop(outer)
    step = max(1, int(max(region.width, region.height) / 300))
    inner, around = [], []
    px = region.load()
    for y in range(0, region.height, step):
        for x in range(0, region.width, step):
            gx, gy = x + outer[0], y + outer[1]
            lum = _lum(px[x, y])
            (inner if box[0] <= gx < box[2] and box[1] <= gy < box[3] else around).append(lum)
    if not inner or not around:
        return None
    around.sort()
    bg = around[len(around) // 2]
    ratios = sorted(_ratio(v, bg) for v in inner)
    return ratios[min(len(ratios) - 1, int(THRESHOLDS["contrast_percentile"].value * len(ratios)))]


# -- the checks -----------------------------------------------------------------------------------


@dataclass(slots=True)
class ScreenContext:
    s: ScreenFacts
    screenshot: object  # a Pillow RGB image of the same screen, or None
    rec: Recognition
    closes: list[Node]  # the close/skip controls, best first

    @property
    def close(self) -> Node | None:
        return self.closes[0] if self.closes else None

    @property
    def what_zh(self) -> str:
        return "开屏" if self.rec.kind == "splash" else "弹窗"


def check_screen(s: ScreenFacts, screenshot=None) -> tuple[Recognition, list[Finding]]:
    """All ``ui.*`` rules on one screen; ``screenshot``: a Pillow RGB image of the same screen."""
    rec = recognise(s)
    if rec.kind is None:
        return rec, []
    return rec, run_stage("ui", ScreenContext(s, screenshot, rec, close_controls(s)))


@rule("ui.splash-or-popup")
def _splash_or_popup(r: Rule, ctx: ScreenContext) -> list[Finding]:
    s, rec = ctx.s, ctx.rec
    return [Finding.of(r, rec.owner,
                       f"识别为{ctx.what_zh}{'广告' if rec.ad else ''}：{'；'.join(rec.reasons[:4])}",
                       f"recognised as a {rec.kind}{' ad' if rec.ad else ''}: {'; '.join(rec.reasons[:4])}",
                       kind=rec.kind, ad=rec.ad, reasons=rec.reasons,
                       bounds=list(rec.container.bounds) if rec.container else [0, 0, s.width, s.height])]


@rule("ui.no-close")
def _no_close(r: Rule, ctx: ScreenContext) -> list[Finding]:
    if ctx.closes:
        return []
    s = ctx.s
    return [Finding.of(r, ctx.rec.owner, f"{ctx.what_zh}中找不到关闭/跳过按钮",
                       f"no close or skip control on the {ctx.rec.kind}",
                       element=None, bounds=[0, 0, s.width, s.height], measured=0, threshold=1,
                       source="524 一、（四）: every splash screen and popup needs a close button users can "
                       "find and use")]


@rule("ui.close-too-small")
def _close_too_small(r: Rule, ctx: ScreenContext) -> list[Finding]:
    s, close = ctx.s, ctx.close
    if close is None:
        return []
    el = close.label()
    w_dp, h_dp = s.dp(close.width), s.dp(close.height)
    t = THRESHOLDS["min_touch_dp"]
    if min(w_dp, h_dp) >= t.value:
        return []
    return [Finding.of(r, ctx.rec.owner,
                       f"关闭/跳过按钮 {el} 仅 {w_dp:.0f}×{h_dp:.0f} dp（{close.width}×{close.height} px，"
                       f"密度 {s.density}），小于 {t.value:.0f}×{t.value:.0f} dp",
                       f"close/skip control {el} is {w_dp:.1f}×{h_dp:.1f} dp "
                       f"({close.width}×{close.height} px at density {s.density}), "
                       f"below {t.value:.0f}×{t.value:.0f} dp",
                       element=el, bounds=list(close.bounds),
                       measured={"width_dp": round(w_dp, 1), "height_dp": round(h_dp, 1),
                                 "width_px": close.width, "height_px": close.height},
                       density=s.density, density_note=s.density_note, **_thr("min_touch_dp"))]


@rule("ui.close-position")
def _close_position(r: Rule, ctx: ScreenContext) -> list[Finding]:
    s, rec, close = ctx.s, ctx.rec, ctx.close
    if close is None:
        return []
    b, el = close.bounds, close.label()
    screen: Box = (0, 0, s.width, s.height)
    cont = rec.container.bounds if rec.container else screen
    gap = THRESHOLDS["adjacent_dp"].value * s.density
    if _in_corner(b, screen) or _in_corner(b, cont) or _adjacent(b, cont, gap):
        return []
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return [Finding.of(r, rec.owner,
                       f"关闭/跳过按钮 {el} 位于非常见位置（中心 {cx / s.width:.0%}, {cy / s.height:.0%}），"
                       "不在角落区域，也不紧贴内容上方/下方",
                       f"close/skip control {el} sits in an unusual place (centre at {cx / s.width:.0%} "
                       f"across, {cy / s.height:.0%} down): neither in a corner band nor directly "
                       "above/below the content",
                       element=el, bounds=list(b), measured={"centre_x": round(cx / s.width, 3),
                                                             "centre_y": round(cy / s.height, 3)},
                       container=list(cont), threshold={"corner_band_x": THRESHOLDS["corner_band_x"].value,
                                                        "corner_band_y": THRESHOLDS["corner_band_y"].value,
                                                        "adjacent_dp": THRESHOLDS["adjacent_dp"].value},
                       source="; ".join(THRESHOLDS[k].source for k in ("corner_band_y", "corner_band_x",
                                                                       "adjacent_dp")))]


@rule("ui.close-contrast")
def _close_contrast(r: Rule, ctx: ScreenContext) -> list[Finding]:
    close = ctx.close
    if close is None or ctx.screenshot is None:
        return []
    b, el = close.bounds, close.label()
    c = control_contrast(ctx.screenshot, ctx.s, b)
    if c is None or c >= THRESHOLDS["min_contrast"].value:
        return []
    return [Finding.of(r, ctx.rec.owner,
                       f"关闭/跳过按钮 {el} 与周围的对比度仅 {c:.2f}:1，低于 3:1",
                       f"close/skip control {el} has a contrast of {c:.2f}:1 against its surroundings, "
                       "below 3:1",
                       element=el, bounds=list(b), measured=round(c, 2), **_thr("min_contrast"))]


@rule("ui.close-countdown")
def _close_countdown(r: Rule, ctx: ScreenContext) -> list[Finding]:
    s, close, own = ctx.s, ctx.close, ctx.rec.owner
    if close is not None:
        el = close.label()
        cd = next((x for x in _texts(s, close) if COUNTDOWN.search(x)), None)
        if not cd:
            return []
        return [Finding.of(r, own,
                           f"关闭/跳过按钮 {el} 显示倒计时“{cd}”：可能须等倒计时结束才能关闭（请点按确认）",
                           f'close/skip control {el} shows a countdown "{cd}": it may only close once the '
                           "countdown ends (a dump cannot tell; tap it to confirm)",
                           element=el, bounds=list(close.bounds), measured=cd, threshold="closable at once",
                           source="《互联网广告管理办法》第十条: one-click close, "
                                  "no waiting for a countdown")]
    cd_node = next((n for n in s.nodes if n.visible and COUNTDOWN.search(n.text) and "秒后" in n.text), None)
    if cd_node is None:
        return []
    return [Finding.of(r, own, f"倒计时“{cd_node.text}”结束前没有关闭按钮",
                       f'no close control before the countdown "{cd_node.text}" ends',
                       element=cd_node.label(), bounds=list(cd_node.bounds), measured=cd_node.text,
                       threshold="closable at once", source="《互联网广告管理办法》第十条")]


@rule("ui.close-icon-only")
def _close_icon_only(r: Rule, ctx: ScreenContext) -> list[Finding]:
    close = ctx.close
    if close is None or _texts(ctx.s, close):
        return []
    el = close.label()
    return [Finding.of(r, ctx.rec.owner,
                       f"关闭/跳过按钮 {el} 只有图标，没有文字或无障碍描述（content-desc）",
                       f"close/skip control {el} is an icon only, with no text or content-desc",
                       element=el, bounds=list(close.bounds), measured="no text, no content-desc",
                       threshold="text or content-desc",
                       source="524 一、（四） '找得到'; Android accessibility: label every control "
                       "(contentDescription)")]


@rule("ui.fullscreen-jump")
def _fullscreen_jump(r: Rule, ctx: ScreenContext) -> list[Finding]:
    s = ctx.s
    if not any(n.clickable for n in s.nodes):
        return []
    share, jump = clickable_share(s, {c.index for c in ctx.closes})
    t = THRESHOLDS["fullscreen_share"]
    if share < t.value:
        return []
    big = jump[0]
    return [Finding.of(r, ctx.rec.owner,
                       f"可点击跳转区域覆盖屏幕的 {share:.0%}（≥ {t.value:.0%}），最大为 {big.label()}",
                       f"clickable jump areas cover {share:.1%} of the screen (≥ {t.value:.0%}); "
                       f"the largest is {big.label()}",
                       element=big.label(), bounds=list(big.bounds), measured=round(share, 3),
                       areas=[n.label() for n in jump[:5]], **_thr("fullscreen_share"))]


@rule("ui.shake-prompt")
def _shake_prompt(r: Rule, ctx: ScreenContext) -> list[Finding]:
    out: list[Finding] = []
    for n in ctx.s.nodes:
        text = n.text or n.desc
        m = SHAKE.search(text) if n.visible else None
        if m:
            out.append(Finding.of(r, ctx.rec.owner,
                                  f"“{text[:40]}”：以{m.group(0)}等动作触发跳转（灵敏度须在真机上测试）",
                                  f'"{text[:40]}": a {m.group(0)} gesture triggers a jump '
                                  "(test its sensitivity on a device)",
                                  element=n.label(), bounds=list(n.bounds), measured=m.group(0),
                                  threshold="no shake/twist/swipe jump prompts",
                                  source="〔2023〕26号 第4条: no over-sensitive shake-to-jump; T/TAF 078.7"))
    return out


@rule("ui.ad-unlabelled")
def _ad_unlabelled(r: Rule, ctx: ScreenContext) -> list[Finding]:
    s, rec = ctx.s, ctx.rec
    if not rec.ad:
        return []
    if any("广告" in (n.text + n.desc) or AD_LABEL.search(n.rid_name) for n in s.nodes if n.visible
           and n.area):
        return []
    return [Finding.of(r, rec.owner, f"{ctx.what_zh}广告没有“广告”标识",
                       f'the {rec.kind} ad carries no "广告" label',
                       element=None,
                       bounds=list(rec.container.bounds) if rec.container else [0, 0, s.width, s.height],
                       measured="no 广告 text, content-desc or ad-logo view",
                       threshold='a visible "广告" label',
                       source="《互联网广告管理办法》第九条、第十条")]


UI_RULES = stage_rules("ui")
