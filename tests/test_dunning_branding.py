"""Branded dunning emails, over the real SMTP test server: the layout templates extend, CSS inlined,
the text part generated from the HTML, List-Unsubscribe (one-click) that stops dunning, the
merchant's sender identity and the open pixel where the merchant allows it."""

from __future__ import annotations

import html as html_module
import re

import pytest
from sqlalchemy import select

from revtain.dunning.sending import send_message
from revtain.extensions import db
from revtain.formatting import money_with_code
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


def words(text: str) -> str:
    """Whitespace (Babel's no-break spaces included) as single spaces."""
    return " ".join(text.split())


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


def update_card_through(app, tracked_url: str) -> None:
    """The customer follows the tracked link and gives a new card (the test gateway accepts it)."""
    web = app.test_client()
    card_page = web.get(tracked_url.removeprefix("http://revtain.test")).headers["Location"]
    page = web.get(card_page.removeprefix("http://revtain.test"))
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.get_data(as_text=True)).group(1)
    done = web.post(card_page.removeprefix("http://revtain.test"), data={
        "csrf": csrf, "number": "4111 1111 1111 1111", "expiry": "12/30", "cvc": "123"})
    assert done.status_code == 200


def test_per_step_stats_count_sends_opens_clicks_and_the_amount_recovered_after_the_step(app, inbox):
    issued = setup_merchant(app, steps=((0, "new_card", "any"), (24, "new_card", "any")))
    brand(app, issued, email_open_tracking=True)
    first = execute(app, issued, token="pm_a", email_to="a@example.com", amount=4900)
    execute(app, issued, token="test_decline_insufficient_funds", email_to="b@example.com", amount=1500,
            currency="EUR")  # declined on every retry
    assert sweep_dunning(app) == 2
    to_a = next(m for m in inbox.received if m["To"] == "a@example.com")
    _, html = parts(to_a)
    app.test_client().get(re.search(r'src="http://revtain\.test(/api/dunning/open/[^"]+)"', html).group(1))
    advance(app, hours=1)
    update_card_through(app, CLICK.search(html).group(0))  # a's payment recovered after step 1
    with app.app_context():
        assert db.session.get(Recovery, first).recovered_at is not None
    advance(app, hours=24)
    assert sweep_dunning(app) == 1  # step 2 only to b: a's was cancelled

    from revtain.dunning.sequences import published_for
    from revtain.dunning.stats import step_stats

    with app.app_context():
        one, two = step_stats(published_for(issued.client_id))
    assert (one.sent, one.opened, one.clicked) == (2, 1, 1)
    assert (one.recovered, one.recovered_count) == ({"USD": 4900}, 1)
    assert (two.sent, two.opened, two.clicked, two.recovered, two.recovered_count) == (1, 0, 0, {}, 0)
    assert one.rate(one.clicked) == "50%"


@pytest.mark.parametrize(("locale", "unsubscribe"), [
    ("en", "Unsubscribe from payment reminders"),
    ("fr", "Ne plus recevoir les rappels de paiement"),
    ("de", "Zahlungserinnerungen abbestellen"),
    ("es", "Darse de baja de los recordatorios de pago"),
])
def test_the_layout_and_amounts_follow_the_customers_language(app, locale, unsubscribe):
    from revtain.dunning.templates import DEFAULT_TEMPLATES, branding, render, variables

    amount = money_with_code(4900, "USD", locale)  # formatting.py (Babel) is the one rule for money
    assert (locale == "en") == amount.startswith("$")

    with app.app_context():
        spec = DEFAULT_TEMPLATES["new_card"]
        rendered = render(spec["subject"], spec["html"], spec["text"], variables(
            customer_email="jo@example.com", amount=4900, currency="USD", card_update_link="https://x/l",
            decline_code="expired_card", brand=branding(None), unsubscribe_url="https://x/u", locale=locale))
    assert f'<html lang="{locale}">' in rendered.html
    assert words(amount) in words(html_module.unescape(rendered.html))
    assert words(amount) in words(rendered.text)
    assert unsubscribe in rendered.html and unsubscribe in rendered.text


@pytest.mark.skipif(not hasattr(Recovery, "customer_locale"),
                    reason="recoveries have no customer_locale (customerLocale) column on this branch yet")
