"""Obvious sponsored-post (業配) rules: explicit disclosures, each rule named so a flag has a reason.

Bare keywords are not a detector: on real forum text 業配/廣告/合作 are far more often talked
*about* ("是業配文吧", "每次都看到這個廣告", "光合作用", "[廣告] 請繼續往下閱讀" in news) than
disclosed. So every rule matches a disclosure *construct* — a title tag, a "本篇為廠商邀約" sentence, a
"*為公關品" marker, the author's own referral link — and a match is dropped when

* it is negated right before the trigger word (非/不是/並非/沒有/無/未/不接受 …: 「這不是業配」,
  「本篇並非廠商邀約」, 「推薦人沒有分潤」),
* it is a question (吧/嗎/呢/ㄇ/？ right after: 「這篇是業配嗎？」),
* it sits in quoted text (PTT ``: `` lines and ``※ 引述`` blocks, via :func:`koubei.nlp.clean.split_ptt_body`),
* or, for title/hashtag tags only, the body states the post is *not* sponsored or was paid by the
  author (「並非廠商邀約」, 「餐點皆為自費」) — a board may require a tag the body then explains away.

Comments and pushes get only the affiliate rules: a disclosure-looking line in a push is an
accusation or a joke, never the commenter's own disclosure.

無償 is deliberately *not* a negation: Taiwanese bloggers write 「本文為免費與無償體驗」 to disclose a
gifted experience (real row: PTT Food, a [廣宣] post), which is a sponsorship.

Matching runs on :func:`koubei.nlp.normalize.fold` output (case/width/簡繁 folded per character,
one char per char), so patterns are written in lower-case, half-width Traditional Chinese, and
their Han characters are folded the same way when compiled (per-character OpenCC turns 吃 into 喫).
"""

from __future__ import annotations

import argparse
import ast
import csv
import gzip
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .clean import split_ptt_body, split_quoted
from .evaluate import BinaryReport, binary_report
from .normalize import fold

Kind = Literal["post", "comment"]
Field = Literal["title", "body"]

# ---------------------------------------------------------------------------------------------- items


@dataclass(frozen=True)
class SponsoredItem:
    """One unit to classify: a post (title + body) or a comment/push (``text`` only).

    ``platform`` picks how quoted text is found: ``ptt`` (default) uses PTT quote/signature rules,
    ``dcard``/``mobile01`` their own (see :mod:`koubei.nlp.clean`).
    """

    title: str = ""
    text: str = ""
    kind: Kind = "post"
    platform: str = "ptt"


def as_item(item: SponsoredItem | Sequence[str] | Mapping[str, str]) -> SponsoredItem:
    """Accept ``(title, text, kind[, platform])`` tuples, mappings with those keys, or items."""
    if isinstance(item, SponsoredItem):
        return item
    if isinstance(item, Mapping):
        return SponsoredItem(
            title=item.get("title") or "",
            text=item.get("text") or item.get("content") or "",
            kind=item.get("kind") or "post",
            platform=item.get("platform") or "ptt",
        )
    if isinstance(item, str):
        return SponsoredItem(text=item)
    fields = list(item) + [None] * (4 - len(item))
    title, text, kind, platform = fields[:4]
    return SponsoredItem(title or "", text or "", kind or "post", platform or "ptt")


