"""One recovery's timeline: everything that happened to it, in time order, in the merchant's timezone.

Attempts, pre-retry checks, Proof Mode, the billing platform's events, the webhooks sent, every
dunning message (scheduled, sent, cancelled, failed), each opening of its card-update links and
every card change. A card change replaces the recovery's payment method; the change is read back
from the ``card.updated`` event it emitted (old and new token), so the timeline keeps the card the
recovery started with instead of showing the new one as if it had been there from the start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from ..extensions import db
from ..models import CardUpdateLink, ConnectorEvent, Message, PreRetryCheck, Recovery, WebhookEvent
from ..models.dunning import CANCELLED, FAILED, PENDING, SENT, DunningStep
from ..recovery.proof_mode import assignment_of
from . import local_time

CARD_UPDATED = "card.updated"


@dataclass
class Entry:
    at: datetime | None
    kind: str
    title: str
    details: dict = field(default_factory=dict)
    event: WebhookEvent | None = None


@dataclass(frozen=True)
class CardChange:
    at: datetime
    old_token: str
    new_token: str
    link: CardUpdateLink | None  # the customer's card-update link, when the change came through one


def card_changes(recovery: Recovery) -> list[CardChange]:
    """The recovery's card changes, oldest first (the first one's old token is the original card)."""
    events = db.session.execute(
        select(WebhookEvent)
        .where(WebhookEvent.client_id == recovery.client_id, WebhookEvent.recovery_id == recovery.id,
               WebhookEvent.type == CARD_UPDATED)
        .order_by(WebhookEvent.created_at, WebhookEvent.id)
    ).scalars()
    links = {link.new_payment_method_token: link for link in _links(recovery) if link.used_at}
    changes = []
    for event in events:
        body = json.loads(event.body)
        old, new = body.get("oldPaymentMethodToken"), body.get("newPaymentMethodToken")
        if old and new:
            changes.append(CardChange(event.created_at, old, new, links.get(new)))
    return changes


def _links(recovery: Recovery) -> list[CardUpdateLink]:
    """The links sent in the recovery's dunning messages, and the ones its new card came through."""
    sent = select(Message.card_update_link_id).where(
        Message.recovery_id == recovery.id, Message.card_update_link_id.is_not(None))
    return list(db.session.execute(
        select(CardUpdateLink)
        .where(CardUpdateLink.client_id == recovery.client_id,
               or_(CardUpdateLink.recovery_id == recovery.id, CardUpdateLink.id.in_(sent)))
        .order_by(CardUpdateLink.created_at)
    ).scalars())


def timeline(recovery: Recovery, zone: ZoneInfo, changes: list[CardChange] | None = None) -> list[Entry]:
    changes = card_changes(recovery) if changes is None else changes
    entries = [Entry(recovery.created_at, "created", "Recovery created", {
        "Decline code": recovery.original_decline_code or "-",
        "Payment method": changes[0].old_token if changes else recovery.payment_method_token,
        "Simulated": "yes" if recovery.is_simulated else "no",
        **({"Source": f"{recovery.source} invoice {recovery.source_ref}"} if recovery.source else {}),
    })]
    entries.extend(_proof_mode_entries(recovery, zone))
    entries.extend(_platform_entries(recovery))
    entries.extend(_pre_retry_entries(recovery))
    for attempt in recovery.attempts:
        entries.append(Entry(attempt.created_at, "attempt", f"Attempt {attempt.seq}: {attempt.outcome}", {
            "Gateway": attempt.gateway,
            "Payment method": attempt.payment_method_token,
            "Strategy": attempt.strategy,
            "Outcome": attempt.outcome,
            "Decline code": attempt.decline_code or "-",
            "Advice code": attempt.advice_code or "-",
            "Network code": attempt.network_code or "-",
            "Gateway transaction": attempt.gateway_transaction_id or "-",
        }))
    messages, upcoming = _message_entries(recovery, zone)
    entries.extend(messages)
    entries.extend(_link_entries(recovery))
    entries.extend(_card_entries(changes))
    events = db.session.execute(
        select(WebhookEvent)
        .where(WebhookEvent.client_id == recovery.client_id, WebhookEvent.recovery_id == recovery.id)
        .order_by(WebhookEvent.created_at, WebhookEvent.id)
    ).scalars()
    for event in events:
        entries.append(Entry(event.created_at, "webhook", f"Webhook {event.type}", event=event))
    if recovery.finished_at:
        entries.append(Entry(recovery.finished_at, "finished", f"Finished: {recovery.status}",
                         {"Error": recovery.error} if recovery.error else {}))
    entries.sort(key=lambda e: (e.at is None, e.at or datetime.max, e.kind == "webhook"))
    if recovery.next_attempt_at and not recovery.is_final:
        upcoming.append(Entry(recovery.next_attempt_at, "scheduled", "Next retry scheduled", {
            "Reason": recovery.retry_reason or "-",
        }))
    upcoming.sort(key=lambda e: (e.at is None, e.at or datetime.max))
    return entries + upcoming


