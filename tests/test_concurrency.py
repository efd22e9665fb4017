"""Concurrent executes against a real HTTP server: one recovery, one gateway attempt, 409 for the rest.

Fifty threads wait on one barrier and then send their request at the same instant, to the app
behind werkzeug's threaded server (in this process) and behind gunicorn (several processes with
several threads each, as in production). Contract 3.1 (409) and Decision 10 (velocity).
"""

from __future__ import annotations

from collections import Counter

import pytest
import requests
from sqlalchemy import select

from revtain.api.recovery import IDEMPOTENCY_MESSAGE, VELOCITY_MESSAGE
from revtain.extensions import db
from revtain.models import Attempt, Recovery
from tests.support.servers import all_at_once, gunicorn_server, threaded_server

N = 50
# One test's 50 requests stay under 60 a minute, but the next test's, with the same key, may not.
RATE_LIMIT = "100000 per minute"


@pytest.fixture
def app(make_app):
    return make_app(EXECUTE_RATE_LIMIT=RATE_LIMIT)


@pytest.fixture(scope="module")
def gunicorn_url(base_config, migrated):
    """One gunicorn for the module (3 processes x 20 threads); each test onboards its own merchant."""
    with gunicorn_server({**base_config, "EXECUTE_RATE_LIMIT": RATE_LIMIT}) as url:
        yield url


@pytest.fixture(params=["werkzeug-threaded", "gunicorn"])
def base_url(request, app, merchant):
    if request.param == "gunicorn":
        yield request.getfixturevalue("gunicorn_url")
        return
    with threaded_server(app) as url:
        yield url


def _post_all(base_url: str, api_key: str, bodies: list[dict]) -> list[requests.Response]:
    def send(i: int) -> requests.Response:
        return requests.post(
            f"{base_url}/api/recovery/execute", json=bodies[i], headers={"X-API-KEY": api_key},
            timeout=90,
        )

    return all_at_once(len(bodies), send)


def _rows(app, client_id: str) -> tuple[list[str], list[str]]:
    """The client's recovery ids, and the recovery id of each of its gateway attempts."""
    with app.app_context():
        recoveries = db.session.scalars(select(Recovery.id).where(Recovery.client_id == client_id)).all()
        attempts = db.session.scalars(
            select(Attempt.recovery_id).where(Attempt.client_id == client_id)
        ).all()
        db.session.remove()
    return list(recoveries), list(attempts)


def _one_winner(responses: list[requests.Response]) -> tuple[dict, list[dict]]:
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: N - 1}, (statuses, [r.text for r in responses if r.status_code >= 500])
    (winner,) = [r.json() for r in responses if r.status_code == 200]
    assert winner["success"] is True and winner["message"] == "Revenue Recovered"
    assert winner["gatewaysAttempted"] == 1
    return winner, [r.json() for r in responses if r.status_code == 409]


def _assert_duplicates(duplicates: list[dict], message: str, transaction_id: str) -> None:
    for body in duplicates:
        assert list(body) == ["error", "message", "existingTransactionId", "existingStatus"], body
        assert body["error"] == "Duplicate recovery request."
        assert body["message"] == message
        assert body["existingTransactionId"] == transaction_id
        # the winner has committed by the time a loser answers; an in-flight one would be "unknown"
        assert body["existingStatus"] in ("succeeded", "unknown"), body


def test_one_idempotency_key_fifty_times_at_once(app, merchant, base_url):
    body = {"paymentMethodToken": "pm_race", "amount": 5000, "currency": "USD",
            "originalDeclineCode": "do_not_honor", "idempotencyKey": "invoice_race_1"}
    responses = _post_all(base_url, merchant.api_key, [body] * N)

    winner, duplicates = _one_winner(responses)
    _assert_duplicates(duplicates, IDEMPOTENCY_MESSAGE, winner["transactionId"])
    assert _rows(app, merchant.client_id) == ([winner["transactionId"]], [winner["transactionId"]])
    status = requests.get(f"{base_url}/api/recovery/status", params={"idempotencyKey": "invoice_race_1"},
                          headers={"X-API-KEY": merchant.api_key}, timeout=30).json()
    assert status["transactionId"] == winner["transactionId"]
    assert status["status"] == "succeeded" and status["attemptCount"] == 1


def test_one_idempotency_key_with_different_cards_at_once(app, merchant, base_url):
    """Different cards take different velocity locks, so only the unique index can stop these."""
    bodies = [{"paymentMethodToken": f"pm_race_{i}", "amount": 5000 + i,
               "originalDeclineCode": "do_not_honor", "idempotencyKey": "invoice_race_2"}
              for i in range(N)]
    responses = _post_all(base_url, merchant.api_key, bodies)

    winner, duplicates = _one_winner(responses)
    _assert_duplicates(duplicates, IDEMPOTENCY_MESSAGE, winner["transactionId"])
    assert _rows(app, merchant.client_id) == ([winner["transactionId"]], [winner["transactionId"]])


def test_same_card_and_amount_with_different_keys_at_once(app, merchant, base_url):
    bodies = [{"paymentMethodToken": "pm_velocity", "amount": 5000, "currency": "USD",
               "originalDeclineCode": "do_not_honor", "idempotencyKey": f"invoice_velocity_{i}"}
              for i in range(N)]
    responses = _post_all(base_url, merchant.api_key, bodies)

    winner, duplicates = _one_winner(responses)
    _assert_duplicates(duplicates, VELOCITY_MESSAGE, winner["transactionId"])
    assert _rows(app, merchant.client_id) == ([winner["transactionId"]], [winner["transactionId"]])


def test_rate_limit_holds_under_concurrency(make_app, receiver):
    """70 requests at once on a 60-a-minute key: exactly 60 are served, 10 are 429."""
    from revtain.onboarding import onboard

    app = make_app()
    with app.app_context():
        merchant = onboard(name="Busy Inc", webhook_url=receiver.url, gateway="test")
    bodies = [{"paymentMethodToken": f"pm_burst_{i}", "amount": 5000} for i in range(70)]
    with threaded_server(app) as url:
        responses = _post_all(url, merchant.api_key, bodies)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 60, 429: 10}, statuses
    recoveries, attempts = _rows(app, merchant.client_id)
    assert len(recoveries) == len(attempts) == 60
