"""UI dumps: every ui.* rule with a failing and a passing dump, the real Coolapk splash in both forms,
bad input, the HTML picture."""

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from qingdan.ui import UiError, check_screen, read_dump
from qingdan.ui.read import estimate_density
from tests.conftest import cli

SHARED_UI = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "ui"
needs_ui = pytest.mark.skipif(not SHARED_UI.is_dir(), reason=f"shared UI corpus not found at {SHARED_UI}")
W, H = 1080, 2340  # density 2.625 estimated; tests pass --density 3.0 where it matters


def node(bounds, cls="android.widget.FrameLayout", rid="", text="", desc="", clickable=False, kids=()):
    x1, y1, x2, y2 = bounds
    inner = "".join(kids)
    return (f"<node text={quoteattr(text)} resource-id={quoteattr(rid)} class={quoteattr(cls)} "
            "package=\"com.ex\" "
            f"content-desc={quoteattr(desc)} clickable=\"{str(clickable).lower()}\" "
            f"bounds=\"[{x1},{y1}][{x2},{y2}]\">"
            f"{inner}</node>")


def dump(tmp_path, *kids, name="d.xml"):
    p = tmp_path / name
    p.write_text("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\">"
                 + node((0, 0, W, H), kids=kids) + "</hierarchy>", "utf-8")
    return p


SKIP_OK = node((900, 120, 1050, 270), "android.widget.TextView", "com.ex:id/skip", "跳过", clickable=True)
SPLASH = node((0, 0, W, 1900), rid="com.ex:id/splash_container")
AD_LABEL = node((40, 1800, 160, 1850), "android.widget.TextView", text="广告")


def rules_of(path, density=3.0, shot=None):
    _, fs = check_screen(read_dump(path, density), shot)
    return {f.rule_id: f for f in fs}


def test_good_splash_has_only_the_recognition(tmp_path):
    got = rules_of(dump(tmp_path, SPLASH, SKIP_OK, AD_LABEL))
    assert set(got) == {"ui.splash-or-popup"}
    assert got["ui.splash-or-popup"].evidence["kind"] == "splash"


def test_plain_screen_is_not_judged(tmp_path):
    assert rules_of(dump(tmp_path, node((0, 0, W, 200), "android.widget.TextView", text="设置"))) == {}


def test_no_close(tmp_path):
    got = rules_of(dump(tmp_path, SPLASH, AD_LABEL))
    assert got["ui.no-close"].severity == "block"
    assert "ui.no-close" not in rules_of(dump(tmp_path, SPLASH, SKIP_OK, AD_LABEL))


def test_close_too_small_reports_dp(tmp_path):
    small = node((990, 120, 1050, 180), "android.widget.ImageView", "com.ex:id/iv_close", desc="关闭",
                 clickable=True)
    f = rules_of(dump(tmp_path, SPLASH, small, AD_LABEL))["ui.close-too-small"]
    assert (f.severity == "block" and f.evidence["measured"]["width_dp"] == 20.0
            and f.evidence["threshold"] == 48)
    assert "20.0×20.0 dp" in f.message_en and f.evidence["source"]
    assert "ui.close-too-small" not in rules_of(dump(tmp_path, SPLASH, SKIP_OK, AD_LABEL))


def test_close_target_is_the_clickable_parent(tmp_path):
    # a small "×" glyph inside a 60 dp clickable wrapper: the wrapper is the touch target
    wrap = node((870, 100, 1050, 280), rid="com.ex:id/btn_wrap", clickable=True,
                kids=[node((940, 170, 980, 210), "android.widget.TextView", text="×")])
    assert "ui.close-too-small" not in rules_of(dump(tmp_path, SPLASH, wrap, AD_LABEL))


def test_close_position(tmp_path):
    middle = node((465, 1000, 615, 1150), "android.widget.TextView", "com.ex:id/skip", "跳过", clickable=True)
    f = rules_of(dump(tmp_path, SPLASH, middle, AD_LABEL))["ui.close-position"]
    assert f.severity == "warn" and f.evidence["measured"]["centre_y"] == pytest.approx(0.459, abs=0.01)
    # centred right below a popup card is a usual place
    card = node((140, 700, 940, 1500), rid="com.ex:id/dialog_card")
    below = node((465, 1560, 615, 1710), "android.widget.ImageView", "com.ex:id/iv_close", desc="关闭",
                 clickable=True)
    got = rules_of(dump(tmp_path, card, below, AD_LABEL))
    assert "ui.splash-or-popup" in got and "ui.close-position" not in got


