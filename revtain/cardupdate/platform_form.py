"""The card-update page for a connector's recovery: the card belongs to the billing platform, so it
is collected in the platform's context, never through the client's own gateway (whose token the
platform could not collect with).

* Stripe Billing and Braintree (``PlatformCardSetup``): the gateway pages (Stripe Elements with a
  SetupIntent, Hosted Fields) driven by the connector's own keys; the saved card is made the one
  the platform collects with, then the link completes as any other.
* Chargebee, Recurly, ReCharge and Zuora (``HostedCardPage``): the page explains, and "Continue"
  redirects to the platform's own hosted page (ReCharge's customer portal; for Zuora, which has none,
  the merchant's page hosting its payment form); the card-updated webhook then reaches the connector.

Whether Revtain charges the new card at once or the platform retries with it is decided in one
place for every entry point (``recovery.new_card.take_new_card``).
"""

from __future__ import annotations

import logging

from ..gateways.card_setup import (
    CardForm,
    CardRefused,
    CardSetupGateway,
    CardSetupUnsupported,
    GatewayUnreachable,
    HostedCardPage,
    PlatformCardSetup,
)
from ..gateways.platforms import PlatformUnavailable
from ..models import CardUpdateLink, Client, Recovery
from ..recovery.cascade import PLATFORM_MARK, GatewayUnavailable, gateway_named
from . import links

log = logging.getLogger(__name__)

# The page each platform gets: the gateway fields it reuses, or its own hosted page.
PAGES = {"stripe-billing": "stripe", "braintree": "braintree", "chargebee": "hosted", "recurly": "hosted",
         "zuora": "hosted", "shopify-recharge": "hosted"}
# Named on the page before the redirect (Zuora's page is the merchant's own, so it is not named).
LABELS = {"chargebee": "Chargebee", "recurly": "Recurly", "shopify-recharge": "ReCharge"}
REFUSED_BY_PLATFORM = "This card can't be used for your subscription. Please try another card."


def page_kind(recovery: Recovery) -> str | None:
    """``stripe`` / ``braintree`` (fields on our page), ``hosted`` (the platform's page), or None."""
    return PAGES.get(recovery.source or "")


def _platform(client: Client, recovery: Recovery):
    try:
        return gateway_named(client, PLATFORM_MARK + (recovery.source or ""))
    except GatewayUnavailable as exc:  # the connector was removed, or its credentials are unusable
        raise CardSetupUnsupported(str(exc)) from None


def _card_setup(client: Client, recovery: Recovery) -> tuple[PlatformCardSetup, CardSetupGateway]:
    platform = _platform(client, recovery)
    if not isinstance(platform, PlatformCardSetup):
        raise CardSetupUnsupported(f"{recovery.source} has no card fields on the page")
    return platform, platform.card_setup()


def open_form(client: Client, link: CardUpdateLink, recovery: Recovery) -> CardForm:
    """Raises ``CardSetupUnsupported`` or ``GatewayUnreachable``."""
    _, gateway = _card_setup(client, recovery)
    return gateway.card_form(link.payment_method_token, reference=link.id)


def submit(client: Client, link: CardUpdateLink, recovery: Recovery, proof: str) -> links.Completed:
    """Save the card the browser confirmed with the platform account's keys, make it the card the
    platform collects the invoice with, then complete the link. Raises the ``card_setup`` errors,
    or ``links.LinkUnusable`` when the link was used meanwhile."""
    platform, gateway = _card_setup(client, recovery)
    saved = gateway.save_card(link.payment_method_token, proof, reference=link.id)
    try:
        platform.use_card(recovery.source_ref or "", saved.token)
    except PlatformUnavailable as exc:
        raise GatewayUnreachable(str(exc)) from None
    except ValueError as exc:
        log.warning("card update link %s: %s would not take the card: %s", link.id, recovery.source, exc)
        raise CardRefused(REFUSED_BY_PLATFORM) from None
    return links.complete(link, saved.token, saved.brand, saved.last4)


def hosted_page_offered(client: Client, recovery: Recovery) -> bool:
    """Whether the platform has a page to send this customer on to: Zuora only when the merchant
    named the page of their site that hosts its payment form (``offers_card_update_page``)."""
    try:
        platform = _platform(client, recovery)
    except CardSetupUnsupported:
        return False
    return isinstance(platform, HostedCardPage) and bool(getattr(platform, "offers_card_update_page", True))


def hosted_page_url(client: Client, recovery: Recovery) -> str:
    """The platform's own page for this customer's card (Chargebee's payment sources page,
    Recurly's account management page). Raises ``CardSetupUnsupported`` or ``GatewayUnreachable``."""
    platform = _platform(client, recovery)
    if not isinstance(platform, HostedCardPage) or not recovery.source_customer:
        raise CardSetupUnsupported(f"{recovery.source} has no hosted card page for this recovery")
    try:
        return platform.card_update_page(recovery.source_customer)
    except PlatformUnavailable as exc:
        raise GatewayUnreachable(str(exc)) from None
    except ValueError as exc:
        raise CardSetupUnsupported(str(exc)) from None
