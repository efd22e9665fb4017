"""The card-update page of a connector's recovery: the card is the billing platform's, so the page
collects it in the platform's context. Stripe Billing and Braintree: their fields, with the
connector's keys, and the new card collected through the platform (or left to the platform's own
retries without the hand-off). Chargebee, Recurly and ReCharge: a "Continue" link to their own hosted
page; Zuora (which has none): to the merchant's page hosting its payment form.

The recoveries come from the platforms' webhooks, processed by the real worker; every platform's
official library runs with only its HTTP layer stubbed, as in ``tests/connectors``.
"""

from __future__ import annotations

import base64
import email
import re
from email import policy

import httpx
import pytest
import requests
import stripe

from revtain.connectors import accounts
from revtain.extensions import db
from revtain.models import Attempt, Client, Recovery
from revtain.onboarding import onboard
from tests.connectors import braintree_support as bs
from tests.connectors import chargebee_support as cs
from tests.connectors import recharge_support as rc
from tests.connectors import recurly_support as rs
from tests.connectors import stripe_support as ss
from tests.connectors import zuora_support as zs
from tests.connectors.conftest import publish_dunning
from tests.connectors.requests_support import RequestsHttp
from tests.gateways.stubs import (
    BraintreeHttp,
    StripeSession,
    bt_client_token,
    bt_client_token_value,
    bt_credit_card,
    stripe_json,
)
from tests.support.card_update import DOMAIN, csp_of, csrf_of, link_row, message_states, script_nonces
from tests.support.jobs import run_jobs, sweep

START = "2026-03-16T12:00:00+00:00"
HOST = {"Host": DOMAIN}
PUBLISHABLE_KEY = "pk_test_51Fixture" + "P" * 24
SETI = "seti_1RtQ9aLkdIwHu7ixSetup001"
NONCE = "tokencc_bc_7yv2qp_6k4m9t_3hx8wz_5nq2rd_4c7"
LINK = re.compile(rf"https://{re.escape(DOMAIN)}/api/recovery/update-card/([A-Za-z0-9_-]+)")
CLICK = re.compile(rf"https://{re.escape(DOMAIN)}/api/dunning/click/[A-Za-z0-9_.-]+")
STRIPE_CREDENTIALS = {"secret_key": ss.SECRET_KEY, "webhook_secret": ss.WEBHOOK_SECRET,
                      "publishable_key": PUBLISHABLE_KEY}
RECURLY_CREDENTIALS = {"api_key": rs.API_KEY, "webhook_secret": rs.WEBHOOK_SECRET, "subdomain": rs.SUBDOMAIN}


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(FROZEN_NOW=START, MAIL_SMTP_HOST=None, MAIL_OUTBOX=str(tmp_path / "outbox"))


@pytest.fixture
def stripe_http(monkeypatch):
    session = StripeSession()
    real = stripe.RequestsClient
    monkeypatch.setattr(stripe, "RequestsClient",
                        lambda timeout=None, **kw: real(session=session, timeout=timeout))
    yield session
    session.assert_done()


@pytest.fixture
def braintree_http(monkeypatch):
    stub = BraintreeHttp().install(monkeypatch)
    yield stub
    stub.assert_done()


@pytest.fixture
def chargebee_http(monkeypatch):
    stub = cs.ChargebeeHttp().install(monkeypatch)
    yield stub
    stub.assert_done()


@pytest.fixture
def recurly_api(monkeypatch):
    stub = rs.RecurlyAPI().install(monkeypatch)
    yield stub
    stub.assert_done()


@pytest.fixture
def requests_http(monkeypatch):
    stub = RequestsHttp().install(monkeypatch)
    yield stub
    stub.assert_done()


def merchant(app, runner, receiver, platform: str, credentials: dict, *, hand_off: bool):
    """A test-gateway client on its verified card-update domain, with a connector for ``platform``."""
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, gateway="test", card_update_domain=DOMAIN,
                         brand_name="Acme Cloud", brand_primary_color="#0f766e")
        accounts.set_up(db.session.get(Client, issued.client_id), platform, credentials,
                        stop_platform_retries=hand_off)
    result = runner.invoke(args=["domains", "verify", issued.client_id, "--force"])
    assert result.exit_code == 0, result.output
    return issued


