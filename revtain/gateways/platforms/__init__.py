"""Billing-platform clients (Chargebee, Recurly, Stripe Billing, Braintree subscriptions, Zuora, Shopify
ReCharge), one module each, through each platform's official or best-kept library (Zuora: its REST
API with ``requests``; docs/decisions.md says why). See ``base`` for what they offer.

They sit beside the payment gateways because, for a connector's recovery, the platform is where
the money moves. ``connectors/`` reads the platforms' webhooks and uses these clients to fetch what
a webhook lacks; ``recovery/`` charges through them.
"""

from __future__ import annotations

from ...choices import PLATFORMS as PLATFORMS
from .base import (
    CardUpdated,
    Fact,
    Ignored,
    PaymentFailed,
    PaymentSucceeded,
    PlatformClient,
    PlatformUnavailable,
)

# Whose decline catalogue each platform's codes are read with (``engine.declines``).
DECLINE_GATEWAYS = {"stripe-billing": "stripe", "braintree": "braintree", "chargebee": "chargebee",
                    "recurly": "recurly", "zuora": "zuora", "shopify-recharge": "recharge"}


def for_platform(platform: str, credentials: str | None) -> PlatformClient:
    """The client for ``platform`` from its decrypted credentials JSON (``ValueError`` if they
    are incomplete)."""
    if platform == "stripe-billing":
        from .stripe_billing import StripeBillingClient  # the SDKs stay out of app start-up

        return StripeBillingClient.from_credentials(credentials)
    if platform == "chargebee":
        from .chargebee import ChargebeeClient

        return ChargebeeClient.from_credentials(credentials)
    if platform == "recurly":
        from .recurly import RecurlyClient

        return RecurlyClient.from_credentials(credentials)
    if platform == "braintree":
        from .braintree_billing import BraintreeBillingClient

        return BraintreeBillingClient.from_credentials(credentials)
    if platform == "zuora":
        from .zuora import ZuoraClient

        return ZuoraClient.from_credentials(credentials)
    if platform == "shopify-recharge":
        from .recharge import RechargeClient

        return RechargeClient.from_credentials(credentials)
    raise LookupError(f"unknown billing platform {platform!r}")


__all__ = [
    "DECLINE_GATEWAYS",
    "PLATFORMS",
    "CardUpdated",
    "Fact",
    "Ignored",
    "PaymentFailed",
    "PaymentSucceeded",
    "PlatformClient",
    "PlatformUnavailable",
    "for_platform",
]
