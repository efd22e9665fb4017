"""The one small interface every payment gateway adapter implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Outcome = Literal["approved", "declined", "error", "unknown"]


@dataclass(frozen=True)
class ChargeRequest:
    token: str
    amount: int
    currency: str
    idempotency_key: str  # derived from the recovery and attempt number: a re-run reuses it
    customer_email: str | None = None
    payment_method_type: str | None = None


@dataclass(frozen=True)
class ChargeResult:
    outcome: Outcome
    transaction_id: str | None = None
    decline_code: str | None = None
    advice_code: str | None = None

    @property
    def approved(self) -> bool:
        return self.outcome == "approved"


class Gateway(Protocol):
    name: str

    def charge(self, request: ChargeRequest) -> ChargeResult: ...
