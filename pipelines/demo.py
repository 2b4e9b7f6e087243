"""``koubei demo``: the whole pipeline on one machine with no internet, through Airflow.

It generates a month of forum talk in the three sites' real page formats (PTT board and article
pages, Dcard API answers, Mobile01 topic lists and pages; synthetic text, marked as such, never
scored as real data) about four brands in two competitor groups, with one injected negative spike
(全聯, the last three days). It serves the pages on 127.0.0.1 with the replay server, writes a watch
file, and runs the ``koubei_nightly`` DAG for each day with ``dag.test()`` against an SQLite
metadata database inside the output directory. What is left: raw/enriched/trend Parquet, the alert
outbox (one spike alert), an HTML report per day. A second run changes no partition.
``--replay DIR`` runs one nightly over saved real pages instead (its sources read from the pages).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from .sitegen import FakeArticle, FakePush, write_board
from .sitegen_dcard import FakeComment, FakePost
from .sitegen_dcard import write_forum as write_dcard_forum
from .sitegen_mobile01 import FakeReply, FakeTopic
from .sitegen_mobile01 import write_forum as write_mobile01_forum

TAIPEI = ZoneInfo("Asia/Taipei")
END = date(2026, 10, 31)  # the demo month's last day
DAYS = 30
SEED = 20261123
MARK = "(示範用的生成文字)"  # every generated post says it is generated

# name, aliases, group
BRANDS = (
    ("Apple", ["蘋果", "iPhone"], "phones"),
    ("Samsung", ["三星", "Galaxy"], "phones"),
    ("全聯", ["全聯福利中心", "PX Mart"], "supermarkets"),
    ("家樂福", ["Carrefour"], "supermarkets"),
)
GROUPS = {"phones": "手機品牌", "supermarkets": "量販超市"}
# site -> source -> the group it talks about
SOURCES = {
    "ptt": {"MobileComm": "phones", "Lifeismoney": "supermarkets"},
    "dcard": {"3c": "phones", "buyonline": "supermarkets"},
    "mobile01": {"568": "phones", "383": "supermarkets"},
}
SPIKE_BRAND, SPIKE_DAYS, SPIKE_THREADS, SPIKE_REPLIES = "全聯", 3, 3, 8

POSITIVE = (
    "{b} 這次真的很讚，CP值超高，推薦大家",
    "用了一個月 {b} 很滿意，服務也很好",
    "{b} 的週年慶優惠好划算，買爆",
    "{b} 客服很貼心，問題馬上解決",
)
NEGATIVE = (
    "{b} 客服超爛，完全不想再買了",
    "{b} 又漲價，品質還變差，很失望",
    "對 {b} 很失望，退貨還被刁難",
)
NEUTRAL = (
    "有人用過 {b} 嗎？想問一下",
    "{b} 這週有什麼活動？",
    "請問 {b} 幾點開門",
    "聽說 {b} 要出新款",
)
POS_REPLY = ("推 {b} 真的不錯", "{b} 好用", "我也覺得 {b} 很棒")
NEG_REPLY = ("{b} 真的很爛", "{b} 很糟")
NEU_REPLY = ("先觀望", "我也想知道", "同問", "幫推")
SPIKE_POSTS = (
    "{b} 買到過期發霉的肉品，太噁心了",
    "{b} 食安出包還不道歉，超級生氣",
    "{b} 門市態度有夠差，再也不去了",
)
SPIKE_REPLIES_TEXT = (
    "{b} 太扯了，爛透了",
    "{b} 真的很噁心，不會再去了",
    "抵制 {b}，完全不能接受",
    "{b} 食安問題太可怕了",
    "{b} 越來越爛，超失望",
)
LOOPBACK = {  # the demo serves itself: no politeness delays on 127.0.0.1
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "LOG_LEVEL": "INFO",
}


# ---------------------------------------------------------------------------------------------- corpus


@dataclass
class Talk:
    """One generated thread, site-neutral: the sites' writers render it."""

    brand: str
    title: str
    body: str
    at: datetime
    replies: list[tuple[str, str, datetime]] = field(default_factory=list)  # (tag, text, time)


def _at(rng: random.Random, day: date, first_hour: int = 8, last_hour: int = 22) -> datetime:
    return datetime.combine(day, time(rng.randint(first_hour, last_hour - 1), rng.randint(0, 59)), TAIPEI)


def _talk(rng: random.Random, brand: str, day: date) -> Talk:
    mood = rng.choices(("pos", "neg", "neu"), weights=(4, 2, 4))[0]
    text = rng.choice({"pos": POSITIVE, "neg": NEGATIVE, "neu": NEUTRAL}[mood]).format(b=brand)
    at = _at(rng, day)
    replies = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choices(("pos", "neg", "neu"), weights=(3, 1, 4))[0]
        reply = rng.choice({"pos": POS_REPLY, "neg": NEG_REPLY, "neu": NEU_REPLY}[kind]).format(b=brand)
        tag = {"pos": "push", "neg": "boo", "neu": "neutral"}[kind]
        replies.append((tag, reply, at + timedelta(minutes=rng.randint(5, 180))))
    return Talk(brand, text.split("，")[0], f"{MARK}\n{text}\n大家覺得呢？", at, replies)


