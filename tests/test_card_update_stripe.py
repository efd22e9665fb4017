"""The card-update page of a Stripe client: a SetupIntent confirmed by Stripe Elements in the
browser, checked and completed on the server. The real ``stripe`` library runs; only its HTTP layer
is stubbed (Stripe.js itself cannot run here: there is no network)."""

from __future__ import annotations

import copy
import json

import pytest
import requests
import stripe
from sqlalchemy import text

from revtain.crypto import decrypt
from revtain.extensions import db
from revtain.models import Client
from revtain.onboarding import onboard
from tests.gateways.stubs import StripeSession, stripe_intent, stripe_json
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
SECRET_KEY = "sk_test_" + "s" * 24
PUBLISHABLE_KEY = "pk_test_" + "P" * 24
CUSTOMER = "cus_SpQ4fixture0001"
OLD_TOKEN = f"pm_1RtQ7fLkdIwHu7ixVisa0001|{CUSTOMER}"
NEW_PM = "pm_1RtQAbLkdIwHu7ixMcNew0002"
SETI = "seti_1RtQ9aLkdIwHu7ixSetup001"
HOST = {"Host": DOMAIN}


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def stripe_http(monkeypatch):
    """Every Stripe client the app builds talks to this stub instead of api.stripe.com."""
    session = StripeSession()
    real = stripe.RequestsClient
    monkeypatch.setattr(stripe, "RequestsClient",
                        lambda timeout=None, **kw: real(session=session, timeout=timeout))
    yield session
    session.assert_done()


def onboard_stripe(app, runner, receiver, **credentials):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, gateway="stripe",
                         gateway_credentials={"secret_key": SECRET_KEY, **credentials},
                         card_update_domain=DOMAIN, brand_name="Acme Cloud",
                         brand_primary_color="#0f766e")
    result = runner.invoke(args=["domains", "verify", issued.client_id, "--force"])
    assert result.exit_code == 0, result.output
    publish_dunning(app, issued.client_id)
    return issued


@pytest.fixture
def merchant(app, runner, receiver):
    return onboard_stripe(app, runner, receiver, publishable_key=PUBLISHABLE_KEY)


@pytest.fixture
def headers(merchant):
    return {"X-API-KEY": merchant.api_key}


def setup_intent(link_id: str, **fields) -> dict:
    return stripe_json("setup_intent", metadata={"revtain_card_update": link_id}, **fields)


def succeeded(link_id: str, **fields) -> dict:
    """The SetupIntent after Elements confirmed it, retrieved with its PaymentMethod expanded."""
    body = {"metadata": {"revtain_card_update": link_id},
            "payment_method": stripe_json("payment_method_new_card"), **fields}
    return stripe_json("setup_intent_succeeded", **copy.deepcopy(body))


def open_page(client, stripe_http, link, link_id):
    stripe_http.reply(200, setup_intent(link_id))
    r = client.get(page_path(link), headers=HOST)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r


