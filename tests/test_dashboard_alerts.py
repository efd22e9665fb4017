"""The dashboard's Alerts page: admins choose the channels and recipients (the Twilio auth token is
write-only), send a test alert and see the latest alerts; other roles cannot."""

from __future__ import annotations

import pytest

from revtain.alerts import settings as alert_settings
from revtain.dashboard.accounts import create_user
from revtain.extensions import db
from revtain.models import Alert
from tests.support import twilio as tw
from tests.test_dashboard import PASSWORD, login, post, text

VALID = {
    "WEBHOOK": "y",
    "EMAIL": "y",
    "SMS": "y",
    "emails": "ops@acme.example\ncfo@acme.example",
    "phones": "+1 415 555 0123",
    "thresholds": "USD:25.00, EUR 20",
    "twilio_account_sid": tw.ACCOUNT_SID,
    "twilio_auth_token": tw.AUTH_TOKEN,
    "twilio_from": tw.FROM_NUMBER,
}


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW="2026-03-16T12:00:00+00:00")


@pytest.fixture
def roles(app, merchant):
    with app.app_context():
        for role in ("admin", "marketing", "finance"):
            create_user(merchant.client_id, f"{role}@acme.example", role, PASSWORD)


def test_an_admin_sets_the_alerts(app, client, merchant, roles):
    assert login(client, "admin@acme.example").status_code == 302
    page = client.get("/dashboard/alerts")
    assert page.status_code == 200
    assert 'href="/dashboard/alerts" aria-current="page"' in page.get_data(as_text=True)
    assert "<legend>Notification channels</legend>" in text(page)

    r = post(client, "/dashboard/alerts", "/dashboard/alerts", VALID)
    assert r.status_code == 302, text(r)
    with app.app_context():
        saved = alert_settings.load(merchant.client_id)
    assert saved.channels == ("WEBHOOK", "EMAIL", "SMS")
    assert saved.emails == ("ops@acme.example", "cfo@acme.example") and saved.phones == ("+14155550123",)
    assert saved.thresholds == {"USD": 2500, "EUR": 2000}
    assert saved.twilio == alert_settings.TwilioCredentials(tw.ACCOUNT_SID, tw.AUTH_TOKEN, tw.FROM_NUMBER)

    page = text(client.get("/dashboard/alerts"))
    assert tw.AUTH_TOKEN not in page and "saved: leave blank to keep" in page  # write-only
    assert "EUR:20.00, USD:25.00" in page and tw.ACCOUNT_SID in page

    # saved again without the token: the stored one stays
    r = post(client, "/dashboard/alerts", "/dashboard/alerts", {**VALID, "SMS": "", "twilio_auth_token": ""})
    assert r.status_code == 302
    with app.app_context():
        saved = alert_settings.load(merchant.client_id)
    assert saved.channels == ("WEBHOOK", "EMAIL") and saved.twilio.auth_token == tw.AUTH_TOKEN


@pytest.mark.parametrize(
    "change, message",
    [
        ({"emails": ""}, "EMAIL alerts need at least one alert email address."),
        ({"phones": "555 0123"}, "Phone numbers must be in international format"),
        ({"thresholds": "USD:lots"}, "Not an amount"),
        ({"twilio_auth_token": "short"}, "Twilio auth token is 32 letters and digits"),
    ],
)
def test_bad_values_are_explained_and_nothing_changes(app, client, merchant, roles, change, message):
    login(client, "admin@acme.example")
    r = post(client, "/dashboard/alerts", "/dashboard/alerts", {**VALID, **change})
    assert r.status_code == 400 and message in text(r)
    with app.app_context():
        assert alert_settings.load(merchant.client_id).channels == ()


def test_a_test_alert_from_the_dashboard(app, client, merchant, roles):
    login(client, "admin@acme.example")
    r = post(client, "/dashboard/alerts/test", "/dashboard/alerts")
    assert r.status_code == 302
    assert "Choose at least one channel first." in text(client.get("/dashboard/alerts"))
    post(client, "/dashboard/alerts", "/dashboard/alerts", {"EMAIL": "y", "emails": "ops@acme.example"})
    assert post(client, "/dashboard/alerts/test", "/dashboard/alerts").status_code == 302
    page = text(client.get("/dashboard/alerts"))
    assert "A test alert: your alert channels work." in page and "ops@acme.example" in page
    with app.app_context():
        assert [a.kind for a in db.session.query(Alert).all()] == ["test"]


@pytest.mark.parametrize("role", ["marketing", "finance"])
def test_other_roles_cannot(client, roles, role):
    login(client, f"{role}@acme.example")
    assert client.get("/dashboard/alerts").status_code == 403
    assert client.post("/dashboard/alerts", data=VALID).status_code in (400, 403)
    assert 'href="/dashboard/alerts"' not in client.get("/dashboard/recoveries").get_data(as_text=True)
