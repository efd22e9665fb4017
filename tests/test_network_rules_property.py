"""Property: whatever the declines, advice codes, client settings and clock, the recovery services
never make an attempt that breaks a card-network rule, the retry window or the attempt budget,
and never charge a card again after a never-retry answer. Driven through the real services on the
test gateway, whose ``test_decline_<code>+advice:<MAC>+network:<code>`` tokens decline on demand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from revtain.engine.network_rules import VISA_CATEGORY_1
from revtain.extensions import db
from revtain.models import Attempt, Recovery
from revtain.models.recovery import PROCESSING, QUEUED, UNKNOWN
from revtain.onboarding import onboard
from revtain.recovery.retry import run_scheduled_attempt

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NEVER_ADVICE = {"01", "03", "21"}
ADVICE_FLOOR_HOURS = {"24": 1, "25": 24, "26": 48, "27": 96, "28": 144, "29": 192, "30": 240}
BLOCK_CODES = {"lost_card", "stolen_card", "pickup_card", "fraudulent", "restricted_card"}
_serial = itertools.count()


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START.isoformat(), TEST_GATEWAY_RETRY_LADDER=[],
                    EXECUTE_RATE_LIMIT="100000 per minute")


campaigns = st.fixed_dictionaries(
    {
        "code": st.sampled_from(["insufficient_funds", "do_not_honor", "try_again_later",
                                 "card_declined", "expired_card", "lost_card", "generic_decline"]),
        "advice": st.sampled_from([None, "02", "24", "25", "26", "27", "28", "29", "30", "01", "03",
                                   "21"]),
        "network": st.sampled_from([None, "05", "51", "61", "91", "04", "41", "R0"]),
        "original": st.sampled_from(["insufficient_funds", "do_not_honor", "gateway_timeout", None]),
        "timezone": st.sampled_from(["UTC", "America/New_York", "Europe/London", "Australia/Sydney",
                                     "Asia/Kolkata"]),
        "billing_cycle_day": st.none() | st.integers(1, 31),
        "window_days": st.integers(1, 30),
        "max_attempts": st.integers(1, 10),
        # gaps before each further recovery of the same card, in hours
        "gaps": st.lists(st.integers(0, 24 * 20), max_size=3),
    }
)


def _never(attempt: Attempt) -> bool:
    return (
        attempt.advice_code in NEVER_ADVICE
        or attempt.network_code in VISA_CATEGORY_1
        or attempt.decline_code in BLOCK_CODES
    )


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(campaign=campaigns)
def test_no_path_breaks_the_network_rules(app, campaign):
    clock = app.extensions["revtain.clock"]
    clock.freeze(START)
    client = app.test_client()
    token = f"test_decline_{campaign['code']}"
    if campaign["advice"]:
        token += f"+advice:{campaign['advice']}"
    if campaign["network"]:
        token += f"+network:{campaign['network']}"
    with app.app_context():
        merchant = onboard(name=f"Prop {next(_serial)}", webhook_url=None,
                           timezone=campaign["timezone"],
                           billing_cycle_day=campaign["billing_cycle_day"])
        from revtain.models import Client

        row = db.session.get(Client, merchant.client_id)
        row.retry_window_days, row.retry_max_attempts = campaign["window_days"], campaign["max_attempts"]
        db.session.commit()
    headers = {"X-API-KEY": merchant.api_key}

    def execute(amount: int) -> None:
        body = {"paymentMethodToken": token, "amount": amount}
        if campaign["original"]:
            body["originalDeclineCode"] = campaign["original"]
        assert client.post("/api/recovery/execute", json=body, headers=headers).status_code < 500

    def run_due_until(limit: datetime) -> None:
        for _ in range(200):  # bounded
            with app.app_context():
                due = db.session.execute(
                    select(func.min(Recovery.next_attempt_at)).where(
                        Recovery.client_id == merchant.client_id,
                        Recovery.status.in_((QUEUED, PROCESSING, UNKNOWN)),
                    )
                ).scalar()
                if due is None or due > limit:
                    return
                clock.freeze(max(due, clock.now()))
                ids = db.session.execute(
                    select(Recovery.id).where(Recovery.client_id == merchant.client_id,
                                              Recovery.next_attempt_at <= clock.now())
                ).scalars().all()
            for rid in ids:
                with app.app_context():
                    run_scheduled_attempt(rid)
        raise AssertionError("campaign did not settle")

    execute(5000)
    for n, gap in enumerate(campaign["gaps"], start=1):
        target = clock.now() + timedelta(hours=gap)
        run_due_until(target)
        clock.freeze(max(target, clock.now()))
        execute(5000 + n)
    run_due_until(START + timedelta(days=400))

    with app.app_context():
        attempts = db.session.execute(
            select(Attempt).where(Attempt.client_id == merchant.client_id).order_by(Attempt.created_at,
                                                                                  Attempt.seq)
        ).scalars().all()
        recoveries = {r.id: r for r in db.session.execute(
            select(Recovery).where(Recovery.client_id == merchant.client_id)).scalars()}

    times = [a.created_at for a in attempts]
    for i, t in enumerate(times):
        in_24h = sum(1 for u in times[: i + 1] if u > t - timedelta(hours=24))
        in_30d = sum(1 for u in times[: i + 1] if u > t - timedelta(days=30))
        assert in_24h <= 10, "Mastercard: 10 attempts in 24 h (unknown network gets both budgets)"
        assert in_30d <= 15, "Visa: 15 reattempts in 30 days"
    for earlier, later in itertools.combinations(attempts, 2):
        assert not _never(earlier), f"attempt after a never-retry answer {earlier.decline_code}"
        if earlier.advice_code in ADVICE_FLOOR_HOURS:
            floor = earlier.created_at + timedelta(hours=ADVICE_FLOOR_HOURS[earlier.advice_code])
            assert later.created_at >= floor, f"advice code {earlier.advice_code} floor broken"
    for recovery in recoveries.values():
        own = [a for a in attempts if a.recovery_id == recovery.id]
        window_end = recovery.created_at + timedelta(days=campaign["window_days"])
        assert all(a.created_at <= window_end for a in own), "attempt after the retry window"
        assert recovery.scheduled_retries <= campaign["max_attempts"], "attempt budget broken"
        assert recovery.status not in (QUEUED, PROCESSING, UNKNOWN)
