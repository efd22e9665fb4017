"""Pre-dunning (issue 15): one reminder email before a card on file expires, over a real SMTP server."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from revtain.cardupdate import links
from revtain.clock import now as clock_now
from revtain.dunning.optout import unsubscribe
from revtain.extensions import db
from revtain.models import CardExpiryReminder, Client, Recovery
from tests.support.jobs import sweep
from tests.support.smtp import smtp_server
from tests.test_dunning_sending import START, advance, parts, setup_merchant

LINK = re.compile(r"http://revtain\.test/api/recovery/update-card/[A-Za-z0-9_-]+")


@pytest.fixture(scope="module")
def smtp():
    yield from smtp_server()


@pytest.fixture
def inbox(smtp):
    return smtp.clear()


def make(make_app, inbox, **config):
    return make_app(FROZEN_NOW=START, MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=inbox.port,
                    MAIL_SMTP_TLS="none", MAIL_FROM="Revtain <dunning@revtain.test>", **config)


@pytest.fixture
def app(make_app, inbox):
    return make(make_app, inbox)


def post_execute(app, issued, **fields):
    body = {"paymentMethodToken": "pm_on_file", "amount": 4900, "currency": "USD",
            "originalDeclineCode": "insufficient_funds", "customerEmail": "jo@example.com", **fields}
    return app.test_client().post("/api/recovery/execute", json=body, headers={"X-API-KEY": issued.api_key})


def execute_with_card(app, issued, month=3, year=2026, **fields) -> str:
    r = post_execute(app, issued, cardExpMonth=month, cardExpYear=year, **fields)
    assert r.status_code in (200, 202), r.get_data()
    return r.get_json()["transactionId"]


def reminders(app) -> list[CardExpiryReminder]:
    with app.app_context():
        rows = db.session.execute(select(CardExpiryReminder)).scalars().all()
        db.session.expunge_all()
        return rows


def test_one_reminder_is_sent_n_days_before_the_card_expires_and_never_twice(app, inbox):
    # 2026-03-17 12:00; a 03/2026 card expires at the end of March (2026-04-01 00:00 UTC): 14.5 days
    issued = setup_merchant(app, publish=False)
    recovery_id = execute_with_card(app, issued)
    with app.app_context():
        recovery = db.session.get(Recovery, recovery_id)
        assert (recovery.card_exp_month, recovery.card_exp_year) == (3, 2026)
    sweep(app)
    assert inbox.received == [] and reminders(app) == []

    advance(app, hours=12)  # now 14 days before
    assert sweep(app)["card_expiry_reminders"] == 1
    (mail,) = inbox.received
    assert mail["To"] == "jo@example.com"
    assert mail["Subject"] == "Your card for Acme Cloud expires soon"
    assert mail["List-Unsubscribe"]
    plain, html = parts(mail)
    assert "expires soon" in plain and "03/2026" in plain and "03/2026" in html
    link = LINK.search(plain).group(0)
    assert f'href="{link}"' in html
    assert app.test_client().get(link.removeprefix("http://revtain.test")).status_code == 200
    (sent,) = reminders(app)
    assert (sent.status, sent.recovery_id, sent.exp_year, sent.exp_month) == ("sent", recovery_id, 2026, 3)

    # another tick, a day later, and a second recovery for the same card: still one reminder
    advance(app, days=1)
    execute_with_card(app, issued, idempotencyKey="inv_2")
    assert sweep(app)["card_expiry_reminders"] == 0
    sweep(app)
    assert len(inbox.received) == 1 and len(reminders(app)) == 1


def test_no_reminder_for_an_unsubscribed_customer_or_without_an_email(app, inbox):
    issued = setup_merchant(app, publish=False)
    execute_with_card(app, issued)
    execute_with_card(app, issued, paymentMethodToken="pm_no_email", customerEmail=None,
                      idempotencyKey="inv_2")
    with app.app_context():
        unsubscribe(issued.client_id, "Jo@Example.com", clock_now())
    advance(app, days=10)
    sweep(app)
    assert inbox.received == [] and reminders(app) == []


def test_no_reminder_when_the_option_is_zero(make_app, inbox):
    app = make(make_app, inbox, CARD_EXPIRY_REMINDER_DAYS=0)
    issued = setup_merchant(app, publish=False)
    execute_with_card(app, issued)
    advance(app, days=10)
    assert sweep(app)["card_expiry_reminders"] == 0
    assert inbox.received == [] and reminders(app) == []


def test_no_reminder_for_a_card_that_expires_later(app, inbox):
    issued = setup_merchant(app, publish=False)
    execute_with_card(app, issued, month=5)
    advance(app, days=10)
    sweep(app)
    assert inbox.received == [] and reminders(app) == []


@pytest.mark.parametrize(("fields", "field", "problem"), [
    ({"cardExpMonth": 13, "cardExpYear": 2027}, "cardExpMonth", "less than or equal to 12"),
    ({"cardExpMonth": 0, "cardExpYear": 2027}, "cardExpMonth", "greater than or equal to 1"),
    ({"cardExpMonth": "03", "cardExpYear": 2027}, "cardExpMonth", "valid integer"),
    ({"cardExpMonth": 3, "cardExpYear": 27}, "cardExpYear", "greater than or equal to 2000"),
    ({"cardExpMonth": 3, "cardExpYear": 2101}, "cardExpYear", "less than or equal to 2100"),
    ({"cardExpMonth": 3}, "cardExpYear", "is required with cardExpMonth"),
    ({"cardExpYear": 2027}, "cardExpYear", "needs cardExpMonth too"),
])
def test_a_bad_card_expiry_is_a_400_naming_the_field(app, fields, field, problem):
    issued = setup_merchant(app, publish=False)
    r = post_execute(app, issued, **fields)
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] == "Validation failed." and field in body["fields"]
    assert problem in body["fields"][field] and body["message"].startswith(field)


def test_no_reminder_once_the_recovery_succeeded_with_a_newer_card(app, inbox):
    issued = setup_merchant(app, publish=False)
    recovery_id = execute_with_card(app, issued, originalDeclineCode="expired_card")
    with app.app_context():
        _link, token = links.generate(db.session.get(Client, issued.client_id), "pm_on_file")
    web = app.test_client()
    page = web.get(f"/api/recovery/update-card/{token}")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.get_data(as_text=True)).group(1)
    done = web.post(f"/api/recovery/update-card/{token}", data={
        "csrf": csrf, "number": "4111 1111 1111 1111", "expiry": "12/30", "cvc": "123"})
    assert done.status_code == 200
    with app.app_context():
        recovery = db.session.get(Recovery, recovery_id)
        assert recovery.status == "succeeded" and recovery.payment_method_token != "pm_on_file"
    advance(app, days=10)
    sweep(app)
    assert inbox.received == [] and reminders(app) == []


def test_a_reminder_whose_worker_died_mid_send_is_sent_again_once_its_lease_ends(app, inbox):
    issued = setup_merchant(app, publish=False)
    execute_with_card(app, issued)
    advance(app, hours=12)  # 14 days before the card expires
    assert sweep(app)["card_expiry_reminders"] == 1
    (first,) = inbox.received
    # As if the job had claimed the row and its worker was killed before the email went out.
    with app.app_context():
        row = db.session.execute(select(CardExpiryReminder)).scalar_one()
        row.status, row.sent_at, row.claimed_at = "sending", None, clock_now()
        db.session.commit()
    inbox.clear()
    advance(app, seconds=app.config["CLAIM_LEASE_SECONDS"] - 1)
    sweep(app)
    assert inbox.received == []  # still within its lease: maybe still sending
    advance(app, seconds=62)
    sweep(app)
    (again,) = inbox.received
    assert again["Message-ID"] == first["Message-ID"]  # the same reminder, recognisably
    assert [r.status for r in reminders(app)] == ["sent"]
