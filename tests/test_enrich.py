"""The enrich stage on small raw stores: own text, mentions with spans, windowed mention sentiment,
sponsored reasons, idempotent re-runs, the declared schema, and the ONNX export it runs on.

The model is a tiny random-init BERT with a real tokenizer (the lead trains the real one): what is
checked is which text reaches the classifier, not what it answers.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from koubei.models.classifier import TextClassifier
from koubei.models.export import agreement, export_onnx, random_model
from koubei.pipelines.cli_enrich import enrich
from koubei.pipelines.enrich import META_KEY, RuleDetector, run_enrich
from koubei.pipelines.schemas import COMMENTS, ENRICHED
from koubei.pipelines.store import RawStore, read_dataset
from koubei.spiders.items import CommentRecord, PostRecord, ThreadItem

FIXTURES = Path(__file__).parent / "fixtures" / "enrich"
WATCH = FIXTURES / "watch.yaml"
CRAWLED = datetime(2026, 11, 23, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
LATE = datetime(2024, 2, 20, 17, 30, tzinfo=UTC)  # 2024-02-21 01:30 in Taipei

REVIEW_BODY = (
    "用了一個月 iPhone 的電池比三星好很多\n"
    "\n"
    "※ 引述《someone (某人)》之銘言：\n"
    ": 三星 Galaxy 的螢幕才是最強\n"
    ": 蘋果只是貴\n"
    "\n"
    "--\n"
    "三星粉退散\n"
)


def thread(
    post_id: str,
    title: str,
    content: str,
    comments: list[tuple[str | None, str]],
    *,
    created: datetime = LATE,
    board: str = "MobileComm",
    platform: str = "ptt",
) -> ThreadItem:
    post = PostRecord(
        platform,
        board,
        post_id,
        f"https://example.invalid/{board}/{post_id}",
        title=title,
        author_id="op",
        created_at=created,
        content=content,
        crawled_at=CRAWLED,
        comment_count=len(comments),
    )
    records = [
        CommentRecord(
            platform, board, post_id, seq, f"user{seq}", tag, text, created, "minute", crawled_at=CRAWLED
        )
        for seq, (tag, text) in enumerate(comments, 1)
    ]
    return ThreadItem(post, records).finalize()


def fixture_threads() -> list[ThreadItem]:
    review = thread(
        "M.1708450200.A.001",
        "[心得] iPhone 15 用了一個月",
        REVIEW_BODY,
        [
            ("push", "蘋果日報說三星要出新機"),  # 蘋果 inside 蘋果日報 does not count
            ("boo", "iPhone 爛透了"),
            ("neutral", ""),
            ("push", "https://i.imgur.com/abc.jpg"),
            ("push", "推"),
        ],
    )
    ad = thread(
        "M.1708450300.A.002",
        "[食記] 台北 好吃拉麵",
        "本篇為店家邀約試吃，餐點免費提供。\n湯頭濃郁 推薦",
        [("push", "這篇是業配吧")],  # an accusation in a push, not a disclosure
    )
    dcard = thread(
        "255000001",
        "S24 開箱",
        "三星 Galaxy S24 開箱\n> 引用別人的話 蘋果很讚\n我覺得不錯",
        [(None, "B1 我也覺得三星不錯")],
        created=datetime(2024, 2, 22, 4, 0, tzinfo=UTC),
        board="3c",
        platform="dcard",
    )
    return [review, ad, dcard]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    texts = [t.post.content for t in fixture_threads()] + ["今天天氣很好", "這家店很難吃", "推推 好用"] * 5
    out = random_model(
        tmp_path_factory.mktemp("model") / "sentiment", texts, layers=2, hidden=64, heads=2, init_std=0.2
    )
    export_onnx(out)
    return out


@pytest.fixture
def root(tmp_path) -> str:
    root = str(tmp_path / "data")
    RawStore(root).upsert_threads(fixture_threads())
    return root


def rows_by_key(root: str) -> dict[tuple[str, int], dict]:
    return {(r["post_id"], r["seq"]): r for r in read_dataset(root, "enriched").to_pylist()}


def spans(row: dict) -> list[tuple[str, str, int, int, str]]:
    """(brand, field, start, end, the text the span covers) of a row's mentions."""
    return [
        (m["brand"], m["field"], m["start"], m["end"], row[m["field"]][m["start"] : m["end"]])
        for m in row["mentions"]
    ]


