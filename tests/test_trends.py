"""Trends from a small enriched dataset: every number below can be counted by hand in
tests/listening_data.py (own rows) or on the real PTT page (shared test)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from koubei.nlp.brands import BrandMatcher, parse_watch
from koubei.pipelines.schemas import TRENDS, TRENDS_HOURLY
from koubei.pipelines.store import RawStore
from koubei.pipelines.trends import read_trends, run_trends, stored_days

from . import listening_data as data

DAY = "2024-02-20"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = data.build(tmp_path_factory.mktemp("trends"))
    for day in ("2024-02-19", DAY, "2024-02-21"):
        run_trends(str(root), day, data.WATCH)
    return root


def rows(root: Path, day: str, hourly: bool = False) -> dict:
    table = read_trends(str(root), day, day, hourly=hourly).to_pylist()
    if hourly:
        return {(r["hour"].hour, r["brand"], r["platform"], r["board"]): r for r in table}
    return {(r["brand"], r["platform"], r["board"]): r for r in table}


def test_daily_counts_by_hand(store):
    day = rows(store, DAY)
    assert set(day) == {
        ("Apple", "ptt", "MobileComm"),
        ("Apple", "ptt", "Lifeismoney"),
        ("Apple", "dcard", "3c"),
        ("Samsung", "ptt", "MobileComm"),
        ("Samsung", "dcard", "3c"),
        ("全聯", "ptt", "Lifeismoney"),
    }
    apple = day[("Apple", "ptt", "MobileComm")]
    # The post (title and body name iPhone/蘋果: one unit) + 蘋果越來越爛 + 我的 iPhone 還好啊 +
    # 蘋果電池爛 三星好用; the 00:30 push of the 21st is not talk of the 20th.
    assert (apple["posts"], apple["comments"], apple["mentions"]) == (1, 3, 4)
    assert apple["authors"] == 4  # userA, userC, userD, userE
    assert (apple["positive"], apple["neutral"], apple["negative"], apple["unscored"]) == (0, 1, 3, 0)
    assert apple["net_sentiment"] == pytest.approx(-0.75)
    assert apple["pn_ratio"] == 0.0
    assert (apple["pushes"], apple["boos"], apple["arrows"], apple["comments_received"]) == (10, 3, 2, 5)
    assert (apple["group"], apple["group_mentions"], apple["sov"]) == ("phones", 8, 0.5)
    assert apple["sponsored"] == 0 and apple["sponsored_share"] == 0.0
    assert "電池" in apple["top_terms"] and not {"蘋果", "iPhone"} & set(apple["top_terms"])

    samsung = day[("Samsung", "ptt", "MobileComm")]
    # 三星 Galaxy 續航好多了, 蘋果電池爛 三星好用 (positive about Samsung in the same push that is
    # negative about Apple), the sponsored Galaxy S24 post, Galaxy 真的不錯.
    assert (samsung["posts"], samsung["comments"], samsung["positive"], samsung["negative"]) == (1, 3, 4, 0)
    assert samsung["pn_ratio"] is None and samsung["net_sentiment"] == 1.0
    assert (samsung["sponsored"], samsung["sponsored_share"]) == (1, 0.25)
    assert (samsung["pushes"], samsung["boos"], samsung["comments_received"]) == (20, 1, 2)

    dcard = day[("Samsung", "dcard", "3c")]
    assert (dcard["mentions"], dcard["authors"], dcard["likes"]) == (2, 1, 15)  # anonymous comment: no author
    assert day[("Apple", "dcard", "3c")]["sov"] == pytest.approx(1 / 3)
    assert day[("Apple", "ptt", "Lifeismoney")]["sov"] == 1.0

    px = day[("全聯", "ptt", "Lifeismoney")]
    assert (px["group"], px["group_mentions"], px["sov"], px["positive"]) == (None, None, None, 1)
    assert "買一送一" in px["top_terms"]


def test_share_of_voice_of_a_day_with_duckdb(store):
    """The README's query: a brand's mentions over its group's, summed over the same rows (Samsung
    has no Lifeismoney row, so summing group_mentions of its own rows would be wrong). A join, not
    a window: DuckDB 2.0.0 drops the partition filter under a window over read_parquet."""
    table = f"{store}/trends/*/*.parquet"
    sov = duckdb.sql(
        f"""with d as (select * from read_parquet('{table}', hive_partitioning=true)
                       where date = '{DAY}' and "group" is not null),
                 g as (select "group", sum(mentions) as total from d group by 1)
            select brand, sum(mentions) / any_value(total) as sov
            from d join g using ("group") group by brand order by brand"""
    ).fetchall()
    assert sov == [("Apple", 0.5), ("Samsung", 0.5)]  # 6 of 12 each


def test_late_comment_counts_on_its_own_day(store):
    late = rows(store, "2024-02-21")
    assert set(late) == {("Apple", "ptt", "MobileComm")}
    apple = late[("Apple", "ptt", "MobileComm")]
    assert (apple["posts"], apple["comments"], apple["neutral"], apple["pushes"]) == (0, 1, 1, 0)


def test_hourly_counts(store):
    hours = rows(store, DAY, hourly=True)
    # 09:00-10:00 Taipei = 01:00 UTC: the post (09:00) and 蘋果越來越爛 (09:10).
    first = hours[(1, "Apple", "ptt", "MobileComm")]
    assert (first["posts"], first["comments"], first["negative"]) == (1, 1, 2)
    assert hours[(3, "Apple", "ptt", "MobileComm")]["negative"] == 1  # 11:00 蘋果電池爛
    assert sum(r["mentions"] for r in hours.values()) == sum(r["mentions"] for r in rows(store, DAY).values())


def test_rerun_is_byte_identical(store):
    path = Path(TRENDS.day_file(str(store), DAY))
    before = path.read_bytes()
    again = run_trends(str(store), DAY, data.WATCH)
    assert again.written == [] and again.unchanged == ["trends", "trends_hourly"]
    path.unlink()
    run_trends(str(store), DAY, data.WATCH)
    assert path.read_bytes() == before


def test_without_watch_keeps_every_brand_with_its_recorded_group(tmp_path):
    data.build(tmp_path)
    run_trends(str(tmp_path), DAY, None, n_terms=0)
    day = rows(tmp_path, DAY)
    assert day[("Apple", "ptt", "MobileComm")]["group"] == "phones"
    assert day[("Apple", "ptt", "MobileComm")]["top_terms"] == []


def test_watch_limits_brands_and_sets_groups(tmp_path):
    data.build(tmp_path)
    entries = parse_watch({"brands": [{"name": "Samsung", "group": "android"}]})
    run_trends(str(tmp_path), DAY, entries, n_terms=0)
    day = rows(tmp_path, DAY)
    assert {k[0] for k in day} == {"Samsung"}
    assert day[("Samsung", "ptt", "MobileComm")]["group"] == "android"


def test_empty_day_is_written_and_old_hourly_days_are_pruned(tmp_path):
    data.build(tmp_path)
    for day in ("2024-02-18", "2024-02-19", DAY):
        stats = run_trends(str(tmp_path), day, data.WATCH, keep_hourly_days=2, n_terms=0)
    assert stats.pruned == ["2024-02-18"]
    assert stored_days(str(tmp_path), TRENDS) == ["2024-02-18", "2024-02-19", DAY]  # 18th: no rows
    assert stored_days(str(tmp_path), TRENDS_HOURLY) == ["2024-02-19", DAY]
    assert read_trends(str(tmp_path), "2024-02-18", "2024-02-18").num_rows == 0
    old = run_trends(str(tmp_path), "2024-02-10", data.WATCH, keep_hourly_days=2, n_terms=0)
    assert "trends_hourly" not in old.written


@pytest.mark.shared
def test_real_ptt_thread(shared, tmp_path):
    """食品與營養 (Gossiping, 2007): the post names 防腐劑 and 豆腐; pushes 6 and 12 (推) and 27 (→)
    name 防腐劑; pushes 25 and 39 (推) and 41 (→, by javriy, who also wrote 39) name 豆腐."""
    from koubei.spiders.parsers.ptt import parse_article

    page = shared / "fixtures" / "ptt" / "ptt_Gossiping_M.1175469904.A.05B.html"
    thread = parse_article(page.read_bytes()).finalize()
    RawStore(str(tmp_path)).upsert_threads([thread])
    watch = {"brands": [{"name": "防腐劑", "group": "食品"}, {"name": "豆腐", "group": "食品"}]}
    matcher = BrandMatcher(parse_watch(watch))
    data.write_rows(tmp_path, "ptt", "2007-04-02", "Gossiping", data.enriched_from_thread(thread, matcher))
    run_trends(str(tmp_path), "2007-04-02", parse_watch(watch))
    day = rows(tmp_path, "2007-04-02")
    preservative = day[("防腐劑", "ptt", "Gossiping")]
    assert (preservative["posts"], preservative["comments"], preservative["authors"]) == (1, 3, 3)
    assert (preservative["positive"], preservative["neutral"], preservative["negative"]) == (2, 2, 0)
    # The page counts 推 35, 噓 0, → 10 and 45 comments.
    assert (preservative["pushes"], preservative["boos"], preservative["arrows"]) == (35, 0, 10)
    assert preservative["comments_received"] == 45
    tofu = day[("豆腐", "ptt", "Gossiping")]
    assert (tofu["mentions"], tofu["authors"], tofu["positive"]) == (4, 3, 2)
    assert (tofu["group_mentions"], tofu["sov"]) == (8, 0.5)


def test_trends_read_what_the_enrich_stage_writes(tmp_path):
    """The contract: the real enrich stage (a tiny random model: labels are noise) on the same raw
    threads gives the hand-counted volumes; only the sentiment split depends on the model."""
    from koubei.models.export import random_model
    from koubei.pipelines.enrich import run_enrich

    RawStore(str(tmp_path / "data")).upsert_threads(data.raw_thread(t) for t in data.THREADS)
    texts = [t.text for t in data.THREADS] * 3
    model = random_model(tmp_path / "sentiment", texts, layers=1, hidden=32, heads=2, init_std=0.2)
    run_enrich(str(tmp_path / "data"), watch=data.WATCH, model_dir=model, backend="torch")
    run_trends(str(tmp_path / "data"), DAY, data.WATCH, n_terms=0)
    volumes = {
        key: (r["posts"], r["comments"], r["authors"], r["pushes"], r["likes"])
        for key, r in rows(tmp_path / "data", DAY).items()
    }
    assert volumes == {
        ("Apple", "ptt", "MobileComm"): (1, 3, 4, 10, 0),
        ("Apple", "ptt", "Lifeismoney"): (0, 1, 1, 0, 0),
        ("Apple", "dcard", "3c"): (1, 0, 1, 0, 12),
        ("Samsung", "ptt", "MobileComm"): (1, 3, 4, 20, 0),
        ("Samsung", "dcard", "3c"): (1, 1, 1, 0, 15),
        ("全聯", "ptt", "Lifeismoney"): (1, 0, 1, 5, 0),
    }
    for r in rows(tmp_path / "data", DAY).values():
        assert r["positive"] + r["neutral"] + r["negative"] + r["unscored"] == r["mentions"]
