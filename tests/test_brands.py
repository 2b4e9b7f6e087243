"""Brand/topic matching: aliases, folding, Latin boundaries, boolean queries, watch files, CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from koubei.nlp.brands import (
    And,
    BrandMatcher,
    Not,
    Or,
    QuerySyntaxError,
    Term,
    WatchEntry,
    WatchFileError,
    load_watch,
    parse_query,
    parse_watch,
)
from koubei.nlp.sponsored import read_unit
from koubei.pipelines.cli_match import match

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = FIXTURES / "watch_example.yaml"


def spans(mentions):
    return [(m.brand, m.field, m.start, m.end, m.text) for m in mentions]


def find(text, *entries, field="content"):
    return spans(BrandMatcher(list(entries)).find(text, field))


# ---------------------------------------------------------------------------------------------- aliases


def test_case_width_and_simplified_variants_match_with_original_spans():
    apple = WatchEntry(name="Apple", aliases=["蘋果", "iPhone"])
    text = "ｉＰＨＯＮＥ１５跟苹果跟APPLE"
    assert find(text, apple) == [
        ("Apple", "content", 0, 6, "ｉＰＨＯＮＥ"),
        ("Apple", "content", 9, 11, "苹果"),
        ("Apple", "content", 12, 17, "APPLE"),
    ]


def test_latin_aliases_need_word_boundaries():
    apple = WatchEntry(name="Apple", aliases=["Mac", "iPhone"])
    assert find("pineapple applepie", apple) == []
    assert find("我的MacBook跟Mac mini", apple) == [("Apple", "content", 10, 13, "Mac")]
    # a model number may follow the name directly
    assert find("iPhone15 Pro", apple) == [("Apple", "content", 0, 6, "iPhone")]
    assert find("7-11 和 17-11", WatchEntry(name="7-11")) == [("7-11", "content", 0, 4, "7-11")]


def test_cjk_aliases_match_inside_words_and_longest_alias_wins():
    entry = WatchEntry(name="蘋果", aliases=["蘋果手機"])
    assert find("蘋果手機和蘋果派", entry) == [
        ("蘋果", "content", 0, 4, "蘋果手機"),
        ("蘋果", "content", 5, 7, "蘋果"),
    ]


def test_entries_match_independently():
    entries = [WatchEntry(name="Apple"), WatchEntry(name="Apple Pay")]
    assert find("用apple pay付款", *entries) == [
        ("Apple", "content", 1, 6, "apple"),
        ("Apple Pay", "content", 1, 10, "apple pay"),
    ]


def test_folding_is_context_free():
    # whole-text OpenCC folding would keep 台 after 今天 (天台 is a word) but turn a lone 台 into 臺
    tsmc = WatchEntry(name="台積電")
    assert find("今天台積電大漲，臺積電ADR", tsmc) == [
        ("台積電", "content", 2, 5, "台積電"),
        ("台積電", "content", 8, 11, "臺積電"),
    ]


def test_context_window_and_group():
    entry = WatchEntry(name="台積電", window=2, group="semis")
    (m,) = BrandMatcher([entry]).find("今天台積電大漲")
    assert (m.context, m.context_start, m.group) == ("今天台積電大漲", 0, "semis")
    (m,) = BrandMatcher([WatchEntry(name="台積電", window=1)]).find("今天台積電大漲")
    assert (m.context, m.context_start) == ("天台積電大", 1)


# ---------------------------------------------------------------------------------------------- queries


def test_query_parser_precedence_implicit_and_phrases():
    assert parse_query('蘋果 "apple pay" OR NOT 水果') == Or(
        (And((Term("蘋果"), Term("apple pay"))), Not(Term("水果")))
    )
    assert parse_query("a AND (b OR 「c d」) not e") == And(
        (Term("a"), Or((Term("b"), Term("c d"))), Not(Term("e")))
    )


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("a AND", 5),
        ("(a OR b", 0),
        ('"abc', 0),
        ("NOT", 3),
        ("a OR OR b", 5),
        ("a)", 1),
        ("", 0),
        ('a ""', 2),
    ],
)
def test_query_syntax_errors_say_where(query, position):
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.position == position


def test_not_superstring_is_an_exclusion_phrase_not_a_unit_veto():
    apple = WatchEntry(name="Apple", aliases=["蘋果"], query="蘋果 NOT 蘋果日報")
    assert find("蘋果日報報導", apple) == []
    # the unit also says 蘋果 outside 蘋果日報: it still mentions Apple, once
    assert find("蘋果日報說蘋果手機很貴", apple) == [("Apple", "content", 5, 7, "蘋果")]


def test_not_unrelated_term_filters_the_unit():
    apple = WatchEntry(name="Apple", aliases=["蘋果"], query="蘋果 NOT 水果")
    assert find("蘋果股價", apple) == [("Apple", "content", 0, 2, "蘋果")]
    assert find("蘋果股價跌了，水果攤的蘋果也跌價", apple) == []


def test_exclusion_only_query_keeps_every_alias():
    apple = WatchEntry(name="Apple", aliases=["蘋果", "iPhone"], query="NOT (蘋果日報 OR 蘋果派)")
    assert find("蘋果派配iPhone", apple) == [("Apple", "content", 4, 10, "iPhone")]
    assert find("蘋果日報", apple) == []


def test_query_terms_filter_but_only_aliases_are_mentions():
    coffee = WatchEntry(name="星巴克", query="星巴克 AND (買一送一 OR 好友分享)")
    assert find("星巴克買一送一", coffee) == [("星巴克", "content", 0, 3, "星巴克")]
    assert find("星巴克很貴", coffee) == []


def test_query_requires_its_terms_so_alias_only_units_do_not_count():
    # documented: "蘋果 NOT 蘋果日報" means the unit mentions 蘋果 outside 蘋果日報
    apple = WatchEntry(name="Apple", aliases=["蘋果", "iPhone"], query="蘋果 NOT 蘋果日報")
    assert find("新iPhone", apple) == []


def test_post_is_one_unit_and_each_comment_its_own():
    apple = WatchEntry(name="Apple", aliases=["蘋果"], query="蘋果 AND 手機")
    matcher = BrandMatcher([apple])
    mentions = matcher.match_item("[問題] 蘋果", "手機選哪支", ["蘋果好吃", "蘋果手機貴", None])
    assert [(m.field, m.comment, m.start, m.text) for m in mentions] == [
        ("title", None, 5, "蘋果"),
        ("comment", 1, 0, "蘋果"),
    ]


# ---------------------------------------------------------------------------------------------- watch files


def test_example_watch_file_loads():
    entries = load_watch(EXAMPLE)
    assert [e.name for e in entries] == ["Apple", "Samsung", "台積電", "momo", "星巴克"]
    assert entries[0].terms == ("Apple", "蘋果", "iPhone", "iPad", "Mac", "AirPods")
    assert entries[0].group == "phones" and entries[2].window == 20


def test_watch_file_keeps_room_for_other_sections():
    entries = parse_watch(
        {"brands": ["台積電", {"name": "聯發科", "aliases": "MTK"}], "sources": [], "alerts": {}}
    )
    assert [(e.name, e.aliases) for e in entries] == [("台積電", ()), ("聯發科", ("MTK",))]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("brands: [\n  - name: a\n", "invalid YAML (line 2, column 3)"),
        ("sources: []\n", "expected a mapping with a 'brands:' list"),
        ("brands: []\n", "'brands' must be a non-empty list"),
        ("brands:\n  - name: a\n    alias: [b]\n", "brands[1] (a): alias: unknown key"),
        ("brands:\n  - name: '  '\n", "brands[1]: name: must not be blank"),
        ("brands:\n  - name: a\n  - name: a\n", "brands[2] (a): duplicate name, first defined at brands[1]"),
        (
            "brands:\n  - name: a\n    query: a AND\n",
            "query: expected a term, found end of query at position 5",
        ),
        ("brands:\n  - name: a\n    window: -1\n", "window: Input should be greater than or equal to 0"),
        ("brands:\n  - [a]\n", "brands[1]: expected a mapping with at least 'name', got list"),
    ],
)
def test_bad_watch_files_have_clear_messages(tmp_path, content, message):
    path = tmp_path / "watch.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WatchFileError, match=None) as info:
        load_watch(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_missing_watch_file(tmp_path):
    with pytest.raises(WatchFileError, match="cannot read watch file"):
        load_watch(tmp_path / "nope.yaml")


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_json_on_parse_ptt_output(tmp_path):
    post = {
        "post": {
            "title": "[情報] 星巴克 買一送一",
            "content": "蘋果日報：星巴克今天買一送一。ｉＰｈｏｎｅ降價",
        },
        "comments": [{"content": "蘋果日報還在喔"}, {"content": "我用三星galaxy"}],
    }
    path = tmp_path / "post.json"
    path.write_text(json.dumps(post, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(match, ["--watch", str(EXAMPLE), "--json", str(path)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["brand"], r["field"], r.get("comment"), r["start"], r["text"]) for r in rows] == [
        ("Apple", "content", None, 15, "ｉＰｈｏｎｅ"),
        ("星巴克", "title", None, 5, "星巴克"),
        ("星巴克", "content", None, 5, "星巴克"),
        ("Samsung", "comment", 1, 2, "三星"),
        ("Samsung", "comment", 1, 4, "galaxy"),
    ]


def test_cli_table_on_stdin_plain_text_and_lines():
    runner = CliRunner()
    result = runner.invoke(match, ["--watch", str(EXAMPLE), "-"], input="台積電 TSMC\n三星\n")
    assert result.exit_code == 0, result.output
    assert "3 mention(s) of 2 brand(s)" in result.output
    result = runner.invoke(
        match, ["--watch", str(EXAMPLE), "--lines", "--json", "-"], input="台積電\n\n三星\n"
    )
    assert [(json.loads(x)["item"], json.loads(x)["brand"]) for x in result.output.splitlines()] == [
        (0, "台積電"),
        (1, "Samsung"),
    ]
    result = runner.invoke(match, ["--watch", str(EXAMPLE), "-"], input="沒有品牌\n")
    assert result.exit_code == 0 and "no mentions" in result.output


def test_cli_reports_bad_watch_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("brands: nope\n", encoding="utf-8")
    result = CliRunner().invoke(match, ["--watch", str(bad), "-"], input="x")
    assert result.exit_code == 1
    assert "'brands' must be a non-empty list" in result.output


def test_cli_reads_json_lines(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text(
        '{"title": "台積電", "content": ""}\n{"title": "", "content": "TSMC", "comments": ["台GG"]}\n'
    )
    result = CliRunner().invoke(match, ["--watch", str(EXAMPLE), "--json", str(path)])
    assert [(json.loads(x)["item"], json.loads(x)["field"]) for x in result.output.splitlines()] == [
        (0, "title"),
        (1, "content"),
        (1, "comment"),
    ]


# ---------------------------------------------------------------------------------------------- real PTT posts


LIFEISMONEY = "data/forum_text/ptt_articles_chiang0601/1_Lifeismoney.csv.gz"
C_CHAT = "data/forum_text/ptt_articles_chiang0601/1_C_chat.csv.gz"
GOSSIPING = "data/forum_text/ptt_articles_chiang0601/1_Gossiping.csv.gz"
STOCK = "data/forum_text/ptt_stock_2016-2019_deternan.jsonl.gz"


def real_post(shared: Path, source: str, record: str):
    item = read_unit(shared, source, record, "post")
    return item.title, item.text


@pytest.mark.shared
def test_real_post_full_width_alias(shared):
    title, text = real_post(shared, LIFEISMONEY, "3087")  # [情報] 全家行動購 picard 薯球 …
    mentions = BrandMatcher([WatchEntry(name="Picard")]).match_item(title, text)
    assert spans(mentions) == [
        ("Picard", "title", 11, 17, "picard"),
        ("Picard", "content", 12, 18, "picard"),
        ("Picard", "content", 86, 92, "Ｐｉｃａｒｄ"),
        ("Picard", "content", 273, 279, "picard"),
    ]
    assert all(text[m.start : m.end] == m.text for m in mentions if m.field == "content")


@pytest.mark.shared
def test_real_post_simplified_text_matches_traditional_alias(shared):
    title, text = real_post(shared, C_CHAT, "717")  # bilibili titles quoted in Simplified
    entries = [WatchEntry(name="崩壞：星穹鐵道", aliases=["星穹鐵道"]), WatchEntry(name="原神")]
    assert spans(BrandMatcher(entries).match_item(title, text)) == [
        ("崩壞：星穹鐵道", "content", 74, 78, "星穹铁道"),
        ("崩壞：星穹鐵道", "content", 199, 203, "星穹铁道"),
        ("原神", "content", 117, 119, "原神"),
    ]


@pytest.mark.shared
def test_real_post_latin_case_and_boundaries(shared):
    title, text = real_post(shared, GOSSIPING, "1531")  # 財劃法會讓台灣買不到IPhone 嗎？ … IPhone 、MacBook
    entries = [WatchEntry(name="Apple", aliases=["iPhone", "Mac"]), WatchEntry(name="MacBook")]
    assert spans(BrandMatcher(entries).match_item(title, text)) == [
        ("Apple", "title", 15, 21, "IPhone"),
        ("Apple", "content", 51, 57, "IPhone"),
        ("MacBook", "content", 59, 66, "MacBook"),
    ]


@pytest.mark.shared
def test_real_post_boolean_exclusion_and_filter(shared):
    title, text = real_post(shared, STOCK, "8161")  # Apple orders; one 香港《蘋果日報》 citation
    assert text.count("蘋果") == 6 and text.count("蘋果日報") == 1
    entries = [
        WatchEntry(name="Apple", aliases=["蘋果"], query="蘋果 NOT 蘋果日報"),
        WatchEntry(name="蘋果日報"),
        WatchEntry(name="Apple (no Foxconn)", aliases=["蘋果"], query="蘋果 NOT 富士康"),
    ]
    found = spans(BrandMatcher(entries).match_item(title, text))
    assert [s[2] for s in found if s[0] == "Apple"] == [71, 324, 337, 812, 878]
    assert [s for s in found if s[0] == "蘋果日報"] == [("蘋果日報", "content", 473, 477, "蘋果日報")]
    assert not [s for s in found if s[0] == "Apple (no Foxconn)"]  # the unit mentions 富士康


@pytest.mark.shared
def test_real_gossiping_article_with_pushes(shared):
    with gzip.open(shared / "data/ptt_gossiping_2018/Gossiping.json.gz", "rt", encoding="utf-8") as fh:
        article = json.load(fh)["articles"][0]  # 老婆讓韓國瑜睡一晚？邱議瑩失言道歉, 49 pushes
    matcher = BrandMatcher([WatchEntry(name="韓國瑜", aliases=["韓導", "韓總"])])
    mentions = matcher.match_item(
        article["article_title"], article["content"], [m["push_content"] for m in article["messages"]]
    )
    assert [(m.field, m.comment, m.start, m.text) for m in mentions] == [
        ("title", None, 8, "韓國瑜"),
        ("content", None, 3, "韓國瑜"),
        ("content", None, 111, "韓國瑜"),
        ("content", None, 294, "韓國瑜"),
        ("comment", 5, 3, "韓導"),
        ("comment", 17, 0, "韓國瑜"),
        ("comment", 20, 0, "韓國瑜"),
        ("comment", 21, 2, "韓國瑜"),
    ]
