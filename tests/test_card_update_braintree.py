"""The card-update page of a Braintree client: Hosted Fields authorized by a client token for the
customer, the nonce vaulted with verification on the server. The real ``braintree`` library runs;
only its ``Http.http_do`` is stubbed (braintree-web cannot run here: there is no network)."""

from __future__ import annotations

import pytest

from revtain.onboarding import onboard
from tests.gateways.stubs import (
    BraintreeHttp,
    bt_client_token,
    bt_client_token_value,
    bt_credit_card,
    bt_search_ids,
    bt_transaction,
    bt_verification_declined,
)
from tests.support.card_update import (
    DOMAIN,
    csp_of,
    csrf_of,
    execute,
    generate,
    link_row,
    message_states,
    page_path,
    publish_dunning,
    recovery_row,
    script_nonces,
)
from tests.support.jobs import run_jobs

START = "2026-03-16T12:00:00+00:00"
MERCHANT = "revtainmerchant"
PRIVATE_KEY = "fixtureprivate0123456789abcdef"
CUSTOMER = "84021337"
OLD_TOKEN = f"bt_pm_token_1|{CUSTOMER}"
NEW_TOKEN = "bt_new_token_2"
NONCE = "tokencc_bc_7yv2qp_6k4m9t_3hx8wz_5nq2rd_4c7"
BASE = f"https://api.sandbox.braintreegateway.com:443/merchants/{MERCHANT}"
HOST = {"Host": DOMAIN}


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def braintree_http(monkeypatch):
    stub = BraintreeHttp().install(monkeypatch)
    yield stub
    stub.assert_done()


@pytest.fixture
def merchant(app, runner, receiver):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, gateway="braintree",
                         gateway_credentials={"merchant_id": MERCHANT, "public_key": "fixturepublic01",
                                              "private_key": PRIVATE_KEY, "environment": "sandbox"},
                         card_update_domain=DOMAIN, brand_name="Acme Cloud")
    result = runner.invoke(args=["domains", "verify", issued.client_id, "--force"])
    assert result.exit_code == 0, result.output
    publish_dunning(app, issued.client_id)
    return issued


@pytest.fixture
def headers(merchant):
    return {"X-API-KEY": merchant.api_key}


def open_page(client, braintree_http, link):
    braintree_http.reply(201, bt_client_token())
    r = client.get(page_path(link), headers=HOST)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r


def test_the_page_shows_hosted_fields_with_a_client_token_for_the_customer(client, headers, braintree_http):
    link = generate(client, headers, OLD_TOKEN)
    r = open_page(client, braintree_http, link)

    (sent,) = braintree_http.requests
    assert (sent.method, sent.url) == ("POST", f"{BASE}/client_token")
    assert sent.xml.findtext("customer_id") == CUSTOMER and sent.xml.findtext("version") == "2"
    html = r.get_data(as_text=True)
    assert f'data-client-token="{bt_client_token_value()}"' in html
    assert PRIVATE_KEY not in html
    assert '<script src="https://js.braintreegateway.com/web/3.134.0/js/client.min.js"' in html
    assert '<script src="https://js.braintreegateway.com/web/3.134.0/js/hosted-fields.min.js"' in html
    for field in ("card-number", "expiration-date", "cvv"):  # labelled containers for the fields
        assert f'<label for="{field}">' in html and f'<div id="{field}" class="field">' in html
    assert 'name="payment_method_nonce"' in html and 'role="alert"' in html

    csp = csp_of(r)
    (nonce,) = script_nonces(html)
    assert csp["script-src"] == [f"'nonce-{nonce}'", "https://js.braintreegateway.com",
                                 "https://assets.braintreegateway.com"]
    assert csp["frame-src"] == csp["child-src"] == ["https://assets.braintreegateway.com"]
    assert csp["connect-src"] == ["https://api.sandbox.braintreegateway.com",
                                  "https://client-analytics.sandbox.braintreegateway.com",
                                  "https://*.braintree-api.com"]
    assert csp["default-src"] == ["'none'"] and csp["style-src"] == [f"'nonce-{nonce}'"]
    assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]