# ---------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    """A named disclosure pattern. ``kw`` (optional named group) marks the trigger word that the
    negation/question guards look around; without it the whole match is the trigger."""

    name: str
    field: Field
    pattern: re.Pattern[str]
    kinds: frozenset[str] = frozenset({"post"})
    description: str = ""
    vetoable: bool = False  # a body statement "not sponsored / self-paid" cancels it (tags only)


_HAN = re.compile(r"[\u3400-\u9fff]")


def _compile(pattern: str) -> re.Pattern[str]:
    """Compile with Han characters folded like the text (ASCII regex syntax left alone)."""
    return re.compile(_HAN.sub(lambda m: fold(m.group(0)), pattern), re.MULTILINE)


def _rule(
    name: str, field: Field, pattern: str, description: str, *, kinds=("post",), vetoable=False
) -> Rule:
    return Rule(name, field, _compile(pattern), frozenset(kinds), description, vetoable)


# 合作 and 業配 occur inside ordinary words: 光合作用, 適合作為, 合作社; 專業配音, 工業配電, 企業配合.
_COLLAB = r"(?<![光適配綜])合作(?![社用])"
_YEPEI = r"(?<![專工企產險行商農漁職事作])[業葉]配"
_STOP = r"。！？!?\n"  # a clause may not run across these
_THIS_POST = r"(?:本|此|這)(?:篇|文|則|影片|貼文|文章)(?:文章|內容)?"  # this post, not 這次 "this time"
_TAG_END = r"(?=$|[\s#,，。!！?？|｜/)）\]】~～\-])"

RULES: tuple[Rule, ...] = (
    _rule(
        "title_ad_tag",
        "title",
        rf"^\s*(?:fw:\s*)?[\[【(<《]\s*(?P<kw>廣告|廣宣|{_YEPEI}|工商|贊助|廣編|{_COLLAB}(?:文|專案))"
        r"(?:文|稿|特輯|內容|文章)?\s*[\]】)>》]",
        "the post's category tag says it is an ad: [廣告] 【廣告】 [廣宣] [業配] [工商] …",
        vetoable=True,
    ),
    _rule(
        "hashtag_disclosure",
        "title",
        rf"#\s?(?P<kw>開箱大使|{_YEPEI}文?|廣告文?|工商|分潤|合作邀約|sponsored|ad|pr){_TAG_END}",
        "a disclosure hashtag: #開箱大使 (Dcard's sponsored unboxing programme), #業配, #分潤 …",
        vetoable=True,
    ),
    _rule(
        "hashtag_disclosure_body",
        "body",
        rf"#\s?(?P<kw>開箱大使|{_YEPEI}文?|廣告文?|工商|分潤|sponsored|ad|pr){_TAG_END}",
        "the same disclosure hashtags at the end of a body",
        vetoable=True,
    ),
    _rule(
        "disclosure_statement",
        "body",
        rf"{_THIS_POST}\s*(?:為|是|係|屬於?|含有?|包含)"
        rf"[^{_STOP}]{{0,15}}?(?P<kw>(?:廠商|店家|品牌|官方|業者)?(?:邀約|邀請|招待|贊助|{_YEPEI}|廣告|公關|{_COLLAB}|委託|邀稿))",
        "「本篇為廠商邀約試吃文」「本文為官方合作文章」「此篇含業配」",
    ),
    _rule(
        "free_experience_statement",
        "body",
        rf"(?:{_THIS_POST}\s*(?:為|是|係|屬於?)[^{_STOP}]{{0,12}}?(?:免費|無償|受邀|招待|提供|贈送)"
        rf"|(?:此次|這次|本次)\s*(?:為|是|係)?\s*(?:受邀|[^{_STOP}]{{0,4}}招待))[^{_STOP}]{{0,4}}?(?P<kw>體驗|試吃|試用|試玩)",
        "「本文為免費與無償體驗」「這次是受邀體驗」: a gifted tasting/trial",
    ),
    _rule(
        "vendor_invitation",
        "body",
        rf"(?:本篇|本文|此篇|此次|這次|本次|我|小編|筆者|作者|感謝)[^{_STOP}]{{0,10}}?(?:受|應|接受)?"
        rf"(?P<kw>(?:廠商|店家|品牌|官方|業者|公關|代理商|餐廳)(?:的)?(?:邀約|邀請|招待|贊助))",
        "「此次為店家邀約試吃」「感謝品牌邀請」, first person, not news about others",
    ),
    _rule(
        "free_product_received",
        "body",
        rf"(?:廠商|店家|品牌|官方|業者|公關|代理商)[^{_STOP}]{{0,12}}?(?P<kw>(?:寄|送|提供|贈送)了?"
        rf"[^{_STOP}，,]{{0,6}}?(?:試用品|樣品|公關品|產品|商品)[^{_STOP}，,]{{0,3}}?給(?:我|本人|小編|筆者))",
        "「代理商…有寄試用品給我」",
    ),
    _rule(
        "pr_gift_marker",
        "body",
        r"(?:[*※]\s*(?:為|是)?|(?:皆|均|都|此|這|全)?(?:為|是|屬))\s*(?P<kw>公關品|pr品)|[(（]\s*(?P<kw2>公關品|pr品)\s*[)）]",
        "「*為公關品」「(公關品)」 marking gifted products",
    ),
    _rule(
        "paid_disclosure",
        "body",
        rf"(?:本篇|本文|此篇|此文|本人|我|筆者)[^{_STOP}]{{0,10}}?(?:有|已)?(?P<kw>(?:收取|收受|收到|獲得)了?"
        rf"(?:[^{_STOP}，,]{{0,4}}?(?:廠商|品牌|店家|業者|官方|{_COLLAB}方?)[^{_STOP}，,]{{0,4}}?(?:費用|報酬|酬勞|稿費)"
        rf"|[^{_STOP}，,]{{0,3}}?(?:廣告費|{_YEPEI}費|稿費|酬勞|車馬費)))",
        "「本文有收取廠商費用」",
    ),
    _rule(
        "affiliate_self",
        "body",
        r"(?P<kw>(?:我的|本人的?|小編的?)(?:專屬)?[^\s。，,！!?？]{0,4}?(?:推薦|邀請|優惠|折扣|分潤|導購|註冊|購課|聯盟)"
        r"(?:碼|連結|網址|代碼|序號|link))|(?P<kw2>(?:專屬|好友)(?:購課|推薦|分潤)(?:碼|連結|網址))",
        "the author's own referral/affiliate code or link (they earn from it)",
        kinds=("post", "comment"),
    ),
    _rule(
        "affiliate_disclosed",
        "body",
        rf"(?:本文|本篇|文中|以下|此|這|我的|含|有)[^{_STOP}]{{0,6}}?(?P<kw>分潤(?:連結|網址)|聯盟行銷連結|affiliate link)",
        "「本文含分潤連結」",
        kinds=("post", "comment"),
    ),
    _rule(
        "affiliate_link_param",
        "body",
        r"https?://\S+?[?&](?P<kw>aff|aff_id|aff_sub|affiliate|affiliate_id|afid)=",
        "a link carrying an affiliate parameter (?aff=…); utm_ tracking is not one",
        kinds=("post", "comment"),
    ),
    _rule(
        "platform_shop_listing",
        "body",
        r"(?P<kw>dcard\.tw/goods)",
        "a listing that links Dcard's own shop (好物研究室): the platform selling",
    ),
)

# A body saying the post is not sponsored or was paid for by the author; cancels tags only.
# 沒有/無 + 廣告 is left out: 「無廣告」 praises an ad-free app, it says nothing about the post.
NOT_SPONSORED = _compile(
    rf"(?:非|不是|並非|並不是|絕非)\s*(?:任何|為|是)?\s*(?:廠商|店家|品牌)?"
    rf"(?:邀約|邀請|招待|{_YEPEI}|廣告|廣宣|工商|{_COLLAB}|贊助|置入)"
    rf"|(?:沒有|沒|無|未)\s*(?:任何|收|接受|拿)?\s*(?:{_YEPEI}|(?:廠商|店家|品牌)(?:邀約|邀請|招待|贊助)|廣告費|置入)"
    r"|(?:不接受|拒絕|謝絕)[^。\n]{0,10}(?:邀約|業配|試吃|合作|廣告)"
    r"|(?:皆|均|全|都|全部)?(?:為|是|係)\s*自費|自費(?:購買|購入|消費)|自掏腰包|自己花錢買"
)
# A trigger word negated right before it (allowing 為/是/任何/有/收 and a few characters in between).
_NEGATED = _compile(
    r"(?:不是|並非|並不是|絕非|並無|沒有|沒|不算|不接受|拒絕|謝絕|不得|不會|不用|無需|無(?!償)|未|非)"
    r"[^。！？!?\n，,；;]{0,4}$"
)
_QUESTION_AFTER = _compile(r"^[^。！!\n，,；;]{0,6}?(?:吧|嗎|嘛|呢|ㄇ|\?|？)")
_CLAUSE_START = re.compile(r"[。！？!?\n，,；;:：「『]")


@dataclass(frozen=True)
class RuleHit:
    """One rule match. ``status`` is ``fired`` or why it did not count (negated/question/vetoed).
    ``start``/``end`` index the folded text the rule read: the title, or the body's own text."""

    rule: str
    field: Field
    start: int
    end: int
    text: str
    status: Literal["fired", "negated", "question", "vetoed"]

    def reason(self) -> str:
        return f"{self.rule}: {self.text}"


