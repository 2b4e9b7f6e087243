"""The PTT parser on every real saved page in shared/fixtures/ptt, plus the layouts in between."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from koubei.pipelines.sitegen import FakeArticle, FakePush, article_html
from koubei.spiders.parsers import ptt

from .conftest import require_shared


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# file -> (board, title, author, nickname, created_at UTC, 推, 噓, →, category, is_reply, edited)
# Counts were checked with grep on the raw HTML; times are the 時間 line (Asia/Taipei) − 8 h, or,
# for the headerless pages, the header text.
ARTICLES = {
    "ptt_Beauty_M.1499790734.A.833.html": (
        "Beauty",
        "[正妹] 橋本環奈",
        "TyuzuChou",
        "子瑜我老婆",
        utc(2017, 7, 11, 16, 32, 12),
        36,
        7,
        16,
        "正妹",
        False,
        False,
    ),
    "ptt_Gossiping_M.1119222611.A.7A9.html": (
        "Gossiping",
        "第一耶！",
        "gogoegg",
        "--",
        utc(2005, 6, 19, 23, 11, 31),
        338,
        833,
        320,
        None,
        False,
        False,
    ),
    "ptt_Gossiping_M.1119222660.A.94E.html": (
        "Gossiping",
        "Re: (問題)華航空難留言",
        "Muroi",
        "I Honestly Love You",
        utc(2005, 6, 19, 23, 28, 27),
        489,
        148,
        204,
        None,
        True,
        True,
    ),
    "ptt_Gossiping_M.1123769450.A.A1A.html": (  # no metalines: header drawn with ANSI-colour spans
        "Gossiping",
        "[名人] 有沒有人有希特勒的八卦阿",
        "MOTHERGOOSE",
        None,
        utc(2005, 8, 10, 7, 3, 16),
        7,
        0,
        1,
        "名人",
        False,
        True,
    ),
    "ptt_Gossiping_M.1173456473.A.F4F.html": (  # no metalines: plain-text header with 站內
        "Gossiping",
        "Re: 有沒有俄國人的八卦？",
        "julysecond",
        "還是台灣好",
        utc(2007, 3, 9, 16, 7, 48),
        33,
        0,
        7,
        None,
        True,
        True,
    ),
    "ptt_Gossiping_M.1175469904.A.05B.html": (
        "Gossiping",
        "[八卦] 食品與營養",
        "a9051338",
        "冰雨",
        utc(2007, 4, 1, 23, 24, 47),
        35,
        0,
        10,
        "八卦",
        False,
        True,
    ),
    "ptt_Gossiping_M.1519661420.A.098.html": (  # author without "(nickname)"
        "Gossiping",
        "[公告] Gossiping 板 開始舉辦樂透!",
        "ocean5566",
        None,
        utc(2018, 2, 26, 16, 10, 18),
        6,
        19,
        9,
        "公告",
        False,
        False,
    ),
}


@pytest.fixture(scope="module")
def ptt_dir():
    return require_shared("fixtures", "ptt")


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(ARTICLES))
def test_article_fields_and_exact_counts(ptt_dir, name):
    board, title, author, nick, created, n_push, n_boo, n_arrow, category, is_reply, edited = ARTICLES[name]
    thread = ptt.parse_article((ptt_dir / name).read_bytes())
    post = thread.post
    assert (post.board, post.title, post.author_id, post.author_nickname) == (board, title, author, nick)
    assert post.created_at == created and post.created_at.tzinfo == UTC
    assert (post.push_count, post.boo_count, post.arrow_count) == (n_push, n_boo, n_arrow)
    assert post.comment_count == len(thread.comments) == n_push + n_boo + n_arrow
    assert [c.seq for c in thread.comments] == list(range(1, len(thread.comments) + 1))
    assert (post.category, post.is_reply, post.edited) == (category, is_reply, edited)
    assert post.post_id in name and post.url == f"https://www.ptt.cc/bbs/{board}/{post.post_id}.html"
    assert "※ 發信站" not in post.content and "※ 編輯" not in post.content
    assert len(post.content_hash) == 64


@pytest.mark.shared
def test_old_pushes_carry_ip_and_date_only(ptt_dir):
    thread = ptt.parse_article((ptt_dir / "ptt_Gossiping_M.1123769450.A.A1A.html").read_bytes())
    first = thread.comments[0]
    assert (first.tag, first.author_id, first.content) == ("push", "Fuuuck", "虔誠跟瘋狂，只有一線之隔.....")
    assert first.ip == "220.135.33.3" and first.time_precision == "day"
    assert first.created_at == utc(2005, 8, 10, 16, 0)  # 08/11 00:00 Asia/Taipei
    # The last push says 07/28 after pushes of 08/12: pushes are appended in time order, so a later year.
    assert thread.comments[-1].created_at.year == 2006
    assert thread.post.author_ip == "220.132.142.235"
    assert thread.post.edited_at == utc(2005, 8, 11, 14, 33)  # the last of four ※ 編輯 lines (08/11 22:33)
    assert thread.post.content.startswith("希特勒 有性病 聽說是年輕時\n跟一位猶太妓女 轉大人")


@pytest.mark.shared
def test_pushes_with_time_edits_and_cloudflare_email(ptt_dir):
    thread = ptt.parse_article((ptt_dir / "ptt_Gossiping_M.1175469904.A.05B.html").read_bytes())
    c = thread.comments
    assert (c[0].tag, c[0].author_id, c[0].content) == (
        "push",
        "Luciferspear",
        "夜勤的護士都不太會得大腸癌ψ(._. )>",
    )
    assert c[0].created_at == utc(2007, 4, 1, 23, 31) and c[0].time_precision == "minute" and c[0].ip is None
    assert c[12].tag == "neutral" and c[12].author_id == "CN9B"
    # Cloudflare's e-mail obfuscation (data-cfemail) is decoded, not left as "[email protected]".
    obfuscated = next(x for x in c if x.author_id == "yuyuopop" and "好想問" in x.content)
    assert "[email" not in obfuscated.content and obfuscated.content.startswith(
        "好想問你是上哪個學校的食品與營養，教好淺@"
    )
    assert thread.post.edited_at == utc(2007, 4, 2, 6, 3)  # second edit line, (04/02 14:03) Taipei
    assert thread.post.content.endswith("體型跟基因有關XD")


@pytest.mark.shared
def test_image_post_strips_embeds_and_keeps_links(ptt_dir):
    post = ptt.parse_article((ptt_dir / "ptt_Beauty_M.1499790734.A.833.html").read_bytes()).post
    assert post.content.startswith("http://i.imgur.com/8vIcXNx.png")
    assert "imgur-embed-pub" not in post.content and "embed.js" not in post.content
    assert (post.author_ip, post.author_country) == ("1.160.199.248", None)


@pytest.mark.shared
def test_leap_day_push_lands_in_a_leap_year(ptt_dir):
    thread = ptt.parse_article((ptt_dir / "ptt_Gossiping_M.1119222660.A.94E.html").read_bytes())
    leap = [x for x in thread.comments if x.content == "JPTT要怎麼跳這篇..."]
    assert leap and leap[0].created_at is not None
    local = leap[0].created_at.astimezone(ptt.TAIPEI)
    assert (local.month, local.day) == (2, 29) and local.year % 4 == 0
    assert all(x.created_at is not None for x in thread.comments)


@pytest.mark.shared
def test_404_page_is_a_clear_error(ptt_dir):
    with pytest.raises(ptt.NotFoundPage):
        ptt.parse_article(
            (ptt_dir / "ptt_Gossiping_M.1577579359.A.B76_404_deleted.html").read_bytes(),
            "https://www.ptt.cc/bbs/Gossiping/M.1577579359.A.B76.html",
        )


@pytest.mark.shared
def test_non_ptt_page_is_rejected(shared):
    page = (shared / "fixtures" / "mobile01" / "mobile01_hottopics_id1_rendered_2021-01-20.html").read_bytes()
    with pytest.raises(ptt.NotPttPage):
        ptt.parse_article(page, "https://www.ptt.cc/bbs/Test/M.1700000000.A.001.html")


# name -> (url, page, prev, rows, linked articles to fetch, deleted rows, pinned rows)
INDEXES = {
    "ptt_Beauty_index2219.html": (
        "https://www.ptt.cc/bbs/Beauty/index2219.html",
        2219,
        "/bbs/Beauty/index2218.html",
        20,
        17,
        3,
        0,
    ),
    "ptt_NBA_index_latest_2024-02-20.html": (
        "https://www.ptt.cc/bbs/NBA/index.html",
        6506,
        "/bbs/NBA/index6505.html",
        12,
        8,
        1,
        3,
    ),
    "ptt_Stock_index_latest_2021-05-12.html": (
        "https://www.ptt.cc/bbs/Stock/index.html",
        5049,
        "/bbs/Stock/index5048.html",
        21,
        13,
        4,
        4,
    ),
    "ptt_Stock_index_latest_2025-05-03.html": (
        "https://www.ptt.cc/bbs/Stock/index.html",
        8801,
        "/bbs/Stock/index8800.html",
        17,
        13,
        1,
        3,
    ),
}


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(INDEXES))
def test_index_pages(ptt_dir, name):
    url, number, prev, n_rows, n_articles, n_deleted, n_pinned = INDEXES[name]
    page = ptt.parse_index((ptt_dir / name).read_bytes(), url)
    assert (page.page, page.prev_url, len(page.rows)) == (number, prev, n_rows)
    assert len(page.articles) == n_articles
    assert sum(r.deleted for r in page.rows) == n_deleted
    assert sum(r.pinned for r in page.rows) == n_pinned
    assert all(r.post_id is None for r in page.rows if r.deleted)


@pytest.mark.shared
def test_index_counts_and_deleted_formats(ptt_dir):
    stock = ptt.parse_index(
        (ptt_dir / "ptt_Stock_index_latest_2021-05-12.html").read_bytes(),
        "https://www.ptt.cc/bbs/Stock/index.html",
    )
    deleted = [r.title for r in stock.rows if r.deleted]
    assert deleted[0] == "4-2-5 (已被yoche2000刪除) <siugwai>"  # rule number + moderator, HTML-unescaped
    stats = next(r for r in stock.rows if r.post_id == "M.1620824097.A.8F6")
    assert stats.nrec == 100 and stats.created_at == utc(2021, 5, 12, 12, 54, 57)  # 爆
    assert min(r.nrec for r in stock.rows) == -10  # X1
    nba = ptt.parse_index(
        (ptt_dir / "ptt_NBA_index_latest_2024-02-20.html").read_bytes(),
        "https://www.ptt.cc/bbs/NBA/index.html",
    )
    assert any(r.title.startswith("(已被Z刪除) <prostitute>") for r in nba.rows if r.deleted)
    beauty = ptt.parse_index(
        (ptt_dir / "ptt_Beauty_index2219.html").read_bytes(), "https://www.ptt.cc/bbs/Beauty/index2219.html"
    )
    assert beauty.rows[1].title == "(本文已被刪除) [moghtw11111]"
    assert beauty.next_url == "/bbs/Beauty/index2220.html"


# ---------------------------------------------------------------------------- own fixtures (no shared)


def test_year_rolls_over_from_december_to_january():
    # Generated page: a post on 12/31 23:50 Taipei with pushes past midnight into the new year.
    article = FakeArticle(
        "KoubeiTest",
        "M.1704037800.A.001",
        "alice",
        "A",
        "[問卦] 跨年",
        "新年快樂",
        pushes=[
            FakePush("push", "bob", "快樂", datetime(2023, 12, 31, 15, 55, tzinfo=UTC)),
            FakePush("boo", "carol", "不快樂", datetime(2023, 12, 31, 16, 5, tzinfo=UTC)),
            FakePush("neutral", "dave", "一月了", datetime(2024, 1, 2, 3, 0, tzinfo=UTC)),
        ],
    )
    thread = ptt.parse_article(article_html(article))
    assert [c.created_at for c in thread.comments] == [
        utc(2023, 12, 31, 15, 55),
        utc(2023, 12, 31, 16, 5),
        utc(2024, 1, 2, 3, 0),
    ]
    assert [c.tag for c in thread.comments] == ["push", "boo", "neutral"]
    assert thread.post.author_country == "臺灣" and thread.post.created_at == utc(2023, 12, 31, 15, 50)


def test_edit_line_formats():
    start = utc(2018, 6, 1, 0, 0)
    assert ptt._edits(["※ 編輯: adsl15888 (113.21.55.28), 06/10/2018 09:25:49"], start) == [
        utc(2018, 6, 10, 1, 25, 49)
    ]
    assert ptt._edits(["※ 編輯: AmosYang (136.56.13.184 美國), 09/18/2020 11:44:41"], start) == [
        utc(2020, 9, 18, 3, 44, 41)
    ]
    assert ptt._edits(
        ["※ 編輯: a9051338        來自: 140.118.229.94       (04/02 12:45)"], utc(2007, 4, 1, 23, 0)
    ) == [utc(2007, 4, 2, 4, 45)]


def test_header_without_time_falls_back_to_article_id():
    html = article_html(
        FakeArticle("KoubeiTest", "M.1700000000.A.0AB", "alice", "A", "[心得] 無時間", "內文")
    )
    html = html.replace(
        '<span class="article-meta-tag">時間</span>', '<span class="article-meta-tag">日期</span>'
    )
    assert ptt.parse_article(html).post.created_at == utc(2023, 11, 14, 22, 13, 20)


def test_truncated_and_empty_pages_raise():
    html = article_html(FakeArticle("KoubeiTest", "M.1700000000.A.0AB", "alice", "A", "標題", "內文"))
    with pytest.raises(ptt.TruncatedPage):
        ptt.parse_article(html[: len(html) // 2])
    with pytest.raises(ptt.NotPttPage):
        ptt.parse_article(b"   ", "https://www.ptt.cc/bbs/KoubeiTest/M.1700000000.A.0AB.html")


def test_nrec_values():
    assert [ptt.parse_nrec(x) for x in ("", "7", "爆", "X1", "X5", "XX")] == [0, 7, 100, -10, -50, -100]
