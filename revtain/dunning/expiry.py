"""Pre-dunning: one reminder email a few days before a card on file expires.

The merchant tells us the card's expiry on execute (``cardExpMonth``/``cardExpYear``); a card
expires at the end of its expiry month (UTC). Each scheduler tick, ``queue_due`` finds the cards
whose month ends within ``CARD_EXPIRY_REMINDER_DAYS`` and records ONE ``CardExpiryReminder`` row
per client, token and expiry (a unique constraint: two ticks or two schedulers never make two),
then enqueues its job. ``send_reminder`` claims the row (pending -> sending) and sends the email
with a fresh card-update link, through the dunning mailer and the branded layout. No reminder to a
customer without an email or who unsubscribed, nor for a card already replaced by a newer one
(on its recovery, or through any card-update link for that card).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..cardupdate import links
from ..clock import now as clock_now
from ..extensions import db
from ..models import CardExpiryReminder, CardUpdateLink, Client, Recovery
from ..models.dunning import FAILED, PENDING, SENT
from ..queues import DUNNING, SEND_CARD_EXPIRY_REMINDER, enqueue_many
from . import links as dunning_links
from . import mailer
from .optout import UNSUBSCRIBED, is_unsubscribed
from .scheduling import dunning_by_email
from .templates import EXPIRY_REMINDER_TEMPLATE, TemplateError, render, sender_name, variables_for

log = logging.getLogger(__name__)

SENDING = "sending"
CARD_REPLACED = "card_replaced"
# Reminders are due by the day: a scheduler looks for them once a minute, not every tick (the
# search reads a month's cards, reminded or not).
SWEEP_EVERY = timedelta(seconds=60)
_SWEPT_AT = "revtain.card_expiry_swept_at"


def expiry_end(year: int, month: int) -> datetime:
    """The instant a card expires: the end of its expiry month (UTC)."""
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def due_months(now: datetime, days: int) -> list[tuple[int, int]]:
    """The (year, month) expiries ending within ``days`` of ``now`` (not already ended)."""
    months = []
    year, month = now.year, now.month
    while expiry_end(year, month) <= now + timedelta(days=days):
        if expiry_end(year, month) > now:
            months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _card_replaced(client_id: str, token: str):
    """A newer card took this one's place: a used card-update link for it."""
    return exists().where(CardUpdateLink.client_id == client_id, CardUpdateLink.payment_method_token == token,
                          CardUpdateLink.used_at.is_not(None))


def _candidates(now: datetime, days: int, limit: int) -> list[Recovery]:
    months = due_months(now, days)
    if not months:
        return []
    reminded = exists().where(
        CardExpiryReminder.client_id == Recovery.client_id,
        CardExpiryReminder.payment_method_token == Recovery.payment_method_token,
        CardExpiryReminder.exp_year == Recovery.card_exp_year,
        CardExpiryReminder.exp_month == Recovery.card_exp_month,
    )
    query = (
        select(Recovery)
        .where(
            or_(*(and_(Recovery.card_exp_year == y, Recovery.card_exp_month == m) for y, m in months)),
            Recovery.customer_email.is_not(None),
            # The expiry is the reported card's: once a newer card took its place on the recovery
            # (a card update, whether the recovery then succeeded or not), nothing to remind.
            Recovery.payment_method_token == Recovery.reported_token,
            ~_card_replaced(Recovery.client_id, Recovery.payment_method_token),
            ~reminded,
        )
        .order_by(Recovery.created_at.desc())
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())


