"""No noisy neighbours: a client whose endpoint already has its share of deliveries in flight waits
(no try counted, its thread free at once) while other clients' deliveries go ahead."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from revtain.dashboard.accounts import create_user
from revtain.extensions import db
from revtain.models import WebhookDelivery
from revtain.onboarding import onboard
from revtain.webhooks import fairness
from tests.support.jobs import run_jobs, sweep
from tests.support.receiver import Receiver
from tests.test_dashboard import PASSWORD, login
from tests.test_webhook_delivery import START, advance, recover_once


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START, WEBHOOK_MAX_IN_FLIGHT_PER_CLIENT=1)


def _delivery(app, client_id: str) -> WebhookDelivery:
    with app.app_context():
        return db.session.execute(
            select(WebhookDelivery).where(WebhookDelivery.client_id == client_id)
        ).scalar_one()


def test_a_busy_endpoint_waits_without_a_try_and_others_go_ahead(app):
    with Receiver() as busy_receiver, Receiver() as other_receiver, app.app_context():
        busy = onboard(name="Busy", webhook_url=busy_receiver.url, gateway="test")
        other = onboard(name="Other", webhook_url=other_receiver.url, gateway="test")
        recover_once(app, busy.api_key)
        recover_once(app, other.api_key)
        with fairness.slot(busy.client_id) as held:  # a delivery to Busy hangs in another worker
            assert held.granted
            run_jobs(app)
        other_receiver.wait_for(1)
        assert busy_receiver.events() == []
        waiting = _delivery(app, busy.client_id)
        assert waiting.status == "pending" and waiting.tries == 0
        assert waiting.next_try_at > waiting.created_at  # due again a little later
        # It waits about as long as the slot had been held, at most 1.5 x the delivery timeout.
        advance(app, 1.5 * app.config["WEBHOOK_TIMEOUT"] + 1)
        sweep(app)  # the slot is free now: delivered, its first try
        busy_receiver.wait_for(1)
        delivered = _delivery(app, busy.client_id)
        assert delivered.status == "delivered" and delivered.tries == 1


def test_without_a_limit_every_delivery_is_tried(make_app):
    app = make_app(FROZEN_NOW=START, WEBHOOK_MAX_IN_FLIGHT_PER_CLIENT=0)
    with Receiver() as receiver, app.app_context():
        issued = onboard(name="Busy", webhook_url=receiver.url, gateway="test")
        recover_once(app, issued.api_key)
        with fairness.slot(issued.client_id):
            run_jobs(app)
        receiver.wait_for(1)  # tried at once, although the slot was held


def test_a_failing_endpoint_is_shown_backing_off_and_nothing_is_dropped(make_app):
    app = make_app(FROZEN_NOW=START)
    with Receiver(fail_first=1000) as receiver:
        with app.app_context():
            issued = onboard(name="Down", webhook_url=receiver.url, gateway="test")
            create_user(issued.client_id, "admin@down.example", "admin", PASSWORD)
        recover_once(app, issued.api_key)
        run_jobs(app)
        for _ in range(3):  # the schedule's next tries (2 s, 8 s, 60 s after the first)
            advance(app, 61)
            sweep(app)
        browser = app.test_client()
        assert login(browser, "admin@down.example").status_code == 302
        page = html.unescape(browser.get("/dashboard/webhooks").get_data(as_text=True))
    delivery = _delivery(app, issued.client_id)
    assert delivery.status == "pending" and delivery.tries >= 3
    assert "Your webhook endpoint is failing." in page and "HTTP 503" in page
    assert "Revtain is backing off" in page and "1 pending delivery waits" in page
