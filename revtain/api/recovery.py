"""``/api/recovery/execute`` and the status lookups (contract 3.1-3.3, Decisions 2-5, 10)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from sqlalchemy import select

from ..clock import iso
from ..engine.declines import action_reason
from ..extensions import db
from ..models import Recovery
from ..models.recovery import AWAITING_CARD, FINAL_STATES, HOLDOUT, QUEUED, SUCCEEDED
from ..recovery.judged import first, latest
from ..recovery.start import ExecuteInput, Started, start
from ..webhooks.payloads import BLOCKED_MESSAGE, HOLDOUT_MESSAGE
from . import bp
from .auth import current_client, require_api_key
from .errors import ApiError, not_found, parse_json_body, validate
from .ratelimit import execute_limit
from .schemas import ExecuteRequest, StatusQuery

IDEMPOTENCY_MESSAGE = "A recovery attempt with this idempotencyKey has already been processed."
VELOCITY_MESSAGE = "A recovery attempt for this card and amount was already made in the last 5 minutes."


def public_status(recovery: Recovery) -> str:
    """The documented enum: queued or in-flight recoveries report ``unknown`` (Decision 2). One
    waiting for a new card reports ``blocked`` when its decline is one the contract calls blocked
    (its execute answered 403), else ``unknown``; ``recoveryState`` names the state itself."""
    if recovery.status == AWAITING_CARD:
        blocked = latest(recovery).handling == "block" or first(recovery).handling == "block"
        return "blocked" if blocked else "unknown"
    return recovery.status if recovery.status in FINAL_STATES else "unknown"


@bp.post("/recovery/execute")
@require_api_key
@execute_limit()
def execute():
    client = current_client()
    body = validate(ExecuteRequest, parse_json_body(), test_gateway=client.is_test_gateway)
    started = start(
        client,
        ExecuteInput(
            payment_method_token=body.paymentMethodToken,
            amount=body.amount,
            currency=body.currency or "USD",
            original_decline_code=body.originalDeclineCode,
            idempotency_key=body.idempotencyKey,
            card_origin=body.cardOrigin,
            bin_prefix=body.binPrefix,
            customer_email=body.customerEmail,
            simulate_outcome=body.simulateOutcome,
            fallback_tokens=body.fallbackPaymentMethodTokens or [],
            payment_method_type=body.paymentMethodType,
            network_decline_code=body.networkDeclineCode,
            merchant_advice_code=body.merchantAdviceCode,
            card_network=body.cardNetwork,
        ),
    )
    status, payload = _execute_response(started)
    return jsonify(payload), status


def _execute_response(started: Started) -> tuple[int, dict[str, Any]]:
    recovery = started.recovery
    if started.kind == "duplicate":
        return 409, {
            "error": "Duplicate recovery request.",
            "message": VELOCITY_MESSAGE if started.velocity else IDEMPOTENCY_MESSAGE,
            "existingTransactionId": recovery.id,
            "existingStatus": public_status(recovery),
        }
    if started.kind == "blocked":
        return 403, {
            "error": BLOCKED_MESSAGE,
            "declineCode": recovery.last_decline_code,
            "action": "blocked",
            "transactionId": recovery.id,
            "recoveryState": recovery.status,
        }
    if started.kind == "holdout":
        return 200, holdout_body(recovery)
    if started.kind == "unknown":
        return 202, {
            "success": False,
            "status": "unknown",
            "message": "The gateway's answer was lost; Revtain is reconciling this payment and "
            "will report the outcome by webhook.",
            "transactionId": recovery.id,
            "strategyUsed": recovery.strategy_used,
            "nextRetryAt": iso(recovery.next_attempt_at),
            "recommendedAction": "monitor",
        }
    if started.kind == "awaiting_card":
        # The docs' test table: expired_card answers 202. No retry on this card: Revtain waits
        # for the customer's new card, which its dunning asks for at once.
        return 202, {
            "success": False,
            "status": "queued",
            "message": "The card cannot be charged as it is; waiting for the customer's new card.",
            "transactionId": recovery.id,
            "strategyUsed": recovery.strategy_used or "awaiting_card",
            "nextRetryAt": None,
            "recommendedAction": "request_card_update",
            "recoveryState": recovery.status,
        }
    if started.kind == "queued":
        return 202, {
            "success": False,
            "status": "queued",
            "message": started.decline.queued_message if started.decline else "Queued for retry.",
            "transactionId": recovery.id,
            "strategyUsed": "smart_retry",
            "nextRetryAt": iso(recovery.next_attempt_at),
            "recommendedAction": "retry_later",
            "recoveryState": recovery.status,
        }
    recovered = started.kind == "recovered"
    body: dict[str, Any] = {
        "success": recovered,
        "message": "Revenue Recovered" if recovered else "Recovery failed",
        "error": None if recovered else recovery.error,
        "transactionId": recovery.id,
        "strategyUsed": recovery.strategy_used,
        "gatewaysAttempted": recovery.attempt_count,
        "recoveryEngineApplied": True,
        "ai": recovery.ai,
    }
    if not recovered:
        body["recommendedAction"] = recovery.recommended_action
        body["recommendedActionReason"] = action_reason(recovery.recommended_action)
    return 200, body


def holdout_body(recovery: Recovery) -> dict[str, Any]:
    """Proof Mode's control group (contract 9.4): the 200 ``success: false`` keys, plus
    ``status: "holdout"`` and ``holdout: true``; a handler keyed on ``success`` sees no recovery."""
    return {
        "success": False,
        "status": "holdout",
        "holdout": True,
        "message": HOLDOUT_MESSAGE,
        "error": "holdout",
        "transactionId": recovery.id,
        "strategyUsed": recovery.strategy_used,
        "gatewaysAttempted": 0,
        "recoveryEngineApplied": False,
        "ai": recovery.ai,
        "recommendedAction": recovery.recommended_action,
        "recommendedActionReason": action_reason(recovery.recommended_action),
    }


def status_body(recovery: Recovery) -> dict[str, Any]:
    body: dict[str, Any] = {
        "transactionId": recovery.id,
        "status": public_status(recovery),
        "recovered": recovery.status == SUCCEEDED,
        "amount": recovery.amount,
        "currency": recovery.currency,
        "recoveredAt": iso(recovery.recovered_at),
        "strategyUsed": recovery.strategy_used,
        "attemptCount": recovery.attempt_count,
        "lastDeclineCode": recovery.last_decline_code,
    }
    if recovery.status != SUCCEEDED:
        action = recovery.recommended_action or "monitor"
        body["recommendedAction"] = action
        body["recommendedActionReason"] = action_reason(action)
    pending = recovery.status == QUEUED
    body["pending"] = pending
    if pending:
        body["nextRetryAt"] = iso(recovery.next_attempt_at)
    body["isSimulated"] = recovery.is_simulated
    body["holdout"] = recovery.status == HOLDOUT  # Proof Mode's control group: never charged
    body["recoveryState"] = recovery.status  # our addition: the internal state
    return body


@bp.get("/recovery/status/<transaction_id>")
@require_api_key
def status_by_id(transaction_id: str):
    if "\x00" in transaction_id:  # no id holds one; PostgreSQL text cannot
        raise not_found("Transaction")
    recovery = db.session.execute(
        select(Recovery).where(
            Recovery.id == transaction_id, Recovery.client_id == current_client().id
        )
    ).scalar_one_or_none()
    if recovery is None:
        raise not_found("Transaction")
    return jsonify(status_body(recovery))


@bp.get("/recovery/status")
@require_api_key
def status_by_idempotency_key():
    query = validate(StatusQuery, request.args.to_dict())
    recovery = db.session.execute(
        select(Recovery).where(
            Recovery.client_id == current_client().id,
            Recovery.idempotency_key == query.idempotencyKey,
        )
    ).scalar_one_or_none()
    if recovery is None:
        raise not_found("Transaction")
    return jsonify(status_body(recovery))


__all__ = ["ApiError", "execute", "status_by_id", "status_by_idempotency_key"]
