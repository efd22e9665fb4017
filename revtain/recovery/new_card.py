"""A customer's new card for an open recovery: tell the merchant (``card.updated``), stop the
dunning that asked for it, and retry the payment with it at once. Shared by the card-update page
and the billing-platform connectors.

**Never both.** A connector's recovery without the hand-off is only watched: the billing platform
keeps retrying the invoice itself. A new card for it is stored and the dunning stops, but Revtain
charges nothing (``PLATFORM_RETRIES``): the platform retries with the card. ``take_new_card`` is the
one entry point for every new card, so no caller can charge such a recovery by mistake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import or_, select

from ..dunning.scheduling import CARD_UPDATED, cancel_for
from ..engine.judgement import judge
from ..engine.network_rules import Initiator
from ..extensions import db
from ..models import Client, Recovery
from ..models.recovery import AWAITING_CARD, PROCESSING, QUEUED
from ..webhooks import payloads
from ..webhooks.outbox import emit
from . import cascade
from .finish import PLATFORM_RETRY
from .judged import remember
from .settle import settle

PLATFORM_RETRIES = "platform_retries"
# What a new card did: the immediate retry's outcome, or nothing charged as the platform retries.
NewCardKind = Literal["recovered", "failed", "queued", "unknown", "platform_retries", "awaiting_card"]
# The open recoveries a customer's new card recharges (a fraud block never is: it is closed).
RECHARGED_STATES = (QUEUED, AWAITING_CARD)


def card_updated_event(client: Client, old_token: str, new_token: str, recovery: Recovery | None,
                       now: datetime) -> str | None:
    """The ``card.updated`` event in the outbox; returns the delivery to enqueue after commit."""
    return emit(client, payloads.card_updated(old_token, new_token, recovery, now),
                recovery_id=recovery.id if recovery else None)


def platform_retries(recovery: Recovery) -> bool:
    """The recovery is only watched: it started without the hand-off, so its billing platform was
    never told to stop and retries the invoice itself; Revtain must never charge it too. Turning the
    hand-off on later applies to the invoices that fail from then on."""
    return bool(recovery.source) and recovery.strategy_used == PLATFORM_RETRY


def take_new_card(client: Client, recovery: Recovery, new_token: str, now: datetime,
                  trigger: str, initiator: Initiator = "merchant") -> tuple[NewCardKind, str | None]:
    """The recovery's card is now ``new_token``: its pending dunning stops, and it is charged at
    once, unless its platform retries it (``PLATFORM_RETRIES``, nothing charged). The caller
    commits, then enqueues the delivery."""
    if platform_retries(recovery):
        cancel_for(recovery, now, CARD_UPDATED)
        recovery.payment_method_token = new_token
        recovery.updated_at = now
        return PLATFORM_RETRIES, None
    return _retry_with(client, recovery, new_token, now, trigger, initiator)


def _retry_with(client: Client, recovery: Recovery, new_token: str, now: datetime,
                trigger: str, initiator: Initiator) -> tuple[NewCardKind, str | None]:
    cancel_for(recovery, now, CARD_UPDATED)
    recovery.payment_method_token = new_token
    recovery.status = PROCESSING
    recovery.finished_at = None
    recovery.next_attempt_at = None
    recovery.card_network = None  # a new card: its network is not known yet (strictest budgets)
    remember(recovery, judge(None))  # the old card's decline says nothing about the new one
    outcome = cascade.run(client, recovery, "primary", now, initiator)
    return settle(client, recovery, outcome, now, trigger=trigger, queue_errors=False)


def customer_recoveries(recovery: Recovery, old_token: str | None) -> list[Recovery]:
    """The customer's other open recoveries: on the same old card (``None``: not asked), with the
    same email, or of the same billing-platform customer; queued or waiting for a new card."""
    same_customer = []
    if old_token is not None:
        same_customer.append(Recovery.payment_method_token == old_token)
    if recovery.customer_email:
        same_customer.append(Recovery.customer_email == recovery.customer_email)
    if recovery.source and recovery.source_customer:
        same_customer.append((Recovery.source == recovery.source)
                             & (Recovery.source_customer == recovery.source_customer))
    return list(db.session.execute(
        select(Recovery).where(
            Recovery.client_id == recovery.client_id,
            Recovery.id != recovery.id,
            Recovery.status.in_(RECHARGED_STATES),
            or_(*same_customer),
        ).order_by(Recovery.created_at)
    ).scalars()) if same_customer else []


def recharge_customer(client: Client, recovery: Recovery, old_token: str, new_token: str, now: datetime,
                      trigger: str) -> list[str | None]:
    """A new card for one recovery recharges every other open recovery of that customer, those
    waiting for a new card included. Returns the deliveries to enqueue after commit."""
    deliveries: list[str | None] = []
    # The same card paying (a recovered execute) has nothing to recharge on that card: skip asking.
    for other in customer_recoveries(recovery, old_token if old_token != new_token else None):
        if other.payment_method_token == new_token:
            continue  # already on this card: its own plan (or its wait for a new card) stands
        deliveries.append(take_new_card(client, other, new_token, now, trigger)[1])
    return deliveries