def _channel(message: Message) -> str:
    return "Email" if message.channel == "email" else message.channel.upper()


def _message_entries(recovery: Recovery, zone: ZoneInfo) -> tuple[list[Entry], list[Entry]]:
    """Each message's past (scheduled, then sent, cancelled or failed) and, while it is pending,
    its send as an upcoming entry."""
    rows = db.session.execute(
        select(Message, DunningStep.position)
        .join(DunningStep, DunningStep.id == Message.step_id)
        .where(Message.client_id == recovery.client_id, Message.recovery_id == recovery.id)
        .order_by(Message.created_at, DunningStep.position)
    ).all()
    past: list[Entry] = []
    upcoming: list[Entry] = []
    for message, position in rows:
        name = f"{_channel(message)} (dunning step {position})"
        past.append(Entry(message.created_at, "message", f"{name} scheduled", {
            "To": message.to_address, "Due": local_time(message.send_at, zone),
        }))
        if message.status == SENT:
            past.append(Entry(message.sent_at, "message", f"{name} sent", {
                "To": message.to_address, "Subject": message.subject or "-",
                **({"Card-update link": message.card_update_link_id} if message.card_update_link_id else {}),
            }))
        elif message.status == CANCELLED:
            reason = (message.error or "-").replace("_", " ")
            past.append(Entry(message.cancelled_at, "cancelled", f"{name} cancelled", {"Why": reason}))
        elif message.status == FAILED:
            past.append(Entry(message.send_at or message.created_at, "cancelled", f"{name} not sent", {
                "Problem": message.error or "-", "Tries": message.tries,
            }))
        elif message.status == PENDING and message.send_at:
            upcoming.append(Entry(message.send_at, "scheduled", f"{name} due", {"To": message.to_address}))
    return past, upcoming


def _link_entries(recovery: Recovery) -> list[Entry]:
    entries = []
    for link in _links(recovery):
        if link.first_opened_at is None:
            continue
        entries.append(Entry(link.first_opened_at, "open", "Card-update page opened", {"Link": link.id}))
        if link.open_count > 1:
            entries.append(Entry(link.last_opened_at, "open", "Card-update page opened again", {
                "Link": link.id, "Opened in all": f"{link.open_count} times",
            }))
    return entries


def _card_entries(changes: list[CardChange]) -> list[Entry]:
    entries = []
    for change in changes:
        link = change.link
        details = {
            "Old payment method": change.old_token,
            "New payment method": change.new_token,
            "Through": f"the card-update page (link {link.id})" if link else "the billing platform",
        }
        if link and link.new_card_brand and link.new_card_last4:
            details["New card"] = f"{link.new_card_brand} ending {link.new_card_last4}"
        entries.append(Entry(change.at, "newcard", "Card updated", details))
    return entries


def _platform_entries(recovery: Recovery) -> list[Entry]:
    received = db.session.execute(
        select(ConnectorEvent)
        .where(ConnectorEvent.client_id == recovery.client_id, ConnectorEvent.recovery_id == recovery.id)
        .order_by(ConnectorEvent.received_at)
    ).scalars()
    return [
        Entry(event.received_at, "platform", f"{event.platform}: {event.event_type}", {
            "Event id": event.event_id,
            "What Revtain did": (event.outcome or event.status).replace("_", " "),
            **({"Payment method": event.payment_method_token} if event.payment_method_token else {}),
        })
        for event in received
    ]


def _proof_mode_entries(recovery: Recovery, zone: ZoneInfo) -> list[Entry]:
    assignment = assignment_of(recovery)
    if assignment is None:
        return []
    held_out = assignment.proof_group == "control"
    entries = [Entry(assignment.assigned_at, "proof", f"Proof Mode: {assignment.proof_group} group", {
        "Control share": f"{assignment.share} %",
        "What Revtain does": "nothing: no attempt, no retry, no dunning" if held_out else "recovers as usual",
        "Counted in the report from": local_time(assignment.window_ends_at, zone),
    })]
    if assignment.paid_at:
        entries.append(Entry(assignment.paid_at, "proof", "Paid without Revtain",
                             {"Reported by": assignment.paid_via or "-"}))
    return entries


def _pre_retry_entries(recovery: Recovery) -> list[Entry]:
    checks = db.session.execute(
        select(PreRetryCheck)
        .where(PreRetryCheck.client_id == recovery.client_id, PreRetryCheck.recovery_id == recovery.id)
        .order_by(PreRetryCheck.asked_at)
    ).scalars()
    entries = []
    for check in checks:
        answer = f"skip ({check.reason})" if check.decision == "skip" else "go ahead"
        entries.append(Entry(check.asked_at, "check", f"Pre-retry check {check.retry_number}: {answer}", {
            "Check id": check.id,
            "URL": check.url,
            "HTTP status": check.status_code or "-",
            "Answered in": f"{check.duration_ms} ms",
            "Answer": check.response_excerpt or "-",
            **({"Problem": check.error} if check.error else {}),
        }))
    return entries
