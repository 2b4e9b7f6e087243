"""The Dcard parser on every real saved file in shared/fixtures/dcard, plus the layouts in between.

Counts were checked against the raw JSON (``json.load`` + sums); times are the files' ``createdAt``
(UTC ``Z``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from koubei.pipelines.cli import main
from koubei.pipelines.sitegen_dcard import FakeComment, FakePost, post_json, web_page_html
from koubei.spiders.parsers import dcard
from koubei.spiders.parsers.errors import ChallengePage

from .conftest import require_shared


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# file -> (kind, posts, duplicates merged, forums seen, like sum, comment sum, response posts,
#          first post (id, forum, title, created UTC, likes, comments))
POST_FILES = {
    "dcard_api_forums_funny_posts_list_2016-07-15.json": (
        "post_list",
        30,
        0,
        {"funny"},
        245,
        70,
        0,
        ("224362515", "funny", "被我弟害死....", utc(2016, 7, 15, 11, 8, 23, 539000), 1, 0),
    ),
    "dcard_api_posts_popular_list_2020-05-18.json": (  # sorted by likes, 13 forums
        "post_list",
        30,
        0,
        {
            "relationship",
            "hairsalon",
            "dressup",
            "funny",
            "makeup",
            "entertainer",
        },
        11763,
        1117,
        4,
        (
            "233689520",
            "relationship",
            "無名指有痣是為了續前世的緣？",
            utc(2020, 5, 16, 16, 53, 0, 335000),
            567,
            183,
        ),
    ),
    "dcard_api_forums_makeup_posts_list_2021-05-10.json": (
        "post_list",
        160,
        0,
        {"makeup"},
        18707,
        2095,
        7,
        ("235954396", "makeup", "求脖子毛孔粗大怎麼辦", utc(2021, 5, 10, 9, 57, 8, 171000), 1, 0),
    ),
    "dcard_api_forums_boutique_posts_list_dupfetch_2021-05-10.json": (  # 180 objects, 100 ids
        "post_list",
        100,
        80,
        {"boutique"},
        14090,
        1956,
        2,
        ("235954128", "boutique", "#開箱 第一次購入Dior飾品❤️", utc(2021, 5, 10, 9, 15, 23, 183000), 6, 1),
    ),
    "dcard_api_post_258862181_detail_2025-05.json": (
        "post",
        1,
        0,
        {"house_purchase"},
        137,
        31,
        0,
        (
            "258862181",
            "house_purchase",
            "#資訊 新青安成功貸款分享與驗屋",
            utc(2025, 5, 20, 8, 48, 23, 173000),
            137,
            31,
        ),
    ),
    "dcard_web_f_forum_home_rendered_2021-01.html": (  # browser-saved page: __NEXT_DATA__
        "web_page",
        30,
        0,
        {"mood", "relationship", "house", "talk", "food", "makeup"},
        54960,
        5929,
        1,
        ("235195570", "mood", "你媽在我身上上下搖啦", utc(2021, 1, 18, 16, 25, 58, 892000), 1674, 556),
    ),
}


@pytest.fixture(scope="module")
def dcard_dir():
    return require_shared("fixtures", "dcard")


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(POST_FILES))
def test_post_files(dcard_dir, name):
    kind, n, dups, forums, likes, comments, replies, first = POST_FILES[name]
    doc = dcard.parse_document((dcard_dir / name).read_bytes())
    assert (doc.kind, len(doc.posts), doc.duplicates) == (kind, n, dups)
    assert forums <= {p.board for p in doc.posts}
    assert sum(p.like_count for p in doc.posts) == likes
    assert sum(p.comment_count for p in doc.posts) == comments
    assert sum(p.is_reply for p in doc.posts) == replies
    p = doc.posts[0]
    assert (p.post_id, p.board, p.title, p.created_at, p.like_count, p.comment_count) == first
    assert p.url == f"https://www.dcard.tw/f/{p.board}/p/{p.post_id}"
    assert all(x.created_at.tzinfo == UTC for x in doc.posts)
    assert len({x.post_id for x in doc.posts}) == n
    assert doc.deleted_posts == 0 and doc.comments == [] and doc.hidden_comments == 0


@pytest.mark.shared
def test_comments_in_a_crawler_envelope(dcard_dir):
    doc = dcard.parse_document(
        (dcard_dir / "dcard_api_post_258994745_comments_crawlerwrapped_2025-06-10.json").read_bytes()
    )
    assert doc.kind == "comments"
    assert doc.envelope == {
        "url": "https://www.dcard.tw/service/api/v2/posts/258994745/comments",
        "fetch_time": "2025-06-10T10:19:50.349523",
    }
    (c,) = doc.comments
    assert (c.post_id, c.seq, c.comment_id) == ("258994745", 1, "c7cb862f-b1d6-4835-97df-4cb773e9deef")
    assert c.created_at == utc(2025, 6, 5, 0, 14, 19, 186000) and c.like_count == 2
    assert (c.author_id, c.author_school, c.author_gender, c.is_op, c.hidden, c.suspicious_account) == (
        None,
        "元智大學",
        "M",
        False,
        False,
        False,
    )
    assert c.content.startswith("會被房貸壓垮代表你買超出自己能力的房")
    assert doc.hidden_comments == 0


@pytest.mark.shared
def test_forum_lists(dcard_dir):
    old = dcard.parse_document((dcard_dir / "dcard_api_forums_list_2016-07.json").read_bytes())
    new = dcard.parse_document((dcard_dir / "dcard_api_forums_list_2021-05.json").read_bytes())
    assert (old.kind, len(old.forums), new.kind, len(new.forums)) == ("forums", 35, "forums", 485)
    assert sum(bool(f["isSchool"]) for f in new.forums) == 195
    makeup = next(f for f in new.forums if f["alias"] == "makeup")
    assert (makeup["name"], makeup["subscriptionCount"]) == ("美妝", 395509)


@pytest.mark.shared
def test_2025_detail_fields(dcard_dir):
    (post,) = dcard.parse_document(
        (dcard_dir / "dcard_api_post_258862181_detail_2025-05.json").read_bytes()
    ).posts
    assert post.reactions == {"愛心": 135, "跪": 2}  # likeCount 137 = the sum
    assert post.topics == ["房貸", "新青安貸款", "驗屋", "分享"] and post.category == "資訊"
    assert (post.author_id, post.author_school, post.author_department, post.author_gender) == (
        None,
        "東海大學",
        "法律學系",
        "M",
    )
    assert (
        post.content == "https://megapx-assets.dcard.tw/images/9e443487-add3-4077-b9b8-7531e201641c/1280.jpeg"
    )
    assert (post.edited, post.edited_at, post.deleted, post.suspicious_account) == (False, None, False, False)


@pytest.mark.shared
def test_later_fetch_wins_and_authors(dcard_dir):
    boutique = dcard.parse_post_list(
        (dcard_dir / "dcard_api_forums_boutique_posts_list_dupfetch_2021-05-10.json").read_bytes()
    )
    likes = {p.post_id: p.like_count for p in boutique.posts}
    assert (likes["235943352"], likes["235938359"]) == (50, 759)  # 49→50, 758→759 on the second fetch
    popular = dcard.parse_post_list((dcard_dir / "dcard_api_posts_popular_list_2020-05-18.json").read_bytes())
    nick = popular.posts[0]  # withNickname: nickname in school, uid in department
    assert (nick.author_id, nick.author_nickname, nick.author_school) == ("abcd30529", "hui", None)
    funny = dcard.parse_post_list(
        (dcard_dir / "dcard_api_forums_funny_posts_list_2016-07-15.json").read_bytes()
    )
    shown = {p.post_id: p.author_department for p in funny.posts if p.author_department}
    assert len(shown) == 8 and shown["224362473"] == "中文系"
    assert all(p.reactions is None and p.topics is None for p in funny.posts)  # 2016: no such fields
    assert all(not p.edited for p in funny.posts)  # updatedAt moves with activity: not an edit


@pytest.mark.shared
def test_cli_parses_every_fixture_and_rejects_clearly(dcard_dir, tmp_path):
    runner = CliRunner()
    for file in sorted(dcard_dir.iterdir()):
        result = runner.invoke(main, ["parse", "dcard", str(file)])
        assert result.exit_code == 0, (file.name, result.output)
    wrapped = runner.invoke(
        main,
        [
            "parse",
            "dcard",
            str(dcard_dir / "dcard_api_post_258994745_comments_crawlerwrapped_2025-06-10.json"),
        ],
    )
    assert "crawler's envelope" in wrapped.stderr
    data = json.loads(wrapped.stdout)
    assert data["counts"]["comments"] == 1 and data["comments"][0]["seq"] == 1
    page = runner.invoke(
        main, ["parse", "dcard", str(dcard_dir / "dcard_web_f_forum_home_rendered_2021-01.html")]
    )
    assert "web page" in page.stderr and json.loads(page.stdout)["counts"]["posts"] == 30
    for bad, message in (
        (require_shared("fixtures", "ptt", "ptt_Beauty_index2219.html"), "no __NEXT_DATA__"),
        (dcard_dir / "missing.json", "cannot read"),
    ):
        result = runner.invoke(main, ["parse", "dcard", str(bad)])
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------------------- own fixtures (no shared)

T = utc(2024, 2, 1, 8, 0)


def _post(**kw) -> FakePost:
    base = dict(
        forum="makeup",
        post_id=250000001,
        title="#心得 測試",
        content="內文",
        created_at=T,
        reactions={"愛心": 3, "哈哈": 1},
        topics=["保養"],
    )
    return FakePost(**{**base, **kw})


def test_hidden_comments_and_sub_comment_keys():
    # 2025 layout (as the real post_comments answer shows it): hidden floors carry no content/likeCount.
    items = [
        {
            "id": "a",
            "floor": 1,
            "content": "第一",
            "likeCount": 2,
            "createdAt": "2024-02-01T08:00:00.000Z",
            "host": True,
            "isSuspiciousAccount": True,
        },
        {
            "id": "b",
            "floor": 2,
            "hidden": True,
            "hiddenByAuthor": True,
            "createdAt": "2024-02-01T08:01:00.000Z",
        },
        {
            "id": "c",
            "floor": 3,
            "hidden": True,
            "reportReason": "personal",
            "createdAt": "2024-02-01T08:02:00.000Z",
        },
        {"id": "d", "content": "沒有樓層", "createdAt": "2024-02-01T08:03:00.000Z"},
    ]
    records, raw = dcard.parse_comments(json.dumps(items), board="makeup", post_id="1")
    assert [(r.seq, r.hidden, r.content, r.like_count) for r in records] == [
        (1, False, "第一", 2),
        (2, True, None, None),
        (3, True, None, None),
        (4, False, "沒有樓層", None),  # a missing floor falls back to the position
    ]
    assert records[0].is_op is True and raw == items
    # Dcard's own flag, kept for `koubei suspects`; absent in a layout: unknown, not False.
    assert [r.suspicious_account for r in records] == [True, None, None, None]
    subs, _ = dcard.parse_comments(
        json.dumps(
            [{"id": "s1", "floor": 1, "content": "回覆"}, {"id": "s2", "floor": 2, "content": "再回"}]
        ),
        board="makeup",
        post_id="1",
        parent_floor=12,
    )
    assert [(s.seq, s.parent_seq) for s in subs] == [(120001, 12), (120002, 12)]
    assert dcard.sub_seq(300000, 1) is None  # would overflow int32: never stored under a clashing key


def test_post_mapping_from_generated_json():
    p = _post(nickname=("小美", "mei123"), edited_at=utc(2024, 2, 2), hidden=False)
    rec = dcard.parse_post(json.dumps(post_json(p, detail=True)))
    assert (rec.post_id, rec.board, rec.title, rec.category) == ("250000001", "makeup", "#心得 測試", "心得")
    assert (rec.author_id, rec.author_nickname, rec.author_school) == ("mei123", "小美", None)
    assert (rec.like_count, rec.reactions, rec.comment_count) == (4, {"愛心": 3, "哈哈": 1}, 0)
    assert (rec.edited, rec.edited_at) == (True, utc(2024, 2, 2))
    obj = post_json(_post(), detail=True)
    obj["reactions"].append({"id": "00000000-new-reaction", "count": 5})
    assert dcard.parse_post(json.dumps(obj)).reactions == {"愛心": 3, "哈哈": 1, "00000000-new-reaction": 5}
    gone = dcard.parse_post(json.dumps(post_json(_post(hidden=True), detail=True)))
    assert gone.deleted and gone.content is None


def test_web_page_fallback_parser():
    p = _post(comments=[FakeComment(1, "一樓", T), FakeComment(2, None, T), FakeComment(3, "三樓", T)])
    page = dcard.parse_next_data(web_page_html(p, embedded_comments=3))
    (post,) = page.posts
    assert (post.post_id, post.content, post.comment_count) == ("250000001", "內文", 3)
    assert [(c.seq, c.hidden) for c in page.comments] == [(1, False), (2, True), (3, False)]


def test_bad_answers_raise_what_they_are():
    body = json.dumps([post_json(_post(), detail=False)])
    with pytest.raises(dcard.TruncatedJson):
        dcard.parse_post_list(body[: len(body) // 2])
    with pytest.raises(ChallengePage):
        dcard.parse_post_list(b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>")
    with pytest.raises(dcard.DcardApiError):
        dcard.parse_post(b'{"error": 1202, "message": "Post not found"}')
    with pytest.raises(dcard.NotDcard):
        dcard.parse_post_list(b'{"unexpected": true}')
    with pytest.raises(dcard.NotDcard):
        dcard.parse_document(b"[1, 2, 3]")
    page = web_page_html(_post())
    with pytest.raises(dcard.TruncatedJson):
        dcard.parse_next_data(page[: len(page) // 2])