def webhook(client, issued, platform: str, body: bytes, headers: dict[str, str]) -> None:
    r = client.post(f"/api/connectors/{platform}/webhook/{issued.client_id}", data=body, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)


def the_recovery(app) -> Recovery:
    with app.app_context():
        (recovery,) = db.session.query(Recovery).all()
        db.session.expunge(recovery)
        return recovery


def attempts(app) -> list[Attempt]:
    with app.app_context():
        return db.session.query(Attempt).all()


def generate(client, issued, token: str) -> str:
    """A link for the recovery's card from ``POST /api/recovery/update-card/generate``: its path."""
    r = client.post("/api/recovery/update-card/generate", json={"paymentMethodToken": token},
                    headers={"X-API-KEY": issued.api_key})
    assert r.status_code == 201, r.get_data()
    assert r.get_json()["url"].startswith(f"https://{DOMAIN}/")
    return f"/api/recovery/update-card/{r.get_json()['token']}"


def link_of(path: str) -> dict:
    return {"token": path.rsplit("/", 1)[1]}


# -- Stripe Billing ------------------------------------------------------------------------------------


def stripe_failure(client, app, issued, stripe_http, *, hand_off: bool) -> Recovery:
    stripe_http.reply(200, ss.invoice_payments(ss.invoice_payment(ss.failed_intent())))
    if hand_off:
        stripe_http.reply(200, ss.fixture("invoice_open", auto_advance=False))
    webhook(client, issued, "stripe-billing", ss.payment_failed(), ss.signed(ss.payment_failed()))
    run_jobs(app)
    recovery = the_recovery(app)
    assert (recovery.source, recovery.status) == ("stripe-billing", "queued")
    assert recovery.payment_method_token == f"{ss.OLD_PM}|{ss.CUSTOMER}"
    return recovery


def confirmed(link_id: str) -> dict:
    """The connector account's SetupIntent after Elements confirmed it, its new card expanded."""
    card = stripe_json("payment_method_new_card", id=ss.NEW_PM, customer=ss.CUSTOMER)
    return stripe_json("setup_intent_succeeded", customer=ss.CUSTOMER, payment_method=card,
                       metadata={"revtain_card_update": link_id})


def open_stripe_page(client, stripe_http, path: str, link_id: str):
    stripe_http.reply(200, stripe_json("setup_intent", customer=ss.CUSTOMER,
                                       metadata={"revtain_card_update": link_id}))
    r = client.get(path, headers=HOST)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r


