"""Sending one alert email or text message: the job the scheduler enqueues for ``send_at``.

The job claims the row (a compare-and-set on ``send_at``), so a job run twice sends once; if the
worker dies mid-way the row is due again when the claim's lease ends. A channel or recipient the
client has since removed is not sent to. Transient failures (SMTP 4xx, Twilio busy or unreachable)
are tried again later; others fail the row with the reason.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from ..clock import now as clock_now
from ..due_rows import claim
from ..dunning import mailer
from ..extensions import db
from ..models import AlertNotification, AlertSettings, Client
from ..models.alert import CANCELLED, EMAIL, FAILED, PENDING, SENT, SMS
from . import messages
from .settings import twilio_credentials
from .sms import SmsError, send_sms

log = logging.getLogger(__name__)

DEFAULT_RETRY_SECONDS = [60, 300, 1800, 7200]
ALERT_SENDER_NAME = "Revtain alerts"


def _finish(notification_id: str, **values) -> None:
    row = db.session.get(AlertNotification, notification_id, populate_existing=True)
    for key, value in values.items():
        setattr(row, key, value)
    db.session.commit()


def _still_wanted(row: AlertNotification, settings: AlertSettings | None) -> bool:
    if settings is None or row.channel not in (settings.channels or ()):
        return False
    return row.to_address in ((settings.emails if row.channel == EMAIL else settings.phones) or ())


def send_notification(notification_id: str) -> str:
    """Returns "sent", "skipped" (not due or not pending), "cancelled", "retry" or "failed"."""
    if not claim(AlertNotification, notification_id, "send_at", AlertNotification.status == PENDING):
        return "skipped"
    row = db.session.get(AlertNotification, notification_id, populate_existing=True)
    alert = row.alert
    client = db.session.get(Client, row.client_id)
    settings = db.session.get(AlertSettings, row.client_id, populate_existing=True)
    if not _still_wanted(row, settings):
        _finish(notification_id, status=CANCELLED, send_at=None, error="channel or recipient removed")
        return "cancelled"
    tries, channel, to = row.tries + 1, row.channel, row.to_address
    reference = None
    try:
        if channel == SMS:
            credentials = twilio_credentials(settings)
            if credentials is None:
                raise SmsError("no Twilio credentials", transient=False)
            body = messages.text_message(alert, client)
            db.session.rollback()  # hold no transaction (or SQLite lock) while Twilio answers
            reference = send_sms(credentials, to, body)
        else:
            content = messages.email(alert, client)
            email = mailer.build(
                from_name=ALERT_SENDER_NAME,
                from_address=None,
                to=to,
                subject=content.subject,
                text=content.text,
                html=content.html,
                message_id=f"alert.{notification_id}",
            )
            db.session.rollback()
            mailer.send(email)
    except (SmsError, mailer.MailError) as exc:
        schedule = current_app.config.get("ALERT_SEND_RETRY_SECONDS", DEFAULT_RETRY_SECONDS)
        if exc.transient and tries <= len(schedule):
            _finish(
                notification_id,
                tries=tries,
                error=str(exc)[:500],
                send_at=clock_now() + timedelta(seconds=float(schedule[tries - 1])),
            )
            log.warning(
                "alert %s (%s) not sent, try %d, will try again: %s", notification_id, channel, tries, exc
            )
            return "retry"
        _finish(notification_id, tries=tries, status=FAILED, send_at=None, error=str(exc)[:500])
        log.warning("alert %s (%s) failed: %s", notification_id, channel, exc)
        return "failed"
    _finish(
        notification_id,
        tries=tries,
        status=SENT,
        sent_at=clock_now(),
        send_at=None,
        error=None,
        provider_ref=reference,
    )
    log.info("alert %s sent by %s", notification_id, channel.lower())
    return "sent"
