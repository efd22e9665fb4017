"""Stripe Billing as Stripe sends it: events signed with the ``stripe`` library's own helper
(``WebhookSignature.generate_signature_header``), and the API's answers as JSON fixtures."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import stripe

FIXTURES = Path(__file__).parent / "fixtures" / "stripe_billing"
WEBHOOK_SECRET = "whsec_" + "f1xture" * 5
SECRET_KEY = "sk_test_51Fixture" + "0" * 24
INVOICE = "in_1SbQx2LkdIwHu7ixFixture01"
CUSTOMER = "cus_TbQ9fixture0001"
OLD_PM = "pm_1SbQw8LkdIwHu7ixOldVisa1"
NEW_PM = "pm_1SbR02LkdIwHu7ixNewMc001"
FAILED_INTENT = "pi_3SbQx3LkdIwHu7ix0Failed1"
PAYING_INTENT = "pi_3SbR11LkdIwHu7ix0Paid001"
FAILED_AT = 1773662402  # 2026-03-16T12:00:02Z


def fixture(name: str, **overrides: Any) -> dict:
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    body.update(copy.deepcopy(overrides))
    return body


def event(event_type: str, obj: dict, *, event_id: str, created: int = FAILED_AT) -> bytes:
    """An event envelope as Stripe posts it (snapshot event, API version of this SDK)."""
    return json.dumps({
        "id": event_id,
        "object": "event",
        "api_version": stripe.api_version,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }, indent=2).encode()


def signed(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp or int(time.time()))
    return {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}


def payment_failed(event_id: str = "evt_1SbQx4Failed0001") -> bytes:
    return event("invoice.payment_failed", fixture("invoice_open"), event_id=event_id)


def failed_intent(decline_code: str = "insufficient_funds") -> dict:
    intent = fixture("payment_intent_failed")
    intent["last_payment_error"]["decline_code"] = decline_code
    return intent


def invoice_payments(*payments: dict, url: str = "/v1/invoice_payments") -> dict:
    return {"object": "list", "data": list(payments), "has_more": False, "url": url}


def invoice_payment(intent: dict | str, status: str = "open") -> dict:
    return fixture("invoice_payment", status=status,
                   payment={"payment_intent": intent, "type": "payment_intent"},
                   amount_paid=4900 if status == "paid" else None)


def paid_invoice() -> dict:
    return fixture("invoice_open", status="paid", amount_paid=4900, amount_remaining=0, attempt_count=2,
                   auto_advance=False, next_payment_attempt=None,
                   status_transitions={"finalized_at": 1773662400, "marked_uncollectible_at": None,
                                       "paid_at": 1773921600, "voided_at": None})


def card_declined(decline_code: str = "insufficient_funds") -> dict:
    """The 402 ``invoices.pay`` answers when the card is declined."""
    return {"error": {
        "charge": "ch_3SbR9xLkdIwHu7ix0Charge3", "code": "card_declined", "decline_code": decline_code,
        "advice_code": "try_again_later", "network_decline_code": "51",
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": "Your card was declined.", "payment_intent": failed_intent(decline_code),
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_fixture", "type": "card_error",
    }}
