"""Finishing a recovery: its final state, the event in the outbox, and what the model learns."""

from __future__ import annotations

from datetime import datetime

from ..dunning.scheduling import cancel_for, recovery_changed
from ..engine.declines import classify
from ..models import Client, Recovery
from ..models.recovery import BLOCKED, FAILED, QUEUED, SUCCEEDED
from ..webhooks import payloads
from ..webhooks.outbox import emit
from .learning import record_outcome


def _close(recovery: Recovery, status: str, now: datetime) -> None:
    recovery.status = status
    recovery.finished_at = now
    recovery.updated_at = now
    recovery.next_attempt_at = None
    recovery.enqueued_at = None


def succeed(client: Client, recovery: Recovery, now: datetime, trigger: str | None = None) -> str | None:
    _close(recovery, SUCCEEDED, now)
    recovery.recovered_at = now
    recovery.error = None
    recovery.recommended_action = None
    record_outcome(client, recovery, classify(recovery.original_decline_code), recovered=True)
    recovery_changed(client, recovery, now)  # pending dunning messages are cancelled
    return emit(client, payloads.recovery_success(recovery, trigger), recovery_id=recovery.id)


PAID_ELSEWHERE = "paid_elsewhere"
PLATFORM_RETRY = "platform_retry"


def paid_elsewhere(
    client: Client, recovery: Recovery, now: datetime, transaction_ref: str | None
) -> str | None:
    """The billing platform says the invoice was paid by other means (its own retry, the customer):
    the recovery closes as paid, not as Revtain's recovery (the CFO report counts it as organic),
    and pending dunning stops."""
    _close(recovery, SUCCEEDED, now)
    recovery.recovered_at = now
    recovery.strategy_used = PAID_ELSEWHERE
    recovery.gateway_transaction_id = transaction_ref or recovery.gateway_transaction_id
    recovery.error = None
    recovery.recommended_action = None
    recovery_changed(client, recovery, now)
    return emit(client, payloads.recovery_success(recovery, PAID_ELSEWHERE), recovery_id=recovery.id)


def watch(client: Client, recovery: Recovery, now: datetime) -> None:
    """No hand-off: the platform keeps retrying the invoice and Revtain charges nothing. The
    recovery stays open (dunning runs) until the platform reports the payment."""
    recovery.status = QUEUED
    recovery.strategy_used = PLATFORM_RETRY
    recovery.next_attempt_at = None
    recovery.recommended_action = "retry_later"
    recovery.updated_at = now
    recovery_changed(client, recovery, now)


def fail(
    client: Client, recovery: Recovery, now: datetime, error: str, trigger: str | None = None
) -> str | None:
    """All strategies exhausted. ``recovery.failed`` fires only while dunning is enabled."""
    _close(recovery, FAILED, now)
    recovery.error = error
    recovery.recommended_action = classify(error).recommended_action
    record_outcome(client, recovery, classify(recovery.original_decline_code), recovered=False)
    recovery_changed(client, recovery, now)  # dunning emails (only while dunning by email)
    if not client.dunning_enabled:
        return None
    return emit(client, payloads.recovery_failed(recovery, trigger), recovery_id=recovery.id)


def block(client: Client, recovery: Recovery, now: datetime, decline_code: str) -> str | None:
    _close(recovery, BLOCKED, now)
    recovery.last_decline_code = decline_code
    recovery.error = decline_code
    recovery.recommended_action = classify(decline_code).recommended_action
    if recovery.recommended_action not in ("manual_review", "request_card_update"):
        recovery.recommended_action = "manual_review"
    recovery_changed(client, recovery, now)  # fraud: cancelled; new card/authentication: scheduled
    return emit(client, payloads.recovery_blocked(recovery), recovery_id=recovery.id)


WITHDRAWN = "withdrawn"


def withdraw(client: Client, recovery: Recovery, now: datetime, reason: str, trigger: str) -> str | None:
    """The merchant called the recovery off (its pre-retry check said skip, e.g. the subscription
    was cancelled): closed as failed with ``reason`` as its error, pending dunning cancelled and
    none scheduled, nothing learned (the issuer said nothing). ``recovery.failed`` fires while
    dunning is enabled, its ``declineCode`` still the last decline and ``reason`` beside it."""
    _close(recovery, FAILED, now)
    recovery.error = reason
    recovery.recommended_action = None
    cancel_for(recovery, now, WITHDRAWN)
    if not client.dunning_enabled:
        return None
    payload = payloads.recovery_failed(recovery, trigger)
    payload["declineCode"] = recovery.last_decline_code
    payload["message"] = f"Closed by the merchant: {reason}."
    payload["reason"] = reason
    return emit(client, payload, recovery_id=recovery.id)
