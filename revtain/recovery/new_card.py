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

from ..dunning.scheduling import CARD_UPDATED, cancel_for
from ..models import Client, Recovery
from ..models.recovery import PROCESSING
from ..webhooks import payloads
from ..webhooks.outbox import emit
from . import cascade
from .finish import PLATFORM_RETRY
from .settle import settle

PLATFORM_RETRIES = "platform_retries"
# What a new card did: the immediate retry's outcome, or nothing charged as the platform retries.
NewCardKind = Literal["recovered", "failed", "queued", "unknown", "platform_retries"]


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
                  trigger: str) -> tuple[NewCardKind, str | None]:
    """The recovery's card is now ``new_token``: its pending dunning stops, and it is charged at
    once, unless its platform retries it (``PLATFORM_RETRIES``, nothing charged). The caller
    commits, then enqueues the delivery."""
    if platform_retries(recovery):
        cancel_for(recovery, now, CARD_UPDATED)
        recovery.payment_method_token = new_token
        recovery.updated_at = now
        return PLATFORM_RETRIES, None
    return _retry_with(client, recovery, new_token, now, trigger)


def _retry_with(client: Client, recovery: Recovery, new_token: str, now: datetime,
                trigger: str) -> tuple[NewCardKind, str | None]:
    cancel_for(recovery, now, CARD_UPDATED)
    recovery.payment_method_token = new_token
    recovery.status = PROCESSING
    recovery.finished_at = None
    recovery.next_attempt_at = None
    outcome = cascade.run(client, recovery, "primary", now)
    return settle(client, recovery, outcome, now, trigger=trigger, queue_errors=False)
