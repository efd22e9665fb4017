"""The scheduled work on a recovery, run by a job when its row is due: a smart retry, the
resumption of an execute whose process died, or the reconciliation of a lost gateway answer."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from ..clock import now as clock_now
from ..due_rows import claim
from ..engine.declines import normalise
from ..extensions import db
from ..gateways import ChargeRequest, ChargeResult
from ..models import Attempt, Client, Recovery
from ..models.recovery import AWAITING_CARD, PROCESSING, QUEUED, UNKNOWN
from ..queues import enqueue_deliveries
from . import cascade, finish, learning, pre_retry
from .schedule import clock_of
from .settle import Kind, await_reconciliation, settle

TRIGGER = "scheduled_retry"
RECONCILIATION = "reconciliation"
SCHEDULED_STATES = (QUEUED, PROCESSING, UNKNOWN, AWAITING_CARD)


def run_scheduled_attempt(recovery_id: str) -> str:
    if not claim(Recovery, recovery_id, "next_attempt_at", Recovery.status.in_(SCHEDULED_STATES)):
        return "skipped"
    recovery = db.session.get(Recovery, recovery_id)
    client = db.session.get(Client, recovery.client_id)
    if recovery.status == AWAITING_CARD:  # no new card came in the window: closed, nothing charged
        delivery = finish.expire_awaiting(client, recovery, clock_now())
        db.session.commit()
        enqueue_deliveries([delivery])
        return recovery.status
    if pre_retry.closes(client, recovery):  # the merchant's pre-retry check said skip
        return "skipped_by_merchant"
    now = clock_now()
    if recovery.status == UNKNOWN:
        kind, delivery = reconcile(client, recovery, now)
    else:
        planned = recovery.status == QUEUED and recovery.retry_reason not in (None, "sandbox")
        if recovery.status == QUEUED:
            recovery.scheduled_retries += 1
        # PROCESSING: the execute that started it died mid-way. Running the cascade again is
        # safe: unrecorded attempts reuse their numbers, so the gateway sees the same keys.
        outcome = cascade.run(client, recovery, "smart_retry", now, release_during_calls=True)
        if planned and outcome.outcome in ("approved", "declined"):  # the planner's timing, judged
            learning.record_attempt(client, recovery, clock_of(client, recovery).timezone, now,
                                    outcome.approved)
        kind, delivery = settle(client, recovery, outcome, now, trigger=TRIGGER, queue_errors=True)
    db.session.commit()
    enqueue_deliveries([delivery])
    return kind if kind != "recovered" else recovery.status


def reconcile(client: Client, recovery: Recovery, now: datetime) -> tuple[Kind, str | None]:
    """Ask the gateway what became of the attempt whose answer was lost."""
    attempt = db.session.execute(
        select(Attempt).where(Attempt.recovery_id == recovery.id).order_by(Attempt.seq.desc()).limit(1)
    ).scalar_one_or_none()
    recovery.reconcile_tries += 1
    if attempt is None or attempt.outcome != "unknown":
        recovery.status = QUEUED
        recovery.next_attempt_at = now
        return "queued", None
    try:
        gateway = cascade.gateway_named(client, attempt.gateway)
        result = gateway.lookup(
            ChargeRequest(
                token=attempt.payment_method_token,
                amount=recovery.amount,
                currency=recovery.currency,
                idempotency_key=attempt.idempotency_key,
                invoice_ref=recovery.source_ref,
            )
        )
    except cascade.GatewayUnavailable:
        result = ChargeResult("unknown")
    if result is None:  # the gateway never saw it: nothing was charged, so retry now
        attempt.outcome, attempt.decline_code = "error", "not_charged"
        recovery.status = QUEUED
        recovery.next_attempt_at = now
        return "queued", None
    if result.outcome == "unknown":
        if recovery.reconcile_tries >= len(current_app.config["RECONCILE_AFTER_SECONDS"]):
            return "failed", finish.fail(client, recovery, now, "gateway_timeout", RECONCILIATION)
        await_reconciliation(recovery, now)
        return "unknown", None
    attempt.outcome = result.outcome
    attempt.decline_code = normalise(result.decline_code)
    attempt.network_code, attempt.advice_code = result.network_code, result.advice_code
    attempt.gateway_transaction_id = result.transaction_id
    if result.approved:
        recovery.gateway_transaction_id = result.transaction_id
    decline = cascade.decline_of(attempt.gateway, result)
    if not result.approved and result.decline_code:
        recovery.last_decline_code = decline.code or normalise(result.decline_code)
    outcome = cascade.CascadeResult(result.outcome, result, decline)
    return settle(client, recovery, outcome, now, trigger=RECONCILIATION, queue_errors=True)
