"""A recovery's timeline tells its whole story: the dunning emails (scheduled, sent, clicked,
cancelled), the customer opening the card-update page, the card change (the original card kept in
history), the attempt with the new card and the webhooks, in time order and in the merchant's
timezone."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from revtain.dashboard.accounts import create_user
from revtain.extensions import db
from revtain.models import CardUpdateLink, Recovery
from tests.support.smtp import smtp_server
from tests.test_dashboard import PASSWORD, login
from tests.test_dunning_sending import CLICK, LINK, START, execute, messages, setup_merchant, sweep_dunning

ENTRY = re.compile(
    r'<li class="([a-z_]+)">\s*<strong>([^<]+)</strong> · <time datetime="[^"]*">([^<]+)</time>'
)


@pytest.fixture(scope="module")
def smtp():
    yield from smtp_server()


@pytest.fixture
def app(make_app, smtp):
    inbox = smtp.clear()
    return make_app(FROZEN_NOW=START, MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=inbox.port,
                    MAIL_SMTP_TLS="none", MAIL_FROM="Revtain <dunning@revtain.test>")


def advance(app, **delta) -> None:
    app.extensions["revtain.clock"].advance(timedelta(**delta))


def card_page(web, token: str) -> str:
    page = web.get(f"/api/recovery/update-card/{token}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def entries(page: str) -> list[tuple[str, str, str]]:
    return [(kind, html.unescape(title), when) for kind, title, when in ENTRY.findall(page)]


def test_emails_opens_and_the_card_change_are_on_the_timeline(app, smtp):
    issued = setup_merchant(app, steps=((0, "new_card", "any"), (48, "new_card", "any")),
                            timezone="Europe/Paris", quiet_hours=(0, 0))
    recovery_id = execute(app, issued)  # expired_card on pm_old_card: a new card is needed
    assert sweep_dunning(app) == 1
    tracked = CLICK.search(smtp.received[0].get_body(("plain",)).get_content()).group(0)

    web = app.test_client()
    advance(app, hours=1)
    clicked = web.get(tracked)  # the email's tracked link, to the card-update page
    assert clicked.status_code == 302
    token = LINK.fullmatch(clicked.headers["Location"]).group(1)
    card_page(web, token)
    advance(app, minutes=10)
    form = card_page(web, token)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form).group(1)
    advance(app, minutes=1)
    done = web.post(f"/api/recovery/update-card/{token}", data={
        "csrf": csrf, "number": "4111 1111 1111 1111", "expiry": "12/30", "cvc": "123"})
    assert done.status_code == 200 and "went through" in done.get_data(as_text=True)
    with app.app_context():
        recovery = db.session.get(Recovery, recovery_id)
        new_token = recovery.payment_method_token
        link = db.session.query(CardUpdateLink).one()
        assert (recovery.status, link.open_count) == ("succeeded", 2)
    assert new_token.startswith("tok_test_")
    assert [(m.status, m.error) for m in messages(app, recovery_id)] == [("sent", None),
                                                                        ("cancelled", "card_updated")]

    with app.app_context():
        create_user(issued.client_id, "ops@acme.example", "admin", PASSWORD)
    dashboard = app.test_client()
    assert login(dashboard, "ops@acme.example").status_code == 302
    page = dashboard.get(f"/dashboard/recoveries/{recovery_id}").get_data(as_text=True)
    assert entries(page) == [
        ("created", "Recovery created", "2026-03-17 13:00:00 CET"),  # Paris time
        ("message", "Email (dunning step 1) scheduled", "2026-03-17 13:00:00 CET"),
        ("message", "Email (dunning step 1) sent", "2026-03-17 13:00:00 CET"),
        ("message", "Email (dunning step 2) scheduled", "2026-03-17 13:00:00 CET"),
        ("open", "Email (dunning step 1) link clicked", "2026-03-17 14:00:00 CET"),
        ("open", "Card-update page opened", "2026-03-17 14:00:00 CET"),
        ("open", "Card-update page opened again", "2026-03-17 14:10:00 CET"),
        ("newcard", "Card updated", "2026-03-17 14:11:00 CET"),
        ("cancelled", "Email (dunning step 2) cancelled", "2026-03-17 14:11:00 CET"),
        ("attempt", "Attempt 1: approved", "2026-03-17 14:11:00 CET"),
        ("finished", "Finished: succeeded", "2026-03-17 14:11:00 CET"),
        ("webhook", "Webhook card.updated", "2026-03-17 14:11:00 CET"),
        ("webhook", "Webhook recovery.success", "2026-03-17 14:11:00 CET"),
    ]
    text = html.unescape(page)
    details = lambda title: text.split(f"<strong>{title}</strong>", 1)[1].split("</li>", 1)[0]  # noqa: E731
    # the recovery started with the old card: the new one does not rewrite history
    assert "<dt>Payment method</dt><dd class=\"mono\">pm_old_card</dd>" in details("Recovery created")
    assert re.search(r"Original payment method</dt><dd class=\"mono\">pm_old_card", text)
    card = details("Card updated")
    assert "<dt>Old payment method</dt><dd class=\"mono\">pm_old_card</dd>" in card
    assert f"<dt>New payment method</dt><dd class=\"mono\">{new_token}</dd>" in card
    assert f"the card-update page (link {link.id})" in card and "Visa ending 1111" in card
    assert f"<dd class=\"mono\">{new_token}</dd>" in details("Attempt 1: approved")
    assert "Opened in all</dt><dd class=\"mono\">2 times" in details("Card-update page opened again")
    assert "Clicks in all</dt><dd class=\"mono\">1<" in details("Email (dunning step 1) link clicked")
    assert "Action needed: update your card for Acme Cloud" in details("Email (dunning step 1) sent")
    assert "card updated" in details("Email (dunning step 2) cancelled")
    assert token not in page  # the link's token is a credential: never shown


def test_a_pending_email_is_upcoming_at_the_end(app, smtp):
    issued = setup_merchant(app, steps=((0, "new_card", "any"), (48, "new_card", "any")), quiet_hours=(0, 0))
    recovery_id = execute(app, issued, code="insufficient_funds")  # retried: a next retry is planned
    assert sweep_dunning(app) == 1
    with app.app_context():
        create_user(issued.client_id, "ops@acme.example", "finance", PASSWORD)
    dashboard = app.test_client()
    assert login(dashboard, "ops@acme.example").status_code == 302
    page = html.unescape(dashboard.get(f"/dashboard/recoveries/{recovery_id}").get_data(as_text=True))
    got = entries(page)
    scheduled = page.split("<strong>Email (dunning step 2) scheduled</strong>", 1)[1].split("</li>", 1)[0]
    assert "<dt>Due</dt><dd class=\"mono\">2026-03-19 12:00:00 UTC</dd>" in scheduled
    # what is still to come, in its own order after everything that happened
    assert [e for e in got if e[0] == "scheduled"] == got[-2:] == [
        ("scheduled", "Next retry scheduled", "2026-03-17 12:00:10 UTC"),
        ("scheduled", "Email (dunning step 2) due", "2026-03-19 12:00:00 UTC"),
    ]