def test_stripe_billing_collects_the_card_with_the_connectors_keys_and_invoices_pay_charges_it(
    app, client, runner, receiver, stripe_http
):
    issued = merchant(app, runner, receiver, "stripe-billing", STRIPE_CREDENTIALS, hand_off=True)
    recovery = stripe_failure(client, app, issued, stripe_http, hand_off=True)
    path = generate(client, issued, recovery.payment_method_token)
    link_id = link_row(app, link_of(path)).id

    page = open_stripe_page(client, stripe_http, path, link_id)
    setup = stripe_http.requests[2]
    assert (setup.method, setup.path) == ("POST", "/v1/setup_intents")
    assert setup.headers["Authorization"] == f"Bearer {ss.SECRET_KEY}"  # the connector's account
    assert setup.form["customer"] == ss.CUSTOMER and setup.form["metadata[revtain_card_update]"] == link_id
    html = page.get_data(as_text=True)
    assert f'data-publishable-key="{PUBLISHABLE_KEY}"' in html and ss.SECRET_KEY not in html
    assert "Acme Cloud" in html and "Save card and pay" in html and "Revtain" not in html
    csp = csp_of(page)
    assert csp["script-src"] == [f"'nonce-{script_nonces(html).pop()}'", "https://js.stripe.com",
                                 "https://*.js.stripe.com"]
    assert csp["connect-src"] == ["https://api.stripe.com"] and csp["form-action"] == ["'self'"]

    stripe_http.reply(200, confirmed(link_id))
    stripe_http.reply(200, stripe_json("customer", id=ss.CUSTOMER))
    stripe_http.reply(200, ss.fixture("invoice_open", auto_advance=False, default_payment_method=ss.NEW_PM))
    stripe_http.reply(200, ss.paid_invoice())
    stripe_http.reply(200, ss.invoice_payments(ss.invoice_payment(ss.PAYING_INTENT, "paid")))
    done = client.post(path, headers=HOST, data={"csrf": csrf_of(html), "setup_intent": SETI})

    assert done.status_code == 200, done.get_data(as_text=True)
    assert "went through" in done.get_data(as_text=True) and "$49.00" in done.get_data(as_text=True)
    retrieve, default, invoice_card, pay, _ = stripe_http.requests[3:]
    assert (retrieve.method, retrieve.path) == ("GET", f"/v1/setup_intents/{SETI}")
    assert (default.path, default.form) == (f"/v1/customers/{ss.CUSTOMER}",
                                            {"invoice_settings[default_payment_method]": ss.NEW_PM})
    assert (invoice_card.path, invoice_card.form) == (f"/v1/invoices/{ss.INVOICE}",
                                                      {"default_payment_method": ss.NEW_PM})
    assert (pay.method, pay.path) == ("POST", f"/v1/invoices/{ss.INVOICE}/pay")
    assert pay.form == {"payment_method": ss.NEW_PM, "off_session": "true"}
    assert pay.headers["Idempotency-Key"] == f"{recovery.id}-1"
    assert {r.headers["Authorization"] for r in stripe_http.requests} == {f"Bearer {ss.SECRET_KEY}"}
    (attempt,) = attempts(app)
    assert (attempt.gateway, attempt.outcome, attempt.payment_method_token) == (
        "platform:stripe-billing", "approved", f"{ss.NEW_PM}|{ss.CUSTOMER}")

    run_jobs(app)
    updated, success = receiver.wait_for_each("card.updated", "recovery.success")
    assert updated.json["event"] == "card.updated"
    assert updated.json["newPaymentMethodToken"] == f"{ss.NEW_PM}|{ss.CUSTOMER}"
    assert success.json["event"] == "recovery.success" and success.json["trigger"] == "card_updated"
    assert the_recovery(app).status == "succeeded"
    assert client.get(path, headers=HOST).status_code == 410  # single use


def test_stripe_billing_without_the_hand_off_saves_the_card_and_leaves_the_retry_to_stripe(
    app, client, runner, receiver, stripe_http
):
    issued = merchant(app, runner, receiver, "stripe-billing", STRIPE_CREDENTIALS, hand_off=False)
    publish_dunning(app, issued.client_id)
    recovery = stripe_failure(client, app, issued, stripe_http, hand_off=False)
    assert recovery.strategy_used == "platform_retry"
    path = generate(client, issued, recovery.payment_method_token)
    link_id = link_row(app, link_of(path)).id
    html = open_stripe_page(client, stripe_http, path, link_id).get_data(as_text=True)
    assert "Your payment will be tried again with it." in html and ">Save card</button>" in html

    stripe_http.reply(200, confirmed(link_id))
    stripe_http.reply(200, stripe_json("customer", id=ss.CUSTOMER))
    stripe_http.reply(200, ss.fixture("invoice_open", default_payment_method=ss.NEW_PM))
    done = client.post(path, headers=HOST, data={"csrf": csrf_of(html), "setup_intent": SETI})

    assert done.status_code == 200, done.get_data(as_text=True)
    assert "will be tried again with this card" in done.get_data(as_text=True)
    # The card is the customer's default and the open invoice's own, which Stripe's next retry of
    # the invoice uses; Revtain charges nothing.
    assert [(r.method, r.path) for r in stripe_http.requests[1:]] == [
        ("POST", "/v1/setup_intents"), ("GET", f"/v1/setup_intents/{SETI}"),
        ("POST", f"/v1/customers/{ss.CUSTOMER}"), ("POST", f"/v1/invoices/{ss.INVOICE}")]
    assert stripe_http.requests[-1].form == {"default_payment_method": ss.NEW_PM}
    assert attempts(app) == []
    after = the_recovery(app)
    assert (after.status, after.strategy_used, after.payment_method_token) == (
        "queued", "platform_retry", f"{ss.NEW_PM}|{ss.CUSTOMER}")
    assert message_states(app, recovery.id) == [("cancelled", "card_updated")]  # the dunning stops
    run_jobs(app)
    (updated,) = receiver.wait_for(1)
    assert updated.json["event"] == "card.updated"


