"""What every billing-platform client offers, and the facts it reads off the platform.

A connector's recovery is charged *through the platform*: ``charge`` asks the platform to collect
the open invoice with a given payment method, so the platform's invoice, subscription and dunning
state stay consistent and the invoice is marked paid by the platform itself. ``lookup`` answers
reconciliation from the invoice's state, never by collecting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..base import ChargeRequest, ChargeResult


class PlatformUnavailable(Exception):
    """The platform could not be read or written just now (network, 5xx, rate limit): try later.
    The message names the call and the status, never credentials."""


@dataclass(frozen=True)
class PaymentFailed:
    invoice_ref: str  # the platform's invoice (Braintree: the subscription)
    customer_ref: str | None
    token: str  # the payment method the platform charged, as the platform's client collects with it
    amount: int  # smallest currency unit
    currency: str
    decline_code: str | None
    customer_email: str | None = None
    # The customer's country (billing address) where the platform has one: the customer's clock.
    customer_country: str | None = None
    # The network's signals on the failed charge, as the platform reports them (issue 10).
    network_decline_code: str | None = None
    advice_code: str | None = None  # Mastercard Merchant Advice Code, or Stripe's advice_code


@dataclass(frozen=True)
class CardUpdated:
    customer_ref: str
    token: str
    brand: str | None = None
    last4: str | None = None


@dataclass(frozen=True)
class PaymentSucceeded:
    invoice_ref: str | None
    customer_ref: str | None
    amount: int
    currency: str
    transaction_ref: str | None = None


@dataclass(frozen=True)
class Ignored:
    reason: str


Fact = PaymentFailed | CardUpdated | PaymentSucceeded | Ignored


class PlatformClient(Protocol):
    platform: str  # the connector slug: chargebee | recurly | stripe-billing | braintree | zuora | …
    decline_gateway: str  # whose decline catalogue its codes are read with

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Collect ``request.invoice_ref`` with ``request.token``; the attempt's idempotency key is
        passed on where the platform takes one."""
        ...

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        """Reconciliation: ``approved`` if the invoice is paid now, ``None`` if it is still open
        (nothing was collected), ``unknown`` if the platform cannot be read."""
        ...

    def stop_retries(self, invoice_ref: str) -> None:
        """The hand-off: the platform stops retrying this invoice itself (raises
        ``PlatformUnavailable`` when it cannot be told now). Where the platform's retries are a
        setting the merchant controls and no API can stop them (Braintree, Recurly, Zuora, ReCharge), it calls
        nothing: the merchant switched them off first, as the connector's ``HAND_OFF_BY_SETTING``
        asks."""
        ...
