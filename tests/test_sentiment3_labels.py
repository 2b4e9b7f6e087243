"""The hand-labeled 3-class PTT set: well-formed ids and labels, ids that resolve to real text,
and the agreement numbers in GUIDELINES.md recomputed from the label files."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from koubei.models.labeled import (
    GOSSIPING_2018,
    LABELS3,
    LABELS_CSV,
    PUSH_SOURCES,
    PUSH_TAGS,
    TITLE_SOURCES,
    LabeledDataError,
    export_csv,
    item_key,
    join_text,
    load_sentiment3,
    read_articles,
    read_label_rows,
)

FIXTURE = LABELS_CSV.parent
SECOND_PASS = FIXTURE / "labels_second_pass.csv"
GUIDELINES = (FIXTURE / "GUIDELINES.md").read_text(encoding="utf-8")


def _load_fixture_module(name: str):
    spec = importlib.util.spec_from_file_location(f"sentiment3_{name}", FIXTURE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sample = _load_fixture_module("sample")
report = _load_fixture_module("report")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read_label_rows(LABELS_CSV)


# ------------------------------------------------------------------------------- label file, no text


def test_label_file_columns_and_size(rows):
    with LABELS_CSV.open(encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == ["source", "record", "comment", "field", "push_tag", "label", "note"]
    assert len(rows) >= 450
    assert Counter(r["field"] for r in rows) == {"push": 350, "title": 150}


def test_every_label_and_id_is_well_formed(rows):
    assert {r["label"] for r in rows} == set(LABELS3)
    assert {r["field"] for r in rows} == {"push", "title"}  # the issue-4 set: PTT pushes and titles only
    for r in rows:
        source, record, comment, field = item_key(r)
        assert record >= 0
        if field == "push":
            assert source in PUSH_SOURCES and r["push_tag"] in PUSH_TAGS and comment is not None
        else:
            assert source in TITLE_SOURCES and r["push_tag"] == "" and comment is None


def test_ids_are_unique(rows):
    keys = [item_key(r) for r in rows]
    assert len(set(keys)) == len(keys)


def test_no_text_column_in_repo_files(rows):
    # Text stays in ../shared; notes are short reasons, not copies of posts.
    assert "text" not in rows[0]
    assert max(len(r["note"]) for r in rows) <= 80


def test_second_pass_is_the_documented_random_fifth(rows):
    second = read_label_rows(SECOND_PASS)
    assert [item_key(r) for r in second] == [item_key(r) for r in sample.second_pass_rows(rows)]
    assert len(second) == 100
    assert {r["label"] for r in second} <= set(LABELS3)


def test_kappa_in_guidelines_matches_the_label_files():
    match = re.search(r"Cohen's κ = ([0-9.]+)", GUIDELINES)
    assert match, "GUIDELINES.md must state Cohen's κ = <number>"
    assert report.intra_annotator_kappa() == pytest.approx(float(match.group(1)), abs=0.001)


def test_tag_rule_macro_f1_in_guidelines_matches(rows):
    match = re.search(r"macro-F1 ([0-9.]+)\*\*", GUIDELINES)
    assert match
    assert report.tag_rule_macro_f1(rows) == pytest.approx(float(match.group(1)), abs=0.001)


def test_first_and_second_pass_differ_on_exactly_one_item():
    first, second = report.paired_labels()
    assert sum(a != b for a, b in zip(first, second, strict=True)) == 1


# ------------------------------------------------------------------------------- joining on a tiny fake root


def _fake_root(tmp_path: Path) -> Path:
    path = tmp_path / GOSSIPING_2018
    path.parent.mkdir(parents=True)
    articles = {
        "articles": [
            {
                "board": "Gossiping",
                "article_title": "[問卦] 測試",
                "messages": [
                    {
                        "push_tag": "推",
                        "push_content": "笑死",
                        "push_userid": "a",
                        "push_ipdatetime": "1.2.3.4 10/29 12:34",
                    },
                    {
                        "push_tag": "噓",
                        "push_content": "",
                        "push_userid": "b",
                        "push_ipdatetime": "1.2.3.4 10/29 12:35",
                    },
                ],
            }
        ]
    }
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(articles, f, ensure_ascii=False)
    return tmp_path


def _row(record: int, comment: str, tag: str, field: str = "push") -> dict:
    return {
        "source": GOSSIPING_2018,
        "record": str(record),
        "comment": comment,
        "field": field,
        "push_tag": tag,
        "label": "positive",
        "note": "",
    }


def test_join_text_on_a_fake_root(tmp_path):
    root = _fake_root(tmp_path)
    [push, title] = join_text([_row(0, "0", "推"), _row(0, "", "", "title")], root)
    assert (push["text"], push["push_tag"], push["comment"], push["board"]) == ("笑死", "推", 0, "Gossiping")
    assert (title["text"], title["push_tag"], title["comment"]) == ("[問卦] 測試", None, None)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_row(5, "0", "推"), "Gossiping.json.gz record 5 comment 0: record not found"),
        (_row(0, "7", "推"), "record 0 comment 7: push not found"),
        (_row(0, "0", "噓"), "push tag is '推', labels say '噓'"),
        (_row(0, "1", "噓"), "record 0 comment 1: empty push"),
    ],
)
def test_unresolvable_ids_raise_naming_them(tmp_path, row, message):
    with pytest.raises(LabeledDataError, match=re.escape(message)):
        join_text([row], _fake_root(tmp_path))


def test_unknown_source_and_missing_file_raise(tmp_path):
    with pytest.raises(LabeledDataError, match="unknown source"):
        read_articles("data/nope.json.gz", tmp_path)
    with pytest.raises(LabeledDataError, match="shared file not found"):
        list(read_articles(GOSSIPING_2018, tmp_path))


def test_keep_push_drops_only_empty_and_lone_punctuation():
    assert [sample.keep_push(t) for t in ["", "？", "。", "推", "卡", "= =", "..", "笑死"]] == [
        False,
        False,
        False,
        True,
        True,
        True,
        True,
        True,
    ]


# ------------------------------------------------------------------------------- real text from ../shared


@pytest.fixture(scope="module")
def items(shared) -> list[dict]:
    return load_sentiment3(shared)


@pytest.mark.shared
def test_every_id_resolves_to_real_text(items, rows):
    assert len(items) == len(rows) == 500
    assert all(item["text"].strip() for item in items)
    assert [item["label"] for item in items] == [r["label"] for r in rows]
    assert Counter(item["board"] for item in items if item["field"] == "push") == {
        "Gossiping": 200,
        "Stock": 150,
    }


@pytest.mark.shared
def test_known_items_have_their_real_text(items):
    by_text = {item["text"]: item for item in items}
    assert by_text["廢文"]["label"] == "negative"
    assert by_text["謝原Po分享~"]["label"] == "positive"
    assert by_text["[好雷] 薩滿"]["label"] == "positive"
    first = items[0]
    assert (first["source"], first["record"], first["comment"], first["push_tag"]) == (
        GOSSIPING_2018,
        0,
        44,
        "→",
    )
    assert first["text"] == "闆睡覺 純聊天不行 嫌醜可以踢開啊 他會"


@pytest.mark.shared
def test_export_csv_writes_text_and_label(shared, tmp_path):
    out = tmp_path / "sentiment3.csv"
    assert export_csv(out, shared) == 500
    with out.open(encoding="utf-8") as f:
        exported = list(csv.DictReader(f))
    assert list(exported[0]) == ["text", "label"]
    assert len(exported) == 500 and exported[0]["text"] == "闆睡覺 純聊天不行 嫌醜可以踢開啊 他會"


@pytest.mark.shared
def test_sampling_script_reproduces_the_labeled_ids(shared, rows):
    drawn = sample.sample_ids(shared)
    assert [item_key({k: str(v) for k, v in r.items()}) for r in drawn] == [item_key(r) for r in rows]
    assert [r["push_tag"] for r in drawn] == [r["push_tag"] for r in rows]
