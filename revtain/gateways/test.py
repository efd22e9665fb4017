"""The Revtain Test Gateway: a sandbox that never moves money (contract 10).

- the documented test cards (as the token, spaces ignored) are approved;
- ``amount`` 44 is a gateway-level failure (``gateway_error``);
- a token ``test_decline_<code>`` is declined with ``<code>`` on every attempt, so sandboxes can
  exercise failures and scheduled retries; ``+advice:<MAC>`` and ``+network:<code>`` suffixes add a
  Mastercard Merchant Advice Code and a network response code (``test_decline_do_not_honor+advice:24``)
  to see the card-network rules at work;
- any other token is approved.
Transaction ids derive from the idempotency key, so a repeated charge returns the same one, as a
real gateway's idempotency does. ``latency_ms`` (config ``TEST_GATEWAY_LATENCY_MS``) makes every
answer wait, like a real gateway's network round trip, for benchmarks.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import date

from ..engine.card_networks import luhn_ok
from .base import ChargeRequest, ChargeResult

TEST_CARDS = {
    "4111111111111111": "visa",
    "5555555555554444": "mastercard",
    "378282246310005": "amex",
    "3530111333300000": "jcb",
}
DECLINE_PREFIX = "test_decline_"
GATEWAY_FAILURE_AMOUNT = 44


def test_card_brand(token: str) -> str | None:
    return TEST_CARDS.get(token.replace(" ", ""))


class TestGateway:
    name = "test"

    def __init__(self, latency_ms: float = 0) -> None:
        self.latency_ms = latency_ms

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)
        if request.amount == GATEWAY_FAILURE_AMOUNT:
            return ChargeResult("error", decline_code="gateway_error")
        if request.token.startswith(DECLINE_PREFIX) and not test_card_brand(request.token):
            code, *extras = request.token.removeprefix(DECLINE_PREFIX).split("+")
            fields = dict(extra.partition(":")[::2] for extra in extras)
            return ChargeResult(
                "declined",
                decline_code=code or "card_declined",
                advice_code=fields.get("advice") or None,
                network_code=fields.get("network") or None,
            )
        digest = hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        return ChargeResult("approved", transaction_id=f"rtg_{digest}")

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        """The test gateway keeps no state: a charge is a pure function of the request."""
        return self.charge(request)


class CardRejected(ValueError):
    """The card input, in words a customer understands. ``field`` is what to correct ("number",
    "expiry" or "cvc") and ``reason`` why, for callers that word it their own way (the API)."""

    def __init__(self, message: str, field: str, reason: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class TestCard:
    __test__ = False  # not a pytest class

    brand: str
    bin: str  # the first six digits
    last4: str


def card_digits(number: str) -> str:
    """The number as typed, without the spaces and dashes people put in it."""
    return "".join(ch for ch in number if not ch.isspace() and ch != "-")


def check_test_card(number: str, month: str, year: str, cvc: str, today: date) -> TestCard:
    """A documented test card, not expired, with a CVC of its brand's length; else ``CardRejected``.
    Only the brand, the BIN and the last four digits come out: nothing else of the card is kept."""
    digits = card_digits(number)
    if not (digits.isascii() and digits.isdigit()) or not 12 <= len(digits) <= 19 or not luhn_ok(digits):
        raise CardRejected("That card number doesn't look right. Please check it.", "number", "invalid")
    brand = TEST_CARDS.get(digits)
    if brand is None:
        raise CardRejected("This is a test checkout: please use one of the test cards.", "number",
                           "not_a_test_card")
    month, year = month.strip(), year.strip()
    if not (month.isascii() and month.isdigit() and 1 <= int(month) <= 12):
        raise CardRejected("Enter the expiry date as MM/YY.", "expiry", "invalid_month")
    if not (year.isascii() and year.isdigit() and len(year) in (2, 4)):
        raise CardRejected("Enter the expiry date as MM/YY.", "expiry", "invalid_year")
    full_year = int(year) + (2000 if len(year) == 2 else 0)
    if (full_year, int(month)) < (today.year, today.month):
        raise CardRejected("This card has expired.", "expiry", "expired")
    if not (cvc.isascii() and cvc.isdigit() and len(cvc) == (4 if brand == "amex" else 3)):
        raise CardRejected("Enter the security code from the card.", "cvc", "invalid")
    return TestCard(brand, digits[:6], digits[-4:])


def new_test_token() -> str:
    return "tok_test_" + secrets.token_hex(12)


def tokenize_test_card(number: str, expiry: str, cvc: str, today: date) -> tuple[str, str, str]:
    """The test gateway's plain card form: a documented test card in, a new token, its brand
    and last four digits out. The number itself is never kept."""
    month, _, year = expiry.replace(" ", "").partition("/")
    card = check_test_card(number, month, year, cvc, today)
    return new_test_token(), card.brand, card.last4
