"""Durable webhook delivery (Decision 9): the schedule lives in the database, not in Redis."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import select
from standardwebhooks import Webhook

from revtain.extensions import db
from revtain.models import WebhookDelivery, WebhookTry
from revtain.onboarding import onboard
from tests.support.jobs import run_jobs, sweep
from tests.support.receiver import Receiver

START = "2026-03-17T12:00:00+00:00"


@pytest.fixture
def frozen_app(make_app):
    return make_app(FROZEN_NOW=START)


def advance(app, seconds: float) -> None:
    app.extensions["revtain.clock"].advance(timedelta(seconds=seconds))


def recover_once(app, api_key: str) -> str:
    r = app.test_client().post(
        "/api/recovery/execute",
        json={"paymentMethodToken": "pm_1", "amount": 5000, "originalDeclineCode": "do_not_honor"},
        headers={"X-API-KEY": api_key},
    )
    assert r.status_code == 200
    return r.get_json()["transactionId"]


def test_receiver_down_for_three_tries_gets_identical_bytes_later(frozen_app):
    app = frozen_app
    with Receiver(fail_first=3) as receiver:
        with app.app_context():
            merchant = onboard(name="Acme", webhook_url=receiver.url)
        recover_once(app, merchant.api_key)

        run_jobs(app)  # try 1, at 0 s
        assert len(receiver.requests) == 1
        assert sweep(app)["deliveries"] == 0  # the next try is not due yet
        advance(app, 2)
        sweep(app)  # try 2, at 2 s
        advance(app, 6)
        sweep(app)  # try 3, at 8 s
        assert len(receiver.requests) == 3

        redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()  # Redis lost: nothing is lost
        advance(app, 51)
        assert sweep(app)["deliveries"] == 0  # due at 60 s
        advance(app, 1)
        assert sweep(app)["deliveries"] == 1  # try 4, at 60 s: delivered
        assert sweep(app)["deliveries"] == 0

        tries = receiver.requests
        assert len(tries) == 4
        assert len({t.body for t in tries}) == 1
        assert len({t.headers["X-Revtain-Signature"] for t in tries}) == 1
        assert len({t.headers["webhook-id"] for t in tries}) == 1
        assert all(t.signature_valid(merchant.webhook_signing_secret) for t in tries)
        # Standard Webhooks, signed as its reference library signs (timestamp of each try)
        for t in tries:
            at = datetime.fromtimestamp(int(t.headers["webhook-timestamp"]), UTC)
            expected = Webhook(merchant.webhook_signing_secret).sign(
                t.headers["webhook-id"], at, t.body.decode()
            )
            assert t.headers["webhook-signature"] == expected

    with app.app_context():
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
        assert delivery.status == "delivered" and delivery.tries == 4
        logged = db.session.execute(select(WebhookTry).order_by(WebhookTry.number)).scalars().all()
        assert [t.status_code for t in logged] == [503, 503, 503, 200]


def test_enqueue_lost_before_the_first_try_is_enqueued_again(frozen_app, receiver):
    app = frozen_app
    with app.app_context():
        merchant = onboard(name="Acme", webhook_url=receiver.url)
    recover_once(app, merchant.api_key)
    redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()  # the enqueued job is gone
    assert sweep(app)["deliveries"] == 0  # recently enqueued: give the job its time
    advance(app, app.config["REENQUEUE_AFTER_SECONDS"])
    assert sweep(app)["deliveries"] == 1
    assert len(receiver.wait_for(1)) == 1


def test_a_delivery_job_run_twice_sends_one_try(frozen_app, receiver):
    app = frozen_app
    with app.app_context():
        merchant = onboard(name="Acme", webhook_url=receiver.url)
    recover_once(app, merchant.api_key)
    with app.app_context():
        delivery_id = db.session.execute(select(WebhookDelivery.id)).scalar_one()
        from revtain.webhooks.delivery import deliver

        assert deliver(delivery_id) == "delivered"
        assert deliver(delivery_id) == "skipped"
    assert len(receiver.requests) == 1


def test_delivery_gives_up_after_the_last_scheduled_try(frozen_app):
    app = frozen_app
    schedule = app.config["WEBHOOK_SCHEDULE"]
    with Receiver(fail_first=10_000) as receiver:
        with app.app_context():
            merchant = onboard(name="Acme", webhook_url=receiver.url)
        recover_once(app, merchant.api_key)
        run_jobs(app)
        for previous, offset in itertools.pairwise(schedule):
            advance(app, offset - previous)
            sweep(app)
        assert len(receiver.requests) == len(schedule)
        advance(app, 7 * 86400)
        assert sweep(app)["deliveries"] == 0
    with app.app_context():
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
        assert delivery.status == "failed" and delivery.tries == len(schedule)
        assert delivery.last_error == "HTTP 503"


def test_replay_sends_the_same_bytes_again(app, runner, merchant, receiver):
    recover_once(app, merchant.api_key)
    run_jobs(app)
    (original,) = receiver.wait_for(1)
    event_id = original.headers["webhook-id"]
    result = runner.invoke(args=["webhooks", "replay", event_id])
    assert result.exit_code == 0, result.output
    run_jobs(app)
    first, again = receiver.wait_for(2)
    assert again.body == first.body
    assert again.headers["X-Revtain-Signature"] == first.headers["X-Revtain-Signature"]
    listing = runner.invoke(args=["webhooks", "list", merchant.client_id])
    assert event_id in listing.output and "delivered" in listing.output


def test_replay_of_an_unknown_event_is_a_readable_error(runner):
    result = runner.invoke(args=["webhooks", "replay", "01ZZZZZZZZZZZZZZZZZZZZZZZZ"])
    assert result.exit_code != 0
    assert "cannot replay" in result.output


def test_a_backlogged_job_is_not_enqueued_again_while_it_waits(frozen_app, receiver):
    """A row whose job is still queued (workers behind) gets no second copy of the job."""
    app = frozen_app
    with app.app_context():
        merchant = onboard(name="Acme", webhook_url=receiver.url)
    recover_once(app, merchant.api_key)  # enqueued, but no worker runs it yet
    advance(app, app.config["REENQUEUE_AFTER_SECONDS"])
    with app.app_context():
        from revtain.queues import WEBHOOKS, queue
        from revtain.scheduler import tick

        assert tick()["deliveries"] == 0  # still waiting in Redis: not enqueued again
        assert queue(WEBHOOKS).count == 1
    run_jobs(app)
    assert len(receiver.wait_for(1)) == 1
