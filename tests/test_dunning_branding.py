"""Branded dunning emails, over the real SMTP test server: the layout templates extend, CSS inlined,
the text part generated from the HTML, List-Unsubscribe (one-click) that stops dunning, the
merchant's sender identity and the open pixel where the merchant allows it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from revtain.dunning.sending import send_message
from revtain.extensions import db
from revtain.models import Client, Message, Recovery, Unsubscribe
from tests.support.smtp import smtp_server
from tests.test_dunning_sending import (
    CLICK,
    START,
    T0,
    advance,
    execute,
    messages,
    parts,
    setup_merchant,
    sweep_dunning,
)

LOGO = "https://cdn.acme.example/logo.png"


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


def brand(app, issued, **values) -> None:
    with app.app_context():
        client = db.session.get(Client, issued.client_id)
        for key, value in {"brand_logo_url": LOGO, "brand_primary_color": "#facc15",
                           "sender_reply_to": "help@acme.example", **values}.items():
            setattr(client, key, value)
        db.session.commit()


def test_the_default_email_is_branded_inlined_and_has_a_generated_text_part(app, inbox):
    issued = setup_merchant(app)
    brand(app, issued)
    execute(app, issued)
    assert sweep_dunning(app) == 1
    (mail,) = inbox.received
    plain, html = parts(mail)

    # the layout: logo header on the brand colour with readable (dark) text, preheader, footer
    assert f'<img src="{LOGO}" alt="Acme Cloud"' in html
    header = re.search(r'<td class="header" style="([^"]+)"', html).group(1)
    assert "background: #facc15" in header and "color: #111827" in header  # never white on yellow
    assert "<style" not in html  # inlined: many mail apps drop <style>
    assert re.search(r'<a class="button" href="[^"]+" style="background: #facc15;', html)
    assert "add a new one in a minute." in html  # the preheader
    assert 'href="mailto:help@acme.example"' in html
    unsubscribe = mail["List-Unsubscribe"]
    assert re.fullmatch(r"<http://revtain\.test/api/dunning/unsubscribe/[A-Za-z0-9_.-]+>", unsubscribe)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{unsubscribe[1:-1]}"' in html
    assert mail["Reply-To"] == "help@acme.example"

    # the text part, generated from the HTML: the words and links, no markup, no preheader
    assert "<" not in plain.replace("<br>", "") and "style" not in plain
    assert "Your card was declined when we tried to charge $49.00 USD for your Acme Cloud" in plain
    assert f"[Add a new card]({CLICK.search(html).group(0)})" in plain
    assert "help@acme.example" in plain and unsubscribe[1:-1] in plain
    assert "add a new one in a minute." not in plain
    assert "open_pixel" not in html and "/api/dunning/open/" not in html  # no pixel unless allowed


def test_one_click_unsubscribe_stops_the_customers_dunning_emails(app, inbox):
    issued = setup_merchant(app, steps=((0, "new_card", "any"), (24, "new_card", "any")))
    recovery_id = execute(app, issued)
    assert sweep_dunning(app) == 1
    (mail,) = inbox.received
    url = mail["List-Unsubscribe"][1:-1]
    path = url.removeprefix("http://revtain.test")
    web = app.test_client()

    # a link scanner's GET unsubscribes nobody: it shows the question
    page = web.get(path)
    assert page.status_code == 200 and "Stop payment reminders?" in page.get_data(as_text=True)
    assert "script-src" not in page.headers["Content-Security-Policy"]
    with app.app_context():
        assert db.session.execute(select(Unsubscribe)).first() is None
    # a forged or altered link is refused
    assert web.post(path[:-3] + "xyz", data="List-Unsubscribe=One-Click").status_code == 404

    # the mail app's one-click POST (RFC 8058)
    done = web.post(path, data="List-Unsubscribe=One-Click",
                    content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200 and "unsubscribed" in done.get_data(as_text=True)
    statuses = [(m.status, m.error) for m in messages(app, recovery_id)]
    assert statuses == [("sent", None), ("cancelled", "unsubscribed")]
    assert web.post(path, data="List-Unsubscribe=One-Click").status_code == 200  # twice: still fine

    advance(app, hours=25)
    sweep_dunning(app)
    assert len(inbox.received) == 1
    # the next failed payment of the same customer (any case) schedules nothing
    other = execute(app, issued, token="pm_other", email_to="JO@example.com")
    assert messages(app, other) == []


def test_a_message_due_after_an_unsubscribe_is_cancelled_when_it_comes_due(app, inbox):
    issued = setup_merchant(app)
    recovery_id = execute(app, issued)
    with app.app_context():  # unsubscribed by another route (e.g. the merchant), after scheduling
        db.session.add(Unsubscribe(client_id=issued.client_id, email="jo@example.com", created_at=T0))
        db.session.commit()
        (message,) = db.session.execute(select(Message).where(Message.recovery_id == recovery_id)).scalars()
        assert send_message(message.id) == "cancelled"
    assert inbox.received == []
    assert messages(app, recovery_id)[0].error == "unsubscribed"


@pytest.mark.parametrize("sequence_sender", [False, True])
def test_the_merchants_sender_identity_is_used_and_a_sequence_may_override_it(app, inbox, sequence_sender):
    extra = {"from_address": "billing@acme.example", "reply_to": "team@acme.example"}
    issued = setup_merchant(app, **(extra if sequence_sender else {}))
    brand(app, issued, sender_name="Acme Billing", sender_address="no-reply@acme.example")
    execute(app, issued)
    sweep_dunning(app)
    (mail,) = inbox.received
    sender = mail["From"].addresses[0]
    assert sender.display_name == "Acme Billing"
    if sequence_sender:
        assert sender.addr_spec == "billing@acme.example" and mail["Reply-To"] == "team@acme.example"
    else:
        assert sender.addr_spec == "no-reply@acme.example" and mail["Reply-To"] == "help@acme.example"


def test_the_open_pixel_is_there_only_when_the_merchant_allows_it(app, inbox):
    issued = setup_merchant(app)
    brand(app, issued, email_open_tracking=True)
    recovery_id = execute(app, issued)
    sweep_dunning(app)
    (mail,) = inbox.received
    _, html = parts(mail)
    pixel = re.search(r'<img src="(http://revtain\.test(/api/dunning/open/[^"]+\.gif))" width="1"', html)
    assert pixel, html
    assert messages(app, recovery_id)[0].opened_at is None
    opened = app.test_client().get(pixel.group(2))
    assert opened.status_code == 200 and opened.mimetype == "image/gif"
    assert messages(app, recovery_id)[0].opened_at == T0
    assert app.test_client().get("/api/dunning/open/forged.gif").status_code == 200  # a pixel, counts nothing

    with app.app_context():  # turned off again: an open is no longer counted
        client = db.session.get(Client, issued.client_id)
        client.email_open_tracking = False
        db.session.get(Recovery, recovery_id)
        db.session.execute(Message.__table__.update().values(opened_at=None))
        db.session.commit()
    app.test_client().get(pixel.group(2))
    assert messages(app, recovery_id)[0].opened_at is None