def test_close_countdown(tmp_path):
    timed = node((900, 120, 1050, 270), "android.widget.TextView", "com.ex:id/skip", "跳过 3", clickable=True)
    f = rules_of(dump(tmp_path, SPLASH, timed, AD_LABEL))["ui.close-countdown"]
    assert f.evidence["measured"] == "跳过 3"
    only_note = node((700, 120, 1050, 200), "android.widget.TextView", text="5秒后可关闭")
    assert "ui.close-countdown" in rules_of(dump(tmp_path, SPLASH, only_note, AD_LABEL))
    assert "ui.close-countdown" not in rules_of(dump(tmp_path, SPLASH, SKIP_OK, AD_LABEL))


def test_close_icon_only(tmp_path):
    icon = node((900, 120, 1050, 270), "android.widget.ImageView", "com.ex:id/iv_close", clickable=True)
    assert rules_of(dump(tmp_path, SPLASH, icon, AD_LABEL))["ui.close-icon-only"].severity == "warn"
    labelled = node((900, 120, 1050, 270), "android.widget.ImageView", "com.ex:id/iv_close", desc="关闭",
                    clickable=True)
    assert "ui.close-icon-only" not in rules_of(dump(tmp_path, SPLASH, labelled, AD_LABEL))


def test_fullscreen_jump_reports_share(tmp_path):
    whole = node((0, 0, W, 1900), "android.widget.ImageView", clickable=True)
    f = rules_of(dump(tmp_path, SPLASH, whole, SKIP_OK, AD_LABEL))["ui.fullscreen-jump"]
    assert f.severity == "block" and f.evidence["measured"] == pytest.approx(1900 / H, abs=0.01)
    assert f.evidence["threshold"] == 0.7 and "no number" in f.evidence["source"]
    button = node((240, 1600, 840, 1760), "android.widget.Button", text="查看详情", clickable=True)
    assert "ui.fullscreen-jump" not in rules_of(dump(tmp_path, SPLASH, button, SKIP_OK, AD_LABEL))


def test_shake_prompt(tmp_path):
    shake = node((200, 1500, 880, 1560), "android.widget.TextView", text="摇一摇跳转详情页")
    f = rules_of(dump(tmp_path, SPLASH, shake, SKIP_OK, AD_LABEL))["ui.shake-prompt"]
    assert f.evidence["measured"] == "摇一摇"
    plain = node((200, 1500, 880, 1560), "android.widget.TextView", text="点击按钮查看详情")
    assert "ui.shake-prompt" not in rules_of(dump(tmp_path, SPLASH, plain, SKIP_OK, AD_LABEL))


def test_ad_unlabelled(tmp_path):
    ad = node((0, 0, W, 1900), rid="com.ex:id/ad_container")
    assert rules_of(dump(tmp_path, ad, SKIP_OK))["ui.ad-unlabelled"].severity == "warn"
    assert "ui.ad-unlabelled" not in rules_of(dump(tmp_path, ad, SKIP_OK, AD_LABEL))
    logo = node((40, 1800, 160, 1850), "android.widget.ImageView", "com.ex:id/tt_ad_logo")
    assert "ui.ad-unlabelled" not in rules_of(dump(tmp_path, ad, SKIP_OK, logo))


def test_close_contrast_with_screenshot(tmp_path):
    from PIL import Image, ImageDraw

    p = dump(tmp_path, SPLASH, SKIP_OK, AD_LABEL)
    faint = Image.new("RGB", (W, H), (200, 200, 200))
    ImageDraw.Draw(faint).rectangle((900, 120, 1049, 269), fill=(185, 185, 185))
    f = rules_of(p, shot=faint)["ui.close-contrast"]
    assert f.evidence["measured"] < 3 and f.evidence["threshold"] == 3.0
    clear = Image.new("RGB", (W, H), (200, 200, 200))
    ImageDraw.Draw(clear).rectangle((900, 120, 1049, 269), fill=(20, 20, 20))
    assert "ui.close-contrast" not in rules_of(p, shot=clear)
    assert "ui.close-contrast" not in rules_of(p)  # never judged without a screenshot


def test_density_estimate():
    assert estimate_density(1440, 3088)[0] == 3.5
    assert estimate_density(1080, 2340)[0] == 2.625
    assert estimate_density(720, 1280)[0] == 2.0
    assert "estimated" in estimate_density(1440, 3088)[1]


# -- the real Coolapk splash (a Pangle splash ad), GKD snapshot and its uiautomator conversion -----


@needs_ui
@pytest.mark.parametrize("name", ["coolapk_splash_snapshot-1698990932472.json",
                                  "coolapk_splash_DERIVED_uiautomator.xml"])
