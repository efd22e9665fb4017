"""Sending one due dunning message: the job the scheduler enqueues for ``messages.send_at``.

The job claims the row (a compare-and-set on ``send_at``), so a job run twice sends one email.
It then checks that the message should still go (the recovery is not recovered or blocked, no card
was updated, the client still duns by email, the sequence is still the published one), holds it
while a retry is pending or during quiet hours, renders the pinned template version (a default
sent unedited in the customer's language) with a fresh card-update link, and hands it to the
mailer. The link's token is in the email only: it is never logged nor stored.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ..cardupdate import links
from ..clock import now as clock_now
from ..due_rows import claim
from ..extensions import db
from ..models import CardUpdateLink, Client, Recovery
from ..models.dunning import CANCELLED, FAILED, PENDING, PUBLISHED, SENT, SMS, Message
from ..models.recovery import SUCCEEDED
from . import links as dunning_links
from . import mailer
from .optout import UNSUBSCRIBED, is_unsubscribed
from .scheduling import (
    BLOCKED_REASON,
    CARD_UPDATED,
    RECOVERED,
    blocked_for_fraud,
    dunning_by_email,
    send_time,
)
from .templates import TemplateError, customer_locale, localized, render, sender_name, variables_for

log = logging.getLogger(__name__)

DEFAULT_RETRY_SECONDS = [60, 300, 1800, 7200]


def _stop_reason(message: Message, client: Client, recovery: Recovery | None) -> str | None:
    if recovery is None:
        return "recovery_missing"
    if recovery.status == SUCCEEDED or recovery.recovered_at is not None:
        return RECOVERED
    if blocked_for_fraud(recovery):
        return BLOCKED_REASON
    if not client.dunning_enabled:
        return "dunning_disabled"
    if not dunning_by_email(client):
        return "channel_" + (client.dunning_channel or "none")
    if message.channel == SMS and not client.sms_dunning_enabled:
        return "sms_disabled"
    if message.channel != SMS and is_unsubscribed(client.id, message.to_address):
        return UNSUBSCRIBED
    if message.step.sequence.status != PUBLISHED:
        return "sequence_not_published"
    card_updated = db.session.execute(
        select(CardUpdateLink.id).where(
            CardUpdateLink.used_at.is_not(None),
            (CardUpdateLink.recovery_id == recovery.id)
            | CardUpdateLink.id.in_(
                select(Message.card_update_link_id).where(Message.recovery_id == recovery.id)
            ),
        ).limit(1)
    ).first()
    if card_updated is not None:
        return CARD_UPDATED
    return None


def _finish(message_id: str, **values) -> None:
    message = db.session.get(Message, message_id, populate_existing=True)
    for key, value in values.items():
        setattr(message, key, value)
    db.session.commit()


def send_message(message_id: str) -> str:
    """Returns "sent", "skipped" (not due or not pending), "held", "cancelled", "retry" or "failed"."""
    if not claim(Message, message_id, "send_at", Message.status == PENDING):
        return "skipped"
    now = clock_now()
    message = db.session.get(Message, message_id, populate_existing=True)
    client = db.session.get(Client, message.client_id)
    recovery = db.session.get(Recovery, message.recovery_id, populate_existing=True)
    db.session.refresh(client)

    reason = _stop_reason(message, client, recovery)
    if reason is not None:
        _finish(message_id, status=CANCELLED, cancelled_at=now, send_at=None, error=reason)
        log.info("dunning message %s cancelled: %s", message_id, reason)
        return "cancelled"
    sequence = message.step.sequence
    when = send_time(sequence, client, recovery, now, now)
    if when > now:
        _finish(message_id, send_at=when)
        log.info("dunning message %s held until %s", message_id, when.isoformat())
        return "held"
    version = message.step.template_version
    if version is None:
        _finish(message_id, status=FAILED, send_at=None, error="the step has no published template version")
        return "failed"

    if message.channel == SMS:
        return send_sms_message(message, client, recovery, version)
    link, token = links.generate(client, recovery.payment_method_token)  # commits the link
    unsubscribe_url = dunning_links.unsubscribe_url(client, message.to_address)
    pixel = dunning_links.open_pixel_url(client, message.id) if client.email_open_tracking else ""
    try:
        rendered = render(*localized(version.subject, version.html, version.text, customer_locale(recovery)),
                          variables_for(
            client, recovery, dunning_links.click_url(client, message.id, token), unsubscribe_url, pixel))
    except TemplateError as exc:
        _finish(message_id, status=FAILED, send_at=None, error=str(exc)[:500])
        log.warning("dunning message %s not sent, its template does not render: %s", message_id, exc)
        return "failed"
    email = mailer.build(
        from_name=sender_name(client), from_address=sequence.from_address or client.sender_address,
        to=message.to_address, subject=rendered.subject, text=rendered.text, html=rendered.html,
        message_id=f"dunning.{message.id}", reply_to=sequence.reply_to or client.sender_reply_to,
        unsubscribe_url=unsubscribe_url,
    )
    tries = message.tries + 1
    _finish(message_id, tries=tries, subject=rendered.subject, card_update_link_id=link.id)
    del token, rendered

    try:
        where = mailer.send(email)
    except mailer.MailError as exc:
        return not_sent(message_id, tries, exc, exc.transient)
    _finish(message_id, status=SENT, sent_at=clock_now(), send_at=None, error=None)
    log.info("dunning message %s for recovery %s sent (%s)", message_id, recovery.id,
             "smtp" if where.startswith("smtp:") else "outbox")
    return "sent"


def not_sent(message_id: str, tries: int, exc: Exception, transient: bool) -> str:
    """A send that failed: tried again later while transient and tries are left, else failed."""
    schedule = current_app.config.get("DUNNING_SEND_RETRY_SECONDS", DEFAULT_RETRY_SECONDS)
    if transient and tries <= len(schedule):
        _finish(message_id, send_at=clock_now() + timedelta(seconds=float(schedule[tries - 1])),
                error=str(exc)[:500])
        log.warning("dunning message %s not sent (try %d), will try again: %s", message_id, tries, exc)
        return "retry"
    _finish(message_id, status=FAILED, send_at=None, error=str(exc)[:500])
    log.warning("dunning message %s failed: %s", message_id, exc)
    return "failed"


def send_sms_message(message: Message, client: Client, recovery: Recovery, version) -> str:
    """An SMS step: the template's subject and the card-update link, through the merchant's own
    Twilio account (the one its alerts use). Twilio handles STOP replies itself."""
    from .sms import send_dunning_sms

    return send_dunning_sms(message, client, recovery, version)