def _spike(rng: random.Random, brand: str, day: date) -> Talk:
    text = rng.choice(SPIKE_POSTS).format(b=brand)
    at = _at(rng, day, 9, 16)
    replies = [
        ("boo", rng.choice(SPIKE_REPLIES_TEXT).format(b=brand), at + timedelta(minutes=20 * (k + 1)))
        for k in range(SPIKE_REPLIES)
    ]
    return Talk(brand, text.split("，")[0], f"{MARK}\n{text}\n大家評評理", at, replies)


def demo_talk(end: date = END, days: int = DAYS, seed: int = SEED) -> dict[tuple[str, str], list[Talk]]:
    """The month's threads per (site, source); deterministic for a seed. The spike brand gets
    ``SPIKE_THREADS`` extra negative threads a day on each of its sources in the last
    ``SPIKE_DAYS`` days."""
    rng = random.Random(seed)
    out: dict[tuple[str, str], list[Talk]] = {}
    for site, sources in SOURCES.items():
        for source, group in sources.items():
            brands = [b for b, _, g in BRANDS if g == group]
            talk = []
            for d in range(days):
                day = end - timedelta(days=days - 1 - d)
                talk += [_talk(rng, rng.choice(brands), day) for _ in range(rng.randint(2, 3))]
                if SPIKE_BRAND in brands and d >= days - SPIKE_DAYS:
                    talk += [_spike(rng, SPIKE_BRAND, day) for _ in range(SPIKE_THREADS)]
            out[(site, source)] = sorted(talk, key=lambda t: t.at)
    return out


def _ptt(board: str, talk: list[Talk]) -> list[FakeArticle]:
    articles, used = [], set()
    for i, t in enumerate(talk):
        stamp = int(t.at.timestamp())
        while stamp in used:
            stamp += 1
        used.add(stamp)
        pushes = [
            FakePush(tag, f"user{(i * 7 + k) % 97}", text, at) for k, (tag, text, at) in enumerate(t.replies)
        ]
        articles.append(
            FakeArticle(
                board,
                f"M.{stamp}.A.{i % 4096:03X}",
                f"demo{i % 23}",
                "示範帳號",
                f"[討論] {t.title}",
                t.body,
                pushes=pushes,
            )
        )
    return articles


def _dcard(forum: str, talk: list[Talk], base_id: int) -> list[FakePost]:
    return [
        FakePost(
            forum,
            base_id + i,
            t.title,
            t.body,
            t.at,
            reactions={"愛心": 1 + i % 5},
            comments=[FakeComment(k + 1, text, at) for k, (_, text, at) in enumerate(t.replies)],
        )
        for i, t in enumerate(talk)
    ]


def _mobile01(forum: str, talk: list[Talk], base_id: int) -> list[FakeTopic]:
    return [
        FakeTopic(
            forum,
            base_id + i,
            t.title,
            f"demo{i % 19}",
            t.body,
            t.at,
            replies=[
                FakeReply(f"member{(i + k) % 31}", text, at) for k, (_, text, at) in enumerate(t.replies)
            ],
        )
        for i, t in enumerate(talk)
    ]


def generate_site(root: Path, end: date = END, days: int = DAYS, seed: int = SEED) -> dict[str, int]:
    """Write the month's pages for the three sites under ``root`` (one replay tree); thread counts."""
    root = Path(root)
    counts = {}
    for n, ((site, source), talk) in enumerate(demo_talk(end, days, seed).items()):
        if site == "ptt":
            write_board(root, source, _ptt(source, talk))
        elif site == "dcard":
            write_dcard_forum(root, source, _dcard(source, talk, 250_000_000 + n * 10_000))
        else:
            write_mobile01_forum(root, source, _mobile01(source, talk, 6_000_000 + n * 10_000))
        counts[f"{site}/{source}"] = len(talk)
    return counts


def demo_watch(root: Path, *, model: Path | None = None, sources: dict | None = None) -> dict:
    """The demo's watch file content: its brands, groups, sources, a loopback crawl."""
    return {
        "brands": [{"name": n, "aliases": a, "group": g} for n, a, g in BRANDS],
        "groups": {k: {"label": v} for k, v in GROUPS.items()},
        "sources": sources or {site: list(s) for site, s in SOURCES.items()},
        "crawl": {
            "window_days": 1,
            "lookback_days": 2,
            "per_task": "site",
            "timeout_minutes": 10,
            "settings": LOOPBACK,
        },
        "alerts": {"notify": [], "hourly": False},
        "storage": {"root": str(root / "data"), "reports": str(root / "reports")},
        "models": {"sentiment": str(model) if model else None, "sponsored": "rules"},
    }


