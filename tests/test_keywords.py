"""Keyword extraction with corpus-learned IDF (koubei.nlp.keywords)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import jieba.analyse
import pandas as pd
import pytest
from koubei.nlp.clean import clean_text, split_ptt_body
from koubei.nlp.keywords import IdfModel
from koubei.nlp.segment import Segmenter, default_segmenter, stopwords

DOCS = [
    "全聯的咖啡很好喝",
    "全聯比較便宜",
    "7-11的咖啡很貴，CP值低",
    "業配文 https://reurl.cc/abc 又是業配文",
]


def test_fit_learns_log_inverse_document_frequency():
    model = IdfModel().fit(DOCS)
    assert model.n_docs_ == 4
    assert model.idf_ == pytest.approx(
        {
            "全聯": math.log(4 / 2),
            "咖啡": math.log(4 / 2),
            "好喝": math.log(4),
            "便宜": math.log(4),
            "7-11": math.log(4),
            "貴": math.log(4),
            "CP值": math.log(4),
            "低": math.log(4),
            "業配文": math.log(4),  # twice in one document: document frequency 1
        }
    )
    assert IdfModel(min_df=2).fit(DOCS).idf_.keys() == {"全聯", "咖啡"}
    with pytest.raises(ValueError):
        IdfModel().fit([])


def test_aliases_with_spaces_are_left_out_of_the_idf_table():
    model = IdfModel(Segmenter(["iPhone 15 Pro"])).fit(["我的iPhone 15 Pro壞了", "iPhone 15 Pro很好"])
    assert "iPhone 15 Pro" not in model.idf_
    assert model.idf_["壞"] == pytest.approx(math.log(2))


def test_save_writes_jieba_idf_format_and_load_reads_it(tmp_path):
    model = IdfModel().fit(DOCS)
    path = tmp_path / "idf.txt"
    model.save(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "7-11 1.386294"  # highest IDF first, then by word
    assert lines[-2:] == ["全聯 0.693147", "咖啡 0.693147"]
    loaded = IdfModel.load(path)
    assert loaded.idf_ == pytest.approx(model.idf_, abs=1e-6)
    assert loaded.median_idf_ == pytest.approx(math.log(4), abs=1e-6)


def test_extract_tags_matches_jieba_analyse_with_the_same_idf_and_tokenizer(tmp_path):
    model = IdfModel().fit(DOCS)
    path = tmp_path / "idf.txt"
    model.save(path)
    reference = jieba.analyse.TFIDF(str(path))
    reference.tokenizer = SimpleNamespace(cut=default_segmenter().words)
    reference.stop_words |= stopwords()
    text = "全聯的咖啡便宜，全聯的新品好喝，CP值高"
    ours = model.extract_tags(text, topK=None, withWeight=True)
    theirs = reference.extract_tags(text, topK=None, withWeight=True)
    assert [w for w, _ in ours] == [w for w, _ in theirs] == ["全聯", "便宜", "新品", "好喝", "CP值", "咖啡"]
    assert [v for _, v in ours] == pytest.approx([v for _, v in theirs], abs=1e-6)  # ties keep text order
    assert model.extract_tags(text, topK=2) == ["全聯", "便宜"]
    # 新品 is not in the IDF table: it gets the (upper) median IDF, as in jieba; 7 words counted
    assert dict(ours)["新品"] == pytest.approx(model.median_idf_ / 7)


@pytest.mark.shared
def test_trend_terms_of_a_real_post_with_idf_from_real_posts(shared):
    posts = pd.read_csv(shared / "data/ptt_happy_hate_sad/train.csv.gz")["content"].fillna("")
    own = [clean_text(split_ptt_body(p).own) for p in posts]
    model = IdfModel().fit(own)
    assert model.n_docs_ == 11438
    assert model.extract_tags(own[3], topK=5) == ["賣噹噹", "今早", "產品", "心血來潮", "身心"]
    assert "的" not in model.idf_  # stopwords never reach the table
    assert model.idf_["業配"] == pytest.approx(math.log(11438 / 6))  # in 6 posts' own text
