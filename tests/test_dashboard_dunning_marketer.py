"""The marketer's dunning pages beyond the editor basics (tests/test_dashboard_dunning.py): the
sender and its deliverability guidance, version diff and restore, publish confirmation, per-step stats."""

from __future__ import annotations

import re

from revtain.extensions import db
from revtain.models import Client, DunningSequence, MessageTemplate
from tests import test_dashboard_dunning as base
from tests.test_dashboard import csrf_of, login, text

# the same fixtures: a merchant with admin, marketing and finance users, real SMTP
smtp, inbox, app = base.smtp, base.inbox, base.app
merchant, marketing, other = base.merchant, base.marketing, base.other


def test_the_sender_page_saves_the_identity_and_explains_spf_and_dkim(app, marketing, merchant):
    page = marketing.get("/dashboard/dunning/sender")
    assert page.status_code == 200
    body = text(page)
    assert "Acme Cloud <dunning@revtain.test>" in body  # the brand name, Revtain's default address
    assert "Revtain's default address" in body and "_domainkey.revtain.test" in body

    bad = marketing.post("/dashboard/dunning/sender", data={
        "csrf_token": csrf_of(body), "sender_name": "Acme Billing", "sender_address": "not an address"})
    assert bad.status_code == 400 and "is not an email address" in text(bad)

    saved = marketing.post("/dashboard/dunning/sender", data={
        "csrf_token": csrf_of(body), "sender_name": "Acme Billing", "sender_address": "billing@acme.example",
        "sender_reply_to": "help@acme.example", "email_open_tracking": "y"})
    assert saved.status_code == 302
    with app.app_context():
        client = db.session.get(Client, merchant.client_id)
        assert (client.sender_name, client.sender_address, client.sender_reply_to,
                client.email_open_tracking) == (
            "Acme Billing", "billing@acme.example", "help@acme.example", True)
    body = text(marketing.get("/dashboard/dunning/sender"))
    assert "Acme Billing <billing@acme.example>" in body
    assert "v=spf1 include:" in body and "_domainkey.acme.example" in body and "_dmarc.acme.example" in body


def test_finance_cannot_see_or_change_the_sender(client, merchant):
    assert login(client, "finance@acme.example").status_code == 302
    assert client.get("/dashboard/dunning/sender").status_code == 403
    assert client.post("/dashboard/dunning/sender", data={"sender_name": "x"}).status_code == 403


def test_the_editor_has_its_preview_beside_the_form_and_a_script_file_under_its_policy(app, marketing,
                                                                                       merchant):
    template_id = base.copy(marketing, base.builtin_id(app, merchant.client_id))
    page = marketing.get(f"/dashboard/dunning/templates/{template_id}")
    body = page.get_data(as_text=True)
    policy = page.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy).group(1)
    assert "connect-src 'self'" in policy and "unsafe-inline" not in policy
    scripts = re.findall(r"<script[^>]*>", body)
    assert scripts == [f'<script src="/static/dunning-editor.js" nonce="{nonce}" defer>']  # no inline script
    assert marketing.get("/static/dunning-editor.js").status_code == 200
    # the preview is there from the start (no Preview press needed), with its width choice
    assert body.index('id="template-form"') < body.index('id="preview-frame"')
    assert 'id="w-phone"' in body and 'id="w-desktop"' in body
    assert "Action needed: update your card for Acme Cloud" in body