def test_units_own_text_and_mentions_with_spans(root, model):
    stats = run_enrich(root, watch=WATCH, model_dir=model, backend="onnx", now=NOW)
    assert (stats.partitions, stats.written, stats.posts, stats.comments, stats.rows) == (2, 2, 3, 7, 10)
    assert stats.not_scored == {"empty_text": 1, "no_words": 1} and stats.mentions == 8
    rows = rows_by_key(root)

    post = rows[("M.1708450200.A.001", 0)]
    assert (post["kind"], post["platform"], post["date"], post["board"]) == (
        "post",
        "ptt",
        "2024-02-21",
        "MobileComm",
    )
    assert post["title"] == "[心得] iPhone 15 用了一個月"
    assert (
        post["text"] == "用了一個月 iPhone 的電池比三星好很多"
    )  # quote and signature are not the author's text
    assert spans(post) == [
        ("Apple", "title", 5, 11, "iPhone"),
        ("Apple", "text", 6, 12, "iPhone"),
        ("Samsung", "text", 17, 19, "三星"),
    ]
    assert post["comment_count"] == 5 and post["tag"] is None

    assert spans(rows[("M.1708450200.A.001", 1)]) == [("Samsung", "text", 5, 7, "三星")]
    assert spans(rows[("M.1708450200.A.001", 2)]) == [("Apple", "text", 0, 6, "iPhone")]
    assert rows[("M.1708450200.A.001", 2)]["tag"] == "boo"
    for seq in (3, 4):  # "" and a bare link: kept, not scored
        row = rows[("M.1708450200.A.001", seq)]
        assert row["sentiment"] is None and row["p_positive"] is None and row["mentions"] == []
    assert rows[("M.1708450200.A.001", 5)]["sentiment"] in ("negative", "neutral", "positive")

    dcard = rows[("255000001", 0)]
    assert (dcard["platform"], dcard["date"], dcard["text"]) == (
        "dcard",
        "2024-02-22",
        "三星 Galaxy S24 開箱\n我覺得不錯",
    )
    assert spans(dcard) == [("Samsung", "text", 0, 2, "三星"), ("Samsung", "text", 3, 9, "Galaxy")]
    reply = rows[("255000001", 1)]
    assert reply["text"] == "我也覺得三星不錯" and spans(reply) == [("Samsung", "text", 4, 6, "三星")]
    assert all(r["model_version"] == stats.model_version for r in rows.values())
    assert stats.model_version.startswith("sentiment@") and stats.model_version.endswith("/onnx")


def test_sentiment_reads_own_text_and_mention_windows(root, model):
    run_enrich(root, watch=WATCH, model_dir=model, backend="onnx", now=NOW)
    post = rows_by_key(root)[("M.1708450200.A.001", 0)]
    clf = TextClassifier(model, backend="onnx")

    def scores(text: str) -> np.ndarray:
        return clf.predict_proba([text])[0]

    got = np.array([post["p_negative"], post["p_neutral"], post["p_positive"]])
    own = scores("[心得] iPhone 15 用了一個月\n用了一個月 iPhone 的電池比三星好很多")
    with_quote = scores(f"[心得] iPhone 15 用了一個月\n{REVIEW_BODY}")
    assert np.abs(got - own).max() < 1e-5 and np.abs(got - with_quote).max() > 1e-3
    assert abs(got.sum() - 1) < 1e-5

    # Samsung's window is 5 characters either side of 三星 (text[12:24]), not the whole text.
    samsung = post["mentions"][2]
    window = scores(" 的電池比三星好很多")
    assert post["text"][12:24] == " 的電池比三星好很多"
    assert samsung["sentiment"] == clf.labels[int(np.argmax(window))]
    assert abs(samsung["score"] - window.max()) < 1e-5 and abs(window.max() - own.max()) > 1e-3
    title_apple = post["mentions"][0]  # window 30: the whole title
    assert abs(title_apple["score"] - scores("[心得] iPhone 15 用了一個月").max()) < 1e-5


