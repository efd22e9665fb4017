"""Stripe Billing: webhooks signed with ``Stripe-Signature``, verified by the ``stripe`` library
(five minutes of tolerance, as Stripe recommends, either side of now)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import stripe

from ..gateways.platforms import CardUpdated, Fact, Ignored, PaymentSucceeded
from ..gateways.platforms.stripe_billing import StripeBillingClient, _v
from ..gateways.stripe_gateway import _check_publishable_key
from .base import BadPayload, Field, Headers, Inbound, Unauthorized, require

PLATFORM = "stripe-billing"
LABEL = "Stripe Billing"
CREDENTIALS = (
    Field(
        "secret_key",
        "Secret key",
        secret=True,
        help="A secret (sk_live_…) or restricted key (rk_live_…) that may read and pay invoices.",
    ),
    Field(
        "webhook_secret",
        "Webhook signing secret",
        secret=True,
        help="The endpoint's signing secret (whsec_…), shown in Stripe after you add the endpoint.",
    ),
    Field(
        "publishable_key",
        "Publishable key",
        required=False,
        help="The same account's publishable key (pk_live_…): the card-update page of your dunning "
        "emails collects the new card with Stripe Elements (a restricted secret key then also needs "
        "SetupIntents and Customers write access). Without it that page is not available.",
    ),
)
SETUP = (
    "In Stripe, Developers → Webhooks → Add endpoint: paste the URL and select the events "
    "invoice.payment_failed, payment_method.attached, payment_intent.succeeded and invoice.paid."
)
EVENTS = ("invoice.payment_failed", "payment_method.attached", "payment_intent.succeeded", "invoice.paid")


def check_credentials(credentials: Mapping[str, Any]) -> dict[str, str]:
    cleaned = require(credentials, CREDENTIALS, LABEL)
    if not cleaned["secret_key"].startswith(("sk_", "rk_")):
        raise ValueError("Stripe Billing's secret key starts with sk_ or rk_")
    if not cleaned["webhook_secret"].startswith("whsec_"):
        raise ValueError("Stripe Billing's webhook signing secret starts with whsec_")
    if "publishable_key" in cleaned:
        _check_publishable_key(cleaned["publishable_key"], cleaned["secret_key"])
    return cleaned


def _inbound(event: Any) -> Inbound:
    if not _v(event, "id") or not _v(event, "type"):
        raise BadPayload("not a Stripe event (no id or type)")
    created = _v(event, "created")
    occurred = datetime.fromtimestamp(created, UTC) if isinstance(created, int) else None
    return Inbound(event.id, event.type, occurred, event)


def read(credentials: Mapping[str, str], headers: Headers, body: bytes) -> Inbound:
    try:
        stripe.WebhookSignature.verify_header(
            body,
            headers.get("Stripe-Signature"),
            credentials.get("webhook_secret"),
            stripe.Webhook.DEFAULT_TOLERANCE,
        )
    except stripe.SignatureVerificationError as exc:
        raise Unauthorized(f"Stripe-Signature: {exc.user_message or 'does not verify'}") from None
    except UnicodeDecodeError:
        raise BadPayload("the body is not UTF-8") from None
    _not_from_the_future(headers.get("Stripe-Signature") or "")
    return parse(credentials, body)


def _not_from_the_future(header: str) -> None:
    """The library refuses only old timestamps; the tolerance holds both ways, as for Recurly, so a
    signed event cannot be kept aside to replay later than five minutes after its time."""
    stamps = [part.strip()[2:] for part in header.split(",") if part.strip().startswith("t=")]
    if not stamps or not stamps[0].isdigit():
        raise Unauthorized("Stripe-Signature: no timestamp")
    if int(stamps[0]) > time.time() + stripe.Webhook.DEFAULT_TOLERANCE:
        raise Unauthorized("Stripe-Signature: the timestamp is more than 5 minutes in the future")


def parse(credentials: Mapping[str, str], body: bytes, event_type: str | None = None) -> Inbound:
    try:
        event = stripe.Webhook.construct_event_without_verification(body.decode())
    except (ValueError, TypeError, AttributeError):  # JSONDecodeError and UnicodeDecodeError included
        raise BadPayload("the body is not a Stripe event in JSON") from None
    return _inbound(event)


def handled(event_type: str) -> bool:
    return event_type in EVENTS


def normalise(inbound: Inbound, client: StripeBillingClient) -> Fact:
    obj = inbound.payload.data.object
    if inbound.event_type == "invoice.payment_failed":
        return client.failed_invoice(obj)
    if inbound.event_type == "payment_method.attached":
        customer = _v(obj, "customer")
        customer_id = customer if isinstance(customer, str) else _v(customer, "id")
        if not customer_id:
            return Ignored("payment method not attached to a customer")
        card = _v(obj, "card") or {}
        return CardUpdated(customer_id, f"{obj.id}|{customer_id}", _v(card, "brand"), _v(card, "last4"))
    if inbound.event_type == "payment_intent.succeeded":
        return client.succeeded_intent(obj)
    if inbound.event_type == "invoice.paid":
        customer = _v(obj, "customer")
        return PaymentSucceeded(
            invoice_ref=obj.id,
            customer_ref=customer if isinstance(customer, str) else None,
            amount=int(_v(obj, "amount_paid") or 0),
            currency=str(_v(obj, "currency") or "usd").upper(),
        )
    return Ignored(f"{inbound.event_type} is not handled")
