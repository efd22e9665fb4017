"""What an alert says: its one-line summary, the email (plain text and HTML) and the text message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template

from ..engine.declines import action_reason
from ..formatting import money
from ..models import Alert, Client
from ..models.alert import NEEDS_ATTENTION, PAYMENT_FAILED, TEST, WEBHOOK_DEAD

SMS_LIMIT = 320  # two SMS segments


def summary(kind: str, details: dict[str, Any]) -> str:
    """One line, the subject of the email and the start of the text message."""
    if kind == PAYMENT_FAILED:
        return (
            f"A {money(details['amount'], details['currency'])} payment failed "
            f"({details.get('declineCode') or 'declined'}): consider reaching out to the customer."
        )
    if kind == NEEDS_ATTENTION:
        reason = details.get("declineCode") or "blocked"
        if details.get("recommendedAction") == "request_card_update":
            return (
                f"A {money(details['amount'], details['currency'])} payment needs the customer "
                f"({reason}): ask them to update or authenticate their card."
            )
        return (
            f"A {money(details['amount'], details['currency'])} payment was blocked ({reason}): "
            "review the account before charging it again."
        )
    if kind == WEBHOOK_DEAD:
        return (
            f"Your webhook URL has failed {details['tries']} tries in a row: Revtain's events are not "
            "reaching you."
        )
    if kind == TEST:
        return "A test alert: your alert channels work."
    raise ValueError(f"unknown alert kind {kind!r}")


def dashboard_link(alert: Alert) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if alert.recovery_id:
        return f"{base}/dashboard/recoveries/{alert.recovery_id}"
    if alert.kind == WEBHOOK_DEAD:
        return f"{base}/dashboard/webhooks?status=pending"
    return f"{base}/dashboard/alerts"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def email(alert: Alert, client: Client) -> Email:
    details = alert.details or {}
    action = details.get("recommendedAction")
    context = {
        "alert": alert,
        "client": client,
        "details": details,
        "link": dashboard_link(alert),
        "amount": money(details["amount"], details["currency"]) if "amount" in details else None,
        "advice": action_reason(action) if action else None,
    }
    return Email(
        subject=f"[{client.brand_name or client.name}] {alert.summary}",
        text=render_template("alerts/email.txt", **context),
        html=render_template("alerts/email.html", **context),
    )


def text_message(alert: Alert, client: Client) -> str:
    """Short, and without the customer's email (a phone's lock screen shows it)."""
    body = f"{client.brand_name or client.name}: {alert.summary} {dashboard_link(alert)}"
    return body if len(body) <= SMS_LIMIT else body[: SMS_LIMIT - 1] + "…"