def test_stripe_billing_without_a_publishable_key_gets_the_unavailable_page(
    app, client, runner, receiver, stripe_http
):
    credentials = {k: v for k, v in STRIPE_CREDENTIALS.items() if k != "publishable_key"}
    issued = merchant(app, runner, receiver, "stripe-billing", credentials, hand_off=True)
    recovery = stripe_failure(client, app, issued, stripe_http, hand_off=True)
    r = client.get(generate(client, issued, recovery.payment_method_token), headers=HOST)
    assert r.status_code == 404 and "isn't available" in r.get_data(as_text=True)
    assert "script-src" not in r.headers["Content-Security-Policy"]
    assert len(stripe_http.requests) == 2  # processing's reads; nothing for the page


def test_stripe_not_answering_is_a_503_that_keeps_the_link(app, client, runner, receiver, stripe_http):
    issued = merchant(app, runner, receiver, "stripe-billing", STRIPE_CREDENTIALS, hand_off=True)
    recovery = stripe_failure(client, app, issued, stripe_http, hand_off=True)
    path = generate(client, issued, recovery.payment_method_token)
    stripe_http.fail(requests.exceptions.ConnectionError("connection refused"))
    r = client.get(path, headers=HOST)
    assert r.status_code == 503 and "try again in a few minutes" in r.get_data(as_text=True)
    open_stripe_page(client, stripe_http, path, link_row(app, link_of(path)).id)


@pytest.mark.parametrize("publishable_key", ["pk_live_" + "x" * 24, "sk_test_" + "x" * 24])
def test_set_up_refuses_a_publishable_key_of_another_mode_or_kind(app, publishable_key):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=None, gateway="test")
        with pytest.raises(accounts.ConnectorSetupError, match="publishable"):
            accounts.set_up(db.session.get(Client, issued.client_id), "stripe-billing",
                            {**STRIPE_CREDENTIALS, "publishable_key": publishable_key})


# -- Braintree -------------------------------------------------------------------------------------------


def braintree_failure(client, app, issued, braintree_http) -> Recovery:
    bs.reads_failure(braintree_http, bs.march_failure("2001"))
    body, headers = bs.form(bs.sample("subscription_charged_unsuccessfully"))
    webhook(client, issued, "braintree", body, headers)
    run_jobs(app)
    recovery = the_recovery(app)
    assert (recovery.source, recovery.status) == ("braintree", "queued")
    assert recovery.payment_method_token == f"{bs.OLD_CARD}|{bs.CUSTOMER}"
    return recovery


def moved_to_new_card() -> str:
    """The subscription once its payment method is the new card: still past due."""
    return bs.subscription(bs.declined(bs.DECLINED_MARCH, "2026-03-16T09:20:04Z"),
                           bs.paid(bs.PAID_FEBRUARY, "2026-02-16T09:18:51Z", bs.FEBRUARY), card=bs.NEW_CARD)


def open_braintree_page(client, braintree_http, path: str):
    braintree_http.reply(201, bt_client_token())
    r = client.get(path, headers=HOST)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r


def assert_card_update_of_subscription(update) -> None:
    assert (update.method, update.path) == ("PUT", f"{bs.BASE}/subscriptions/{bs.SUBSCRIPTION}")
    assert update.xml.findtext("payment_method_token") == bs.NEW_CARD
    assert update.xml.findtext("options/prorate_charges") == "false"


