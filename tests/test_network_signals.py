"""Issue 10: the first failure's network signals on execute and predict/risk (our additions), judged
once; cards that need new credentials wait for a new card, which recharges the customer's recoveries."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from revtain.extensions import db
from revtain.models import Attempt
from tests.support.jobs import run_jobs

START = "2026-03-16T12:00:00+00:00"
NOW = datetime.fromisoformat(START)


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


def execute(client, headers, **body):
    body.setdefault("amount", 5000)
    body.setdefault("paymentMethodToken", "pm_1234567890")
    return client.post("/api/recovery/execute", json=body, headers=headers)


def status_of(client, headers, tx):
    return client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()


def attempts(app, tx=None):
    with app.app_context():
        query = select(Attempt).order_by(Attempt.created_at, Attempt.seq)
        if tx:
            query = query.where(Attempt.recovery_id == tx)
        return db.session.execute(query).scalars().all()


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/recovery/execute", "/api/predict/risk"])
@pytest.mark.parametrize(("field", "value"), [
    ("networkDeclineCode", "ZZ9"), ("networkDeclineCode", 51), ("merchantAdviceCode", "99"),
    ("merchantAdviceCode", "never"), ("cardNetwork", "diners"), ("cardNetwork", ""),
])
def test_unknown_signal_values_are_a_400_naming_the_field(client, headers, path, field, value):
    r = client.post(path, headers=headers, json={"paymentMethodToken": "pm_1", "amount": 5000, field: value})
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] == "Validation failed." and field in body["fields"]
    assert body["message"].startswith(f"{field}: ")


def test_known_values_are_accepted_in_any_case(client, headers):
    r = execute(client, headers, originalDeclineCode="do_not_honor", networkDeclineCode="05",
                merchantAdviceCode="2", cardNetwork="VISA")
    assert r.status_code == 200 and r.get_json()["success"] is True


def test_a_client_sending_none_of_the_fields_behaves_as_before(client, headers):
    r = execute(client, headers, originalDeclineCode="do_not_honor")
    assert r.status_code == 200 and r.get_json()["success"] is True
    assert list(r.get_json()) == ["success", "message", "error", "transactionId", "strategyUsed",
                                  "gatewaysAttempted", "recoveryEngineApplied", "ai"]


# -- the first failure, judged with its signals ------------------------------------------------------


@pytest.mark.parametrize("signals", [
    {"merchantAdviceCode": "03"}, {"merchantAdviceCode": "21"}, {"networkDeclineCode": "46"},
    {"networkDeclineCode": "R1", "cardNetwork": "visa"}, {"merchantAdviceCode": "do_not_try_again"},
])
def test_never_retry_signals_on_the_first_failure_mean_no_attempt_at_all(app, client, headers, signals):
    r = execute(client, headers, originalDeclineCode="insufficient_funds", **signals)
    assert r.status_code == 403
    body = r.get_json()
    assert body["action"] == "blocked" and body["recoveryState"] == "awaiting_card"
    assert attempts(app) == []
    # The card itself is never charged again, by a later execute either.
    later = execute(client, headers, originalDeclineCode="do_not_honor", amount=6000)
    assert later.get_json()["success"] is False and attempts(app) == []


@pytest.mark.parametrize(("advice", "hours"), [("24", 1), ("25", 24), ("26", 48), ("30", 240)])
def test_advice_24_to_30_sets_the_earliest_retry(app, client, headers, advice, hours):
    r = execute(client, headers, originalDeclineCode="insufficient_funds", merchantAdviceCode=advice)
    assert r.status_code == 202
    assert when(r.get_json()["nextRetryAt"]) >= NOW + timedelta(hours=hours)


def test_advice_floor_holds_for_a_code_that_would_be_charged_at_once(app, client, headers):
    r = execute(client, headers, originalDeclineCode="do_not_honor", merchantAdviceCode="25")
    assert r.status_code == 202, r.get_json()
    assert when(r.get_json()["nextRetryAt"]) >= NOW + timedelta(hours=24)
    assert attempts(app) == []  # not charged now: the network asked for 24 hours


def test_a_visa_category_1_code_from_the_gateway_is_never_retried(app, client, headers):
    r = execute(client, headers, paymentMethodToken="test_decline_do_not_honor+network:43")
    body = r.get_json()
    assert body["success"] is False
    (attempt,) = attempts(app)
    assert attempt.never_reason == "visa_category_1:43" and attempt.action == "new_credentials"
    assert status_of(client, headers, body["transactionId"])["recoveryState"] == "awaiting_card"


# -- waiting for a new card -----------------------------------------------------------------------


def test_an_expired_card_is_not_retried_and_closes_at_the_window_end(app, client, headers, receiver):
    r = execute(client, headers, originalDeclineCode="expired_card", customerEmail="jo@example.com")
    assert r.status_code == 202 and r.get_json()["recoveryState"] == "awaiting_card"
    tx = r.get_json()["transactionId"]
    clock = app.extensions["revtain.clock"]
    from tests.support.jobs import sweep

    for _ in range(30):
        clock.advance(timedelta(days=1))
        sweep(app)
    assert attempts(app) == []  # never charged
    status = status_of(client, headers, tx)
    assert status["status"] == "failed" and status["recoveryState"] == "failed"
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.failed" and hook.json["recoveryState"] == "failed"
    assert hook.json["recommendedAction"] == "request_card_update"


def test_a_later_execute_whose_new_card_pays_recharges_the_customers_waiting_recoveries(
    app, client, headers, receiver
):
    waiting = execute(client, headers, paymentMethodToken="pm_old", originalDeclineCode="lost_card",
                      customerEmail="jo@example.com").get_json()
    assert waiting["recoveryState"] == "awaiting_card"
    paid = execute(client, headers, paymentMethodToken="pm_new", originalDeclineCode="do_not_honor",
                   customerEmail="jo@example.com", amount=7000).get_json()
    assert paid["success"] is True
    status = status_of(client, headers, waiting["transactionId"])
    assert status["status"] == "succeeded" and status["recoveryState"] == "succeeded"
    charged = [(a.recovery_id, a.payment_method_token) for a in attempts(app)]
    assert (waiting["transactionId"], "pm_new") in charged
    assert all(token != "pm_old" for _, token in charged)
    run_jobs(app)
    events = [h.json for h in receiver.wait_for(3)]
    assert [e["event"] for e in events].count("recovery.success") == 2
    assert any(e.get("trigger") == "new_card" for e in events)


def test_a_fraud_block_is_never_recharged(app, client, headers):
    blocked = execute(client, headers, paymentMethodToken="pm_old", originalDeclineCode="fraudulent",
                      customerEmail="jo@example.com").get_json()
    execute(client, headers, paymentMethodToken="pm_new", customerEmail="jo@example.com", amount=7000)
    status = status_of(client, headers, blocked["transactionId"])
    assert status["status"] == "blocked" and status["recoveryState"] == "blocked"
    assert all(a.recovery_id != blocked["transactionId"] for a in attempts(app))


def test_status_and_webhooks_name_the_internal_state(app, client, headers, receiver):
    r = execute(client, headers, originalDeclineCode="insufficient_funds")
    status = status_of(client, headers, r.get_json()["transactionId"])
    assert status["status"] == "unknown" and status["pending"] is True
    assert status["recoveryState"] == "queued"
    ok = execute(client, headers, paymentMethodToken="pm_other")
    run_jobs(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success" and hook.json["recoveryState"] == "succeeded"
    assert ok.get_json()["success"] is True


# -- predict/risk ------------------------------------------------------------------------------------


def risk(client, headers, **body):
    body = {"paymentMethodToken": "pm_1", "amount": 4900, **body}
    return client.post("/api/predict/risk", json=body, headers=headers)


def test_risk_says_block_for_a_do_not_try_again_signal(client, headers):
    r = risk(client, headers, merchantAdviceCode="03", cardNetwork="mastercard")
    assert r.status_code == 200
    prediction = r.get_json()["prediction"]
    assert prediction["recommendation"] == "block" and prediction["riskScore"] == 100
    assert "network_do_not_retry" in prediction["factors"]


def test_risk_says_delay_inside_an_advice_floor(client, headers):
    soon = risk(client, headers, merchantAdviceCode="26", scheduledDate="2026-03-17T12:00:00Z")
    later = risk(client, headers, merchantAdviceCode="26", scheduledDate="2026-03-19T12:00:00Z")
    assert soon.get_json()["prediction"]["recommendation"] == "delay"
    assert "network_retry_after" in soon.get_json()["prediction"]["factors"]
    assert "network_retry_after" not in later.get_json()["prediction"]["factors"]