def queue_due(now: datetime) -> int:
    """Record the reminders due now (once per card and expiry) and enqueue every pending one;
    returns how many jobs were enqueued. Commits."""
    days = current_app.config["CARD_EXPIRY_REMINDER_DAYS"]
    if days <= 0:
        return 0
    swept_at = current_app.extensions.get(_SWEPT_AT)
    if swept_at is not None and abs(now - swept_at) < SWEEP_EVERY:
        return 0
    current_app.extensions[_SWEPT_AT] = now
    batch = current_app.config["SCHEDULER_BATCH_SIZE"]
    seen: set[tuple[str, str, int, int]] = set()
    for recovery in _candidates(now, days, batch):
        key = (recovery.client_id, recovery.payment_method_token, recovery.card_exp_year,
               recovery.card_exp_month)
        if key in seen:  # the newest recovery of that card speaks for it
            continue
        seen.add(key)
        client = db.session.get(Client, recovery.client_id)
        if not dunning_by_email(client) or is_unsubscribed(client.id, recovery.customer_email):
            continue
        try:
            with db.session.begin_nested():
                db.session.add(CardExpiryReminder(
                    client_id=client.id, recovery_id=recovery.id,
                    payment_method_token=recovery.payment_method_token, exp_year=recovery.card_exp_year,
                    exp_month=recovery.card_exp_month, to_address=recovery.customer_email,
                    status=PENDING, created_at=now))
        except IntegrityError:  # another scheduler recorded it first
            continue
    # A job that died mid-send (its lease ran out) is sent again, with the same Message-ID: a
    # reminder is never lost, and a mail system that saw the first copy can tell it is the same.
    stale = now - timedelta(seconds=current_app.config["CLAIM_LEASE_SECONDS"])
    db.session.execute(
        update(CardExpiryReminder)
        .where(CardExpiryReminder.status == SENDING, CardExpiryReminder.claimed_at < stale)
        .values(status=PENDING)
    )
    db.session.commit()
    pending = db.session.execute(
        select(CardExpiryReminder.id).where(CardExpiryReminder.status == PENDING).limit(batch)
    ).scalars().all()
    return enqueue_many(DUNNING, SEND_CARD_EXPIRY_REMINDER, pending, unless_in_queue=True)


def _finish(reminder_id: str, **values) -> None:
    db.session.execute(
        update(CardExpiryReminder).where(CardExpiryReminder.id == reminder_id).values(**values))
    db.session.commit()


def send_reminder(reminder_id: str) -> str:
    """Returns "sent", "skipped" (claimed by another run), "cancelled" or "failed". A run that dies
    mid-send leaves the row "sending" until its lease runs out; then the scheduler queues it again."""
    claimed = db.session.execute(
        update(CardExpiryReminder)
        .where(CardExpiryReminder.id == reminder_id, CardExpiryReminder.status == PENDING)
        .values(status=SENDING, claimed_at=clock_now())
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return "skipped"
    reminder = db.session.get(CardExpiryReminder, reminder_id, populate_existing=True)
    client = db.session.get(Client, reminder.client_id)
    recovery = db.session.get(Recovery, reminder.recovery_id)
    reason = None
    if not dunning_by_email(client):
        reason = "dunning_disabled"
    elif is_unsubscribed(client.id, reminder.to_address):
        reason = UNSUBSCRIBED
    elif db.session.execute(select(_card_replaced(client.id, reminder.payment_method_token))).scalar():
        reason = CARD_REPLACED
    if reason is not None:
        _finish(reminder_id, status="cancelled", error=reason)
        return "cancelled"

    link, token = links.generate(client, reminder.payment_method_token)  # commits the link
    unsubscribe_url = dunning_links.unsubscribe_url(client, reminder.to_address)
    template = EXPIRY_REMINDER_TEMPLATE
    variables = variables_for(client, recovery, links.link_url(client, token), unsubscribe_url)
    variables["card_expiry"] = f"{reminder.exp_month:02d}/{reminder.exp_year}"
    try:
        rendered = render(template["subject"], template["html"], template["text"], variables)
    except TemplateError as exc:  # our own default: a bug, but never a crash loop
        _finish(reminder_id, status=FAILED, error=str(exc)[:500])
        return "failed"
    email = mailer.build(
        from_name=sender_name(client), from_address=client.sender_address, to=reminder.to_address,
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        message_id=f"card-expiry.{reminder.id}", reply_to=client.sender_reply_to,
        unsubscribe_url=unsubscribe_url,
    )
    del token, variables, rendered
    try:
        mailer.send(email)
    except mailer.MailError as exc:
        _finish(reminder_id, status=FAILED, error=str(exc)[:500])
        log.warning("card expiry reminder %s not sent: %s", reminder_id, exc)
        return "failed"
    _finish(reminder_id, status=SENT, sent_at=clock_now())
    log.info("card expiry reminder %s sent (card update link %s)", reminder_id, link.id)
    return "sent"
