"""The one small interface every payment gateway adapter implements."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

# approved: money moved. declined: the issuer or gateway said no (see decline_code/advice_code).
# error: the request never reached the card network (bad credentials, rate limited, invalid
#   request); nothing was charged and no network attempt counts.
# unknown: the answer was lost (timeout, connection reset, 5xx): the charge may or may not have
#   happened, so the recovery waits for reconciliation (``Gateway.lookup``).
Outcome = Literal["approved", "declined", "error", "unknown"]


@dataclass(frozen=True)
class ChargeRequest:
    token: str
    amount: int  # smallest currency unit
    currency: str  # ISO 4217, upper case
    idempotency_key: str  # derived from the recovery and attempt number: a re-run reuses it
    customer_email: str | None = None
    payment_method_type: str | None = None
    # The billing platform's invoice a connector's recovery collects (platform clients only).
    invoice_ref: str | None = None


@dataclass(frozen=True)
class ChargeResult:
    outcome: Outcome
    transaction_id: str | None = None  # the gateway's charge / payment id (Stripe pi_…)
    decline_code: str | None = None  # raw code as the gateway gave it (normalised later)
    advice_code: str | None = None  # Mastercard Merchant Advice Code or Stripe advice_code
    network_code: str | None = None  # network / ISO 8583 response code, when the gateway gives it
    message: str | None = None  # short human-readable detail, never card data

    @property
    def approved(self) -> bool:
        return self.outcome == "approved"


class Gateway(Protocol):
    name: str

    def charge(self, request: ChargeRequest) -> ChargeResult: ...

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        """Reconciliation: what became of an earlier charge with this idempotency key.
        ``None`` when the gateway has no record of it (it never happened)."""
        ...


def credentials_object(credentials: str | Mapping[str, Any] | None, label: str) -> Mapping[str, Any]:
    """Decrypted credentials (JSON text, or already a mapping) as a mapping; a ``ValueError``
    naming ``label`` ("Stripe", "Chargebee", …) when they are not a JSON object."""
    if isinstance(credentials, Mapping):
        return credentials
    try:
        data = json.loads(credentials or "")
    except ValueError:
        raise ValueError(f"{label} credentials are not valid JSON") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"{label} credentials must be a JSON object")
    return data