def test_coolapk_splash(name):
    s = read_dump(SHARED_UI / name)
    assert (s.width, s.height, s.density) == (1440, 3088, 3.5) and "estimated" in s.density_note
    rec, fs = check_screen(s)
    by = {}
    for f in fs:
        by.setdefault(f.rule_id, []).append(f)
    assert rec.kind == "splash" and rec.ad and rec.owner == "pangle"
    (small,) = by["ui.close-too-small"]
    assert small.evidence["measured"] == {"width_dp": 42.9, "height_dp": 42.9, "width_px": 150,
                                          "height_px": 150}
    assert "tt_splash_skip_btn" in small.evidence["element"]
    assert "ui.close-icon-only" in by
    assert {f.evidence["measured"] for f in by["ui.shake-prompt"]} == {"摇一摇", "滑动"}
    # the skip sits in the top-right corner; the Pangle ad logo labels the ad; no countdown text
    assert not {"ui.no-close", "ui.close-position", "ui.close-countdown", "ui.ad-unlabelled"} & set(by)
    if name.endswith(".json"):
        (fj,) = by["ui.fullscreen-jump"]  # the clickable root of the ad creative, 1440×2560 of 1440×3088
        assert fj.evidence["measured"] == pytest.approx(2560 / 3088, abs=0.01)
        assert s.activity == "com.coolapk.market.view.splash.SplashActivity"
    else:
        # the conversion dropped every clickable flag: the jump area cannot be judged, and the output says so
        assert "ui.fullscreen-jump" not in by and any("clickable" in w for w in s.warnings)


@needs_ui
def test_coolapk_cli_json_html_and_exit_codes(tmp_path):
    src = SHARED_UI / "coolapk_splash_snapshot-1698990932472.json"
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    code, stdout, err = cli("ui", "check", str(src), "--json", str(out), "--html", str(page))
    assert code == 1, err  # block findings, --fail-on block by default
    assert "42.9×42.9 dp" in stdout and "estimated" in stdout
    rep = json.loads(out.read_text("utf-8"))
    assert rep["schema"] == "qingdan.ui-check/1" and rep["screens"][0]["density"] == 3.5
    html = page.read_text("utf-8")
    assert "Content-Security-Policy" in html and "script-src" not in html and "default-src 'none'" in html
    assert "<script" not in html and "ui.close-too-small" in html and "<svg" in html
    # --density changes the measure: at 3.0, 150 px is 50 dp, not too small
    code, stdout, _ = cli("ui", "check", str(src), "--density", "3.0", "--fail-on", "warn")
    assert "ui.close-too-small" not in stdout and code == 1


def test_cli_clean_screen_exits_0(tmp_path):
    p = dump(tmp_path, SPLASH, SKIP_OK, AD_LABEL)
    assert cli("ui", "check", str(p), "--density", "3")[0] == 0
    assert cli("ui", "check", str(p), "--fail-on", "info")[0] == 1
    code, _, err = cli("ui", "check", str(p), "--fail-on", "loud")
    assert code == 2 and err.startswith("error: --fail-on")


def test_cli_folder(tmp_path):
    dump(tmp_path, SPLASH, SKIP_OK, AD_LABEL, name="a.xml")
    dump(tmp_path, SPLASH, AD_LABEL, name="b.xml")
    code, stdout, _ = cli("ui", "check", str(tmp_path))
    assert code == 1 and "2 screen(s)" in stdout and "ui.no-close" in stdout


def test_html_escapes_dump_strings(tmp_path):
    evil = node((900, 120, 1050, 270), "android.widget.TextView", "com.ex:id/skip",
                "<script>alert(1)</script>跳过",
                clickable=True)
    p = dump(tmp_path, SPLASH, evil)
    page = tmp_path / "r.html"
    cli("ui", "check", str(p), "--html", str(page))
    html = page.read_text("utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html


BAD = [("truncated.xml", b"<hierarchy><node"),
       ("bomb.xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aa">]><hierarchy/>'),
       ("other.xml", b"<html></html>"), ("bounds.xml", b'<hierarchy><node bounds="[0,0][x,1]"/></hierarchy>'),
       ("broken.json", b'{"nodes": [1, 2'), ("shape.json", b'{"nodes": [{"attr": {"left": "a"}}]}'),
       ("empty.json", b"{}"), ("binary.json", b"\x00\x01\x02")]


@pytest.mark.parametrize("name,data", BAD, ids=[b[0] for b in BAD])
def test_malformed_input_is_one_line_exit_2(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(UiError):
        read_dump(p)
    code, _, err = cli("ui", "check", str(p))
    assert code == 2 and err.startswith(f"error: {p}: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_oversized_dump_is_refused(tmp_path):
    p = tmp_path / "big.xml"
    with p.open("wb") as fh:
        fh.truncate(21 << 20)
    code, _, err = cli("ui", "check", str(p))
    assert code == 2 and "limit" in err


def test_missing_file_and_bad_screenshot(tmp_path):
    code, _, err = cli("ui", "check", str(tmp_path / "nope.xml"))
    assert code == 2 and "no such file" in err
    p = dump(tmp_path, SPLASH, SKIP_OK)
    bad = tmp_path / "s.png"
    bad.write_bytes(b"not a png")
    code, _, err = cli("ui", "check", str(p), "--screenshot", str(bad))
    assert code == 2 and err.startswith(f"error: {bad}: ")