def _own_text(item: SponsoredItem) -> str:
    """The author's own words: quotes, signatures and system footers are not their disclosure."""
    if not item.text:
        return ""
    if item.platform in ("dcard", "mobile01"):
        return split_quoted(item.text, item.platform).own
    return split_ptt_body(item.text).own


def _trigger(m: re.Match[str]) -> tuple[int, int]:
    for group in ("kw", "kw2"):
        if group in m.re.groupindex and m.group(group) is not None:
            return m.start(group), m.end(group)
    return m.start(), m.end()


def _guard(folded: str, start: int, end: int) -> Literal["fired", "negated", "question"]:
    clause_from = max(
        (m.end() for m in _CLAUSE_START.finditer(folded, max(0, start - 40), start)),
        default=max(0, start - 40),
    )
    if _NEGATED.search(folded[clause_from:start][-8:]):
        return "negated"
    if _QUESTION_AFTER.match(folded[end : end + 12]):
        return "question"
    return "fired"


class SponsoredRules:
    """Disclosure rules with a scikit-learn-style interface.

    ``rules`` defaults to :data:`RULES`; ``fit`` learns nothing (kept so the rules and a trained
    model are interchangeable in pipelines). ``predict`` returns one bool per item, ``explain`` the
    reasons (``rule: matched text``) for one item.
    """

    def __init__(self, rules: Sequence[Rule] | None = None, not_sponsored: re.Pattern[str] | None = None):
        self.rules = rules
        self.not_sponsored = not_sponsored

    def fit(self, X=None, y=None) -> SponsoredRules:  # noqa: N803 - scikit-learn naming
        return self

    def hits(self, item) -> list[RuleHit]:
        """Every rule match on the item, with whether it counted."""
        item = as_item(item)
        rules = self.rules if self.rules is not None else RULES
        if not any(item.kind in rule.kinds for rule in rules):
            return []  # most units are comments no rule reads: skip cleaning and folding them
        texts: dict[Field, str] = {
            "title": fold(item.title) if item.kind == "post" else "",
            "body": fold(_own_text(item)),
        }
        found: list[RuleHit] = []
        for rule in rules:
            if item.kind not in rule.kinds:
                continue
            text = texts[rule.field]
            for m in rule.pattern.finditer(text):
                start, end = _trigger(m)
                status = _guard(text, start, end) if rule.field == "body" else "fired"
                if rule.field == "title" and text.lstrip().startswith("re:"):
                    status = "vetoed"  # a reply's tag is the replied-to post's
                found.append(RuleHit(rule.name, rule.field, m.start(), m.end(), m.group(0), status))
        veto = self.not_sponsored if self.not_sponsored is not None else NOT_SPONSORED
        fired_disclosure = any(h.status == "fired" and not _vetoable(rules, h.rule) for h in found)
        if not fired_disclosure and veto.search(texts["body"] + "\n" + texts["title"]):
            found = [
                RuleHit(h.rule, h.field, h.start, h.end, h.text, "vetoed") if h.status == "fired" else h
                for h in found
            ]
        return found

    def explain(self, item) -> list[str]:
        """Reasons the item is flagged (empty when it is not)."""
        return [h.reason() for h in self.hits(item) if h.status == "fired"]

    def predict(self, items: Iterable) -> list[bool]:
        return [bool(self.explain(item)) for item in items]

    def predict_proba(self, items: Iterable) -> list[list[float]]:
        """Hard rules: probability 1.0 or 0.0, as ``[[P(not), P(sponsored)], …]``."""
        return [[0.0, 1.0] if flagged else [1.0, 0.0] for flagged in self.predict(items)]