def test_a_french_customer_gets_the_email_in_french_over_smtp(app, inbox):
    issued = setup_merchant(app)
    recovery_id = execute(app, issued, amount=4900, currency="EUR")
    with app.app_context():
        db.session.get(Recovery, recovery_id).customer_locale = "fr-FR"
        db.session.commit()
    sweep_dunning(app)
    (mail,) = inbox.received
    plain, html = parts(mail)
    amount = money_with_code(4900, "EUR", "fr")
    assert '<html lang="fr">' in html
    assert words(amount) in words(html_module.unescape(html)) and words(amount) in words(plain)
    assert "Ne plus recevoir les rappels de paiement" in html


# The words of an unedited default follow the customer's language; what a merchant wrote does not.
@pytest.mark.parametrize(("locale", "language", "subject", "said"), [
    ("fr-FR", "fr", "Action requise : mettez à jour votre carte pour Acme Cloud",
     ["Votre carte a été refusée lorsque nous avons tenté de prélever", "Ajouter une nouvelle carte",
      "L'équipe Acme Cloud"]),
    ("de-AT", "de", "Aktion erforderlich: Bitte aktualisieren Sie Ihre Karte für Acme Cloud",
     ["Ihre Karte wurde abgelehnt, als wir versucht haben,", "Neue Karte hinzufügen",
      "Ihr Team von Acme Cloud"]),
    ("es", "es", "Acción necesaria: actualiza tu tarjeta para Acme Cloud",
     ["Tu tarjeta fue rechazada cuando intentamos cobrar", "Añadir una nueva tarjeta",
      "El equipo de Acme Cloud"]),
    ("en-GB", "en", "Action needed: update your card for Acme Cloud",
     ["Your card was declined when we tried to charge", "Add a new card", "The Acme Cloud team"]),
    ("pt-BR", "en", "Action needed: update your card for Acme Cloud",  # not written yet: English
     ["Your card was declined when we tried to charge", "Add a new card", "The Acme Cloud team"]),
])
def test_a_default_email_is_sent_in_the_customers_language(app, inbox, locale, language, subject, said):
    issued = setup_merchant(app)
    execute(app, issued, amount=4900, currency="EUR", locale=locale)
    assert sweep_dunning(app) == 1
    (mail,) = inbox.received
    plain, html = parts(mail)
    assert mail["Subject"] == subject
    amount = words(money_with_code(4900, "EUR", language))  # formatting.py's rule for money
    for text in (words(html_module.unescape(html)), words(plain)):
        assert amount in text
        for phrase in said:
            assert phrase in text
    assert f'<html lang="{language}">' in html
    if language != "en":
        assert "Your card was declined" not in plain and "Add a new card" not in plain


def test_a_template_the_merchant_wrote_is_sent_as_written_to_a_french_customer(app, inbox):
    from revtain.dunning import sequences
    from revtain.dunning.templates import DEFAULT_TEMPLATES

    issued = setup_merchant(app, publish=False)
    with app.app_context():
        client = db.session.get(Client, issued.client_id)
        spec = DEFAULT_TEMPLATES["new_card"]  # the editor's starting point, lightly edited
        template = sequences.create_template(
            client, "Ours", spec["subject"] + " today",
            spec["html"].replace("It only takes a minute.", "Reason: {{ decline_reason }}"), "")
        sequence = sequences.create_sequence(client, "Ours", [sequences.StepSpec(template.id, 0)],
                                             hold_while_retrying=False, quiet_hours=(21, 8))
        sequences.publish(sequence)
    execute(app, issued, amount=4900, currency="EUR", locale="fr")
    assert sweep_dunning(app) == 1
    (mail,) = inbox.received
    plain, html = parts(mail)
    assert "<html lang=\"fr\">" in html
    assert mail["Subject"] == "Action needed: update your card for Acme Cloud today"
    assert "Your card was declined when we tried to charge" in plain and "Add a new card" in plain
    assert "Votre carte a été refusée" not in plain
    # what the merchant wrote stays; the variables still speak the customer's language
    assert words(money_with_code(4900, "EUR", "fr")) in words(plain)
    assert "Reason: La carte enregistrée a expiré." in plain
