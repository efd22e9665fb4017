"""Queued recoveries are rows with a due time, retried by the scheduler and a worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from revtain.due_rows import claim
from revtain.extensions import db
from revtain.models import Attempt, Client, Recovery
from revtain.models.recovery import QUEUED
from revtain.onboarding import onboard
from revtain.recovery import cascade
from revtain.recovery.retry import run_scheduled_attempt
from tests.support.jobs import sweep

START = "2026-03-17T12:00:00+00:00"


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


def advance(app, seconds: float) -> None:
    app.extensions["revtain.clock"].advance(timedelta(seconds=seconds))


def queue_recovery(client, headers, token="pm_1") -> dict:
    r = client.post(
        "/api/recovery/execute",
        json={"paymentMethodToken": token, "amount": 5000, "originalDeclineCode": "insufficient_funds",
              "idempotencyKey": f"inv_{token}"},
        headers=headers,
    )
    assert r.status_code == 202
    return r.get_json()


def test_queued_recovery_is_retried_when_due(app, client, headers, receiver):
    body = queue_recovery(client, headers)
    assert body["nextRetryAt"] == "2026-03-17T12:00:10.000Z"  # first rung of the test ladder
    assert sweep(app)["recoveries"] == 0
    advance(app, 10)
    assert sweep(app)["recoveries"] == 1
    sweep(app)  # delivers the event
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success"
    assert hook.json["trigger"] == "scheduled_retry"
    assert hook.json["revtainTransactionId"] == body["transactionId"]
    status = client.get(f"/api/recovery/status/{body['transactionId']}", headers=headers).get_json()
    assert status["status"] == "succeeded" and status["pending"] is False
    assert status["strategyUsed"] == "smart_retry" and status["attemptCount"] == 1
    assert status["recoveredAt"] == "2026-03-17T12:00:10.000Z"
    assert "recommendedAction" not in status


def test_declines_climb_the_ladder_then_fail(app, client, headers, receiver):
    body = queue_recovery(client, headers, token="test_decline_insufficient_funds")
    tx = body["transactionId"]
    for due, rung in ((10, "12:00:30"), (20, "12:01:00")):
        advance(app, due)
        sweep(app)
        status = client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()
        assert status["pending"] is True and status["nextRetryAt"] == f"2026-03-17T{rung}.000Z"
    advance(app, 30)
    sweep(app)
    sweep(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.failed"
    assert hook.json["declineCode"] == "insufficient_funds"
    assert hook.json["gatewaysAttempted"] == 3 and hook.json["trigger"] == "scheduled_retry"
    status = client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()
    assert status["status"] == "failed" and status["recommendedAction"] == "retry_later"


def test_a_retry_job_run_twice_charges_once(app, client, headers):
    body = queue_recovery(client, headers)
    advance(app, 10)
    with app.app_context():
        assert run_scheduled_attempt(body["transactionId"]) == "succeeded"
        assert run_scheduled_attempt(body["transactionId"]) == "skipped"
        attempts = db.session.execute(select(Attempt)).scalars().all()
    assert len(attempts) == 1


def test_a_job_that_died_after_charging_reuses_its_idempotency_key(app, client, headers):
    """The first run charges, then dies before recording anything; the re-run after the lease
    sends the gateway the same idempotency key, so the gateway answers with the same charge."""
    body = queue_recovery(client, headers)
    tx = body["transactionId"]
    advance(app, 10)
    with app.app_context():
        assert claim(Recovery, tx, "next_attempt_at", Recovery.status == QUEUED)
        recovery = db.session.get(Recovery, tx)
        merchant = db.session.get(Client, recovery.client_id)
        lost = cascade.run(merchant, recovery, "smart_retry", recovery.created_at)
        db.session.rollback()  # the worker died: nothing recorded
        lost_attempt_key = f"{tx}-1"
    advance(app, app.config["CLAIM_LEASE_SECONDS"])
    with app.app_context():
        assert run_scheduled_attempt(tx) == "succeeded"
        (attempt,) = db.session.execute(select(Attempt)).scalars().all()
        assert attempt.idempotency_key == lost_attempt_key
        assert attempt.gateway_transaction_id == lost.last.transaction_id


def test_every_clients_due_recoveries_are_retried(app, client, headers, receiver):
    with app.app_context():
        other = onboard(name="Other", webhook_url=receiver.url)
    mine = queue_recovery(client, headers)
    theirs = queue_recovery(client, {"X-API-KEY": other.api_key}, token="pm_2")
    advance(app, 10)
    assert sweep(app)["recoveries"] == 2
    for tx, key in ((mine["transactionId"], headers), (theirs["transactionId"],
                                                        {"X-API-KEY": other.api_key})):
        assert client.get(f"/api/recovery/status/{tx}", headers=key).get_json()["recovered"]
