"""``POST /api/recovery/tokenize`` (contract 3.11) through a real HTTP server and the real worker: test
cards in, a token execute accepts out, nothing of the card kept but brand, BIN and last four, 10 a
minute per key, and a clear 400 for live gateways."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from sqlalchemy import text

from revtain.extensions import db
from revtain.models import CardToken, Recovery
from revtain.onboarding import onboard
from tests.support.jobs import sweep
from tests.support.servers import threaded_server

PATH = "/api/recovery/tokenize"
VISA = {"cardNumber": "4111 1111 1111 1111", "expMonth": 12, "expYear": 2030, "cvc": "123"}


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW="2026-03-17T12:00:00+00:00")


@pytest.fixture
def server(app) -> Iterator[str]:
    with threaded_server(app) as url:
        yield url


def tokenize(server: str, headers: dict, body) -> requests.Response:
    return requests.post(server + PATH, json=body, headers=headers, timeout=10)


@pytest.mark.parametrize(
    ("card", "brand", "last4", "bin_"),
    [
        (VISA, "visa", "1111", "411111"),
        (
            {"cardNumber": "5555-5555-5555-4444", "expMonth": "01", "expYear": "27", "cvc": 321},
            "mastercard",
            "4444",
            "555555",
        ),
        (
            {"cardNumber": 378282246310005, "expMonth": "3", "expYear": "2026", "cvc": "1234"},
            "amex",
            "0005",
            "378282",
        ),
        (
            {"cardNumber": "3530111333300000", "expMonth": 12, "expYear": 2099, "cvc": "999"},
            "jcb",
            "0000",
            "353011",
        ),
    ],
)
def test_a_test_card_becomes_a_token(app, server, headers, merchant, card, brand, last4, bin_):
    r = tokenize(server, headers, card)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["success", "paymentMethodToken", "brand", "last4"]
    assert body["success"] is True and body["paymentMethodToken"].startswith("tok_test_")
    assert (body["brand"], body["last4"]) == (brand, last4)
    with app.app_context():
        (row,) = db.session.query(CardToken).all()
        assert (row.client_id, row.token, row.brand, row.bin, row.last4) == (
            merchant.client_id,
            body["paymentMethodToken"],
            brand,
            bin_,
            last4,
        )


def test_every_call_is_a_new_token(server, headers):
    first = tokenize(server, headers, VISA).json()["paymentMethodToken"]
    assert tokenize(server, headers, VISA).json()["paymentMethodToken"] != first


def test_execute_takes_the_token_and_knows_the_card(app, server, headers, receiver):
    token = tokenize(server, headers, VISA).json()["paymentMethodToken"]
    r = requests.post(
        f"{server}/api/recovery/execute",
        headers=headers,
        timeout=10,
        json={
            "paymentMethodToken": token,
            "amount": 5000,
            "originalDeclineCode": "insufficient_funds",
            "customerEmail": "jo@example.com",
        },
    )
    assert r.status_code == 202, r.text  # a soft decline is still queued for its payday retry
    tx = r.json()["transactionId"]
    with app.app_context():
        recovery = db.session.get(Recovery, tx)
        assert (recovery.bin_prefix, recovery.card_origin) == ("411111", "US")  # from the stored BIN
    app.extensions["revtain.clock"].advance(timedelta(seconds=10))
    sweep(app)  # the real scheduler and worker retry it: the test gateway approves the token
    sweep(app)
    status = requests.get(f"{server}/api/recovery/status/{tx}", headers=headers, timeout=10).json()
    assert status["status"] == "succeeded"
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success"


@pytest.mark.parametrize(
    ("card", "field", "problem"),
    [
        (
            {**VISA, "cardNumber": "4111 1111 1111 1112"},
            "cardNumber",
            "is not a valid card number (12 to 19 digits, Luhn check)",
        ),
        (
            {**VISA, "cardNumber": "4242 4242 4242 4242"},
            "cardNumber",
            "is not a test card; use 4111 1111 1111 1111, 5555 5555 5555 4444, 3782 822463 10005, "
            "3530 1113 3330 0000",
        ),
        ({**VISA, "expMonth": 13}, "expMonth", "must be 1 to 12"),
        ({**VISA, "expYear": "203"}, "expYear", "must be 2 or 4 digits"),
        ({**VISA, "expMonth": 2, "expYear": 2026}, "expYear", "the card has expired"),
        ({**VISA, "cvc": "12"}, "cvc", "must be 3 digits (4 for American Express)"),
        (
            {"cardNumber": "378282246310005", "expMonth": 1, "expYear": 30, "cvc": "123"},
            "cvc",
            "must be 3 digits (4 for American Express)",
        ),
        ({k: v for k, v in VISA.items() if k != "cvc"}, "cvc", "is required"),
        ({**VISA, "cardNumber": True}, "cardNumber", None),
        ({**VISA, "cardNumber": "4" * 33}, "cardNumber", None),
    ],
)
def test_bad_card_data_is_a_400_naming_the_field(app, server, headers, card, field, problem):
    r = tokenize(server, headers, card)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "Validation failed." and field in body["fields"], body
    if problem:
        assert body["fields"][field] == problem and body["message"] == f"{field}: {problem}"
    with app.app_context():
        assert db.session.query(CardToken).count() == 0


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b'"4111111111111111"'])
def test_a_body_that_is_not_a_json_object_is_a_400(server, headers, raw):
    r = requests.post(
        server + PATH, data=raw, timeout=10, headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"] == "Validation failed."


@pytest.mark.parametrize(
    "gateway, credentials, fields",
    [
        ("stripe", {"secret_key": "sk_test_abc123"}, "Stripe Elements"),
        (
            "braintree",
            {"merchant_id": "m", "public_key": "p", "private_key": "k", "environment": "sandbox"},
            "Hosted Fields",
        ),
    ],
)
def test_a_live_gateway_gets_a_clear_400(app, server, gateway, credentials, fields):
    with app.app_context():
        live = onboard(name="Live Inc", webhook_url=None, gateway=gateway, gateway_credentials=credentials)
    r = tokenize(server, {"X-API-KEY": live.api_key}, VISA)
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "Tokenization is not available for this gateway."
    assert f"Your gateway is {gateway}" in body["message"] and fields in body["message"]
    assert "never reach Revtain" in body["message"]
    with app.app_context():
        assert db.session.query(CardToken).count() == 0


def test_keys(server, merchant):
    assert tokenize(server, {}, VISA).status_code == 401
    r = tokenize(server, {"X-API-KEY": merchant.publishable_key}, VISA)
    assert r.status_code == 403 and r.json()["error"] == "Forbidden"


def test_10_a_minute_per_key_with_the_documented_429(app, headers, merchant):
    client = app.test_client()
    for _ in range(10):
        assert client.post(PATH, json={**VISA, "cvc": "1"}, headers=headers).status_code == 400  # counted too
    r = client.post(PATH, json=VISA, headers=headers)
    assert r.status_code == 429
    assert r.get_json() == {
        "error": "Too many tokenize requests. Rate limit: 10 requests per minute per API key.",
        "retryAfter": "60 seconds",
    }
    assert r.headers["Retry-After"] == "60"
    with app.app_context():
        other = onboard(name="Other", webhook_url=None, gateway="test")
    assert client.post(PATH, json=VISA, headers={"X-API-KEY": other.api_key}).status_code == 200


def test_no_card_number_or_security_code_anywhere(app, server, headers, caplog):
    """Not in the database, not in any log line, at any level (the werkzeug server's included)."""
    caplog.set_level(logging.DEBUG)
    cards = [
        VISA,
        {**VISA, "cvc": "12"},
        {**VISA, "cardNumber": "4242424242424242"},
        {"cardNumber": "378282246310005", "expMonth": 1, "expYear": 30, "cvc": "7531"},
    ]
    for card in cards:
        tokenize(server, headers, card)
    r = tokenize(server, headers, {**VISA, "cvc": "864"})
    token = r.json()["paymentMethodToken"]
    requests.post(
        f"{server}/api/recovery/execute",
        headers=headers,
        timeout=10,
        json={"paymentMethodToken": token, "amount": 5000},
    )
    with app.app_context():
        names = [t.name for t in db.metadata.sorted_tables]
        cells = [
            str(cell)
            for name in names
            for row in db.session.execute(text(f"SELECT * FROM {name}"))
            for cell in row
        ]
    dump = " ".join(cells)
    logs = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert "POST /api/recovery/tokenize" in logs  # the exchanges are in the captured logs (urllib3)
    for number in ("4111111111111111", "4111 1111 1111 1111", "378282246310005", "4242424242424242"):
        assert number not in dump and number not in logs, number
    assert not {"7531", "864", "12/2030", "2030"} & set(cells)  # no security code, no expiry
    assert "cvc" not in logs and "cardNumber" not in logs  # no request body in any log line
    assert {"411111", "1111", "visa"} <= set(cells)  # what may be kept is kept


def test_the_openapi_document_lists_it(client):
    doc = client.get("/api/openapi.json").get_json()
    op = doc["paths"]["/api/recovery/tokenize"]["post"]
    assert {"200", "400", "401", "403", "429"} <= set(op["responses"])
    assert set(doc["components"]["schemas"]["TokenizeRequest"]["required"]) == {
        "cardNumber",
        "expMonth",
        "expYear",
        "cvc",
    }
