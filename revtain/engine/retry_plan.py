"""Smart retry timing: when the next attempt of a queued recovery is due, and why.

Everything is on the customer's clock and calendar (:mod:`revtain.engine.customer_clock`): the
settings carry the customer's timezone and country. The due time is never earlier than a *floor*:
now + the minimum spacing, the ladder rung for this attempt (an offset from the original failure)
and the network rules' ``not_before``. From the floor:

* funds-type declines (``insufficient_funds`` and kin) wait for the first payday on or after the
  floor, on the customer's calendar: a Friday, the 1st, the 15th, the last business day of the
  month or the client's billing-cycle day (clamped to the month's length); a payday that falls on
  a weekend or a public holiday of the customer's country is paid on the business day before;
* every other retryable decline takes the floor's own day, or the next day that is not one of the
  ``avoid_weekdays`` (learned or default poor days, e.g. the weekend) within a week;
* the time of day is ``preferred_local_hour`` local (the learned hour when the caller has one), or
  the hour with the best rate in ``hour_success``; a moment before the floor moves to the next
  valid day at the same hour.

If that lands after the retry window (failed_at + window_days), a funds decline falls back to the
ladder day, and then to the floor itself (reason ``"window_end"``): one last attempt inside the
window is worth more than a good hour outside it. Nothing is returned past the window.

Local times are built with zoneinfo as wall-clock times with ``fold=0`` and converted to UTC, so
10:00 local stays 10:00 local across a DST change. A wall time that does not exist (the hour skipped
when clocks go forward) resolves with the offset in force before the change, i.e. it moves forward
by the gap (02:30 on a spring-forward night in New York is 03:30 EDT). A wall time that happens twice
(clocks going back) resolves to its first occurrence (the summer-time one).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import customer_clock
from .declines import classify, normalise

NO_RETRY_CATEGORIES = frozenset({"fraud", "auth_required"})
# Canonical codes that mean "not enough money right now" (Stripe's names for the card-limit cases).
FUNDS_CODES = frozenset({"insufficient_funds", "card_velocity_exceeded", "withdrawal_count_limit_exceeded"})
FRIDAY = 4


@dataclass(frozen=True)
class RetrySettings:
    window_days: float = 21
    max_attempts: int = 8
    billing_cycle_day: int | None = None  # 1-31; clamped to the month's length
    timezone: str = "UTC"  # the customer's IANA timezone
    country: str | None = None  # the customer's calendar (ISO 3166-1 alpha-2): business days, holidays
    preferred_local_hour: int = 10
    min_spacing_hours: float = 20
    # Floor of attempt n (0-based) = failed_at + ladder_days[n]; the last rung repeats beyond the end.
    ladder_days: tuple[float, ...] = (1, 3, 5, 7, 10, 14, 18, 21)
    # Local weekdays (Monday = 0) a non-funds retry moves away from, to the next other day.
    avoid_weekdays: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if not self.window_days > 0:
            raise ValueError("window_days must be positive")
        if self.max_attempts < 0:
            raise ValueError("max_attempts must not be negative")
        if self.billing_cycle_day is not None and not 1 <= self.billing_cycle_day <= 31:
            raise ValueError("billing_cycle_day must be 1-31")
        if not 0 <= self.preferred_local_hour <= 23:
            raise ValueError("preferred_local_hour must be 0-23")
        if self.min_spacing_hours < 0:
            raise ValueError("min_spacing_hours must not be negative")
        if not self.ladder_days or any(d < 0 for d in self.ladder_days):
            raise ValueError("ladder_days must be a non-empty sequence of non-negative days")
        object.__setattr__(self, "ladder_days", tuple(self.ladder_days))
        object.__setattr__(self, "avoid_weekdays", frozenset(self.avoid_weekdays))
        if any(not 0 <= d <= 6 for d in self.avoid_weekdays) or len(self.avoid_weekdays) > 5:
            raise ValueError("avoid_weekdays must be at most five weekdays 0-6")
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], clock: customer_clock.CustomerClock, *,
        window_days: float | None = None, max_attempts: int | None = None,
        billing_cycle_day: int | None = None, local_hour: int | None = None,
        avoid_weekdays: Iterable[int] | None = None,
    ) -> RetrySettings:
        """The app's ``RETRY_*`` settings (``revtain/config.py``) on the customer's clock; a client's
        own window and budget, and a learned hour or poor weekdays, win when given."""
        return cls(
            window_days=window_days or config["RETRY_WINDOW_DAYS"],
            max_attempts=max_attempts or config["RETRY_MAX_ATTEMPTS"],
            billing_cycle_day=billing_cycle_day,
            timezone=clock.timezone,
            country=clock.country,
            preferred_local_hour=config["RETRY_LOCAL_HOUR"] if local_hour is None else local_hour,
            min_spacing_hours=config["RETRY_MIN_SPACING_HOURS"],
            ladder_days=tuple(config["RETRY_LADDER_DAYS"]),
            avoid_weekdays=frozenset(
                config["RETRY_AVOID_WEEKDAYS"] if avoid_weekdays is None else avoid_weekdays
            ),
        )


@dataclass(frozen=True)
class PlannedAttempt:
    due_at: datetime  # UTC
    reason: str  # payday_friday | month_start | mid_month | month_end | billing_cycle_day | ladder |
    #              window_end


def is_funds_decline(decline_code: str | None) -> bool:
    return normalise(decline_code) in FUNDS_CODES


def local_moment(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """``hour``:00 on ``day`` in ``zone``, as a UTC datetime (gaps move forward, overlaps take the
    first occurrence; see the module docstring)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)


