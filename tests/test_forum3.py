"""The team-annotated forum corpus (issue 10): ids resolve to real text, splits keep threads apart,
the samplers are reproducible, mention spans point at their entity, and the eval commands run."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from koubei.models import forum_labels, forum_sample, labeled, mention_sample
from koubei.models.targets import FORMAT, sentence_target, target_input, window
from koubei.pipelines.cli_eval import eval_group

MENTION_FIXTURE = Path(__file__).parent / "fixtures" / "mentions" / "sample.csv"


# --------------------------------------------------------------------------- pure parts, no shared


def test_entity_spans_take_the_longest_alias_and_need_latin_word_edges():
    spans = mention_sample.entity_spans("台積電跟聯發科，TSMC不是TSMCX，Apple的iPhone")
    assert spans == [
        ("台積電", 0, 3),
        ("聯發科", 4, 7),
        ("台積電", 8, 12),
        ("Apple", 20, 25),
        ("Apple", 26, 32),
    ]
    assert mention_sample.entity_spans("全家人都去全家便利商店") == [("全家", 5, 11)]


def test_sentences_split_on_end_marks_and_newlines_with_offsets():
    text = "第一句。 第二句！\n第三句?"
    got = [text[s:e] for s, e in mention_sample.sentences(text)]
    assert got == ["第一句。", "第二句！", "第三句?"]


def test_target_input_is_alias_sep_window():
    sentence = "我覺得" + "很" * 40 + "iPhone比三星好用"
    start = sentence.index("三星")
    assert window(sentence, start, start + 2, 5) == "hone比三星好用"
    assert sentence_target(sentence, start, start + 2, 5) == "三星[SEP]hone比三星好用"
    assert target_input("全聯", "全聯很好") == "全聯[SEP]全聯很好" and FORMAT == "alias[SEP]window"


def test_split_is_a_pure_function_of_the_thread():
    assert {forum_sample.split_of("dcard:1"), forum_sample.split_of("dcard:1")} == {
        forum_sample.split_of("dcard:1")
    }
    counts = Counter(forum_sample.split_of(f"thread-{i}") for i in range(5000))
    assert 0.17 < counts["test"] / 5000 < 0.23 and 0.08 < counts["dev"] / 5000 < 0.12


def test_eval_mentions_prints_three_systems_and_rejects_a_bad_file(tmp_path):
    runner = CliRunner()
    out = runner.invoke(eval_group, ["mentions", "--data", str(MENTION_FIXTURE)], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "4 rows" in out.output
    for system in ("target", "whole sentence", "window only"):
        assert system in out.output
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nx,positive\n", encoding="utf-8")
    out = runner.invoke(eval_group, ["mentions", "--data", str(bad)])
    assert out.exit_code != 0 and "no column 'sentence'" in out.output


# --------------------------------------------------------------------------- the corpus, with shared


@pytest.fixture(scope="module")
def corpus(shared):
    return forum_labels.load_forum3(shared_root=shared)


def test_every_label_resolves_to_real_text_and_counts_hold(corpus):
    assert len(corpus) >= 6000
    comments = [i for i in corpus if i["field"] in labeled.COMMENT_FIELDS]
    titles = [i for i in corpus if i["field"] in ("title", "body")]
    assert len(comments) >= 5000 and len(titles) >= 1000
    assert {i["label"] for i in corpus} == set(labeled.LABELS3)
    assert all(i["text"].strip() for i in corpus)
    sites = Counter(i["source"].split("/")[-1].split("_")[0] for i in comments)
    assert {"ptt", "dcard", "mobile01", "Gossiping.json.gz"} <= set(sites)


def test_no_thread_is_on_two_sides(corpus):
    sides: dict[str, set[str]] = {}
    for item in corpus:
        sides.setdefault(item["thread"], set()).add(item["split"])
        assert item["split"] == forum_sample.split_of(item["thread"])
    assert all(len(s) == 1 for s in sides.values())


def test_second_pass_agreement_is_recomputable(shared):
    first = forum_labels._read(forum_labels.FORUM3_CSV)
    second = forum_labels._read(forum_labels.SECOND_PASS_CSV)
    assert len(second) >= 0.1 * sum(1 for r in first if r["annotator"].startswith("A"))
    by_id = {(r["source"], r["record"], r["comment"], r["field"]): r["annotator"] for r in first}
    for r in second:  # the second annotator is never the first one
        assert by_id[(r["source"], r["record"], r["comment"], r["field"])] != r["annotator"]
    agree = forum_labels.agreement(first, second)
    assert agree["items"] == len(second) and agree["kappa"] > 0.8


def test_round_one_sample_is_reproducible(shared):
    drawn = forum_sample.sample(shared)
    key = lambda r: (r["source"], str(r["record"]), str(r["comment"]), r["field"])  # noqa: E731
    labelled = {key(r) for r in forum_labels._read(forum_labels.FORUM3_CSV) if r["annotator"].startswith("A")}
    assert {key(r) for r in drawn} == labelled


def test_mention_rows_point_at_their_entity(shared):
    rows = forum_labels.load_mentions(shared_root=shared)
    assert len({(r["source"], r["record"], r["comment"], r["sent_start"]) for r in rows}) >= 500
    for r in rows:
        alias = r["sentence"][r["ent_start"] : r["ent_end"]]
        assert alias in mention_sample.ENTITIES[r["entity"]], (alias, r["entity"])
    assert {r["label"] for r in rows} == {"negative", "neutral", "positive"}


def test_export_writes_the_comment_test_split(shared, tmp_path):
    out = tmp_path / "forum3-test.csv"
    n = forum_labels.export("test", out, shared, comments_only=True)
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == n > 900 and set(rows[0]) == {"text", "label"}


def test_teacher_pool_is_unlabelled_text_from_train_threads_only(shared):
    from koubei.models.pseudo_label import forum_pool

    pool = forum_pool(400, root=shared)
    labelled = {
        (r["source"], str(r["record"]), str(r["comment"]), r["field"])
        for r in forum_labels._read(forum_labels.FORUM3_CSV)
    }
    assert len(pool) >= 300
    assert all(forum_sample.split_of(c["thread"]) == "train" for c in pool)
    assert not {(c["source"], str(c["record"]), str(c["comment"]), c["field"]) for c in pool} & labelled
    assert len({c["source"] for c in pool}) >= 5