def test_the_page_creates_a_setup_intent_for_the_link_and_shows_stripe_elements(
    app, client, headers, stripe_http
):
    link = generate(client, headers, OLD_TOKEN)
    link_id = link_row(app, link).id
    r = open_page(client, stripe_http, link, link_id)

    (sent,) = stripe_http.requests
    assert (sent.method, sent.host, sent.path) == ("POST", "api.stripe.com", "/v1/setup_intents")
    assert sent.form == {
        "customer": CUSTOMER,
        "usage": "off_session",
        "payment_method_types[0]": "card",
        "metadata[revtain_card_update]": link_id,
    }
    assert sent.headers["Idempotency-Key"] == f"revtain-card-update-{link_id}"
    assert sent.headers["Authorization"] == f"Bearer {SECRET_KEY}"

    html = r.get_data(as_text=True)
    assert f'data-client-secret="{stripe_json("setup_intent")["client_secret"]}"' in html
    assert f'data-publishable-key="{PUBLISHABLE_KEY}"' in html
    assert SECRET_KEY not in html
    assert '<script src="https://js.stripe.com/v3"' in html
    assert 'name="setup_intent"' in html and 'role="alert"' in html and "<noscript>" in html
    assert "Acme Cloud" in html and "--brand: #0f766e" in html and "Revtain" not in html
    assert 'name="number"' not in html  # no card field of ours: Elements take the card

    csp = csp_of(r)
    (nonce,) = script_nonces(html)
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == [f"'nonce-{nonce}'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert csp["frame-src"] == ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"]
    assert csp["connect-src"] == ["https://api.stripe.com"]
    assert csp["style-src"] == [f"'nonce-{nonce}'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]
    assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["Cache-Control"] == "no-store"

    # a reload asks Stripe with the same idempotency key: the same SetupIntent comes back
    reload = open_page(client, stripe_http, link, link_id)
    assert stripe_http.requests[1].headers["Idempotency-Key"] == f"revtain-card-update-{link_id}"
    assert script_nonces(reload.get_data(as_text=True)) != {nonce}  # a fresh nonce per response


def test_a_confirmed_setup_intent_updates_the_card_and_retries_the_recovery_at_once(
    app, client, headers, stripe_http, receiver
):
    queued = execute(client, headers, OLD_TOKEN)
    assert stripe_http.requests == []  # an expired card is not charged: it waits for a new one
    assert message_states(app, queued["transactionId"]) == [("pending", None), ("pending", None)]
    link = generate(client, headers, OLD_TOKEN)
    link_id = link_row(app, link).id
    form = open_page(client, stripe_http, link, link_id).get_data(as_text=True)

    stripe_http.reply(200, succeeded(link_id))
    stripe_http.reply(200, stripe_json("customer"))
    stripe_http.reply(200, stripe_intent(payment_method=NEW_PM, amount=4900))
    r = client.post(page_path(link), headers=HOST, data={"csrf": csrf_of(form), "setup_intent": SETI})

    assert r.status_code == 200, r.get_data(as_text=True)
    html = r.get_data(as_text=True)
    assert "Mastercard •••• 4444" in html and "went through" in html and "$49.00" in html
    _, retrieve, update, charge = stripe_http.requests
    assert (retrieve.method, retrieve.path) == ("GET", f"/v1/setup_intents/{SETI}")
    assert retrieve.query == {"expand[0]": "payment_method"}
    assert (update.method, update.path) == ("POST", f"/v1/customers/{CUSTOMER}")
    assert update.form == {"invoice_settings[default_payment_method]": NEW_PM}
    assert (charge.method, charge.path) == ("POST", "/v1/payment_intents")
    assert charge.form["payment_method"] == NEW_PM and charge.form["customer"] == CUSTOMER
    assert charge.form["off_session"] == "true" and charge.form["amount"] == "4900"
    assert charge.headers["Idempotency-Key"] == f"{queued['transactionId']}-1"

    run_jobs(app)
    updated, success = receiver.wait_for_each("card.updated", "recovery.success")
    assert updated.json["event"] == "card.updated"
    assert updated.json["oldPaymentMethodToken"] == OLD_TOKEN
    assert updated.json["newPaymentMethodToken"] == f"{NEW_PM}|{CUSTOMER}"
    assert updated.json["customerEmail"] == "jo@example.com"
    assert success.json["event"] == "recovery.success" and success.json["trigger"] == "card_updated"
    assert message_states(app, queued["transactionId"]) == [("cancelled", "card_updated")] * 2
    row = link_row(app, link)
    assert (row.new_card_brand, row.new_card_last4) == ("mastercard", "4444")
    assert recovery_row(app, queued["transactionId"]).payment_method_token == f"{NEW_PM}|{CUSTOMER}"

    # single use: the page and a replayed post are a friendly 410, and Stripe is not asked again
    assert client.get(page_path(link), headers=HOST).status_code == 410
    replay = client.post(page_path(link), headers=HOST, data={"csrf": csrf_of(form), "setup_intent": SETI})
    assert replay.status_code == 410 and "already been used" in replay.get_data(as_text=True)
    assert len(stripe_http.requests) == 4
    with app.app_context():
        dump = " ".join(str(r) for t in ("card_update_links", "recoveries", "attempts", "webhook_events")
                        for r in db.session.execute(text(f"SELECT * FROM {t}")).all())
    assert SECRET_KEY not in dump and "_secret_" not in dump


@pytest.mark.parametrize(
    ("case", "answer"),
    [
        ("not confirmed", lambda link_id: setup_intent(link_id)),
        ("needs authentication", lambda link_id: succeeded(link_id, status="requires_action")),
        ("another link's", lambda link_id: succeeded("01JPSOMEOTHERLINK000000000")),
        ("another customer's", lambda link_id: succeeded(link_id, customer="cus_SomeoneElse01")),
        ("unknown", lambda link_id: stripe_json("resource_missing")),
    ],
)
def test_a_setup_intent_that_did_not_succeed_or_is_not_this_links_is_refused(
    app, client, headers, stripe_http, receiver, case, answer
):
    queued = execute(client, headers, OLD_TOKEN)
    link = generate(client, headers, OLD_TOKEN)
    link_id = link_row(app, link).id
    form = open_page(client, stripe_http, link, link_id).get_data(as_text=True)

    stripe_http.reply(404 if case == "unknown" else 200, answer(link_id))
    stripe_http.reply(200, setup_intent(link_id))  # the form again, for another try
    r = client.post(page_path(link), headers=HOST, data={"csrf": csrf_of(form), "setup_intent": SETI})

    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'role="alert"' in html and "Please" in html and 'data-client-secret="seti_' in html
    paths = [(s.method, s.path) for s in stripe_http.requests]
    assert paths == [("POST", "/v1/setup_intents"), ("GET", f"/v1/setup_intents/{SETI}"),
                     ("POST", "/v1/setup_intents")]  # no customer update, no charge
    run_jobs(app)
    assert receiver.events() == []
    assert link_row(app, link).used_at is None
    recovery = recovery_row(app, queued["transactionId"])
    assert (recovery.status, recovery.payment_method_token) == ("awaiting_card", OLD_TOKEN)  # expired
    assert message_states(app, queued["transactionId"]) == [("pending", None), ("pending", None)]


@pytest.mark.parametrize("posted", [{"setup_intent": "pi_3RtQ8sLkdIwHu7ix1aBcDeFg"},
                                    {"setup_intent": "seti_1/../../v1/customers"},
                                    {"setup_intent": ""}, {}])
def test_a_post_without_a_setup_intent_id_is_refused_without_asking_stripe(
    app, client, headers, stripe_http, posted
):
    link = generate(client, headers, OLD_TOKEN)
    link_id = link_row(app, link).id
    form = open_page(client, stripe_http, link, link_id).get_data(as_text=True)
    stripe_http.reply(200, setup_intent(link_id))
    r = client.post(page_path(link), headers=HOST, data={"csrf": csrf_of(form), **posted})
    assert r.status_code == 400 and "couldn&#39;t confirm your card" in r.get_data(as_text=True)
    assert [s.path for s in stripe_http.requests] == ["/v1/setup_intents"] * 2
    assert link_row(app, link).used_at is None


def test_a_post_without_the_form_token_is_refused(app, client, headers, stripe_http):
    link = generate(client, headers, OLD_TOKEN)
    link_id = link_row(app, link).id
    stripe_http.reply(200, setup_intent(link_id))
    r = client.post(page_path(link), headers=HOST, data={"setup_intent": SETI})
    assert r.status_code == 400 and "expired" in r.get_data(as_text=True)
    assert [s.method for s in stripe_http.requests] == ["POST"]  # the form again; nothing retrieved
    assert link_row(app, link).used_at is None


def test_a_card_without_the_customer_in_its_token_is_set_up_for_the_payment_methods_owner(
    app, client, headers, stripe_http
):
    link = generate(client, headers, "pm_1RtQ7fLkdIwHu7ixVisa0001")
    link_id = link_row(app, link).id
    stripe_http.reply(200, stripe_json("payment_method"))
    open_page(client, stripe_http, link, link_id)
    lookup, create = stripe_http.requests
    assert (lookup.method, lookup.path) == ("GET", "/v1/payment_methods/pm_1RtQ7fLkdIwHu7ixVisa0001")
    assert create.form["customer"] == CUSTOMER


def test_a_card_of_no_customer_gets_the_unavailable_page(app, client, headers, stripe_http):
    link = generate(client, headers, "pm_1RtQ7fLkdIwHu7ixVisa0001")
    stripe_http.reply(200, stripe_json("payment_method", customer=None))
    r = client.get(page_path(link), headers=HOST)
    assert r.status_code == 404 and "isn't available" in r.get_data(as_text=True)


def test_stripe_not_answering_is_a_503_and_the_link_keeps_working(app, client, headers, stripe_http):
    link = generate(client, headers, OLD_TOKEN)
    stripe_http.fail(requests.exceptions.ConnectionError("connection refused"))
    r = client.get(page_path(link), headers=HOST)
    assert r.status_code == 503 and "try again in a few minutes" in r.get_data(as_text=True)
    assert "script-src" not in r.headers["Content-Security-Policy"]
    open_page(client, stripe_http, link, link_row(app, link).id)


def test_a_stripe_client_without_a_publishable_key_gets_the_unavailable_page(
    app, client, runner, receiver, stripe_http
):
    issued = onboard_stripe(app, runner, receiver)  # secret key only
    link = generate(client, {"X-API-KEY": issued.api_key}, OLD_TOKEN)
    r = client.get(page_path(link), headers=HOST)
    assert r.status_code == 404 and "isn't available" in r.get_data(as_text=True)
    assert "script-src" not in r.headers["Content-Security-Policy"]
    assert stripe_http.requests == []


def test_onboarding_takes_a_publishable_key(app, runner):
    result = runner.invoke(args=["onboard", "--name", "Pk Co", "--gateway", "stripe", "--json",
                                 "--stripe-secret-key", SECRET_KEY,
                                 "--stripe-publishable-key", PUBLISHABLE_KEY])
    assert result.exit_code == 0, result.output
    client_id = json.loads(result.output)["clientId"]
    with app.app_context():
        stored = db.session.get(Client, client_id).gateway_credentials_encrypted
        assert PUBLISHABLE_KEY not in stored and SECRET_KEY not in stored  # encrypted at rest
        assert json.loads(decrypt(stored)) == {"secret_key": SECRET_KEY, "publishable_key": PUBLISHABLE_KEY}


@pytest.mark.parametrize(
    ("publishable_key", "message"),
    [("sk_test_" + "x" * 24, "must look like pk_live_"),
     ("pk_live_" + "x" * 24, "both test or both live"),
     ("pk_test_short", "must look like pk_live_")],
)
def test_onboarding_refuses_a_bad_publishable_key(runner, publishable_key, message):
    result = runner.invoke(args=["onboard", "--name", "Pk Co", "--gateway", "stripe",
                                 "--stripe-secret-key", SECRET_KEY,
                                 "--stripe-publishable-key", publishable_key])
    assert result.exit_code != 0 and message in result.output
