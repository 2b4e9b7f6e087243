"""The Mobile01 parser: the real saved list page, and our own topic pages written from the notes.

Only a list page (the 2021 hot list) was ever saved from the site; the topic pages in
``tests/fixtures/mobile01_site`` are synthetic (see its README). Row values were read off the
raw HTML; times are Asia/Taipei on the page, UTC here (−8 h).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from koubei.pipelines.cli import main
from koubei.pipelines.sitegen_mobile01 import FakeReply, FakeTopic, topic_page_html
from koubei.spiders.parsers import mobile01
from koubei.spiders.parsers.errors import ChallengePage

from .conftest import FIXTURES, require_shared

SITE = FIXTURES / "mobile01_site"
HOT = "mobile01_hottopics_id1_rendered_2021-01-20.html"
HOT_URL = "https://www.mobile01.com/hottopics.php?id=1"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def page(name: str, url: str) -> mobile01.TopicPage:
    return mobile01.parse_topic_page((SITE / name).read_bytes(), url)


@pytest.fixture(scope="module")
def hot_list() -> mobile01.TopicList:
    return mobile01.parse_topic_list(require_shared("fixtures", "mobile01", HOT).read_bytes(), HOT_URL)


@pytest.mark.shared
def test_hot_list_returns_every_row(hot_list):
    rows = hot_list.rows
    assert len(rows) == 30 and hot_list.missing == {} and hot_list.forum is None
    assert sum(r.reply_count for r in rows) == 430 and not any(r.pinned for r in rows)
    assert len({r.topic for r in rows}) == 30 and all(r.author and r.created_at for r in rows)
    first = rows[0]
    assert (first.topic, first.forum, first.forum_name) == ("6286439", "260", "Ford")
    assert first.title == "Ford Kuga EcoBoost250 ST-Line AWD直闖武嶺水晶宮，雪地試駕心得分享！"
    assert (first.author, first.created_at) == ("艾薩克", utc(2021, 1, 20, 1, 10))  # "2021-01-20 9:10"
    assert (first.last_reply_by, first.last_reply_at) == ("Cliff1966", utc(2021, 1, 20, 5, 7))
    assert (first.reply_count, first.pages, first.data_id) == (103, 11, "2838333")
    assert first.url == "https://www.mobile01.com/topicdetail.php?f=260&t=6286439"
    last = rows[-1]
    assert (last.topic, last.title, last.author, last.reply_count, last.pages) == (
        "6286343",
        "請益OCEAN STAR DIVER 600天文台潛水錶",
        "kuafeng79",
        2,
        1,
    )
    assert last.created_at == utc(2021, 1, 19, 16, 18)  # "2021-01-20 0:18": the Taipei day before in UTC
    assert (rows[4].author, rows[4].reply_count, rows[4].pages) == ("ANDY 97185", 12, 2)  # space in a name


@pytest.mark.shared
def test_cli_lists_every_topic_row_and_rejects_other_pages():
    runner = CliRunner()
    hot = require_shared("fixtures", "mobile01", HOT)
    result = runner.invoke(main, ["parse", "mobile01", str(hot), "--url", HOT_URL])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kind"] == "topic_list" and len(data["rows"]) == 30
    row = data["rows"][0]
    assert (row["title"][:4], row["topic"], row["reply_count"], row["author"], row["created_at"]) == (
        "Ford",
        "6286439",
        103,
        "艾薩克",
        "2021-01-20T01:10:00+00:00",
    )
    ptt = require_shared("fixtures", "ptt", "ptt_Beauty_index2219.html")
    bad = runner.invoke(main, ["parse", "mobile01", str(ptt)])
    assert bad.exit_code == 1 and "not a Mobile01 page" in bad.output and "Traceback" not in bad.output


# ---------------------------------------------------------------------------- own fixtures (no shared)


def test_topic_page_one_opening_post_and_floors():
    p1 = page(
        "topicdetail.php@f=9001&t=9000001.html", "https://www.mobile01.com/topicdetail.php?f=9001&t=9000001"
    )
    assert (p1.forum, p1.topic, p1.page, p1.last_page) == ("9001", "9000001", 1, 2)
    assert p1.title == "【開箱】掃地機器人用了三個月的心得" and p1.missing == {}
    op = p1.opening
    assert (op.author_id, op.created_at, op.board, op.post_id) == (
        "居家小明",
        utc(2024, 3, 1, 1, 5),
        "9001",
        "9000001",
    )
    assert op.content == (
        "買了 A 牌掃地機器人三個月，整理一下心得。\n優點：吸力不錯，APP 好用。\n"
        "缺點：邊角掃不乾淨，集塵盒太小。\n\n整體來說 CP 值還可以。"
    )  # <br> lines kept, the script dropped
    assert [r.seq for r in p1.replies] == list(range(2, 11))
    second = p1.replies[1]
    assert (second.author_id, second.comment_id, second.is_op) == ("居家小明", "91000002", True)
    assert (second.content, second.quote) == (
        "有，但只是濕抹布拖過去而已。",
        "阿德 wrote:\n請問有拖地功能嗎？",
    )
    assert p1.replies[7].created_at == utc(2024, 3, 2, 15, 58)  # 23:58 Taipei
    assert sum(r.quote is not None for r in p1.replies) == 2


def test_missing_fields_are_counted_not_fatal_and_pages_assemble():
    p1 = page(
        "topicdetail.php@f=9001&t=9000001.html", "https://www.mobile01.com/topicdetail.php?f=9001&t=9000001"
    )
    p2 = page(
        "topicdetail.php@f=9001&t=9000001&p=2.html",
        "https://www.mobile01.com/topicdetail.php?f=9001&t=9000001&p=2",
    )
    assert p2.opening is None and p2.missing == {"reply_created_at": 1, "reply_floor": 1}
    assert [(r.seq, r.created_at is None) for r in p2.replies] == [(11, False), (12, True), (13, False)]
    assert (
        p2.replies[0].quote
        == "貓奴一號 wrote:\n家裡有貓的話毛會卡在滾刷，要常清。\n路人甲 wrote:\nB 牌比較好"
    )
    assert p2.replies[0].content == "同意，而且 B 牌的耗材比較便宜。"
    thread = mobile01.assemble_topic([p2, p1])
    assert thread.post.comment_count == len(thread.comments) == 12
    assert [c.seq for c in thread.comments] == list(range(2, 14)) and len(thread.post.content_hash) == 64
    with pytest.raises(mobile01.NoArticles):
        mobile01.assemble_topic([p2])


def test_own_list_pages_pinned_and_paging():
    first = mobile01.parse_topic_list((SITE / "topiclist.php@f=9001.html").read_bytes())
    assert (first.forum, first.page, first.last_page) == ("9001", 1, 2)  # from the canonical link
    assert [(r.topic, r.pinned, r.reply_count, r.pages) for r in first.rows] == [
        ("9000000", True, 0, 1),
        ("9000001", False, 12, 2),
        ("9000002", False, 2, 1),
    ]
    second = mobile01.parse_topic_list(
        (SITE / "topiclist.php@f=9001&p=2.html").read_bytes(),
        "https://www.mobile01.com/topiclist.php?f=9001&p=2",
    )
    assert (second.page, [r.topic for r in second.rows]) == (2, ["8999990"])


def test_generated_topic_page_round_trips():
    t0 = utc(2024, 5, 1, 2, 0)
    topic = FakeTopic(
        "9001",
        42,
        "生成的主題",
        "甲",
        "一\n二",
        t0,
        [FakeReply(f"u{i}", f"回{i}", t0, quote="引" if i == 3 else None) for i in range(12)],
    )
    p2 = mobile01.parse_topic_page(
        topic_page_html(topic, 2), "https://www.mobile01.com/topicdetail.php?f=9001&t=42&p=2"
    )
    assert [r.seq for r in p2.replies] == [11, 12, 13] and p2.last_page == 2 and p2.missing == {}
    p1 = mobile01.parse_topic_page(
        topic_page_html(topic, 1), "https://www.mobile01.com/topicdetail.php?f=9001&t=42"
    )
    assert p1.opening.content == "一\n二" and p1.replies[3].quote == "引" and p1.replies[3].content == "回3"


def test_bad_pages_raise_what_they_are():
    html = (SITE / "topicdetail.php@f=9001&t=9000002.html").read_text()
    url = "https://www.mobile01.com/topicdetail.php?f=9001&t=9000002"
    with pytest.raises(mobile01.TruncatedPage):
        mobile01.parse_topic_page(html[: len(html) // 2], url)
    with pytest.raises(ChallengePage):
        mobile01.parse_topic_page(
            "<html><head><title>Attention Required! | Cloudflare</title></head><body></body></html>", url
        )
    with pytest.raises(mobile01.NoArticles):
        mobile01.parse_topic_page(
            "<html><head><title>找不到文章 - Mobile01</title></head><body></body></html>", url
        )
    with pytest.raises(mobile01.NotMobile01):
        mobile01.parse_topic_list("<html><head><title>other</title></head><body></body></html>")