def test_braintree_vaults_the_card_with_the_connectors_keys_moves_the_subscription_and_retries_it(
    app, client, runner, receiver, braintree_http
):
    issued = merchant(app, runner, receiver, "braintree", bs.CREDENTIALS, hand_off=True)
    recovery = braintree_failure(client, app, issued, braintree_http)
    path = generate(client, issued, recovery.payment_method_token)
    page = open_braintree_page(client, braintree_http, path)
    html = page.get_data(as_text=True)
    token_request = braintree_http.requests[4]
    assert token_request.path == f"{bs.BASE}/client_token"  # the connector's merchant
    assert token_request.xml.findtext("customer_id") == bs.CUSTOMER
    assert token_request.headers["Authorization"] == "Basic " + base64.b64encode(
        f"{bs.PUBLIC_KEY}:{bs.PRIVATE_KEY}".encode()).decode()
    assert f'data-client-token="{bt_client_token_value()}"' in html and bs.PRIVATE_KEY not in html
    assert csp_of(page)["connect-src"] == ["https://api.sandbox.braintreegateway.com",
                                           "https://client-analytics.sandbox.braintreegateway.com",
                                           "https://*.braintree-api.com"]

    braintree_http.reply(201, bt_credit_card(bs.NEW_CARD, bs.CUSTOMER))
    braintree_http.reply(200, moved_to_new_card())
    braintree_http.reply(200, moved_to_new_card())
    braintree_http.reply(201, bs.paid(bs.COLLECTED, "2026-03-16T12:00:01Z", card=bs.NEW_CARD, source="api"))
    done = client.post(path, headers=HOST, data={"csrf": csrf_of(html), "payment_method_nonce": NONCE})

    assert done.status_code == 200, done.get_data(as_text=True)
    assert "went through" in done.get_data(as_text=True)
    vault, update, find, retry = braintree_http.requests[5:]
    assert (vault.method, vault.path) == ("POST", f"{bs.BASE}/payment_methods")
    assert vault.xml.findtext("customer_id") == bs.CUSTOMER
    assert vault.xml.findtext("payment_method_nonce") == NONCE
    assert vault.xml.findtext("options/verify_card") == "true"
    assert_card_update_of_subscription(update)
    assert find.path == f"{bs.BASE}/subscriptions/{bs.SUBSCRIPTION}"
    assert (retry.method, retry.path) == ("POST", f"{bs.BASE}/transactions")  # retry_charge
    assert retry.xml.findtext("subscription_id") == bs.SUBSCRIPTION
    assert retry.xml.findtext("amount") == "49.00"
    (attempt,) = attempts(app)
    assert (attempt.gateway, attempt.outcome) == ("platform:braintree", "approved")
    run_jobs(app)
    updated, success = receiver.wait_for_each("card.updated", "recovery.success")
    assert updated.json["newPaymentMethodToken"] == f"{bs.NEW_CARD}|{bs.CUSTOMER}"
    assert success.json["event"] == "recovery.success"


def test_braintree_without_the_hand_off_moves_the_subscription_to_the_card_and_charges_nothing(
    app, client, runner, receiver, braintree_http
):
    issued = merchant(app, runner, receiver, "braintree", bs.CREDENTIALS, hand_off=False)
    recovery = braintree_failure(client, app, issued, braintree_http)
    assert recovery.strategy_used == "platform_retry"
    path = generate(client, issued, recovery.payment_method_token)
    html = open_braintree_page(client, braintree_http, path).get_data(as_text=True)
    assert ">Save card</button>" in html

    braintree_http.reply(201, bt_credit_card(bs.NEW_CARD, bs.CUSTOMER))
    braintree_http.reply(200, moved_to_new_card())
    done = client.post(path, headers=HOST, data={"csrf": csrf_of(html), "payment_method_nonce": NONCE})

    assert done.status_code == 200, done.get_data(as_text=True)
    assert "will be tried again with this card" in done.get_data(as_text=True)
    vault, update = braintree_http.requests[5:]  # Braintree's retry logic charges it: no retry_charge
    assert vault.path == f"{bs.BASE}/payment_methods"
    assert_card_update_of_subscription(update)
    assert attempts(app) == []
    after = the_recovery(app)
    assert (after.status, after.payment_method_token) == ("queued", f"{bs.NEW_CARD}|{bs.CUSTOMER}")


CANCELED = """<api-error-response>
  <errors>
    <errors type="array"/>
    <subscription>
      <errors type="array">
        <error>
          <code>81901</code>
          <attribute type="symbol">base</attribute>
          <message>Cannot edit a canceled subscription.</message>
        </error>
      </errors>
    </subscription>
  </errors>
  <params>
    <id>acme-pro-7k2q9d</id>
  </params>
  <message>Cannot edit a canceled subscription.</message>
</api-error-response>"""


