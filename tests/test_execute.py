"""POST /api/recovery/execute on the Revtain Test Gateway: every documented answer (contract 3.1, 10)."""

from __future__ import annotations

import re

import pytest
from standardwebhooks import Webhook

from tests.support.jobs import run_jobs

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def execute(client, headers, **body):
    body.setdefault("amount", 5000)
    body.setdefault("paymentMethodToken", "pm_1234567890")
    return client.post("/api/recovery/execute", json=body, headers=headers)


def test_success_body_matches_the_docs(client, headers):
    r = execute(client, headers, originalDeclineCode="do_not_honor", idempotencyKey="order_1")
    assert r.status_code == 200
    body = r.get_json()
    assert list(body) == [
        "success", "message", "error", "transactionId", "strategyUsed", "gatewaysAttempted",
        "recoveryEngineApplied", "ai",
    ]
    assert body["success"] is True
    assert body["message"] == "Revenue Recovered"
    assert body["error"] is None
    assert ULID.match(body["transactionId"])
    assert body["strategyUsed"] == "primary"
    assert body["gatewaysAttempted"] == 1
    assert body["recoveryEngineApplied"] is True
    assert list(body["ai"]) == ["score", "confidence", "reasoning", "dataSource"]
    assert 0 <= body["ai"]["score"] <= 100
    assert body["ai"]["dataSource"] == "global"


def test_success_fires_a_signed_recovery_success(app, client, headers, merchant, receiver):
    r = execute(client, headers, originalDeclineCode="do_not_honor")
    run_jobs(app)
    (hook,) = receiver.wait_for(1)
    assert hook.signature_valid(merchant.webhook_signing_secret)
    payload = hook.json
    assert list(payload)[:7] == [
        "event", "revtainTransactionId", "gatewayTransactionToken", "amount", "currency",
        "message", "strategyUsed",
    ]
    assert payload["event"] == "recovery.success"
    assert payload["revtainTransactionId"] == r.get_json()["transactionId"]
    assert payload["amount"] == 5000 and payload["message"] == "Succeeded!"
    assert b'"amount":5000,' in hook.body  # compact JSON, integers without .0
    assert hook.headers["webhook-id"] == payload["eventId"]
    Webhook(merchant.webhook_signing_secret).verify(hook.body, hook.headers)  # reference library


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "5555555555554444", "378282246310005",
                                  "3530 1113 3330 0000"])
def test_test_cards_succeed(client, headers, card):
    r = execute(client, headers, paymentMethodToken=card, originalDeclineCode="insufficient_funds")
    assert r.status_code == 200 and r.get_json()["success"] is True


def test_expired_card_answers_202_and_waits_for_a_new_card(app, client, headers):
    """The docs' test table: expired_card answers 202. Nothing is retried on the expired card."""
    r = execute(client, headers, originalDeclineCode="expired_card")
    assert r.status_code == 202
    body = r.get_json()
    assert body["success"] is False and body["status"] == "queued"
    assert body["recommendedAction"] == "request_card_update" and body["nextRetryAt"] is None
    assert body["recoveryState"] == "awaiting_card"
    status = client.get(f"/api/recovery/status/{body['transactionId']}", headers=headers).get_json()
    assert status["status"] == "unknown" and status["pending"] is False
    assert status["recoveryState"] == "awaiting_card" and status["attemptCount"] == 0


@pytest.mark.parametrize("code", ["insufficient_funds", "card_velocity_exceeded"])
def test_queued_codes_answer_202(client, headers, code):
    r = execute(client, headers, originalDeclineCode=code)
    assert r.status_code == 202
    body = r.get_json()
    assert list(body) == ["success", "status", "message", "transactionId", "strategyUsed",
                          "nextRetryAt", "recommendedAction", "recoveryState"]
    assert body["success"] is False and body["status"] == "queued" and body["recoveryState"] == "queued"
    assert body["strategyUsed"] == "smart_retry" and body["recommendedAction"] == "retry_later"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", body["nextRetryAt"])
    status = client.get(f"/api/recovery/status/{body['transactionId']}", headers=headers).get_json()
    assert status["status"] == "unknown" and status["pending"] is True
    assert status["nextRetryAt"] == body["nextRetryAt"]


