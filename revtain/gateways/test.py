"""The Revtain Test Gateway: a sandbox that never moves money (contract 10).

- the documented test cards (as the token, spaces ignored) are approved;
- ``amount`` 44 is a gateway-level failure (``gateway_error``);
- a token ``test_decline_<code>`` is declined with ``<code>`` on every attempt, so sandboxes can
  exercise failures and scheduled retries; ``+advice:<MAC>`` and ``+network:<code>`` suffixes add a
  Mastercard Merchant Advice Code and a network response code (``test_decline_do_not_honor+advice:24``)
  to see the card-network rules at work;
- any other token is approved.
Transaction ids derive from the idempotency key, so a repeated charge returns the same one, as a
real gateway's idempotency does.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date

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

    def charge(self, request: ChargeRequest) -> ChargeResult:
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
    """The card form's input, in words a customer understands."""


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def tokenize_test_card(number: str, expiry: str, cvc: str, today: date) -> tuple[str, str, str]:
    """The test gateway's plain card form: a documented test card in, a new token, its brand
    and last four digits out. The number itself is never kept."""
    digits = "".join(ch for ch in number if not ch.isspace() and ch != "-")
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not _luhn_ok(digits):
        raise CardRejected("That card number doesn't look right. Please check it.")
    brand = TEST_CARDS.get(digits)
    if brand is None:
        raise CardRejected("This is a test checkout: please use one of the test cards.")
    month, _, year = expiry.replace(" ", "").partition("/")
    if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) in (2, 4)):
        raise CardRejected("Enter the expiry date as MM/YY.")
    full_year = int(year) + (2000 if len(year) == 2 else 0)
    if (full_year, int(month)) < (today.year, today.month):
        raise CardRejected("This card has expired.")
    if not (cvc.isdigit() and len(cvc) == (4 if brand == "amex" else 3)):
        raise CardRejected("Enter the security code from the card.")
    return "tok_test_" + secrets.token_hex(12), brand, digits[-4:]
