"""Event payloads, keys in the order the docs show them (contract 4.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..clock import iso
from ..engine.declines import action_reason
from ..models import Client, Recovery

BLOCKED_MESSAGE = "Transaction blocked by Revtain Risk Engine to protect Merchant Health."
HOLDOUT_MESSAGE = "Proof mode control group: Revtain made no recovery attempt for this payment."


def _tail(recovery: Recovery, trigger: str | None) -> dict[str, Any]:
    tail: dict[str, Any] = {}
    if trigger:
        tail["trigger"] = trigger
    if recovery.idempotency_key:
        tail["idempotencyKey"] = recovery.idempotency_key
    if recovery.is_simulated:
        tail["isSimulated"] = True
    tail["recoveryState"] = recovery.status  # our addition: the internal state (e.g. awaiting_card)
    return tail


def recovery_success(recovery: Recovery, trigger: str | None = None) -> dict[str, Any]:
    return {
        "event": "recovery.success",
        "revtainTransactionId": recovery.id,
        "gatewayTransactionToken": recovery.gateway_transaction_id,
        "amount": recovery.amount,
        "currency": recovery.currency,
        "message": "Succeeded!",
        "strategyUsed": recovery.strategy_used,
        **_tail(recovery, trigger),
    }


def recovery_failed(recovery: Recovery, trigger: str | None = None) -> dict[str, Any]:
    action = recovery.recommended_action or "monitor"
    return {
        "event": "recovery.failed",
        "revtainTransactionId": recovery.id,
        "amount": recovery.amount,
        "currency": recovery.currency,
        "declineCode": recovery.error or recovery.last_decline_code,
        "strategyUsed": recovery.strategy_used,
        "gatewaysAttempted": recovery.attempt_count,
        "message": "All recovery strategies exhausted.",
        "recommendedAction": action,
        "recommendedActionReason": action_reason(action),
        **_tail(recovery, trigger),
    }


def recovery_blocked(recovery: Recovery) -> dict[str, Any]:
    action = recovery.recommended_action or "manual_review"
    return {
        "event": "recovery.blocked",
        "revtainTransactionId": recovery.id,
        "amount": recovery.amount,
        "currency": recovery.currency,
        "declineCode": recovery.last_decline_code,
        "action": "blocked",
        "message": BLOCKED_MESSAGE,
        "recommendedAction": action,
        "recommendedActionReason": action_reason(action),
        **_tail(recovery, None),
    }


def card_updated(old_token: str, new_token: str, recovery: Recovery | None, now: datetime) -> dict[str, Any]:
    return {
        "event": "card.updated",
        "oldPaymentMethodToken": old_token,
        "newPaymentMethodToken": new_token,
        "customerEmail": recovery.customer_email if recovery else None,
        "updatedAt": iso(now),
        **({"revtainTransactionId": recovery.id} if recovery else {}),
    }


def recovery_holdout(client: Client, recovery: Recovery) -> dict[str, Any]:
    """Proof Mode's control group: the docs' keys first, then ours (``holdout``, the transaction)."""
    return {
        "event": "recovery.holdout",
        "clientId": client.id,
        "paymentMethodToken": recovery.payment_method_token,
        "amount": recovery.amount,
        "currency": recovery.currency,
        "customerEmail": recovery.customer_email,
        "message": HOLDOUT_MESSAGE,
        "holdout": True,
        "revtainTransactionId": recovery.id,
        **_tail(recovery, None),
    }
