"""The customer's side of a failed payment, in a real browser against Revtain as real processes.

gunicorn, an RQ worker and the scheduler run as subprocesses (as in ``tests/test_e2e_processes.py``)
with a real SMTP server and a real webhook receiver. A merchant with a brand and a verified
card-update domain publishes a one-step sequence (due at once, no quiet hours, not held while a
retry is pending). An ``expired_card`` payment is queued; the scheduler and the worker send the
dunning email; headless Chromium opens the link in it on the merchant's domain, the customer
enters a test card, and the payment goes through: ``card.updated`` and ``recovery.success`` are
delivered and the status API says ``succeeded``. Then the merchant's finance user signs in to the
dashboard and finds the recovery succeeded, the card update and the approved attempt on its timeline.

Screenshots of the page at desktop and phone sizes are written to a temporary folder, or into
``docs/screenshots/`` with ``REVTAIN_WRITE_SCREENSHOTS=1``.

Why the link is rewritten: the email's link is ``https://pay.acme.test/...`` (TLS ends at the
merchant's CNAME in production). The test server is plain HTTP on a free port, so the test opens
``http://pay.acme.test:<port>/...``: same host name (Chromium maps it to 127.0.0.1 with
``--host-resolver-rules``, so the app sees ``Host: pay.acme.test:<port>`` and serves the page only
because the domain is verified), same path and token; only the scheme and port differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from revtain import create_app
from revtain.cardupdate.domains import verify
from revtain.dunning import sequences
from revtain.dunning.sequences import StepSpec
from revtain.extensions import db
from revtain.models import Client, MessageTemplate
from revtain.onboarding import IssuedCredentials, onboard
from tests.browser.conftest import CARD_UPDATE_HOSTS, add_user, sign_in, stack_settings
from tests.conftest import _clean
from tests.support.processes import Stack
from tests.support.receiver import Receiver
from tests.support.smtp import Inbox

DOMAIN = CARD_UPDATE_HOSTS[0]
BRAND = "Acme Cloud"
BRAND_COLOR = "#0f766e"
BRAND_RGB = "rgb(15, 118, 110)"
CUSTOMER = "jo@example.com"
FINANCE = "fin@acme.example"
LINK = re.compile(rf"https://{re.escape(DOMAIN)}/api/recovery/update-card/[A-Za-z0-9_-]+")
CLICK = re.compile(rf"https://{re.escape(DOMAIN)}/api/dunning/click/[A-Za-z0-9_.-]+")
TIMEOUT = 15.0
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
}


@dataclass
class Live:
    app: Flask  # in this process, on the same database: for onboarding and publishing
    stack: Stack
    receiver: Receiver
    smtp: Inbox
    merchant: IssuedCredentials

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-KEY": self.merchant.api_key}

    def in_browser(self, link: str) -> str:
        """The email's https link on the merchant's domain, on the test server's plain-HTTP port."""
        parts = urlsplit(link)
        assert parts.scheme == "https" and parts.hostname == DOMAIN, link
        port = urlsplit(self.stack.base_url).port
        return urlunsplit(("http", f"{DOMAIN}:{port}", parts.path, parts.query, ""))


def branded_merchant(app: Flask, webhook_url: str) -> IssuedCredentials:
    """A test-gateway merchant with a brand and a verified card-update domain, and a published
    one-step sequence whose email goes out at once."""
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=webhook_url, gateway="test",
                         card_update_domain=DOMAIN, brand_name=BRAND, brand_primary_color=BRAND_COLOR)
        client = db.session.get(Client, issued.client_id)
        verify(client, force=True)  # an operator vouches for the CNAME (no DNS here)
        sequences.install_default_templates(client)
        new_card = db.session.execute(
            select(MessageTemplate).where(MessageTemplate.client_id == client.id,
                                          MessageTemplate.builtin == "new_card")
        ).scalar_one()
        template = sequences.copy_template(new_card, "Card expired (browser test)")
        sequence = sequences.create_sequence(
            client, "Browser test", [StepSpec(template.id, 0)],
            hold_while_retrying=False, quiet_hours=(0, 0),  # start == end: no quiet hours
        )
        sequences.publish(sequence)
    return issued


@pytest.fixture(scope="module")
def live(browser, smtp, base_config, database_url, redis_url, instance_dir, migrated,
         tmp_path_factory) -> Iterator[Live]:
    app = create_app(base_config)
    # the queued retry is not due during the test: only the card update recovers the payment
    settings = stack_settings(smtp, database_url, redis_url, instance_dir)
    try:
        with Receiver() as receiver, Stack(settings, tmp_path_factory.mktemp("browser-logs")) as stack:
            merchant = branded_merchant(app, receiver.url)
            yield Live(app, stack, receiver, smtp, merchant)
    finally:  # the processes are stopped by now; leave the database and Redis as we found them
        _clean(app)


