"""RQ job entry points. Thin: they receive ids and call a service; the worker provides the app."""

from __future__ import annotations

from .alerts.sending import send_notification
from .connectors.processing import process_event
from .dunning.expiry import send_reminder
from .dunning.sending import send_message
from .recovery.retry import run_scheduled_attempt
from .webhooks.delivery import deliver


def deliver_webhook(delivery_id: str) -> str:
    return deliver(delivery_id)


def run_recovery_retry(recovery_id: str) -> str:
    return run_scheduled_attempt(recovery_id)


def send_dunning_message(message_id: str) -> str:
    return send_message(message_id)


def process_connector_event(event_id: str) -> str:
    return process_event(event_id)


def send_alert(notification_id: str) -> str:
    return send_notification(notification_id)


def send_card_expiry_reminder(reminder_id: str) -> str:
    return send_reminder(reminder_id)