def test_a_subscription_braintree_will_not_move_to_the_card_is_explained_and_nothing_is_completed(
    app, client, runner, receiver, braintree_http
):
    issued = merchant(app, runner, receiver, "braintree", bs.CREDENTIALS, hand_off=True)
    recovery = braintree_failure(client, app, issued, braintree_http)
    path = generate(client, issued, recovery.payment_method_token)
    html = open_braintree_page(client, braintree_http, path).get_data(as_text=True)

    braintree_http.reply(201, bt_credit_card(bs.NEW_CARD, bs.CUSTOMER))
    braintree_http.reply(422, CANCELED)
    braintree_http.reply(201, bt_client_token())  # the form again
    r = client.post(path, headers=HOST, data={"csrf": csrf_of(html), "payment_method_nonce": NONCE})

    assert r.status_code == 400 and "can&#39;t be used for your subscription" in r.get_data(as_text=True)
    assert link_row(app, link_of(path)).used_at is None
    after = the_recovery(app)
    assert (after.status, after.payment_method_token) == ("queued", recovery.payment_method_token)
    assert attempts(app) == []


# -- Chargebee and Recurly: their own hosted pages -------------------------------------------------------


def test_chargebee_the_dunning_emails_link_leads_to_chargebees_payment_sources_page(
    app, client, runner, receiver, chargebee_http, tmp_path
):
    issued = merchant(app, runner, receiver, "chargebee", cs.CREDENTIALS, hand_off=True)
    publish_dunning(app, issued.client_id)
    chargebee_http.reply(200, cs.dunning_stopped())
    webhook(client, issued, "chargebee", cs.payment_failed(), cs.basic_auth())
    run_jobs(app)
    sweep(app)
    (sent,) = (tmp_path / "outbox").iterdir()
    mail = email.message_from_bytes(sent.read_bytes(), policy=policy.default)
    tracked = CLICK.search(mail.get_body(("plain",)).get_content()).group(0)  # counts the click, then on
    redirect = client.get(tracked.removeprefix(f"https://{DOMAIN}"), headers=HOST)
    assert redirect.status_code == 302
    path = f"/api/recovery/update-card/{LINK.fullmatch(redirect.headers['Location']).group(1)}"

    page = client.get(path, headers=HOST)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Acme Cloud" in html and "handled by Chargebee" in html and "$49.00" in html
    assert f'href="{path}/continue"' in html and "<form" not in html and "<script" not in html
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert csp_of(page)["form-action"] == ["'self'"]
    assert len(chargebee_http.requests) == 1  # showing the page asks Chargebee nothing

    hosted = cs.fixture("hosted_page")
    chargebee_http.reply(200, {"hosted_page": hosted})
    go = client.get(f"{path}/continue", headers=HOST)
    assert go.status_code == 303 and go.headers["Location"] == hosted["url"]
    assert go.headers["Referrer-Policy"] == "no-referrer" and go.headers["Cache-Control"] == "no-store"
    ask = chargebee_http.requests[1]
    assert (ask.method, ask.host, ask.path) == ("POST", f"{cs.SITE}.chargebee.com",
                                                "/hosted_pages/manage_payment_sources")
    assert ask.form == {"customer[id]": cs.CUSTOMER} and ask.basic_user == cs.API_KEY
    assert link_row(app, link_of(path)).used_at is None  # the card changes on Chargebee's page

    # Chargebee then reports the new payment source; the connector retries with it at once.
    chargebee_http.reply(200, cs.collected())
    webhook(client, issued, "chargebee", cs.payment_source_updated(), cs.basic_auth())
    run_jobs(app)
    pay = chargebee_http.requests[2]
    assert pay.path == f"/invoices/{cs.INVOICE}/collect_payment"
    assert pay.form["payment_source_id"] == cs.NEW_SOURCE
    assert the_recovery(app).status == "succeeded"


def test_chargebee_not_answering_is_a_503_and_the_link_keeps_working(
    app, client, runner, receiver, chargebee_http
):
    issued = merchant(app, runner, receiver, "chargebee", cs.CREDENTIALS, hand_off=True)
    chargebee_http.reply(200, cs.dunning_stopped())
    webhook(client, issued, "chargebee", cs.payment_failed(), cs.basic_auth())
    run_jobs(app)
    path = generate(client, issued, cs.OLD_SOURCE)
    chargebee_http.fail(httpx.ConnectError("connection refused"))
    r = client.get(f"{path}/continue", headers=HOST)
    assert r.status_code == 503 and "try again in a few minutes" in r.get_data(as_text=True)
    chargebee_http.reply(200, {"hosted_page": cs.fixture("hosted_page")})
    assert client.get(f"{path}/continue", headers=HOST).status_code == 303


