"""Finishing a recovery: its final state, the event in the outbox, and what the model learns."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from ..alerts import raising as alerts
from ..dunning.scheduling import cancel_for, recovery_changed
from ..engine.judgement import Judgement, judge
from ..models import Client, Recovery
from ..models.recovery import AWAITING_CARD, BLOCKED, FAILED, QUEUED, SUCCEEDED
from ..webhooks import payloads
from ..webhooks.outbox import emit
from .judged import first, latest, remember
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
    record_outcome(client, recovery, first(recovery), recovered=True)
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


def _judgement_of(recovery: Recovery, error: str) -> Judgement:
    """What ``error`` means: the recovery's latest judgement when it is that decline; otherwise the
    error is no decline of a card (a gateway time-out, a network-rule limit) and is judged now."""
    judged = latest(recovery)
    return judged if judged.code == error else judge(error)


def fail(
    client: Client, recovery: Recovery, now: datetime, error: str, trigger: str | None = None,
    judgement: Judgement | None = None,
) -> str | None:
    """All strategies exhausted. ``recovery.failed`` fires only while dunning is enabled."""
    _close(recovery, FAILED, now)
    recovery.error = error
    given = judgement is not None and judgement.code == error
    judged = judgement if given else _judgement_of(recovery, error)
    recovery.recommended_action = judged.recommended_action
    record_outcome(client, recovery, first(recovery), recovered=False)
    recovery_changed(client, recovery, now)  # dunning emails (only while dunning by email)
    alerts.payment_failed(client, recovery, now)  # the merchant's team, if they chose alerts
    if not client.dunning_enabled:
        return None
    return emit(client, payloads.recovery_failed(recovery, trigger), recovery_id=recovery.id)


def block(client: Client, recovery: Recovery, now: datetime, judgement: Judgement,
          decline_code: str | None = None) -> str | None:
    """A fraud block: closed for good, no new card reopens it (``decline_code``: the code to
    report when the judgement names none, e.g. a simulated block)."""
    _close(recovery, BLOCKED, now)
    code = judgement.code or decline_code or "fraudulent"
    recovery.last_decline_code = code
    recovery.error = code
    recovery.recommended_action = judgement.recommended_action if judgement.code else "manual_review"
    if recovery.recommended_action not in ("manual_review", "request_card_update"):
        recovery.recommended_action = "manual_review"
    recovery_changed(client, recovery, now)  # fraud: cancelled; new card/authentication: scheduled
    alerts.needs_attention(client, recovery, now)
    return emit(client, payloads.recovery_blocked(recovery), recovery_id=recovery.id)


def await_card(client: Client, recovery: Recovery, now: datetime, judgement: Judgement,
               *, announce: bool) -> str | None:
    """The card cannot succeed as it is (expired, closed, lost or stolen, do not try again…): no
    retry on it. The recovery waits for a new card, which recharges it (``new_card``); its dunning
    asks for one at once. It stays open until the retry window ends (``expire_awaiting``).
    ``announce``: the execute answer says 403 blocked, so ``recovery.blocked`` fires as documented."""
    remember(recovery, judgement)
    recovery.status = AWAITING_CARD
    recovery.last_decline_code = judgement.code or recovery.last_decline_code
    recovery.error = recovery.last_decline_code
    recovery.recommended_action = "request_card_update"
    recovery.finished_at = None
    recovery.enqueued_at = None
    recovery.updated_at = now
    window = client.retry_window_days or current_app.config["RETRY_WINDOW_DAYS"]
    recovery.next_attempt_at = recovery.created_at + timedelta(days=window)  # then it closes
    recovery.retry_reason = AWAITING_CARD
    recovery_changed(client, recovery, now)  # asks the customer for a new card, at once
    alerts.needs_attention(client, recovery, now)
    if not announce:
        return None
    return emit(client, payloads.recovery_blocked(recovery), recovery_id=recovery.id)


def expire_awaiting(client: Client, recovery: Recovery, now: datetime) -> str | None:
    """No new card came within the retry window: closed as blocked when its execute answered 403
    (``recovery.blocked`` already fired), else as failed; nothing is charged."""
    if latest(recovery).handling == "block" or first(recovery).handling == "block":
        _close(recovery, BLOCKED, now)
        recovery_changed(client, recovery, now)
        return None
    return fail(client, recovery, now, recovery.last_decline_code or "expired_card", "awaiting_card_expired",
                judgement=latest(recovery))


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
