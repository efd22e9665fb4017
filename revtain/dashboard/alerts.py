"""Alerts, for admins: the channels (``notificationChannels``), who receives them, the thresholds and
Twilio's credentials (the auth token write-only, stored encrypted); a test alert; the latest alerts
and how each email and text message went."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from ..alerts import settings as alert_settings
from ..alerts.raising import test_alert
from ..clock import now as clock_now
from ..extensions import db
from ..models import Alert, Client
from ..models.alert import CHANNELS
from . import bp, current_client
from .auth import requires

ALERTS_SHOWN = 30
CHANNEL_LABELS = {
    "WEBHOOK": "Webhook: a merchant.alert event to your webhook URL",
    "EMAIL": "Email",
    "SMS": "SMS (through your Twilio account)",
}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AlertSettingsForm(FlaskForm):
    WEBHOOK = BooleanField(CHANNEL_LABELS["WEBHOOK"])
    EMAIL = BooleanField(CHANNEL_LABELS["EMAIL"])
    SMS = BooleanField(CHANNEL_LABELS["SMS"])
    emails = TextAreaField(
        "Alert email addresses",
        validators=[Optional(), Length(max=4000)],
        filters=[_strip],
        description="One per line, or comma separated",
    )
    phones = TextAreaField(
        "Alert phone numbers",
        validators=[Optional(), Length(max=1000)],
        filters=[_strip],
        description="International format, e.g. +14155550123",
    )
    thresholds = StringField(
        "Thresholds",
        validators=[Optional(), Length(max=500)],
        filters=[_strip],
        description="The smallest failed payment that alerts, per currency, e.g. USD:25.00, EUR:20. "
        "A currency without one alerts on every failed payment.",
    )
    twilio_account_sid = StringField(
        "Twilio account SID", validators=[Optional(), Length(max=64)], filters=[_strip], description="AC…"
    )
    twilio_auth_token = PasswordField(
        "Twilio auth token", validators=[Optional(), Length(max=64)], filters=[_strip]
    )
    twilio_from = StringField(
        "Twilio sender",
        validators=[Optional(), Length(max=64)],
        filters=[_strip],
        description="A number of your Twilio account (+1…) or a Messaging Service SID (MG…)",
    )
    submit = SubmitField("Save alerts")


class TestAlertForm(FlaskForm):
    submit = SubmitField("Send a test alert")


def _defaults(settings: alert_settings.Settings) -> dict:
    return {
        **{channel: channel in settings.channels for channel in CHANNELS},
        "emails": "\n".join(settings.emails),
        "phones": "\n".join(settings.phones),
        "thresholds": ", ".join(
            alert_settings.format_threshold(c, m) for c, m in sorted(settings.thresholds.items())
        ),
        "twilio_account_sid": settings.twilio.account_sid if settings.twilio else "",
        "twilio_from": settings.twilio.sender if settings.twilio else "",
    }


def _page(client: Client, form: AlertSettingsForm | None = None, status: int = 200):
    settings = alert_settings.load(client.id)
    alerts = list(
        db.session.execute(
            select(Alert)
            .where(Alert.client_id == client.id)
            .order_by(Alert.created_at.desc(), Alert.id.desc())
            .limit(ALERTS_SHOWN)
        ).scalars()
    )
    return render_template(
        "dashboard/alerts.html",
        form=form or AlertSettingsForm(formdata=None, data=_defaults(settings)),
        test_form=TestAlertForm(formdata=None),
        settings=settings,
        alerts=alerts,
        twilio_saved=settings.twilio is not None,
    ), status


@bp.get("/alerts")
@requires("settings")
def alerts():
    return _page(current_client())


@bp.post("/alerts")
@requires("settings")
def save_alerts():
    client = current_client()
    form = AlertSettingsForm()
    if not form.validate_on_submit():
        return _page(client, form, 400)
    stored = alert_settings.load(client.id)
    sid, token, sender = form.twilio_account_sid.data, form.twilio_auth_token.data, form.twilio_from.data
    if stored.twilio and not token and (sid or sender):
        token = stored.twilio.auth_token  # saved earlier: never sent back to the browser, kept
    try:
        settings = alert_settings.Settings(
            channels=tuple(c for c in CHANNELS if form[c].data),
            emails=alert_settings.parse_emails(form.emails.data),
            phones=alert_settings.parse_phones(form.phones.data),
            thresholds=alert_settings.parse_thresholds(form.thresholds.data),
            twilio=alert_settings.parse_twilio(sid, token, sender),
        )
        alert_settings.save(client, settings)
    except alert_settings.AlertSettingsError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc)[:1].upper() + str(exc)[1:] + ".")
        return _page(client, form, 400)
    flash(
        "Alert settings saved." if settings.channels else "Alert settings saved: no alerts are sent.",
        "success",
    )
    return redirect(url_for("dashboard.alerts"))


@bp.post("/alerts/test")
@requires("settings")
def send_test_alert():
    client = current_client()
    form = TestAlertForm()
    if not form.validate_on_submit():
        return _page(client, status=400)
    if test_alert(client, clock_now()) is None:
        flash("Choose at least one channel first.", "error")
    else:
        flash("Test alert sent: it arrives within a minute on every chosen channel.", "success")
    return redirect(url_for("dashboard.alerts"))
