"""Draw the mention-level (target) sentiment sample (issue 10 item 4) from ../shared.

A sentence that names two or more entities of the kind a brand manager watches (companies,
products, retailers, schools, YouTubers, politicians and parties) is labelled once per entity:
「iPhone 比三星好用多了」 is positive for iPhone and negative for Samsung.

    python -m koubei.models.mention_sample batches --out DIR --annotators 4

Procedure: every comment (push/reply) and every post body of the forum sources is cut into
sentences (。！？!?; newlines; PTT pushes are one sentence each); a sentence of 6–160 characters
whose entity matches (longest alias first, no overlaps) name ≥ 2 distinct canonical entities is a
candidate. Shuffled with ``random.Random(f"{SEED}:{source}")``, at most 2 per thread, no repeated
text, quotas per source. Split by thread as in ``forum_sample``.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from . import labeled as L
from .forum_sample import split_of

SEED = 20261125
MAX_PER_THREAD = 2
MAP_COLUMNS = (
    "source",
    "record",
    "comment",
    "field",
    "push_tag",
    "sent_start",
    "sent_end",
    "entity",
    "ent_start",
    "ent_end",
    "split",
)
SENTENCE_CHARS = (6, 160)

# canonical name -> aliases (the canonical name is itself an alias)
ENTITIES: dict[str, tuple[str, ...]] = {
    # companies / tickers
    "台積電": ("台積電", "台積", "GG", "台GG", "TSMC", "2330"),
    "聯發科": ("聯發科", "發哥", "MTK"),
    "鴻海": ("鴻海", "海公公", "富士康"),
    "大立光": ("大立光",),
    "聯電": ("聯電",),
    "三星": ("三星", "Samsung", "samsung"),
    "Apple": ("Apple", "蘋果", "iPhone", "iphone", "iPad", "Mac"),
    "Intel": ("Intel", "intel", "英特爾", "牙膏"),
    "AMD": ("AMD", "amd", "超微"),
    "NVIDIA": ("NVIDIA", "nvidia", "輝達", "老黃"),
    "高通": ("高通", "Qualcomm"),
    "華為": ("華為", "Huawei"),
    "小米": ("小米",),
    "Sony": ("Sony", "SONY", "索尼"),
    "華碩": ("華碩", "ASUS", "Asus"),
    "宏碁": ("宏碁", "Acer"),
    "技嘉": ("技嘉", "Gigabyte"),
    "微星": ("微星", "MSI"),
    "特斯拉": ("特斯拉", "Tesla"),
    "Google": ("Google", "谷歌", "Pixel"),
    "微軟": ("微軟", "Microsoft"),
    "長榮": ("長榮", "長榮航"),
    "陽明": ("陽明海運",),
    "中鋼": ("中鋼",),
    "台塑": ("台塑",),
    "中華電信": ("中華電信", "中華電"),
    "台灣大哥大": ("台灣大哥大", "台哥大"),
    "遠傳": ("遠傳",),
    "國泰": ("國泰",),
    "富邦": ("富邦",),
    "玉山": ("玉山銀行", "玉山"),
    "元大": ("元大",),
    # retail / food
    "全聯": ("全聯",),
    "家樂福": ("家樂福",),
    "好市多": ("好市多", "Costco", "costco"),
    "7-11": ("7-11", "小七", "統一超商", "711"),
    "全家": ("全家便利商店", "全家超商"),
    "麥當勞": ("麥當勞", "麥當當"),
    "肯德基": ("肯德基", "KFC"),
    "星巴克": ("星巴克",),
    "蝦皮": ("蝦皮",),
    "momo": ("momo", "MOMO"),
    "PChome": ("PChome", "PCHOME", "pchome"),
    "Uber Eats": ("Uber Eats", "UberEats"),
    "foodpanda": ("foodpanda", "熊貓外送"),
    "Netflix": ("Netflix", "網飛"),
    "YouTube": ("YouTube", "Youtube", "youtube"),
    # schools
    "台大": ("台大", "臺大"),
    "清大": ("清大",),
    "交大": ("交大",),
    "陽明交大": ("陽交大", "陽明交大"),
    "成大": ("成大",),
    "政大": ("政大",),
    "師大": ("師大",),
    "中央": ("中央大學",),
    "中興": ("中興大學", "興大"),
    # parties and politicians
    "民進黨": ("民進黨", "DPP", "綠營", "塔綠班"),
    "國民黨": ("國民黨", "KMT", "藍營"),
    "民眾黨": ("民眾黨",),
    "時代力量": ("時代力量", "時力"),
    "共產黨": ("共產黨", "中共"),
    "蔡英文": ("蔡英文", "小英", "英英"),
    "韓國瑜": ("韓國瑜", "韓總", "韓導"),
    "柯文哲": ("柯文哲", "柯P", "柯p", "阿北"),
    "陳其邁": ("陳其邁", "其邁"),
    "賴清德": ("賴清德", "賴神"),
    "馬英九": ("馬英九", "馬總統"),
    "郭台銘": ("郭台銘", "郭董"),
    "川普": ("川普", "Trump"),
    "習近平": ("習近平", "習大大"),
    "丁守中": ("丁守中",),
    "姚文智": ("姚文智",),
    "侯友宜": ("侯友宜",),
    "蘇貞昌": ("蘇貞昌",),
    "黃國昌": ("黃國昌",),
    # YouTubers (the names the Dcard/PTT YouTuber sets were searched for)
    "Joeman": ("Joeman",),
    "Toyz": ("Toyz", "toyz"),
    "館長": ("館長", "陳之漢"),
    "統神": ("統神",),
    "理科太太": ("理科太太",),
    "阿滴": ("阿滴",),
    "滴妹": ("滴妹",),
    "谷阿莫": ("谷阿莫",),
    "蔡阿嘎": ("蔡阿嘎",),
    "聖結石": ("聖結石",),
    "這群人": ("這群人TGOP",),
    "反骨男孩": ("反骨男孩",),
    "木曜4超玩": ("木曜4超玩", "木曜"),
    "志祺七七": ("志祺七七", "志祺"),
    "HowHow": ("HowHow", "howhow"),
    "黃大謙": ("黃大謙",),
    "鍾明軒": ("鍾明軒",),
    "超級歪": ("超級歪",),
    "眾量級": ("眾量級",),
    "國動": ("國動",),
    "愛莉莎莎": ("愛莉莎莎", "莎莎"),
    "啾啾鞋": ("啾啾鞋",),
    "老高": ("老高",),
    "呱吉": ("呱吉",),
    "蒼藍鴿": ("蒼藍鴿",),
    "黃氏兄弟": ("黃氏兄弟",),
}

_ALIAS = {alias: name for name, aliases in ENTITIES.items() for alias in aliases}
_PATTERN = re.compile("|".join(re.escape(a) for a in sorted(_ALIAS, key=len, reverse=True)))
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|\n|⏎")
_LATIN = re.compile(r"[A-Za-z0-9]")


def entity_spans(text: str) -> list[tuple[str, int, int]]:
    """``(canonical, start, end)`` for every entity alias in ``text``; Latin aliases need word edges."""
    out = []
    for m in _PATTERN.finditer(text):
        start, end = m.span()
        alias = m.group()
        if _LATIN.match(alias[0]) and start > 0 and _LATIN.match(text[start - 1]):
            continue
        if _LATIN.match(alias[-1]) and end < len(text) and _LATIN.match(text[end]):
            continue
        out.append((_ALIAS[alias], start, end))
    return out


def sentences(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` offsets of the sentences of ``text``, stripped."""
    start = 0
    for m in _SENTENCE_END.finditer(text + "\n"):
        end = m.start()
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        s, e = start + lead, start + len(piece.rstrip())
        if e > s:
            yield s, e
        start = m.end()


