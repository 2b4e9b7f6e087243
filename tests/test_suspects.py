"""Suspicious-author signals: near-duplicate texts across accounts, a shared-IP push burst, Dcard's
``isSuspiciousAccount``, and organic heavy posters left off the list.

The fixture period is 2024-02-18 – 2024-02-20 (Taipei); stored data begins 2024-01-05, so
``new_account`` can fire.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from koubei.pipelines.cli import main
from koubei.pipelines.kol import run_kol
from koubei.pipelines.schemas import COMMENTS
from koubei.pipelines.store import RawStore
from koubei.pipelines.suspects import (
    SuspectConfig,
    near_duplicates,
    run_suspects,
    shingles,
    suspected_authors,
)

from . import listening_data as data
from .listening_data import C, T

START, END = "2024-02-18", "2024-02-20"

# Older talk: these accounts were seen before the period (so they are not new).
HISTORY = T(
    "ptt",
    "MobileComm",
    "M.1704430800.A.900",
    "[閒聊] 一月手機閒聊",
    "大家最近用什麼手機",
    "fan",
    "2024-01-05 13:00",
    comments=[
        C("用 iPhone", a, "2024-01-05 13:10", "push")
        for a in ("shill1", "shill2", "shill3", "acct1", "acct2", "acct3", "chatty", "echo1", "echo2")
    ],
)

# One review copied by three accounts: punctuation, spacing, width and a word changed.
COPY = "三星 Galaxy S24 Ultra 的相機真的太強了，夜拍清楚到不行，電池也很耐用，用了一週完全沒有發熱，強烈推薦給大家！"
COPIES = [
    T(
        "ptt",
        "MobileComm",
        "M.1708308000.A.101",
        "[心得] 三星 S24 Ultra 使用心得",
        COPY,
        "shill1",
        "2024-02-19 10:00",
        label="positive",
    ),
    T(
        "ptt",
        "Android",
        "M.1708322400.A.102",
        "[心得] 三星 S24 Ultra 使用心得",
        COPY.replace("一週", "一個禮拜"),
        "shill2",
        "2024-02-19 14:00",
        label="positive",
    ),
    T(
        "ptt",
        "MobileComm",
        "M.1708390800.A.103",
        "[心得] 三星S24 Ultra使用心得",
        COPY.replace("，", ", ").replace("！", "!!").replace("S24", "Ｓ２４"),
        "shill3",
        "2024-02-20 09:00",
        label="positive",
    ),
]
ECHO = "三星這次的 Galaxy S24 定價真的很佛心，大家快去搶購吧"
# Three accounts praising Samsung from one IP within two hours; two more from another IP.
SAME_IP = T(
    "ptt",
    "MobileComm",
    "M.1708419600.A.300",
    "[問題] 換手機推薦",
    "預算兩萬想換手機",
    "asker",
    "2024-02-20 17:00",
    comments=[
        C("三星 很好用", "acct1", "2024-02-20 17:05", "push", "positive", ip="111.250.1.7"),
        C("推 Galaxy 必買", "acct2", "2024-02-20 17:40", "push", "positive", ip="111.250.1.7"),
        C("三星 真的讚", "acct3", "2024-02-20 18:50", "push", "positive", ip="111.250.1.7"),
        C("三星 還行", "other1", "2024-02-20 17:10", "push", "positive", ip="36.230.2.2"),
        C("三星 普通", "other2", "2024-02-20 17:20", "push", "positive", ip="36.230.2.2"),
        # An echo push (跟推) copied inside one thread: a custom, not a campaign.
        C(ECHO, "echo1", "2024-02-20 17:30", "push", "positive"),
        C(ECHO, "echo2", "2024-02-20 17:31", "push", "positive"),
    ],
)
# Dcard marks the post's author and one commenter (set on the raw items in `root`).
DCARD = T(
    "dcard",
    "3c",
    "255000100",
    "S24 開箱",
    "三星 S24 入手一週，螢幕亮度很夠",
    "dcard-shill",
    "2024-02-20 21:00",
    label="positive",
    likes=5,
    comments=[
        C("三星 讚", "dcard-fan", "2024-02-20 21:10", None, "positive"),
        C("iPhone 15 Pro 比較超值", "dcard-uid-9", "2024-02-20 21:20", None, "positive"),
        C("Galaxy 用過都說讚", None, "2024-02-20 21:30", None, "positive"),  # anonymous, marked
        C("三星 還不錯", None, "2024-02-20 21:40", None, "positive"),  # anonymous, not marked
    ],
)
# An organic fan: six varied Samsung posts, two a day, an old account. Brand focus only.
FAN_TEXTS = [
    "三星 S24 的螢幕在戶外很清楚",
    "Galaxy 的 One UI 更新很快",
    "三星 手錶搭配手機很方便",
    "Galaxy Buds 音質普通但是便宜",
    "三星 充電速度比去年快一點",
    "Galaxy S24 拍夜景還是有雜訊",
]
FAN = [
    T(
        "ptt",
        "MobileComm",
        f"M.17082{i}000.A.2{i}0",
        f"[閒聊] 三星 筆記 {i}",
        text,
        "fan",
        f"2024-02-{18 + i // 2} {9 + 11 * (i % 2):02d}:00",
        label="positive",
        pushes=3,
    )
    for i, text in enumerate(FAN_TEXTS)
]
# A heavy commenter: eight comments in one thread within 40 minutes (one thread: no burst).
CHATTY = T(
    "ptt",
    "MobileComm",
    "M.1708315200.A.400",
    "[問題] 三星還是蘋果",
    "兩隻都想買",
    "asker2",
    "2024-02-19 12:00",
    comments=[
        C(f"三星 第{i}點優點", "chatty", f"2024-02-19 12:{5 * (i + 1):02d}", "push", "positive")
        for i in range(8)
    ],
)
# A new account: five Apple pushes within 40 minutes across three threads (three weak reasons).
NEWBIE_AT = [
    (COPIES[2], "10:00"),
    (COPIES[2], "10:10"),
    (FAN[4], "10:20"),
    (FAN[4], "10:30"),
    (CHATTY, "10:40"),
]
for i, (thread, hhmm) in enumerate(NEWBIE_AT):
    thread.comments.append(C(f"iPhone 還是好用 {i}", "newbie", f"2024-02-20 {hhmm}", "push", "positive"))

THREADS = [HISTORY, *COPIES, SAME_IP, DCARD, *FAN, CHATTY]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("suspects")
    items = []
    for t in THREADS:
        item = data.raw_thread(t)
        if t is DCARD:
            item.post.suspicious_account = True
            item.comments[1].suspicious_account = True
            item.comments[0].suspicious_account = False
            item.comments[2].suspicious_account = True
        items.append(item)
    RawStore(str(path)).upsert_threads(items)
    data.write_enriched(path, THREADS)
    return path


@pytest.fixture(scope="module")
def found(root):
    return run_suspects(str(root), START, END, data.WATCH, listed_only=False)


def _summary(suspects):
    return [(s.platform, s.author_id, s.brand, [r.code for r in s.reasons], s.listed) for s in suspects]


LISTED = [
    ("dcard", "dcard-uid-9", "Apple", ["dcard_suspicious_account", "new_account"], True),
    ("dcard", "dcard-shill", "Samsung", ["dcard_suspicious_account", "new_account"], True),
    ("dcard", None, "Samsung", ["dcard_suspicious_account"], True),
    ("ptt", "acct1", "Samsung", ["shared_ip_burst"], True),
    ("ptt", "acct2", "Samsung", ["shared_ip_burst"], True),
    ("ptt", "acct3", "Samsung", ["shared_ip_burst"], True),
    ("ptt", "shill1", "Samsung", ["near_duplicate"], True),
    ("ptt", "shill2", "Samsung", ["near_duplicate"], True),
    ("ptt", "shill3", "Samsung", ["near_duplicate"], True),
    ("ptt", "newbie", "Apple", ["burst", "brand_focus", "new_account"], True),
]
# One weak reason each: shown with --all, never listed.
NOT_LISTED = [
    ("ptt", "asker2", "Apple", ["new_account"], False),
    ("dcard", "dcard-fan", "Samsung", ["new_account"], False),
    ("ptt", "asker2", "Samsung", ["new_account"], False),
    ("ptt", "chatty", "Samsung", ["brand_focus"], False),
    ("ptt", "fan", "Samsung", ["brand_focus"], False),
    ("ptt", "other1", "Samsung", ["new_account"], False),
    ("ptt", "other2", "Samsung", ["new_account"], False),
]


def _reason(found, author, code):
    suspect = next(s for s in found if s.author_id == author)
    return next(r for r in suspect.reasons if r.code == code)


def test_listed_and_not_listed(found, root):
    assert _summary(found) == LISTED + NOT_LISTED
    listed = run_suspects(str(root), START, END, data.WATCH)
    assert _summary(listed) == LISTED  # organic heavy posters (fan, chatty) are not listed
    assert suspected_authors(listed) == {(p, a) for p, a, *_ in LISTED if a}  # not the anonymous row
    assert suspected_authors(listed, "Apple") == {("dcard", "dcard-uid-9"), ("ptt", "newbie")}


def test_near_duplicates_across_three_accounts(found):
    r = _reason(found, "shill2", "near_duplicate")
    assert (r.strength, r.evidence["accounts"], r.evidence["similarity"]) == (
        "strong",
        ["shill1", "shill3"],
        0.8596,  # 49 / 57: 「一週」→「一個禮拜」
    )
    assert r.evidence["units"] == ["https://www.ptt.cc/bbs/Android/M.1708322400.A.102.html"]
    assert r.text.startswith(
        "wrote text near-identical (similarity 0.86) to 2 other accounts (shill1, shill3): 「"
    )
    # width, spacing and punctuation do not hide a copy: shill3's text folds to shill1's
    assert _reason(found, "shill3", "near_duplicate").evidence["similarity"] == 1.0


def test_echo_pushes_in_one_thread_are_not_copies(found, root):
    assert not any(s.author_id in ("echo1", "echo2") for s in found)
    config = SuspectConfig(near_dup_same_thread=True)
    echoes = [
        s
        for s in run_suspects(str(root), START, END, data.WATCH, config=config)
        if "echo" in (s.author_id or "")
    ]
    assert [(s.author_id, s.reasons[0].evidence["accounts"]) for s in echoes] == [
        ("echo1", ["echo2"]),
        ("echo2", ["echo1"]),
    ]


def test_shared_ip_burst(found):
    r = _reason(found, "acct2", "shared_ip_burst")
    assert r.text == (
        "one of 3 accounts writing positive about Samsung from IP 111.250.1.x within 1h45m "
        "(2024-02-20 17:05 – 2024-02-20 18:50): acct1, acct2, acct3"
    )
    assert (r.evidence["ip"], r.evidence["accounts"], r.evidence["units"]) == (
        "111.250.1.x",
        ["acct1", "acct2", "acct3"],
        3,
    )
    assert r.evidence["last"] - r.evidence["first"] == timedelta(minutes=105)


def test_dcard_flag_on_posts_and_comments(found, root):
    r = _reason(found, "dcard-uid-9", "dcard_suspicious_account")
    assert r.text == "Dcard marks the account as suspicious (isSuspiciousAccount) on 1 unit about Apple"
    assert r.evidence == {"units": ["https://www.dcard.tw/f/3c/p/255000100#2"]}
    post = _reason(found, "dcard-shill", "dcard_suspicious_account")
    assert post.evidence == {"units": ["https://www.dcard.tw/f/3c/p/255000100"]}
    store = RawStore(str(root))
    comments = store.read_file(store.partition_file(COMMENTS, "dcard", "2024-02-20", "3c"), COMMENTS)
    assert comments["suspicious_account"].to_pylist() == [False, True, True, None]
    anonymous = next(s for s in found if s.author_id is None)
    assert (anonymous.units, anonymous.reasons[0].evidence) == (
        1,
        {"units": ["https://www.dcard.tw/f/3c/p/255000100#3"]},
    )


def test_weak_reasons_need_a_pair(found, root):
    burst = _reason(found, "newbie", "burst")
    assert burst.text == (
        "5 units about Apple within 40m across 3 threads on 1 board (2024-02-20 10:00 – 2024-02-20 10:40)"
    )
    assert _reason(found, "fan", "brand_focus").text == "6 of 6 units (100%) in the period name Samsung"
    lenient = run_suspects(str(root), START, END, data.WATCH, config=SuspectConfig(min_weak=1))
    assert {("ptt", "fan"), ("ptt", "chatty")} <= suspected_authors(lenient)


def test_new_account_needs_history(root):
    # From 2024-01-20 the data (since 2024-01-05) is too short to call anyone new.
    found = run_suspects(str(root), "2024-01-20", END, data.WATCH, listed_only=False)
    assert not any(r.code == "new_account" for s in found for r in s.reasons)


def test_near_duplicates_core():
    link = "https://www.ptt.cc/bbs/MobileComm/M.1708308000.A.101.html"
    texts = [
        COPY,
        COPY.replace("一週", "一個禮拜"),
        "三星 很好用",
        "三星 很好用",
        FAN_TEXTS[0] * 2,
        link,
        link,
    ]
    pairs = near_duplicates(texts)
    assert pairs == {0: {1: 49 / 57}, 1: {0: 49 / 57}}  # 「一週」→「一個禮拜」: 49 shared of 57 shingles
    # short pushes (「三星 很好用」) and pasted links repeat by chance: left out
    assert len(shingles("三星 Galaxy！", 3)) == len("三星galaxy") - 2


def test_kol_marks_suspected_authors(root):
    kol = run_kol(str(root), START, END, data.WATCH)
    marked = {(a["author_id"], a["brand"]) for a in kol.authors if a["suspected"]}
    assert marked == {(a, b) for _, a, b, *_ in LISTED if a}
    fan = next(a for a in kol.authors if a["author_id"] == "fan")
    assert fan["suspected"] is False and fan["posts"] == 6


def _cli(root, *args):
    result = CliRunner().invoke(
        main,
        ["suspects", "--root", str(root), "--watch", str(data.WATCH), "--from", START, "--to", END, *args],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_table(root):
    out = _cli(root)
    for name in (
        "ptt/shill1",
        "ptt/acct3",
        "dcard/dcard-uid-9",
        "ptt/newbie",
        "near_duplicate",
        "shared_ip_burst",
    ):
        assert name in out
    assert "dcard_suspicious_account" in out and "not an accusation" in out and "dcard/(anonymous)" in out
    assert "ptt/fan" not in out and "ptt/chatty" not in out and "111.250.1.7" not in out


def test_cli_json_and_csv(root):
    rows = json.loads(_cli(root, "--format", "json"))
    assert [(r["author_id"], [x["code"] for x in r["reasons"]]) for r in rows] == [
        (a, codes) for _, a, _, codes, _ in LISTED
    ]
    assert rows[0]["first_seen"] == "2024-02-20T13:20:00+00:00"
    lines = _cli(root, "--format", "csv", "--all").splitlines()
    assert lines[0] == "platform,author_id,brand,group,units,first_seen,listed,reasons,details"
    assert len(lines) == 1 + len(LISTED) + len(NOT_LISTED)
    assert lines[-1].startswith("ptt,other2,Samsung,phones,1,2024-02-20T09:20:00+00:00,False,new_account,")
