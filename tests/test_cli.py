"""The koubei command as a user meets it: output, exit codes, no tracebacks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from koubei.pipelines.cli import main
from koubei.pipelines.replay import ReplayServer
from koubei.pipelines.sitegen import FakeArticle, FakePush, article_html, write_board
from koubei.pipelines.store import read_dataset

from .conftest import require_shared


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_parse_ptt_prints_post_and_comments(runner, tmp_path):
    page = tmp_path / "a.html"
    article = FakeArticle(
        "KoubeiTest",
        "M.1706745600.A.001",
        "alice",
        "A",
        "[心得] <script>alert(1)</script>",
        "內文",
        pushes=[FakePush("boo", "bob", "噓", datetime(2024, 2, 1, 1, 0, tzinfo=UTC))],
    )
    page.write_text(article_html(article), encoding="utf-8")
    result = runner.invoke(main, ["parse", "ptt", str(page)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["post"]["title"] == "[心得] <script>alert(1)</script>"  # text, unescaped once
    assert data["post"]["created_at"] == "2024-02-01T00:00:00+00:00"
    assert [(c["tag"], c["author_id"], c["content"]) for c in data["comments"]] == [("boo", "bob", "噓")]


@pytest.mark.shared
def test_parse_ptt_real_page_and_clear_errors(runner):
    ptt_dir = require_shared("fixtures", "ptt")
    ok = runner.invoke(main, ["parse", "ptt", str(ptt_dir / "ptt_Beauty_M.1499790734.A.833.html")])
    assert ok.exit_code == 0 and json.loads(ok.output)["post"]["push_count"] == 36
    for bad, message in (
        (ptt_dir / "ptt_Gossiping_M.1577579359.A.B76_404_deleted.html", "404"),
        (ptt_dir.parent / "mobile01" / "mobile01_hottopics_id1_rendered_2021-01-20.html", "not a PTT page"),
        (ptt_dir / "missing.html", "cannot read"),
    ):
        result = runner.invoke(main, ["parse", "ptt", str(bad)])
        assert result.exit_code == 1 and message in result.output
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    index = runner.invoke(
        main,
        [
            "parse",
            "ptt",
            str(ptt_dir / "ptt_Stock_index_latest_2025-05-03.html"),
            "--url",
            "https://www.ptt.cc/bbs/Stock/index.html",
        ],
    )
    assert index.exit_code == 0 and json.loads(index.output)["page"] == 8801


@pytest.mark.slow
def test_crawl_command_prints_closing_stats_line(runner, tmp_path):
    site = tmp_path / "site"
    write_board(
        site, "KoubeiTest", [FakeArticle("KoubeiTest", "M.1706745600.A.001", "alice", "A", "標題", "內文")]
    )
    with ReplayServer(site) as server:
        result = runner.invoke(
            main,
            [
                "crawl",
                "ptt",
                "--board",
                "KoubeiTest",
                "--since",
                "2024-01-01",
                "--out",
                str(tmp_path / "data"),
                "--base-url",
                server.base_url,
                "-s",
                "DOWNLOAD_DELAY=0",
                "-s",
                "AUTOTHROTTLE_ENABLED=False",
            ],
        )
    assert result.exit_code == 0, result.output
    assert (
        "ptt: finished — pages 3, posts 1, comments 0, stored new 1 / updated 0 / unchanged 0"
        in result.output
    )
    assert read_dataset(str(tmp_path / "data"), "posts").num_rows == 1
    bad = runner.invoke(main, ["crawl", "ptt", "--board", "X", "--since", "2024-13-01"])
    assert bad.exit_code == 2 and "not a YYYY-MM-DD date" in bad.output
