"""The ``koubei`` command: thin click commands over the stage functions.

Each command parses its arguments and calls one library function; the same functions serve the
Airflow DAGs. Errors a user can cause (a wrong file, a page that is not PTT) end with a one-line
message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import contextlib
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


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from None


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


@parse.command("ptt")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", help="The page's URL (default: its canonical link).")
def parse_ptt(file: Path, url: str | None) -> None:
    """Parse a saved PTT article page (or a board index page)."""
    from koubei.spiders.parsers import ptt

    body = _read(file)
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
    _echo_json(out)


@parse.command("dcard")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", help="The API URL it came from (names the post of a comment list).")
@click.option("--forum", help="Forum alias, for answers that do not name it (comment lists).")
def parse_dcard(file: Path, url: str | None, forum: str | None) -> None:
    """Parse a saved Dcard API answer or web page: posts, comments (with floors), forums.

    Recognises post lists, post details, comment lists, forum lists, a crawler's
    {url, fetch_time, posts} envelope (opened and reported) and the web page's __NEXT_DATA__.
    """
    from dataclasses import asdict

    from koubei.spiders.parsers import dcard
    from koubei.spiders.parsers.errors import PageError

    try:
        doc = dcard.parse_document(_read(file), url=url, forum=forum)
    except PageError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if doc.envelope:
        console.print(
            f"note: {file.name} is a crawler's envelope ({', '.join(doc.envelope)}) around an API "
            "answer; parsed the answer inside"
        )
    if doc.kind == "web_page":
        console.print(
            f"note: {file.name} is a web page: posts read from its __NEXT_DATA__ "
            "(list entries carry no body unless it is a post page)"
        )
    _echo_json(
        {
            "kind": doc.kind,
            "envelope": doc.envelope,
            "counts": {
                "posts": len(doc.posts),
                "deleted_posts": doc.deleted_posts,
                "duplicates_merged": doc.duplicates,
                "comments": len(doc.comments),
                "hidden_comments": doc.hidden_comments,
                "forums": len(doc.forums),
            },
            "posts": [asdict(p) for p in doc.posts],
            "comments": [asdict(c) for c in doc.comments],
            "forums": doc.forums,
        }
    )


@parse.command("mobile01")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", help="The page's URL (default: its canonical link); names the forum/topic/page.")
def parse_mobile01(file: Path, url: str | None) -> None:
    """Parse a saved Mobile01 topic list (topiclist/hottopics) or topic page (topicdetail)."""
    from dataclasses import asdict

    from koubei.spiders.parsers import mobile01
    from koubei.spiders.parsers.errors import PageError

    body = _read(file)
    is_topic = "topicdetail.php" in url if url else b"l-articlePage" in body
    try:
        if is_topic:
            page = mobile01.parse_topic_page(body, url)
            out = {
                "kind": "topic_page",
                **{k: getattr(page, k) for k in ("forum", "topic", "page", "last_page", "title")},
                "post": asdict(page.opening) if page.opening else None,
                "comments": [asdict(c) for c in page.replies],
                "missing": dict(page.missing),
            }
        else:
            listing = mobile01.parse_topic_list(body, url)
            out = {
                "kind": "topic_list",
                **{k: getattr(listing, k) for k in ("url", "forum", "page", "last_page")},
                "rows": [asdict(r) for r in listing.rows],
                "missing": dict(listing.missing),
            }
    except PageError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    _echo_json(out)


# ---------------------------------------------------------------------------------------------- crawl


@main.group()
def crawl() -> None:
    """Crawl a site into the raw Parquet store."""


def _crawl_options(what: str, refreshed: str):
    """The options every ``koubei crawl SITE`` shares; ``what`` names a site's posts."""

    def decorate(command):
        for option in reversed(
            [
                click.option(
                    "--since",
                    help=f"Oldest {what} day (YYYY-MM-DD, Asia/Taipei). Default: the cursor "
                    "minus the look-back window.",
                ),
                click.option("--until", help=f"Newest {what} day (YYYY-MM-DD, Asia/Taipei), inclusive."),
                click.option(
                    "--out",
                    default="data",
                    show_default=True,
                    help="Storage root: a path or a pyarrow/fsspec URI.",
                ),
                click.option(
                    "--lookback-days",
                    type=float,
                    default=2.0,
                    show_default=True,
                    help=f"Re-crawl {what}s this recent to pick up {refreshed}.",
                ),
                click.option(
                    "--base-url",
                    help="Crawl a replay server instead of the site (e.g. http://127.0.0.1:8000).",
                ),
                click.option(
                    "--impersonate",
                    is_flag=False,
                    flag_value="chrome",
                    default=None,
                    metavar="[BROWSER]",
                    help="Opt in to a browser's TLS fingerprint (scrapy-impersonate; default browser "
                    "chrome) for Cloudflare-fronted sites. See README.",
                ),
                click.option("--log-file", type=click.Path(dir_okay=False), help="Keep the Scrapy log here."),
                click.option(
                    "--refresh-days",
                    type=click.FloatRange(min=0, min_open=True),
                    help=f"Instead of reading the lists, re-fetch the stored {what}s created this many "
                    "days back, fastest-growing first (engagement snapshots).",
                ),
                click.option(
                    "--refresh-budget",
                    type=click.IntRange(min=1),
                    default=500,
                    show_default=True,
                    help="At most this many requests (estimated) for --refresh-days.",
                ),
                click.option(
                    "-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE", help="A Scrapy setting."
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


def _crawl(
    site: str, sources, *, since, until, overrides, impersonate, refresh_days, refresh_budget, **options
) -> None:
    """Validate, run one crawl with a progress display, print the closing line; exit 1 if it failed."""
    for day in (since, until):
        if day:
            try:
                date.fromisoformat(day)
            except ValueError:
                raise click.BadParameter(f"{day!r} is not a YYYY-MM-DD date") from None
    if impersonate:
        import importlib.util

        if importlib.util.find_spec("scrapy_impersonate") is None:
            raise click.ClickException(
                "--impersonate needs the scrapy-impersonate package: pip install scrapy-impersonate==1.10.0"
            )
    settings = dict(o.split("=", 1) for o in overrides if "=" in o)
    with contextlib.ExitStack() as stack:
        if refresh_days is not None:
            from .refresh import select_refresh, targets_file

            if since or until:
                raise click.BadParameter(
                    "--refresh-days re-fetches stored posts: --since/--until do not apply"
                )
            targets = select_refresh(
                options["out"], days=refresh_days, budget=refresh_budget, platform=site, boards=list(sources)
            )
            click.echo(
                f"refresh: {len(targets)} stored {site} posts of the last {refresh_days:g} days, "
                f"~{sum(t.cost for t in targets)} of {refresh_budget} requests"
            )
            if not targets:
                return
            path = stack.enter_context(targets_file(targets))
            options["spider_args"] = {**(options.get("spider_args") or {}), "targets": path}
        summary = _run_with_progress(
            site,
            list(sources),
            options.pop("out"),
            since=since,
            until=until,
            settings=settings,
            impersonate=impersonate,
            **options,
        )
    click.echo(summary.line())
    if not summary.ok:
        err = summary.stats.get("koubei/error")
        raise click.ClickException(
            f"crawl did not finish ({err or summary.finish_reason}); log: {summary.log_file}"
        )


@crawl.command("ptt")
@click.option("--board", "boards", multiple=True, required=True, help="A PTT board; repeat for several.")
@_crawl_options("article", "late pushes")
def crawl_ptt(boards, **options) -> None:
    """Crawl PTT boards: new articles and every push, polite by default."""
    _crawl("ptt", boards, **options)


_REFRESH = click.option(
    "--refresh",
    type=click.Choice(["changed", "all"]),
    default="changed",
    show_default=True,
    help="In the look-back window, re-fetch only posts whose list counts moved, or all of them.",
)


@crawl.command("dcard")
@click.option(
    "--forum", "forums", multiple=True, required=True, help="A Dcard forum alias; repeat for several."
)
@_crawl_options("post", "new comments and likes")
@_REFRESH
@click.option(
    "--api", default="/service/api/v2", show_default=True, help="API root (/_api: the 2016 layout)."
)
def crawl_dcard(forums, refresh, api, **options) -> None:
    """Crawl Dcard forums through the JSON API: posts, comments, sub-comments, reactions."""
    _crawl("dcard", forums, spider_args={"refresh": refresh, "api": api}, **options)


@crawl.command("mobile01")
@click.option(
    "--forum",
    "forums",
    multiple=True,
    required=True,
    help="A Mobile01 forum id (topiclist.php?f=ID); repeat.",
)
@_crawl_options("topic", "new replies")
@_REFRESH
def crawl_mobile01(forums, refresh, **options) -> None:
    """Crawl Mobile01 forums: every topic active in the window, every reply on every page."""
    bad = [f for f in forums if not f.isdigit()]
    if bad:
        raise click.BadParameter(
            f"Mobile01 forums are numeric ids (topiclist.php?f=ID), not {', '.join(bad)}"
        )
    _crawl("mobile01", forums, spider_args={"refresh": refresh}, **options)


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
    help="Saved pages: a site tree, or the flat names of shared/fixtures/{ptt,dcard,mobile01}; "
    "repeat to overlay.",
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
    help="Inject faults: 429, 503, 403, timeout, cloudflare, cfblock, truncated, dataloss "
    "(PATH answers any query; PATH?QUERY only that query).",
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


# ---------------------------------------------------------------------------------------------- init


@main.command()
@click.argument("path", default="watch.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--check", is_flag=True, help="Validate PATH instead of writing it.")
def init(path: Path, force: bool, check: bool) -> None:
    """Write a commented example watch file (brands, groups, sources, crawl, alerts, storage, models)."""
    from .watch import EXAMPLE, WatchFileError, load_watch_file

    if check:
        try:
            cfg = load_watch_file(path)
        except WatchFileError as exc:
            raise click.ClickException(str(exc)) from None
        sources = ", ".join(f"{site} {len(names)}" for site, names in cfg.sources.items()) or "none"
        click.echo(
            f"{path}: ok — {len(cfg.brands)} brands, {len(cfg.groups)} groups, sources: {sources}, "
            f"storage: {cfg.root}"
        )
        return
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(EXAMPLE, encoding="utf-8")
    click.echo(f"wrote {path}: edit brands and sources, then `koubei init --check {path}`")


# ---------------------------------------------------------------------------------------------- demo


@main.command()
@click.option(
    "--out",
    default="koubei-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the pages, the Parquet datasets, the outbox, the reports and Airflow's SQLite go.",
)
@click.option(
    "--replay",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Run on these saved pages instead of generated ones (e.g. ../shared/fixtures).",
)
@click.option(
    "--model",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Sentiment model directory (default: the shipped model).",
)
@click.option("--days", type=click.IntRange(15, 60), default=30, show_default=True, help="Days of talk.")
def demo(out: Path, replay: Path | None, model: Path | None, days: int) -> None:
    """Run koubei end to end offline: generated forum pages → replay server → koubei_nightly per day
    through Airflow (dag.test, SQLite) → Parquet, alerts, HTML report."""
    from .demo import run_demo

    done: list[str] = []
    with console.status("generating pages and migrating Airflow's SQLite database…") as status:

        def progress(day: str, state: str) -> None:
            done.append(day)
            status.update(f"koubei_nightly: {len(done)} days done ({day}: {state})…")

        try:
            result = run_demo(out, replay=replay, days=days, model=model, on_day=progress)
        except (FileNotFoundError, RuntimeError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    _demo_summary(result)
    if not result.ok:
        day, state = result.runs[-1]
        raise click.ClickException(
            f"koubei_nightly {state} for {day}; task logs: {result.out / 'airflow' / 'logs'}"
        )


def _demo_summary(result) -> None:
    """The closing table (per brand over the demo's last week) and where everything is."""
    from .alerts import read_outbox
    from .cli_report import brand_table
    from .reports import build_summary
    from .trends import shift_day

    end = result.days[-1]
    start = shift_day(end, -6) if len(result.days) > 1 else result.days[0]
    brands, _ = build_summary(str(result.root), result.watch, start, end, update=False)
    table = brand_table(
        brands,
        f"koubei demo: {len(result.runs)} nightly runs, brands {start} – {end}",
        ("brand", "group", "mentions", "positive", "negative", "net", "SOV"),
    )
    Console().print(table)
    outbox = read_outbox(str(result.root))
    for a in outbox:
        click.echo(f"ALERT {a.title}")
    root = result.root
    click.echo(f"pages served from:  {result.site_dir}")
    click.echo(f"watch file:         {result.watch}")
    click.echo(f"raw Parquet:        {root / 'posts'}, {root / 'comments'}")
    click.echo(f"enriched Parquet:   {root / 'enriched'}")
    click.echo(f"trends Parquet:     {root / 'trends'}")
    click.echo(f"alert outbox:       {root / 'outbox' / 'alerts.jsonl'} ({len(outbox)} alerts)")
    click.echo(f"HTML report:        {result.report or 'not written'}")
    click.echo(f"Airflow (SQLite):   {result.out / 'airflow'}")


def _register_commands() -> None:
    """Command families that live in their own modules."""
    from .cli_enrich import enrich
    from .cli_eval import eval_group
    from .cli_health import health
    from .cli_match import match
    from .cli_report import alerts, report, summary, trends
    from .cli_segment import segment
    from .cli_suspects import suspects

    for command in (segment, match, enrich, trends, alerts, report, summary, eval_group, health, suspects):
        main.add_command(command)


_register_commands()
