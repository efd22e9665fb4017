"""``GET /api/lookup/bin/{prefix}`` (contract 3.12) through a real HTTP server, and the same BIN data
feeding a recovery: its card network for the card-network rules and the card's country."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from revtain.engine import bins
from revtain.extensions import db
from revtain.models import Recovery
from revtain.recovery.card_rules import card_network
from tests.support.servers import threaded_server


@pytest.fixture
def server(app) -> Iterator[str]:
    with threaded_server(app) as url:
        yield url


def lookup(server: str, prefix: str, **headers: str) -> requests.Response:
    return requests.get(f"{server}/api/lookup/bin/{prefix}", headers=headers, timeout=10)


def test_the_documented_example(server):
    r = lookup(server, "414720")
    assert r.status_code == 200
    body = r.json()
    assert list(body)[:5] == ["prefix", "issuerName", "issuerCountry", "cardNetwork", "cardType"]
    assert body == {
        "prefix": "414720",
        "issuerName": "CHASE BANK USA, N.A.",
        "issuerCountry": "US",
        "cardNetwork": "visa",
        "cardType": "credit",
        "cardScheme": "visa",
    }
    assert r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        # 8 digits: looked up by their first six
        (
            "45717360",
            {
                "issuerName": "PBS INTERNATIONAL A/S",
                "issuerCountry": "DK",
                "cardNetwork": "visa",
                "cardType": "debit",
            },
        ),
        ("378282", {"issuerCountry": "US", "cardNetwork": "amex", "cardType": "credit"}),
        ("601100", {"issuerName": "Unknown", "issuerCountry": "US", "cardNetwork": "discover"}),
        ("360756", {"issuerName": "CITIBANK", "cardNetwork": "discover", "cardScheme": "diners"}),
        # 4 digits: only what every BIN under it agrees on
        (
            "4242",
            {
                "issuerName": "Unknown",
                "issuerCountry": "Unknown",
                "cardNetwork": "visa",
                "cardType": "unknown",
            },
        ),
        # networks outside the documented values are "unknown", named in cardScheme
        ("353011", {"cardNetwork": "unknown", "cardScheme": "jcb", "issuerCountry": "US"}),
        ("622126", {"cardNetwork": "unknown", "cardScheme": "unionpay", "issuerCountry": "CN"}),
        # nothing known at all
        (
            "9999",
            {
                "issuerName": "Unknown",
                "issuerCountry": "Unknown",
                "cardNetwork": "unknown",
                "cardType": "unknown",
                "cardScheme": None,
            },
        ),
    ],
)
def test_what_a_prefix_says(server, prefix, expected):
    body = lookup(server, prefix).json()
    assert body["prefix"] == prefix
    assert {k: body[k] for k in expected} == expected
    assert body["cardNetwork"] in ("visa", "mastercard", "amex", "discover", "unknown")
    assert body["cardType"] in ("credit", "debit", "prepaid", "unknown")


@pytest.mark.parametrize(
    "prefix", ["414", "414720123", "41472a", "4147 20", "-4147", "41/4720"]
)
def test_anything_but_4_to_8_digits_is_a_400(server, prefix):
    r = lookup(server, prefix)
    assert r.status_code == 400, r.text
    assert r.json() == {
        "error": "Validation failed.",
        "message": "prefix: must be 4 to 8 digits (the card number's first digits)",
        "fields": {"prefix": "must be 4 to 8 digits (the card number's first digits)"},
    }
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_public_and_open_to_browsers(server):
    r = requests.options(
        f"{server}/api/lookup/bin/414720",
        timeout=10,
        headers={"Origin": "https://docs.example", "Access-Control-Request-Method": "GET"},
    )
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in r.headers["Access-Control-Allow-Methods"]
    assert lookup(server, "414720", Origin="https://docs.example").status_code == 200  # no key needed


def test_fair_use_is_shared_with_the_decline_lookups(make_app):
    app = make_app(LOOKUP_RATE_LIMIT="3 per minute")
    client = app.test_client()
    assert client.get("/api/lookup/bin/414720").status_code == 200
    assert client.get("/api/lookup/decline/stripe/do_not_honor").status_code == 200
    assert client.get("/api/lookup/bin/378282").status_code == 200
    r = client.get("/api/lookup/bin/414720")
    assert r.status_code == 429
    assert r.get_json() == {
        "error": "Too many lookup requests. Rate limit: 3 requests per minute per IP address.",
        "retryAfter": "60 seconds",
    }
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_the_openapi_document_lists_it(client):
    doc = client.get("/api/openapi.json").get_json()
    op = doc["paths"]["/api/lookup/bin/{prefix}"]["get"]
    assert op["security"] == [] and set(op["responses"]) == {"200", "400", "429"}
    schema = doc["components"]["schemas"]["BinLookup"]
    assert schema["properties"]["cardNetwork"]["enum"] == [
        "visa",
        "mastercard",
        "amex",
        "discover",
        "unknown",
    ]


def test_a_recovery_takes_its_card_network_and_country_from_the_same_data(app, server, headers):
    assert card_network("360756") == "discover" == bins.lookup("360756").card_network  # Diners
    assert card_network("414720") == "visa" and card_network(None) == "unknown"
    r = requests.post(
        f"{server}/api/recovery/execute",
        headers=headers,
        timeout=10,
        json={"paymentMethodToken": "pm_dk", "amount": 5000, "binPrefix": "45717360"},
    )
    assert r.status_code == 200 and r.json()["success"] is True
    told = requests.post(
        f"{server}/api/recovery/execute",
        headers=headers,
        timeout=10,
        json={"paymentMethodToken": "pm_fr", "amount": 5000, "binPrefix": "45717360", "cardOrigin": "fr"},
    )
    unknown = requests.post(
        f"{server}/api/recovery/execute",
        headers=headers,
        timeout=10,
        json={"paymentMethodToken": "pm_xx", "amount": 5000, "binPrefix": "999999"},
    )
    with app.app_context():
        assert db.session.get(Recovery, r.json()["transactionId"]).card_origin == "DK"  # the BIN's country
        assert db.session.get(Recovery, told.json()["transactionId"]).card_origin == "FR"  # as told
        assert db.session.get(Recovery, unknown.json()["transactionId"]).card_origin is None
