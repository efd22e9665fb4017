"""Marketing's side of dunning, in a real browser against Revtain as real processes.

gunicorn, an RQ worker and the scheduler run as subprocesses with a real SMTP server. A merchant
on the test gateway has a marketing user and a finance user, added with ``revtain users add``.
In headless Chromium, marketing signs in, copies the default "needs a new card" template, edits
its subject and text, presses Preview and sees the new text in the rendered preview (the
sandboxed frame, with the email's inline styles applied), saves, builds a sequence that sends it
at once (no quiet hours, not held while a retry is pending) and publishes it. A failed payment
reported through the API then gets an email with the new subject and text. Finance signs in
too: the editor is not linked, its pages are 403, and a POST to the template changes nothing.

The editor with its rendered preview is screenshotted to a temporary folder, or to
``docs/screenshots/template-editor.png`` with ``REVTAIN_WRITE_SCREENSHOTS=1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from flask import Flask

from revtain import create_app
from revtain.extensions import db
from revtain.models import MessageTemplate
from revtain.onboarding import IssuedCredentials, onboard
from tests.browser.accessibility import serious_violations
from tests.browser.conftest import add_user, sign_in, stack_settings
from tests.conftest import _clean
from tests.support.processes import Stack
from tests.support.smtp import Inbox

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect
BRAND = "Acme Cloud"
MARKETING = "maria@acme.example"
FINANCE = "frank@acme.example"
CUSTOMER = "sam@example.com"
COPY = "Payment failed: needs a new card (copy)"
NAME = "Card expired - friendly"
SUBJECT = "{{ merchant_name }}: your card has expired, your projects are safe"
OLD_SENTENCE = "It only takes a minute."
NEW_SENTENCE = "Your projects stay online while you do: it takes under a minute."
BUTTON_RGB = "rgb(79, 70, 229)"  # the default template's inline button colour, #4f46e5
TIMEOUT = 15.0
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@dataclass
class Live:
    app: Flask
    stack: Stack
    smtp: Inbox
    merchant: IssuedCredentials


@pytest.fixture(scope="module")
def live(browser, smtp, base_config, database_url, redis_url, instance_dir, migrated,
         tmp_path_factory) -> Iterator[Live]:
    """The processes, and a merchant with its default templates and no published sequence."""
    app = create_app(base_config)
    settings = stack_settings(smtp, database_url, redis_url, instance_dir)
    try:
        with Stack(settings, tmp_path_factory.mktemp("dunning-browser-logs")) as stack:
            with app.app_context():
                merchant = onboard(name="Acme Inc", webhook_url=None, gateway="test", brand_name=BRAND)
            add_user(stack, merchant.client_id, MARKETING, "marketing")
            add_user(stack, merchant.client_id, FINANCE, "finance")
            yield Live(app, stack, smtp.clear(), merchant)
    finally:
        _clean(app)


def edit_template(page: Page) -> None:
    """Change the subject and one sentence of the HTML part (the text part is generated from it)."""
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("Subject").fill(SUBJECT)
    assert page.get_by_label("Text part").input_value() == ""
    field = page.get_by_label("HTML part")
    source = field.input_value()
    assert source.count(OLD_SENTENCE) == 1, source
    field.fill(source.replace(OLD_SENTENCE, NEW_SENTENCE))


def build_and_publish_sequence(page: Page, template_name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dunning").click()
    page.get_by_label("Name").fill("Expired cards")
    with page.expect_navigation():
        page.get_by_role("button", name="Create sequence").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Add a step").click()
    step = page.get_by_role("group", name="Step 1")
    assert step.get_by_label("Delay (hours after the failure)").input_value() == "0"  # due at once
    step.get_by_label("Template").select_option(label=template_name)
    step.get_by_label("Applies to").select_option(label="Any decline")
    page.get_by_label("Hold emails while a smart retry is pending").uncheck()
    page.get_by_label("Quiet hours start").fill("0")
    page.get_by_label("Quiet hours end").fill("0")  # the same start and end: no quiet hours
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft Expired cards saved")
    with page.expect_navigation():
        page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Publish Expired cards v1?")
    expect(page.get_by_role("table")).to_contain_text("As soon as the payment fails and the customer can act")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm and publish").click()
    expect(page.get_by_role("status")).to_contain_text("Expired cards v1 is live")
    settings = page.locator("section", has=page.get_by_role("heading", name="Settings and steps"))
    expect(settings).to_contain_text(f"by {MARKETING}")
    expect(settings.get_by_role("link", name=template_name)).to_be_visible()


def screenshot_whole_page(page: Page, path: Path, link: str = "Add a new card",
                          size=DESKTOP["viewport"]) -> None:
    """The whole page in one tall viewport rather than ``full_page=True``: Chromium does not paint
    a cross-origin frame (the sandboxed preview) while it is out of view, and a full-page capture
    of a long page can catch it still blank."""
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": height})
    expect(page.locator("#preview-frame").content_frame.get_by_role("link", name=link)).to_be_in_viewport()
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def preview_save_and_screenshot(page: Page, live: Live, screenshot_dir) -> str:
    """From the copy's editor: edit, Preview (checked in the frame), screenshot, Save. Its URL."""
    editor_url = page.url
    edit_template(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()
    assert page.url == editor_url
    preview = page.locator("section", has=page.get_by_role("heading", name="Preview with sample data"))
    expect(preview).to_contain_text(f"{BRAND}: your card has expired, your projects are safe")
    frame = page.locator("#preview-frame")
    assert frame.get_attribute("sandbox") == ""  # no scripts, forms or popups; an opaque origin
    email = frame.content_frame
    expect(email.locator("body")).to_contain_text(NEW_SENTENCE)
    expect(email.locator("body")).not_to_contain_text(OLD_SENTENCE)
    expect(email.get_by_text(BRAND, exact=True)).to_be_visible()
    # rendered, not blank: the email's inline styles apply under the preview's own CSP
    expect(email.get_by_role("link", name="Add a new card")).to_have_css("background-color", BUTTON_RGB)
    assert frame.bounding_box()["height"] > 300
    source = preview.locator("details")
    assert source.get_attribute("open") is None  # the escaped source is there, collapsed
    expect(source.locator("summary")).to_have_text("HTML source")
    screenshot_whole_page(page, screenshot_dir / "template-editor.png")
    with live.app.app_context():
        template = db.session.get(MessageTemplate, editor_url.rsplit("/", 1)[1])
        assert (template.name, template.current_version) == (COPY, 1)  # Preview saved nothing

    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved {NAME}, version 2")
    history = page.locator("section", has=page.get_by_role("heading", name="Version history"))
    rows = [row.locator("td").all_inner_texts() for row in history.locator("tbody tr").all()]
    assert [(r[0], r[2]) for r in rows] == [("2 (current)", MARKETING), ("1", MARKETING)], rows
    return editor_url


def finance_is_refused(context: BrowserContext, live: Live, template_url: str) -> None:
    page = context.new_page()
    sign_in(page, live.stack, FINANCE)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Recoveries")).to_be_visible()
    expect(nav.get_by_role("link", name="Dunning")).to_have_count(0)
    for url in (f"{live.stack.base_url}/dashboard/dunning", template_url):
        response = page.goto(url)
        assert response is not None and response.status == 403, url
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    # with a valid CSRF token of this session (Flask-WTF's is per session): only the role refuses it
    page.goto(f"{live.stack.base_url}/dashboard/recoveries")
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = context.request.post(template_url, form={
        "csrf_token": csrf, "name": "Finance was here", "subject": "Pay up", "html": "<p>Pay</p>",
        "text": "Pay", "save": "Save"})
    assert refused.status == 403, refused.text()


def test_marketing_edits_previews_and_publishes_then_the_next_email_uses_it(live, browser, screenshot_dir):
    stack = live.stack
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        sign_in(page, stack, MARKETING)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Dunning").click()
        with page.expect_navigation():
            page.get_by_role("button", name="Copy to edit: Payment failed: needs a new card").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(COPY)
        template_url = preview_save_and_screenshot(page, live, screenshot_dir)
        build_and_publish_sequence(page, NAME)
    finally:
        context.close()

    # a failed payment, reported by the merchant's backend: the next email is the new one
    r = requests.post(f"{stack.base_url}/api/recovery/execute", timeout=10,
                      headers={"X-API-KEY": live.merchant.api_key}, json={
                          "paymentMethodToken": "pm_expired_card", "amount": 4900, "currency": "USD",
                          "originalDeclineCode": "expired_card", "customerEmail": CUSTOMER,
                          "idempotencyKey": "marketing_inv_1"})
    assert r.status_code == 202, stack.explain(r)
    (mail,) = live.smtp.wait_for(1, TIMEOUT, stack.logs)
    assert mail["To"] == CUSTOMER
    assert mail["Subject"] == f"{BRAND}: your card has expired, your projects are safe"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for part in (plain, html):
        assert NEW_SENTENCE in part and OLD_SENTENCE not in part
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # the email's HTML itself, as a mail app shows it: no serious accessibility violation
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        page.set_content(html)
        assert serious_violations(page) == []
    finally:
        context.close()

    # finance: no link, 403 pages, and a refused POST that changes nothing
    context = browser.new_context(**DESKTOP)
    try:
        finance_is_refused(context, live, template_url)
    finally:
        context.close()
    with live.app.app_context():
        template = db.session.get(MessageTemplate, template_url.rsplit("/", 1)[1])
        assert (template.name, template.current_version) == (NAME, 2)


WIDE = {"viewport": {"width": 1600, "height": 1000}}
SOFT_COPY = "Payment failed: we'll try again (copy)"
SOFT_SENTENCE = "We'll try again automatically."
LIVE_SENTENCE = "Nothing to do on your side if your card is fine."


def test_the_editor_previews_side_by_side_live_at_desktop_and_phone_widths(live, browser, screenshot_dir):
    """Typing updates the preview beside the form (no Preview press); the width choice gives a
    phone-sized email; a broken edit says why and keeps the last good preview; no serious axe
    violation."""
    context = browser.new_context(**WIDE)
    try:
        page = context.new_page()
        sign_in(page, live.stack, MARKETING)
        page.goto(f"{live.stack.base_url}/dashboard/dunning")
        with page.expect_navigation():
            page.get_by_role("button", name="Copy to edit: Payment failed: we'll try again").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(SOFT_COPY)
        form = page.locator("#template-form")
        preview = page.locator("section.preview")
        frame = page.locator("#preview-frame")
        email = frame.content_frame
        expect(email.get_by_role("link", name="Update your card")).to_be_visible()  # from the start

        # side by side: the preview is to the right of the form, level with it
        form_box, preview_box = form.bounding_box(), preview.bounding_box()
        assert preview_box["x"] >= form_box["x"] + form_box["width"], (form_box, preview_box)
        assert preview_box["y"] < form_box["y"] + form_box["height"]

        # live: an edit of the HTML shows in the frame and the generated text without pressing Preview
        field = page.get_by_label("HTML part")
        field.fill(field.input_value().replace(SOFT_SENTENCE, LIVE_SENTENCE))
        expect(email.locator("body")).to_contain_text(LIVE_SENTENCE, timeout=10_000)
        expect(page.locator("#preview-text")).to_contain_text(LIVE_SENTENCE)

        # widths: desktop 640 px, phone 375 px, with the email's button inside the phone's width
        assert 630 <= frame.bounding_box()["width"] <= 645, frame.bounding_box()
        page.get_by_label("Phone (375 px)").check()
        expect(frame).to_have_css("width", "375px")
        frame_box = frame.bounding_box()
        button = email.get_by_role("link", name="Update your card").bounding_box()
        assert frame_box["x"] <= button["x"] and button["x"] + button["width"] <= frame_box["x"] + 375
        assert serious_violations(page) == []
        screenshot_whole_page(page, screenshot_dir / "template-editor-phone.png", link="Update your card",
                              size=WIDE["viewport"])

        # a broken edit: the reason, and the last good preview stays
        page.get_by_label("Subject").fill("Hi {{ first_name }}")
        expect(page.locator("#preview-status")).to_contain_text("'first_name' is undefined")
        expect(email.locator("body")).to_contain_text(LIVE_SENTENCE)
        with live.app.app_context():  # nothing was saved
            template = db.session.get(MessageTemplate, page.url.rsplit("/", 1)[1])
            assert template.current_version == 1 and LIVE_SENTENCE not in template.html
    finally:
        context.close()
