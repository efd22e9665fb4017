"""Business counters from the rows themselves: recoveries, attempts, webhook deliveries, emails.

Every service changes these rows through the ORM, so counting them on the session (what a flush
wrote, counted when the transaction commits; nothing when it rolls back) sees each change once,
in whichever process made it, without a counter call in every service.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..engine.declines import classify
from ..models import Attempt, Message, Recovery, WebhookDelivery
from ..models.dunning import PENDING as MESSAGE_PENDING
from ..models.recovery import FINAL_STATES, SUCCEEDED
from ..models.webhook import DELIVERED
from . import metrics

_PENDING = "revtain.metrics"


def _changed(obj, attribute: str) -> bool:
    return inspect(obj).attrs[attribute].history.has_changes()


def _recovery(obj: Recovery, is_new: bool) -> list[Callable[[], None]]:
    if obj.status not in FINAL_STATES or not (is_new or _changed(obj, "status")):
        return []
    family = classify(obj.original_decline_code).family
    out = [metrics.RECOVERIES.labels(obj.status, family).inc]
    if obj.status == SUCCEEDED:
        amount, currency = obj.amount, obj.currency
        out.append(lambda: metrics.RECOVERED_AMOUNT.labels(currency).inc(amount))
    return out


def _delivery(obj: WebhookDelivery, is_new: bool) -> list[Callable[[], None]]:
    if is_new or not _changed(obj, "tries"):
        return []
    if obj.status == DELIVERED:
        out = [metrics.WEBHOOK_DELIVERED.inc]
        if obj.delivered_at and obj.created_at:
            lag = max(0.0, (obj.delivered_at - obj.created_at).total_seconds())
            out.append(lambda: metrics.WEBHOOK_LAG.observe(lag))
        return out
    return [metrics.WEBHOOK_FAILED_TRIES.labels(obj.status).inc]


def _message(obj: Message, is_new: bool) -> list[Callable[[], None]]:
    if obj.status == MESSAGE_PENDING or not (is_new or _changed(obj, "status")):
        return []
    return [metrics.EMAILS.labels(obj.channel, obj.status).inc]


def _pending(session: Session) -> list[Callable[[], None]]:
    return session.info.setdefault(_PENDING, [])


def _after_flush(session: Session, flush_context) -> None:
    pending = _pending(session)
    for obj, is_new in [(o, True) for o in session.new] + [(o, False) for o in session.dirty]:
        if isinstance(obj, Attempt) and is_new:
            pending.append(metrics.ATTEMPTS.labels(obj.gateway, obj.outcome).inc)
        elif isinstance(obj, Recovery):
            pending.extend(_recovery(obj, is_new))
        elif isinstance(obj, WebhookDelivery):
            pending.extend(_delivery(obj, is_new))
        elif isinstance(obj, Message):
            pending.extend(_message(obj, is_new))


def _after_commit(session: Session) -> None:
    for count in session.info.pop(_PENDING, []):
        count()


def _after_rollback(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:  # a savepoint's rollback keeps the outer transaction's
        session.info.pop(_PENDING, None)


def install() -> None:
    """Listen on every session (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
