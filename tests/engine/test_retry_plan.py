"""Smart retry timing, and whole retry campaigns checked against the card-network rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revtain.engine.declines import classify
from revtain.engine.network_rules import NetworkLimits, PastAttempt, verdict
from revtain.engine.retry_plan import RetrySettings, best_hour, local_moment, next_attempt, payday_reason

from .test_network_rules import attempt_allowed, has_never_code

NY, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
SYDNEY, KOLKATA = ZoneInfo("Australia/Sydney"), ZoneInfo("Asia/Kolkata")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def plan(failed_at: datetime, code: str | None = "insufficient_funds", *, now: datetime | None = None,
         attempts: int = 0, category: str | None = None, not_before: datetime | None = None,
         hour_success=None, **overrides):
    return next_attempt(
        failed_at, now or failed_at, attempts, category or classify(code).category, code,
        RetrySettings(**overrides), not_before=not_before, hour_success=hour_success,
    )


# --- payday windows (insufficient funds) -------------------------------------------------------------

@pytest.mark.parametrize(
    ("failed_at", "overrides", "due", "reason"),
    [
        # Mon 2 Mar; floor Tue 3 Mar 12:00 -> Fri 6 Mar 10:00
        (utc(2026, 3, 2, 12), {}, utc(2026, 3, 6, 10), "payday_friday"),
        # Tue 30 Jun 09:00; floor Wed 1 Jul 09:00 -> 10:00 the same day
        (utc(2026, 6, 30, 9), {}, utc(2026, 7, 1, 10), "month_start"),
        # Mon 13 Jul; floor Tue 14 Jul 09:00 -> Wed 15 Jul
        (utc(2026, 7, 13, 9), {}, utc(2026, 7, 15, 10), "mid_month"),
        # Mon 30 Mar; floor Tue 31 Mar 09:00 -> Tue 31 Mar 10:00
        (utc(2026, 3, 30, 9), {}, utc(2026, 3, 31, 10), "month_end"),
        # Mon 16 Mar; billing day 18 -> Wed 18 Mar, before Friday the 20th
        (utc(2026, 3, 16, 9), {"billing_cycle_day": 18}, utc(2026, 3, 18, 10), "billing_cycle_day"),
        # billing day 31 in a 30-day month: the 30th
        (utc(2026, 4, 27, 9), {"billing_cycle_day": 31}, utc(2026, 4, 30, 10), "billing_cycle_day"),
        (utc(2026, 4, 27, 9), {}, utc(2026, 4, 30, 10), "month_end"),
        # billing day 31 in February 2026: the 28th, a Saturday, so paid on Friday the 27th
        (utc(2026, 2, 26, 8), {"billing_cycle_day": 31}, utc(2026, 2, 27, 10), "billing_cycle_day"),
        # a floor after 10:00 on a payday moves on to the next payday: Fri 27 Feb (the month's last
        # business day) 12:00 -> Sun 1 Mar is no business day -> Fri 6 Mar
        (utc(2026, 2, 26, 12), {}, utc(2026, 3, 6, 10), "payday_friday"),
        # a payday past the window: back to the ladder day (floor Tue 12:00 -> Wed 10:00)
        (utc(2026, 3, 2, 12), {"window_days": 2}, utc(2026, 3, 4, 10), "ladder"),
        # nothing at 10:00 inside the window: the floor itself, the last moment allowed
        (utc(2026, 3, 2, 12), {"window_days": 1}, utc(2026, 3, 3, 12), "window_end"),
    ],
)
def test_payday_windows(failed_at, overrides, due, reason):
    planned = plan(failed_at, **overrides)
    assert planned is not None and (planned.due_at, planned.reason) == (due, reason)


@pytest.mark.parametrize("code", ["insufficient_funds", "card_velocity_exceeded", " INSUFFICIENT_FUNDS "])
def test_funds_family(code):
    assert plan(utc(2026, 3, 2, 12), code, category="soft").reason == "payday_friday"


@pytest.mark.parametrize(
    ("day", "billing", "reason"),
    [
        (date(2026, 3, 6), None, "payday_friday"), (date(2026, 4, 1), None, "month_start"),
        (date(2026, 4, 15), None, "mid_month"), (date(2026, 3, 31), None, "month_end"),
        (date(2026, 3, 30), None, None), (date(2026, 4, 30), 31, "billing_cycle_day"),
        (date(2026, 2, 27), 30, "billing_cycle_day"), (date(2028, 2, 28), 30, None),
        (date(2028, 2, 29), 31, "billing_cycle_day"), (date(2026, 3, 20), 20, "billing_cycle_day"),
        (date(2026, 4, 1), 1, "billing_cycle_day"),
        # weekends are never paydays: the 1st, the 15th and the 28th (last day) of these months
        (date(2026, 3, 1), None, None), (date(2026, 3, 15), None, None), (date(2026, 2, 28), 30, None),
        # a 15th on a Sunday is paid on Friday the 13th
        (date(2026, 3, 13), None, "mid_month"),
    ],
)
def test_payday_reason(day, billing, reason):
    assert payday_reason(day, billing) == reason


# --- timezones and DST -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("tz", "due"),
    [
        # floor Tue 3 Mar 12:00 UTC; the first local Friday at 10:00
        ("Australia/Sydney", datetime(2026, 3, 6, 10, tzinfo=SYDNEY)),  # 23:00 UTC on Thursday
        ("Asia/Kolkata", datetime(2026, 3, 6, 10, tzinfo=KOLKATA)),  # 04:30 UTC
        ("America/New_York", datetime(2026, 3, 6, 10, tzinfo=NY)),  # 15:00 UTC (EST)
        ("Europe/London", datetime(2026, 3, 6, 10, tzinfo=LONDON)),  # 10:00 UTC (GMT)
    ],
)
def test_payday_in_the_customers_timezone(tz, due):
    planned = plan(utc(2026, 3, 2, 12), timezone=tz)
    assert planned.due_at == due and planned.due_at.tzinfo is UTC and planned.reason == "payday_friday"


def test_utc_friday_that_is_saturday_in_sydney_is_not_a_payday():
    # floor Fri 6 Mar 14:00 UTC = Sat 7 Mar 01:00 Sydney: next local payday is Fri 13 Mar
    planned = plan(utc(2026, 3, 5, 14), timezone="Australia/Sydney")
    assert planned.due_at == datetime(2026, 3, 13, 10, tzinfo=SYDNEY)


def test_new_york_spring_forward_keeps_10_local():
    # Failed Fri 6 Mar 09:00 EST; floor two days later = Sun 8 Mar 14:00 UTC = 10:00 EDT (clocks went
    # forward at 02:00 that morning). Twenty-four hours of UTC would have meant 11:00 local.
    planned = plan(utc(2026, 3, 6, 14), "do_not_honor", ladder_days=(2,), timezone="America/New_York")
    assert planned.due_at == utc(2026, 3, 8, 14) and planned.reason == "ladder"
    assert planned.due_at.astimezone(NY).hour == 10


def test_london_fall_back_keeps_10_local():
    planned = plan(utc(2026, 10, 23, 7), "do_not_honor", ladder_days=(1,), timezone="Europe/London")
    assert planned.due_at == utc(2026, 10, 24, 9)  # Saturday 10:00 BST
    later = plan(utc(2026, 10, 24, 8), "do_not_honor", ladder_days=(1,), timezone="Europe/London")
    assert later.due_at == utc(2026, 10, 25, 10)  # Sunday 10:00 GMT, after clocks went back at 02:00 BST


def test_nonexistent_and_ambiguous_local_hours():
    # 02:00 does not exist in New York on 8 Mar 2026: it moves forward by the gap, to 03:00 EDT.
    assert local_moment(date(2026, 3, 8), 2, NY) == utc(2026, 3, 8, 7)
    assert local_moment(date(2026, 3, 8), 2, NY).astimezone(NY).hour == 3
    # 01:00 happens twice in London on 25 Oct 2026: the first (BST) occurrence.
    assert local_moment(date(2026, 10, 25), 1, LONDON) == utc(2026, 10, 25, 0)
    # Through the planner: preferred hour 2 on the spring-forward day.
    planned = plan(utc(2026, 3, 7, 5), "do_not_honor", preferred_local_hour=2, timezone="America/New_York",
                   min_spacing_hours=0)
    assert planned.due_at == utc(2026, 3, 8, 7)


# --- hour of day -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("rates", "hour"),
    [
        (None, 10), ({}, 10), ({14: 0.3, 10: 0.2}, 14), ({10: 0.3, 14: 0.3}, 10), ({9: 0.5, 11: 0.5}, 9),
        ({11: 0.5, 18: 0.5}, 11), ({25: 0.9, 14: 0.1}, 14), ({3: float("nan"), 14: 0.1}, 14),
    ],
)
def test_best_hour(rates, hour):
    assert best_hour(10, rates) == hour


def test_learned_hour_on_the_chosen_day():
    planned = plan(utc(2026, 3, 2, 12), hour_success={14: 0.4, 10: 0.3}, timezone="America/New_York")
    assert planned.due_at == datetime(2026, 3, 6, 14, tzinfo=NY)


def test_learned_hour_before_the_floor_moves_to_the_next_day():
    # technical decline at Tue 3 Mar 12:00, floor Wed 12:00; 08:00 has passed that day -> Thu 08:00
    planned = plan(utc(2026, 3, 3, 12), "gateway_timeout", hour_success={8: 0.9})
    assert planned.due_at == utc(2026, 3, 5, 8) and planned.reason == "ladder"


# --- floors, budget, window, categories -----------------------------------------------------------------

def test_ladder_floor_per_attempt():
    failed = utc(2026, 3, 2, 9)
    dues = [plan(failed, "do_not_honor", now=failed, attempts=n).due_at for n in range(8)]
    assert dues == [utc(2026, 3, d, 10) for d in (3, 5, 7, 9, 12, 16, 20)] + [utc(2026, 3, 23, 9)]
    assert plan(failed, "do_not_honor", attempts=7).reason == "window_end"  # 21 days = the window's end


def test_never_before_now_and_min_spacing():
    failed = utc(2026, 3, 2, 9)
    late = failed + timedelta(days=3, hours=3)  # re-planned Thu 5 Mar 12:00
    planned = plan(failed, "do_not_honor", now=late)
    assert planned.due_at == utc(2026, 3, 6, 10)  # Fri 10:00 is 22 h later; Thu 10:00 has passed
    planned = plan(failed, "do_not_honor", now=late, min_spacing_hours=23)
    assert planned.due_at == utc(2026, 3, 7, 10)


def test_not_before_is_honoured():
    failed = utc(2026, 3, 2, 9)
    planned = plan(failed, "do_not_honor", not_before=utc(2026, 3, 8, 13))
    assert planned.due_at == utc(2026, 3, 9, 10)
    planned = plan(failed, not_before=utc(2026, 3, 8, 13))  # funds: next payday after the floor
    assert planned.due_at == utc(2026, 3, 13, 10)
    assert plan(failed, not_before=failed + timedelta(days=21, seconds=1)) is None


@pytest.mark.parametrize(
    ("kwargs", "overrides"),
    [
        ({"attempts": 8}, {}),
        ({"attempts": 3}, {"max_attempts": 3}),
        ({"now": utc(2026, 3, 22, 14)}, {}),  # now + spacing is past the 21-day window
        ({"category": "fraud"}, {}),
        ({"category": "auth_required"}, {}),
        ({"code": "stolen_card", "category": "soft"}, {}),
    ],
)
def test_no_attempt(kwargs, overrides):
    kwargs = {"code": "do_not_honor", **kwargs}
    assert plan(utc(2026, 3, 2, 9), kwargs.pop("code"), **kwargs, **overrides) is None


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_attempt(datetime(2026, 3, 2), utc(2026, 3, 2), 0, "soft", None, RetrySettings())
    with pytest.raises(ValueError):
        RetrySettings(billing_cycle_day=32)
    with pytest.raises(ValueError):
        RetrySettings(timezone="Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        RetrySettings(ladder_days=())


# --- property: whole campaigns never break a rule --------------------------------------------------------

TIMEZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata",
             "America/Los_Angeles", "Pacific/Chatham"]
NETWORKS = ["visa", "mastercard", "amex", "discover", "jcb", "unknown"]
NETWORK_CODES = [None] * 10 + ["05", "51", "61", "91", "N7", "14", "04", "41", "R0", "3"]
ADVICE_CODES = [None] * 10 + ["02", "24", "25", "26", "27", "28", "29", "30",
                              "01", "03", "21", "do_not_try_again"]
DECLINE_CODES = [None, "insufficient_funds", "insufficient_funds", "do_not_honor", "generic_decline",
                 "try_again_later", "gateway_timeout", "expired_card", "card_velocity_exceeded", "whatever",
                 "fraudulent", "lost_card", "authentication_required"]
OUTCOMES = ["declined"] * 6 + ["error", "unknown", "approved"]
PAYDAY_REASONS = {"payday_friday", "month_start", "mid_month", "month_end", "billing_cycle_day"}

retry_settings = st.builds(
    RetrySettings,
    window_days=st.integers(1, 45),
    max_attempts=st.integers(1, 12),
    billing_cycle_day=st.none() | st.integers(1, 31),
    timezone=st.sampled_from(TIMEZONES),
    preferred_local_hour=st.integers(0, 23),
    min_spacing_hours=st.sampled_from([0, 0.5, 1, 4, 12, 20, 24, 36]),
    ladder_days=st.lists(st.sampled_from([0, 0.25, 1, 2, 3, 5, 7, 10, 14, 21, 30]), min_size=1, max_size=10)
    .map(lambda xs: tuple(sorted(xs))),
)
hour_rates = st.none() | st.dictionaries(st.integers(0, 23), st.sampled_from([0.0, 0.1, 0.5]), max_size=6)
clock = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


RETRYABLE = {"network_code": [None, None, "05", "51", "91"], "advice_code": [None, None, "02", "24", "26"],
             "decline_code": [None, "insufficient_funds", "do_not_honor", "gateway_timeout"]}
ANY = {"network_code": NETWORK_CODES, "advice_code": ADVICE_CODES, "decline_code": DECLINE_CODES}


def random_attempt(draw, at: datetime, codes: dict[str, list] = ANY) -> PastAttempt:
    outcome = draw(st.sampled_from(OUTCOMES))
    if outcome != "declined":
        return PastAttempt(at, outcome)
    drawn = {field: draw(st.sampled_from(values)) for field, values in codes.items()}
    return PastAttempt(at, outcome, **drawn)


def check_plan(planned, *, failed_at, now, attempts, code, settings, not_before):
    """What every planned attempt must satisfy, recomputed from the settings."""
    due = planned.due_at
    rung = settings.ladder_days[min(attempts, len(settings.ladder_days) - 1)]
    assert due.tzinfo is UTC
    assert attempts < settings.max_attempts
    assert due >= now + timedelta(hours=settings.min_spacing_hours)
    assert due >= failed_at + timedelta(days=rung)
    assert not_before is None or due >= not_before
    assert due <= failed_at + timedelta(days=settings.window_days)
    local = due.astimezone(ZoneInfo(settings.timezone))
    if planned.reason in PAYDAY_REASONS:
        assert code in ("insufficient_funds", "card_velocity_exceeded")
        assert local.weekday() < 5
        assert payday_reason(local.date(), settings.billing_cycle_day, settings.country) == planned.reason
    else:
        assert planned.reason in ("ladder", "window_end")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.data(), network=st.sampled_from(NETWORKS), retry=retry_settings, failed_at=clock,
       hour_success=hour_rates)
def test_campaigns_never_break_a_rule(data, network, retry, failed_at, hour_success):
    draw = data.draw
    limits = NetworkLimits()
    # Attempts on the same card from the client's other recoveries: spread over 40 days, plus a burst;
    # mostly with codes that allow a retry, so that the budgets get to bind.
    past_codes = draw(st.sampled_from([RETRYABLE, RETRYABLE, RETRYABLE, ANY]))
    history = [random_attempt(draw, failed_at - timedelta(seconds=s), past_codes)
               for s in draw(st.lists(st.integers(1, 40 * 86400), max_size=45))]
    history += [random_attempt(draw, failed_at - timedelta(seconds=s), past_codes)
                for s in draw(st.lists(st.integers(1, 30 * 3600), max_size=12))]
    code = draw(st.sampled_from(DECLINE_CODES))
    now = failed_at + timedelta(seconds=draw(st.integers(0, 3 * 3600)))
    made: list[datetime] = []

    while True:
        v = verdict(network, history, now, limits)
        if has_never_code(history):
            assert v.never
            break
        assert not v.never
        planned = next_attempt(failed_at, now, len(made), classify(code).category, code, retry,
                               not_before=v.not_before, hour_success=hour_success)
        if planned is None:
            break
        check_plan(planned, failed_at=failed_at, now=now, attempts=len(made), code=classify(code).code,
                   settings=retry, not_before=v.not_before)
        assert classify(code).category not in ("fraud", "auth_required")
        now = planned.due_at
        assert verdict(network, history, now, limits).allowed_now
        assert attempt_allowed(network, history, now)  # brute-force recount of every network rule
        attempt = random_attempt(draw, now)
        history.append(attempt)
        made.append(now)
        if attempt.outcome == "approved":
            break
        if attempt.outcome == "declined":
            code = attempt.decline_code
        now += timedelta(seconds=draw(st.integers(0, 600)))  # the worker records and re-plans

    assert len(made) <= retry.max_attempts
    assert all(failed_at <= t <= failed_at + timedelta(days=retry.window_days) for t in made)
    assert made == sorted(made)
