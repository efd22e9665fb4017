"""Table tests of the planner on the customer's clock: whose timezone, business-day paydays moved
before weekends and public holidays, the month's last business day, and the learned hour."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from revtain.config import DEFAULTS
from revtain.engine import customer_clock
from revtain.engine.learned_timing import SlotCounts, choose, choose_hour, poor_weekdays
from revtain.engine.retry_plan import RetrySettings, next_attempt


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def funds_plan(failed_at: datetime, clock: customer_clock.CustomerClock, **learned):
    settings = RetrySettings.from_config(DEFAULTS, clock, **learned)
    return next_attempt(failed_at, failed_at, 0, "soft", "insufficient_funds", settings)


# --- whose clock ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "country", "card_country", "client_tz", "expected"),
    [
        # the zone's country is the calendar, before the card's
        ("Asia/Tokyo", None, "US", "Europe/Paris", ("Asia/Tokyo", "JP", "customer_timezone")),
        ("UTC", None, "US", "Europe/Paris", ("UTC", "US", "customer_timezone")),
        ("Asia/Tokyo", "fr", None, "UTC", ("Asia/Tokyo", "FR", "customer_timezone")),
        (None, "GB", "US", "Europe/Paris", ("Europe/London", "GB", "customer_country")),
        (None, None, "US", "Europe/Paris", ("America/New_York", "US", "card_country")),
        (None, None, "AU", "UTC", ("Australia/Sydney", "AU", "card_country")),
        (None, None, None, "Europe/Paris", ("Europe/Paris", "FR", "client_timezone")),
        (None, None, None, "UTC", ("UTC", None, "client_timezone")),
        # invalid values are skipped, never trusted
        ("Mars/Olympus", "ZZ", "DE", "UTC", ("Europe/Berlin", "DE", "card_country")),
    ],
)
def test_whose_clock(tz, country, card_country, client_tz, expected):
    clock = customer_clock.resolve(tz, country, card_country, client_tz)
    assert (clock.timezone, clock.country, clock.source) == expected


def test_customer_timezone_vs_client_timezone():
    # Failed Mon 16 Mar 2026 12:00 UTC. The client is in Paris; the customer in Los Angeles.
    failed = utc(2026, 3, 16, 12)
    mine = funds_plan(failed, customer_clock.resolve(None, None, None, "Europe/Paris"))
    theirs = funds_plan(failed, customer_clock.resolve("America/Los_Angeles", None, None, "Europe/Paris"))
    paris, la = ZoneInfo("Europe/Paris"), ZoneInfo("America/Los_Angeles")
    assert mine.due_at == datetime(2026, 3, 20, 10, tzinfo=paris)  # Friday 10:00 in Paris
    assert theirs.due_at == datetime(2026, 3, 20, 10, tzinfo=la)  # Friday 10:00 in Los Angeles
    assert theirs.due_at.astimezone(UTC) == utc(2026, 3, 20, 17)


# --- paydays on the customer's calendar ------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "country", "reason"),
    [
        # last business day: Sat 31 Oct 2026 -> Fri 30 Oct
        (date(2026, 10, 30), "US", "month_end"), (date(2026, 10, 31), "US", None),
        # Thu 31 Dec 2026 is a business day in the US ...
        (date(2026, 12, 31), "US", "month_end"),
        # ... Sun 31 May 2026 -> Fri 29 May; Mon 31 May 2027 is Memorial Day in the US -> Fri 28 May,
        # not a holiday in France
        (date(2026, 5, 29), "GB", "month_end"), (date(2027, 5, 31), "US", None),
        (date(2027, 5, 28), "US", "month_end"), (date(2027, 5, 31), "FR", "month_end"),
        # a Friday that is a public holiday is paid on Thursday: Good Friday 3 Apr 2026 in the UK
        (date(2026, 4, 3), "GB", None), (date(2026, 4, 2), "GB", "payday_friday"),
        (date(2026, 4, 3), "US", "payday_friday"),  # not a federal holiday
        # Independence Day observed Fri 3 Jul 2026 -> Thu 2 Jul
        (date(2026, 7, 3), "US", None), (date(2026, 7, 2), "US", "payday_friday"),
        # 15th on a Sunday (15 Mar 2026) -> Fri 13th; on a weekday it stays
        (date(2026, 3, 13), "FR", "mid_month"), (date(2026, 4, 15), "FR", "mid_month"),
        # 1st of May is a holiday in France, not in the US
        (date(2026, 5, 1), "FR", None), (date(2026, 5, 1), "US", "month_start"),
        # weekends are never paydays, whatever the country
        (date(2026, 3, 1), "US", None), (date(2026, 3, 15), None, None),
        # no country: weekends only
        (date(2026, 12, 25), None, "payday_friday"), (date(2026, 12, 25), "US", None),
        (date(2026, 12, 24), "US", "payday_friday"),
    ],
)
def test_paydays_on_the_customers_calendar(day, country, reason):
    assert customer_clock.payday_reason(day, country) == reason


@pytest.mark.parametrize(
    ("failed_at", "tz", "country", "due_local", "reason"),
    [
        # Floor Tue 29 Dec 2026; Thu 31 Dec is the US month's last business day
        (utc(2026, 12, 28, 15), "America/New_York", "US", datetime(2026, 12, 31, 10), "month_end"),
        # Floor Thu 27 May 2027 in New York: Fri 28 May is both Friday and the last business day
        # (Mon 31 May is Memorial Day)
        (utc(2027, 5, 26, 14), "America/New_York", "US", datetime(2027, 5, 28, 10), "month_end"),
        # ... while in France the 31st is a business day, after Friday the 28th
        (utc(2027, 5, 26, 8), "Europe/Paris", "FR", datetime(2027, 5, 28, 10), "payday_friday"),
        # Floor Thu 2 Jul 2026 01:00 New York: Friday the 3rd is a holiday -> paid Thu 2 Jul at 10:00
        (utc(2026, 7, 1, 5), "America/New_York", "US", datetime(2026, 7, 2, 10), "payday_friday"),
        # Good Friday in the UK: Thursday 2 Apr 2026
        (utc(2026, 3, 31, 12), "Europe/London", "GB", datetime(2026, 4, 2, 10), "payday_friday"),
        # a weekend 15th moves back: Sat 15 Aug 2026 -> Fri 14 Aug in Berlin
        (utc(2026, 8, 12, 8), "Europe/Berlin", "DE", datetime(2026, 8, 14, 10), "mid_month"),
    ],
)
def test_planner_moves_paydays_before_weekends_and_holidays(failed_at, tz, country, due_local, reason):
    planned = funds_plan(failed_at, customer_clock.resolve(tz, country, None, "UTC"))
    assert planned.due_at == due_local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    assert planned.reason == reason


# --- learned hour ------------------------------------------------------------------------------------


def counts(**by_hour: tuple[int, int]) -> dict[int, SlotCounts]:
    return {int(h[1:]): SlotCounts(*sf) for h, sf in by_hour.items()}


KNOBS = {"min_samples": 50, "prior_strength": 20}


@pytest.mark.parametrize(
    ("mine", "everyone", "hour", "basis"),
    [
        ({}, {}, 10, "default"),  # a young install keeps the default
        # 14:00 does better, but on 30 outcomes only: not enough samples yet
        ({}, counts(h10=(30, 70), h14=(15, 15)), 10, "default"),
        # 60 outcomes at 14:00, clearly better: used
        ({}, counts(h10=(30, 70), h14=(30, 30)), 14, "learned"),
        # enough samples, but no better than the default hour
        ({}, counts(h10=(30, 70), h14=(18, 42)), 10, "default"),
        # the client's own outcomes pull the blend: everyone likes 14:00, this client's 9:00
        (counts(h9=(80, 20)), counts(h9=(80, 120), h14=(90, 110), h10=(60, 140)), 9, "learned"),
        # hours outside 0-23 are ignored
        ({}, counts(h10=(30, 70), h30=(90, 10)), 10, "default"),
    ],
)
def test_learned_hour_used_once_it_has_enough_samples(mine, everyone, hour, basis):
    assert choose_hour(10, mine, everyone, **KNOBS) == (hour, basis)


def test_learned_hour_reaches_the_plan():
    everyone = counts(h10=(30, 70), h14=(40, 20))
    choice = choose(10, ({}, everyone), ({}, {}), explore_share=0.0, weekday_below=0.85, key="r1:0", **KNOBS)
    assert (choice.hour, choice.basis, choice.avoid_weekdays) == (14, "learned", None)
    clock = customer_clock.resolve("America/Chicago", "US", None, "UTC")
    planned = funds_plan(utc(2026, 3, 16, 12), clock, local_hour=choice.hour)
    assert planned.due_at == datetime(2026, 3, 20, 14, tzinfo=ZoneInfo("America/Chicago"))


def test_exploration_is_a_small_deterministic_share_of_daytime_hours():
    picks = [choose_hour(10, {}, {}, explore_share=0.1, key=f"rec{i}:0", **KNOBS) for i in range(2000)]
    explored = [h for h, basis in picks if basis == "explore"]
    assert 120 <= len(explored) <= 280
    assert set(explored) <= set(range(7, 19)) and len(set(explored)) > 6
    assert picks == [choose_hour(10, {}, {}, explore_share=0.1, key=f"rec{i}:0", **KNOBS)
                     for i in range(2000)]


def test_poor_weekdays_need_samples_on_every_day():
    good, bad = SlotCounts(40, 60), SlotCounts(20, 80)
    week = {d: good for d in range(5)} | {5: bad, 6: bad}
    assert poor_weekdays({}, week, below=0.85, **KNOBS) == frozenset({5, 6})
    assert poor_weekdays({}, {d: week[d] for d in range(6)}, below=0.85, **KNOBS) is None
    assert poor_weekdays({}, {d: good for d in range(7)}, below=0.85, **KNOBS) == frozenset()


@pytest.mark.parametrize(
    ("value", "country"),
    [("GB", "GB"), (" us ", "US"), ("United States", None), ("ZZ", None), (None, None), (44, None)],
)
def test_a_platforms_country_is_used_only_when_it_is_an_iso_code(value, country):
    from revtain.connectors.processing import platform_country

    assert platform_country(value) == country
