"""The marketer's dunning pages beyond the editor basics (tests/test_dashboard_dunning.py): the
sender and its deliverability guidance, version diff and restore, publish confirmation, per-step stats."""

from __future__ import annotations

from revtain.extensions import db
from revtain.models import Client
from tests import test_dashboard_dunning as base
from tests.test_dashboard import csrf_of, login, text

# the same fixtures: a merchant with admin, marketing and finance users, real SMTP
smtp, inbox, app, merchant, marketing = base.smtp, base.inbox, base.app, base.merchant, base.marketing


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