def test_the_live_preview_renders_the_posted_edits_and_saves_nothing(app, marketing, merchant):
    template_id = base.copy(marketing, base.builtin_id(app, merchant.client_id))
    csrf = base.token(marketing, f"/dashboard/dunning/templates/{template_id}")
    r = marketing.post("/dashboard/dunning/templates/live-preview", data={
        "csrf_token": csrf, "subject": "Hi {{ merchant_name }}", "html": base.NEW_HTML, "text": ""})
    assert r.status_code == 200
    answer = r.get_json()
    assert answer["subject"] == "Hi Acme Cloud"
    assert "Hello jane.doe@example.com" in answer["text"]  # generated from the HTML
    assert marketing.get(answer["preview_url"]).get_data(as_text=True).startswith("<p>Hello jane.doe@")
    broken = marketing.post("/dashboard/dunning/templates/live-preview", data={
        "csrf_token": csrf, "subject": "Hi {{ first_name }}", "html": "x", "text": ""}).get_json()
    assert "'first_name' is undefined" in broken["error"] and broken["part"] == "subject"
    refused = marketing.post("/dashboard/dunning/templates/live-preview", data={"subject": "x"})
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.get(MessageTemplate, template_id).current_version == 1


def test_versions_are_compared_and_an_old_one_restored_as_a_new_version(app, marketing, merchant, other):
    template_id = base.copy(marketing, base.builtin_id(app, merchant.client_id))
    assert base.template_form(marketing, template_id, "save").status_code == 302  # version 2
    page = marketing.get(f"/dashboard/dunning/templates/{template_id}")
    assert "Compare with current" in text(page) and "Restore version 1" in text(page)

    compare = marketing.get(f"/dashboard/dunning/templates/{template_id}/compare?from=1&to=2")
    assert compare.status_code == 200
    body = compare.get_data(as_text=True)
    assert '<span class="del"><span class="skip">removed: </span>-Action needed: update your card for' in body
    assert '<span class="add"><span class="skip">added: </span>+{{ merchant_name }}: please update' in body
    assert marketing.get(f"/dashboard/dunning/templates/{template_id}/compare?from=9&to=2").status_code == 404
    theirs = f"/dashboard/dunning/templates/{other['template']}/compare?from=1&to=1"
    assert marketing.get(theirs).status_code == 404

    restore = f"/dashboard/dunning/templates/{template_id}/versions/1/restore"
    assert marketing.post(restore).status_code == 400  # no CSRF token
    done = marketing.post(restore, data={"csrf_token": base.token(marketing)})
    assert done.status_code == 302
    with app.app_context():
        template = db.session.get(MessageTemplate, template_id)
        first = template.versions[0]
        assert template.current_version == 3 and len(template.versions) == 3
        assert (template.subject, template.html, template.text) == (first.subject, first.html, first.text)
        assert template.versions[2].author_email == "marketing@acme.example"


def test_publishing_asks_for_confirmation_first(app, marketing, merchant):
    template_id = base.builtin_id(app, merchant.client_id)
    sequence_id = base.new_sequence(marketing)
    assert base.save_sequence(marketing, sequence_id, (0, template_id, "any"), (48, template_id, "soft"),
                              hold_while_retrying="y").status_code == 302
    page = marketing.get(f"/dashboard/dunning/sequences/{sequence_id}")
    assert f'action="/dashboard/dunning/sequences/{sequence_id}/publish"' in page.get_data(as_text=True)
    assert 'method="get"' in page.get_data(as_text=True)

    confirm = marketing.get(f"/dashboard/dunning/sequences/{sequence_id}/publish")
    assert confirm.status_code == 200
    body = " ".join(text(confirm).split())
    assert "Publish Main v1?" in body and "No sequence is live now" in body
    assert "48 h after the failure" in body
    assert "As soon as the payment fails and the customer can act" in body
    assert "held while a smart retry is pending" in body
    with app.app_context():
        assert db.session.get(DunningSequence, sequence_id).status == "draft"  # nothing published yet
    done = marketing.post(f"/dashboard/dunning/sequences/{sequence_id}/publish",
                          data={"csrf_token": csrf_of(confirm.get_data(as_text=True))})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(DunningSequence, sequence_id).status == "published"
    # a published sequence has nothing to confirm
    assert marketing.get(f"/dashboard/dunning/sequences/{sequence_id}/publish").status_code == 302
