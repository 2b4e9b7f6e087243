"""``koubei segment TEXT|-``: show what the NLP stages see in a post.

The body is split into the author's own text, quotes, signature, footer and edit lines (PTT by
default; ``--site dcard|mobile01``, or ``--site plain`` for no splitting), each part is cleaned
(width, invisible characters, Simplified → Taiwan Traditional) and segmented. ``words`` are the
tokens kept for trend terms (no stopwords or punctuation).
"""

from __future__ import annotations

import json
import sys

import click
from koubei.nlp.clean import BodyParts, clean_text, split_ptt_body, split_quoted
from koubei.nlp.segment import Segmenter
from rich.console import Console
from rich.markup import escape


def _parts(text: str, site: str) -> BodyParts:
    if site == "ptt":
        return split_ptt_body(text)
    if site == "plain":
        return BodyParts(own=text)
    return split_quoted(text, site)


def _analyse(text: str, segmenter: Segmenter) -> dict:
    cleaned = clean_text(text)
    return {"clean": cleaned, "tokens": segmenter.cut(cleaned), "words": segmenter.words(cleaned)}


@click.command()
@click.argument("text")
@click.option(
    "--site",
    type=click.Choice(["ptt", "dcard", "mobile01", "plain"]),
    default="ptt",
    show_default=True,
    help="How to split the body into own text and quotes.",
)
@click.option(
    "--hmm/--no-hmm", default=False, show_default=True, help="jieba's HMM for unknown words (slower)."
)
@click.option("--word", "-w", "words", multiple=True, help="A word never to split (brand alias); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a readable listing.")
def segment(text: str, site: str, hmm: bool, words: tuple[str, ...], as_json: bool) -> None:
    """Split, clean and segment TEXT (``-`` reads standard input) as the pipeline does."""
    if text == "-":
        text = sys.stdin.read()
    parts = _parts(text, site)
    segmenter = Segmenter(words, hmm=hmm)
    result = {
        "own": _analyse(parts.own, segmenter),
        "quotes": [_analyse(q, segmenter) for q in parts.quotes],
        "signature": parts.signature,
        "footer": parts.footer,
        "edits": list(parts.edits),
    }
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    console = Console(highlight=False, soft_wrap=True)
    _print_unit(console, "own", result["own"])
    for i, quote in enumerate(result["quotes"]):
        _print_unit(console, f"quote {i + 1}", quote)
    for name in ("signature", "footer"):
        if result[name]:
            console.print(f"[bold]{name}[/bold]  [dim]{escape(result[name])}[/dim]")
    for edit in result["edits"]:
        console.print(f"[bold]edit[/bold]  [dim]{escape(edit)}[/dim]")


def _print_unit(console: Console, name: str, unit: dict) -> None:
    console.print(f"[bold]{name}[/bold]  {escape(unit['clean'])}")
    tokens = [t for t in unit["tokens"] if not t.isspace()]
    console.print("  [cyan]tokens[/cyan] " + escape(" / ".join(tokens)))
    console.print("  [cyan]words[/cyan]  " + escape(" ".join(unit["words"])))
