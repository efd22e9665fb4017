"""Saving a new card through a gateway's own browser fields (Stripe Elements, Braintree Hosted
Fields), for the card-update page: the card number goes from the browser to the gateway, and the
server only ever sees what the gateway gives back (a SetupIntent id, a nonce).

Every adapter that can do this implements ``CardSetupGateway``: ``card_form`` before the page is
shown, ``save_card`` with what the browser posted. The error classes say what the page should
do. Only ``CardRefused`` carries a message for the customer; the others' messages are for the log.
None ever holds card data or a key.

For a connector's recovery the card belongs to the billing platform: its client offers either
``PlatformCardSetup`` (the platform account's own keys drive an adapter above) or ``HostedCardPage``
(the platform's own hosted page, to redirect the customer to).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class CardForm:
    """What the page needs to show the gateway's fields. ``data`` goes into the page as is, so it
    holds only browser-side values (a publishable key, a client secret, a client token)."""

    kind: str  # "stripe" | "braintree": which page template renders it
    scripts: tuple[str, ...]  # the gateway's browser SDK, loaded from the gateway's own host
    csp: dict[str, tuple[str, ...]]  # CSP directive -> the gateway's documented sources
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedCard:
    token: str  # the gateway-native token for future charges (contract 7.1)
    brand: str | None
    last4: str | None


class CardSetupError(Exception):
    """Base class."""


class CardSetupUnsupported(CardSetupError):
    """This card cannot be replaced through the page (no customer to save a card for, or the page
    is not configured): the link cannot be served."""


class CardRefused(CardSetupError):
    """The card, or what the browser posted, was refused: nothing was saved and the customer may
    try again with the same link. ``str(exc)`` is written for the customer."""


class GatewayUnreachable(CardSetupError):
    """The gateway did not answer usefully; nothing was saved, try again later."""


@runtime_checkable
class CardSetupGateway(Protocol):
    def card_form(self, token: str, *, reference: str) -> CardForm:
        """Prepare the gateway's fields for replacing the card ``token``. ``reference`` names the
        card-update link (idempotency, metadata)."""
        ...

    def save_card(self, token: str, proof: str, *, reference: str) -> SavedCard:
        """Check what the browser posted (``proof``) and make the new card the customer's default."""
        ...


def clean_brand(brand: str | None) -> str | None:
    """Brands as gateways spell them ("visa", "MasterCard", "American Express"), bounded for storage."""
    brand = (brand or "").strip()
    return brand[:16] or None


def clean_last4(last4: str | None) -> str | None:
    last4 = (last4 or "").strip()
    return last4 if len(last4) == 4 and last4.isdigit() else None


# -- billing platforms (a connector's recovery) ----------------------------------------------------


@runtime_checkable
class PlatformCardSetup(Protocol):
    """A billing platform whose card is replaced through the page's own fields (Stripe Billing,
    Braintree): the platform account's keys drive the gateway card-setup code above."""

    def card_setup(self) -> CardSetupGateway:
        """The card-setup gateway with the platform account's own keys (``CardSetupUnsupported``
        when they cannot serve a page, e.g. no publishable key)."""
        ...

    def use_card(self, invoice_ref: str, token: str) -> None:
        """Make the saved card the one the platform collects ``invoice_ref`` with, where saving it
        did not already (Braintree: the subscription's payment method). ``PlatformUnavailable``
        when the platform cannot be told now, ``ValueError`` when it refuses."""
        ...


@runtime_checkable
class HostedCardPage(Protocol):
    """A billing platform whose own hosted page replaces the card (Chargebee, Recurly); its
    card-updated webhook then reaches the connector."""

    def card_update_page(self, customer_ref: str) -> str:
        """The https URL of the platform's page where this customer replaces their card
        (``PlatformUnavailable`` when the platform cannot answer now, ``ValueError`` when it
        refuses)."""
        ...
