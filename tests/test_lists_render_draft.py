"""`lists render` refuses lists with TODOs unless --draft, which stamps every page 草稿 (issue 16, 8)."""

import pytest

from qingdan.lists.declarations import parse_lists
from qingdan.lists.render import DraftError, render_site
from tests.conftest import cli
from tests.test_lists import GOOD

DONE = GOOD
WITH_TODO = DONE.replace("scenario: 登录时", 'scenario: "TODO"').replace(
    "operator: 示例科技有限公司", 'operator: "TODO"')


@pytest.mark.parametrize("fmt", ["html", "json", "csv", "xlsx"])
def test_render_refuses_todos_with_a_one_line_error(tmp_path, fmt):
    src = tmp_path / "privacy-lists.yaml"
    src.write_text(WITH_TODO, "utf-8")
    out = tmp_path / ("site" if fmt == "html" else f"l.{fmt}")
    code, stdout, err = cli("lists", "render", str(src), "-o", str(out), "-f", fmt)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {src}: 2 fields are still TODO")
    assert "--draft" in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "l.csv").exists()


def test_draft_stamps_every_page(tmp_path):
    src = tmp_path / "privacy-lists.yaml"
    src.write_text(WITH_TODO, "utf-8")
    code, stdout, err = cli("lists", "render", str(src), "-o", str(tmp_path / "site"), "--draft")
    assert code == 0, err
    pages = sorted((tmp_path / "site").rglob("*.html"))
    assert len(pages) == 2  # zh-CN and en
    for page in pages:
        html = page.read_text("utf-8")
        assert '<p class="draft-stamp" role="note"><strong>草稿' in html
        assert "<title>【草稿" in html and 'name="robots" content="noindex"' in html


def test_finished_lists_render_without_a_stamp(tmp_path):
    src = tmp_path / "privacy-lists.yaml"
    src.write_text(DONE, "utf-8")
    code, _, err = cli("lists", "render", str(src), "-o", str(tmp_path / "site"))
    assert code == 0, err
    assert "草稿" not in (tmp_path / "site" / "index.html").read_text("utf-8")


def test_render_site_itself_refuses_todos(tmp_path):
    with pytest.raises(DraftError, match="still TODO"):
        render_site(parse_lists(WITH_TODO), tmp_path / "site")
    assert not (tmp_path / "site").exists()
    assert render_site(parse_lists(WITH_TODO), tmp_path / "site", draft=True)
