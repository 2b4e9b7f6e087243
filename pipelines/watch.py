"""The watch file: one YAML that says what koubei listens to, where it stores it and whom it tells.

Every section is validated here, once, with messages that name the file, the line and the key
(``watch.yaml:12: sources.mobile01[0]: Mobile01 forums are numeric ids…``), so a typo stops a DAG
at parse time, not at 3 a.m. in the crawl. The stages keep reading their own section
(:func:`~koubei.nlp.brands.load_watch` for ``brands:``, :func:`~.alerts.load_alert_config`,
:func:`~.health.load_health_config`); this module reuses their models, so there is one definition
of each key. Relative paths (``storage.root``, ``models.*``) are relative to the watch file, so a
DAG finds the same data whatever its working directory.

``koubei init`` writes :data:`EXAMPLE` (every key, commented).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import yaml
from koubei.nlp.brands import WatchEntry, WatchFileError, parse_watch, read_watch_text
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .alerts import AlertConfig, AlertConfigError, parse_alert_config
from .health import HealthConfig, parse_health_config
from .nightly import WATCH_ENV

SITES = ("ptt", "dcard", "mobile01")
SECTIONS = ("brands", "groups", "sources", "crawl", "alerts", "health", "storage", "models")

__all__ = ["EXAMPLE", "WATCH_ENV", "WatchConfig", "WatchFileError", "load_watch_file", "parse_watch_file"]


# ---------------------------------------------------------------------------------------------- sections


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Group(_Section):
    """A competitor group: brands whose share of voice is computed against each other."""

    label: str | None = None  # how reports name it (default: the key)
    description: str | None = None


def _names(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of names")
    out = []
    for item in value:
        if not isinstance(item, str | int) or not str(item).strip():
            raise ValueError(f"{item!r} is not a name")
        out.append(str(item).strip())
    if len(set(out)) != len(out):
        raise ValueError(f"listed twice: {', '.join(sorted({x for x in out if out.count(x) > 1}))}")
    return tuple(out)


class Sources(_Section):
    """What to crawl: PTT boards, Dcard forum aliases, Mobile01 forum ids (``topiclist.php?f=ID``)."""

    ptt: tuple[str, ...] = ()
    dcard: tuple[str, ...] = ()
    mobile01: tuple[str, ...] = ()

    @field_validator("ptt", "dcard", "mobile01", mode="before")
    @classmethod
    def _listed(cls, value) -> tuple[str, ...]:
        return _names(value)

    @field_validator("mobile01")
    @classmethod
    def _numeric(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not v.isdigit()]
        if bad:
            raise ValueError(f"Mobile01 forums are numeric ids (topiclist.php?f=ID), not {', '.join(bad)}")
        return value

    @field_validator("dcard")
    @classmethod
    def _alias(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not re.fullmatch(r"[a-z0-9_]+", v)]
        if bad:
            raise ValueError(
                f"Dcard forum aliases are lower-case words (dcard.tw/f/ALIAS), not {', '.join(bad)}"
            )
        return value

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(site, getattr(self, site)) for site in SITES if getattr(self, site)]


class CrawlConfig(_Section):
    """How far back each nightly crawl reaches, and how it runs."""

    window_days: int = Field(1, ge=1, le=31)  # days of new posts a nightly run is responsible for
    lookback_days: float = Field(2, ge=0, le=31)  # older posts re-crawled for late comments and pushes
    per_task: Literal["source", "site"] = "source"  # one crawl task per board/forum, or per site
    timeout_minutes: float = Field(60, gt=0)  # a crawl still running then is killed (and retried)
    refresh_days: float = Field(0, ge=0, le=31)  # nightly re-fetch of stored posts this recent (0: off)
    refresh_budget: int = Field(300, ge=0)  # at most this many requests for that refresh
    refresh_per_hour: float = Field(0, ge=0)  # hourly re-fetch of posts growing this fast (0: off)
    settings: dict[str, str] = Field(default_factory=dict)  # Scrapy settings (DOWNLOAD_DELAY, ...)

    @field_validator("settings", mode="before")
    @classmethod
    def _text(cls, value):
        if isinstance(value, Mapping):
            return {str(k): str(v) for k, v in value.items()}
        return value

    def window(self, day: str) -> tuple[str, str]:
        """The ``since``/``until`` days of the crawl that answers for ``day``."""
        last = date.fromisoformat(day)
        first = last - timedelta(days=self.window_days - 1) - timedelta(days=self.lookback_days)
        return first.isoformat(), last.isoformat()


class Storage(_Section):
    root: str = "data"  # a folder (relative to the watch file) or an object-store URI (s3://…)
    reports: str | None = None  # where HTML reports go (default: <root>/reports, local roots only)


class Models(_Section):
    sentiment: str | None = None  # a model directory; default: the shipped model
    sponsored: str | None = None  # a model directory, "rules" (rules only); default: rules + shipped model
    backend: Literal["onnx-int8", "onnx", "torch"] = "onnx-int8"
    batch_size: int = Field(64, ge=1, le=4096)


class WatchConfig(BaseModel):
    """The whole watch file, validated; ``path`` is where it was read from (None: built in code)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path | None = None
    brands: tuple[WatchEntry, ...]
    groups: dict[str, Group] = Field(default_factory=dict)
    sources: Sources = Field(default_factory=Sources)
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)
    alerts: AlertConfig = Field(default_factory=AlertConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    storage: Storage = Field(default_factory=Storage)
    models: Models = Field(default_factory=Models)

    # -- resolved values

    def resolve(self, value: str | None) -> str | None:
        """A path relative to the watch file (URIs and absolute paths unchanged)."""
        if value is None or "://" in value:
            return value
        path = Path(value).expanduser()
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return str(path.resolve())

    @property
    def root(self) -> str:
        return self.resolve(self.storage.root)

    @property
    def reports_dir(self) -> Path:
        if self.storage.reports:
            return Path(self.resolve(self.storage.reports))
        if "://" in self.root:
            raise WatchFileError(
                f"{self.path}: storage.reports must name a local folder for an object-store root"
            )
        return Path(self.root) / "reports"

    @property
    def sentiment_model(self) -> Path | None:
        return Path(self.resolve(self.models.sentiment)) if self.models.sentiment else None

    def crawl_jobs(self) -> list[dict]:
        """One crawl per source (or per site): ``{"site": ..., "sources": [...]}``, JSON-able for XCom."""
        if self.crawl.per_task == "site":
            return [{"site": site, "sources": list(names)} for site, names in self.sources.items()]
        return [{"site": site, "sources": [n]} for site, names in self.sources.items() for n in names]


# ---------------------------------------------------------------------------------------------- loading


def load_watch_file(path: str | Path) -> WatchConfig:
    """Read and validate a watch file; every problem is a :class:`WatchFileError` naming file and line."""
    path = Path(path)
    text = read_watch_text(path)
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise WatchFileError(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return parse_watch_file(data, source=str(path), node=node, path=path.resolve())


def parse_watch_file(
    data, source: str = "<watch>", *, node: yaml.Node | None = None, path: Path | None = None
) -> WatchConfig:
    """Validate parsed YAML; ``node`` (``yaml.compose`` of the same text) adds line numbers."""

    def fail(loc: Sequence, message: str) -> WatchFileError:
        line = _line(node, loc)
        where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        return WatchFileError(
            f"{source}{f':{line}' if line else ''}: {where + ': ' if where else ''}{message}"
        )

    if not isinstance(data, dict):
        raise fail((), "expected a mapping with a 'brands:' list at the top level (see `koubei init`)")
    for key in data:
        if key not in SECTIONS:
            close = difflib.get_close_matches(str(key), SECTIONS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(SECTIONS)})"
            raise fail((key,), f"unknown section{hint}")
    try:
        brands = parse_watch(data, source)
    except WatchFileError as exc:
        index = re.search(r"brands\[(\d+)\]", str(exc))
        line = _line(node, ("brands", int(index.group(1)) - 1) if index else ("brands",))
        message = str(exc).removeprefix(f"{source}: ")
        raise WatchFileError(f"{source}{f':{line}' if line else ''}: {message}") from None
    try:
        alerts = parse_alert_config(data, source)
        health = parse_health_config(data, source)
    except AlertConfigError as exc:
        # "<source>: alerts: min_volume: ..." -> the line of alerts.min_volume
        message = str(exc).removeprefix(f"{source}: ")
        keys = re.match(r"'?(alerts|health)'?:? ([\w.]+)?", message)
        loc = (keys.group(1), *(keys.group(2) or "").split(".")) if keys else ()
        line = _line(node, [p for p in loc if p])
        raise WatchFileError(f"{source}{f':{line}' if line else ''}: {message}") from None
    sections = {}
    for name, model in (
        ("sources", Sources),
        ("crawl", CrawlConfig),
        ("storage", Storage),
        ("models", Models),
    ):
        value = data.get(name)
        if value is None:
            sections[name] = model()
            continue
        if not isinstance(value, Mapping):
            raise fail((name,), "must be a mapping")
        try:
            sections[name] = model.model_validate(value)
        except ValidationError as exc:
            raise _first(fail, name, exc) from None
    groups = _groups(data.get("groups"), fail)
    config = WatchConfig(
        path=path, brands=tuple(brands), groups=groups, alerts=alerts, health=health, **sections
    )
    if groups:
        for i, entry in enumerate(config.brands):
            if entry.group is not None and entry.group not in groups:
                close = difflib.get_close_matches(entry.group, list(groups), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f" (declared: {', '.join(groups)})"
                raise fail(
                    ("brands", i, "group"), f"group '{entry.group}' is not declared under groups:{hint}"
                )
    return config


def _groups(value, fail) -> dict[str, Group]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise fail(("groups",), "must be a mapping of group name -> {label, description}")
    out = {}
    for key, spec in value.items():
        try:
            spec = {"label": spec} if isinstance(spec, str) else (spec or {})
            out[str(key)] = Group.model_validate(spec)
        except ValidationError as exc:
            raise _first(fail, f"groups.{key}", exc, base=("groups", key)) from None
    return out


def _first(fail, name: str, exc: ValidationError, base: tuple | None = None) -> WatchFileError:
    """The first validation problem as a one-line error at its key."""
    err = exc.errors(include_url=False)[0]
    loc = (*(base or (name,)), *err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        model_keys = _allowed(name)
        close = difflib.get_close_matches(str(err["loc"][-1]), model_keys, n=1)
        msg = "unknown key" + (
            f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(model_keys)})"
        )
    return fail(loc, msg)


def _allowed(name: str) -> list[str]:
    models = {"sources": Sources, "crawl": CrawlConfig, "storage": Storage, "models": Models}
    return list((models.get(name) or Group).model_fields)


def _line(node: yaml.Node | None, loc: Sequence) -> int | None:
    """1-based line of the deepest part of ``loc`` the YAML has: a key's line, or a list item's."""
    if node is None:
        return None
    line, here = node.start_mark.line, node
    for part in loc:
        if isinstance(here, yaml.MappingNode):
            pair = next(((k, v) for k, v in here.value if k.value == str(part)), None)
            if pair is None:
                break
            line, here = pair[0].start_mark.line, pair[1]
        elif isinstance(here, yaml.SequenceNode) and isinstance(part, int) and part < len(here.value):
            here = here.value[part]
            line = here.start_mark.line
        else:
            break
    return line + 1


# ---------------------------------------------------------------------------------------------- example

EXAMPLE = """\
# koubei watch file: what to listen to, where to keep it, whom to tell.
# Validate it with `koubei init --check watch.yaml`; every DAG reads it ($KOUBEI_WATCH or the
# `watch` param). Relative paths are relative to this file.

# Brands and topics. name is also an alias; matching ignores case, full/half width and 簡/繁.
brands:
  - name: Apple
    aliases: [蘋果, iPhone, iPad, AirPods]
    # a boolean query (AND, OR, NOT, parentheses): 蘋果 inside 蘋果日報 does not count
    query: NOT (蘋果日報 OR 蘋果派)
    window: 30            # characters around a mention that its sentiment is read from
    group: phones         # competitor group: share of voice is computed inside it
  - name: Samsung
    aliases: [三星, Galaxy]
    group: phones
  - name: 全聯
    aliases: [PX Mart, 全聯福利中心]
    group: supermarkets
  - name: 家樂福
    aliases: [Carrefour]
    group: supermarkets

# Competitor groups named by brands above (optional; a brand's group must be declared here when
# this section exists, which catches typos).
groups:
  phones: {label: 手機品牌}
  supermarkets: {label: 量販超市, description: 全聯 vs 家樂福}

# Where to crawl.
sources:
  ptt: [MobileComm, iPhone, Lifeismoney]   # board names (www.ptt.cc/bbs/NAME)
  dcard: [3c, apple]                        # forum aliases (www.dcard.tw/f/ALIAS)
  mobile01: ["568", "383"]                  # forum ids (topiclist.php?f=ID)

crawl:
  window_days: 1          # days of new posts each nightly run answers for (the day before the run)
  lookback_days: 2        # older posts re-crawled for late pushes/comments
  refresh_days: 3         # nightly: re-fetch stored posts of the last 3 days, fastest-growing first (0: off)
  refresh_budget: 300     # ... within this many requests
  refresh_per_hour: 20    # hourly: re-fetch posts gaining >= 20 comments+likes an hour (0: off)
  per_task: source        # one crawl task per board/forum (or `site`: one per site)
  timeout_minutes: 60     # a crawl still running then is killed and retried
  settings:               # Scrapy settings for every crawl
    DOWNLOAD_DELAY: "1"

# Negative-spike and viral-thread alerts (every key optional; see README "Alerts").
alerts:
  # apprise URLs, or env:NAME for a variable holding them (keep tokens out of this file)
  notify: [env:KOUBEI_SLACK_URL]
  min_volume: 10          # negative mentions a day needs before it can be a spike
  min_ratio: 2.5          # observed / expected
  cooldown_hours: 48      # one alert per episode

# Crawl health: which statuses fail the DAG's crawl task (and so trigger Airflow's notifications).
health:
  fail_on: [blocked, failed]

storage:
  root: data              # a folder, or an object-store URI such as s3://bucket/koubei
  # reports: reports      # where HTML reports go (default: <root>/reports)

models:
  # sentiment: models/sentiment     # default: the model shipped with koubei
  # sponsored: rules                # rules only; default: rules + the shipped 業配 model
  backend: onnx-int8                # onnx-int8 | onnx | torch
"""
