"""SMS dunning steps through Twilio's official library, with only its HTTP layer stubbed
(tests/support/twilio.py): opt-in per merchant, only to customers with a phone (``customerPhone``,
E.164, a 400 naming the field otherwise), retried while Twilio is busy, failed with the reason."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from revtain.alerts import settings as alert_settings
from revtain.alerts.settings import Settings, TwilioCredentials
from revtain.dunning import sequences
from revtain.dunning.sequences import SequenceError, StepSpec
from revtain.extensions import db
from revtain.models import Client, MessageTemplate
from revtain.onboarding import onboard
from tests.support import twilio as tw
from tests.support.smtp import smtp_server
from tests.test_dunning_sending import START, advance, messages, sweep_dunning

PHONE = "+447700900123"
TWILIO = TwilioCredentials(tw.ACCOUNT_SID, tw.AUTH_TOKEN, tw.FROM_NUMBER)
LINK = re.compile(r"http://revtain\.test/api/recovery/update-card/[A-Za-z0-9_-]+$")


@pytest.fixture(scope="module")
def smtp():
    yield from smtp_server()


@pytest.fixture
def inbox(smtp):
    return smtp.clear()


@pytest.fixture
def app(make_app, inbox):
    return make_app(FROZEN_NOW=START, MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=inbox.port,
                    MAIL_SMTP_TLS="none", MAIL_FROM="Revtain <dunning@revtain.test>")




def sms_merchant(app, *, opted_in=True, twilio=True):
    """Email at once and a text message at once, for any decline."""
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=None, brand_name="Acme Cloud")
        client = db.session.get(Client, issued.client_id)
        sequences.install_default_templates(client)
        client.sms_dunning_enabled = True  # to build the sequence
        db.session.commit()
        new_card = db.session.execute(select(MessageTemplate).where(
            MessageTemplate.client_id == client.id, MessageTemplate.builtin == "new_card")).scalar_one()
        sequence = sequences.create_sequence(
            client, "Email and SMS", [StepSpec(new_card.id, 0), StepSpec(new_card.id, 0, channel="sms")],
            hold_while_retrying=False, quiet_hours=(0, 0))
        sequences.publish(sequence)
        client.sms_dunning_enabled = opted_in
        db.session.commit()
        if twilio:
            alert_settings.save(client, Settings(twilio=TWILIO))
    return issued


def execute_with_phone(app, issued, phone=PHONE, token="card"):
    return execute_raw(app, issued, {"customerPhone": phone}, token=token)


def execute_raw(app, issued, extra, token="card"):
    """A failed payment whose card keeps being declined (the test gateway's ``test_decline_``); a
    different amount per ``token``: not a duplicate of another."""
    body = {"paymentMethodToken": "test_decline_expired_card", "amount": 4900 + len(token), "currency": "USD",
            "originalDeclineCode": "expired_card", "customerEmail": "jo@example.com",
            "idempotencyKey": f"inv_{token}", **extra}
    return app.test_client().post("/api/recovery/execute", json=body, headers={"X-API-KEY": issued.api_key})


def test_an_sms_step_texts_the_customer_through_twilio_with_a_working_link(app, inbox, twilio_http):
    issued = sms_merchant(app)
    r = execute_with_phone(app, issued)
    assert r.status_code == 202, r.get_json()
    recovery_id = r.get_json()["transactionId"]
    assert [(m.channel, m.to_address) for m in messages(app, recovery_id)] == [
        ("email", "jo@example.com"), ("sms", PHONE)]
    twilio_http.created(1)
    assert sweep_dunning(app) == 2
    assert len(inbox.received) == 1  # the email step, as before

    (sms,) = twilio_http.requests
    assert (sms.method, sms.host, sms.path) == (
        "POST", "api.twilio.com", f"/2010-04-01/Accounts/{tw.ACCOUNT_SID}/Messages.json")
    assert sms.basic_auth == (tw.ACCOUNT_SID, tw.AUTH_TOKEN)
    assert sms.form["To"] == PHONE and sms.form["From"] == tw.FROM_NUMBER
    body = sms.form["Body"]
    assert body.startswith("Action needed: update your card for Acme Cloud http://revtain.test/")
    link = LINK.search(body).group(0)
    assert app.test_client().get(link.removeprefix("http://revtain.test")).status_code == 200  # it works
    text_message = next(m for m in messages(app, recovery_id) if m.channel == "sms")
    assert text_message.status == "sent" and text_message.provider_ref.startswith("SM")
    assert text_message.subject == "Action needed: update your card for Acme Cloud"  # never the link


@pytest.mark.parametrize("phone", ["0612345678", "+0123456789", "+44 7700 900123", "+1234", 447700900123])
def test_a_phone_that_is_not_e164_is_a_400_naming_the_field(app, phone):
    issued = sms_merchant(app, twilio=False)
    r = execute_with_phone(app, issued, phone=phone)
    assert r.status_code == 400
    assert "customerPhone" in str(r.get_json()), r.get_json()


def test_no_text_without_the_merchants_opt_in_or_the_customers_phone(app, inbox, twilio_http):
    issued = sms_merchant(app, opted_in=False)
    r = execute_with_phone(app, issued)
    assert [m.channel for m in messages(app, r.get_json()["transactionId"])] == ["email"]
    with app.app_context():  # and a new sequence cannot have SMS steps
        client = db.session.get(Client, issued.client_id)
        template_id = db.session.execute(select(MessageTemplate.id).where(
            MessageTemplate.client_id == client.id)).scalars().first()
        with pytest.raises(SequenceError, match="text messages are off"):
            sequences.create_sequence(client, "SMS", [StepSpec(template_id, 0, channel="sms")])

    opted_in = sms_merchant(app)  # another merchant, opted in: a customer without a phone gets email only
    r = execute_raw(app, opted_in, {}, token="pm_no_phone")
    assert [m.channel for m in messages(app, r.get_json()["transactionId"])] == ["email"]
    assert sweep_dunning(app) == 2 and twilio_http.requests == []


def test_opting_out_after_scheduling_cancels_the_pending_texts(app, inbox, twilio_http):
    issued = sms_merchant(app)
    recovery_id = execute_with_phone(app, issued).get_json()["transactionId"]
    with app.app_context():
        db.session.get(Client, issued.client_id).sms_dunning_enabled = False
        db.session.commit()
    sweep_dunning(app)
    sms = next(m for m in messages(app, recovery_id) if m.channel == "sms")
    assert (sms.status, sms.error) == ("cancelled", "sms_disabled") and twilio_http.requests == []


def test_twilio_busy_is_tried_again_and_a_bad_number_fails_with_the_reason(app, inbox, twilio_http):
    issued = sms_merchant(app)
    busy = execute_with_phone(app, issued, token="pm_busy").get_json()["transactionId"]
    bad = execute_with_phone(app, issued, phone="+15005550001", token="pm_bad").get_json()["transactionId"]
    twilio_http.reply_to(PHONE, 429, tw.error(429, 20429, "Too Many Requests"))
    twilio_http.reply_to("+15005550001", 400, tw.error(400, 21211, "The 'To' number +15005550001 is not a "
                                                                   "valid phone number."))
    sweep_dunning(app)
    sms = next(m for m in messages(app, busy) if m.channel == "sms")
    assert sms.status == "pending" and "Twilio 429" in sms.error and sms.tries == 1
    failed = next(m for m in messages(app, bad) if m.channel == "sms")
    assert failed.status == "failed" and "21211" in failed.error
    assert "not a valid phone number" in failed.error

    twilio_http.created(1)
    advance(app, seconds=61)
    sweep_dunning(app)
    sms = next(m for m in messages(app, busy) if m.channel == "sms")
    assert (sms.status, sms.error, sms.tries) == ("sent", None, 2)


def test_without_a_twilio_account_the_text_fails_with_the_reason(app, inbox, twilio_http):
    issued = sms_merchant(app, twilio=False)
    recovery_id = execute_with_phone(app, issued).get_json()["transactionId"]
    sweep_dunning(app)
    sms = next(m for m in messages(app, recovery_id) if m.channel == "sms")
    assert sms.status == "failed" and "no Twilio account" in sms.error


def test_an_sms_step_on_a_default_template_speaks_the_customers_language(app, inbox, twilio_http):
    issued = sms_merchant(app)
    r = execute_raw(app, issued, {"customerPhone": PHONE, "customerLocale": "de-DE"})
    assert r.status_code == 202, r.get_json()
    twilio_http.created(1)
    assert sweep_dunning(app) == 2
    (sms,) = twilio_http.requests
    assert sms.form["Body"].startswith(
        "Aktion erforderlich: Bitte aktualisieren Sie Ihre Karte für Acme Cloud http://revtain.test/")
    (mail,) = inbox.received
    assert mail["Subject"] == "Aktion erforderlich: Bitte aktualisieren Sie Ihre Karte für Acme Cloud"
