"""The pre-retry check (optional per client): before each scheduled retry, Revtain asks the
merchant's URL whether to go ahead.

The question is a ``POST`` of compact JSON signed exactly like a webhook (``X-Revtain-Signature``,
``webhook-id`` = the ``checkId``, ``webhook-timestamp``, ``webhook-signature``), sent through the
same function as webhook deliveries (``webhooks.delivery.post_to_merchant``), so whatever guards a
merchant's URL guards both. The answer:

* ``2xx`` with ``{"action": "skip", "reason": "paid_elsewhere"}``: the recovery closes as paid
  elsewhere (succeeded, ``strategyUsed: "paid_elsewhere"``, not counted as Revtain's recovery);
* ``2xx`` with ``{"action": "skip", "reason": "<other>"}`` (e.g. ``subscription_cancelled``): the
  recovery closes as failed with that reason, and its dunning stops;
* anything else (``{"action": "proceed"}``, another status, a redirect, a body that is not that
  JSON, no answer within the timeout, a refused connection): the retry goes ahead.

Every question and answer is a ``PreRetryCheck`` row, shown on the recovery's timeline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app

from ..choices import PRE_RETRY_MAX_TIMEOUT, PRE_RETRY_MIN_TIMEOUT
from ..clock import iso
from ..clock import now as clock_now
from ..crypto import decrypt
from ..extensions import db
from ..models import Client, PreRetryCheck, Recovery
from ..models.base import new_ulid
from ..models.pre_retry import PROCEED, SKIP
from ..models.recovery import QUEUED
from ..queues import enqueue_deliveries
from ..webhooks import signing
from ..webhooks.delivery import Reply, post_to_merchant
from . import finish

EVENT = "recovery.pre_retry_check"
TRIGGER = "pre_retry_check"
SUBSCRIPTION_CANCELLED = "subscription_cancelled"
MERCHANT_SKIPPED = "merchant_skipped"  # a skip whose reason is missing or unusable
MIN_TIMEOUT, MAX_TIMEOUT = PRE_RETRY_MIN_TIMEOUT, PRE_RETRY_MAX_TIMEOUT
_REASON = re.compile(r"^[a-z0-9_]{1,64}$")


class PreRetryCheckError(ValueError):
    """A setting a person must correct; the message says what and how."""


def configure(client: Client, *, url: str | None, timeout: float | None = None) -> None:
    """Set (or, with no URL, turn off) the client's pre-retry check. The URL is checked like the
    webhook URL, by the same function. The caller commits."""
    from ..onboarding import OnboardingError, validate_webhook_url  # onboarding imports recovery

    if timeout is not None and not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        raise PreRetryCheckError(
            f"the pre-retry check timeout must be from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} seconds "
            f"(got {timeout:g})"
        )
    try:
        url = validate_webhook_url(url.strip() if url else None)
    except OnboardingError as exc:
        raise PreRetryCheckError(str(exc).replace("webhook URL", "pre-retry check URL", 1)) from None
    client.pre_retry_check_url = url
    client.pre_retry_check_timeout = timeout


def timeout_of(client: Client) -> float:
    return float(client.pre_retry_check_timeout or current_app.config["PRE_RETRY_CHECK_TIMEOUT"])


def question(check_id: str, recovery: Recovery, retry_number: int, timeout: float) -> dict[str, Any]:
    """What the merchant is asked (documented in the README and the OpenAPI document)."""
    return {
        "event": EVENT,
        "checkId": check_id,
        "revtainTransactionId": recovery.id,
        "idempotencyKey": recovery.idempotency_key,
        "amount": recovery.amount,
        "currency": recovery.currency,
        "customerEmail": recovery.customer_email,
        "paymentMethodToken": recovery.payment_method_token,
        "retryNumber": retry_number,
        "attemptsSoFar": recovery.attempt_count,
        "lastDeclineCode": recovery.last_decline_code,
        "source": recovery.source,
        "sourceInvoice": recovery.source_ref,
        "failedAt": iso(recovery.created_at),
        "answerWithinSeconds": timeout,
    }


@dataclass(frozen=True)
class Decision:
    action: str  # proceed | skip
    reason: str | None = None
    error: str | None = None  # why the answer was not usable (then the retry goes ahead)


def read_answer(reply: Reply) -> Decision:
    if reply.error:
        return Decision(PROCEED, error=f"{reply.error.rstrip('.')}; going ahead")
    try:
        answer = json.loads(reply.text or "")
    except ValueError:
        return Decision(
            PROCEED, error='the answer is not JSON (expected {"action": "proceed" or "skip"}); going ahead'
        )
    action = answer.get("action") if isinstance(answer, dict) else None
    action = action.strip().lower() if isinstance(action, str) else action
    if action == PROCEED:
        return Decision(PROCEED)
    if action == SKIP:
        reason = answer.get("reason")
        reason = reason.strip().lower() if isinstance(reason, str) else ""
        return Decision(SKIP, reason if _REASON.match(reason) else MERCHANT_SKIPPED)
    return Decision(
        PROCEED, error=f'"action" is {json.dumps(action)[:60]}, not "proceed" or "skip"; going ahead'
    )


def closes(client: Client, recovery: Recovery) -> bool:
    """Called by the scheduled-retry job before it charges: asks the client's URL, if it has one,
    whether to retry. True when the job must stop: the merchant said skip (the recovery is closed
    and committed here), or the recovery changed while the merchant answered. No transaction is
    held while the merchant answers."""
    if recovery.status != QUEUED or not client.pre_retry_check_url:
        return False
    url, timeout, check_id = client.pre_retry_check_url, timeout_of(client), new_ulid()
    retry_number = recovery.scheduled_retries + 1
    body = signing.encode_body(question(check_id, recovery, retry_number, timeout))
    secret = decrypt(client.webhook_secret_encrypted)
    recovery_id, lease = recovery.id, recovery.next_attempt_at  # the job's claim
    db.session.commit()

    asked_at = clock_now()
    reply = post_to_merchant(
        url, body, signing.headers(secret, check_id, int(asked_at.timestamp()), body), timeout
    )
    decision = read_answer(reply)

    recovery = db.session.get(Recovery, recovery_id, populate_existing=True)  # as it is now
    db.session.add(
        PreRetryCheck(
            id=check_id,
            recovery_id=recovery.id,
            client_id=client.id,
            retry_number=retry_number,
            url=url,
            asked_at=asked_at,
            duration_ms=reply.duration_ms,
            status_code=reply.status_code,
            response_excerpt=reply.text[:500] if reply.text else None,
            error=decision.error[:500] if decision.error else None,
            decision=decision.action,
            reason=decision.reason,
        )
    )
    if recovery.status != QUEUED or recovery.next_attempt_at != lease:
        db.session.commit()  # a payment, a new card or a platform event got there first
        return True
    if decision.action == PROCEED:
        db.session.commit()
        return False
    delivery = _close(client, recovery, decision.reason or MERCHANT_SKIPPED, clock_now())
    db.session.commit()
    enqueue_deliveries([delivery])
    return True


def _close(client: Client, recovery: Recovery, reason: str, now: datetime) -> str | None:
    if reason == finish.PAID_ELSEWHERE:
        return finish.paid_elsewhere(client, recovery, now, None)
    return finish.withdraw(client, recovery, now, reason, TRIGGER)
