"""Enrich-stage throughput on real PTT text, against a naive baseline and segmentation, in one run.

    python benchmarks/enrich.py [--model DIR] [--stock-pushes N] [--backend onnx-int8] [--threads 2]

Text: PTT Gossiping 2018 (114 articles, 3,045 pushes) and PTT Stock 2016-2019 articles until N
pushes (default 10,000), read from the shared root and written as ``ThreadItem`` s into a
temporary raw store (never copied into the repo). The model: ``--model DIR`` (the real one), else
a random-init 4-layer/256 BERT with a tokenizer trained on the same text, exported to ONNX
(speed depends on the shape, not the weights). Printed:

- the enrich stage (``run_enrich``, brand watch list included) in a child process: posts/s (a
  store holding the posts alone), comments/s (the full store's extra time over the posts-only
  one), wall and CPU seconds, the child's peak RSS;
- the naive baseline: one ``transformers.pipeline("text-classification")`` call per unit and per
  mention window, timed on a sample and extrapolated to the same units, and the ratio;
- plain segmentation (``koubei.nlp.segment.default_segmenter().cut``) over the same texts, and the
  ratio.
Threads are capped (torch, ONNX Runtime, tokenizers) at ``--threads``. The machine's load average
is printed: on a shared machine, compare ratios from one run rather than absolute rates.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

WATCH = """\
brands:
  - name: 台積電
    aliases: [TSMC, 台GG, 護國神山]
  - name: 鴻海
    aliases: [富士康, Foxconn]
  - name: 聯發科
    aliases: [發哥, MediaTek]
  - name: Apple
    aliases: [蘋果, iPhone]
    query: NOT (蘋果日報 OR 蘋果派)
  - name: 韓國瑜
    aliases: [韓總, 韓市長]
    group: politics
  - name: 柯文哲
    aliases: [柯P, 柯市長]
    group: politics
