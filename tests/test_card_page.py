"""The customer's card-update page (issue 15): amount due and what for, the customer's language,
field-level errors that keep what was typed, autofilled expiries, support contact, logo fallback
and brand colours people can read; and the execute fields behind them."""

from __future__ import annotations

import re

import pytest

from revtain.cardupdate.card_input import split_expiry
from revtain.extensions import db
from revtain.models import Client
from revtain.onboarding import OnboardingError, onboard
from tests.support.card_update import csrf_of, generate, page_path, recovery_row

START = "2026-03-16T12:00:00+00:00"
DOMAIN = "pay.acme.example"
HOST = {"Host": DOMAIN}


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def merchant(app, runner, receiver):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, card_update_domain=DOMAIN,
                         brand_name="Acme Cloud", brand_primary_color="#0f766e",
                         brand_logo_url="https://acme.example/logo.png")
        client = db.session.get(Client, issued.client_id)
        client.brand_support_email = "help@acme.example"
        client.brand_support_url = "https://acme.example/help"
        db.session.commit()
    result = runner.invoke(args=["domains", "verify", issued.client_id, "--force"])
    assert result.exit_code == 0, result.output
    return issued


def execute(client, headers, **body):
    body = {"paymentMethodToken": "pm_old_card", "amount": 4900, "currency": "EUR",
            "originalDeclineCode": "expired_card", **body}
    return client.post("/api/recovery/execute", headers=headers, json=body)


def open_page(client, headers, **body):
    r = execute(client, headers, **body)
    assert r.status_code == 202, r.get_data()
    link = generate(client, headers, "pm_old_card")
    return r.get_json()["transactionId"], link


# --- execute's new fields ------------------------------------------------------------------------

def test_description_and_customer_locale_are_stored_on_the_recovery(app, client, headers):
    r = execute(client, headers, description="Pro plan, March 2026", customerLocale="fr-CA")
    assert r.status_code == 202, r.get_data()
    row = recovery_row(app, r.get_json()["transactionId"])
    assert (row.description, row.customer_locale) == ("Pro plan, March 2026", "fr-CA")


@pytest.mark.parametrize("field, value", [
    ("description", "x" * 201),
    ("description", ""),
    ("description", "Pro plan\nDecember"),
    ("description", 42),
    ("customerLocale", "french please"),
    ("customerLocale", "f"),
    ("customerLocale", "fr-" + "x" * 40),
    ("customerLocale", ["fr"]),
])
def test_bad_description_or_locale_is_a_400_naming_the_field(client, headers, field, value):
    r = execute(client, headers, **{field: value})
    assert r.status_code == 400, r.get_data()
    assert field in r.get_data(as_text=True)


def test_a_200_character_description_is_accepted(client, headers):
    assert execute(client, headers, description="é" * 200).status_code == 202


# --- the page --------------------------------------------------------------------------------------

def test_the_page_shows_the_amount_due_what_for_and_the_support_contact(client, headers, merchant):
    _tx, link = open_page(client, headers, description="Pro plan, March 2026")
    r = client.get(page_path(link), headers=HOST)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and '<html lang="en">' in html
    assert re.search(r"Amount due</dt>\s*<dd class=\"amount\">€49.00</dd>", html), html
    assert "Pro plan, March 2026" in html
    assert 'href="mailto:help@acme.example"' in html and 'href="https://acme.example/help"' in html
    # a logo that fails to load is replaced by the brand's name (its alt text without script)
    assert re.search(r'<img class="logo" src="https://acme.example/logo.png" alt="Acme Cloud"[^>]*'
                     r'data-fallback="Acme Cloud"', html)
    assert 'autocomplete="cc-exp"' in html and "--on-brand: #ffffff" in html


@pytest.mark.parametrize("locale, accept, lang, heading, amount", [
    ("fr", None, "fr", "Mettez à jour votre moyen de paiement", "49,00\u00a0€"),
    ("de-DE", "fr", "de", "Aktualisieren Sie Ihre Zahlungsmethode", "49,00\u00a0€"),
    ("es-MX", None, "es", "Actualiza tu método de pago", "49,00\u00a0€"),
    (None, "de-CH,de;q=0.9,en;q=0.5", "de", "Aktualisieren Sie Ihre Zahlungsmethode", "49,00\u00a0€"),
    ("it", "es", "es", "Actualiza tu método de pago", "49,00\u00a0€"),  # unsupported: the browser's
    (None, "ja", "en", "Update your payment method", "€49.00"),
])
def test_the_page_speaks_the_customers_language(client, headers, merchant, locale, accept, lang,
                                                heading, amount):
    body = {"customerLocale": locale} if locale else {}
    _tx, link = open_page(client, headers, **body)
    r = client.get(page_path(link), headers={**HOST, **({"Accept-Language": accept} if accept else {})})
    html = r.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html and r.headers["Content-Language"] == lang
    assert heading in html, html
    assert amount in html, html


