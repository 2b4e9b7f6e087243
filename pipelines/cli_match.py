"""``koubei match``: show which watched brands the pipeline finds in a file, with spans.

FILE is read as, in order: JSON (one post object, a list of them, or what ``koubei parse ptt``
prints: ``{"post": {...}, "comments": [{...}]}``), JSON Lines of those, or plain text (one unit, or
one unit per line with ``--lines``). A post's title + content form one unit; each comment is its own.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from koubei.nlp.brands import BrandMatcher, Mention, WatchFileError, load_watch
from rich.console import Console
from rich.table import Table
from rich.text import Text


def _post_fields(obj: dict) -> tuple[str, str, list[str]]:
    """(title, content, comment texts) from a parse-output object or a plain post mapping."""
    post = obj.get("post") if isinstance(obj.get("post"), dict) else obj
    title = post.get("title") or post.get("article_title") or ""
    content = post.get("content") or post.get("text") or post.get("body") or ""
    raw = obj.get("comments") if "comments" in obj else post.get("comments") or post.get("messages") or []
    comments = []
    for c in raw or []:
        if isinstance(c, dict):
            comments.append(c.get("content") or c.get("text") or c.get("push_content") or "")
        else:
            comments.append(str(c))
    return str(title), str(content), comments


def read_items(raw: str, *, lines: bool = False) -> Iterator[tuple[str, str, list[str]]]:
    """Yield (title, content, comments) per item found in ``raw`` (see the module docstring)."""
    stripped = raw.strip()
    if not stripped:
        return
    if not lines and stripped[0] in "[{":
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            yield _post_fields(data)
            return
        if isinstance(data, list) and all(isinstance(d, dict) for d in data):
            yield from (_post_fields(d) for d in data)
            return
        objects = []
        for line in stripped.splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                objects = None
                break
            if not isinstance(obj, dict):
                objects = None
                break
            objects.append(obj)
        if objects:
            yield from (_post_fields(o) for o in objects)
            return
    if lines:
        yield from (("", line, []) for line in raw.splitlines() if line.strip())
    else:
        yield "", raw, []


def _unit(m: Mention) -> str:
    return f"comment {m.comment}" if m.field == "comment" else "post"


def _highlight(m: Mention) -> Text:
    """The context with the mention in reverse video; line breaks shown as ⏎."""
    cut = m.start - m.context_start
    text = Text(m.context[:cut].replace("\n", " ⏎ "))
    text.append(m.text, style="bold reverse")
    text.append(m.context[cut + len(m.text) :].replace("\n", " ⏎ "))
    return text


@click.command("match")
@click.option(
    "--watch",
    "watch_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Watch YAML with a 'brands:' list.",
)
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per mention.")
@click.option("--lines", is_flag=True, help="Plain text: every non-empty line is its own unit.")
def match(watch_file: Path, file, as_json: bool, lines: bool) -> None:
    """Print the brand mentions in FILE (a text file, '-' for stdin, or JSON/JSONL posts)."""
    try:
        matcher = BrandMatcher(load_watch(watch_file))
    except WatchFileError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        raw = file.read()
    except UnicodeDecodeError:
        raise click.ClickException(f"{file.name}: not UTF-8 text") from None
    found = [(i, m) for i, item in enumerate(read_items(raw, lines=lines)) for m in matcher.match_item(*item)]
    if as_json:
        for i, m in found:
            click.echo(json.dumps({"item": i, **m.as_dict()}, ensure_ascii=False))
        return
    console = Console(file=sys.stdout, soft_wrap=False)
    if not found:
        console.print("no mentions")
        return
    table = Table(show_lines=False)
    for column in ("item", "unit", "brand", "field", "span", "context"):
        table.add_column(column, overflow="fold")
    for i, m in found:
        table.add_row(str(i), _unit(m), m.brand, m.field, f"{m.start}-{m.end}", _highlight(m))
    console.print(table)
    console.print(f"{len(found)} mention(s) of {len({m.brand for _, m in found})} brand(s)")