def test_the_nonce_is_vaulted_verified_and_made_default_then_the_recovery_is_charged(
    app, client, headers, braintree_http, receiver
):
    queued = execute(client, headers, OLD_TOKEN)
    assert braintree_http.requests == []
    link = generate(client, headers, OLD_TOKEN)
    form = open_page(client, braintree_http, link).get_data(as_text=True)

    braintree_http.reply(201, bt_credit_card(NEW_TOKEN, CUSTOMER))
    braintree_http.reply(200, bt_search_ids())  # the charge's re-run check finds nothing
    braintree_http.reply(201, bt_transaction(payment_method_token=NEW_TOKEN, amount="49.00",
                                             order_id=f"{queued['transactionId']}-1"))
    r = client.post(page_path(link), headers=HOST,
                    data={"csrf": csrf_of(form), "payment_method_nonce": NONCE})

    assert r.status_code == 200, r.get_data(as_text=True)
    html = r.get_data(as_text=True)
    assert "Mastercard •••• 4444" in html and "went through" in html and "$49.00" in html
    _, create, _, sale = braintree_http.requests
    assert (create.method, create.url) == ("POST", f"{BASE}/payment_methods")
    assert create.xml.findtext("customer_id") == CUSTOMER
    assert create.xml.findtext("payment_method_nonce") == NONCE
    assert create.xml.findtext("options/verify_card") == "true"
    assert create.xml.findtext("options/make_default") == "true"
    assert sale.url == f"{BASE}/transactions"
    assert sale.xml.findtext("payment_method_token") == NEW_TOKEN and sale.xml.findtext("amount") == "49.00"

    run_jobs(app)
    updated, success = receiver.wait_for_each("card.updated", "recovery.success")
    assert updated.json["event"] == "card.updated"
    assert updated.json["oldPaymentMethodToken"] == OLD_TOKEN
    assert updated.json["newPaymentMethodToken"] == f"{NEW_TOKEN}|{CUSTOMER}"
    assert success.json["event"] == "recovery.success" and success.json["trigger"] == "card_updated"
    assert message_states(app, queued["transactionId"]) == [("cancelled", "card_updated")] * 2
    row = link_row(app, link)
    assert (row.new_card_brand, row.new_card_last4) == ("MasterCard", "4444")

    # single use
    replay = client.post(page_path(link), headers=HOST,
                         data={"csrf": csrf_of(form), "payment_method_nonce": NONCE})
    assert replay.status_code == 410 and "already been used" in replay.get_data(as_text=True)
    assert len(braintree_http.requests) == 4


def test_a_failed_verification_is_explained_and_the_link_stays_usable(
    app, client, headers, braintree_http, receiver
):
    queued = execute(client, headers, OLD_TOKEN)
    link = generate(client, headers, OLD_TOKEN)
    form = open_page(client, braintree_http, link).get_data(as_text=True)

    braintree_http.reply(422, bt_verification_declined(CUSTOMER))
    braintree_http.reply(201, bt_client_token())  # the form again, for another card
    r = client.post(page_path(link), headers=HOST,
                    data={"csrf": csrf_of(form), "payment_method_nonce": NONCE})

    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert '<p class="error" role="alert" id="form-error" tabindex="-1">' in html
    assert "Your bank declined this card (the bank said: Do Not Honor)" in html
    assert "data-client-token=" in html
    assert [s.url.rsplit("/", 1)[1] for s in braintree_http.requests] == [
        "client_token", "payment_methods", "client_token"]  # nothing charged
    run_jobs(app)
    assert receiver.events() == []
    assert link_row(app, link).used_at is None
    recovery = recovery_row(app, queued["transactionId"])
    assert (recovery.status, recovery.payment_method_token) == ("awaiting_card", OLD_TOKEN)  # expired
    assert message_states(app, queued["transactionId"]) == [("pending", None), ("pending", None)]

    # another card with the same link works
    braintree_http.reply(201, bt_credit_card(NEW_TOKEN, CUSTOMER))
    braintree_http.reply(200, bt_search_ids())
    braintree_http.reply(201, bt_transaction(payment_method_token=NEW_TOKEN, amount="49.00"))
    again = client.post(page_path(link), headers=HOST,
                        data={"csrf": csrf_of(html), "payment_method_nonce": NONCE + "x"})
    assert again.status_code == 200


@pytest.mark.parametrize("nonce", ["", "nonce with spaces", "x" * 129, "../../customers"])
def test_a_malformed_nonce_is_refused_without_asking_braintree(client, headers, braintree_http, nonce):
    link = generate(client, headers, OLD_TOKEN)
    form = open_page(client, braintree_http, link).get_data(as_text=True)
    braintree_http.reply(201, bt_client_token())
    r = client.post(page_path(link), headers=HOST,
                    data={"csrf": csrf_of(form), "payment_method_nonce": nonce})
    assert r.status_code == 400 and "couldn&#39;t save this card" in r.get_data(as_text=True)
    assert [s.url.rsplit("/", 1)[1] for s in braintree_http.requests] == ["client_token"] * 2


def test_a_token_without_a_customer_gets_the_unavailable_page(client, headers, braintree_http):
    link = generate(client, headers, "bt_pm_token_1")
    r = client.get(page_path(link), headers=HOST)
    assert r.status_code == 404 and "isn't available" in r.get_data(as_text=True)
    assert braintree_http.requests == []


def test_braintree_not_answering_is_a_503(client, headers, braintree_http):
    link = generate(client, headers, OLD_TOKEN)
    braintree_http.reply(503)
    r = client.get(page_path(link), headers=HOST)
    assert r.status_code == 503 and "try again in a few minutes" in r.get_data(as_text=True)