class FakeModelDetector:
    """Stands in for the sponsored model the lead adds later: reasons from a second source."""

    version = "fake-model@1"

    def reasons(self, items):
        return [["model:0.97"] if "拉麵" in item.title or "開箱" in item.title else [] for item in items]


def test_sponsored_flag_takes_reasons_from_every_detector(root, model):
    stats = run_enrich(root, model_dir=model, backend="onnx", now=NOW)
    rows = rows_by_key(root)
    ad = rows[("M.1708450300.A.002", 0)]
    assert ad["sponsored"] is True and ad["sponsored_reasons"] == [
        "rule:disclosure_statement: 本篇為店家邀約",
        "rule:vendor_invitation: 本篇為店家邀約",
    ]
    assert rows[("M.1708450300.A.002", 1)]["sponsored"] is False  # 「這篇是業配吧」
    assert stats.sponsored == 1 and sum(r["sponsored"] for r in rows.values()) == 1
    assert all(r["mentions"] is None for r in rows.values())  # no watch list: not looked for

    stats = run_enrich(
        root, model_dir=model, backend="onnx", now=NOW, sponsored=[RuleDetector(), FakeModelDetector()]
    )
    rows = rows_by_key(root)
    assert stats.written == 2  # a new detector changes the output: nothing skipped
    assert rows[("M.1708450300.A.002", 0)]["sponsored_reasons"][-1] == "model:0.97"
    assert rows[("255000001", 0)]["sponsored_reasons"] == ["model:0.97"] and stats.sponsored == 2


def enriched_files(root: str) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root, "enriched").rglob("*.parquet"))
    }


def test_rerun_is_idempotent_and_redoes_only_changed_partitions(root, model, tmp_path):
    first = run_enrich(root, watch=WATCH, model_dir=model, now=NOW)  # default backend: onnx-int8
    assert first.model_version.endswith("/onnx-int8") and first.written == 2
    files = enriched_files(root)
    mtimes = {p: p.stat().st_mtime_ns for p in Path(root, "enriched").rglob("*.parquet")}

    again = run_enrich(root, watch=WATCH, model_dir=model, now=datetime.now(UTC))
    assert (again.written, again.unchanged, again.rows) == (0, 2, 0)
    assert again.skipped["unchanged"] == first.rows == 10
    assert enriched_files(root) == files and all(p.stat().st_mtime_ns == t for p, t in mtimes.items())

    forced = run_enrich(root, watch=WATCH, model_dir=model, now=NOW, force=True)
    assert forced.written == 2 and enriched_files(root) == files  # same inputs, same bytes

    changed = fixture_threads()[1]
    changed.comments.append(
        CommentRecord(
            "ptt", "MobileComm", changed.post.post_id, 2, "x", "push", "好吃", LATE, crawled_at=CRAWLED
        )
    )
    RawStore(root).upsert_threads([changed.finalize()])
    third = run_enrich(root, watch=WATCH, model_dir=model, now=NOW)
    assert (third.written, third.unchanged, third.posts, third.comments) == (1, 1, 2, 7)
    assert (
        enriched_files(root)["enriched/platform=dcard/date=2024-02-22/3c.parquet"]
        == files["enriched/platform=dcard/date=2024-02-22/3c.parquet"]
    )

    other_watch = tmp_path / "watch.yaml"
    other_watch.write_text("brands:\n  - name: Apple\n    aliases: [iPhone]\n", encoding="utf-8")
    assert run_enrich(root, watch=other_watch, model_dir=model, now=NOW).written == 2