def _vetoable(rules: Sequence[Rule], name: str) -> bool:
    return next((r.vetoable for r in rules if r.name == name), False)


# ---------------------------------------------------------------------------------------------- evaluation set
# I/O at the edge: the hand-labelled set stores (source, record, field) keys into ../shared and the
# text is joined here at load time, so no shared text is copied into the repository.


@dataclass(frozen=True)
class EvalRow:
    source: str
    record: str
    field: str
    label: bool
    category: str
    split: str
    note: str
    item: SponsoredItem


def _platform(source: str) -> str:
    name = Path(source).name
    return "dcard" if name.startswith("dcard") else "mobile01" if name.startswith("mobile01") else "ptt"


def _read_records(path: Path, keys: set[str] | None) -> dict[str, object]:
    """The wanted records of one shared file (``None``: all), keyed like the eval set's ``record``
    (row index, or the file's own index column). JSON Lines are streamed and only wanted lines
    parsed: the Stock crawl is 120 MB of JSON."""
    name = path.name
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
        if name.endswith(".jsonl.gz"):
            return {str(i): json.loads(line) for i, line in enumerate(fh) if keys is None or str(i) in keys}
        if name.endswith(".json.gz") or "fishkuo_" in name:  # fishkuo's PTT ".csv" files are JSON arrays
            data = json.load(fh)
            data = data["articles"] if isinstance(data, dict) else data
            return {str(i): row for i, row in enumerate(data) if keys is None or str(i) in keys}
        csv.field_size_limit(sys.maxsize)
        reader = csv.DictReader(fh)
        keyed = "" in (reader.fieldnames or [])
        found = {}
        for i, row in enumerate(reader):
            key = row[""] if keyed else str(i)
            if keys is None or key in keys:
                found[key] = row
        return found


