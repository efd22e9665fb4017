"""Whether a customer is past due: what the in-app paywall shows (contract 3.7).

The rule lives in ``unrecovered_failures`` and nowhere else. A customer's *unrecovered failed
payment* is a recovery of that customer (email matched case-insensitively) that is failed,
blocked, queued for a retry or waiting for a new card, and that no payment of the same customer
has settled since. Payments that settle failures are the customer's later recoveries that
succeeded (however: a retry, a new card, a payment the billing platform reports) and their
organic successes logged through pulse with their email. A payment settles the customer's earlier
failures in its currency, oldest first, as far as its amount covers each whole failure.

Not past due: a recovery still being worked on (``processing``), one whose gateway answer is
being reconciled (``unknown``), and a Proof Mode holdout (the paywall is an intervention the
control group must not get).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..models import OrganicSuccess, Recovery
from ..models.recovery import AWAITING_CARD, BLOCKED, FAILED, QUEUED, SUCCEEDED

UNRECOVERED_STATES = (FAILED, BLOCKED, QUEUED, AWAITING_CARD)
DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class Payment:
    """Money the customer paid after a failure: a later recovery that succeeded, or a pulse."""

    at: datetime
    amount: int
    currency: str


@dataclass(frozen=True)
class PaywallStatus:
    is_past_due: bool
    total_owed_cents: int
    currency: str
    failed_payment_count: int
    oldest_failure_at: datetime | None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def unrecovered_failures(client_id: str, email: str) -> list[Recovery]:
    """The customer's failed payments that nothing has paid since, oldest first."""
    email = normalise_email(email)
    recoveries = list(
        db.session.execute(
            select(Recovery)
            .where(
                Recovery.client_id == client_id,
                func.lower(Recovery.customer_email) == email,
                Recovery.status.in_((*UNRECOVERED_STATES, SUCCEEDED)),
            )
            .order_by(Recovery.created_at, Recovery.id)
        ).scalars()
    )
    failures = [r for r in recoveries if r.status in UNRECOVERED_STATES]
    if not failures:
        return []
    first = failures[0].created_at
    payments = [
        Payment(r.created_at, r.amount, r.currency)
        for r in recoveries
        if r.status == SUCCEEDED and r.created_at > first
    ]
    payments += [
        Payment(at, amount, currency)
        for at, amount, currency in db.session.execute(
            select(OrganicSuccess.created_at, OrganicSuccess.amount, OrganicSuccess.currency).where(
                OrganicSuccess.client_id == client_id,
                func.lower(OrganicSuccess.customer_email) == email,
                OrganicSuccess.created_at > first,
            )
        )
    ]
    open_failures = list(failures)
    for payment in sorted(payments, key=lambda p: p.at):
        left = payment.amount
        earlier = [f for f in open_failures if f.created_at < payment.at and f.currency == payment.currency]
        for failure in earlier:
            if failure.amount <= left:
                left -= failure.amount
                open_failures.remove(failure)
    return open_failures


def paywall_status(client_id: str, email: str) -> PaywallStatus:
    """What ``GET /api/recovery/paywall-status`` answers. With failures in several currencies,
    ``currency`` is that of the latest failure and the total sums the failures in it; the count
    covers them all."""
    failures = unrecovered_failures(client_id, email)
    if not failures:
        return PaywallStatus(False, 0, DEFAULT_CURRENCY, 0, None)
    currency = failures[-1].currency
    return PaywallStatus(
        is_past_due=True,
        total_owed_cents=sum(f.amount for f in failures if f.currency == currency),
        currency=currency,
        failed_payment_count=len(failures),
        oldest_failure_at=failures[0].created_at,
    )