# ---------------------------------------------------------------------------------------------- airflow


def dags_folder() -> Path:
    """The DAG files, installed as ``koubei.dags`` (the repo's ``dags/`` in an editable install)."""
    import importlib.util

    spec = importlib.util.find_spec("koubei.dags")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "koubei_nightly.py").is_file():
            return Path(location)
    raise FileNotFoundError("koubei.dags is not installed: reinstall koubei (`pip install -e .`)")


def airflow_env(home: Path) -> dict[str, str]:
    """Airflow settings for a private, service-less home (SQLite inside ``home``)."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "KOUBEI_DAG_RETRIES": "0",  # a failure ends the run at once instead of waiting to retry
    }


def prepare_airflow(home: Path) -> None:
    """Point this process at ``home`` (before Airflow is imported) and migrate its SQLite database."""
    home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(home)
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != env["AIRFLOW_HOME"]:
        raise RuntimeError(
            "Airflow is already imported with another AIRFLOW_HOME; run the demo in a fresh process"
        )
    os.environ.update(env)
    log = home / "db_migrate.log"
    with open(log, "w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env={**os.environ},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed; see {log}")


def run_dag(dag_id: str, logical_date: datetime, conf: dict):
    """One run of a DAG of ``dags/`` in this process (``dag.test()``); the finished DagRun."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder()))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.dags[dag_id].test(logical_date=logical_date, run_conf=conf)


def nightly_logical_date(day: date) -> datetime:
    """The logical date of the nightly run that answers for ``day`` (02:30 Taipei the next day)."""
    return datetime.combine(day + timedelta(days=1), time(2, 30), TAIPEI)


# ---------------------------------------------------------------------------------------------- demo


@dataclass
class DemoResult:
    out: Path
    site_dir: Path
    watch: Path
    root: Path
    days: list[str]
    runs: list[tuple[str, str]]  # (day, dag run state)
    report: Path | None = None

    @property
    def ok(self) -> bool:
        return all(state == "success" for _, state in self.runs)


def replay_sources(site_dir: Path) -> dict[str, list[str]]:
    """The sources a saved-page tree has: PTT boards with an index, Dcard forums with a post list,
    Mobile01 forums with a topic list: what the spiders can start from."""
    from .replay import ReplayServer

    found: dict[str, set[str]] = {"ptt": set(), "dcard": set(), "mobile01": set()}
    for key in ReplayServer(site_dir).routes:
        path, _, query = key.partition("?")
        parts = path.strip("/").split("/")
        if parts[0] == "bbs" and len(parts) == 3 and parts[2] == "index.html":  # where the spider starts
            found["ptt"].add(parts[1])
        elif path.startswith("/service/api/v2/forums/") and parts[-1] == "posts":  # the spider's API root
            found["dcard"].add(parts[-2])
        elif parts[-1] == "topiclist.php":
            forum = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("f")
            if forum and forum.isdigit():
                found["mobile01"].add(forum)
    return {site: sorted(names) for site, names in found.items() if names}


def run_demo(
    out: Path,
    *,
    replay: Path | None = None,
    days: int = DAYS,
    model: Path | None = None,
    on_day=None,
) -> DemoResult:
    """Generate (or take) the pages, serve them, run ``koubei_nightly`` per day; see the module doc."""
    from .replay import ReplayServer

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    site = Path(replay).resolve() if replay else out / "site"
    if replay is None:
        generate_site(site, days=days)
        run_days = [END - timedelta(days=days - 1 - d) for d in range(days)]
        watch_data = demo_watch(out, model=model)
        since = None
    else:
        sources = replay_sources(site)
        if not sources:
            raise ValueError(f"{site}: no PTT index, Dcard post list or Mobile01 topic list found")
        run_days = [datetime.now(TAIPEI).date()]
        watch_data = demo_watch(out, model=model, sources=sources)
        watch_data["crawl"]["settings"] = {**LOOPBACK, "ROBOTSTXT_OBEY": "True"}
        since = "2000-01-01"  # saved pages span years: one run over all of them
    watch = out / "watch.yaml"
    watch.write_text(
        "# written by `koubei demo`\n" + yaml.safe_dump(watch_data, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    prepare_airflow(out / "airflow")
    result = DemoResult(out, site, watch, out / "data", [d.isoformat() for d in run_days], [])
    with ReplayServer(site) as server:
        for day in run_days:
            conf = {"watch": str(watch), "base_url": server.base_url}
            if since:  # a replay: one run over everything saved, for today
                conf |= {"day": day.isoformat(), "since": since}
            run = run_dag("koubei_nightly", nightly_logical_date(day), conf)
            state = str(getattr(run.state, "value", run.state))
            result.runs.append((day.isoformat(), state))
            if on_day:
                on_day(day.isoformat(), state)
            if state != "success":
                break
    report = out / "reports" / f"koubei-{result.days[-1]}.html"
    result.report = report if report.is_file() else None
    return result