def recurly_failure(client, app, issued, recurly_api) -> None:
    recurly_api.reply(200, rs.fixture("transaction_declined")).reply(200, rs.invoice())
    recurly_api.reply(200, rs.account())
    webhook(client, issued, "recurly", rs.payment_failed(), rs.signed(rs.payment_failed()))
    run_jobs(app)


def test_recurly_continue_leads_to_the_accounts_hosted_management_page(
    app, client, runner, receiver, recurly_api
):
    issued = merchant(app, runner, receiver, "recurly", RECURLY_CREDENTIALS, hand_off=False)
    recurly_failure(client, app, issued, recurly_api)
    recovery = the_recovery(app)
    path = generate(client, issued, recovery.payment_method_token)

    page = client.get(path, headers=HOST)
    assert page.status_code == 200 and "handled by Recurly" in page.get_data(as_text=True)
    assert "Continue to Recurly" in page.get_data(as_text=True)

    recurly_api.reply(200, rs.account())
    go = client.get(f"{path}/continue", headers=HOST)
    assert go.status_code == 303
    token = rs.fixture("account")["hosted_login_token"]
    assert go.headers["Location"] == f"https://{rs.SUBDOMAIN}.recurly.com/account/{token}"
    ask = recurly_api.requests[3]
    assert (ask.method, ask.path, ask.host) == ("GET", f"/accounts/{rs.ACCOUNT}", "v3.recurly.com")
    assert attempts(app) == []  # Recurly retries once the billing info is updated


def test_a_post_to_a_hosted_platforms_page_is_a_405_and_continue_needs_a_platform_link(
    app, client, runner, receiver, recurly_api
):
    issued = merchant(app, runner, receiver, "recurly", RECURLY_CREDENTIALS, hand_off=False)
    recurly_failure(client, app, issued, recurly_api)
    path = generate(client, issued, the_recovery(app).payment_method_token)
    r = client.post(path, headers=HOST, data={"csrf": "x"})
    assert r.status_code == 405 and "Continue to Recurly" in r.get_data(as_text=True)

    api_card = generate(client, issued, "pm_old_card")  # no connector's recovery: the usual page
    assert client.get(f"{api_card}/continue", headers=HOST).status_code == 404
    assert client.get(f"{path}/continue", headers={"Host": "evil.example"}).status_code == 404
    assert client.get("/api/recovery/update-card/nope/continue", headers=HOST).status_code == 404
    assert len(recurly_api.requests) == 3  # none of these asked Recurly


# -- Shopify ReCharge and Zuora -------------------------------------------------------------------------


def recharge_failure(client, app, issued, requests_http) -> None:
    requests_http.reply(200, rc.token_information()).reply(200, rc.address())
    raw = rc.charge_failed()
    webhook(client, issued, "shopify-recharge", raw, rc.signed(raw, "charge/failed"))
    run_jobs(app)


def test_recharge_continue_leads_to_the_customers_portal_signed_in(
    app, client, runner, receiver, requests_http
):
    issued = merchant(app, runner, receiver, "shopify-recharge", rc.CREDENTIALS, hand_off=False)
    recharge_failure(client, app, issued, requests_http)
    path = generate(client, issued, the_recovery(app).payment_method_token)

    page = client.get(path, headers=HOST)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "handled by ReCharge" in html and "Continue to ReCharge" in html
    assert len(requests_http.requests) == 2  # showing the page asks ReCharge nothing

    access = rc.fixture("portal_access")
    requests_http.reply(200, access)
    go = client.get(f"{path}/continue", headers=HOST)
    assert go.status_code == 303 and go.headers["Location"] == access["portal_access"]["portal_url"]
    ask = requests_http.requests[2]
    assert (ask.method, ask.url) == ("GET", f"{rc.API}/customers/{rc.CUSTOMER}/portal_access")
    assert ask.headers["X-Recharge-Access-Token"] == rc.API_TOKEN
    assert link_row(app, link_of(path)).used_at is None

    # ReCharge reports the new card; without the hand-off ReCharge retries the charge with it itself
    requests_http.reply(200, rc.token_information()).reply(200, rc.fixture("payment_methods"))
    raw = rc.payment_method_updated("2026-03-16T12:20:00+00:00")
    webhook(client, issued, "shopify-recharge", raw, rc.signed(raw, "customer/payment_method_updated"))
    run_jobs(app)
    recovery = the_recovery(app)
    assert recovery.payment_method_token == rc.token_of(rc.NEW_METHOD) and attempts(app) == []


