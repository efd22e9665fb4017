"""Authentication, tenant isolation, status lookups, pulse and error bodies (contract 2-3.4)."""

from __future__ import annotations

import pytest

from revtain.onboarding import onboard

UNAUTHORIZED = {"error": "Unauthorized", "message": "Missing or invalid API key."}
BODY = {"paymentMethodToken": "pm_1", "amount": 5000}


def test_missing_wrong_and_bearer_keys_are_401(client, merchant):
    for headers in ({}, {"X-API-KEY": "rev_nope"}, {"Authorization": f"Bearer {merchant.api_key}"}):
        r = client.post("/api/recovery/execute", json=BODY, headers=headers)
        assert r.status_code == 401 and r.get_json() == UNAUTHORIZED


def test_header_name_is_case_insensitive(client, merchant):
    r = client.post("/api/recovery/execute", json=BODY, headers={"x-api-key": merchant.api_key})
    assert r.status_code == 200


def test_publishable_key_cannot_charge(client, merchant):
    r = client.post("/api/recovery/execute", json=BODY, headers={"X-API-KEY": merchant.publishable_key})
    assert r.status_code == 403
    assert r.get_json()["error"] == "Forbidden"


def test_clients_see_only_their_own_transactions(app, client, headers, receiver):
    tx = client.post("/api/recovery/execute", json={**BODY, "idempotencyKey": "inv_9"},
                     headers=headers).get_json()["transactionId"]
    with app.app_context():
        other = onboard(name="Other", webhook_url=receiver.url)
    other_headers = {"X-API-KEY": other.api_key}
    r = client.get(f"/api/recovery/status/{tx}", headers=other_headers)
    assert r.status_code == 404 and r.get_json() == {"error": "Transaction not found."}
    r = client.get("/api/recovery/status?idempotencyKey=inv_9", headers=other_headers)
    assert r.status_code == 404
    assert client.get(f"/api/recovery/status/{tx}", headers=headers).status_code == 200


def test_status_by_idempotency_key(client, headers):
    tx = client.post("/api/recovery/execute", json={**BODY, "idempotencyKey": "order_12345_retry_1",
                                                     "originalDeclineCode": "do_not_honor"},
                     headers=headers).get_json()["transactionId"]
    r = client.get("/api/recovery/status?idempotencyKey=order_12345_retry_1", headers=headers)
    body = r.get_json()
    assert list(body)[:9] == ["transactionId", "status", "recovered", "amount", "currency",
                              "recoveredAt", "strategyUsed", "attemptCount", "lastDeclineCode"]
    assert body["transactionId"] == tx and body["status"] == "succeeded"
    assert body["recovered"] is True and body["lastDeclineCode"] == "do_not_honor"
    assert body["pending"] is False and "recommendedAction" not in body


def test_status_of_a_failed_recovery_explains_what_to_do(client, headers):
    tx = client.post("/api/recovery/execute", json={**BODY, "amount": 44},
                     headers=headers).get_json()["transactionId"]
    body = client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()
    assert body["status"] == "failed" and body["recovered"] is False
    assert body["recoveredAt"] is None
    assert body["recommendedAction"] == "monitor" and body["recommendedActionReason"]


def test_status_query_needs_the_key(client, headers):
    r = client.get("/api/recovery/status", headers=headers)
    assert r.status_code == 400
    assert r.get_json()["message"] == "idempotencyKey: is required"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 5000}, "paymentMethodToken"),
        ({"paymentMethodToken": "pm_1"}, "amount"),
        ({**BODY, "amount": 49}, "amount"),
        ({**BODY, "amount": 100_000_001}, "amount"),
        ({**BODY, "amount": "5000"}, "amount"),
        ({**BODY, "amount": 50.5}, "amount"),
        ({**BODY, "amount": True}, "amount"),
        ({**BODY, "currency": "DOLLARS"}, "currency"),
        ({**BODY, "currency": "XYZ"}, "currency"),
        ({**BODY, "idempotencyKey": "k" * 129}, "idempotencyKey"),
        ({**BODY, "paymentMethodToken": ""}, "paymentMethodToken"),
        ({**BODY, "paymentMethodToken": "x" * 513}, "paymentMethodToken"),
        ({**BODY, "simulateOutcome": "maybe"}, "simulateOutcome"),
        ({**BODY, "customerEmail": "not-an-email"}, "customerEmail"),
        ({**BODY, "fallbackPaymentMethodTokens": "pm_2"}, "fallbackPaymentMethodTokens"),
        ({**BODY, "binPrefix": "41"}, "binPrefix"),
    ],
)
def test_validation_failures_are_400_with_the_field(client, headers, body, field):
    r = client.post("/api/recovery/execute", json=body, headers=headers)
    assert r.status_code == 400
    payload = r.get_json()
    assert payload["error"] == "Validation failed."
    assert payload["message"].startswith(f"{field}: ")
    assert field in payload["fields"]


@pytest.mark.parametrize("raw", [b"{bad json", b"", b"[1, 2]", b"null", b'"text"', b"\xff\xfe"])
def test_malformed_bodies_are_400(client, headers, raw):
    r = client.post("/api/recovery/execute", data=raw, headers={**headers,
                                                                "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.get_json()["message"].startswith("body: ")


def test_unknown_fields_are_ignored_and_currency_normalised(client, headers):
    r = client.post("/api/recovery/execute", json={**BODY, "currency": "eur", "surprise": [1]},
                    headers=headers)
    assert r.status_code == 200
    tx = r.get_json()["transactionId"]
    assert client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()["currency"] == "EUR"


def test_amount_44_is_400_for_a_live_gateway_client(app, client, receiver):
    """Only test-gateway clients get the 44-cent simulation (Decision 13)."""
    from revtain.extensions import db
    from revtain.models import Client

    with app.app_context():
        live = onboard(name="Live", webhook_url=receiver.url)
        db.session.get(Client, live.client_id).gateway = "stripe"
        db.session.commit()
    r = client.post("/api/recovery/execute", json={**BODY, "amount": 44},
                    headers={"X-API-KEY": live.api_key})
    assert r.status_code == 400 and r.get_json()["message"].startswith("amount: ")


def test_pulse_echoes_or_generates_the_transaction_id(client, headers):
    r = client.post("/api/recovery/pulse", json={"amount": 4900, "transactionId": "your_tx_123"},
                    headers=headers)
    assert r.status_code == 200
    assert r.get_json() == {"success": True, "message": "Organic success logged",
                            "transactionId": "your_tx_123"}
    generated = client.post("/api/recovery/pulse", json={"amount": 4900}, headers=headers).get_json()
    assert len(generated["transactionId"]) == 26
    bad = client.post("/api/recovery/pulse", json={"amount": 44}, headers=headers)
    assert bad.status_code == 400


def test_unknown_api_paths_and_methods_answer_json(client):
    assert client.get("/api/nope").get_json()["error"] == "Not found."
    r = client.get("/api/recovery/execute")
    assert r.status_code == 405 and r.get_json()["error"] == "Method not allowed."


def test_openapi_document_is_generated_from_the_schemas(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    execute = doc["components"]["schemas"]["ExecuteRequest"]
    assert execute["required"] == ["paymentMethodToken", "amount"]
    assert execute["properties"]["amount"]["maximum"] == 100_000_000
    assert "/api/recovery/execute" in doc["paths"]
