"""HTTP-layer stubs for the gateway SDKs, and the sample bodies they answer with.

Only the transport is replaced; everything above it is the real SDK:

* Stripe: ``stripe.RequestsClient(session=...)`` with a stand-in for ``requests.Session``. The SDK's
  own RequestsClient turns ``requests`` exceptions into ``stripe.APIConnectionError`` exactly as it
  does in production, and the real requestor parses the JSON and raises the real error classes.
* Braintree: an ``http_strategy`` subclassing the SDK's ``braintree.util.http.Http`` with only
  ``http_do`` (the method that calls ``requests``) replaced. The SDK's ``handle_exception`` (used
  with ``wrap_http_exceptions``) and its XML parser run unchanged.

Each stub answers from a queue in order, records every request, and fails the test when a request
arrives that nothing was queued for.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import parse_qs, urlsplit

import braintree
import requests
import stripe
from requests.structures import CaseInsensitiveDict

from revtain.gateways.stripe_gateway import DEFAULT_TIMEOUT

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Recorded:
    method: str
    url: str
    headers: dict[str, str]
    body: str
    timeout: Any = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.url).query).items()}

    @property
    def form(self) -> dict[str, str]:
        """A Stripe form-encoded body as a flat dict (``metadata[revtain_attempt]`` keys)."""
        return {k: v[-1] for k, v in parse_qs(self.body, keep_blank_values=True).items()}

    @property
    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)


@dataclass
class AnswerQueue:
    """What every HTTP-layer stub shares: answers given in order, every request recorded, and a
    request that nothing was queued for remembered and failed, so ``assert_done`` catches it even
    where the SDK or the code under test absorbs the error."""

    queue: list[Any] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def fail(self, exc: BaseException):
        """The next request raises ``exc`` (a timeout, a refused connection)."""
        self.queue.append(exc)
        return self

    def assert_done(self) -> None:
        """Every queued answer was used and no request came that nothing was queued for."""
        assert not self.unexpected, f"unexpected requests: {self.unexpected}"
        assert not self.queue, f"{len(self.queue)} queued answers were never requested"

    def take(self, recorded: Any, label: str, *, raise_queued: bool = True) -> Any:
        """Record ``recorded`` and return the next queued answer; a queued exception is raised
        here, or returned with ``raise_queued=False`` for a stub that raises it later."""
        self.requests.append(recorded)
        if not self.queue:
            self.unexpected.append(label)
            raise AssertionError(f"unexpected request {label}")
        item = self.queue.pop(0)
        if isinstance(item, BaseException) and raise_queued:
            raise item
        return item


# -- Stripe ------------------------------------------------------------------------------------


def stripe_json(name: str, **overrides: Any) -> dict:
    """A fixture from ``fixtures/stripe``; top-level keys may be overridden."""
    body = json.loads((FIXTURES / "stripe" / f"{name}.json").read_text())
    body.update(overrides)
    return body


def stripe_intent(**overrides: Any) -> dict:
    """A PaymentIntent object (the succeeded sample, with any fields changed)."""
    return stripe_json("payment_intent_succeeded", **copy.deepcopy(overrides))


def stripe_list(data: list[dict], url: str = "/v1/payment_intents") -> dict:
    return {"object": "list", "data": data, "has_more": False, "url": url}


def stripe_search(data: list[dict], url: str = "/v1/payment_intents/search") -> dict:
    return {"object": "search_result", "data": data, "has_more": False, "next_page": None, "url": url}


@dataclass
class StripeSession(AnswerQueue):
    """Stands in for ``requests.Session`` inside ``stripe.RequestsClient``."""

    def reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> StripeSession:
        self.queue.append((status, body, headers or {}))
        return self

    def request(self, method, url, headers=None, data=None, timeout=None, **kwargs) -> requests.Response:
        body = data.decode() if isinstance(data, bytes) else (data or "")
        # The SDK turns any exception here into APIConnectionError; take() remembers it as well.
        item = self.take(Recorded(method.upper(), url, dict(headers or {}), body, timeout),
                         f"Stripe {method.upper()} {url}")
        status, payload, extra = item
        response = requests.Response()
        response.status_code = status
        response.url = url
        response._content = json.dumps(payload).encode()
        response.headers = CaseInsensitiveDict(
            {
                "Content-Type": "application/json",
                "Request-Id": f"req_fixture{len(self.requests):04d}",
                "Stripe-Version": stripe.api_version,
                **(
                    {"Idempotency-Key": headers["Idempotency-Key"]}
                    if headers and "Idempotency-Key" in headers
                    else {}
                ),
                **extra,
            }
        )
        return response

    def close(self) -> None:
        pass

    def http_client(self) -> stripe.HTTPClient:
        return stripe.RequestsClient(session=self, timeout=DEFAULT_TIMEOUT)


# -- Braintree ---------------------------------------------------------------------------------

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
NULLABLE = (
    "gateway_rejection_reason",
    "processor_authorization_code",
    "processor_response_code",
    "processor_response_text",
    "processor_response_type",
    "additional_processor_response",
    "network_response_code",
    "network_response_text",
    "merchant_advice_code",
    "merchant_advice_code_text",
)
APPROVED = {
    "status": "submitted_for_settlement",
    "processor_authorization_code": "QH7T2F",
    "processor_response_code": "1000",
    "processor_response_text": "Approved",
    "processor_response_type": "approved",
    "network_response_code": "00",
    "network_response_text": "Successful approval/completion or V.I.P. PIN verification is successful",
}
VISA = {"bin": "411111", "last_4": "1111", "card_type": "Visa"}
MASTERCARD = {"bin": "555555", "last_4": "4444", "card_type": "MasterCard"}


def _template(name: str) -> Template:
    return Template((FIXTURES / "braintree" / name).read_text())


def _element(name: str, value: str | None) -> str:
    tag = name.replace("_", "-")
    if value is None:
        return f'<{tag} nil="true"/>'
    return f"<{tag}>{value}</{tag}>"


def bt_transaction(**fields: Any) -> str:
    """A ``<transaction>`` element shaped like the gateway's, approved unless told otherwise."""
    values = {
        "id": "k7xq2m9d",
        "currency": "USD",
        "amount": "50.00",
        "merchant_account_id": "revtainusd",
        "order_id": "01JGZ8Q4J5T3W9YB7N2K6M1P0R-1",
        "created_at": "2026-01-01T00:00:00Z",
        "customer_id": "84021337",
        "network_transaction_id": "020260101000000",
        "payment_method_token": "bt_pm_token_1",
        "expiration_month": "12",
        "expiration_year": "2030",
        "risk_data": "",
        **VISA,
        **{name: None for name in NULLABLE},
        **APPROVED,
        **fields,
    }
    for name in NULLABLE:
        values[name] = _element(name, values[name])
    return _template("transaction.xml").substitute(values)