@pytest.mark.parametrize("code", ["fraudulent", "lost_card", "stolen_card", "pickup_card",
                                  "restricted_card", "fraud_suspected", "authentication_required"])
def test_blocked_codes_answer_403_and_fire_recovery_blocked(app, client, headers, receiver, code):
    r = execute(client, headers, originalDeclineCode=code.upper())
    assert r.status_code == 403
    body = r.get_json()
    assert body["error"] == "Transaction blocked by Revtain Risk Engine to protect Merchant Health."
    assert body["declineCode"] == code and body["action"] == "blocked"
    run_jobs(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.blocked"
    # Lost, stolen and picked-up cards (and authentication) wait for a new card; only fraud is final.
    new_card = code in ("authentication_required", "lost_card", "stolen_card", "pickup_card")
    expected = "request_card_update" if new_card else "manual_review"
    assert hook.json["recommendedAction"] == expected
    state = "awaiting_card" if new_card else "blocked"
    assert body["recoveryState"] == state and hook.json["recoveryState"] == state
    status = client.get(f"/api/recovery/status/{body['transactionId']}", headers=headers).get_json()
    assert status["status"] == "blocked" and status["attemptCount"] == 0
    assert status["recoveryState"] == state


def test_gateway_timeout_is_retried_at_once(client, headers):
    r = execute(client, headers, originalDeclineCode="gateway_timeout")
    assert r.status_code == 200 and r.get_json()["success"] is True


@pytest.mark.parametrize(
    ("outcome", "status", "event"),
    [("success", 200, "recovery.success"), ("failed", 200, "recovery.failed"),
     ("blocked", 403, "recovery.blocked")],
)
def test_simulate_outcome(app, client, headers, receiver, outcome, status, event):
    r = execute(client, headers, simulateOutcome=outcome, originalDeclineCode="insufficient_funds")
    assert r.status_code == status
    run_jobs(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == event
    assert hook.json["isSimulated"] is True
    tx = r.get_json()["transactionId"]
    assert client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()["isSimulated"]


def test_simulated_block_uses_the_supplied_code_or_fraudulent(client, headers):
    r = execute(client, headers, simulateOutcome="blocked")
    assert r.get_json()["declineCode"] == "fraudulent"
    r = execute(client, headers, simulateOutcome="blocked", paymentMethodToken="pm_x",
                originalDeclineCode="lost_card")
    assert r.get_json()["declineCode"] == "lost_card"


def test_amount_44_is_a_gateway_failure_on_the_test_gateway(app, client, headers, receiver):
    r = execute(client, headers, amount=44)
    assert r.status_code == 200
    body = r.get_json()
    assert body["success"] is False and body["message"] == "Recovery failed"
    assert body["error"] == "gateway_error" and body["recommendedAction"] == "monitor"
    assert body["recommendedActionReason"]
    run_jobs(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.failed" and hook.json["declineCode"] == "gateway_error"


def test_failed_recovery_without_dunning_fires_no_webhook(app, client, receiver):
    from revtain.onboarding import onboard

    with app.app_context():
        quiet = onboard(name="Quiet", webhook_url=receiver.url, dunning_enabled=False)
    r = execute(client, {"X-API-KEY": quiet.api_key}, amount=44)
    assert r.get_json()["success"] is False
    run_jobs(app)
    assert receiver.events() == []


def test_cascade_to_a_fallback_token(client, headers):
    r = execute(client, headers, paymentMethodToken="test_decline_do_not_honor",
                fallbackPaymentMethodTokens=["test_decline_card_declined", "pm_good"])
    body = r.get_json()
    assert body["success"] is True
    assert body["strategyUsed"] == "fallback_token" and body["gatewaysAttempted"] == 3


def test_a_declined_cascade_is_queued_for_a_smart_retry(client, headers):
    r = execute(client, headers, paymentMethodToken="test_decline_do_not_honor",
                fallbackPaymentMethodTokens=["test_decline_call_issuer"])
    assert r.status_code == 202
    body = r.get_json()
    assert body["status"] == "queued" and body["nextRetryAt"]
    status = client.get(f"/api/recovery/status/{body['transactionId']}", headers=headers).get_json()
    assert status["attemptCount"] == 2 and status["lastDeclineCode"] == "call_issuer"
    assert status["pending"] is True and status["recommendedAction"] == "retry_later"


def test_a_fraud_decline_from_the_gateway_ends_the_recovery(client, headers):
    r = execute(client, headers, paymentMethodToken="test_decline_fraudulent",
                fallbackPaymentMethodTokens=["pm_would_work"])
    body = r.get_json()
    assert r.status_code == 200 and body["success"] is False
    assert body["error"] == "fraudulent" and body["gatewaysAttempted"] == 1  # no other card tried
    assert body["recommendedAction"] == "manual_review"


def test_a_stolen_card_from_the_gateway_is_not_tried_again_but_another_card_is(client, headers):
    r = execute(client, headers, paymentMethodToken="test_decline_stolen_card",
                fallbackPaymentMethodTokens=["pm_would_work"])
    body = r.get_json()
    assert r.status_code == 200 and body["success"] is True and body["gatewaysAttempted"] == 2


def test_same_idempotency_key_twice_is_409(client, headers):
    first = execute(client, headers, idempotencyKey="inv_1")
    second = execute(client, headers, idempotencyKey="inv_1", paymentMethodToken="pm_other")
    assert second.status_code == 409
    assert second.get_json() == {
        "error": "Duplicate recovery request.",
        "message": "A recovery attempt with this idempotencyKey has already been processed.",
        "existingTransactionId": first.get_json()["transactionId"],
        "existingStatus": "succeeded",
    }


def test_idempotency_is_per_client(app, client, headers, receiver):
    from revtain.onboarding import onboard

    with app.app_context():
        other = onboard(name="Other", webhook_url=receiver.url)
    assert execute(client, headers, idempotencyKey="inv_1").status_code == 200
    assert execute(client, {"X-API-KEY": other.api_key}, idempotencyKey="inv_1").status_code == 200


def test_velocity_check(app, client, headers):
    first = execute(client, headers, idempotencyKey="a")
    second = execute(client, headers, idempotencyKey="b")
    assert second.status_code == 409
    body = second.get_json()
    assert body["message"] == (
        "A recovery attempt for this card and amount was already made in the last 5 minutes."
    )
    assert body["existingTransactionId"] == first.get_json()["transactionId"]
    # another amount or currency is another payment
    assert execute(client, headers, amount=5001).status_code == 200
    assert execute(client, headers, currency="EUR").status_code == 200
    # after five minutes the card may be tried again
    from datetime import timedelta

    app.extensions["revtain.clock"].advance(timedelta(seconds=301))
    assert execute(client, headers, idempotencyKey="c").status_code == 200


def test_rate_limit_61st_request_is_429(client, headers):
    for i in range(60):
        r = execute(client, headers, paymentMethodToken=f"pm_{i}")
        assert r.status_code == 200, r.get_json()
    r = execute(client, headers, paymentMethodToken="pm_61")
    assert r.status_code == 429
    assert r.get_json() == {
        "error": "Too many recovery requests. Rate limit: 60 requests per minute per API key.",
        "retryAfter": "60 seconds",
    }
    assert r.headers["Retry-After"] == "60"


def test_rate_limit_is_per_key(app, client, headers, receiver):
    from revtain.onboarding import onboard

    with app.app_context():
        other = onboard(name="Other", webhook_url=receiver.url)
    for i in range(60):
        execute(client, headers, paymentMethodToken=f"pm_{i}")
    assert execute(client, headers, paymentMethodToken="pm_x").status_code == 429
    assert execute(client, {"X-API-KEY": other.api_key}).status_code == 200
