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