def payday_reason(day: date, billing_cycle_day: int | None, country: str | None = None) -> str | None:
    """Which payday ``day`` is on the customer's calendar; None when it is none
    (:func:`revtain.engine.customer_clock.payday_reason`)."""
    return customer_clock.payday_reason(day, country, billing_cycle_day)


def best_hour(preferred: int, hour_success: Mapping[int, float] | None) -> int:
    """The local hour with the best learned recovery rate; ties and no data -> ``preferred``.

    Hours outside 0-23 and rates that are not finite numbers are ignored. Among equal rates that do
    not include the preferred hour, the hour nearest to it wins (then the earlier one).
    """
    if not hour_success:
        return preferred
    rates = {
        int(h): float(r) for h, r in hour_success.items()
        if isinstance(h, int) and 0 <= h <= 23 and isinstance(r, int | float) and math.isfinite(r)
    }
    if not rates:
        return preferred
    top = max(rates.values())
    if rates.get(preferred) == top:
        return preferred
    return min((h for h, r in rates.items() if r == top), key=lambda h: (abs(h - preferred), h))


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return at.astimezone(UTC)


def next_attempt(
    failed_at: datetime,
    now: datetime,
    attempts_made: int,
    category: str,
    decline_code: str | None,
    settings: RetrySettings,
    not_before: datetime | None = None,
    hour_success: Mapping[int, float] | None = None,
) -> PlannedAttempt | None:
    """When to make attempt number ``attempts_made + 1``, or None when no further attempt is due.

    ``now`` is the moment of planning, normally just after the last attempt: the minimum spacing is
    counted from it. ``not_before`` is the network rules' earliest allowed moment
    (:func:`revtain.engine.network_rules.verdict`); the caller stops when the verdict says never.
    ``category`` / ``decline_code`` describe the latest decline.
    """
    if attempts_made < 0:
        raise ValueError("attempts_made must not be negative")
    failed_at, now = _aware(failed_at, "failed_at"), _aware(now, "now")
    if category in NO_RETRY_CATEGORIES or classify(decline_code).handling == "block":
        return None
    if attempts_made >= settings.max_attempts:
        return None
    deadline = failed_at + timedelta(days=settings.window_days)
    rung = settings.ladder_days[min(attempts_made, len(settings.ladder_days) - 1)]
    floor = max(now + timedelta(hours=settings.min_spacing_hours), failed_at + timedelta(days=rung))
    if not_before is not None:
        floor = max(floor, _aware(not_before, "not_before"))
    if floor > deadline:
        return None

    zone = settings.zone
    hour = best_hour(settings.preferred_local_hour, hour_success)
    first_day = floor.astimezone(zone).date()
    last_day = deadline.astimezone(zone).date()

    if is_funds_decline(decline_code):
        day = first_day
        while day <= last_day:
            reason = payday_reason(day, settings.billing_cycle_day, settings.country)
            if reason:
                due = local_moment(day, hour, zone)
                if floor <= due <= deadline:
                    return PlannedAttempt(due, reason)
            day += timedelta(days=1)

    days = [first_day + timedelta(days=n) for n in range(7)]
    preferred = [d for d in days if d.weekday() not in settings.avoid_weekdays] + days[:2]
    for day in preferred:
        due = local_moment(day, hour, zone)
        if floor <= due <= deadline:
            return PlannedAttempt(due, "ladder")
    return PlannedAttempt(floor, "window_end")
