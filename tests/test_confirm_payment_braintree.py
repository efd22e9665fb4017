"""Confirm this payment (3-D Secure) for a Braintree client: a nonce of the vaulted card for
braintree-web's ``threeDSecure.verifyCard`` in the browser, then a sale with the authenticated nonce
and ``three_d_secure.required``. The real ``braintree`` library runs; only its HTTP is stubbed."""

from __future__ import annotations

from string import Template

import pytest

from revtain.cardupdate.authentication import STRATEGY
from tests.gateways.stubs import (
    FIXTURES,
    BraintreeHttp,
    bt_client_token,
    bt_client_token_value,
    bt_transaction,
)
from tests.support.card_update import DOMAIN, csp_of, csrf_of, generate, link_row, page_path, recovery_row
from tests.support.jobs import run_jobs
from tests.test_card_update_braintree import BASE, CUSTOMER, OLD_TOKEN, merchant  # noqa: F401

START = "2026-03-16T12:00:00+00:00"
HOST = {"Host": DOMAIN}
VAULT_NONCE = "tokencc_bc_vault_3ds_nonce_0001"
AUTHENTICATED = "tokencc_bc_3ds_authenticated_0002"


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def braintree_http(monkeypatch):
    stub = BraintreeHttp().install(monkeypatch)
    yield stub
    stub.assert_done()


@pytest.fixture
def headers(merchant):  # noqa: F811
    return {"X-API-KEY": merchant.api_key}


def vault_nonce() -> str:
    body = (FIXTURES / "braintree" / "payment_method_nonce.xml").read_text()
    return Template(body).substitute(nonce=VAULT_NONCE, bin="400000")


def blocked(client, headers) -> str:
    r = client.post("/api/recovery/execute", headers=headers, json={
        "paymentMethodToken": OLD_TOKEN, "amount": 4900, "currency": "USD",
        "originalDeclineCode": "authentication_required", "customerEmail": "jo@example.com"})
    assert r.status_code == 403, r.get_data()
    return r.get_json()["transactionId"]


def open_page(client, braintree_http, link):
    braintree_http.reply(201, bt_client_token())
    braintree_http.reply(201, vault_nonce())
    r = client.get(page_path(link), headers=HOST)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r


def test_three_d_secure_nonce_then_a_sale_that_requires_it(app, client, headers, braintree_http, receiver):
    tx = blocked(client, headers)
    link = generate(client, headers, OLD_TOKEN)
    r = open_page(client, braintree_http, link)
    token_request, nonce_request = braintree_http.requests
    assert token_request.url == f"{BASE}/client_token"
    assert token_request.xml.findtext("customer_id") == CUSTOMER
    assert nonce_request.method == "POST"
    assert nonce_request.url == f"{BASE}/payment_methods/bt_pm_token_1/nonces"
    html = r.get_data(as_text=True)
    assert f'data-client-token="{bt_client_token_value()}"' in html
    assert f'data-nonce="{VAULT_NONCE}"' in html and 'data-bin="400000"' in html
    assert 'data-amount="49.00"' in html
    assert '<script src="https://js.braintreegateway.com/web/3.134.0/js/three-d-secure.min.js"' in html
    assert "https://*.cardinalcommerce.com" in csp_of(r)["frame-src"]

    braintree_http.reply(201, bt_transaction(id="bt3dsok1", amount="49.00", order_id=f"{tx}:authenticated"))
    done = client.post(page_path(link), headers=HOST,
                       data={"csrf": csrf_of(html), "payment_method_nonce": AUTHENTICATED})
    assert done.status_code == 200 and "Payment received" in done.get_data(as_text=True)
    sale = braintree_http.requests[2]
    assert sale.url == f"{BASE}/transactions"
    assert sale.xml.findtext("payment_method_nonce") == AUTHENTICATED
    assert sale.xml.findtext("amount") == "49.00" and sale.xml.findtext("order_id") == f"{tx}:authenticated"
    assert sale.xml.findtext("options/three_d_secure/required") == "true"
    assert sale.xml.findtext("options/submit_for_settlement") == "true"

    recovery = recovery_row(app, tx)
    assert (recovery.status, recovery.gateway_transaction_id) == ("succeeded", "bt3dsok1")
    run_jobs(app)
    events = {h.json["event"]: h.json for h in receiver.wait_for(2)}
    assert events["recovery.success"]["trigger"] == STRATEGY


def test_a_sale_braintree_refuses_settles_nothing(app, client, headers, braintree_http):
    tx = blocked(client, headers)
    link = generate(client, headers, OLD_TOKEN)
    html = open_page(client, braintree_http, link).get_data(as_text=True)
    braintree_http.reply(201, bt_transaction(id="bt3dsno1", status="gateway_rejected", amount="49.00",
                                             order_id=f"{tx}:authenticated"))
    braintree_http.reply(201, bt_client_token())  # the page again
    braintree_http.reply(201, vault_nonce())
    r = client.post(page_path(link), headers=HOST,
                    data={"csrf": csrf_of(html), "payment_method_nonce": AUTHENTICATED})
    assert r.status_code == 400 and "wasn&#39;t confirmed" in r.get_data(as_text=True)
    assert recovery_row(app, tx).status == "awaiting_card" and link_row(app, link).used_at is None
