"""A customer's new card for an open recovery: tell the merchant (``card.updated``), stop the
dunning that asked for it, and retry the payment with it at once. Shared by the card-update page
and the billing-platform connectors."""

from __future__ import annotations

from datetime import datetime

from ..dunning.scheduling import CARD_UPDATED, cancel_for
from ..models import Client, Recovery
from ..models.recovery import PROCESSING
from ..webhooks import payloads
from ..webhooks.outbox import emit
from . import cascade
from .settle import Kind, settle


def card_updated_event(client: Client, old_token: str, new_token: str, recovery: Recovery | None,
                       now: datetime) -> str | None:
    """The ``card.updated`` event in the outbox; returns the delivery to enqueue after commit."""
    return emit(client, payloads.card_updated(old_token, new_token, recovery, now),
                recovery_id=recovery.id if recovery else None)


def retry_with(client: Client, recovery: Recovery, new_token: str, now: datetime,
               trigger: str) -> tuple[Kind, str | None]:
    """Charge the recovery with ``new_token`` now (the caller commits, then enqueues the delivery)."""
    cancel_for(recovery, now, CARD_UPDATED)
    recovery.payment_method_token = new_token
    recovery.status = PROCESSING
    recovery.finished_at = None
    recovery.next_attempt_at = None
    outcome = cascade.run(client, recovery, "primary", now)
    return settle(client, recovery, outcome, now, trigger=trigger, queue_errors=False)