def _units(source: str, root: Path | None) -> Iterator[dict]:
    comment_field = "push" if source in L.PUSH_SOURCES else "reply"
    for record, article in L.read_articles(source, root):
        thread = L.thread_of(source, record, article)
        for comment, push in enumerate(article.pushes):
            yield {
                "source": source,
                "record": record,
                "comment": comment,
                "field": comment_field,
                "push_tag": push.tag,
                "text": push.text,
                "thread": thread,
                "board": article.board,
            }
        if article.body:
            yield {
                "source": source,
                "record": record,
                "comment": "",
                "field": "body",
                "push_tag": "",
                "text": article.body,
                "thread": thread,
                "board": article.board,
            }


def candidates(source: str, root: Path | None = None) -> Iterator[dict]:
    lo, hi = SENTENCE_CHARS
    for unit in _units(source, root):
        text = unit["text"]
        if len(text) > 20_000:
            continue
        for s, e in sentences(text) if unit["field"] == "body" or len(text) > hi else [(0, len(text))]:
            if not lo <= e - s <= hi:
                continue
            spans = entity_spans(text[s:e])
            if len({name for name, _, _ in spans}) >= 2:
                yield {**unit, "sent_start": s, "sent_end": e, "sentence": text[s:e], "entities": spans}


MENTION_QUOTAS = {
    L.STOCK_2016: 180,
    L.GOSSIPING_2018: 60,
    L.GOSSIPING_YEEYAN: 90,
    L.DCARD_COMMENTS: 60,
    L.DCARD_POSTS: 40,
    L.DCARD_YOUTUBER: 80,
    L.PTT_YOUTUBER: 60,
    L.MOBILE01_296: 40,
    L.MOBILE01_QUESTION: 30,
    L.MULTIBOARD_2021: 40,
    L.TECHJOB_2023: 40,
    **{source: 8 for source in L.CHIANG_FILES},
}


