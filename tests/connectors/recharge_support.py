"""Shopify ReCharge as ReCharge sends it: the resource as its REST API returns it (2021-11), the topic in
``X-Recharge-Topic``, signed in ``X-Recharge-Hmac-Sha256`` by an independent implementation of the
documented recipe (hex SHA-256 of the API client secret, then the raw body); the API's answers as JSON
fixtures; and the HTTP layer of ``requests`` (the ``recharge-api`` library's transport) stubbed
(``requests_support``)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "recharge"
API = "https://api.rechargeapps.com"
API_TOKEN = "sk_1x1_4b9c2e7f1a3d5e8c0b2a4f6e8d1c3b5a7f9e"
CLIENT_SECRET = "rcsec_9d3f1a7c5e2b8d4f6a0c2e4b"
CREDENTIALS = {"api_token": API_TOKEN, "client_secret": CLIENT_SECRET}
CHARGE = 786943502
CUSTOMER = 94016128
SUBSCRIPTION = 310442871
ADDRESS = 118530461
OLD_METHOD = 52013377
NEW_METHOD = 52094410
STRIPE_CHARGE = "ch_3OzA1bT2uV9wX1yZ1pQ8rS5t"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def token_of(method: int = OLD_METHOD) -> str:
    return f"{method}|{CUSTOMER}"


def charge(**overrides: Any) -> dict:
    body = fixture("charge_failed")["charge"]
    body.update(copy.deepcopy(overrides))
    return body


def paid_charge(**overrides: Any) -> dict:
    return charge(
        status="success",
        error=None,
        error_type=None,
        retry_date=None,
        charge_attempts=2,
        processed_at="2026-03-19T04:00:03+00:00",
        updated_at="2026-03-19T04:00:03+00:00",
        external_order_id={"ecommerce": "5802217390331"},
        external_transaction_id={"payment_processor": STRIPE_CHARGE},
        orders_count=1,
        **overrides,
    )


# -- webhooks ------------------------------------------------------------------------------------------


def body(resource: str, obj: dict) -> bytes:
    """A webhook body as ReCharge posts it (the REST API's payload, compact JSON)."""
    return json.dumps({resource: obj}, separators=(",", ":")).encode()


def charge_failed(**overrides: Any) -> bytes:
    return body("charge", charge(**overrides))


def charge_paid(**overrides: Any) -> bytes:
    return body("charge", paid_charge(**overrides))


def payment_method_updated(updated_at: str = "2026-03-16T12:10:00+00:00") -> bytes:
    customer = fixture("customer")["customer"]
    customer["updated_at"] = updated_at
    return body("customer", customer)


def failure_count_exceeded() -> bytes:
    return body("subscription", fixture("subscription")["subscription"])


def signature(raw: bytes, secret: str = CLIENT_SECRET) -> str:
    """ReCharge's recipe: the client secret, then the body, through SHA-256, as hex."""
    digest = hashlib.sha256()
    digest.update(secret.encode("utf-8"))
    digest.update(raw)
    return digest.hexdigest()


def signed(raw: bytes, topic: str, secret: str = CLIENT_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Recharge-Topic": topic,
        "X-Recharge-Hmac-Sha256": signature(raw, secret),
        "User-Agent": "Recharge-Webhooks",
    }


# -- the API's answers ----------------------------------------------------------------------------------


def token_information() -> dict:
    return fixture("token_information")


def address(method: int = OLD_METHOD) -> dict:
    answer = fixture("address")
    answer["address"]["payment_method_id"] = method
    return answer


def processed(**overrides: Any) -> dict:
    """``POST /charges/{id}/process`` when the card went through."""
    return {"charge": paid_charge(**overrides)}


def declined(error: str = "Your card was declined.", error_type: str = "CARD_DECLINED") -> dict:
    """The charge after a processing ReCharge's gateway declined."""
    return {
        "charge": charge(
            error=error, error_type=error_type, charge_attempts=2, updated_at="2026-03-16T12:00:09+00:00"
        )
    }


def charges(*items: dict) -> dict:
    return {"charges": list(items), "next_cursor": None, "previous_cursor": None}


def unprocessable(message: str = "Charge must be in queued or error status to be processed.") -> dict:
    return {"errors": message}
