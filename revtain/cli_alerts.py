"""``revtain alerts``: a client's merchant alerts (``notificationChannels``), and the options
``revtain onboard`` takes for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from flask.cli import AppGroup

if TYPE_CHECKING:  # the models and the alert settings load only when a command runs
    from .alerts.settings import Settings
    from .models import Client

CHANNELS_HELP = "WEBHOOK, EMAIL and/or SMS, comma separated (NONE: no alerts)."


def alert_options(fn):
    """The alert options, shared by ``revtain onboard`` and ``revtain alerts set``."""
    options = [
        click.option("--notification-channels", "channels", metavar="CHANNELS", help=CHANNELS_HELP),
        click.option(
            "--alert-email",
            "emails",
            multiple=True,
            metavar="EMAIL",
            help="Who gets EMAIL alerts (repeat, or comma separated).",
        ),
        click.option(
            "--alert-phone",
            "phones",
            multiple=True,
            metavar="+E164",
            help="Who gets SMS alerts, in international format (repeat).",
        ),
        click.option(
            "--alert-threshold",
            "thresholds",
            multiple=True,
            metavar="CUR:AMOUNT",
            help="The smallest failed payment that alerts, per currency, e.g. USD:25.00 (repeat). "
            "A currency without one alerts on every failed payment.",
        ),
        click.option("--twilio-account-sid", help="For SMS: your Twilio account SID (AC…)."),
        click.option(
            "--twilio-auth-token",
            envvar="REVTAIN_TWILIO_AUTH_TOKEN",
            help="For SMS: your Twilio auth token (or set REVTAIN_TWILIO_AUTH_TOKEN). Stored encrypted.",
        ),
        click.option(
            "--twilio-from",
            help="For SMS: the sender, a number of your Twilio account or a Messaging Service SID (MG…).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def settings_from_options(
    current: Settings,
    channels,
    emails,
    phones,
    thresholds,
    twilio_account_sid,
    twilio_auth_token,
    twilio_from,
) -> Settings:
    """The options given, on top of ``current`` (what is not given stays as it is)."""
    from .alerts import settings as alert_settings

    try:
        return alert_settings.Settings(
            channels=alert_settings.parse_channels(channels) if channels is not None else current.channels,
            emails=alert_settings.parse_emails(list(emails)) if emails else current.emails,
            phones=alert_settings.parse_phones(list(phones)) if phones else current.phones,
            thresholds=alert_settings.parse_thresholds(list(thresholds))
            if thresholds
            else current.thresholds,
            twilio=alert_settings.parse_twilio(twilio_account_sid, twilio_auth_token, twilio_from),
        )
    except alert_settings.AlertSettingsError as exc:
        raise click.ClickException(str(exc)) from None


def describe(settings: Settings) -> list[str]:
    from .alerts import settings as alert_settings

    thresholds = ", ".join(
        alert_settings.format_threshold(c, m) for c, m in sorted(settings.thresholds.items())
    )
    twilio = (
        f"{alert_settings.masked_sid(settings)}, from {settings.twilio.sender}"
        if settings.twilio
        else "not set"
    )
    return [
        f"notificationChannels  {', '.join(settings.channels) or 'none (no alerts)'}",
        f"alert emails          {', '.join(settings.emails) or '-'}",
        f"alert phones          {', '.join(settings.phones) or '-'}",
        f"thresholds            {thresholds or 'none: every failed payment alerts'}",
        f"Twilio                {twilio}",
    ]


def _client(client_id: str) -> Client:
    from .cli import _client_or_fail

    return _client_or_fail(client_id)


@click.group("alerts", cls=AppGroup)
def alerts_group() -> None:
    """Merchant alerts: failed payments, recoveries that need attention, a dead webhook URL."""


@alerts_group.command("show")
@click.argument("client_id")
def alerts_show(client_id: str) -> None:
    """The client's alert settings (the Twilio auth token is never shown)."""
    from .alerts import settings as alert_settings

    _client(client_id)
    for line in describe(alert_settings.load(client_id)):
        click.echo(line)


@alerts_group.command("set")
@click.argument("client_id")
@alert_options
def alerts_set(client_id: str, **options) -> None:
    """Change the client's alert settings; options not given stay as they are."""
    from .alerts import settings as alert_settings

    client = _client(client_id)
    settings = settings_from_options(alert_settings.load(client_id), **options)
    try:
        alert_settings.save(client, settings)
    except alert_settings.AlertSettingsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Alert settings saved for {client.name}.")
    for line in describe(alert_settings.load(client_id)):
        click.echo(f"  {line}")


@alerts_group.command("list")
@click.argument("client_id")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def alerts_list(client_id: str, limit: int) -> None:
    """The client's latest alerts, and how each email and text message went."""
    from sqlalchemy import select

    from .clock import iso
    from .extensions import db
    from .models import Alert

    _client(client_id)
    alerts = db.session.execute(
        select(Alert)
        .where(Alert.client_id == client_id)
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
    ).scalars()
    for alert in alerts:
        click.echo(f"{iso(alert.created_at)}  {alert.kind:<16}{alert.summary}")
        for n in alert.notifications:
            state = n.status + (f" ({n.error})" if n.error else "")
            click.echo(f"    {n.channel:<6}{n.to_address:<34}{state}")


@alerts_group.command("test")
@click.argument("client_id")
def alerts_test(client_id: str) -> None:
    """Send a test alert over every chosen channel (the worker sends it)."""
    from .alerts import settings as alert_settings
    from .alerts.raising import test_alert
    from .clock import now as clock_now

    client = _client(client_id)
    alert = test_alert(client, clock_now())
    if alert is None:
        raise click.ClickException("no notification channels chosen: see revtain alerts set --help")
    click.echo(
        f"Test alert {alert.id} raised: {len(alert.notifications)} email/text message(s) queued"
        + (", and a merchant.alert webhook" if "WEBHOOK" in alert_settings.load(client_id).channels else "")
    )
