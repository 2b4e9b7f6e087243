"""Backtest of the daily negative-spike detector on seeded synthetic series.

    python benchmarks/alerts_backtest.py [--brands 60] [--months 12] [--seed 7]

Each synthetic brand has a level of negative mentions a day (1 to 400), a weekday profile (weekend
dips or peaks), negative-binomial overdispersion (phi 0.02-0.25: day-to-day noise of 15-55 %) and
a slow drift of its level. Two runs over the same brands:

- **injected**: about one spike episode a month (1-3 days, decaying) of realistic size: the day's
  count times 3-8, and at least 12-30 extra mentions (a crisis at a small brand is a few dozen
  posts, not a multiple of 2);
- **quiet**: the same brands without spikes.

The detector is :meth:`koubei.pipelines.alerts.AlertConfig.daily_test` (``detect_spike`` with the
default thresholds), and alerts are de-duplicated by
:class:`~koubei.pipelines.alerts.Episodes` with the default cool-down, exactly as
:func:`~koubei.pipelines.alerts.run_alerts` does. Printed: precision (alerts that fall inside an
injected episode), recall (episodes with at least one alert), false alarms per brand-month on the
quiet run, by volume band. The first 8 weeks of each series are the warm-up (no verdicts).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from koubei.pipelines.alerts import AlertConfig, Episodes

LEVELS = (1, 3, 8, 20, 50, 120, 400)
DAYS_PER_MONTH = 30
START = datetime(2024, 1, 1, 16, tzinfo=UTC)  # a Taipei midnight


@dataclass
class Brand:
    level: float
    weekday: np.ndarray  # multiplicative profile, mean 1
    phi: float
    drift: np.ndarray  # multiplicative drift per day


@dataclass
class Series:
    counts: np.ndarray
    episodes: list[tuple[int, int]] = field(default_factory=list)  # [first day, last day] injected


def make_brand(rng: np.random.Generator, level: float, days: int) -> Brand:
    weekday = rng.uniform(0.85, 1.15, 7)
    weekday[5:] *= rng.choice([rng.uniform(0.5, 0.8), rng.uniform(1.1, 1.4)])  # weekend dip or peak
    weekday /= weekday.mean()
    steps = rng.normal(0, 0.01, days)
    drift = np.exp(np.clip(np.cumsum(steps), -0.5, 0.5))
    return Brand(level, weekday, float(rng.uniform(0.02, 0.25)), drift)


def expected_counts(brand: Brand, days: int) -> np.ndarray:
    return brand.level * brand.weekday[np.arange(days) % 7] * brand.drift


def sample(rng: np.random.Generator, mean: np.ndarray, phi: float) -> np.ndarray:
    n = 1.0 / phi
    return rng.negative_binomial(n, n / (n + mean))


def inject(rng: np.random.Generator, mean: np.ndarray, counts: np.ndarray, warmup: int) -> Series:
    """About one episode a month, at least three weeks apart, after the warm-up."""
    counts = counts.copy()
    episodes = []
    day = warmup + int(rng.integers(3, 20))
    while day < len(counts) - 3:
        length = int(rng.integers(1, 4))
        extra = max((rng.uniform(3, 8) - 1) * mean[day], rng.uniform(12, 30))
        for k in range(length):
            counts[day + k] += int(round(extra * 0.5**k))
        episodes.append((day, day + length - 1))
        day += int(rng.integers(21, 45))
    return Series(counts, episodes)


def alerts_for(counts: np.ndarray, config: AlertConfig, warmup: int) -> list[int]:
    """Days on which a new alert (a new episode) would be sent."""
    episodes = Episodes()
    cooldown = timedelta(hours=config.cooldown_hours)
    fired = []
    series = counts.astype(float).tolist()
    for day in range(warmup, len(series)):
        test = config.daily_test(series[max(0, day - 7 * config.weeks) : day], series[day])
        if test.spike and episodes.observe("b", START + timedelta(days=day), cooldown):
            fired.append(day)
    return fired


@dataclass
class Score:
    alerts: int = 0
    true_alerts: int = 0
    episodes: int = 0
    found: int = 0
    quiet_alerts: int = 0
    brand_months: float = 0.0

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.episodes if self.episodes else 1.0

    @property
    def false_per_brand_month(self) -> float:
        return self.quiet_alerts / self.brand_months if self.brand_months else 0.0

    def add(self, other: Score) -> None:
        for name in ("alerts", "true_alerts", "episodes", "found", "quiet_alerts", "brand_months"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def backtest(
    *, brands: int = 60, months: int = 12, seed: int = 7, config: AlertConfig | None = None
) -> dict[float, Score]:
    """Scores by brand level (volume band), over ``brands`` brands spread across :data:`LEVELS`."""
    config = config or AlertConfig()
    rng = np.random.default_rng(seed)
    warmup = 7 * config.weeks
    days = warmup + months * DAYS_PER_MONTH
    scores: dict[float, Score] = {}
    for i in range(brands):
        level = LEVELS[i % len(LEVELS)]
        brand = make_brand(rng, level, days)
        mean = expected_counts(brand, days)
        base = sample(rng, mean, brand.phi)
        score = scores.setdefault(level, Score())
        series = inject(rng, mean, base, warmup)
        fired = alerts_for(series.counts, config, warmup)
        score.alerts += len(fired)
        score.true_alerts += sum(any(a <= d <= b for a, b in series.episodes) for d in fired)
        score.episodes += len(series.episodes)
        score.found += sum(any(a <= d <= b for d in fired) for a, b in series.episodes)
        score.quiet_alerts += len(alerts_for(base, config, warmup))
        score.brand_months += months
    return scores


def total(scores: dict[float, Score]) -> Score:
    out = Score()
    for s in scores.values():
        out.add(s)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brands", type=int, default=70)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    config = AlertConfig()
    started = time.perf_counter()
    scores = backtest(brands=args.brands, months=args.months, seed=args.seed, config=config)
    print(
        f"daily negative-spike backtest: {args.brands} brands x {args.months} months, seed {args.seed}; "
        f"min_volume {config.min_volume}, min_ratio {config.min_ratio}, alpha {config.alpha}, "
        f"{config.weeks} weeks, cool-down {config.cooldown_hours:g} h"
    )
    print(
        f"{'level/day':>9} {'episodes':>8} {'alerts':>6} {'precision':>9} {'recall':>6} {'quiet FA/brand-month':>21}"
    )
    for level, s in sorted(scores.items()):
        print(
            f"{level:>9g} {s.episodes:>8} {s.alerts:>6} {s.precision:>9.3f} {s.recall:>6.3f} "
            f"{s.false_per_brand_month:>21.3f}"
        )
    t = total(scores)
    print(
        f"{'all':>9} {t.episodes:>8} {t.alerts:>6} {t.precision:>9.3f} {t.recall:>6.3f} "
        f"{t.false_per_brand_month:>21.3f}"
    )
    print(
        f"precision {t.precision:.3f}  recall {t.recall:.3f}  false alarms per brand-month (quiet) "
        f"{t.false_per_brand_month:.3f} ({t.quiet_alerts} in {t.brand_months:g}); "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
