"""Setting up connectors in the dashboard: admins only, secrets write-only and stored encrypted, the
URL to paste with the events to select, the hand-off, and the log of what platforms sent."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from revtain.connectors import accounts
from revtain.dashboard.accounts import create_user
from revtain.extensions import db
from revtain.models import ConnectorAccount
from revtain.onboarding import onboard
from tests.test_dashboard import PASSWORD, login, post, text

from . import stripe_support as s

PAGE = "/dashboard/connectors"


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, gateway="test")
        for role in ("admin", "marketing", "finance"):
            create_user(issued.client_id, f"{role}@acme.example", role, PASSWORD)
    return issued


def stored(app, client_id: str) -> ConnectorAccount | None:
    with app.app_context():
        return db.session.execute(select(ConnectorAccount).where(ConnectorAccount.client_id == client_id)
                                  ).scalar_one_or_none()


def save(client, **fields):
    data = {f"stripe-billing-{k}": v for k, v in fields.items()}
    return post(client, "/dashboard/connectors/stripe-billing", PAGE, data, prefix="stripe-billing")


def test_an_admin_sets_up_stripe_billing_and_sees_the_url_to_paste(app, client, merchant):
    assert login(client, "admin@acme.example").status_code == 302
    page = text(client.get(PAGE))
    url = f"http://revtain.test/api/connectors/stripe-billing/webhook/{merchant.client_id}"
    assert url in page and "invoice.payment_failed" in page

    r = save(client, secret_key=s.SECRET_KEY, webhook_secret=s.WEBHOOK_SECRET, stop_platform_retries="y")
    assert r.status_code == 302
    account = stored(app, merchant.client_id)
    assert account.platform == "stripe-billing" and account.stop_platform_retries is True
    assert s.SECRET_KEY not in account.credentials_encrypted  # encrypted at rest
    with app.app_context():
        assert accounts.credentials_of(account) == {"secret_key": s.SECRET_KEY,
                                                    "webhook_secret": s.WEBHOOK_SECRET}
    page = text(client.get(PAGE))
    assert s.SECRET_KEY not in page and s.WEBHOOK_SECRET not in page  # write-only
    assert "saved: leave blank to keep" in page

    # blank secrets keep the stored ones; the hand-off can be turned off
    assert save(client).status_code == 302
    account = stored(app, merchant.client_id)
    assert account.stop_platform_retries is False
    with app.app_context():
        assert accounts.credentials_of(account)["secret_key"] == s.SECRET_KEY


def test_bad_credentials_are_refused_with_the_reason(app, client, merchant):
    login(client, "admin@acme.example")
    r = save(client, secret_key="pk_live_nope", webhook_secret=s.WEBHOOK_SECRET)
    assert r.status_code == 400
    assert "secret key starts with sk_ or rk_" in text(r)
    r = save(client, secret_key=s.SECRET_KEY)
    assert r.status_code == 400 and "needs Webhook signing secret" in text(r)
    assert stored(app, merchant.client_id) is None


@pytest.mark.parametrize("role", ["marketing", "finance"])
def test_only_admins_see_or_change_connectors(app, client, merchant, role):
    login(client, f"{role}@acme.example")
    assert client.get(PAGE).status_code == 403
    assert "Connectors" not in text(client.get("/dashboard/recoveries"))
    r = client.post("/dashboard/connectors/stripe-billing", data={"stripe-billing-secret_key": s.SECRET_KEY})
    assert r.status_code == 403 and stored(app, merchant.client_id) is None


def test_removing_a_connector_refuses_its_webhooks(app, client, merchant, server):
    login(client, "admin@acme.example")
    save(client, secret_key=s.SECRET_KEY, webhook_secret=s.WEBHOOK_SECRET)
    r = post(client, "/dashboard/connectors/stripe-billing/remove", PAGE)
    assert r.status_code == 302 and stored(app, merchant.client_id) is None
    from .conftest import post as http_post

    body = s.payment_failed()
    answer = http_post(server, f"/api/connectors/stripe-billing/webhook/{merchant.client_id}", body,
                       s.signed(body))
    assert answer.status_code == 404


def _hand_off_box(page: str, platform: str) -> str:
    match = re.search(rf'<input[^>]*id="{platform}-stop_platform_retries"[^>]*>', page)
    assert match, platform
    return match.group(0)


def test_where_the_platforms_retries_are_a_setting_the_page_says_what_to_switch_off_and_the_box_starts_off(
        app, client, merchant):
    from revtain.connectors import braintree, recharge, recurly, zuora

    from . import recurly_support as r

    login(client, "admin@acme.example")
    page = text(client.get(PAGE))
    for platform, module in (("recurly", recurly), ("braintree", braintree), ("zuora", zuora),
                             ("shopify-recharge", recharge)):
        section = page[page.index(f'id="c-{platform}"'):]
        section = section[:section.index("</section>")]
        assert "Before turning the hand-off on:" in section and module.HAND_OFF_BY_SETTING in section
        assert "checked" not in _hand_off_box(page, platform)  # a new connector: off
    for platform in ("stripe-billing", "chargebee"):  # Revtain stops their retries itself: on
        assert "checked" in _hand_off_box(page, platform)
        section = page[page.index(f'id="c-{platform}"'):]
        assert "Before turning the hand-off on:" not in section[:section.index("</section>")]

    data = {"recurly-api_key": r.API_KEY, "recurly-webhook_secret": r.WEBHOOK_SECRET,
            "recurly-subdomain": r.SUBDOMAIN}
    assert post(client, "/dashboard/connectors/recurly", PAGE, data, prefix="recurly").status_code == 302
    with app.app_context():
        assert accounts.get(merchant.client_id, "recurly").stop_platform_retries is False
    assert "checked" not in _hand_off_box(text(client.get(PAGE)), "recurly")  # from the account
    data["recurly-stop_platform_retries"] = "y"  # the merchant had Recurly's retries turned off
    assert post(client, "/dashboard/connectors/recurly", PAGE, data, prefix="recurly").status_code == 302
    with app.app_context():
        assert accounts.get(merchant.client_id, "recurly").stop_platform_retries is True
    assert "checked" in _hand_off_box(text(client.get(PAGE)), "recurly")


def test_a_zuora_connector_is_saved_from_the_page_with_its_secrets_write_only(app, client, merchant):
    from . import zuora_support as z

    login(client, "admin@acme.example")
    page = text(client.get(PAGE))
    section = page[page.index('id="c-zuora"'):]
    section = section[:section.index("</section>")]
    assert "REST endpoint" in section and "Callout password" in section and "Card update page" in section
    assert "{{Payment.Id}}" in section  # the callout bodies to paste
    data = {f"zuora-{name}": value for name, value in z.CREDENTIALS.items()}
    assert post(client, "/dashboard/connectors/zuora", PAGE, data, prefix="zuora").status_code == 302
    page = text(client.get(PAGE))
    assert z.CLIENT_SECRET not in page and z.WEBHOOK_PASSWORD not in page and z.BASE_URL in page
    # secrets left blank keep what is stored; a bad endpoint is refused with a readable message
    data.update({"zuora-client_secret": "", "zuora-webhook_password": "",
                 "zuora-base_url": "https://evil.example"})
    refused = post(client, "/dashboard/connectors/zuora", PAGE, data, prefix="zuora")
    assert refused.status_code == 400 and "REST endpoint is the https URL" in text(refused)
    with app.app_context():
        stored = accounts.credentials_of(accounts.get(merchant.client_id, "zuora"))
        assert stored["client_secret"] == z.CLIENT_SECRET and stored["base_url"] == z.BASE_URL
