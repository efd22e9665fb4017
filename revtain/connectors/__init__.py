"""Connectors: billing platforms (Chargebee, Recurly, Stripe Billing, Braintree, Zuora, Shopify ReCharge)
tell Revtain that a payment failed, a card changed or a payment went through, with no code on the
merchant's side.

verify -> store raw and deduplicate (``inbound``) -> normalise, reading what the webhook lacks
through the platform's library -> hand to the recovery services (``processing``). Recoveries are
charged through the platform (``gateways.platforms``), which records the outcome in its own books.
One module per platform; ``base`` says what each provides.
"""

from __future__ import annotations

from types import ModuleType

from . import braintree, chargebee, recharge, recurly, stripe_billing, zuora

MODULES: dict[str, ModuleType] = {
    module.PLATFORM: module for module in (braintree, chargebee, recurly, stripe_billing, zuora, recharge)
}


def module_for(platform: str) -> ModuleType | None:
    return MODULES.get(platform)