def test_a_field_error_is_shown_at_its_field_and_keeps_what_was_typed(client, headers, merchant):
    _tx, link = open_page(client, headers, customerLocale="fr")
    form = client.get(page_path(link), headers=HOST).get_data(as_text=True)
    r = client.post(page_path(link), headers=HOST, data={
        "csrf": csrf_of(form), "number": "4111 1111 1111 1111", "expiry": "13/30", "cvc": "123"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert re.search(r'id="number"[^>]*value="4111 1111 1111 1111"', html)
    assert re.search(r'id="expiry"[^>]*value="13/30" aria-invalid="true" aria-describedby="expiry-error"',
                     html), html
    assert ('<p class="field-error" id="expiry-error">Saisissez la date d&#39;expiration au format MM/AA.</p>'
            in html)
    assert 'id="number-error"' not in html and 'name="cvc"' in html and 'value="123"' not in html


def test_every_empty_field_is_marked_at_once(client, headers, merchant):
    _tx, link = open_page(client, headers)
    form = client.get(page_path(link), headers=HOST).get_data(as_text=True)
    html = client.post(page_path(link), headers=HOST, data={"csrf": csrf_of(form)}).get_data(as_text=True)
    assert "Please correct the 3 highlighted fields." in html
    assert html.count('aria-invalid="true" aria-describedby=') == 3
    for text in ("Enter your card number.", "Enter the expiry date (MM/YY).",
                 "Enter the security code from the card."):
        assert text in html


@pytest.mark.parametrize("expiry", ["0130", "01/30", "01 / 2030", "1/30", "01-2030", "012030"])
def test_autofilled_expiries_are_accepted(client, headers, merchant, expiry):
    _tx, link = open_page(client, headers, description="Pro plan")
    form = client.get(page_path(link), headers=HOST).get_data(as_text=True)
    r = client.post(page_path(link), headers=HOST, data={
        "csrf": csrf_of(form), "number": "4111111111111111", "expiry": expiry, "cvc": "123"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    # a receipt: amount paid, what for, the card, the date and a reference
    assert "Payment received" in html and "€49.00" in html and "Pro plan" in html
    assert "Visa •••• 1111" in html and "March 16, 2026" in html and "rtg_" in html


@pytest.mark.parametrize("text, parts", [
    ("0130", ("01", "30")), ("01/30", ("01", "30")), ("01 / 2030", ("01", "2030")),
    ("1/30", ("01", "30")), ("12.2031", ("12", "2031")), (" 0130 ", ("01", "30")),
    ("", None), ("1", None), ("01/3", None), ("01/203", None), ("ab/cd", None), ("１２/30", None),  # noqa: RUF001
])
def test_split_expiry(text, parts):
    assert split_expiry(text) == parts


def test_the_receipt_is_in_the_customers_language(client, headers, merchant):
    _tx, link = open_page(client, headers, customerLocale="de")
    form = client.get(page_path(link), headers=HOST).get_data(as_text=True)
    html = client.post(page_path(link), headers=HOST, data={
        "csrf": csrf_of(form), "number": "5555 5555 5555 4444", "expiry": "01 / 2030", "cvc": "123",
    }).get_data(as_text=True)
    assert "Zahlung erhalten" in html and "49,00\u00a0€" in html and "16. März 2026" in html


# --- brand colours ---------------------------------------------------------------------------------

def test_a_light_brand_colour_saved_earlier_gets_dark_button_text(app, client, headers, merchant):
    with app.app_context():
        db.session.get(Client, merchant.client_id).brand_primary_color = "#facc15"
        db.session.commit()
    _tx, link = open_page(client, headers)
    html = client.get(page_path(link), headers=HOST).get_data(as_text=True)
    assert "--brand: #facc15; --on-brand: #111827;" in html


def test_onboarding_refuses_a_brand_colour_white_text_cannot_be_read_on(app, receiver):
    with app.app_context(), pytest.raises(OnboardingError, match=r"1\.53:1.*4\.5:1.*darker colour"):
        onboard(name="Sunny", webhook_url=receiver.url, brand_primary_color="#facc15")
