"""Which dunning messages a recovery gets, and when; and cancelling them when dunning must stop.

Messages are rows with a due time (``messages.send_at``) written in the recovery's own
transaction: the callers commit. ``schedule_for`` is idempotent (one message per recovery and step),
so it can be called each time a recovery is queued again or fails.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..models import Client, Recovery
from ..models.dunning import (
    CANCELLED,
    EMAIL,
    PENDING,
    PUBLISHED,
    SMS,
    DunningSequence,
    Message,
)
from ..models.recovery import AWAITING_CARD, BLOCKED, FAILED, PROCESSING, QUEUED, SUCCEEDED, UNKNOWN
from ..recovery.judged import latest
from .optout import is_unsubscribed

log = logging.getLogger(__name__)

RETRYING_STATES = (QUEUED, PROCESSING, UNKNOWN)
# How long after a pending retry a held message goes out (the retry may succeed first).
DEFAULT_AFTER_RETRY_SECONDS = 600

# Why messages are cancelled (``Message.error``).
RECOVERED = "recovered"
CARD_UPDATED = "card_updated"
BLOCKED_REASON = "blocked"
FINISHED = "finished"


def dunning_by_email(client: Client) -> bool:
    """Decision 1: Revtain emails customers only while dunning is on and the channel is email."""
    return bool(client.dunning_enabled) and client.dunning_channel == EMAIL


def decline_category(recovery: Recovery) -> str:
    """The category whose dunning steps apply; a lost or stolen card that waits for a new one is
    asked for it like any other card that cannot be charged (hard)."""
    judged = latest(recovery)
    return "hard" if judged.needs_new_card and judged.category == "fraud" else judged.category


def blocked_for_fraud(recovery: Recovery) -> bool:
    """Blocked because it looks like fraud (manual review), not because it needs the customer
    (a new card, authentication, a lost or stolen card): no email then."""
    if recovery.status == AWAITING_CARD:
        return False
    if latest(recovery).action == "block":
        return True
    return recovery.status == BLOCKED and recovery.recommended_action != "request_card_update"


def applies(step_applies_to: str, category: str) -> bool:
    return step_applies_to == "any" or step_applies_to == category


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def out_of_quiet_hours(when: datetime, timezone: str | None, start: int, end: int) -> datetime:
    """``when``, or the end of the customer's quiet hours [start, end) if it falls inside them."""
    if start == end:
        return when
    zone = _zone(timezone)
    local = when.astimezone(zone)
    hour = local.hour
    quiet = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return when
    day = local.date() + timedelta(days=1) if start > end and hour >= start else local.date()
    return datetime.combine(day, time(end), tzinfo=zone).astimezone(UTC)


def retry_pending_until(recovery: Recovery, now: datetime) -> datetime | None:
    """When a message held for the recovery's pending retry may go, or None if none is pending."""
    if recovery.status not in RETRYING_STATES or recovery.next_attempt_at is None:
        return None
    margin = float(current_app.config.get("DUNNING_AFTER_RETRY_SECONDS", DEFAULT_AFTER_RETRY_SECONDS))
    return max(recovery.next_attempt_at, now) + timedelta(seconds=margin)


def send_time(
    sequence: DunningSequence, client: Client, recovery: Recovery, due: datetime, now: datetime
) -> datetime:
    """The due time moved after a pending retry (``hold_while_retrying``), then out of quiet hours."""
    when = max(due, now)
    if sequence.hold_while_retrying:
        held = retry_pending_until(recovery, now)
        if held is not None:
            when = max(when, held)
    return out_of_quiet_hours(when, client.timezone, sequence.quiet_hours_start, sequence.quiet_hours_end)


def email_address(client: Client, recovery: Recovery) -> str | None:
    """Where the recovery's email steps go: its customer's address, unless they unsubscribed."""
    if not recovery.customer_email or is_unsubscribed(client.id, recovery.customer_email):
        return None
    return recovery.customer_email


def phone_number(client: Client, recovery: Recovery) -> str | None:
    """Where its SMS steps go: only for a client that opted in, and a customer with a phone."""
    return recovery.customer_phone if client.sms_dunning_enabled and recovery.customer_phone else None


