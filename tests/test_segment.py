"""Segmentation (koubei.nlp.segment) and ``koubei segment`` (koubei.pipelines.cli_segment)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from koubei.nlp.clean import clean_text, split_ptt_body
from koubei.nlp.segment import (
    Segmenter,
    default_segmenter,
    stopwords,
    traditional_dictionary_path,
    user_dictionary,
)
from koubei.pipelines.cli_segment import segment

# Realistic forum sentences; every word of data/user_dict.txt must come out as one token.
SLANG_SENTENCES = {
    "原po說的那家噓爆了，歐印下去母湯": ["原po", "噓爆", "歐印", "母湯"],
    "這隊雷包，上次買的CP值超低，這台高CP值": ["雷包", "CP值", "高CP值"],
    "板主置底公告：發心得文跟抽獎文違規會劣退": ["置底", "心得文", "抽獎文", "劣退"],
    "又在帶風向，一看就是業配仔": ["帶風向", "業配仔"],
    "他已讀不回，我只好在家耍廢享受小確幸": ["已讀不回", "耍廢", "小確幸"],
    "溫拿跟魯蛇的差別，不意外啦": ["溫拿", "不意外"],
    "看到這新聞我傻眼貓咪，真的傻爆眼，黑人問號": ["傻眼貓咪", "傻爆眼", "黑人問號"],
    "森77，氣到森七七，生氣氣": ["森77", "森七七", "生氣氣"],
    "好棒棒喔，這家店好der，就醬子": ["好棒棒", "好der", "醬子"],
    "靠杯，靠腰喔，靠么啦": ["靠杯", "靠腰", "靠么"],
    "整篇都是幹話跟乾話，尬聊到笑爛": ["幹話", "乾話", "尬聊", "笑爛"],
    "我腦波弱又剁手了，月底要吃土": ["腦波弱", "剁手", "吃土"],
    "遇到慣老闆，這價格算公道價，這個必買": ["慣老闆", "公道價", "必買"],
    "網紅帶網美去網美店拍照": ["網紅", "網美", "網美店"],
    "實況主下播前粉絲抖內，也有人斗內": ["下播", "抖內", "斗內"],
    "雞排妹那種瞎妹，揪咪": ["雞排妹", "瞎妹", "揪咪"],
    "酥胡喔，母咪說很ㄎㄧㄤ": ["酥胡", "母咪", "ㄎㄧㄤ"],
    "好雷，這部負雷的人很少，本文有雷": ["好雷", "負雷", "有雷"],
    "無雷心得，微雷，零雷觀看": ["無雷", "微雷", "零雷"],
    "被這部雷到，明明是神作卻像糞作": ["雷到", "神作", "糞作"],
    "真是好片，看完淚推": ["好片", "淚推"],
    "這款手遊課金抽卡，肝帝跟歐皇，我是非洲酋長": ["手遊", "課金", "抽卡", "肝帝", "歐皇", "非洲酋長"],
    "原神閃退就退坑，後來又入坑": ["原神", "閃退", "退坑", "入坑"],
    "主力在割韭菜，存股族買定存股，抄底": ["割韭菜", "存股", "定存股", "抄底"],
    "超商取貨可以用酷碰，行動支付": ["超商取貨", "酷碰", "行動支付"],
    "用街口支付、全支付、全盈支付或悠遊付都有現金回饋": [
        "街口支付",
        "全支付",
        "全盈支付",
        "悠遊付",
        "現金回饋",
    ],
    "一卡通也能付，蝦幣跟momo幣可以折，P幣跟PTT幣不行": ["一卡通", "蝦幣", "momo幣", "P幣", "PTT幣"],
    "跟團去日本，團購主跟團媽都說這是合作邀約，黑粉不信": ["跟團", "團購主", "團媽", "合作邀約", "黑粉"],
    "7-11和全家都有，全聯跟大全聯比好市多便宜": ["7-11", "全家", "全聯", "大全聯", "好市多"],
    "去全國電子買冷氣，再去50嵐跟五十嵐還有清心福全": ["全國電子", "50嵐", "五十嵐", "清心福全"],
    "麻古茶坊對面是八方雲集跟摩斯漢堡": ["麻古茶坊", "八方雲集", "摩斯漢堡"],
    "路易莎的咖啡，85度C的蛋糕，丹丹漢堡跟胖老爹的炸雞": ["路易莎", "85度C", "丹丹漢堡", "胖老爹"],
    "珍煮丹、老虎堂、鮮茶道跟日出茶太": ["珍煮丹", "老虎堂", "鮮茶道", "日出茶太"],
    "中華電信、台灣大哥大、台灣之星跟亞太電信": ["中華電信", "台灣大哥大", "台灣之星", "亞太電信"],
    "搭星宇航空，爆料公社跟靠北工程師都在討論": ["星宇航空", "爆料公社", "靠北工程師"],
    "批踢踢跟D卡還有哀居": ["批踢踢", "D卡", "哀居"],
    "不會就估狗，問谷歌大神，用蘋果手機": ["估狗", "谷歌大神", "蘋果手機"],
    "早餐吃賣噹噹，晚餐麥當當": ["賣噹噹", "麥當當"],
    "統一超商跟全家便利商店，還有OK超商、小北百貨": ["統一超商", "全家便利商店", "OK超商", "小北百貨"],
    "無印良品、迪卡儂跟宜得利，好事多的會員": ["無印良品", "迪卡儂", "宜得利", "好事多"],
    "蝦皮購物寄蝦皮店到店，露天拍賣、博客來、東森購物": [
        "蝦皮購物",
        "蝦皮店到店",
        "露天拍賣",
        "博客來",
        "東森購物",
    ],
    "樂天市場跟momo購物網比價": ["樂天市場", "momo購物網"],
    "叫熊貓外送還是Uber Eats": ["熊貓外送", "Uber Eats"],
    "鬍鬚張的滷肉飯，壽司郎跟藏壽司排隊": ["鬍鬚張", "壽司郎", "藏壽司"],
    "石二鍋、海底撈、饗食天堂、築間": ["石二鍋", "海底撈", "饗食天堂", "築間"],
    "伯朗咖啡配拉亞漢堡": ["伯朗咖啡", "拉亞漢堡"],
}


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter()


def test_every_slang_entry_is_kept_whole_in_a_sentence(seg):
    expected = {w for words in SLANG_SENTENCES.values() for w in words}
    assert expected == {w for w, _, _ in user_dictionary()}  # every entry has a sentence
    for sentence, words in SLANG_SENTENCES.items():
        tokens = seg.cut(sentence)
        assert [w for w in words if w not in tokens] == [], (sentence, tokens)


def test_slang_dictionary_holds_only_words_the_traditional_dictionary_misses():
    base = {
        line.split(" ", 1)[0]
        for line in traditional_dictionary_path().read_text(encoding="utf-8").splitlines()
    }
    entries = [w for w, _, _ in user_dictionary()]
    assert len(entries) >= 60
    assert [w for w in entries if w in base] == []
    assert len(set(entries)) == len(entries)


def test_case_variants_of_slang(seg):
    assert seg.cut("原PO跟原Po都說cp值高，Ptt幣") == [
        "原PO",
        "跟",
        "原Po",
        "都",
        "說",
        "cp值",
        "高",
        "，",
        "Ptt幣",
    ]


def test_simplified_and_full_width_variants_after_cleaning(seg):
    assert seg.cut(clean_text("这家原ＰＯ推荐的全联咖啡ＣＰ值超高，踩雷")) == [
        "這家",
        "原PO",
        "推薦",
        "的",
        "全聯",
        "咖啡",
        "CP值",
        "超高",
        ",",
        "踩雷",
    ]


def test_brand_aliases_added_at_run_time_are_never_split():
    seg = Segmenter(["iPhone 15 Pro Max"])
    seg.add_words(["Galaxy S24", "LG", "全聯福利中心", "小米"])
    assert seg.cut("我的iphone 15 pro max跟Galaxy S24 Ultra") == [
        "我",
        "的",
        "iphone 15 pro max",
        "跟",
        "Galaxy S24",
        " ",
        "Ultra",
    ]
    assert seg.cut("LGBT 跟 LG手機") == [
        "LGBT",
        " ",
        "跟",
        " ",
        "LG",
        "手機",
    ]  # not inside another ASCII word
    assert seg.cut("在全聯福利中心買iPhone 15 Pro Max") == ["在", "全聯福利中心", "買", "iPhone 15 Pro Max"]
    assert Segmenter().cut("在全聯福利中心買iPhone 15 Pro Max") == [
        "在",
        "全聯",
        "福利",
        "中心",
        "買",
        "iPhone",
        " ",
        "15",
        " ",
        "Pro",
        " ",
        "Max",
    ]


def test_urls_and_emoji_sequences_are_single_tokens(seg):
    family = "👨\u200d👩\u200d👧"
    text = f"看圖https://i.imgur.com/at96KWV.jpg 好讚{family}❤️😂"
    assert seg.cut(text) == [
        "看",
        "圖",
        "https://i.imgur.com/at96KWV.jpg",
        " ",
        "好",
        "讚",
        family,
        "❤️",
        "😂",
    ]


def test_words_drop_stopwords_punctuation_whitespace_and_urls(seg):
    assert seg.words("我覺得這家的CP值真的很高！！ https://reurl.cc/x 推") == ["這家", "CP值", "高", "推"]
    assert {"的", "我", "了", "是"} <= stopwords()


def test_rjieba_path_matches_jieba_including_wide_han_characters(seg):
    by_jieba = Segmenter(engine="jieba")
    # 李㼈 is a word of the dictionary; 㼈 (CJK Ext A) is outside jieba's Han range, inside rjieba's.
    for text in ["李㼈來了", "𠮷野家好吃", "全聯的咖啡比7-11好喝", "C++ 跟 C# 3.5吋", "a\r\nb  c\t"]:
        assert seg.cut(text) == by_jieba.cut(text), text
    assert seg.cut("李㼈來了") == ["李", "㼈", "來", "了"]


def test_hmm_mode_runs_jieba_and_keeps_user_words():
    tokens = Segmenter(["全聯福利中心"], hmm=True).cut("原PO在全聯福利中心買咖啡")
    assert tokens == ["原PO", "在", "全聯福利中心", "買", "咖啡"]
    with pytest.raises(ValueError):
        Segmenter(engine="rust")


def test_default_segmenter_is_shared():
    assert default_segmenter() is default_segmenter()


# ---------------------------------------------------------------------------------------------- real text


def _real_docs(shared: Path, *, lifeismoney: bool = False) -> list[str]:
    docs = list(pd.read_csv(shared / "data/ptt_happy_hate_sad/train.csv.gz")["content"].fillna(""))
    if lifeismoney:  # the brand- and payment-heavy board
        path = shared / "data/forum_text/ptt_articles_chiang0601/1_Lifeismoney.csv.gz"
        docs.extend(pd.read_csv(path)["內文"].fillna(""))
    with gzip.open(shared / "data/ptt_gossiping_2018/Gossiping.json.gz", "rt", encoding="utf-8") as f:
        for a in json.load(f)["articles"]:
            docs.append(a["content"])
            docs.extend(m["push_content"] for m in a.get("messages", []))
    return docs


@pytest.mark.shared
def test_real_post_exact_tokens(shared, seg):
    posts = pd.read_csv(shared / "data/ptt_happy_hate_sad/train.csv.gz")["content"]
    own = clean_text(split_ptt_body(posts[3]).own)
    assert [t for t in seg.cut(own) if t != " "] == (
        [
            "今早",
            "心血來潮",
            "和",
            "老婆",
            "吃",
            "賣噹噹",
            "最",
            "新",
            "產品",
            "好好",
            "吃",
            "身心",
            "都",
            "滿足",
            "工作",
            "也",
            "不",
            "忙",
            "好久",
            "沒",
            "這樣",
            "的",
            "感覺",
            "了",
            "真",
            "棒",
        ]
    )
    own = clean_text(split_ptt_body(posts[455]).own)
    assert seg.words(own) == (
        [
            "幹",
            "直接",
            "慢",
            "30",
            "分鐘",
            "回家",
            "蝦",
            "買票",
            "來",
            "問",
            "高鐵",
            "會不會",
            "退錢",
            "看起來",
            "開",
            "高鐵",
            "落後",
            "國家",
        ]
    )


@pytest.mark.shared
def test_rjieba_and_jieba_agree_on_real_text(shared, seg):
    docs = _real_docs(shared)[::5]  # ~3,000 posts and pushes
    by_jieba = Segmenter(engine="jieba")
    differ = [d for d in docs if seg.cut(d) != by_jieba.cut(d)]
    assert differ == []
    assert all("".join(seg.cut(d)) == d for d in docs)


@pytest.mark.shared
def test_slang_kept_whole_across_real_posts(shared, seg):
    words = [w.lower() for w, _, _ in user_dictionary()]
    occurrences = whole = 0
    for doc in _real_docs(shared, lifeismoney=True):
        text = clean_text(doc)
        low = text.lower()
        present = [w for w in words if w in low]
        if not present:
            continue
        bounds, pos = {0}, 0
        for token in seg.cut(text):
            pos += len(token)
            bounds.add(pos)
        for word in present:
            for m in re.finditer(re.escape(word), low):
                occurrences += 1
                inside = range(m.start() + 1, m.end())
                whole += m.start() in bounds and m.end() in bounds and not bounds.intersection(inside)
    # Measured: 2,837 of 2,913 whole. Misses are mostly right: 全家人 → 全/家人, 有雷同 → 有/雷同,
    # 全聯會 (a union); and CP值 inside 高CP值 counts as a miss of CP值.
    assert occurrences > 2800
    assert whole / occurrences >= 0.97


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_readable_output_splits_cleans_and_segments():
    text = "原po說全聯咖啡CP值超高 ※ 引述《abc (x)》之銘言： : 这个咖啡太贵了 : 不推"
    result = CliRunner().invoke(segment, [text])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:3] == [
        "own  原po說全聯咖啡CP值超高",
        "  tokens 原po / 說 / 全聯 / 咖啡 / CP值 / 超高",
        "  words  原po 說 全聯 咖啡 CP值 超高",
    ]
    assert "  tokens 這個 / 咖啡 / 太貴 / 了 / 不 / 推" in result.output


def test_cli_json_from_stdin_with_aliases_and_hmm():
    result = CliRunner().invoke(
        segment, ["-", "--json", "--hmm", "-w", "iPhone 15"], input="iPhone 15母湯喔\n--\n簽名檔\n"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["own"] == {
        "clean": "iPhone 15母湯喔",
        "tokens": ["iPhone 15", "母湯", "喔"],
        "words": ["iPhone 15", "母湯"],
    }
    assert data["signature"] == "簽名檔"
    assert (data["quotes"], data["footer"], data["edits"]) == ([], "", [])


def test_cli_plain_and_dcard_sites():
    runner = CliRunner()
    plain = json.loads(runner.invoke(segment, ["--site", "plain", "--json", "a\n--\nb"]).output)
    assert plain["own"]["clean"] == "a\n--\nb"
    dcard = json.loads(runner.invoke(segment, ["--site", "dcard", "--json", "B12 同意"]).output)
    assert dcard["own"]["tokens"] == ["同意"]
    assert [q["clean"] for q in dcard["quotes"]] == ["B12"]