def test_recharge_not_answering_is_a_503_and_the_link_keeps_working(
    app, client, runner, receiver, requests_http
):
    issued = merchant(app, runner, receiver, "shopify-recharge", rc.CREDENTIALS, hand_off=False)
    recharge_failure(client, app, issued, requests_http)
    path = generate(client, issued, the_recovery(app).payment_method_token)
    requests_http.fail(requests.ConnectionError("connection refused"))
    r = client.get(f"{path}/continue", headers=HOST)
    assert r.status_code == 503 and "try again in a few minutes" in r.get_data(as_text=True)
    requests_http.reply(200, rc.fixture("portal_access"))
    assert client.get(f"{path}/continue", headers=HOST).status_code == 303


def zuora_failure(client, app, issued, requests_http) -> None:
    requests_http.reply(200, zs.signed_in()).reply(200, zs.declined_payment()).reply(200, zs.parts())
    requests_http.reply(200, zs.invoice()).reply(200, zs.account())
    webhook(client, issued, "zuora", zs.payment_failure(), zs.basic_auth())
    run_jobs(app)


def test_zuora_continue_leads_to_the_merchants_own_card_page(app, client, runner, receiver, requests_http):
    credentials = {**zs.CREDENTIALS, "card_update_url": zs.CARD_PAGE}
    issued = merchant(app, runner, receiver, "zuora", credentials, hand_off=False)
    zuora_failure(client, app, issued, requests_http)
    path = generate(client, issued, the_recovery(app).payment_method_token)

    page = client.get(path, headers=HOST)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Acme Cloud's secure billing page" in html and "Zuora" not in html
    go = client.get(f"{path}/continue", headers=HOST)
    assert go.status_code == 303 and go.headers["Location"] == zs.CARD_PAGE
    assert len(requests_http.requests) == 5  # neither asked Zuora anything


def test_zuora_without_a_card_page_the_link_is_unavailable(app, client, runner, receiver, requests_http):
    issued = merchant(app, runner, receiver, "zuora", zs.CREDENTIALS, hand_off=False)
    zuora_failure(client, app, issued, requests_http)
    path = generate(client, issued, the_recovery(app).payment_method_token)
    page = client.get(path, headers=HOST)
    assert page.status_code == 404 and "Continue" not in page.get_data(as_text=True)
    assert client.get(f"{path}/continue", headers=HOST).status_code == 404


# -- an API recovery of the same client ---------------------------------------------------------------


def test_an_api_recoverys_page_is_unchanged_for_a_client_with_connectors(
    app, client, runner, receiver, stripe_http
):
    issued = merchant(app, runner, receiver, "stripe-billing", STRIPE_CREDENTIALS, hand_off=True)
    headers = {"X-API-KEY": issued.api_key}
    r = client.post("/api/recovery/execute", headers=headers, json={
        "paymentMethodToken": "pm_old_card", "amount": 4900, "originalDeclineCode": "expired_card"})
    assert r.status_code == 202, r.get_data()
    path = generate(client, issued, "pm_old_card")
    page = client.get(path, headers=HOST)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'autocomplete="cc-number"' in html  # the test gateway's form
    assert "stripe.com" not in page.headers["Content-Security-Policy"]  # only our own script
    done = client.post(path, headers=HOST, data={"csrf": csrf_of(html), "number": "4111 1111 1111 1111",
                                                 "expiry": "12/30", "cvc": "123"})
    assert done.status_code == 200 and "went through" in done.get_data(as_text=True)
    assert stripe_http.requests == []  # the connector's Stripe account is never asked
