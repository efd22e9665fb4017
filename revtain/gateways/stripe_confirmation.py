"""Stripe: a payment the issuer declined as ``authentication_required`` (3-D Secure), confirmed by
the customer on the page.

Stripe's recipe for off-session payments that need authentication: bring the customer back on
session and confirm a PaymentIntent in the browser with Stripe.js (``stripe.confirmCardPayment``),
which runs the issuer's challenge (``next_action``). The server makes that PaymentIntent (once per
link: its idempotency key comes from the link) for the recovery's amount, currency and card, with
the recovery's attempt key in its metadata, and settles only when Stripe says that very
PaymentIntent succeeded.
"""

from __future__ import annotations

import re
from typing import Any

import stripe

from .card_setup import CardForm, CardRefused, CardSetupUnsupported
from .stripe_gateway import (
    METADATA_KEY,
    STRIPE_CSP,
    STRIPE_JS,
    StripeGateway,
    _attempt_of,
    _split_token,
    _unreachable,
)

PAYMENT_INTENT_ID = re.compile(r"pi_[A-Za-z0-9]{8,250}")
NOT_CONFIRMED = "Your payment wasn't confirmed. Please try again."


def confirmation_form(gateway: StripeGateway, token: str, amount: int, currency: str, *,
                      attempt_key: str, reference: str) -> CardForm:
    """A PaymentIntent for the card ``token`` (not confirmed: the browser confirms it), and what
    the page needs for Stripe.js. Raises ``CardSetupUnsupported`` or ``GatewayUnreachable``."""
    if not gateway.publishable_key:
        raise CardSetupUnsupported("this Stripe account has no publishable key configured")
    payment_method, customer = _split_token(token)
    if not payment_method.startswith("pm_"):
        raise CardSetupUnsupported("only a PaymentMethod (pm_…) can be confirmed on the page")
    try:
        owner = {"customer": customer} if customer else gateway._owner_of(payment_method)
        intent = gateway.stripe_client.v1.payment_intents.create(
            {
                "amount": amount,
                "currency": currency.lower(),
                "payment_method": payment_method,
                **owner,
                "payment_method_types": ["card"],
                "metadata": {METADATA_KEY: attempt_key},
            },
            options={"idempotency_key": f"revtain-confirm-{reference}"},
        )
    except stripe.InvalidRequestError:
        raise CardSetupUnsupported("Stripe refused a PaymentIntent for this card") from None
    except stripe.StripeError as exc:
        raise _unreachable(exc) from None
    return CardForm("stripe_confirm", scripts=(STRIPE_JS,), csp=STRIPE_CSP, data={
        "publishable_key": gateway.publishable_key, "client_secret": intent.client_secret,
        "payment_method": payment_method,
    })


def confirmed_payment(gateway: StripeGateway, proof: str, amount: int, currency: str, *,
                      attempt_key: str) -> str:
    """The PaymentIntent id the browser posted (``proof``), once Stripe says it is this recovery's
    (metadata, amount, currency) and succeeded. Raises ``CardRefused`` (the customer may try
    again) or ``GatewayUnreachable``."""
    if not isinstance(proof, str) or not PAYMENT_INTENT_ID.fullmatch(proof):
        raise CardRefused(NOT_CONFIRMED)
    try:
        intent: Any = gateway.stripe_client.v1.payment_intents.retrieve(proof)
    except stripe.InvalidRequestError:
        raise CardRefused(NOT_CONFIRMED) from None
    except stripe.StripeError as exc:
        raise _unreachable(exc) from None
    if (
        _attempt_of(intent) != attempt_key
        or getattr(intent, "amount", None) != amount
        or (getattr(intent, "currency", None) or "").upper() != currency.upper()
        or getattr(intent, "status", None) != "succeeded"
    ):
        raise CardRefused(NOT_CONFIRMED)
    return intent.id
