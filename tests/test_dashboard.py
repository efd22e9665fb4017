"""The merchant dashboard: sign-in, roles, tenant isolation, recoveries, webhooks, settings, users."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from revtain.clock import now as clock_now
from revtain.dashboard.accounts import create_user
from revtain.extensions import db
from revtain.models import Client, Recovery, User, WebhookDelivery
from revtain.onboarding import onboard

START = "2026-03-16T12:00:00+00:00"
PASSWORD = "correct horse battery"


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        return onboard(name="Acme Inc", webhook_url=receiver.url, gateway="test")


@pytest.fixture
def other(app, receiver):
    with app.app_context():
        return onboard(name="Other Co", webhook_url=receiver.url, gateway="test")


@pytest.fixture
def users(app, merchant):
    with app.app_context():
        for role in ("admin", "marketing", "finance"):
            create_user(merchant.client_id, f"{role}@acme.example", role, PASSWORD)
    return {role: f"{role}@acme.example" for role in ("admin", "marketing", "finance")}


def csrf_of(page: str) -> str:
    return re.search(r'csrf_token"[^>]*value="([^"]+)"', page).group(1)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def login(client, email, password=PASSWORD):
    page = client.get("/dashboard/login").get_data(as_text=True)
    return client.post("/dashboard/login", data={"csrf_token": csrf_of(page), "email": email,
                                                  "password": password})


def post(client, path, page_path, data=None, prefix=""):
    """Post a dashboard form with the CSRF token taken from ``page_path``."""
    token = csrf_of(client.get(page_path).get_data(as_text=True))
    field = f"{prefix}-csrf_token" if prefix else "csrf_token"
    return client.post(path, data={field: token, **(data or {})})


@pytest.fixture
def as_admin(client, users):
    assert login(client, users["admin"]).status_code == 302
    return client


def execute(client, headers, **body):
    payload = {"paymentMethodToken": "pm_good", "amount": 4900, "currency": "USD",
               "originalDeclineCode": "do_not_honor", **body}
    return client.post("/api/recovery/execute", json=payload, headers=headers)


# --- sign-in -------------------------------------------------------------------------------------


def test_login_and_logout(client, users):
    assert client.get("/dashboard/recoveries").status_code == 302  # to the login page
    page = client.get("/dashboard/login")
    assert page.status_code == 200 and 'for="email"' in page.get_data(as_text=True)
    assert "nonce-" in page.headers["Content-Security-Policy"]
    r = login(client, users["admin"])
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard/")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    r = client.get("/dashboard/recoveries")
    assert r.status_code == 200 and "admin@acme.example" in r.get_data(as_text=True)

    assert client.post("/dashboard/logout").status_code == 400  # no CSRF token
    r = post(client, "/dashboard/logout", "/dashboard/recoveries")
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard/login")
    assert client.get("/dashboard/recoveries").status_code == 302


def test_email_is_case_insensitive(client, users):
    assert login(client, "  Admin@ACME.example ").status_code == 302


@pytest.mark.parametrize(("email", "password"), [("admin@acme.example", "wrong password!!"),
                                                 ("nobody@acme.example", PASSWORD)])
def test_wrong_password_or_unknown_email_get_the_same_message(client, users, email, password):
    r = login(client, email, password)
    assert r.status_code == 400
    assert "Email or password is incorrect." in text(r)
    assert client.get("/dashboard/recoveries").status_code == 302


def test_login_without_csrf_token_is_refused(client, users):
    r = client.post("/dashboard/login", data={"email": users["admin"], "password": PASSWORD})
    assert r.status_code == 400
    assert client.get("/dashboard/recoveries").status_code == 302


def test_open_redirects_are_ignored(client, users):
    page = client.get("/dashboard/login").get_data(as_text=True)
    r = client.post("/dashboard/login?next=https://evil.example/", data={
        "csrf_token": csrf_of(page), "email": users["admin"], "password": PASSWORD})
    assert r.headers["Location"].endswith("/dashboard/")


def test_secure_cookie_in_production(make_app, base_config):
    app = make_app(ENV="production", ENCRYPTION_KEY=base_config["ENCRYPTION_KEY"])
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_the_api_and_card_update_page_need_no_csrf_token(client, headers):
    assert execute(client, headers).status_code == 200


# --- roles ---------------------------------------------------------------------------------------

PAGES = {
    "/dashboard/recoveries": {"admin", "marketing", "finance"},
    "/dashboard/reports/cfo": {"admin", "finance"},
    "/dashboard/webhooks": {"admin"},
    "/dashboard/settings": {"admin", "marketing"},
    "/dashboard/users": {"admin"},
}


@pytest.mark.parametrize("role", ["admin", "marketing", "finance"])
def test_each_role_sees_only_its_pages_and_links(client, users, role):
    login(client, users[role])
    nav = client.get("/dashboard/recoveries").get_data(as_text=True)
    for path, allowed in PAGES.items():
        r = client.get(path)
        assert r.status_code == (200 if role in allowed else 403), path
        assert (f'href="{path}"' in nav) == (role in allowed), path


def test_marketing_edits_branding_but_cannot_rotate_keys_or_change_settings(app, client, users, merchant):
    login(client, users["marketing"])
    page = client.get("/dashboard/settings").get_data(as_text=True)
    assert "Branding" in page and "Rotate keys" not in page and "Webhook URL" not in page
    r = post(client, "/dashboard/settings/branding", "/dashboard/settings", prefix="branding", data={
        "branding-brand_name": "Acme Cloud", "branding-brand_logo_url": "https://acme.example/logo.png",
        "branding-brand_primary_color": "#0F766E", "branding-brand_support_email": "help@acme.example",
        "branding-brand_support_url": "https://acme.example/help"})
    assert r.status_code == 302
    for path, data in (("/dashboard/settings/keys/rotate", {"rotate-confirm": "y"}),
                       ("/dashboard/settings/webhook", {"webhook-url": "https://x.example/h"}),
                       ("/dashboard/settings/general", {"general-timezone": "UTC"}),
                       ("/dashboard/users", {"email": "x@acme.example"})):
        assert post(client, path, "/dashboard/settings", data).status_code == 403, path
    with app.app_context():
        acme = db.session.get(Client, merchant.client_id)
        assert (acme.brand_name, acme.brand_primary_color) == ("Acme Cloud", "#0f766e")
        assert (acme.brand_support_email, acme.brand_support_url) == ("help@acme.example",
                                                                      "https://acme.example/help")
        assert acme.webhook_url != "https://x.example/h"


def test_finance_cannot_edit_branding(app, client, users, merchant):
    login(client, users["finance"])
    r = post(client, "/dashboard/settings/branding", "/dashboard/recoveries", prefix="branding",
             data={"branding-brand_name": "Hacked"})
    assert r.status_code == 403
    with app.app_context():
        assert db.session.get(Client, merchant.client_id).brand_name is None


# --- recoveries ----------------------------------------------------------------------------------


def add_recovery(client_id, **fields) -> str:
    now = clock_now()
    values = {"payment_method_token": "pm_x", "amount": 1000, "currency": "USD", "status": "failed",
              "created_at": now, "updated_at": now, **fields}
    recovery = Recovery(client_id=client_id, **values)
    db.session.add(recovery)
    db.session.commit()
    return recovery.id


def test_another_clients_recovery_is_404(app, as_admin, other):
    with app.app_context():
        foreign = add_recovery(other.client_id, idempotency_key="theirs")
    assert as_admin.get(f"/dashboard/recoveries/{foreign}").status_code == 404
    assert as_admin.get("/dashboard/recoveries/01NOPE").status_code == 404
    assert foreign not in as_admin.get("/dashboard/recoveries?q=theirs").get_data(as_text=True)


def test_recoveries_filters(app, as_admin, merchant):
    with app.app_context():
        now = clock_now()
        a = add_recovery(merchant.client_id, status="succeeded", idempotency_key="order-1",
                         customer_email="Jo@Example.com", original_decline_code="insufficient_funds")
        b = add_recovery(merchant.client_id, status="failed", idempotency_key="order-2",
                         original_decline_code="do_not_honor", created_at=now - timedelta(days=10))
        c = add_recovery(merchant.client_id, status="queued", idempotency_key="order-3",
                         customer_email="sam@example.org", original_decline_code="expired_card",
                         last_decline_code="do_not_honor")

    def ids(query: str) -> set[str]:
        r = as_admin.get("/dashboard/recoveries" + query)
        assert r.status_code == 200
        body = r.get_data(as_text=True)
        return {i for i in (a, b, c) if i in body}

    assert ids("") == {a, b, c}
    assert ids("?status=succeeded") == {a}
    assert ids("?decline_code=do_not_honor") == {b, c}
    assert ids("?q=order-2") == {b}
    assert ids(f"?q={c}") == {c}
    assert ids("?q=jo@example") == {a}
    assert ids("?date_from=2026-03-10") == {a, c}
    assert ids("?date_to=2026-03-10") == {b}
    assert ids("?date_from=2026-03-16&date_to=2026-03-16&status=queued") == {c}
    bad = as_admin.get("/dashboard/recoveries?date_from=yesterday&status=bogus&q=%25")
    assert bad.status_code == 200 and "Not a valid date value" in bad.get_data(as_text=True)
    assert as_admin.get("/dashboard/recoveries?page=999").status_code == 200


def test_recoveries_are_paginated(app, as_admin, merchant):
    with app.app_context():
        for n in range(30):
            add_recovery(merchant.client_id, idempotency_key=f"k-{n}")
    first = as_admin.get("/dashboard/recoveries").get_data(as_text=True)
    assert "Page 1 of 2" in first and "page=2" in first
    assert "Page 2 of 2" in as_admin.get("/dashboard/recoveries?page=2").get_data(as_text=True)


def test_recovery_detail_shows_attempts_retry_and_webhooks(app, as_admin, headers):
    queued = execute(as_admin, headers, paymentMethodToken="test_decline_do_not_honor",
                     fallbackPaymentMethodTokens=["test_decline_call_issuer"]).get_json()
    assert queued["status"] == "queued"
    page = text(as_admin.get(f"/dashboard/recoveries/{queued['transactionId']}"))
    assert "Attempt 1: declined" in page and "Attempt 2: declined" in page
    assert "call_issuer" in page and "fallback_token" in page and "test_decline_do_not_honor" in page
    with app.app_context():
        recovery = db.session.get(Recovery, queued["transactionId"])
        assert recovery.next_attempt_at and recovery.retry_reason
    assert "Next retry scheduled" in page and f"<dd class=\"mono\">{recovery.retry_reason}</dd>" in page

    done = execute(as_admin, headers, paymentMethodToken="pm_good", amount=5000).get_json()
    page = text(as_admin.get(f"/dashboard/recoveries/{done['transactionId']}"))
    assert "Attempt 1: approved" in page and "test" in page
    assert "Webhook recovery.success" in page and "pending" in page
    assert "Next retry scheduled" not in page


def test_marketing_reads_recoveries_without_replay_buttons(app, client, users, headers):
    done = execute(client, headers).get_json()
    login(client, users["marketing"])
    page = client.get(f"/dashboard/recoveries/{done['transactionId']}").get_data(as_text=True)
    assert "Webhook recovery.success" in page and "Replay" not in page


# --- webhooks ------------------------------------------------------------------------------------


def test_webhooks_log_detail_and_replay(app, as_admin, headers, merchant):
    done = execute(as_admin, headers).get_json()
    with app.app_context():
        first = db.session.execute(select(WebhookDelivery)).scalar_one()
        first_id, event_id = first.id, first.event_id
    log = text(as_admin.get("/dashboard/webhooks"))
    assert "recovery.success" in log and event_id in log
    detail = text(as_admin.get(f"/dashboard/webhooks/deliveries/{first_id}"))
    assert f'"revtainTransactionId": "{done["transactionId"]}"' in detail and "No tries yet" in detail

    assert as_admin.post(f"/dashboard/webhooks/events/{event_id}/replay").status_code == 400  # no CSRF
    r = post(as_admin, f"/dashboard/webhooks/events/{event_id}/replay", "/dashboard/webhooks")
    assert r.status_code == 302
    with app.app_context():
        deliveries = db.session.execute(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)
        ).scalars().all()
    assert len(deliveries) == 2
    replayed = next(d for d in deliveries if d.id != first_id)
    assert replayed.status == "pending" and r.headers["Location"].endswith(replayed.id)


def test_another_clients_webhooks_are_404(app, client, users, other, receiver):
    foreign = client.post("/api/recovery/execute", headers={"X-API-KEY": other.api_key}, json={
        "paymentMethodToken": "pm_good", "amount": 4900, "originalDeclineCode": "do_not_honor"})
    assert foreign.status_code == 200
    with app.app_context():
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
    login(client, users["admin"])
    assert client.get(f"/dashboard/webhooks/deliveries/{delivery.id}").status_code == 404
    r = post(client, f"/dashboard/webhooks/events/{delivery.event_id}/replay", "/dashboard/webhooks")
    assert r.status_code == 404
    assert delivery.event_id not in client.get("/dashboard/webhooks").get_data(as_text=True)


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "prefix", "data", "message"), [
    ("/dashboard/settings/webhook", "webhook", {"webhook-url": "http://hooks.example/x"}, "must use https://"),
    ("/dashboard/settings/general", "general",
     {"general-timezone": "Mars/Olympus", "general-dunning_channel": "email"}, "Unknown IANA time zone"),
    ("/dashboard/settings/general", "general", {"general-timezone": "UTC", "general-billing_cycle_day": "32",
                                                "general-dunning_channel": "email"}, "between 1 and 31"),
    ("/dashboard/settings/general", "general", {"general-timezone": "UTC", "general-billing_cycle_day": "x",
                                                "general-dunning_channel": "email"}, "Not a valid integer"),
    ("/dashboard/settings/general", "general", {"general-timezone": "UTC",
                                                "general-dunning_channel": "sms"}, "Not a valid choice"),
    ("/dashboard/settings/domain", "domain", {"domain-domain": "not a host"}, "host name like"),
    ("/dashboard/settings/branding", "branding", {"branding-brand_logo_url": "http://acme.example/l.png"},
     "must start with https://"),
    ("/dashboard/settings/branding", "branding", {"branding-brand_primary_color": "red"}, "#4f46e5"),
    ("/dashboard/settings/branding", "branding", {"branding-brand_primary_color": "#facc15"},
     "White button text on #facc15 has a contrast of only 1.53:1; customers need at least 4.5:1"),
    ("/dashboard/settings/branding", "branding", {"branding-brand_support_email": "help at acme"},
     "email address like help@example.com"),
    ("/dashboard/settings/branding", "branding", {"branding-brand_support_url": "http://acme.example/help"},
     "The support page URL must start with https://"),
    ("/dashboard/settings/keys/rotate", "rotate", {}, "Tick the box"),
])
def test_settings_validation_errors(as_admin, path, prefix, data, message):
    r = post(as_admin, path, "/dashboard/settings", data, prefix=prefix)
    assert r.status_code == 400
    assert message in text(r)


def test_settings_without_csrf_token_are_refused(app, as_admin, merchant):
    r = as_admin.post("/dashboard/settings/webhook", data={"webhook-url": "https://new.example/h"})
    assert r.status_code == 400 and "This form has expired" in text(r)
    with app.app_context():
        assert db.session.get(Client, merchant.client_id).webhook_url != "https://new.example/h"


def test_settings_are_saved(app, as_admin, merchant):
    r = post(as_admin, "/dashboard/settings/webhook", "/dashboard/settings", {"webhook-url": "https://hooks.acme.example/r"},
             prefix="webhook")
    assert r.status_code == 302
    r = post(as_admin, "/dashboard/settings/general", "/dashboard/settings", {
        "general-timezone": "Europe/Paris", "general-billing_cycle_day": "15",
        "general-dunning_channel": "webhook",
    }, prefix="general")
    assert r.status_code == 302
    with app.app_context():
        acme = db.session.get(Client, merchant.client_id)
        assert acme.webhook_url == "https://hooks.acme.example/r"
        assert (acme.timezone, acme.billing_cycle_day, acme.dunning_enabled, acme.dunning_channel) == (
            "Europe/Paris", 15, False, "webhook")


def test_card_update_domain_shows_the_cname_and_the_check_error(app, as_admin, merchant, other):
    with app.app_context():
        db.session.get(Client, other.client_id).card_update_domain = "pay.other.example"
        db.session.commit()
    r = post(as_admin, "/dashboard/settings/domain", "/dashboard/settings",
             {"domain-domain": "pay.other.example"}, prefix="domain")
    assert r.status_code == 400 and "already used by another account" in text(r)
    r = post(as_admin, "/dashboard/settings/domain", "/dashboard/settings",
             {"domain-domain": "Pay.Acme.invalid"}, prefix="domain")
    assert r.status_code == 302
    page = text(as_admin.get("/dashboard/settings"))
    assert "pay.acme.invalid CNAME revtain.test" in page and "Not verified yet" in page
    r = post(as_admin, "/dashboard/settings/domain/check", "/dashboard/settings", prefix="check")
    assert r.status_code == 400 and "pay.acme.invalid does not resolve yet" in text(r)
    with app.app_context():
        assert db.session.get(Client, merchant.client_id).card_update_domain_verified_at is None


def test_rotation_shows_the_new_keys_once_and_the_old_key_stops_working(as_admin, headers):
    assert as_admin.get("/api/recovery/status/01NOPE", headers=headers).status_code == 404
    r = post(as_admin, "/dashboard/settings/keys/rotate", "/dashboard/settings", {"rotate-confirm": "y"},
             prefix="rotate")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    page = text(r)
    new_key = re.search(r"(rev_(?!pk_)[A-Za-z0-9_-]{32})", page).group(1)
    secret = re.search(r"(whsec_[A-Za-z0-9+/=]+)", page).group(1)
    assert "Shown once" in page
    later = text(as_admin.get("/dashboard/settings"))
    assert new_key not in later and secret not in later and "Shown once" not in later
    assert as_admin.get("/api/recovery/status/01NOPE", headers=headers).status_code == 401
    assert as_admin.get("/api/recovery/status/01NOPE", headers={"X-API-KEY": new_key}).status_code == 404


# --- users ---------------------------------------------------------------------------------------


def test_admin_adds_and_removes_users(app, client, as_admin, merchant):
    r = post(as_admin, "/dashboard/users", "/dashboard/users", {
        "email": "New@Acme.example", "role": "finance", "password": PASSWORD, "confirm": PASSWORD})
    assert r.status_code == 302
    r = post(as_admin, "/dashboard/users", "/dashboard/users", {
        "email": "new@acme.example", "role": "finance", "password": PASSWORD, "confirm": PASSWORD})
    assert r.status_code == 400 and "already exists" in text(r)
    r = post(as_admin, "/dashboard/users", "/dashboard/users", {
        "email": "b@acme.example", "role": "owner", "password": "short", "confirm": "other"})
    assert r.status_code == 400
    page = text(r)
    assert "Not a valid choice" in page and "at least 12" in page and "do not match" in page
    with app.app_context():
        new = db.session.execute(select(User).where(User.email == "new@acme.example")).scalar_one()
        me = db.session.execute(select(User).where(User.email == "admin@acme.example")).scalar_one()
        assert new.client_id == merchant.client_id and new.role == "finance"
    assert post(as_admin, f"/dashboard/users/{me.id}/remove", "/dashboard/users").status_code == 400
    assert post(as_admin, f"/dashboard/users/{new.id}/remove", "/dashboard/users").status_code == 302
    with app.app_context():
        assert db.session.get(User, new.id) is None


def test_a_removed_user_is_signed_out(app, client, users):
    login(client, users["finance"])
    assert client.get("/dashboard/recoveries").status_code == 200
    with app.app_context():
        db.session.delete(db.session.execute(select(User).where(User.role == "finance")).scalar_one())
        db.session.commit()
    assert client.get("/dashboard/recoveries").status_code == 302


# --- CFO report ----------------------------------------------------------------------------------


def test_cfo_report(app, client, users, merchant):
    from revtain.models import OrganicSuccess

    with app.app_context():
        now = clock_now()
        add_recovery(merchant.client_id, status="succeeded", amount=4900, recovered_at=now, finished_at=now)
        add_recovery(merchant.client_id, status="succeeded", amount=1000, currency="EUR", recovered_at=now,
                     finished_at=now)
        add_recovery(merchant.client_id, status="succeeded", amount=999, recovered_at=now, finished_at=now,
                     is_simulated=True)
        add_recovery(merchant.client_id, status="failed", finished_at=now)
        add_recovery(merchant.client_id, status="succeeded", amount=7, recovered_at=now - timedelta(days=40),
                     finished_at=now - timedelta(days=40))
        db.session.add(OrganicSuccess(client_id=merchant.client_id, transaction_id="t1", amount=2000,
                                      currency="USD", created_at=now))
        db.session.commit()
    login(client, users["finance"])
    page = text(client.get("/dashboard/reports/cfo?month=2026-03"))
    assert "$49.00" in page and "€10.00" in page and "9.99" not in page
    assert re.search(r"Recovered</span><strong>2<", page) and re.search(r"Failed</span><strong>1<", page)
    assert "66.7 %" in page and re.search(r"Organic successes</span><strong>1<", page)
    assert client.get("/dashboard/reports/cfo?month=2026-13").status_code == 400


# --- CLI -----------------------------------------------------------------------------------------


def test_users_add_cli(app, runner, merchant):
    r = runner.invoke(args=["users", "add", merchant.client_id, "Ops@Acme.example", "--role", "marketing"],
                      input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert "Added ops@acme.example (marketing)" in r.output
    r = runner.invoke(args=["users", "add", merchant.client_id, "cfo@acme.example", "--role", "finance",
                            "--password-stdin"], input=f"{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    with app.app_context():
        assert {u.role for u in db.session.execute(select(User)).scalars()} == {"marketing", "finance"}

    for args, message in (
        (["nope", "x@acme.example"], "no client with id nope"),
        ([merchant.client_id, "ops@acme.example"], "already exists"),
        ([merchant.client_id, "not-an-email"], "is not an email address"),
    ):
        r = runner.invoke(args=["users", "add", *args, "--password-stdin"], input=f"{PASSWORD}\n")
        assert r.exit_code == 1 and message in r.output, r.output
    r = runner.invoke(args=["users", "add", merchant.client_id, "y@acme.example", "--role", "owner",
                            "--password-stdin"], input=f"{PASSWORD}\n")
    assert r.exit_code == 2 and "'owner' is not one of 'admin', 'marketing', 'finance'" in r.output
    r = runner.invoke(args=["users", "add", merchant.client_id, "z@acme.example", "--password-stdin"],
                      input="short\n")
    assert r.exit_code == 1 and "at least 12 characters" in r.output


def test_a_cli_user_can_sign_in(client, runner, merchant):
    r = runner.invoke(args=["users", "add", merchant.client_id, "boss@acme.example", "--password-stdin"],
                      input=f"{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert login(client, "boss@acme.example").status_code == 302
