"""The forum3 corpus (issue 10): team labels joined with real text, thread splits, agreement.

    python -m koubei.models.forum_labels merge --batches /tmp/annot:A /tmp/annot2:B  # → repo CSVs
    python -m koubei.models.forum_labels report                           # distribution, κ, confusion
    python -m koubei.models.forum_labels export test runs/forum3-test.csv --comments-only  # for `koubei eval`

Labels live in ``models/annotations/`` as ids (see ``models/ANNOTATION.md``); the text is joined
from ``../shared`` at load time, so the repository never copies the corpus.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

from . import labeled as L
from .mention_sample import MAP_COLUMNS

ANNOTATIONS = Path("models") / "annotations"
FORUM3_CSV = ANNOTATIONS / "forum3.csv"
SECOND_PASS_CSV = ANNOTATIONS / "forum3_second_pass.csv"
MENTIONS_CSV = ANNOTATIONS / "mentions.csv"
MENTIONS_SECOND_CSV = ANNOTATIONS / "mentions_second_pass.csv"
MENTION_ID = ("source", "record", "comment", "field", "sent_start", "ent_start")
ID_COLUMNS = ("source", "record", "comment", "field", "push_tag")
MENTION_LABELS = ("negative", "neutral", "positive")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _annotator_rows(batches: Path, stem: str, map_stem: str, labels: tuple[str, ...]) -> list[dict]:
    """Every labeled row of every annotator, joined to its ids through the batch map."""
    out = []
    for map_path in sorted(batches.glob(f"{map_stem}_*.csv")):
        k = map_path.stem.rsplit("_", 1)[1]
        label_path = batches / f"{stem}_{k}.csv"
        ids = {row["n"]: row for row in _read(map_path)}
        got = {row["n"]: row for row in _read(label_path)} if label_path.exists() else {}
        missing = sorted(set(ids) - set(got), key=int)
        if missing:
            raise ValueError(f"{label_path}: {len(missing)} rows unlabeled (first n={missing[0]})")
        for n, row in ids.items():
            label = got[n]["label"].strip()
            if label not in labels:
                raise ValueError(f"{label_path}: n={n} has label {label!r}")
            out.append({**row, "label": label, "note": (got[n].get("note") or "").strip(), "annotator": k})
    return out


def merge(batches: list[tuple[Path, str]]) -> tuple[int, int]:
    """Write forum3.csv (first pass) and forum3_second_pass.csv from the annotators' files.

    ``batches``: one ``(folder, prefix)`` per annotation round; annotator ``k`` of a round is
    ``<prefix><k>`` (round 1 = ``A``, the training-only extension rounds = ``B``, ``C`` …)."""
    first, second = [], []
    for folder, prefix in batches:
        for r in _annotator_rows(folder, "labels", "map", L.LABELS3):
            r["annotator"] = f"{prefix}{r['annotator']}"
            (first if r["pass"] == "first" else second).append(r)
    key = lambda r: (r["source"], int(r["record"]), int(r["comment"] or -1), r["field"])  # noqa: E731
    first.sort(key=key)
    second.sort(key=key)
    _write(FORUM3_CSV, first, [*ID_COLUMNS, "split", "label", "annotator", "note"])
    _write(SECOND_PASS_CSV, second, [*ID_COLUMNS, "label", "annotator"])
    return len(first), len(second)


def merge_mentions(batches: Path) -> int:
    rows = _annotator_rows(batches, "mlabels", "mmap", (*MENTION_LABELS, "not_entity"))
    for r in rows:
        r["annotator"] = f"M{r['annotator']}"
    rows.sort(
        key=lambda r: (
            r["source"],
            int(r["record"]),
            int(r["comment"] or -1),
            r["field"],
            int(r["sent_start"]),
            int(r["ent_start"]),
        )
    )
    columns = [*MAP_COLUMNS, "label", "annotator", "note"]
    _write(MENTIONS_CSV, rows, columns)
    return len(rows)


def merge_mention_second_pass(folder: Path) -> int:
    """The blind second pass over the mention test rows (another annotator) → its own CSV."""
    rows = _annotator_rows(folder, "mlabels", "mmap", (*MENTION_LABELS, "not_entity"))
    for r in rows:
        r["annotator"] = f"M{r['annotator']}"
    _write(MENTIONS_SECOND_CSV, rows, [*MENTION_ID, "entity", "label", "annotator"])
    return len(rows)


def mention_agreement() -> dict:
    """κ between the first and the second pass on the mention rows both labelled (4 categories)."""
    from sklearn.metrics import cohen_kappa_score

    first = {tuple(r[c] for c in MENTION_ID): r["label"] for r in _read(MENTIONS_CSV)}
    pairs = [
        (first[k], r["label"])
        for r in _read(MENTIONS_SECOND_CSV)
        if (k := tuple(r[c] for c in MENTION_ID)) in first
    ]
    a, b = zip(*pairs, strict=True)
    return {
        "items": len(pairs),
        "kappa": float(cohen_kappa_score(a, b)),
        "identical": sum(x == y for x, y in pairs),
    }


def load_forum3(
    split: str | None = None, shared_root: Path | None = None, path: Path = FORUM3_CSV
) -> list[dict]:
    """Labeled items with ``text, board, thread`` joined from ``../shared``; one split or all."""
    rows = [r for r in _read(path) if split is None or r["split"] == split]
    return L.join_text(rows, shared_root)


def load_mentions(
    split: str | None = None, shared_root: Path | None = None, path: Path = MENTIONS_CSV
) -> list[dict]:
    """Mention rows with ``sentence`` and the entity span inside it; ``not_entity`` rows dropped."""
    rows = [r for r in _read(path) if r["label"] in MENTION_LABELS and (split is None or r["split"] == split)]
    out = []
    for row in L.join_text(rows, shared_root):
        s, e = int(row["sent_start"]), int(row["sent_end"])
        sentence = row["text"][s:e]
        a, b = int(row["ent_start"]), int(row["ent_end"])
        if not sentence or b > len(sentence):
            raise L.LabeledDataError(f"{row['source']} record {row['record']}: sentence span out of range")
        out.append({**row, "sentence": sentence, "ent_start": a, "ent_end": b})
    return out


def export(split: str, out: Path, shared_root: Path | None = None, comments_only: bool = False) -> int:
    """``text,label`` rows of a split for ``koubei eval sentiment``; comments only, or with titles."""
    items = [
        i for i in load_forum3(split, shared_root) if not comments_only or i["field"] in L.COMMENT_FIELDS
    ]
    _write(out, items, ["text", "label"])
    return len(items)


def export_mentions(split: str, out: Path, shared_root: Path | None = None) -> int:
    """Mention rows for ``koubei eval mentions``: the target input, the sentence, the window, the label."""
    from .targets import sentence_target, window

    rows = [
        {
            "text": sentence_target(m["sentence"], m["ent_start"], m["ent_end"]),
            "sentence": m["sentence"],
            "window": window(m["sentence"], m["ent_start"], m["ent_end"]),
            "entity": m["entity"],
            "label": m["label"],
        }
        for m in load_mentions(split, shared_root)
    ]
    _write(out, rows, ["text", "sentence", "window", "entity", "label"])
    return len(rows)


def agreement(first: list[dict], second: list[dict]) -> dict:
    """Cohen's κ and the confusion between the first and the second pass on the same ids."""
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    key = lambda r: (r["source"], r["record"], r["comment"], r["field"])  # noqa: E731
    by_key = {key(r): r["label"] for r in first}
    pairs = [(by_key[key(r)], r["label"]) for r in second if key(r) in by_key]
    a, b = zip(*pairs, strict=True) if pairs else ((), ())
    return {
        "items": len(pairs),
        "kappa": float(cohen_kappa_score(a, b)) if pairs else float("nan"),
        "identical": sum(x == y for x, y in pairs),
        "confusion": confusion_matrix(a, b, labels=list(L.LABELS3)).tolist() if pairs else [],
    }


