"""The customer's card page and the 3-D Secure confirmation, in headless Chromium on a phone.

Revtain runs as real processes (gunicorn, a worker, the scheduler; see ``test_card_update_browser``)
on a test-gateway merchant with a brand, a support contact, a logo that cannot load and a verified
card-update domain. On a 390x844 phone:

- the card page in French (the recovery's ``customerLocale``) and in German (the browser's
  language): amount due and what for, the logo replaced by the brand's name, the card's brand shown
  and its number spaced as typed (``card-page.js`` under the page's CSP), a wrong expiry refused at
  its field with the number kept, then an autofill-style ``0130`` accepted and a receipt;
- an ``authentication_required`` payment confirmed through the test bank's 3-D Secure challenge.

axe-core finds no serious or critical violation on any of these pages. Screenshots go to a
temporary folder, or to ``docs/screenshots/`` with ``REVTAIN_WRITE_SCREENSHOTS=1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from flask import Flask

from revtain import create_app
from revtain.cardupdate.authentication import TEST_CHALLENGE_CODE
from revtain.cardupdate.domains import verify
from revtain.extensions import db
from revtain.models import Client
from revtain.onboarding import IssuedCredentials, onboard
from tests.browser.accessibility import serious_violations
from tests.browser.conftest import CARD_UPDATE_HOSTS, stack_settings
from tests.conftest import _clean
from tests.support.processes import Stack

DOMAIN = CARD_UPDATE_HOSTS[0]
BRAND = "Acme Cloud"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}
BROKEN_LOGO = "https://127.0.0.1:9/logo.png"  # nothing listens there: the image fails at once


@dataclass
class Live:
    app: Flask
    stack: Stack
    merchant: IssuedCredentials

    def link(self, token: str, **body) -> str:
        """A failed payment of €49.00 for ``token``, and its card-update link as the browser opens it."""
        headers = {"X-API-KEY": self.merchant.api_key}
        r = requests.post(f"{self.stack.base_url}/api/recovery/execute", headers=headers, timeout=10, json={
            "paymentMethodToken": token, "amount": 4900, "currency": "EUR",
            "description": "Pro plan, December", **body})
        assert r.status_code in (202, 403), self.stack.explain(r)
        g = requests.post(f"{self.stack.base_url}/api/recovery/update-card/generate", headers=headers,
                          timeout=10, json={"paymentMethodToken": token})
        assert g.status_code == 201, self.stack.explain(g)
        parts = urlsplit(g.json()["url"])
        assert parts.hostname == DOMAIN, parts
        port = urlsplit(self.stack.base_url).port
        return urlunsplit(("http", f"{DOMAIN}:{port}", parts.path, "", ""))


@pytest.fixture(scope="module")
def live(browser, smtp, base_config, database_url, redis_url, instance_dir, migrated,
         tmp_path_factory) -> Iterator[Live]:
    app = create_app(base_config)
    settings = stack_settings(smtp, database_url, redis_url, instance_dir)
    try:
        with Stack(settings, tmp_path_factory.mktemp("card-page-logs")) as stack:
            with app.app_context():
                merchant = onboard(name="Acme Inc", webhook_url=None, gateway="test",
                                   card_update_domain=DOMAIN, brand_name=BRAND,
                                   brand_primary_color="#0f766e", brand_logo_url=BROKEN_LOGO)
                client = db.session.get(Client, merchant.client_id)
                client.brand_support_email = "help@acme.example"
                client.brand_support_url = "https://acme.example/help"
                db.session.commit()
                verify(client, force=True)
            yield Live(app, stack, merchant)
    finally:
        _clean(app)


def no_serious_violations(page) -> None:
    found = serious_violations(page)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("language, token, options", [
    ("fr", "pm_card_fr", {"customerLocale": "fr-FR"}),
    ("de", "pm_card_de", {}),  # no customerLocale: the browser's language (de-DE)
])
def test_phone_card_page_in_the_customers_language_keeps_input_on_a_field_error(
    live, browser, screenshot_dir, language, token, options,
):
    words = {
        "fr": {"heading": "Mettez à jour votre moyen de paiement", "due": "Montant dû",
               "amount": "49,00\u00a0€", "number": "Numéro de carte", "expiry": "Expiration (MM/AA)",
               "cvc": "Code de sécurité", "pay": "Enregistrer la carte et payer",
               "expiry_error": "Saisissez la date d'expiration au format MM/AA.",
               "done": "Paiement reçu"},
        "de": {"heading": "Aktualisieren Sie Ihre Zahlungsmethode", "due": "Fälliger Betrag",
               "amount": "49,00\u00a0€", "number": "Kartennummer", "expiry": "Gültig bis (MM/JJ)",
               "cvc": "Prüfnummer", "pay": "Karte speichern und bezahlen",
               "expiry_error": "Geben Sie das Ablaufdatum im Format MM/JJ ein.",
               "done": "Zahlung erhalten"},
    }[language]
    url = live.link(token, originalDeclineCode="expired_card", **options)
    context = browser.new_context(**PHONE, locale="de-DE" if language == "de" else "en-US")
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200
        assert page.locator("html").get_attribute("lang") == language
        assert page.get_by_role("heading", level=1).inner_text() == words["heading"]
        due = page.locator("dl.due").inner_text()
        assert words["due"] in due and words["amount"] in due and "Pro plan, December" in due
        # the broken logo is replaced by the brand's name (card-page.js)
        page.wait_for_function("!document.querySelector('header img')")
        assert page.locator("header span").inner_text() == BRAND
        assert page.get_by_role("link", name="help@acme.example").is_visible()

        number = page.get_by_label(words["number"])
        number.press_sequentially("4111111111111111")
        assert number.input_value() == "4111 1111 1111 1111"  # spaced as on the card
        assert page.locator("#card-brand").inner_text() == "Visa"
        # card-page.js ran under the page's CSP: nothing refused, no script error
        assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors
        page.get_by_label(words["expiry"]).fill("13/30")
        page.get_by_label(words["cvc"]).fill("123")
        with page.expect_navigation():
            page.get_by_role("button", name=words["pay"]).click()
        # the error is at its field; what was typed is still there
        expiry = page.get_by_label(words["expiry"])
        assert expiry.get_attribute("aria-invalid") == "true"
        assert page.locator("#expiry-error").inner_text() == words["expiry_error"]
        assert page.get_by_label(words["number"]).input_value() == "4111 1111 1111 1111"
        assert expiry.input_value() == "13 / 30"  # as card-page.js wrote it while typing
        no_serious_violations(page)
        page.screenshot(path=str(screenshot_dir / f"card-update-phone-{language}-error.png"),
                        full_page=True)

        expiry.fill("0130")  # as autofill gives it
        page.get_by_label(words["cvc"]).fill("123")
        with page.expect_navigation():
            page.get_by_role("button", name=words["pay"]).click()
        assert page.get_by_role("heading", level=1).inner_text() == words["done"]
        receipt = page.locator("dl.receipt").inner_text()
        assert words["amount"] in receipt and "Visa •••• 1111" in receipt and "Pro plan, December" in receipt
        no_serious_violations(page)
        page.screenshot(path=str(screenshot_dir / f"card-update-phone-{language}-receipt.png"),
                        full_page=True)
    finally:
        context.close()


def test_phone_3d_secure_confirmation_on_the_test_gateway(live, browser, screenshot_dir):
    url = live.link("pm_needs_3ds", originalDeclineCode="authentication_required")
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200
        assert page.get_by_role("heading", level=1).inner_text() == "Confirm your payment"
        assert "€49.00" in page.locator("dl.due").inner_text()
        no_serious_violations(page)
        page.screenshot(path=str(screenshot_dir / "confirm-payment-phone.png"), full_page=True)

        with page.expect_navigation():
            page.get_by_role("button", name="Confirm payment").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Confirm with your bank"
        page.get_by_label("One-time code").fill("000000")
        with page.expect_navigation():
            page.get_by_role("button", name="Confirm", exact=True).click()
        assert "That code isn't right" in page.get_by_role("alert").inner_text()
        assert page.get_by_label("One-time code").input_value() == "000000"
        no_serious_violations(page)
        page.screenshot(path=str(screenshot_dir / "confirm-payment-challenge-phone.png"), full_page=True)

        page.get_by_label("One-time code").fill(TEST_CHALLENGE_CODE)
        with page.expect_navigation():
            page.get_by_role("button", name="Confirm", exact=True).click()
        assert page.get_by_role("heading", level=1).inner_text() == "Payment received"
        assert "€49.00" in page.locator("dl.receipt").inner_text()
        no_serious_violations(page)
    finally:
        context.close()
