"""End to end on the test gateway with the real smart plan (no sandbox ladder), a real RQ worker
and the scheduler, on the injectable clock: the 202's nextRetryAt is the chosen payday window,
the retry happens when the clock reaches it, and the final webhook arrives."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from revtain.onboarding import onboard
from tests.support.jobs import sweep

START = "2026-03-16T12:00:00+00:00"  # Monday, noon UTC


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START, TEST_GATEWAY_RETRY_LADDER=[])


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        return onboard(name="Acme", webhook_url=receiver.url, timezone="Europe/Paris",
                       billing_cycle_day=18)


def clock(app):
    return app.extensions["revtain.clock"]


def test_insufficient_funds_waits_for_the_payday_window_then_recovers(app, client, headers, receiver):
    r = client.post("/api/recovery/execute", headers=headers, json={
        "paymentMethodToken": "pm_card_visa", "amount": 2900, "currency": "EUR",
        "originalDeclineCode": "insufficient_funds", "idempotencyKey": "inv_2026_03"})
    assert r.status_code == 202
    body = r.get_json()
    # floor: one day after the failure (Tue 17th); the first payday window on or after it is the
    # client's billing-cycle day, Wed 18th, at 10:00 in Paris (UTC+1 in March)
    assert body["nextRetryAt"] == "2026-03-18T09:00:00.000Z"

    clock(app).advance(timedelta(days=1, hours=20, minutes=59))  # 08:59 UTC on the 18th
    assert sweep(app)["recoveries"] == 0 and receiver.events() == []
    clock(app).advance(timedelta(minutes=1))
    assert sweep(app)["recoveries"] == 1
    sweep(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success"
    assert hook.json["trigger"] == "scheduled_retry" and hook.json["currency"] == "EUR"
    status = client.get(f"/api/recovery/status/{body['transactionId']}", headers=headers).get_json()
    assert status["recoveredAt"] == "2026-03-18T09:00:00.000Z"


def test_a_card_that_keeps_failing_gets_a_bounded_campaign_then_recovery_failed(
    app, client, headers, receiver
):
    r = client.post("/api/recovery/execute", headers=headers, json={
        "paymentMethodToken": "test_decline_insufficient_funds", "amount": 2900,
        "originalDeclineCode": "insufficient_funds"})
    tx = r.get_json()["transactionId"]
    seen = []
    for _ in range(20):  # bounded: the campaign must end well before this
        status = client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()
        if not status["pending"]:
            break
        seen.append(status["nextRetryAt"])
        due = status["nextRetryAt"].replace("Z", "+00:00")
        clock(app).freeze(datetime.fromisoformat(due))
        sweep(app)
    sweep(app)
    assert status["status"] == "failed"
    assert len(seen) <= app.config["RETRY_MAX_ATTEMPTS"]
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    last = datetime.fromisoformat(seen[-1].replace("Z", "+00:00"))
    first_failure = datetime.fromisoformat(START)
    assert last <= first_failure + timedelta(days=app.config["RETRY_WINDOW_DAYS"])
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.failed" and hook.json["trigger"] == "scheduled_retry"


def test_cascade_to_a_fallback_token_is_visible(client, headers):
    r = client.post("/api/recovery/execute", headers=headers, json={
        "paymentMethodToken": "test_decline_do_not_honor", "amount": 5000,
        "originalDeclineCode": "do_not_honor",
        "fallbackPaymentMethodTokens": ["test_decline_card_declined", "pm_backup_card"]})
    body = r.get_json()
    assert body["success"] is True
    assert body["strategyUsed"] == "fallback_token" and body["gatewaysAttempted"] == 3
    status = client.get(f"/api/recovery/status/{body['transactionId']}", headers=headers).get_json()
    assert status["attemptCount"] == 3 and status["lastDeclineCode"] == "card_declined"
