"""The ``koubei`` command: thin click commands over the stage functions.

Each command parses its arguments and calls one library function; the same functions serve the
Airflow DAGs. Errors a user can cause (a wrong file, a page that is not PTT) end with a one-line
message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from datetime import date, datetime
from pathlib import Path

import click
from rich.console import Console

from . import __version__

console = Console(stderr=True)


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


@click.group()
@click.version_option(__version__, prog_name="koubei")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """koubei (口碑): social listening and sentiment for Taiwan's forums."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


# ---------------------------------------------------------------------------------------------- parse


@main.group()
def parse() -> None:
    """Parse one saved page and print what the crawler would store, as JSON."""


@parse.command("ptt")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", help="The page's URL (default: its canonical link).")
def parse_ptt(file: Path, url: str | None) -> None:
    """Parse a saved PTT article page (or a board index page)."""
    from koubei.spiders.parsers import ptt

    try:
        body = file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from None
    try:
        if url and ptt.INDEX_PATH.search(url):
            page = ptt.parse_index(body, url)
            out = {
                "board": page.board,
                "page": page.page,
                "prev_url": page.prev_url,
                "next_url": page.next_url,
                "rows": [{**vars(r), "created_at": r.created_at} for r in page.rows],
            }
        else:
            out = ptt.parse_article(body, url).to_dict()
    except ptt.PttParseError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    click.echo(json.dumps(out, ensure_ascii=False, indent=2, default=_json_default))


# ---------------------------------------------------------------------------------------------- crawl


@main.group()
def crawl() -> None:
    """Crawl a site into the raw Parquet store."""


@crawl.command("ptt")
@click.option("--board", "boards", multiple=True, required=True, help="A PTT board; repeat for several.")
@click.option(
    "--since",
    help="Oldest article day (YYYY-MM-DD, Asia/Taipei). Default: the board's cursor "
    "minus the look-back window.",
)
@click.option("--until", help="Newest article day (YYYY-MM-DD, Asia/Taipei), inclusive.")
@click.option(
    "--out", default="data", show_default=True, help="Storage root: a path or a pyarrow/fsspec URI."
)
@click.option(
    "--lookback-days",
    type=float,
    default=2.0,
    show_default=True,
    help="Re-crawl articles this recent to pick up late pushes.",
)
@click.option("--base-url", help="Crawl a replay server instead of www.ptt.cc (e.g. http://127.0.0.1:8000).")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Keep the Scrapy log here.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE", help="A Scrapy setting.")
def crawl_ptt(boards, since, until, out, lookback_days, base_url, log_file, overrides) -> None:
    """Crawl PTT boards: new articles and every push, polite by default."""
    for day in (since, until):
        if day:
            try:
                date.fromisoformat(day)
            except ValueError:
                raise click.BadParameter(f"{day!r} is not a YYYY-MM-DD date") from None
    settings = dict(o.split("=", 1) for o in overrides if "=" in o)
    summary = _run_with_progress(
        "ptt",
        list(boards),
        out,
        since=since,
        until=until,
        base_url=base_url,
        lookback_days=lookback_days,
        settings=settings,
        log_file=log_file,
    )
    click.echo(summary.line())
    if not summary.ok:
        err = summary.stats.get("koubei/error")
        raise click.ClickException(
            f"crawl did not finish ({err or summary.finish_reason}); log: {summary.log_file}"
        )


def _run_with_progress(site: str, sources: list[str], out: str, **kwargs):
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .crawl import run_crawl

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"crawling {site} {','.join(sources)}", total=None)

        def show(stats: dict) -> None:
            progress.update(
                task,
                description=(
                    f"crawling {site} {','.join(sources)}: pages {stats.get('downloader/response_count', 0)}, "
                    f"posts {stats.get(f'koubei/{site}/articles', 0)}, comments {stats.get(f'koubei/{site}/comments', 0)}"
                ),
            )

        return run_crawl(site, sources, out, on_progress=show, **kwargs)


# ---------------------------------------------------------------------------------------------- replay


@main.command()
@click.option(
    "--root",
    "roots",
    required=True,
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Saved pages: a site tree, or shared/fixtures/ptt's flat names; repeat to overlay.",
)
@click.option(
    "--port", type=int, default=8000, show_default=True, help="Port on 127.0.0.1 (0 = any free port)."
)
@click.option(
    "--over18",
    "over18_boards",
    multiple=True,
    default=("Gossiping",),
    show_default=True,
    help="Boards behind the over-18 question.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="PATH=KIND[,KIND]",
    help="Inject faults: 429, 503, 403, timeout, cloudflare, truncated, dataloss.",
)
def replay(roots: tuple[Path, ...], port: int, over18_boards, faults) -> None:
    """Serve saved pages on 127.0.0.1 under the sites' real URL layout."""
    from .replay import FaultPlan, ReplayServer

    try:
        plan = FaultPlan.parse(list(faults))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    server = ReplayServer(list(roots), port=port, over18_boards=tuple(over18_boards), faults=plan)
    where = ", ".join(str(r) for r in roots)
    click.echo(f"replaying {len(server.routes)} paths from {where} on {server.base_url} (Ctrl-C to stop)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


# ---------------------------------------------------------------------------------------------- demo


@main.command()
@click.option(
    "--out",
    default="koubei-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the generated site, the Parquet store and the logs go.",
)
@click.option(
    "--replay",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Crawl these saved pages instead of generated ones (e.g. ../shared/fixtures/ptt).",
)
@click.option("--board", "boards", multiple=True, help="Boards to crawl (default: the demo's boards).")
def demo(out: Path, replay: Path | None, boards: tuple[str, ...]) -> None:
    """Run koubei end to end offline: generated PTT pages → replay server → real crawl → Parquet."""
    from rich.table import Table

    from .demo import DEMO_BOARDS, run_demo
    from .store import read_dataset

    with console.status("generating pages, serving them on 127.0.0.1 and crawling them…"):
        result = run_demo(out, replay=replay, boards=boards or DEMO_BOARDS)
    table = Table(title="koubei demo: what the crawl stored")
    for col in ("board", "result", "pages", "posts", "comments", "new", "unchanged", "skipped"):
        table.add_column(col)
    for c in result.crawls:
        store = c.by_prefix("koubei/store/")
        skipped = ", ".join(f"{k} {v}" for k, v in {**c.skipped, **c.blocked}.items()) or "-"
        table.add_row(
            ",".join(c.stats.get("koubei/sources", [])) or "?",
            c.finish_reason or "failed",
            str(c.pages),
            str(c.posts),
            str(c.comments),
            str(store.get("new", 0)),
            str(store.get("unchanged", 0)),
            skipped,
        )
    Console().print(table)
    posts = read_dataset(str(result.store), "posts")
    click.echo(
        f"raw store: {result.store.resolve()} ({posts.num_rows} posts; posts/ and comments/ are "
        "hive-partitioned Parquet: platform=…/date=…)"
    )
    click.echo(
        f"pages served from: {result.site_dir.resolve()}; crawl logs: {Path(out).resolve()}/crawl-*.log"
    )
    if not all(c.ok for c in result.crawls):
        raise click.ClickException("a crawl did not finish; see the logs above")


def _register_commands() -> None:
    """Command families that live in their own modules."""
    from .cli_eval import eval_group
    from .cli_match import match
    from .cli_segment import segment

    for command in (segment, match, eval_group):
        main.add_command(command)


_register_commands()