"""


# ---------------------------------------------------------------------------------------------- data


def _jwlin_thread(rec: dict, crawled_at: datetime):
    """A jwlin/ptt-web-crawler article (Gossiping 2018, Stock 2016-2019) as a ThreadItem."""
    from koubei.spiders.items import CommentRecord, PostRecord, ThreadItem
    from koubei.spiders.parsers.ptt import (
        PUSH_TIME,
        TAG_NAMES,
        TAIPEI,
        YearInference,
        article_time,
        parse_ctime,
    )

    board, post_id = rec.get("board") or "Stock", rec["article_id"]
    created = parse_ctime(rec.get("date") or "") or article_time(post_id)
    if created is None:
        return None
    post = PostRecord(
        "ptt",
        board,
        post_id,
        f"https://www.ptt.cc/bbs/{board}/{post_id}.html",
        title=rec.get("article_title"),
        author_id=(rec.get("author") or "").split(" ")[0] or None,
        created_at=created,
        content=rec.get("content") or "",
        crawled_at=crawled_at,
    )
    years = YearInference(created)
    comments = []
    for seq, m in enumerate(rec.get("messages") or [], 1):
        when = PUSH_TIME.search(m.get("push_ipdatetime") or "")
        at = None
        if when and when.group(4):
            month, day, hour, minute = (int(g) for g in when.group(2, 3, 4, 5))
            try:
                at = datetime(years.year_for(month, day), month, day, hour, minute, tzinfo=TAIPEI).astimezone(
                    UTC
                )
            except ValueError:  # 02/29 in a year the inference got wrong, or garbage
                at = None
        comments.append(
            CommentRecord(
                "ptt",
                board,
                post_id,
                seq,
                author_id=m.get("push_userid"),
                tag=TAG_NAMES.get((m.get("push_tag") or "").strip()),
                content=(m.get("push_content") or "").removeprefix(":").strip(),
                created_at=at,
                time_precision="minute" if at else None,
                crawled_at=crawled_at,
            )
        )
    post.comment_count = len(comments)
    return ThreadItem(post, comments).finalize()


def _records(root: Path, stock_pushes: int) -> Iterator[dict]:
    with gzip.open(root / "data/ptt_gossiping_2018/Gossiping.json.gz", "rt", encoding="utf-8") as f:
        yield from json.load(f)["articles"]
    pushes = 0
    with gzip.open(
        root / "data/forum_text/ptt_stock_2016-2019_deternan.jsonl.gz", "rt", encoding="utf-8"
    ) as f:
        for line in f:
            if pushes >= stock_pushes:
                return
            rec = json.loads(line)
            pushes += len(rec.get("messages") or [])
            yield rec


def load_threads(root: Path, stock_pushes: int) -> list:
    crawled = datetime(2026, 11, 23, tzinfo=UTC)
    threads = {}
    for rec in _records(root, stock_pushes):
        if (t := _jwlin_thread(rec, crawled)) is not None:
            threads[(t.post.board, t.post.post_id)] = t  # 47 Stock articles appear twice
    return list(threads.values())


def unit_texts(threads: list) -> tuple[list[str], list[str]]:
    """(post texts: title + body, comment texts) as a naive pipeline would read them."""
    posts = [f"{t.post.title or ''}\n{t.post.content or ''}" for t in threads]
    comments = [c.content or "" for t in threads for c in t.comments]
    return posts, comments


# ---------------------------------------------------------------------------------------------- runs


def _cap_threads(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    # Idle threads sleep instead of spinning (ONNX Runtime does the same in TextClassifier): on a
    # shared machine spinning starves the other thread; on an idle one it changes little.
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def enrich_child(
    stores: dict[str, str], model: str, backend: str, batch: int, threads: int, watch: str
) -> dict:
    """In a fresh process: time run_enrich on each store; report wall/CPU time and peak RSS."""
    _cap_threads(threads)
    import torch
    from koubei.models.classifier import TextClassifier
    from koubei.pipelines.enrich import run_enrich

    torch.set_num_threads(threads)
    started = time.perf_counter()
    clf = TextClassifier(model, backend=backend, batch_size=batch, threads=threads)
    clf.predict_proba(["暖機", "推"] * 64)
    out = {"load_s": time.perf_counter() - started}
    for name, root in stores.items():
        wall, cpu = time.perf_counter(), _cpu_seconds()
        stats = run_enrich(root, watch=Path(watch), classifier=clf, force=True)
        out[name] = {
            "wall_s": time.perf_counter() - wall,
            "cpu_s": _cpu_seconds() - cpu,
            "rows": stats.rows,
            "posts": stats.posts,
            "comments": stats.comments,
            "mentions": stats.mentions,
            "line": stats.line(),
        }
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def naive_child(model: str, posts: list[str], comments: list[str], threads: int) -> dict:
    """One pipeline call per item, PyTorch, the same thread cap: (wall, CPU) seconds per item."""
    _cap_threads(threads)
    import torch
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.set_num_threads(threads)
    clf = pipeline("text-classification", model=model, device="cpu")
    clf("暖機")
    out = {}
    for name, texts in (("posts", posts), ("comments", comments)):
        wall, cpu = time.perf_counter(), _cpu_seconds()
        for text in texts:
            clf(text, truncation=True, max_length=128)
        n = max(1, len(texts))
        out[name] = ((time.perf_counter() - wall) / n, (_cpu_seconds() - cpu) / n)
    out["sample"] = (len(posts), len(comments))
    return out


def _in_child(fn, *args):
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def _sample(items: list[str], n: int) -> list[str]:
    step = max(1, len(items) // n)
    return items[::step][:n]


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a saved sentiment model (default: random-init tiny BERT)")
    parser.add_argument("--backend", default="onnx-int8", choices=("onnx-int8", "onnx", "torch"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--stock-pushes", type=int, default=10_000, help="Stock pushes on top of Gossiping 2018"
    )
    parser.add_argument("--naive-sample", type=int, default=300, help="comments timed for the baseline")
    parser.add_argument("--shared", type=Path, help="shared root (default: $KOUBEI_SHARED or ../shared)")
    args = parser.parse_args(argv)
    _cap_threads(args.threads)

    from koubei.pipelines.paths import shared_root
    from koubei.pipelines.store import RawStore

    root = (args.shared or shared_root()).resolve()
    if not (root / "data").is_dir():
        print(f"shared material not found at {root} (use --shared or KOUBEI_SHARED)", file=sys.stderr)
        return 2
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; threads capped at {args.threads}")
    threads = load_threads(root, args.stock_pushes)
    posts, comments = unit_texts(threads)
    print(
        f"text: {len(posts):,} real PTT posts ({sum(map(len, posts)) / len(posts):.0f} chars avg) and "
        f"{len(comments):,} pushes ({sum(map(len, comments)) / len(comments):.1f} chars avg) from {root}"
    )
    with tempfile.TemporaryDirectory(prefix="koubei-bench-") as tmp:
        tmp = Path(tmp)
        model = args.model or _tiny_model(tmp / "model", posts[:200] + comments[:300], args.backend)
        (tmp / "watch.yaml").write_text(WATCH, encoding="utf-8")
        stores = {"posts_only": str(tmp / "posts_only"), "full": str(tmp / "full")}
        RawStore(stores["posts_only"]).upsert_threads(
            type(t)(t.post, []) for t in threads
        )  # the same posts, no comments
        RawStore(stores["full"]).upsert_threads(threads)

        enrich = _in_child(
            enrich_child,
            stores,
            str(model),
            args.backend,
            args.batch_size,
            args.threads,
            str(tmp / "watch.yaml"),
        )
        naive = _in_child(
            naive_child,
            str(model),
            _sample(posts, max(10, args.naive_sample // 10)),
            _sample(comments, args.naive_sample),
            args.threads,
        )
    seg_s = _segmentation_seconds(posts + comments)
    _report(enrich, naive, seg_s, len(posts), len(comments), args)
    return 0


def _tiny_model(out: Path, texts: list[str], backend: str) -> Path:
    from koubei.models.export import export_onnx, random_model

    started = time.perf_counter()
    random_model(out, texts)
    if backend != "torch":
        export_onnx(out, int8=backend == "onnx-int8")
    print(f"model: random-init 4-layer/256 BERT built and exported in {time.perf_counter() - started:.1f} s")
    return out


def _segmentation_seconds(texts: list[str]) -> float:
    from koubei.nlp.segment import default_segmenter

    segmenter = default_segmenter()
    segmenter.cut("暖機")  # dictionary load outside the timing
    started = time.perf_counter()
    for text in texts:
        segmenter.cut(text)
    return time.perf_counter() - started


def _report(enrich: dict, naive: dict, seg_s: float, n_posts: int, n_comments: int, args) -> None:
    only, full = enrich["posts_only"], enrich["full"]
    ours = {  # (items, wall s, cpu s); comments = what the full store costs over the posts-only one
        "posts": (n_posts, only["wall_s"], only["cpu_s"]),
        "comments": (n_comments, full["wall_s"] - only["wall_s"], full["cpu_s"] - only["cpu_s"]),
    }
    print(
        f"\nenrich: {args.backend}, batch {args.batch_size}, {args.threads} threads; model load "
        f"{enrich['load_s']:.1f} s; peak RSS of the enrich process {enrich['peak_rss_mb']:,.0f} MB"
    )
    print(f"  {full['line']}")
    print(f"  {'':10}{'items':>8}{'wall s':>9}{'cpu s':>8}{'items/s':>10}{'cpu ms/item':>13}")
    for name, (n, wall, cpu) in ours.items():
        print(f"  {name:10}{n:>8,}{wall:>9.2f}{cpu:>8.2f}{n / wall:>10,.1f}{1000 * cpu / n:>13.2f}")
    n_naive = dict(zip(("posts", "comments"), naive["sample"], strict=True))
    print("naive baseline: transformers.pipeline('text-classification') per item, PyTorch, timed on a sample")
    for name in ("posts", "comments"):
        wall, cpu = naive[name]
        print(f"  {name:10}{n_naive[name]:>8,}{'':17}{1 / wall:>10,.1f}{1000 * cpu:>13.2f}")
    units = {"posts": n_posts, "comments": n_comments + full["mentions"]}  # + one call per mention window
    naive_wall = sum(units[k] * naive[k][0] for k in units)
    naive_cpu = sum(units[k] * naive[k][1] for k in units)
    print(
        f"  extrapolated to {n_posts:,} posts + {n_comments:,} comments + {full['mentions']:,} mention "
        f"windows: {naive_wall:,.1f} s wall, {naive_cpu:,.1f} s cpu"
    )
    print(
        f"segmentation alone (default_segmenter().cut) over the same {n_posts + n_comments:,} texts: {seg_s:.2f} s"
    )
    _, c_wall, c_cpu = ours["comments"]
    print("ratios (naive / enrich; cpu = the same on CPU seconds, less sensitive to other load):")
    print(
        f"  whole run:            {naive_wall / full['wall_s']:5.1f}x wall  {naive_cpu / full['cpu_s']:5.1f}x cpu"
    )
    print(
        f"  per comment:          {naive['comments'][0] * n_comments / c_wall:5.1f}x wall  "
        f"{naive['comments'][1] * n_comments / c_cpu:5.1f}x cpu"
    )
    print(f"  enrich / segmentation alone (wall): {full['wall_s'] / seg_s:.0f}x")


if __name__ == "__main__":
    raise SystemExit(main())
