"""Confirm this payment: a payment the issuer declined as ``authentication_required`` (3-D Secure)
cannot be retried by the merchant; the customer confirms it through their bank's challenge, then
the recovery is settled. The card-update link in the dunning email leads there (the same single-use,
expiring link: confirming uses it up).

The Revtain Test Gateway runs a test challenge page of its own (``TEST_CHALLENGE_CODE`` passes it),
the way Stripe's and Braintree's sandboxes show a test issuer page.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import update

from ..clock import now as clock_now
from ..extensions import db
from ..gateways.base import ChargeResult
from ..models import CardUpdateLink, Client, Recovery
from ..models.recovery import AWAITING_CARD, BLOCKED
from ..queues import enqueue_deliveries
from ..recovery.cascade import Step, record
from ..recovery.finish import succeed
from . import links

AUTHENTICATION_REQUIRED = "authentication_required"
TEST_CHALLENGE_CODE = "123456"
STRATEGY = "customer_authentication"  # the attempt's strategy and the recovery.success trigger


def needs_authentication(recovery: Recovery | None) -> bool:
    """The recovery stopped because the customer has to authenticate the payment (3-D Secure): it
    waits for the customer (``awaiting_card``; ``blocked`` for rows from before that state)."""
    return (recovery is not None and recovery.status in (AWAITING_CARD, BLOCKED)
            and recovery.recovered_at is None
            and recovery.last_decline_code == AUTHENTICATION_REQUIRED)


def attempt_key(recovery: Recovery) -> str:
    """The key of the customer's authenticated attempt: the gateway's idempotency key or metadata."""
    return f"{recovery.id}:authenticated"


def test_challenge_passed(code: str) -> bool:
    return code.strip().replace(" ", "") == TEST_CHALLENGE_CODE


def test_transaction_id(link: CardUpdateLink) -> str:
    """The test gateway's id for the authenticated payment: stable, so a replay is recognisable."""
    return "rtg_3ds_" + hashlib.sha256(f"3ds:{link.id}".encode()).hexdigest()[:20]


def confirmed(client: Client, link: CardUpdateLink, recovery: Recovery, gateway: str,
              transaction_id: str, now: datetime | None = None) -> Recovery:
    """The customer authenticated and the gateway approved the payment: the link is used up, the
    approved attempt recorded, the recovery succeeds (``recovery.success`` with trigger
    ``customer_authentication``; the pending dunning stops). Raises ``links.LinkUnusable`` when the
    link was used or expired meanwhile, or the recovery no longer awaits authentication."""
    now = now or clock_now()
    claimed = db.session.execute(
        update(CardUpdateLink)
        .where(CardUpdateLink.id == link.id, CardUpdateLink.used_at.is_(None),
               CardUpdateLink.expires_at > now)
        .values(used_at=now, recovery_id=recovery.id)
    )
    db.session.refresh(recovery)
    if claimed.rowcount != 1 or not needs_authentication(recovery):
        db.session.rollback()
        raise links.LinkUnusable(link.id)
    db.session.refresh(link)
    step = Step(gateway, recovery.payment_method_token, STRATEGY)
    seq = recovery.attempt_count + 1
    record(recovery, step, seq, attempt_key(recovery),
           ChargeResult("approved", transaction_id=transaction_id), now)
    delivery = succeed(client, recovery, now, trigger=STRATEGY)
    db.session.commit()
    enqueue_deliveries([delivery])
    return recovery
