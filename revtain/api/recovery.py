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
from .doc_models import TransactionPath
from .errors import ApiError, not_found, parse_json_body, validate
from .operations import Reply, documented, rate_limited
from .ratelimit import execute_limit
from .schemas import (
    Blocked,
    Duplicate,
    Error,
    ExecuteRequest,
    ExecuteResult,
    Holdout,
    Queued,
    Status,
    StatusQuery,
)

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


_AI = {"score": 72.5, "confidence": 68, "dataSource": "blended",
       "reasoning": 'Analysed 142 similar "do_not_honor" declines during afternoon hours.'}
_TX = "01KKZ14FEZK152ZBXEM2XK1B0C"
_STATUS = {"transactionId": _TX, "status": "succeeded", "recovered": True, "amount": 5000, "currency": "USD",
           "recoveredAt": "2026-03-17T23:15:21.000Z", "strategyUsed": "primary", "attemptCount": 1,
           "lastDeclineCode": "do_not_honor", "pending": False, "isSimulated": False, "holdout": False,
           "recoveryState": "succeeded"}
_STATUS_REPLIES = {
    200: Reply("The recovery. recommendedAction and its reason are present unless it succeeded; "
               "nextRetryAt while a retry is pending", body=Status, example=_STATUS),
    404: Reply("No such transaction for this client", body=Error,
               example={"error": "Transaction not found."}),
}


@bp.post("/recovery/execute")
@documented(
    "executeRecovery", "Recover a failed payment", tags=("Recovery",),
    description="Send every failed payment here, with its originalDeclineCode and an idempotencyKey "
    "(your invoice id). Revtain retries now, queues a smart-time retry (202; the outcome arrives by "
    "webhook), or blocks it (403, do not retry). A second request with the same idempotencyKey, or for the "
    "same card and amount within 5 minutes, is a 409. 60 requests a minute per key.",
    body=ExecuteRequest,
    examples={
        "minimal": {"summary": "A failed invoice", "value": {
            "paymentMethodToken": "pm_1234567890", "amount": 5000, "currency": "USD",
            "originalDeclineCode": "do_not_honor", "idempotencyKey": "order_12345_retry_1"}},
        "sandbox": {"summary": "Test gateway: simulate an outcome", "value": {
            "paymentMethodToken": "pm_1234567890", "amount": 5000, "simulateOutcome": "failed",
            "customerEmail": "customer@example.com"}},
    },
    responses={
        200: Reply("Recovered now (success: true), all strategies exhausted (success: false, see error and "
                   "recommendedAction), or held out by Proof Mode (status: holdout)",
                   body=ExecuteResult | Holdout,
                   example={"success": True, "message": "Revenue Recovered", "error": None,
                            "transactionId": _TX,
                            "strategyUsed": "primary", "gatewaysAttempted": 1, "recoveryEngineApplied": True,
                            "ai": _AI}),
        202: Reply("Queued for a smart-time retry (status: queued), or the gateway's answer was lost and is "
                   "being reconciled (status: unknown); the outcome arrives by webhook", body=Queued,
                   example={"success": False, "status": "queued",
                            "message": "Insufficient funds: queued for smart-time retry.",
                            "transactionId": _TX,
                            "strategyUsed": "smart_retry", "nextRetryAt": "2026-03-20T10:00:00.000Z",
                            "recommendedAction": "retry_later"}),
        403: Reply("Blocked by the risk engine (do not retry), or a publishable key", body=Blocked | Error,
                   example={"error": "Transaction blocked by Revtain Risk Engine to protect Merchant Health.",
                            "declineCode": "fraudulent", "action": "blocked", "transactionId": _TX}),
        409: Reply("Duplicate request (idempotencyKey already used, or the same card and amount within 5 "
                   "minutes)", body=Duplicate,
                   example={"error": "Duplicate recovery request.", "message": IDEMPOTENCY_MESSAGE,
                            "existingTransactionId": _TX, "existingStatus": "succeeded"}),
        429: rate_limited("Rate limit exceeded",
                          "Too many recovery requests. Rate limit: 60 requests per minute per API key."),
    },
)
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
            description=body.description,
            customer_locale=body.customerLocale,
            customer_timezone=body.customerTimezone,
            customer_country=body.customerCountry,
            customer_phone=body.customerPhone,
            network_decline_code=body.networkDeclineCode,
            merchant_advice_code=body.merchantAdviceCode,
            card_network=body.cardNetwork,
            card_exp_month=body.cardExpMonth,
            card_exp_year=body.cardExpYear,
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
@documented(
    "getStatus", "A recovery's status, by transaction id", tags=("Recovery",), path=TransactionPath,
    description="Only your own transactions are visible. The webhooks are the source of truth: do not poll.",
    responses=_STATUS_REPLIES,
)
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
@documented(
    "getStatusByIdempotencyKey", "A recovery's status, by the idempotencyKey sent to execute",
    tags=("Recovery",), query=StatusQuery, responses=_STATUS_REPLIES,
)
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