def bt_declined_transaction(code: str, text: str, network_code: str, network_text: str, **fields: Any) -> str:
    """A ``<transaction>`` the processor declined (as a search returns it)."""
    return bt_transaction(
        status="processor_declined",
        processor_authorization_code=None,
        processor_response_code=code,
        processor_response_text=text,
        processor_response_type="soft_declined" if code == "2001" else "hard_declined",
        additional_processor_response=f"{network_code} : {network_text.upper()}",
        network_response_code=network_code,
        network_response_text=network_text,
        **fields,
    )


def bt_processor_declined(code: str, text: str, network_code: str, network_text: str, **fields: Any) -> str:
    """The 422 ``<api-error-response>`` of a sale the processor declined."""
    tx = bt_declined_transaction(code, text, network_code, network_text, **fields)
    return bt_error_response(tx, message=text)


def bt_gateway_rejected(reason: str, **fields: Any) -> str:
    tx = bt_transaction(
        status="gateway_rejected",
        gateway_rejection_reason=reason,
        processor_authorization_code=None,
        processor_response_code=None,
        processor_response_text=None,
        processor_response_type=None,
        network_response_code=None,
        network_response_text=None,
        **fields,
    )
    return bt_error_response(tx, message=f"Gateway Rejected: {reason}")


FRAUD_DECLINED_RISK_DATA = """<risk-data>
    <id>7d3f0c1a-fixture-risk</id>
    <decision>Decline</decision>
    <decision-reasons type="array">
      <item>Velocity</item>
    </decision-reasons>
    <device-data-captured type="boolean">false</device-data-captured>
    <fraud-service-provider>fraud_protection</fraud-service-provider>
    <transaction-risk-score>94</transaction-risk-score>
  </risk-data>"""