def sample(root: Path | None = None) -> list[dict]:
    picked: list[dict] = []
    seen: set[str] = set()
    for source, quota in MENTION_QUOTAS.items():
        pool = list(candidates(source, root))
        random.Random(f"{SEED}:{source}").shuffle(pool)
        per_thread: Counter[str] = Counter()
        taken = 0
        for c in pool:
            if taken == quota:
                break
            if c["sentence"] in seen or per_thread[c["thread"]] >= MAX_PER_THREAD:
                continue
            seen.add(c["sentence"])
            per_thread[c["thread"]] += 1
            c["split"] = split_of(c["thread"])
            picked.append(c)
            taken += 1
    return picked


def write_batches(items: list[dict], out: Path, annotators: int) -> None:
    """One row per (sentence, entity); the sentence shown with that entity's first mention marked."""
    out.mkdir(parents=True, exist_ok=True)
    order = list(range(len(items)))
    random.Random(SEED).shuffle(order)
    with ExitStack() as stack:
        shown = [
            stack.enter_context((out / f"mbatch_{k}.tsv").open("w", encoding="utf-8"))
            for k in range(annotators)
        ]
        maps = [
            csv.writer(stack.enter_context((out / f"mmap_{k}.csv").open("w", encoding="utf-8", newline="")))
            for k in range(annotators)
        ]
        for k in range(annotators):
            shown[k].write("n\twhere\tentity\tsentence\n")
            maps[k].writerow(["n", *MAP_COLUMNS])
        counters = [0] * annotators
        for pos, i in enumerate(order):
            k, item = pos % annotators, items[i]
            firsts: dict[str, tuple[int, int]] = {}
            for name, s, e in item["entities"]:
                firsts.setdefault(name, (s, e))
            sent = item["sentence"].replace("\t", " ").replace("\n", " ")
            where = f"{item['source'].split('/')[-1].split('_')[0]}/{item['board']}"
            for name, (s, e) in firsts.items():
                counters[k] += 1
                shown[k].write(f"{counters[k]}\t{where}\t{name}\t{sent[:s]}【{sent[s:e]}】{sent[e:]}\n")
                row = {**item, "entity": name, "ent_start": s, "ent_end": e}
                maps[k].writerow([counters[k], *(row[c] for c in MAP_COLUMNS)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["batches", "stats"])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--annotators", type=int, default=4)
    args = parser.parse_args(argv)
    items = sample()
    if args.what == "batches":
        write_batches(items, args.out, args.annotators)
    print(
        len(items),
        sum(len({n for n, _, _ in i["entities"]}) for i in items),
        Counter(i["split"] for i in items),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