def _post_and_comments(row) -> tuple[str, str, list[str]]:
    """(title, body, comment texts) of a record, whatever the source's column names."""
    if isinstance(row, list):  # fishkuo PTT arrays
        return (row[3], row[6], []) if len(row) > 6 else ("", row[4], [])
    title = (
        row.get("article_title")
        or row.get("title")
        or row.get("Title")
        or row.get("artTitle")
        or row.get("標題")
        or ""
    )
    body = (
        row.get("content")
        or row.get("Text")
        or row.get("artContent")
        or row.get("內文")
        or row.get("內容")
        or ""
    )
    if "artComments" in row:
        comments = [c.get("cmtContent", "") for c in ast.literal_eval(row["artComments"] or "[]")]
    else:
        raw = row.get("messages") or row.get("reply") or []
        comments = [m.get("push_content", "") if isinstance(m, dict) else str(m) for m in raw]
    return title, body, comments


def iter_units(shared_root: Path, source: str):
    """Every unit of one shared file as (record, field, item): the post, then each comment."""
    for record, row in _read_records(Path(shared_root) / source, None).items():
        title, body, comments = _post_and_comments(row)
        yield record, "post", _unit(row, source, "post")
        for i, _ in enumerate(comments):
            yield record, f"comment:{i}", _unit(row, source, f"comment:{i}")