def test_customer_updates_the_card_from_the_dunning_email_in_a_browser(live, browser, screenshot_dir):
    stack = live.stack
    r = requests.post(f"{stack.base_url}/api/recovery/execute", headers=live.headers, timeout=10, json={
        "paymentMethodToken": "pm_expired_card", "amount": 4900, "currency": "USD",
        "originalDeclineCode": "expired_card", "customerEmail": CUSTOMER,
        "idempotencyKey": "browser_inv_1"})
    assert r.status_code == 202, stack.explain(r)
    tx = r.json()["transactionId"]

    # the scheduler and the worker send the dunning email
    (mail,) = live.smtp.wait_for(1, TIMEOUT, stack.logs)
    assert mail["To"] == CUSTOMER
    assert mail["From"].addresses[0].display_name == BRAND
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    tracked = CLICK.search(plain)
    assert tracked, f"no card-update link on {DOMAIN} in the email:\n{plain}"
    assert f'href="{tracked.group(0)}"' in html
    # the tracked link, on the merchant's domain too, counts the click and leads to the card page
    redirect = requests.get(stack.base_url + urlsplit(tracked.group(0)).path, headers={"Host": DOMAIN},
                            allow_redirects=False, timeout=10)
    assert redirect.status_code == 302, redirect.text
    link = LINK.fullmatch(redirect.headers["Location"])
    assert link, redirect.headers["Location"]

    url = live.in_browser(link.group(0))
    for name, options in VIEWPORTS.items():
        context = browser.new_context(**options)
        try:
            page = context.new_page()
            response = page.goto(url, wait_until="load")
            assert response is not None and response.status == 200, f"{url} -> {response and response.status}"
            assert page.locator("header span").inner_text() == BRAND
            assert BRAND in page.title() and "Revtain" not in page.content()  # white-labelled
            assert page.get_by_role("heading", name="Update your payment method").is_visible()
            assert page.get_by_role("button", name="Save card and pay").evaluate(
                "b => getComputedStyle(b).backgroundColor") == BRAND_RGB
            page.screenshot(path=str(screenshot_dir / f"card-update-{name}.png"))
        finally:
            context.close()

    context = browser.new_context(**VIEWPORTS["desktop"])
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_label("Card number").fill("4111 1111 1111 1111")
        page.get_by_label("Expiry (MM/YY)").fill("12/30")
        page.get_by_label("Security code").fill("123")
        with page.expect_navigation():
            page.get_by_role("button", name="Save card and pay").click()
        done = page.locator("main").inner_text()
        assert "Visa •••• 1111" in done, done
        assert "went through" in done and "$49.00" in done, done
        assert urlsplit(page.url).hostname == DOMAIN  # never left the merchant's domain

        # the link works once: the same page now says so
        again = page.goto(url)
        assert again is not None and again.status == 410
        assert "already been used" in page.locator("main").inner_text()
    finally:
        context.close()

    def events(name: str) -> list[dict]:
        return [h.json for h in live.receiver.events(name) if h.json.get("revtainTransactionId") == tx]

    (updated,) = stack.wait_until(lambda: events("card.updated"), "card.updated", TIMEOUT)
    assert updated["oldPaymentMethodToken"] == "pm_expired_card"
    assert updated["newPaymentMethodToken"].startswith("tok_test_")
    assert updated["customerEmail"] == CUSTOMER
    (success,) = stack.wait_until(lambda: events("recovery.success"), "recovery.success", TIMEOUT)
    assert success["trigger"] == "card_updated"
    for hook in live.receiver.events():
        assert hook.signature_valid(live.merchant.webhook_signing_secret), hook.headers

    status = requests.get(f"{stack.base_url}/api/recovery/status/{tx}", headers=live.headers, timeout=10)
    assert status.status_code == 200, stack.explain(status)
    assert status.json()["status"] == "succeeded" and status.json()["recovered"] is True, status.json()
    assert len(live.smtp.received) == 1  # the sequence stopped: no second email

    # the merchant's finance team sees it in the dashboard: succeeded, after the card update
    add_user(stack, live.merchant.client_id, FINANCE, "finance")
    context = browser.new_context(**VIEWPORTS["desktop"])
    try:
        page = context.new_page()
        sign_in(page, stack, FINANCE)
        page.get_by_role("link", name="Recoveries").click()
        with page.expect_navigation():
            page.get_by_role("link", name=tx).click()
        assert urlsplit(page.url).path == f"/dashboard/recoveries/{tx}"
        summary = page.locator("section", has=page.get_by_role("heading", name="Summary"))
        assert summary.locator("dt:text-is('Status') + dd").inner_text().strip() == "succeeded"
        timeline = [item.inner_text() for item in page.locator("ol.timeline > li").all()]
        titles = [item.split(" · ")[0] for item in timeline]
        # the card update (its card.updated event) and the approved attempt that followed it
        assert "Webhook card.updated" in titles, "\n---\n".join(timeline)
        (approved,) = [item for item in timeline if re.match(r"Attempt \d+: approved", item)]
        assert "Outcome\napproved" in approved, approved
        assert "Finished: succeeded" in titles and "Webhook recovery.success" in titles, titles
    finally:
        context.close()
