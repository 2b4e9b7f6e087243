"""KOL/KOC ranking (trust earned, not post count; organic and sponsored apart) and the ★
coordinated-account signal from PTT IPs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from koubei.pipelines.kol import run_kol, wilson_lower_bound
from koubei.pipelines.reports import build_report, render_html
from koubei.pipelines.suspects import coordination_signals

from . import listening_data as data
from .listening_data import C, T
from .test_suspects import SAME_IP  # three accounts, one IP, within two hours

# Five Samsung posts nobody pushed, by one account; one post with 300 推 and 5 噓 by another.
PROLIFIC = [
    T(
        "ptt",
        "MobileComm",
        f"M.17084{i}0000.A.1{i}0",
        f"[閒聊] 三星 第{i}篇",
        "三星 不錯",
        "poster",
        "2024-02-20 12:00",
        label="positive",
        pushes=0,
        boos=0,
        arrows=0,
    )
    for i in range(5)
]
EXPERT = T(
    "ptt",
    "MobileComm",
    "M.1708412400.A.200",
    "[心得] Galaxy S24 三個月使用心得",
    "三星 S24 用了三個月，電池和相機都很穩，缺點是充電慢。",
    "expert",
    "2024-02-20 15:00",
    label="positive",
    pushes=300,
    boos=5,
    arrows=20,
    comments=[C("推 三星 心得", f"fan{i}", "2024-02-20 15:30", "push", "positive") for i in range(3)],
)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return data.build(tmp_path_factory.mktemp("kol"), [*data.THREADS, *PROLIFIC, EXPERT, SAME_IP])


@pytest.fixture(scope="module")
def kol(root):
    return run_kol(str(root), "2024-02-20", "2024-02-20", data.WATCH)


def test_wilson_lower_bound():
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(10, 10) == pytest.approx(0.7225, abs=1e-4)
    assert wilson_lower_bound(300, 305) > wilson_lower_bound(10, 10) > wilson_lower_bound(1, 1)


def test_trust_not_post_count(kol):
    organic = [
        a
        for a in kol.authors
        if a["brand"] == "Samsung" and a["board"] == "MobileComm" and not a["sponsored"]
    ]
    first = organic[0]
    assert (first["author_id"], first["rank"], first["tier"]) == ("expert", 1, "KOL")
    assert (first["posts"], first["pushes"], first["boos"], first["replies"]) == (1, 300, 5, 3)
    prolific = next(a for a in organic if a["author_id"] == "poster")
    assert prolific["posts"] == 5 and prolific["score"] == 0.0 and prolific["tier"] == "KOC"


def test_sponsored_ranked_apart(kol):
    sponsored = [a for a in kol.authors if a["brand"] == "Samsung" and a["sponsored"]]
    assert [(a["author_id"], a["rank"], a["pushes"]) for a in sponsored] == [("userF", 1, 20)]


def test_coordination_signal(kol):
    assert len(kol.signals) == 1
    signal = kol.signals[0]
    assert (signal.brand, signal.accounts, signal.units) == ("Samsung", ("acct1", "acct2", "acct3"), 3)
    assert signal.masked_ip == "111.250.1.x"
    assert signal.last - signal.first == timedelta(minutes=105)


def test_authors_say_who_is_suspected(kol):
    marked = sorted((a["author_id"], a["brand"]) for a in kol.authors if a["suspected"])
    assert marked == [("acct1", "Samsung"), ("acct2", "Samsung"), ("acct3", "Samsung"), ("poster", "Samsung")]
    # five posts in five threads at one minute, all about Samsung: two weak reasons
    poster = next(s for s in kol.suspects if s.author_id == "poster")
    assert [r.code for r in poster.reasons] == ["burst", "brand_focus"]
    assert not any(a["suspected"] for a in kol.authors if a["author_id"] == "expert")


def test_coordination_needs_the_short_window():
    base = {"brand": "B", "ip": "1.2.3.4", "sentiment": "positive", "platform": "ptt", "board": "X"}
    at = data.at
    spread = [{**base, "author_id": f"a{i}", "created_at": at(f"2024-02-{20 + i} 10:00")} for i in range(3)]
    assert coordination_signals(spread) == []  # three accounts, three days apart
    assert len(coordination_signals(spread, window=timedelta(days=3))) == 1
    negative = [{**r, "sentiment": "negative"} for r in spread]
    assert coordination_signals(negative, window=timedelta(days=3)) == []


def test_report_shows_authors_and_the_signal(root):
    page = render_html(build_report(str(root), data.WATCH, "2024-02-20", "2024-02-20"))
    assert "<td>expert</td><td>KOL</td>" in page
    assert "★" in page and "111.250.1.x" in page and "acct1, acct2, acct3" in page
    assert "111.250.1.7" not in page