def published_sequence(client_id: str) -> DunningSequence | None:
    return db.session.execute(
        select(DunningSequence).where(DunningSequence.client_id == client_id,
                                      DunningSequence.status == PUBLISHED)
    ).scalar_one_or_none()


def schedule_for(client: Client, recovery: Recovery, now: datetime) -> list[Message]:
    """Add the pending messages of the published sequence's steps that apply to this recovery's
    decline category: email steps to a customer with an address who has not unsubscribed, SMS steps
    to a customer with a phone if the client opted in. Nothing without a published sequence or
    Revtain dunning, or for a recovery blocked as fraud or already recovered."""
    if not dunning_by_email(client):
        return []
    if recovery.status == SUCCEEDED or recovery.recovered_at is not None or blocked_for_fraud(recovery):
        return []
    sequence = published_sequence(client.id)
    if sequence is None:
        return []
    category = decline_category(recovery)
    existing = set(db.session.execute(
        select(Message.step_id).where(Message.recovery_id == recovery.id)
    ).scalars())
    failed_at = recovery.created_at or now
    if recovery.status == AWAITING_CARD and sequence.steps:
        # Only a new card can pay: the sequence starts now, its first message asks at once.
        first_delay = min(step.delay_hours for step in sequence.steps)
        failed_at = now - timedelta(hours=first_delay)
    added = []
    addresses = {EMAIL: email_address(client, recovery), SMS: phone_number(client, recovery)}
    for step in sequence.steps:
        to = addresses.get(step.channel)
        if not to or step.id in existing or not applies(step.applies_to, category):
            continue
        due = failed_at + timedelta(hours=step.delay_hours)
        message = Message(
            client_id=client.id, recovery_id=recovery.id, step_id=step.id, channel=step.channel,
            to_address=to, send_at=send_time(sequence, client, recovery, due, now),
            status=PENDING, tries=0, created_at=now,
        )
        db.session.add(message)
        added.append(message)
    if added:
        recovery.without_messages = False
        db.session.flush()
        log.info("scheduled %d dunning messages for recovery %s", len(added), recovery.id)
    return added


def cancel_for(recovery: Recovery, now: datetime, reason: str) -> int:
    """Cancel every pending message of the recovery; returns how many."""
    if recovery.without_messages:
        return 0
    result = db.session.execute(
        update(Message)
        .where(Message.recovery_id == recovery.id, Message.status == PENDING)
        .values(status=CANCELLED, cancelled_at=now, send_at=None, enqueued_at=None, error=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        log.info("cancelled %d dunning messages for recovery %s (%s)", result.rowcount, recovery.id, reason)
    return result.rowcount


def finished_retrying(client: Client, recovery: Recovery, now: datetime) -> None:
    """The retries ran out (the recovery failed): from now on only the customer can act, so
    - a step for soft declines only ("we'll try again") is cancelled: no retry will come;
    - a message held for a retry is due now (out of quiet hours), not ``DUNNING_AFTER_RETRY_SECONDS``
      after a retry that is no longer pending."""
    pending = db.session.execute(
        select(Message).where(Message.recovery_id == recovery.id, Message.status == PENDING)
    ).scalars().all()
    failed_at = recovery.created_at or now
    for message in pending:
        step = message.step
        if step.applies_to == "soft":
            message.status, message.cancelled_at, message.send_at = CANCELLED, now, None
            message.enqueued_at, message.error = None, FINISHED
            continue
        due = failed_at + timedelta(hours=step.delay_hours)
        when = send_time(step.sequence, client, recovery, due, now)
        if message.send_at is None or when < message.send_at:
            message.send_at, message.enqueued_at = when, None


def recovery_changed(client: Client, recovery: Recovery, now: datetime) -> None:
    """The one hook for the recovery services: after a recovery is queued, fails, succeeds or is
    blocked, schedule its messages or cancel them."""
    if recovery.status == SUCCEEDED:
        cancel_for(recovery, now, RECOVERED)
    elif blocked_for_fraud(recovery):
        cancel_for(recovery, now, BLOCKED_REASON)
    else:
        schedule_for(client, recovery, now)
        if recovery.status == FAILED:
            finished_retrying(client, recovery, now)
