"""``POST /api/recovery/tokenize`` (contract 3.11): a test card in, a token out, on the test gateway.

Live gateways collect cards in their own fields (Stripe Elements, Braintree Hosted Fields), so no
card number ever reaches Revtain; for their clients tokenising is refused. What is kept of a
tokenised card is its brand, BIN and last four digits, beside the token: never the number, the
expiry or the security code. Execute with the token then knows the card's BIN (its network for the
card-network rules, its issuing country).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..clock import now as clock_now
from ..extensions import db
from ..gateways.test import CardRejected, check_test_card, new_test_token
from ..models import CardToken, Client

__all__ = ["CardRejected", "CardTokenized", "TokenizeUnavailable", "known_bin", "tokenize"]

GATEWAY_FIELDS = {
    "stripe": "Stripe's own fields (Stripe Elements)",
    "braintree": "Braintree's own fields (Hosted Fields)",
}


class TokenizeUnavailable(Exception):
    """The client's primary gateway is live: its cards never reach Revtain."""

    def __init__(self, gateway: str) -> None:
        fields = GATEWAY_FIELDS.get(gateway, f"{gateway}'s own fields")
        super().__init__(
            f"Tokenization is only available on the Revtain Test Gateway. Your gateway is {gateway}: cards "
            f"are collected by {fields}, in the browser or on the card-update page, and never reach Revtain. "
            "Send execute the payment method token your gateway gives you."
        )
        self.gateway = gateway


@dataclass(frozen=True)
class CardTokenized:
    token: str
    brand: str
    last4: str


def tokenize(client: Client, number: str, exp_month: str, exp_year: str, cvc: str) -> CardTokenized:
    """Raises ``TokenizeUnavailable`` for a live gateway, ``CardRejected`` for a card the test
    gateway does not take. The card's details live only in this call's arguments."""
    if not client.is_test_gateway:
        raise TokenizeUnavailable(client.gateway)
    now = clock_now()
    card = check_test_card(number, exp_month, exp_year, cvc, now.date())
    row = CardToken(
        client_id=client.id,
        token=new_test_token(),
        brand=card.brand,
        bin=card.bin,
        last4=card.last4,
        created_at=now,
    )
    db.session.add(row)
    db.session.commit()
    return CardTokenized(row.token, row.brand, row.last4)


def known_bin(client_id: str, token: str) -> str | None:
    """The BIN of a card this client tokenised, or None for any other token."""
    if not token.startswith("tok_test_"):
        return None
    return db.session.execute(
        select(CardToken.bin).where(CardToken.client_id == client_id, CardToken.token == token)
    ).scalar_one_or_none()
