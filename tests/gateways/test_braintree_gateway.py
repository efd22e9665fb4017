"""The Braintree adapter through the real ``braintree`` SDK; only its HTTP strategy is stubbed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import requests

from revtain.gateways.base import ChargeRequest
from revtain.gateways.braintree_gateway import BraintreeGateway, format_amount

from .stubs import (
    FRAUD_DECLINED_RISK_DATA,
    MASTERCARD,
    BraintreeHttp,
    bt_declined_transaction,
    bt_error_response,
    bt_gateway_rejected,
    bt_processor_declined,
    bt_search_ids,
    bt_search_page,
    bt_transaction,
    bt_validation_error,
)

MERCHANT = "fixturemerchant01"
PUBLIC = "fixturepublic01"
PRIVATE = "fixtureprivate0123456789abcdef"
ATTEMPT = "01JGZ8Q4J5T3W9YB7N2K6M1P0R-1"
TOKEN = "bt_pm_token_1|84021337"
BASE = f"/merchants/{MERCHANT}"


def charge_request(amount: int = 5000, currency: str = "USD", token: str = TOKEN) -> ChargeRequest:
    return ChargeRequest(token=token, amount=amount, currency=currency, idempotency_key=ATTEMPT)


def make_gateway(http: BraintreeHttp, **kwargs) -> BraintreeGateway:
    return BraintreeGateway(
        merchant_id=MERCHANT, public_key=PUBLIC, private_key=PRIVATE, http_strategy=http.strategy, **kwargs
    )


@pytest.fixture
def http() -> Iterator[BraintreeHttp]:
    stub = BraintreeHttp()
    yield stub
    stub.assert_done()


@pytest.fixture
def gateway(http) -> BraintreeGateway:
    return make_gateway(http)


def no_earlier_transaction(http: BraintreeHttp) -> BraintreeHttp:
    """The search a charge makes first (re-run protection) finds nothing."""
    return http.reply(200, bt_search_ids())


def assert_search_for_attempt(sent) -> None:
    assert (sent.method, sent.path) == ("POST", f"{BASE}/transactions/advanced_search_ids")
    assert sent.xml.tag == "search"
    assert sent.xml.findtext("order_id/is") == ATTEMPT


def sale_of(http: BraintreeHttp):
    sales = [r for r in http.requests if r.path == f"{BASE}/transactions"]
    assert len(sales) == 1
    return sales[0]


def assert_no_secrets_or_card_data(result) -> None:
    text = json.dumps([result.message, result.decline_code, result.advice_code, result.network_code])
    for secret in (PRIVATE, PUBLIC, "411111", "555555", "4444", "1111"):
        assert secret not in text


# -- charge -------------------------------------------------------------------------------------


def test_success_is_a_recurring_sale_submitted_for_settlement(gateway, http):
    no_earlier_transaction(http).reply(201, bt_transaction(order_id=ATTEMPT))

    result = gateway.charge(charge_request())

    assert result.outcome == "approved"
    assert result.transaction_id == "k7xq2m9d"
    search, sale = http.requests
    assert_search_for_attempt(search)
    assert (sale.method, sale.host, sale.path) == (
        "POST",
        "api.sandbox.braintreegateway.com",
        f"{BASE}/transactions",
    )
    tx = sale.xml
    assert tx.tag == "transaction"
    assert tx.findtext("amount") == "50.00"
    assert tx.findtext("payment_method_token") == "bt_pm_token_1"
    assert tx.findtext("order_id") == ATTEMPT
    assert tx.findtext("transaction_source") == "recurring"
    assert tx.findtext("options/submit_for_settlement") == "true"
    assert tx.findtext("type") == "sale"
    assert tx.find("merchant_account_id") is None
    assert tx.find("customer_id") is None
    expected_auth = "Basic " + base64.b64encode(f"{PUBLIC}:{PRIVATE}".encode()).decode()
    assert sale.headers["Authorization"] == expected_auth
    assert sale.headers["X-ApiVersion"] == "6"
    assert sale.timeout == (10.0, 60.0)


@pytest.mark.parametrize(
    ("currency", "amount", "account"),
    [("USD", "50.00", "revtainusd"), ("JPY", "5000", "revtainjpy"), ("KWD", "5.000", "revtainkwd")],
)
def test_amount_is_formatted_with_the_currency_exponent_and_its_merchant_account(
    http, currency, amount, account
):
    gateway = make_gateway(
        http, merchant_account_ids={"USD": "revtainusd", "JPY": "revtainjpy", "KWD": "revtainkwd"}
    )
    no_earlier_transaction(http).reply(
        201, bt_transaction(order_id=ATTEMPT, amount=amount, currency=currency, merchant_account_id=account)
    )

    result = gateway.charge(charge_request(amount=5000, currency=currency))

    assert result.approved
    assert sale_of(http).xml.findtext("amount") == amount
    assert sale_of(http).xml.findtext("merchant_account_id") == account


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (5000, "USD", "50.00"),
        (5, "USD", "0.05"),
        (5000, "JPY", "5000"),
        (5000, "KWD", "5.000"),
        (1, "BHD", "0.001"),
    ],
)
def test_format_amount(amount, currency, text):
    assert format_amount(amount, currency) == text


def test_a_currency_without_a_configured_merchant_account_is_never_charged(http):
    gateway = make_gateway(http, merchant_account_ids={"USD": "revtainusd"})

    result = gateway.charge(charge_request(currency="EUR"))

    assert (result.outcome, result.decline_code) == ("error", "currency_not_supported")
    assert http.requests == []


@pytest.mark.parametrize(
    ("code", "text", "network_code", "network_text", "card", "advice"),
    [
        ("2001", "Insufficient Funds", "51", "Insufficient funds/over credit limit", MASTERCARD, "24"),
        ("2004", "Expired Card", "54", "Expired card or expiration date is missing", {}, None),
    ],
    ids=["2001-insufficient-funds", "2004-expired-card"],
)
def test_processor_declines_carry_the_processor_and_network_codes(
    gateway, http, code, text, network_code, network_text, card, advice
):
    advice_fields = (
        {"merchant_advice_code": advice, "merchant_advice_code_text": "Retry after 1 hour"} if advice else {}
    )
    no_earlier_transaction(http).reply(
        422,
        bt_processor_declined(
            code, text, network_code, network_text, id="d3cl1n3d", order_id=ATTEMPT, **card, **advice_fields
        ),
    )

    result = gateway.charge(charge_request())

    assert result.outcome == "declined"
    assert result.decline_code == code
    assert result.network_code == network_code
    assert result.advice_code == advice
    assert result.message == text
    assert result.transaction_id == "d3cl1n3d"
    assert_no_secrets_or_card_data(result)


def test_a_gateway_rejection_is_a_decline_named_by_its_reason(gateway, http):
    no_earlier_transaction(http).reply(
        422,
        bt_gateway_rejected("fraud", id="fr4udr3j", order_id=ATTEMPT, risk_data=FRAUD_DECLINED_RISK_DATA),
    )

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("declined", "gateway_rejected:fraud")
    assert result.transaction_id == "fr4udr3j"


def test_a_duplicate_rejection_is_unknown_because_an_earlier_sale_went_through(gateway, http):
    no_earlier_transaction(http).reply(422, bt_gateway_rejected("duplicate", id="dup11cat", order_id=ATTEMPT))

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("unknown", "gateway_rejected:duplicate")
    assert result.transaction_id is None


def test_validation_errors_are_an_error(gateway, http):
    no_earlier_transaction(http).reply(422, bt_validation_error())

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("error", "validation_error")
    assert "91518" in result.message


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (requests.exceptions.ReadTimeout("Read timed out. (read timeout=60.0)"), "gateway_timeout"),
        (
            requests.exceptions.ConnectTimeout("Connection to api.sandbox.braintreegateway.com timed out"),
            "gateway_timeout",
        ),
        (requests.exceptions.ConnectionError("Connection aborted."), "gateway_timeout"),
    ],
    ids=["read-timeout", "connect-timeout", "connection-error"],
)
def test_timeouts_and_connection_errors_on_the_sale_are_unknown(gateway, http, exc, code):
    no_earlier_transaction(http).fail(exc)

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("unknown", code)
    assert len(http.requests) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_unknown(gateway, http, status):
    no_earlier_transaction(http).reply(status)

    result = gateway.charge(charge_request())

    assert result.outcome == "unknown"


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_are_an_error(gateway, http, status):
    http.reply(status)

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("error", "gateway_auth_error")
    assert_no_secrets_or_card_data(result)
    assert len(http.requests) == 1  # the first call already failed; no sale was sent


def test_rate_limit_429_is_an_error(gateway, http):
    no_earlier_transaction(http).reply(429)

    result = gateway.charge(charge_request())

    assert (result.outcome, result.decline_code) == ("error", "rate_limited")


def test_the_same_request_twice_sends_the_same_order_id(gateway, http):
    no_earlier_transaction(http).fail(requests.exceptions.ReadTimeout("Read timed out."))
    no_earlier_transaction(http).reply(201, bt_transaction(order_id=ATTEMPT))

    first = gateway.charge(charge_request())
    second = gateway.charge(charge_request())

    assert (first.outcome, second.outcome) == ("unknown", "approved")
    sales = [r for r in http.requests if r.path == f"{BASE}/transactions"]
    assert [s.xml.findtext("order_id") for s in sales] == [ATTEMPT, ATTEMPT]
    assert sales[0].body == sales[1].body


def test_a_rerun_answers_with_the_earlier_transaction_instead_of_charging_again(gateway, http):
    http.reply(200, bt_search_ids("k7xq2m9d")).reply(200, bt_search_page(bt_transaction(order_id=ATTEMPT)))

    result = gateway.charge(charge_request())

    assert (result.outcome, result.transaction_id) == ("approved", "k7xq2m9d")
    ids, page = http.requests
    assert_search_for_attempt(ids)
    assert page.path == f"{BASE}/transactions/advanced_search"
    assert [item.text for item in page.xml.findall("ids/item")] == ["k7xq2m9d"]
    assert not [r for r in http.requests if r.path == f"{BASE}/transactions"]


# -- lookup -------------------------------------------------------------------------------------


def test_lookup_finds_the_transaction_by_order_id(gateway, http):
    declined = bt_declined_transaction(
        "2001",
        "Insufficient Funds",
        "51",
        "Insufficient funds/over credit limit",
        id="d3cl1n3d",
        order_id=ATTEMPT,
    )
    http.reply(200, bt_search_ids("d3cl1n3d")).reply(200, bt_search_page(declined))

    result = gateway.lookup(charge_request())

    assert result is not None
    assert (result.outcome, result.decline_code, result.transaction_id) == ("declined", "2001", "d3cl1n3d")
    assert_search_for_attempt(http.requests[0])


def test_lookup_returns_none_when_braintree_has_no_such_transaction(gateway, http):
    http.reply(200, bt_search_ids())

    assert gateway.lookup(charge_request()) is None
    assert len(http.requests) == 1


def test_lookup_that_cannot_reach_braintree_is_unknown_not_none(gateway, http):
    http.fail(requests.exceptions.ConnectTimeout("connect timed out"))

    result = gateway.lookup(charge_request())

    assert result is not None
    assert result.outcome == "unknown"


# -- construction -------------------------------------------------------------------------------


def test_from_credentials_configures_the_environment_and_hides_the_keys(http):
    credentials = json.dumps(
        {
            "merchant_id": MERCHANT,
            "public_key": PUBLIC,
            "private_key": PRIVATE,
            "environment": "production",
            "merchant_account_ids": {"usd": "revtainusd"},
        }
    )
    gateway = BraintreeGateway.from_credentials(credentials, http_strategy=http.strategy)
    no_earlier_transaction(http).reply(201, bt_transaction(order_id=ATTEMPT))

    assert gateway.charge(charge_request()).approved
    assert {r.host for r in http.requests} == {"api.braintreegateway.com"}
    assert sale_of(http).xml.findtext("merchant_account_id") == "revtainusd"
    assert PRIVATE not in repr(gateway) and PUBLIC not in repr(gateway)
    assert gateway.name == "braintree"


@pytest.mark.parametrize(
    "credentials",
    [
        None,
        "not json",
        "[]",
        json.dumps({"merchant_id": MERCHANT, "public_key": PUBLIC}),
        json.dumps(
            {"merchant_id": MERCHANT, "public_key": PUBLIC, "private_key": PRIVATE, "environment": "qa"}
        ),
    ],
)
def test_from_credentials_rejects_unusable_credentials(credentials):
    with pytest.raises(ValueError) as info:
        BraintreeGateway.from_credentials(credentials)
    assert PRIVATE not in str(info.value)


def test_error_response_helper_matches_what_the_sdk_parses():
    """The fixture's ``<api-error-response>`` parses into the SDK's ErrorResult with a transaction."""
    from braintree.error_result import ErrorResult
    from braintree.util.xml_util import XmlUtil

    body = bt_error_response(bt_transaction(status="processor_declined"), message="Do Not Honor")
    parsed = XmlUtil.dict_from_xml(body)["api_error_response"]
    result = ErrorResult(None, parsed)
    assert result.transaction.status == "processor_declined"
    assert result.message == "Do Not Honor"
    assert len(result.errors) == 0
