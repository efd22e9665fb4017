"""The docs' "Testing" checklist, end to end, against Revtain running as real separate processes.

gunicorn (two workers), an RQ worker and the scheduler run as subprocesses configured only by
``REVTAIN_*`` environment variables, on the suite's database and Redis; requests go over real
HTTP, and the signed webhooks arrive at a real HTTP receiver that verifies them as the docs'
Node example does. Queued retries run on a ladder of 1, 2 and 3 seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from flask import Flask

from revtain import create_app
from revtain.onboarding import IssuedCredentials, onboard
from tests.conftest import ENCRYPTION_KEY, _clean
from tests.support.processes import Stack, revtain_settings
from tests.support.receiver import Received, Receiver

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
WEBHOOK_TIMEOUT = 15.0


@dataclass
class Live:
    """The running processes, the webhook receiver and a merchant whose webhooks go to it."""

    app: Flask  # in this process, on the same database: for onboarding
    stack: Stack
    receiver: Receiver
    merchant: IssuedCredentials

    def onboard(self, name: str, webhook_url: str | None) -> IssuedCredentials:
        with self.app.app_context():
            return onboard(name=name, webhook_url=webhook_url, gateway="test")

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-KEY": self.merchant.api_key}

    def execute(self, **body) -> requests.Response:
        body.setdefault("amount", 5000)
        body.setdefault("currency", "USD")
        body.setdefault("paymentMethodToken", "pm_1234567890")
        return requests.post(
            f"{self.stack.base_url}/api/recovery/execute", json=body,
            headers=self.headers, timeout=10,
        )

    def status(self, transaction_id: str) -> dict:
        r = requests.get(
            f"{self.stack.base_url}/api/recovery/status/{transaction_id}", headers=self.headers,
            timeout=10,
        )
        assert r.status_code == 200, self.stack.explain(r)
        return r.json()

    def hooks_for(self, transaction_id: str) -> list[Received]:
        return [h for h in self.receiver.events() if h.json.get("revtainTransactionId") == transaction_id]

    def hook(self, transaction_id: str, event: str, timeout: float = WEBHOOK_TIMEOUT) -> Received:
        """The (single) webhook for this transaction, once it has arrived; it must be ``event``."""
        hooks = self.stack.wait_until(
            lambda: self.hooks_for(transaction_id), f"a webhook for {transaction_id}", timeout
        )
        assert [h.json["event"] for h in hooks] == [event], f"{[h.json for h in hooks]}\n{self.stack.logs()}"
        (hook,) = hooks
        assert hook.signature_valid(self.merchant.webhook_signing_secret), hook.headers
        assert hook.headers["webhook-id"] == hook.json["eventId"]
        return hook


@pytest.fixture(scope="module")
def live(base_config, database_url, redis_url, instance_dir, migrated, tmp_path_factory) -> Iterator[Live]:
    app = create_app(base_config)
    settings = revtain_settings(database_url, redis_url, instance_dir, ENCRYPTION_KEY)
    try:
        with Receiver() as receiver, Stack(settings, tmp_path_factory.mktemp("e2e-logs")) as stack:
            with app.app_context():
                merchant = onboard(name="E2E Merchant", webhook_url=receiver.url, gateway="test")
            yield Live(app, stack, receiver, merchant)
    finally:  # the processes are stopped by now; leave the database and Redis as we found them
        _clean(app)


@pytest.mark.parametrize(
    ("outcome", "status", "event"),
    [("success", 200, "recovery.success"), ("failed", 200, "recovery.failed"),
     ("blocked", 403, "recovery.blocked")],
)
def test_simulate_outcome_answers_and_fires_its_signed_webhook(live, outcome, status, event):
    r = live.execute(paymentMethodToken=f"pm_simulate_{outcome}", simulateOutcome=outcome,
                     originalDeclineCode="insufficient_funds")
    assert r.status_code == status, live.stack.explain(r)
    body = r.json()
    tx = body["transactionId"]
    if outcome == "blocked":
        assert body["error"] == "Transaction blocked by Revtain Risk Engine to protect Merchant Health."
        assert body["action"] == "blocked"
    else:
        assert body["success"] is (outcome == "success"), body

    hook = live.hook(tx, event)
    assert hook.json["isSimulated"] is True
    assert hook.json["amount"] == 5000 and hook.json["currency"] == "USD"
    assert live.status(tx)["isSimulated"] is True


def test_same_idempotency_key_twice_is_409(live):
    first = live.execute(paymentMethodToken="pm_idem_1", idempotencyKey="e2e_order_1")
    assert first.status_code == 200, live.stack.explain(first)
    second = live.execute(paymentMethodToken="pm_idem_2", idempotencyKey="e2e_order_1")
    assert second.status_code == 409, live.stack.explain(second)
    assert second.json() == {
        "error": "Duplicate recovery request.",
        "message": "A recovery attempt with this idempotencyKey has already been processed.",
        "existingTransactionId": first.json()["transactionId"],
        "existingStatus": "succeeded",
    }


def test_61st_execute_within_a_minute_is_429(live):
    """On its own merchant (a fresh key). Two gunicorn workers answer: the count must be in Redis."""
    limited = live.onboard(name="E2E Rate Limited", webhook_url=None)
    headers = {"X-API-KEY": limited.api_key}
    with requests.Session() as http:
        for i in range(60):
            r = http.post(f"{live.stack.base_url}/api/recovery/execute", headers=headers, timeout=10,
                          json={"paymentMethodToken": f"pm_rate_{i}", "amount": 5000})
            assert r.status_code == 200, f"request {i + 1}: {live.stack.explain(r)}"
        r = http.post(f"{live.stack.base_url}/api/recovery/execute", headers=headers, timeout=10,
                      json={"paymentMethodToken": "pm_rate_61", "amount": 5000})
    assert r.status_code == 429, live.stack.explain(r)
    assert r.json() == {
        "error": "Too many recovery requests. Rate limit: 60 requests per minute per API key.",
        "retryAfter": "60 seconds",
    }


def test_insufficient_funds_is_queued_then_recovered_by_a_scheduled_retry(live):
    r = live.execute(paymentMethodToken="pm_queued_ok", originalDeclineCode="insufficient_funds",
                     idempotencyKey="e2e_queued_ok")
    assert r.status_code == 202, live.stack.explain(r)
    body = r.json()
    assert body["status"] == "queued" and body["success"] is False
    assert ISO_MS.match(body["nextRetryAt"]), body
    tx = body["transactionId"]

    hook = live.hook(tx, "recovery.success")
    assert hook.json["trigger"] == "scheduled_retry"
    assert hook.json["idempotencyKey"] == "e2e_queued_ok"
    assert hook.json["strategyUsed"] == "smart_retry"

    status = live.status(tx)
    assert status["status"] == "succeeded" and status["recovered"] is True, status
    assert status["pending"] is False and "nextRetryAt" not in status
    assert status["attemptCount"] == 1
    assert status["recoveredAt"] >= body["nextRetryAt"], "retried before it was due"


def test_a_card_that_keeps_declining_fails_after_the_whole_ladder(live):
    r = live.execute(paymentMethodToken="test_decline_insufficient_funds",
                     originalDeclineCode="insufficient_funds")
    assert r.status_code == 202, live.stack.explain(r)
    body = r.json()
    assert body["status"] == "queued" and ISO_MS.match(body["nextRetryAt"]), body
    tx = body["transactionId"]

    hook = live.hook(tx, "recovery.failed")
    assert hook.json["trigger"] == "scheduled_retry"
    assert hook.json["declineCode"] == "insufficient_funds"
    assert hook.json["gatewaysAttempted"] == 3  # one attempt per rung of [1, 2, 3]

    status = live.status(tx)
    assert status["status"] == "failed" and status["recovered"] is False, status
    assert status["pending"] is False and status["attemptCount"] == 3
    assert status["lastDeclineCode"] == "insufficient_funds"
