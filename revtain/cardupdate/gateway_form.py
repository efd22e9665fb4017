"""The card-update page for clients whose gateway is Stripe or Braintree: the gateway's own fields
(Stripe Elements, Braintree Hosted Fields) take the card in the browser, and the page posts back
only what the gateway gave it (a SetupIntent id, a nonce). The SDK calls live in ``gateways/``.
"""

from __future__ import annotations

from ..gateways.card_setup import CardForm, CardSetupGateway, CardSetupUnsupported
from ..models import CardUpdateLink, Client
from ..recovery.cascade import GatewayUnavailable, gateway_named
from . import links

# The form field each page posts its proof in.
PROOF_FIELDS = {"stripe": "setup_intent", "braintree": "payment_method_nonce"}


def card_setup_gateway(client: Client) -> CardSetupGateway:
    """The client's primary gateway, if it can save cards through a page."""
    try:
        gateway = gateway_named(client, client.gateway)
    except GatewayUnavailable as exc:
        raise CardSetupUnsupported(str(exc)) from None
    if client.gateway not in PROOF_FIELDS or not isinstance(gateway, CardSetupGateway):
        raise CardSetupUnsupported(f"gateway {client.gateway} has no card-update page")
    return gateway


def open_form(client: Client, link: CardUpdateLink) -> CardForm:
    """Raises ``CardSetupUnsupported`` or ``GatewayUnreachable``."""
    return card_setup_gateway(client).card_form(link.payment_method_token, reference=link.id)


def submit(client: Client, link: CardUpdateLink, proof: str) -> links.Completed:
    """Save the card the browser confirmed, then complete the link (``card.updated``, dunning
    stopped, the open recovery retried with the new card). Raises the ``card_setup`` errors, or
    ``links.LinkUnusable`` when the link was used meanwhile."""
    saved = card_setup_gateway(client).save_card(link.payment_method_token, proof, reference=link.id)
    return links.complete(link, saved.token, saved.brand, saved.last4)