def test_file_schema_and_recorded_inputs(root, model):
    run_enrich(root, watch=WATCH, model_dir=model, backend="onnx", now=NOW)
    path = Path(root, "enriched/platform=ptt/date=2024-02-21/MobileComm.parquet")
    schema = pq.read_schema(path)
    assert schema.equals(ENRICHED.file_schema, check_metadata=False)
    assert read_dataset(root, "enriched").schema.equals(ENRICHED.schema, check_metadata=False)
    assert schema.field("mentions").type == pa.list_(ENRICHED.file_schema.field("mentions").type.value_type)
    record = json.loads(schema.metadata[META_KEY])
    for kind in ("posts", "comments"):
        raw = Path(root, kind, "platform=ptt/date=2024-02-21/MobileComm.parquet").read_bytes()
        assert record["raw"][kind] == hashlib.sha256(raw).hexdigest()
    assert (
        record["model"].endswith("/onnx") and record["watch"] and record["sponsored"][0].startswith("rules@")
    )
    table = pq.read_table(path)
    assert table.column("enriched_at").to_pylist() == [NOW] * table.num_rows
    assert table.column("seq").to_pylist() == [0, 1, 2, 3, 4, 5, 0, 1]  # post then its comments, by post id


def test_filters_and_orphan_comments(root, model):
    stats = run_enrich(root, model_dir=model, backend="onnx", platform="dcard", now=NOW)
    assert (stats.partitions, stats.posts, stats.comments) == (1, 1, 1)
    assert run_enrich(root, model_dir=model, backend="onnx", day="2024-02-21", now=NOW).partitions == 1
    assert run_enrich(root, model_dir=model, backend="onnx", day="2024-02-23", now=NOW).partitions == 0

    # A crawl killed between its comments and posts writes leaves comments without their post.
    store = RawStore(root)
    path = store.partition_file(COMMENTS, "ptt", "2024-02-21", "MobileComm")
    comments = pq.read_table(path).to_pylist()
    comments.append({**comments[0], "post_id": "M.1708450900.A.009"})
    store.write_file(path, pa.Table.from_pylist(comments, schema=pq.read_schema(path)))
    stats = run_enrich(root, model_dir=model, backend="onnx", day="2024-02-21", now=NOW)
    assert stats.skipped["orphan_comment"] == 1 and stats.comments == 6 and stats.written == 1


