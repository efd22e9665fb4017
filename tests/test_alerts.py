"""Merchant alerts (contract 8.1, ``notificationChannels``) through a real HTTP server and the real
scheduler and worker: a failed payment over the threshold, a recovery that needs attention and a
dead webhook URL alert the merchant's team once per incident, by webhook (``merchant.alert``),
email (a real SMTP server) and SMS (the ``twilio`` library with only its HTTP layer stubbed)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, text

from revtain.alerts import raising
from revtain.alerts import settings as alert_settings
from revtain.alerts.settings import AlertSettingsError, Settings, TwilioCredentials
from revtain.extensions import db
from revtain.models import Alert, AlertNotification, Client, Recovery
from revtain.onboarding import onboard
from tests.support import twilio as tw
from tests.support.jobs import sweep
from tests.support.receiver import Receiver
from tests.support.servers import all_at_once, threaded_server
from tests.support.smtp import Inbox, smtp_server

START = "2026-03-17T12:00:00+00:00"
TEAM = ("ops@acme.example", "cfo@acme.example")
PHONE = "+14155550123"
TWILIO = TwilioCredentials(tw.ACCOUNT_SID, tw.AUTH_TOKEN, tw.FROM_NUMBER)


@pytest.fixture(scope="module")
def smtp() -> Iterator[Inbox]:
    yield from smtp_server()


@pytest.fixture
def inbox(smtp) -> Inbox:
    return smtp.clear()


@pytest.fixture
def app(make_app, inbox):
    return make_app(
        FROZEN_NOW=START,
        MAIL_SMTP_HOST="127.0.0.1",
        MAIL_SMTP_PORT=inbox.port,
        MAIL_SMTP_TLS="none",
        ALERT_WEBHOOK_DEAD_AFTER_TRIES=4,
    )


@pytest.fixture
def server(app) -> Iterator[str]:
    with threaded_server(app) as url:
        yield url




def configure(app, client_id: str, **given) -> None:
    values = {
        "channels": ("WEBHOOK", "EMAIL", "SMS"),
        "emails": TEAM,
        "phones": (PHONE,),
        "thresholds": {"USD": 2500},
        "twilio": TWILIO,
        **given,
    }
    with app.app_context():
        alert_settings.save(db.session.get(Client, client_id), Settings(**values))


def execute(server: str, headers: dict, **body) -> requests.Response:
    body = {
        "paymentMethodToken": "pm_card",
        "amount": 4900,
        "currency": "USD",
        "customerEmail": "jo@example.com",
        **body,
    }
    return requests.post(f"{server}/api/recovery/execute", json=body, headers=headers, timeout=10)


def alerts(app) -> list[Alert]:
    with app.app_context():
        rows = list(db.session.execute(select(Alert).order_by(Alert.created_at, Alert.id)).scalars())
        for row in rows:
            _ = row.notifications
        db.session.expunge_all()
        return rows


def notifications(app) -> list[AlertNotification]:
    with app.app_context():
        rows = list(
            db.session.execute(
                select(AlertNotification).order_by(AlertNotification.channel, AlertNotification.to_address)
            ).scalars()
        )
        db.session.expunge_all()
        return rows


def advance(app, **delta) -> None:
    app.extensions["revtain.clock"].advance(timedelta(**delta))


# -- a failed payment over the threshold -------------------------------------------------------------


def test_a_failed_payment_over_the_threshold_alerts_the_team_on_every_channel(
    app, server, merchant, headers, receiver, inbox, twilio_http
):
    configure(app, merchant.client_id)
    twilio_http.created(1)
    r = execute(
        server, headers, simulateOutcome="failed", amount=4900, originalDeclineCode="insufficient_funds"
    )
    assert r.status_code == 200 and r.json()["success"] is False
    tx = r.json()["transactionId"]
    assert sweep(app)["alerts"] == 3  # two emails and a text message, from their rows
    sweep(app)

    (alert,) = alerts(app)
    assert (alert.kind, alert.recovery_id, alert.incident_key) == (
        "payment_failed",
        tx,
        f"payment_failed:{tx}",
    )
    assert alert.summary == (
        "A $49.00 payment failed (insufficient_funds): consider reaching out to the customer."
    )
    assert [(n.channel, n.to_address, n.status, n.tries) for n in notifications(app)] == [
        ("EMAIL", "cfo@acme.example", "sent", 1),
        ("EMAIL", "ops@acme.example", "sent", 1),
        ("SMS", PHONE, "sent", 1),
    ]

    # email, through the same mailer as dunning
    assert sorted(rcpt for _, (rcpt,) in inbox.envelopes) == sorted(TEAM)
    mail = inbox.received[0]
    assert mail["Subject"] == f"[Acme Inc] {alert.summary}"
    assert mail["From"].addresses[0].display_name == "Revtain alerts"
    plain = mail.get_body(("plain",)).get_content()
    assert "jo@example.com" in plain and "$49.00" in plain and tx in plain
    assert f"http://revtain.test/dashboard/recoveries/{tx}" in plain
    assert "retry" in plain.lower()  # the advice of its recommendedAction
    html = mail.get_body(("html",)).get_content()
    assert f'href="http://revtain.test/dashboard/recoveries/{tx}"' in html

    # SMS, through the twilio library: the real request, HTTP Basic with the merchant's account
    (sms,) = twilio_http.requests
    assert (sms.method, sms.host, sms.path) == (
        "POST",
        "api.twilio.com",
        f"/2010-04-01/Accounts/{tw.ACCOUNT_SID}/Messages.json",
    )
    assert sms.basic_auth == (tw.ACCOUNT_SID, tw.AUTH_TOKEN)
    assert sms.form["To"] == PHONE and sms.form["From"] == tw.FROM_NUMBER
    assert sms.form["Body"].startswith("Acme Inc: A $49.00 payment failed")
    assert "jo@example.com" not in sms.form["Body"]  # no customer email on a lock screen
    assert notifications(app)[2].provider_ref.startswith("SM")

    # webhook: a signed merchant.alert event through the outbox
    (hook,) = [h for h in receiver.wait_for(2) if h.json["event"] == "merchant.alert"]
    assert hook.signature_valid(merchant.webhook_signing_secret)
    assert list(hook.json) == [
        "event",
        "alertId",
        "type",
        "message",
        "revtainTransactionId",
        "amount",
        "currency",
        "declineCode",
        "recommendedAction",
        "createdAt",
        "eventId",
    ]
    assert hook.json["type"] == "payment_failed" and hook.json["alertId"] == alert.id
    assert (hook.json["amount"], hook.json["currency"], hook.json["revtainTransactionId"]) == (
        4900,
        "USD",
        tx,
    )
    assert "customerEmail" not in hook.json  # like recovery.failed


def test_below_the_threshold_no_alert_and_a_currency_without_one_always_alerts(
    app, server, merchant, headers, twilio_http
):
    configure(app, merchant.client_id, channels=("EMAIL",))
    execute(server, headers, simulateOutcome="failed", amount=2499)
    assert alerts(app) == []
    execute(server, headers, paymentMethodToken="pm_2", simulateOutcome="failed", amount=2500)
    execute(server, headers, paymentMethodToken="pm_3", simulateOutcome="failed", amount=60, currency="EUR")
    assert [a.details["amount"] for a in alerts(app)] == [2500, 60]


def test_no_channels_no_alerts(app, server, merchant, headers):
    execute(server, headers, simulateOutcome="failed")
    configure(app, merchant.client_id, channels=())
    execute(server, headers, paymentMethodToken="pm_2", simulateOutcome="failed")
    assert alerts(app) == []


def test_a_recovery_that_fails_after_its_retries_alerts_once(app, server, merchant, headers, inbox):
    configure(app, merchant.client_id, channels=("EMAIL",), emails=("ops@acme.example",))
    r = execute(
        server,
        headers,
        paymentMethodToken="test_decline_insufficient_funds",
        originalDeclineCode="insufficient_funds",
    )
    assert r.status_code == 202
    for seconds in (10, 20, 30, 30):  # the test gateway's ladder: every retry is declined
        advance(app, seconds=seconds)
        sweep(app)
    sweep(app)
    with app.app_context():
        assert db.session.get(Recovery, r.json()["transactionId"]).status == "failed"
    (alert,) = alerts(app)
    assert alert.kind == "payment_failed" and len(inbox.received) == 1


def test_one_incident_alerts_once_even_raised_twice_at_the_same_moment(app, merchant, server, headers):
    configure(app, merchant.client_id, channels=("EMAIL",))
    tx = execute(server, headers, simulateOutcome="failed").json()["transactionId"]
    assert len(alerts(app)) == 1

    def raise_again(_: int) -> bool:
        with app.app_context():
            client = db.session.get(Client, merchant.client_id)
            recovery = db.session.get(Recovery, tx)
            alert = raising.payment_failed(client, recovery, recovery.finished_at)
            db.session.commit()
            return alert is not None

    assert all_at_once(4, raise_again) == [False] * 4
    assert len(alerts(app)) == 1 and len(notifications(app)) == 2


# -- a recovery that needs attention ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, summary",
    [
        (
            "fraudulent",
            "A $10.00 payment was blocked (fraudulent): review the account before charging it again.",
        ),
        (
            "authentication_required",
            "A $10.00 payment needs the customer (authentication_required): ask them to "
            "update or authenticate their card.",
        ),
    ],
)
def test_a_blocked_recovery_needs_attention_whatever_the_amount(
    app, server, merchant, headers, code, summary
):
    configure(app, merchant.client_id, channels=("EMAIL",))
    r = execute(server, headers, originalDeclineCode=code, amount=1000)
    assert r.status_code == 403
    (alert,) = alerts(app)
    assert (alert.kind, alert.summary) == ("needs_attention", summary)


# -- a dead webhook URL --------------------------------------------------------------------------------


def test_a_dead_webhook_url_alerts_once_until_it_answers_again(app, server, headers, inbox, twilio_http):
    with Receiver(fail_first=10**6) as endpoint:
        with app.app_context():
            issued = onboard(name="Hooked Inc", webhook_url=endpoint.url, gateway="test")
        configure(app, issued.client_id, channels=("WEBHOOK", "EMAIL", "SMS"), emails=("ops@acme.example",))
        key = {"X-API-KEY": issued.api_key}
        for n in range(3):  # three events, all failing
            execute(server, key, paymentMethodToken=f"pm_{n}", simulateOutcome="success")
        sweep(app)  # first tries
        for seconds in (2, 6, 52):  # the tries at 2 s, 8 s and 1 min: the 4th try fails
            advance(app, seconds=seconds)
            twilio_http.created() if seconds == 52 else None
            sweep(app)
        sweep(app)
        (alert,) = [a for a in alerts(app) if a.kind == "webhook_dead"]
        assert alert.webhook_url == endpoint.url and alert.resolved_at is None
        assert alert.summary == (
            "Your webhook URL has failed 4 tries in a row: Revtain's events are not reaching you."
        )
        assert sorted(n.channel for n in alert.notifications) == ["EMAIL", "SMS"]  # not to the dead URL
        assert "merchant.alert" not in [h.json["event"] for h in endpoint.events()]
        assert len(inbox.received) == 1 and "503" in inbox.received[0].get_body(("plain",)).get_content()

        advance(app, minutes=4)  # the 5-minute tries fail too: the same incident, no new alert
        sweep(app)
        assert len([a for a in alerts(app) if a.kind == "webhook_dead"]) == 1

        endpoint.fail_first = len(endpoint.requests)  # it answers again
        advance(app, minutes=25)
        sweep(app)
        (alert,) = [a for a in alerts(app) if a.kind == "webhook_dead"]
        assert alert.resolved_at is not None and alert.incident_key is None

        endpoint.fail_first = 10**6  # and dies again: a new incident
        execute(server, key, paymentMethodToken="pm_again", simulateOutcome="success")
        sweep(app)
        for seconds in (2, 6, 52):
            advance(app, seconds=seconds)
            sweep(app)
        twilio_http.created()
        sweep(app)
        assert len([a for a in alerts(app) if a.kind == "webhook_dead"]) == 2


# -- sending: retries, failures, changes of mind -------------------------------------------------------------


def test_twilio_busy_is_tried_again_and_a_bad_number_fails_with_the_reason(
    app, server, merchant, headers, twilio_http
):
    configure(app, merchant.client_id, channels=("SMS",), phones=(PHONE, "+15005550001"))
    twilio_http.reply_to(PHONE, 429, tw.error(429, 20429, "Too Many Requests"))
    twilio_http.reply_to(
        "+15005550001", 400, tw.error(400, 21211, "The 'To' number +15005550001 is not a valid phone number.")
    )
    execute(server, headers, simulateOutcome="failed")
    sweep(app)
    busy, bad = sorted(notifications(app), key=lambda n: n.to_address)
    assert (busy.to_address, busy.status, busy.tries) == (PHONE, "pending", 1)
    assert busy.error == "Twilio 429 (error 20429): Unable to create record: Too Many Requests"
    assert busy.send_at.isoformat() == "2026-03-17T12:01:00+00:00"  # ALERT_SEND_RETRY_SECONDS[0]
    assert (bad.status, bad.tries, bad.send_at) == ("failed", 1, None)
    assert bad.error == (
        "Twilio 400 (error 21211): Unable to create record: The 'To' number +15005550001 is not "
        "a valid phone number."
    )

    twilio_http.fail(requests.ConnectionError("connection refused"))
    advance(app, minutes=1)
    sweep(app)
    busy = next(n for n in notifications(app) if n.to_address == PHONE)
    assert (busy.status, busy.tries, busy.error) == ("pending", 2, "Twilio unreachable: ConnectionError")
    twilio_http.created()
    advance(app, minutes=5)
    sweep(app)
    busy = next(n for n in notifications(app) if n.to_address == PHONE)
    assert (busy.status, busy.tries, busy.error) == ("sent", 3, None)
    assert len(twilio_http.requests) == 4


def test_a_messaging_service_sends_instead_of_a_number(app, server, merchant, headers, twilio_http):
    configure(
        app,
        merchant.client_id,
        channels=("SMS",),
        twilio=TwilioCredentials(tw.ACCOUNT_SID, tw.AUTH_TOKEN, tw.MESSAGING_SERVICE_SID),
    )
    twilio_http.created()
    execute(server, headers, simulateOutcome="failed")
    sweep(app)
    (sms,) = twilio_http.requests
    assert sms.form["MessagingServiceSid"] == tw.MESSAGING_SERVICE_SID and "From" not in sms.form


def test_a_recipient_removed_before_sending_is_not_sent_to(app, server, merchant, headers, inbox):
    configure(app, merchant.client_id, channels=("EMAIL",))
    execute(server, headers, simulateOutcome="failed")
    configure(app, merchant.client_id, channels=("EMAIL",), emails=("ops@acme.example",))
    sweep(app)
    assert sorted((n.to_address, n.status) for n in notifications(app)) == [
        ("cfo@acme.example", "cancelled"),
        ("ops@acme.example", "sent"),
    ]
    assert len(inbox.received) == 1


def test_a_job_run_twice_sends_once(app, server, merchant, headers, inbox):
    from revtain.alerts.sending import send_notification

    configure(app, merchant.client_id, channels=("EMAIL",), emails=("ops@acme.example",))
    execute(server, headers, simulateOutcome="failed")
    (row,) = notifications(app)
    with app.app_context():
        assert send_notification(row.id) == "sent"
        assert send_notification(row.id) == "skipped"
    assert len(inbox.received) == 1


def test_the_test_alert(app, merchant, twilio_http, inbox, receiver, runner):
    configure(app, merchant.client_id)
    twilio_http.created()
    result = runner.invoke(args=["alerts", "test", merchant.client_id])
    assert result.exit_code == 0, result.output
    assert "3 email/text message(s) queued, and a merchant.alert webhook" in result.output
    sweep(app)
    sweep(app)
    assert len(inbox.received) == 2 and len(twilio_http.requests) == 1
    assert [h.json["type"] for h in receiver.events("merchant.alert")] == ["test"]


# -- settings -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("USD:25.00", ("USD", 2500)),
        ("usd 25", ("USD", 2500)),
        ("25.5 EUR", ("EUR", 2550)),
        ("JPY:3000", ("JPY", 3000)),
        ("KWD=1.250", ("KWD", 1250)),
    ],
)
def test_thresholds_in_the_currencys_smallest_unit(raw, expected):
    assert alert_settings.parse_threshold(raw) == expected


@pytest.mark.parametrize("raw", ["USD", "XXY:10", "USD:-1", "JPY:10.5", "USD:1.234", "USD:abc", "USD:nan"])
def test_bad_thresholds_are_explained(raw):
    with pytest.raises(AlertSettingsError):
        alert_settings.parse_threshold(raw)


def test_what_each_channel_needs(app, merchant):
    with app.app_context():
        client = db.session.get(Client, merchant.client_id)
        for given, message in [
            ({"channels": ("EMAIL",)}, "EMAIL alerts need at least one alert email address"),
            ({"channels": ("SMS",), "phones": (PHONE,)}, "SMS alerts are sent through your Twilio account"),
            ({"channels": ("SMS",), "twilio": TWILIO}, "SMS alerts need at least one phone number"),
        ]:
            with pytest.raises(AlertSettingsError, match=message):
                alert_settings.save(client, Settings(**given))
        client.webhook_url = None
        with pytest.raises(AlertSettingsError, match="WEBHOOK alerts go to your webhook URL"):
            alert_settings.save(client, Settings(channels=("WEBHOOK",)))
    with pytest.raises(AlertSettingsError, match="international format"):
        alert_settings.parse_phones("415 555 0123")
    with pytest.raises(AlertSettingsError, match="WEBHOOK, EMAIL, SMS"):
        alert_settings.parse_channels("EMAIL,PIGEON")
    with pytest.raises(AlertSettingsError, match="account SID"):
        alert_settings.parse_twilio("AC123", tw.AUTH_TOKEN, tw.FROM_NUMBER)
    with pytest.raises(AlertSettingsError, match="together"):
        alert_settings.parse_twilio(tw.ACCOUNT_SID, "", tw.FROM_NUMBER)


def test_the_twilio_auth_token_is_stored_only_encrypted_and_never_logged(
    app, server, merchant, headers, twilio_http, caplog
):
    caplog.set_level(logging.DEBUG)
    configure(app, merchant.client_id, channels=("SMS",))
    twilio_http.created()
    execute(server, headers, simulateOutcome="failed")
    sweep(app)
    with app.app_context():
        names = [t.name for t in db.metadata.sorted_tables]
        dump = " ".join(
            str(row) for name in names for row in db.session.execute(text(f"SELECT * FROM {name}"))
        )
        stored = db.session.execute(
            text("SELECT twilio_credentials_encrypted FROM alert_settings")
        ).scalar_one()
    assert stored.startswith("v1:") and tw.AUTH_TOKEN not in dump
    assert tw.AUTH_TOKEN not in "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)


def test_the_cli_sets_shows_and_lists(app, runner, merchant):
    result = runner.invoke(
        args=[
            "alerts",
            "set",
            merchant.client_id,
            "--notification-channels",
            "email,sms",
            "--alert-email",
            "ops@acme.example, cfo@acme.example",
            "--alert-phone",
            "+1 (415) 555-0123",
            "--alert-threshold",
            "USD:25",
            "--alert-threshold",
            "EUR 20.00",
            "--twilio-account-sid",
            tw.ACCOUNT_SID,
            "--twilio-auth-token",
            tw.AUTH_TOKEN,
            "--twilio-from",
            tw.FROM_NUMBER,
        ]
    )
    assert result.exit_code == 0, result.output
    shown = runner.invoke(args=["alerts", "show", merchant.client_id]).output
    assert "EMAIL, SMS" in shown and "ops@acme.example, cfo@acme.example" in shown and "+14155550123" in shown
    assert "EUR:20.00, USD:25.00" in shown and "AC3f9b…2ca1, from +14155550100" in shown
    assert tw.AUTH_TOKEN not in shown
    # options not given stay; the Twilio credentials stay without being given again
    result = runner.invoke(
        args=["alerts", "set", merchant.client_id, "--notification-channels", "WEBHOOK,SMS"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        kept = alert_settings.load(merchant.client_id)
    assert (
        kept.channels == ("WEBHOOK", "SMS")
        and kept.twilio == TWILIO
        and kept.thresholds == {"USD": 2500, "EUR": 2000}
    )
    bad = runner.invoke(args=["alerts", "set", merchant.client_id, "--alert-threshold", "USD:ten"])
    assert bad.exit_code != 0 and "not an amount" in bad.output
    assert runner.invoke(args=["alerts", "show", "nope"]).exit_code != 0
    assert runner.invoke(args=["alerts", "list", merchant.client_id]).exit_code == 0


def test_onboarding_sets_the_channels(app, runner):
    result = runner.invoke(
        args=[
            "onboard",
            "--name",
            "Acme Inc",
            "--webhook-url",
            "https://acme.example/hooks",
            "--json",
            "--notification-channels",
            "WEBHOOK,EMAIL",
            "--alert-email",
            "ops@acme.example",
        ]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["notificationChannels"] == ["WEBHOOK", "EMAIL"]
    with app.app_context():
        assert alert_settings.load(body["clientId"]).emails == ("ops@acme.example",)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--notification-channels", "EMAIL"], "EMAIL alerts need at least one alert email address"),
        (["--notification-channels", "SMS", "--alert-phone", PHONE], "Twilio account"),
        (["--notification-channels", "FAX"], "notification channels are WEBHOOK, EMAIL, SMS"),
    ],
)
def test_onboarding_with_bad_alert_options_creates_nothing(app, runner, args, message):
    result = runner.invoke(
        args=["onboard", "--name", "Acme Inc", "--webhook-url", "https://acme.example/h", *args]
    )
    assert result.exit_code != 0 and message in result.output
    with app.app_context():
        assert db.session.execute(select(Client)).first() is None


def test_the_merchant_alert_event_is_in_the_openapi_document(client):
    doc = client.get("/api/openapi.json").get_json()
    hook = doc["webhooks"]["merchant.alert"]["post"]
    assert hook["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MerchantAlertEvent"
    }
    schema = doc["components"]["schemas"]["MerchantAlertEvent"]
    assert schema["properties"]["type"]["enum"] == ["payment_failed", "needs_attention", "test"]
