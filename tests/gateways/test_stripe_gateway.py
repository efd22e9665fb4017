"""The Stripe adapter through the real ``stripe`` SDK; only ``requests.Session`` is stubbed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from revtain.gateways.base import ChargeRequest
from revtain.gateways.stripe_gateway import StripeGateway

from .stubs import StripeSession, stripe_intent, stripe_json, stripe_list, stripe_search

KEY = "sk_test_51Fixture000000000000000000000000000000"
ATTEMPT = "01JGZ8Q4J5T3W9YB7N2K6M1P0R-1"
PM = "pm_1RtQ7fLkdIwHu7ixVisa0001"
CUSTOMER = "cus_SpQ4fixture0001"


def charge_request(token: str = f"{PM}|{CUSTOMER}", amount: int = 5000, currency: str = "USD", **kw):
    return ChargeRequest(token=token, amount=amount, currency=currency, idempotency_key=ATTEMPT, **kw)


@pytest.fixture
def http() -> Iterator[StripeSession]:
    stub = StripeSession()
    yield stub
    stub.assert_done()


@pytest.fixture
def gateway(http) -> StripeGateway:
    return StripeGateway(KEY, http_client=http.http_client())


def assert_no_secrets_or_card_data(result) -> None:
    text = json.dumps([result.message, result.decline_code, result.advice_code, result.network_code])
    for secret in ("sk_test", "sk_live", "9995", "3184", "4242", "_secret_"):
        assert secret not in text


# -- charge -------------------------------------------------------------------------------------


def test_success_creates_an_off_session_confirmed_intent_with_the_attempt_key(gateway, http):
    http.reply(200, stripe_intent())

    result = gateway.charge(charge_request())

    assert result.outcome == "approved"
    assert result.transaction_id == "pi_3RtQ8sLkdIwHu7ix1aBcDeFg"
    [sent] = http.requests
    assert (sent.method, sent.host, sent.path) == ("POST", "api.stripe.com", "/v1/payment_intents")
    assert sent.headers["Idempotency-Key"] == ATTEMPT
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.timeout == (10.0, 60.0)
    assert sent.form == {
        "amount": "5000",
        "currency": "usd",
        "payment_method": PM,
        "customer": CUSTOMER,
        "confirm": "true",
        "off_session": "true",
        "automatic_payment_methods[enabled]": "true",
        "automatic_payment_methods[allow_redirects]": "never",
        "metadata[revtain_attempt]": ATTEMPT,
    }


@pytest.mark.parametrize(
    ("amount", "currency", "sent_currency"),
    [(5000, "USD", "usd"), (5000, "JPY", "jpy"), (5000, "KWD", "kwd")],
)
def test_amount_is_sent_in_the_smallest_unit_as_given(gateway, http, amount, currency, sent_currency):
    http.reply(200, stripe_intent(amount=amount, currency=sent_currency))

    gateway.charge(charge_request(amount=amount, currency=currency))

    assert http.requests[0].form["amount"] == "5000"
    assert http.requests[0].form["currency"] == sent_currency


def test_a_bare_payment_method_is_retrieved_first_to_pass_its_customer(gateway, http):
    http.reply(200, stripe_json("payment_method")).reply(200, stripe_intent())

    result = gateway.charge(charge_request(token=PM))

    assert result.outcome == "approved"
    retrieve, create = http.requests
    assert (retrieve.method, retrieve.path) == ("GET", f"/v1/payment_methods/{PM}")
    assert create.path == "/v1/payment_intents"
    assert create.form["customer"] == CUSTOMER
    assert create.form["payment_method"] == PM


def test_a_payment_method_without_customer_is_charged_without_one(gateway, http):
    http.reply(200, stripe_json("payment_method", customer=None)).reply(200, stripe_intent(customer=None))

    result = gateway.charge(charge_request(token=PM))

    assert result.outcome == "approved"
    assert "customer" not in http.requests[1].form


def test_insufficient_funds_is_declined_with_decline_advice_and_network_codes(gateway, http):
    http.reply(402, stripe_json("card_declined_insufficient_funds"))

    result = gateway.charge(charge_request())

    assert result.outcome == "declined"
    assert result.decline_code == "insufficient_funds"
    assert result.advice_code == "try_again_later"
    assert result.network_code == "51"
    assert result.transaction_id == "pi_3RtQ9aLkdIwHu7ix0DeClInE"
    assert result.message == "Your card has insufficient funds."
    assert_no_secrets_or_card_data(result)
    assert len(http.requests) == 1


def test_authentication_required_card_error_is_a_decline_that_names_it(gateway, http):
    http.reply(402, stripe_json("authentication_required"))

    result = gateway.charge(charge_request(currency="EUR"))

    assert result.outcome == "declined"
    assert result.decline_code == "authentication_required"
    assert result.transaction_id == "pi_3RtQAbLkdIwHu7ix1AuThReQ"
    assert_no_secrets_or_card_data(result)


def test_an_intent_left_in_requires_action_is_authentication_required(gateway, http):
    http.reply(
        200,
        stripe_intent(
            id="pi_3RtQBcLkdIwHu7ix2NeXtAcT",
            status="requires_action",
            next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}},
            amount_received=0,
            latest_charge=None,
        ),
    )

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("declined", "authentication_required")
    assert result.transaction_id == "pi_3RtQBcLkdIwHu7ix2NeXtAcT"


def test_rate_limit_429_is_an_error_and_the_sdk_does_not_retry(gateway, http):
    http.reply(429, stripe_json("rate_limit"), {"Stripe-Should-Retry": "true"})

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("error", "rate_limited")
    assert len(http.requests) == 1


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ReadTimeout("HTTPSConnectionPool(host='api.stripe.com'): Read timed out."),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError("Connection reset by peer"),
    ],
    ids=["read-timeout", "connect-timeout", "connection-reset"],
)
def test_timeouts_and_connection_errors_are_unknown_and_not_retried_by_the_sdk(gateway, http, exc):
    http.fail(exc)

    result = gateway.charge(charge_request())

    assert result.outcome == "unknown"
    assert result.decline_code == "gateway_timeout"
    assert len(http.requests) == 1  # max_network_retries=0: our scheduler retries, not the SDK


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_unknown(gateway, http, status):
    http.reply(status, stripe_json("api_error"), {"Stripe-Should-Retry": "true"})

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("unknown", "gateway_error")
    assert len(http.requests) == 1


def test_bad_credentials_401_are_an_error_whose_message_hides_the_key(gateway, http):
    http.reply(401, stripe_json("invalid_api_key"))

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("error", "gateway_auth_error")
    assert_no_secrets_or_card_data(result)


def test_a_missing_payment_method_is_an_invalid_request_error(gateway, http):
    http.reply(404, stripe_json("resource_missing"))

    result = gateway.charge(charge_request(token="pm_1RtQ7fLkdIwHu7ixGone0001"))

    assert (result.outcome, result.decline_code) == ("error", "invalid_request")
    assert "resource_missing" in result.message
    assert [r.method for r in http.requests] == ["GET"]  # nothing was created


def test_permission_error_403_is_an_error(gateway, http):
    http.reply(
        403,
        {
            "error": {
                "message": "The provided key does not have access to this resource.",
                "type": "invalid_request_error",
            }
        },
    )

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("error", "gateway_permission_error")


def test_an_idempotency_conflict_is_unknown_because_the_key_was_used_before(gateway, http):
    http.reply(400, stripe_json("idempotency_error"))

    result = gateway.charge(charge_request())

    assert result.outcome == "unknown"


def test_the_same_request_twice_sends_the_same_idempotency_key_and_body(gateway, http):
    http.fail(requests.exceptions.ReadTimeout("Read timed out."))
    http.reply(200, stripe_intent(), {"Idempotent-Replayed": "true", "Original-Request": "req_fixture0001"})

    first = gateway.charge(charge_request())
    second = gateway.charge(charge_request())

    assert (first.outcome, second.outcome) == ("unknown", "approved")
    one, two = http.requests
    assert one.headers["Idempotency-Key"] == two.headers["Idempotency-Key"] == ATTEMPT
    assert one.form == two.form
    assert second.transaction_id == "pi_3RtQ8sLkdIwHu7ix1aBcDeFg"


def test_adapters_keep_their_own_keys(http):
    other = StripeSession()
    a = StripeGateway(KEY, http_client=http.http_client())
    b = StripeGateway("sk_test_51OtherMerchant0000000000000000000000", http_client=other.http_client())
    http.reply(200, stripe_intent())
    other.reply(200, stripe_intent())

    a.charge(charge_request())
    b.charge(charge_request())

    assert http.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    assert (
        other.requests[0].headers["Authorization"] == "Bearer sk_test_51OtherMerchant0000000000000000000000"
    )


# -- lookup -------------------------------------------------------------------------------------


def test_lookup_finds_the_attempt_in_the_customers_intents(gateway, http):
    other = stripe_intent(id="pi_3RtQ00LkdIwHu7ixOtHeR001", metadata={"revtain_attempt": "another-1"})
    http.reply(200, stripe_list([other, stripe_intent()]))

    result = gateway.lookup(charge_request())

    assert result is not None
    assert (result.outcome, result.transaction_id) == ("approved", "pi_3RtQ8sLkdIwHu7ix1aBcDeFg")
    [sent] = http.requests
    assert (sent.method, sent.path) == ("GET", "/v1/payment_intents")
    assert sent.query == {"customer": CUSTOMER, "limit": "100"}
    assert "Idempotency-Key" not in sent.headers  # read-only: nothing is replayed


def test_lookup_without_customer_uses_search_on_the_attempt_metadata(gateway, http):
    declined = stripe_json("card_declined_insufficient_funds")["error"]["payment_intent"]
    http.reply(200, stripe_json("payment_method", customer=None)).reply(200, stripe_search([declined]))

    result = gateway.lookup(charge_request(token=PM))

    assert result is not None
    assert result.outcome == "declined"
    assert (result.decline_code, result.advice_code, result.network_code) == (
        "insufficient_funds",
        "try_again_later",
        "51",
    )
    assert result.transaction_id == "pi_3RtQ9aLkdIwHu7ix0DeClInE"
    retrieve, search = http.requests
    assert retrieve.path == f"/v1/payment_methods/{PM}"
    assert (search.method, search.path) == ("GET", "/v1/payment_intents/search")
    assert search.query["query"] == f"metadata['revtain_attempt']:'{ATTEMPT}'"


def test_lookup_returns_none_when_stripe_has_no_such_intent(gateway, http):
    http.reply(200, stripe_list([])).reply(200, stripe_search([]))

    assert gateway.lookup(charge_request()) is None
    assert [r.path for r in http.requests] == ["/v1/payment_intents", "/v1/payment_intents/search"]


def test_lookup_that_cannot_reach_stripe_is_unknown_not_none(gateway, http):
    http.fail(requests.exceptions.ConnectTimeout("connect timed out"))

    result = gateway.lookup(charge_request())

    assert result is not None
    assert result.outcome == "unknown"


# -- construction -------------------------------------------------------------------------------


def test_from_credentials_reads_the_secret_key_and_never_shows_it(http):
    gateway = StripeGateway.from_credentials(json.dumps({"secret_key": KEY}), http_client=http.http_client())
    http.reply(200, stripe_intent())

    assert gateway.charge(charge_request()).approved
    assert KEY not in repr(gateway)
    assert gateway.name == "stripe"


@pytest.mark.parametrize("credentials", [None, "", "not json", "[]", "{}", '{"secret_key": "pk_test_x"}'])
def test_from_credentials_rejects_unusable_credentials(credentials):
    with pytest.raises(ValueError) as info:
        StripeGateway.from_credentials(credentials)
    assert "pk_test_x" not in str(info.value)


def test_stripes_network_advice_code_is_read_and_the_stricter_advice_wins(gateway, http):
    """Stripe's own advice_code says try again later, the network's Mastercard advice says 03 (do
    not try again): the network's code is kept, and judged, the card is never retried."""
    from revtain.engine.judgement import judge

    body = stripe_json("card_declined_insufficient_funds")
    body["error"] = {**body["error"], "network_advice_code": "03", "network_decline_code": "51"}
    http.reply(402, body)

    result = gateway.charge(charge_request())

    codes = (result.decline_code, result.advice_code, result.network_code)
    assert codes == ("insufficient_funds", "03", "51")
    judged = judge(result.decline_code, gateway="stripe", network_code=result.network_code,
                   advice_code=result.advice_code, network="mastercard")
    assert judged.action == "new_credentials" and judged.never_reason == "advice_code:03"


def test_stripes_network_advice_code_24_to_30_sets_the_earliest_retry(gateway, http):
    from revtain.engine.judgement import judge

    body = stripe_json("card_declined_insufficient_funds")
    body["error"] = {**body["error"], "network_advice_code": "26"}
    http.reply(402, body)

    result = gateway.charge(charge_request())

    assert result.advice_code == "26"
    judged = judge(result.decline_code, gateway="stripe", network_code=result.network_code,
                   advice_code=result.advice_code)
    assert judged.action == "retry" and judged.retry_after_hours == 48
