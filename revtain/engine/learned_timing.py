"""Learned retry timing: the customer's local hour and weekdays that recover best, per client and
decline family, from the outcomes of scheduled retries.

Empirical Bayes, honest about sample size: a slot's (hour's or weekday's) rate over all clients is
shrunk toward all clients' overall rate with ``prior_strength`` pseudo-observations; the client's
own outcomes in that slot are then added on top, with all clients' estimate as their prior. A young
install (no data) keeps the configured defaults. An hour replaces the default only when it has at
least ``min_samples`` outcomes (all clients together) and a better estimate than the default hour.

Exploration: a small, deterministic share of plans (``explore_share``, keyed by recovery and
attempt) tries another daytime hour, so hours nobody tried yet get samples and the estimate keeps
up with change. Pure: the caller reads the counts (``revtain/recovery/learning.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

EXPLORE_HOURS = tuple(range(7, 19))  # daytime local hours worth exploring
DEFAULT_RATE = 0.3  # overall rate assumed before any outcome is recorded (only its ratio matters)


@dataclass(frozen=True)
class SlotCounts:
    successes: int = 0
    failures: int = 0

    @property
    def total(self) -> int:
        return self.successes + self.failures


Counts = Mapping[int, SlotCounts]


@dataclass(frozen=True)
class TimingChoice:
    hour: int | None  # the local hour to use; None keeps the configured default
    avoid_weekdays: frozenset[int] | None  # None keeps the configured default
    basis: str  # default | learned | explore


def _overall(counts: Counts) -> float:
    successes = sum(c.successes for c in counts.values())
    total = sum(c.total for c in counts.values())
    return successes / total if total else DEFAULT_RATE


def blend(mine: Counts, everyone: Counts, prior_strength: float) -> dict[int, tuple[float, int]]:
    """slot -> (estimated rate, outcomes behind it over all clients). ``everyone`` includes ``mine``."""
    base = _overall(everyone)
    rates: dict[int, tuple[float, int]] = {}
    for slot in set(mine) | set(everyone):
        all_ = everyone.get(slot, SlotCounts())
        own = mine.get(slot, SlotCounts())
        shared = (all_.successes + prior_strength * base) / (all_.total + prior_strength)
        rates[slot] = ((own.successes + prior_strength * shared) / (own.total + prior_strength),
                       max(all_.total, own.total))
    return rates


def _unit(key: str) -> float:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def choose_hour(
    preferred: int, mine: Counts, everyone: Counts, *, min_samples: int, prior_strength: float,
    explore_share: float = 0.0, key: str | None = None,
) -> tuple[int, str]:
    """The local hour for a retry and why: ``default``, ``learned`` or ``explore``."""
    if key is not None and explore_share > 0 and _unit(f"explore:{key}") < explore_share:
        return EXPLORE_HOURS[int(_unit(f"hour:{key}") * len(EXPLORE_HOURS))], "explore"
    rates = blend(mine, everyone, prior_strength)
    default_rate = rates.get(preferred, (_overall(everyone), 0))[0]
    known = {h: r for h, (r, n) in rates.items() if n >= min_samples and 0 <= h <= 23}
    if not known:
        return preferred, "default"
    best = max(known, key=lambda h: (known[h], -abs(h - preferred)))
    return (best, "learned") if known[best] > default_rate else (preferred, "default")


def poor_weekdays(
    mine: Counts, everyone: Counts, *, min_samples: int, prior_strength: float, below: float,
) -> frozenset[int] | None:
    """Weekdays (at most two) whose estimate is under ``below`` x the best weekday's; None until
    every weekday has ``min_samples`` outcomes."""
    rates = blend(mine, everyone, prior_strength)
    if any(rates.get(d, (0.0, 0))[1] < min_samples for d in range(7)):
        return None
    top = max(rates[d][0] for d in range(7))
    worst = sorted((d for d in range(7) if rates[d][0] < below * top), key=lambda d: rates[d][0])
    return frozenset(worst[:2])


def choose(
    preferred: int, hours: tuple[Counts, Counts], weekdays: tuple[Counts, Counts], *,
    min_samples: int, prior_strength: float, explore_share: float, weekday_below: float, key: str | None,
) -> TimingChoice:
    """Hour and weekdays from (client's, everyone's) counts for one decline family."""
    hour, basis = choose_hour(preferred, *hours, min_samples=min_samples, prior_strength=prior_strength,
                              explore_share=explore_share, key=key)
    avoid = poor_weekdays(*weekdays, min_samples=min_samples, prior_strength=prior_strength,
                          below=weekday_below)
    return TimingChoice(hour if basis != "default" else None, avoid, basis)