def test_onnx_export_matches_torch_and_int8_runs(model):
    texts = [
        "好",
        "iPhone 爛透了",
        "今天天氣很好" * 40,
        "",
        "推推推",
        "這家店很難吃，不會再來了",
        "三星 Galaxy S24 開箱",
    ]
    report = agreement(model, texts, batch_size=3)  # mixed lengths: padded batches
    assert report["n"] == 7 and report["labels"] == ["negative", "neutral", "positive"]
    assert report["onnx"]["max_abs_dprob"] < 1e-4 and report["onnx"]["label_agreement"] == 1.0
    assert report["onnx-int8"]["max_abs_dprob"] < 0.1  # a random model: only that it runs sanely
    assert report["onnx-int8"]["file_mb"] < report["onnx"]["file_mb"]

    proto = onnx.load(str(model / "model.onnx"), load_external_data=False)
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert sorted(model.glob("*.onnx*")) == [model / "model.int8.onnx", model / "model.onnx"]  # one file each
    assert [i.name for i in proto.graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert [d.dim_param for d in proto.graph.input[0].type.tensor_type.shape.dim] == ["batch", "sequence"]
    assert proto.opset_import[0].version == 17

    int8 = TextClassifier(model, backend="onnx-int8").predict_proba(texts)
    assert int8.shape == (7, 3) and np.allclose(int8.sum(axis=1), 1, atol=1e-5)


def test_cli_enrich(root, model):
    runner = CliRunner()
    args = ["--out", root, "--model", str(model), "--watch", str(WATCH), "--backend", "onnx"]
    result = runner.invoke(enrich, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "enrich: 2 partitions (2 written, 0 unchanged), 3 posts + 7 comments -> 10 rows"
    )
    assert "8 mentions, 1 sponsored" in result.output
    again = runner.invoke(enrich, args)
    assert "(0 written, 2 unchanged)" in again.output and "skipped: unchanged 10;" in again.output

    for extra, message in (
        (["--model", str(root)], "no sentiment model in"),
        (["--day", "2024-13-01"], "is not a YYYY-MM-DD date"),
        (["--watch", str(FIXTURES / "missing.yaml")], "cannot read watch file"),
    ):
        bad = runner.invoke(enrich, ["--out", root, "--model", str(model), *extra])
        assert bad.exit_code != 0 and message in bad.output and "Traceback" not in bad.output, bad.output


@pytest.mark.shared
def test_real_ptt_pages(shared, model, tmp_path):
    from koubei.spiders.parsers.ptt import parse_article

    pages = ["ptt_Gossiping_M.1175469904.A.05B.html", "ptt_Gossiping_M.1173456473.A.F4F.html"]
    threads = [
        parse_article((shared / "fixtures/ptt" / name).read_bytes(), crawled_at=CRAWLED) for name in pages
    ]
    root = str(tmp_path / "data")
    RawStore(root).upsert_threads(threads)
    stats = run_enrich(root, watch=WATCH, model_dir=model, now=NOW)
    assert (stats.partitions, stats.posts, stats.comments, stats.rows) == (2, 2, 85, 87)

    found: dict[tuple[str, int], list] = {}
    for row in read_dataset(root, "enriched").to_pylist():
        if row["mentions"]:
            found[(row["post_id"], row["seq"])] = spans(row)
    food, russia = "M.1175469904.A.05B", "M.1173456473.A.F4F"  # 食品與營養; 有沒有俄國人的八卦
    assert found[(food, 0)] == [
        ("Apple", "text", 2875, 2877, "蘋果"),
        ("Apple", "text", 2898, 2900, "蘋果"),
        ("Apple", "text", 2919, 2921, "蘋果"),
        ("防腐劑", "text", 2603, 2606, "防腐劑"),
        ("防腐劑", "text", 2621, 2624, "防腐劑"),
    ]
    assert found[(food, 6)] == [("防腐劑", "text", 24, 27, "防腐劑")]
    assert found[(food, 12)] == [("防腐劑", "text", 1, 4, "防腐劑")]
    assert found[(food, 27)] == [("防腐劑", "text", 8, 11, "防腐劑")]
    assert found[(russia, 0)] == [("LV", "text", 1108, 1110, "lv"), ("Gucci", "text", 1085, 1090, "gucci")]
    assert found[(russia, 4)] == [("LV", "text", 8, 10, "LV")]
    assert found[(russia, 7)] == [("LV", "text", 8, 10, "LV")]
    assert found[(russia, 9)] == [("Gucci", "text", 0, 5, "gucci")]
    assert len(found) == 8 and stats.mentions == 13 and stats.not_scored == {"empty_text": 2}


def test_target_trained_model_reads_alias_sep_window(root, model, tmp_path):
    """A model whose metrics.json declares ``mention_input`` gets ``alias [SEP] window`` per mention."""
    import shutil

    from koubei.models.targets import FORMAT

    targeted = tmp_path / "targeted"
    shutil.copytree(model, targeted)
    (targeted / "metrics.json").write_text(json.dumps({"mention_input": FORMAT}))
    run_enrich(root, watch=WATCH, model_dir=targeted, backend="onnx", now=NOW)
    post = rows_by_key(root)[("M.1708450200.A.001", 0)]
    clf = TextClassifier(targeted, backend="onnx")
    pair = clf.predict_proba(["三星[SEP] 的電池比三星好很多"])[0]
    window_only = clf.predict_proba([" 的電池比三星好很多"])[0]
    samsung = post["mentions"][2]
    assert samsung["brand"] == "Samsung" and post["text"][samsung["start"] : samsung["end"]] == "三星"
    assert abs(samsung["score"] - pair.max()) < 1e-5
    assert abs(pair.max() - window_only.max()) > 1e-4  # the entity prefix changes what the model reads