def bt_error_response(transaction: str, *, message: str, amount: str = "50.00", order_id: str = "") -> str:
    return _template("api_error_response_transaction.xml").substitute(
        transaction=transaction, message=message, amount=amount, order_id=order_id
    )


def bt_validation_error(amount: str = "50.00", order_id: str = "") -> str:
    return _template("validation_error.xml").substitute(amount=amount, order_id=order_id)


def bt_client_token() -> str:
    """``client_token.generate``'s answer: the base64 client token Hosted Fields authorize with."""
    return (FIXTURES / "braintree" / "client_token.xml").read_text()


def bt_client_token_value() -> str:
    return ET.fromstring(bt_client_token()).findtext("value")


def bt_credit_card(token: str, customer_id: str, card: dict[str, str] = MASTERCARD) -> str:
    """``payment_method.create``'s answer for a vaulted, verified credit card."""
    logo = card["card_type"].lower().replace(" ", "_")
    return _template("credit_card.xml").substitute(token=token, customer_id=customer_id, logo=logo, **card)


def bt_verification_declined(customer_id: str, code: str = "2000", text: str = "Do Not Honor") -> str:
    """The 422 of a ``payment_method.create`` whose card verification the processor declined."""
    return _template("verification_declined.xml").substitute(customer_id=customer_id, code=code, text=text)


def bt_search_ids(*ids: str) -> str:
    return _template("search_results.xml").substitute(items="".join(f"<item>{i}</item>" for i in ids))


def bt_search_page(*transactions: str) -> str:
    return _template("credit_card_transactions.xml").substitute(
        total_items=len(transactions), transactions="\n".join(transactions)
    )


@dataclass
class BraintreeHttp(AnswerQueue):
    """Queue and record for the SDK's HTTP strategy; ``strategy`` goes into ``Configuration``."""

    def reply(self, status: int, xml: str = "") -> BraintreeHttp:
        self.queue.append((status, XML_DECLARATION + xml if xml else ""))
        return self

    def answer(self, http_verb, path, headers, request_body, timeout) -> list:
        """What the SDK's ``Http.http_do`` returns: ``[status, body]`` from the queue."""
        body = request_body.decode() if isinstance(request_body, bytes) else (request_body or "")
        plain = {k: v.decode() if isinstance(v, bytes) else v for k, v in headers.items()}
        # wrap_http_exceptions turns any exception here into UnexpectedError; take() remembers it.
        item = self.take(Recorded(http_verb, path, plain, body, timeout), f"Braintree {http_verb} {path}")
        status, text = item
        return [status, text]

    def strategy(self, config, environment) -> braintree.util.http.Http:
        stub = self

        class StubHttp(braintree.util.http.Http):
            def http_do(self, http_verb, path, headers, request_body):
                return stub.answer(http_verb, path, headers, request_body, self.config.timeout)

        return StubHttp(config, environment)

    def install(self, monkeypatch) -> BraintreeHttp:
        """Every Braintree gateway the app builds (with the SDK's default HTTP strategy) talks to
        this stub: only ``Http.http_do``, the method that calls ``requests``, is replaced."""
        stub = self

        def http_do(http, http_verb, path, headers, request_body):
            return stub.answer(http_verb, path, headers, request_body, http.config.timeout)

        monkeypatch.setattr(braintree.util.http.Http, "http_do", http_do)
        return self