def read_unit(shared_root: Path, source: str, record: str, field: str) -> SponsoredItem:
    """The text behind one eval-set key. ``field``: ``post`` (title + body), ``comment`` (the record
    is a comment) or ``comment:N`` (the N-th comment/push of the record)."""
    return _unit(_read_records(Path(shared_root) / source, {str(record)})[str(record)], source, field)


def _unit(row, source: str, field: str) -> SponsoredItem:
    title, body, comments = _post_and_comments(row)
    platform = _platform(source)
    if field == "post":
        return SponsoredItem(title, body, "post", platform)
    if field == "comment":
        return SponsoredItem("", body, "comment", platform)
    if field.startswith("comment:"):
        return SponsoredItem("", comments[int(field.split(":", 1)[1])], "comment", platform)
    raise ValueError(f"unknown field {field!r} (expected post, comment or comment:N)")


def load_eval_set(csv_path: Path, shared_root: Path) -> list[EvalRow]:
    """The hand-checked set with its text joined from the shared material."""
    with open(csv_path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    wanted: dict[str, set[str]] = {}
    for r in rows:
        wanted.setdefault(r["source"], set()).add(r["record"])
    records = {src: _read_records(Path(shared_root) / src, keys) for src, keys in wanted.items()}
    return [
        EvalRow(
            r["source"],
            r["record"],
            r["field"],
            r["label"] == "1",
            r["category"],
            r.get("split", "dev"),
            r["note"],
            _unit(records[r["source"]][r["record"]], r["source"], r["field"]),
        )
        for r in rows
    ]


def evaluate_flags(rows: Sequence[EvalRow], predicted: Sequence[bool]) -> dict[str, BinaryReport]:
    """Binary report of any detector's flags, overall and per split."""
    report = {"all": binary_report([r.label for r in rows], list(predicted))}
    for split in sorted({r.split for r in rows}):
        pairs = [(r.label, p) for r, p in zip(rows, predicted, strict=True) if r.split == split]
        report[split] = binary_report([t for t, _ in pairs], [p for _, p in pairs])
    return report


def evaluate_rules(rows: Sequence[EvalRow], rules: SponsoredRules | None = None) -> dict[str, BinaryReport]:
    """Binary report of the rules overall and per split."""
    rules = rules or SponsoredRules()
    return evaluate_flags(rows, rules.predict(r.item for r in rows))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m koubei.nlp.sponsored EVAL_CSV``: precision/recall of the rules on the labelled set."""
    from koubei.pipelines.paths import shared_root

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("eval_csv", type=Path)
    parser.add_argument(
        "--shared", type=Path, default=None, help="shared material root (default: $KOUBEI_SHARED)"
    )
    parser.add_argument("--errors", action="store_true", help="also list the misclassified dev rows")
    parser.add_argument(
        "--heldout-errors", action="store_true", help="list held-out errors too (final check only)"
    )
    args = parser.parse_args(argv)
    rows = load_eval_set(args.eval_csv, args.shared or shared_root())
    rules = SponsoredRules()
    print(f"{'split':<9}{'n':>5}{'pos':>5}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}{'f1':>7}")
    for split, rep in evaluate_rules(rows, rules).items():
        n = rep.tp + rep.fp + rep.fn + rep.tn
        print(
            f"{split:<9}{n:>5}{rep.support:>5}{rep.tp:>5}{rep.fp:>5}{rep.fn:>5}"
            f"{rep.precision:>11.3f}{rep.recall:>8.3f}{rep.f1:>7.3f}"
        )
    if args.errors:
        for row, flagged in zip(rows, rules.predict(r.item for r in rows), strict=True):
            if flagged != row.label and (row.split != "heldout" or args.heldout_errors):
                print(
                    f"{'FP' if flagged else 'FN'} {row.split} {row.source}#{row.record}/{row.field} "
                    f"[{row.category}] {rules.explain(row.item)}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