def report(out=sys.stdout) -> None:
    first, second = _read(FORUM3_CSV), _read(SECOND_PASS_CSV)
    by_kind = Counter(
        ("comment" if r["field"] in L.COMMENT_FIELDS else "title/body", r["label"]) for r in first
    )
    print(f"items: {len(first)}  splits: {dict(Counter(r['split'] for r in first))}", file=out)
    for kind in ("comment", "title/body"):
        counts = {lab: by_kind[(kind, lab)] for lab in L.LABELS3}
        total = sum(counts.values())
        print(f"{kind}: " + ", ".join(f"{k} {v} ({v / total:.1%})" for k, v in counts.items()), file=out)
    for split in ("train", "dev", "test"):
        print(f"{split}: {dict(Counter(r['label'] for r in first if r['split'] == split))}", file=out)
    for prefix in sorted({r["annotator"][0] for r in second}):
        agree = agreement(first, [r for r in second if r["annotator"][0] == prefix])
        print(
            f"second pass, round {prefix}: {agree['items']} items, identical {agree['identical']}, "
            f"κ = {agree['kappa']:.3f}; confusion (rows first, columns second, {list(L.LABELS3)}): "
            f"{agree['confusion']}",
            file=out,
        )
    if MENTIONS_CSV.exists():
        mentions = _read(MENTIONS_CSV)
        print(
            f"mentions: {len(mentions)} rows, {dict(Counter(r['label'] for r in mentions))}, "
            f"splits {dict(Counter(r['split'] for r in mentions))}",
            file=out,
        )
    if MENTIONS_SECOND_CSV.exists():
        agree = mention_agreement()
        print(
            f"mention second pass: {agree['items']} rows, identical {agree['identical']}, κ = {agree['kappa']:.3f}",
            file=out,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("merge")
    m.add_argument("--batches", nargs="*", default=[], help="FOLDER:PREFIX per round, e.g. /tmp/annot:A")
    m.add_argument("--mentions", type=Path)
    m.add_argument("--mentions-second", type=Path, help="folder of the mention second pass")
    sub.add_parser("report")
    e = sub.add_parser("export")
    e.add_argument("split", choices=["train", "dev", "test"])
    e.add_argument("out", type=Path)
    e.add_argument("--comments-only", action="store_true", help="pushes and replies (no titles/bodies)")
    e.add_argument("--mentions", action="store_true", help="the mention-level rows instead")
    args = parser.parse_args(argv)
    if args.cmd == "merge":
        if args.batches:
            rounds = [(Path(b.rsplit(":", 1)[0]), b.rsplit(":", 1)[1]) for b in args.batches]
            print("forum3 first/second pass rows:", merge(rounds))
        if args.mentions:
            print("mention rows:", merge_mentions(args.mentions))
        if args.mentions_second:
            print("mention second-pass rows:", merge_mention_second_pass(args.mentions_second))
    elif args.cmd == "report":
        report()
    elif args.mentions:
        print(f"{export_mentions(args.split, args.out)} mention rows → {args.out}")
    else:
        print(f"{export(args.split, args.out, comments_only=args.comments_only)} rows → {args.out}")


if __name__ == "__main__":
    main()
