"""Zuora as Zuora sends it: callouts rendered from the set-up's templates (Basic auth, Zuora's own
callout headers), the REST API's answers as JSON fixtures shaped as Zuora's API reference shows them,
and the HTTP layer of ``requests`` stubbed (``requests_support``)."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "zuora"
BASE_URL = "https://rest.apisandbox.zuora.com"
CLIENT_ID = "3b8e6c1f-2a4d-4e7b-9c0a-5d1f2e3a4b6c"
CLIENT_SECRET = "pY7dQ2xL9mK4vB1nR8sT3wZ6cF0hJ5gE"
WEBHOOK_USER = "revtain-callouts"
WEBHOOK_PASSWORD = "z0ra-Callout-Pa55word"
CARD_PAGE = "https://billing.acme.example/account/payment-method"
CREDENTIALS = {
    "base_url": BASE_URL,
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "webhook_username": WEBHOOK_USER,
    "webhook_password": WEBHOOK_PASSWORD,
}
ACCOUNT = "8ad09be48db5aba7018dc2a6a7e4461c"
INVOICE = "8ad09be48db5aba7018e3f0e1c5a3b27"
DECLINED_PAYMENT = "8ad0887e8e4b5a0a018e4c11b2a3712f"
OLD_METHOD = "8ad09be48db5aba7018dc2a6a90d4621"
NEW_METHOD = "8ad09be48db5aba7018e4c2f0d1a7b55"
PAYING_PAYMENT = "8ad0887e8e4b5a0a018e6d0e5f4c1a02"
RETRY_PAYMENT = "8ad0887e8e4b5a0a018e5a7c3b2d1e0f"
ACCESS_TOKEN = "f7a3c2e1d4b54e8f9a0b1c2d3e4f5a6b"


def fixture(name: str, **overrides: Any) -> dict:
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    body.update(copy.deepcopy(overrides))
    return body


def token_of(method: str = OLD_METHOD) -> str:
    return f"{method}|{ACCOUNT}"


# -- callouts (the set-up's templates, rendered) -----------------------------------------------------


def callout(event: str, **ids: str) -> bytes:
    return json.dumps({"event": event, **ids}).encode()


def payment_failure(payment: str = DECLINED_PAYMENT) -> bytes:
    return callout("Payment.Failure", paymentId=payment, accountId=ACCOUNT)


def payment_success(payment: str = PAYING_PAYMENT) -> bytes:
    return callout("Payment.Success", paymentId=payment, accountId=ACCOUNT)


def method_updated(method: str = NEW_METHOD) -> bytes:
    return callout("PaymentMethod.Updated", paymentMethodId=method, accountId=ACCOUNT)


def basic_auth(user: str = WEBHOOK_USER, password: str = WEBHOOK_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {**zuora_headers(), "Authorization": f"Basic {token}"}


def zuora_headers() -> dict[str, str]:
    """The headers every Zuora callout carries (a new request id on every try)."""
    return {
        "Content-Type": "application/json",
        "Zuora-Request-Id": uuid.uuid4().hex,
        "Zuora-Notification-Id": "2c92c0f97b1a2c3d017b1a2c3d4e0001",
    }


# -- the API's answers -----------------------------------------------------------------------------


def signed_in() -> dict:
    return fixture("oauth_token")


def declined_payment(**overrides: Any) -> dict:
    return fixture("payment_declined", **overrides)


def parts(invoice: str = INVOICE) -> dict:
    body = fixture("payment_parts")
    body["parts"][0]["invoiceId"] = invoice
    return body


def invoice(**overrides: Any) -> dict:
    return fixture("invoice", **overrides)


def paid_invoice() -> dict:
    return invoice(balance=0.0, paymentAmount=49.0, updatedDate="2026-03-21 09:00:03")


def account(default_method: str = OLD_METHOD) -> dict:
    body = fixture("account")
    body["billingAndPayment"]["defaultPaymentMethodId"] = default_method
    return body


def processed_payment(payment: str = RETRY_PAYMENT, method: str = OLD_METHOD) -> dict:
    """``POST /v1/payments`` when the gateway approved it."""
    return fixture(
        "payment_declined",
        id=payment,
        number="P-00000433",
        status="Processed",
        appliedAmount=49.0,
        unappliedAmount=0.0,
        paymentMethodId=method,
        gatewayResponse="Approved",
        gatewayResponseCode="approved",
        gatewayState="Submitted",
        networkResponseCode="00",
        networkResponseCodeDescription="Approved",
        referenceId="ch_3OzA1bHk8Lm4Np6R0xY9zW8v",
        effectiveDate="2026-03-21",
        createdDate="2026-03-21 09:00:02",
        updatedDate="2026-03-21 09:00:03",
    )


def succeeded_payment() -> dict:
    """``GET /v1/payments/{id}`` of a payment Zuora's own payment run collected."""
    return processed_payment(PAYING_PAYMENT)


def declined_answer(
    message: str = "Transaction declined.402 - [card_error/card_declined/insufficient_funds] "
    "Your card has insufficient funds.",
) -> dict:
    """``POST /v1/payments`` when the gateway declined it: Zuora's ``success: false`` with the reason."""
    return {
        "success": False,
        "processId": "6C3F2B8A1D4E5F70",
        "requestId": str(uuid.uuid4()),
        "reasons": [{"code": 53100320, "message": message}],
    }


def not_found() -> dict:
    return {
        "success": False,
        "processId": "3F1E2D4C5B6A7980",
        "requestId": str(uuid.uuid4()),
        "reasons": [{"code": 50000040, "message": "Cannot find entity by key: '8ad0887e'."}],
    }
