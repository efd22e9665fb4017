"""Shopify ReCharge through the ``recharge-api`` library (API 2021-11): read what a webhook lacks
(the charge's address and its payment method, a customer's payment methods, a subscription's failed
charge), collect a failed charge with ``POST /charges/{id}/process``, and answer reconciliation from
the charge.

ReCharge has no official Python library; ``recharge-api`` is the kept one (typed resources and
models over one small HTTP client). Three of its defaults are wrong for a payment service and are
replaced through its own constructor: its transport sets no timeout (ours does), its retry strategy
sleeps inside the request on 429/5xx (ours never retries: Revtain's scheduler decides when), and its
default logger logs every request at DEBUG and error bodies at CRITICAL (ours is quiet; the access
token header is redacted by the library either way). Its resources check the token's scopes, which
it reads from ``/token_information`` once per client, as the library's own ``RechargeAPI`` does.

ReCharge takes no idempotency key. Processing a charge that is already paid is refused by ReCharge,
and a lost answer is settled by reading the charge, never by processing it again. A charge is
processed with the payment method of its address: a customer's new card reaches it through
ReCharge's customer portal, which is where the card-update link sends them.

ReCharge's own retries of a failed charge follow the store's retry settings, with no per-charge API
to stop them: ``stop_retries`` calls nothing (``connectors.recharge.HAND_OFF_BY_SETTING``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pydantic
import requests
from recharge.api.v2 import AddressResource, ChargeResource, PaymentMethodResource, TokenResource
from recharge.client import RechargeClient as LibraryClient
from recharge.exceptions import RechargeAPIError, RechargeHTTPError, RechargeRequestException

from ..base import ChargeRequest, ChargeResult, credentials_object
from .amounts import minor_units
from .base import CardUpdated, Fact, Ignored, PaymentFailed, PaymentSucceeded, PlatformUnavailable

TIMEOUT = (10, 60)  # seconds: connect, read
API = "https://api.rechargeapps.com"
FAILED, PAID = "ERROR", "SUCCESS"
# Charges ReCharge may still settle (a Shopify Checkout payment, a manual payment).
IN_FLIGHT = frozenset(["PENDING", "PENDING_MANUAL_PAYMENT"])
USABLE_METHODS = frozenset(["valid", "unvalidated"])

# The library logs error bodies (customers' names and emails) at CRITICAL: its logger is silenced, and
# Revtain logs what it needs itself (status codes, never bodies).
_quiet = logging.getLogger("revtain.recharge_library")
_quiet.setLevel(logging.CRITICAL + 1)
_quiet.propagate = False


class _Transport:
    """The library's ``HttpTransport`` (``recharge.transport``) with a timeout on every request."""

    def __init__(
        self, session: requests.Session | None = None, timeout: tuple[float, float] = TIMEOUT
    ) -> None:
        self._session = session or requests.Session()
        self._timeout = timeout

    def send(self, method, url, headers, params, json):  # the library's signature
        request = requests.Request(method, url, headers=headers, params=params, json=json)
        return self._session.send(self._session.prepare_request(request), timeout=self._timeout)


class _NoRetry:
    """The library's ``RetryStrategy``: never retries (and never sleeps in a request)."""

    def should_retry(self, attempt: int, status_code: int) -> bool:
        return False

    def delay_for(self, attempt: int) -> float:
        return 0.0


def token_for(payment_method_id: Any, customer_id: Any) -> str:
    """``<payment method id>|<customer id>``: the card, and the customer whose it is."""
    return f"{payment_method_id}|{customer_id}"


class RechargeClient:
    platform = "shopify-recharge"
    decline_gateway = "recharge"

    def __init__(
        self,
        api_token: Any,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        if (
            not isinstance(api_token, str)
            or not 16 <= len(api_token) <= 200
            or any(c.isspace() for c in api_token)
        ):
            raise ValueError("ReCharge needs an API token (Apps → Recharge → API tokens)")
        self._client = LibraryClient(
            api_token, transport=_Transport(session, timeout), retry_strategy=_NoRetry(), logger=_quiet
        )
        self._scopes: list[str] | None = None

    @classmethod
    def from_credentials(cls, credentials: str | Mapping[str, Any] | None, **kwargs: Any) -> RechargeClient:
        """From the decrypted connector credentials: ``{"api_token", "client_secret"}`` (the webhook
        secret is not needed here)."""
        data = credentials_object(credentials, "ReCharge")
        return cls(data.get("api_token"), **kwargs)

    def __repr__(self) -> str:  # never show the token
        return "<RechargeClient>"

    # -- the library -------------------------------------------------------------------------------

    def _resource(self, kind: type) -> Any:
        if self._scopes is None:
            info = self._call("reading the API token's scopes", lambda: TokenResource(self._client).get())
            self._scopes = list(info.scopes)
        return kind(self._client, self._scopes)

    def _call(self, what: str, call: Any) -> Any:
        """A read: ``PlatformUnavailable`` when ReCharge cannot answer now, ``ValueError`` when it
        answers that the thing does not exist or cannot be read (trying again would not help)."""
        try:
            return call()
        except RechargeHTTPError as exc:
            if exc.status_code in (401, 403, 429) or exc.status_code >= 500:
                raise PlatformUnavailable(f"ReCharge: {what} failed (HTTP {exc.status_code})") from None
            raise ValueError(f"ReCharge: {what} failed (HTTP {exc.status_code})") from None
        except RechargeRequestException as exc:
            raise PlatformUnavailable(f"ReCharge: {what} failed ({type(exc.cause).__name__})") from None
        except RechargeAPIError as exc:  # the token lacks a scope: the merchant must grant it
            raise ValueError(f"ReCharge: {what} is not allowed: {_scope_message(exc)}") from None
        except (pydantic.ValidationError, ValueError, TypeError) as exc:
            raise PlatformUnavailable(
                f"ReCharge: {what} failed (unreadable answer: {type(exc).__name__})"
            ) from None

    # -- reading -----------------------------------------------------------------------------------

    def failed_charge(self, charge: Mapping[str, Any]) -> Fact:
        """A failed charge as the webhook carries it (``charge/failed``): the address's payment method
        *now* (the one ReCharge processes the charge with), what is still due, ReCharge's reason."""
        charge_id, customer_id = (
            _id(charge.get("id")),
            _id(_obj(charge, "customer").get("id") or charge.get("customer_id")),
        )
        if not charge_id or not customer_id:
            raise ValueError("the ReCharge charge names no id or customer")
        status = str(charge.get("status") or "").upper()
        if status != FAILED:
            return Ignored(f"the charge is {status.lower() or 'unknown'}, not failed")
        currency = str(charge.get("currency") or "").upper()
        address_id = _id(charge.get("address_id"))
        if not address_id:
            raise ValueError(f"ReCharge charge {charge_id} has no address")
        addresses = self._resource(AddressResource)
        address = self._call("reading the charge's address", lambda: addresses.get(address_id))
        if not address.payment_method_id:
            raise ValueError(f"ReCharge address {address_id} has no payment method to retry")
        return PaymentFailed(
            invoice_ref=charge_id,
            customer_ref=customer_id,
            token=token_for(address.payment_method_id, customer_id),
            amount=minor_units(charge.get("total_price"), currency, "ReCharge"),
            currency=currency,
            decline_code=_decline_code(charge),
            customer_email=_str(_obj(charge, "customer").get("email")) or _str(charge.get("email")),
            customer_country=_str(_obj(charge, "billing_address").get("country_code")),
        )

    def failed_subscription(self, subscription: Mapping[str, Any]) -> Fact:
        """``subscription/payment_failure_count_exceeded``: the subscription's newest failed charge."""
        subscription_id = _id(subscription.get("id"))
        if not subscription_id:
            raise ValueError("the ReCharge subscription has no id")
        resource = self._resource(ChargeResource)
        failed = self._call(
            "listing the subscription's failed charges",
            lambda: resource.list_(
                {"purchase_item_id": subscription_id, "status": "error", "sort_by": "id-desc"}
            ),
        )
        if not failed:
            return Ignored("the subscription has no failed charge")
        return self.failed_charge(failed[0].model_dump(mode="json"))

    def paid_charge(self, charge: Mapping[str, Any]) -> Fact:
        """``charge/paid``: the charge, paid (by ReCharge's own retry, or by anyone)."""
        charge_id = _id(charge.get("id"))
        if str(charge.get("status") or "").upper() != PAID or not charge_id:
            return Ignored(f"the charge is {str(charge.get('status') or 'unknown').lower()}, not paid")
        currency = str(charge.get("currency") or "").upper()
        return PaymentSucceeded(
            invoice_ref=charge_id,
            customer_ref=_id(_obj(charge, "customer").get("id") or charge.get("customer_id")),
            amount=minor_units(charge.get("total_price"), currency, "ReCharge"),
            currency=currency,
            transaction_ref=_transaction(charge) or charge_id,
        )

    def payment_method_updated(self, customer: Mapping[str, Any]) -> Fact:
        """``customer/payment_method_updated``: the customer's default payment method now."""
        customer_id = _id(customer.get("id"))
        if not customer_id:
            raise ValueError("the ReCharge customer has no id")
        resource = self._resource(PaymentMethodResource)
        methods = self._call(
            "reading the customer's payment methods", lambda: resource.list_({"customer_id": customer_id})
        )
        usable = [m for m in methods if m.status in USABLE_METHODS]
        chosen = next((m for m in usable if m.default), usable[0] if usable else None)
        if chosen is None:
            return Ignored("the customer has no usable payment method")
        details = chosen.payment_details
        return CardUpdated(
            customer_id,
            token_for(chosen.id, customer_id),
            details.brand if details else None,
            details.last4 if details else None,
        )

    # -- collecting --------------------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Process the failed charge (``POST /charges/{id}/process``, a ReCharge Pro feature)."""
        charge_id = _id(request.invoice_ref)
        if not charge_id:
            return ChargeResult("error", decline_code="invalid_request", message="no charge to process")
        try:
            resource = self._resource(ChargeResource)
        except (PlatformUnavailable, ValueError) as exc:
            return ChargeResult("error", decline_code="gateway_auth_error", message=str(exc))
        try:
            charge = resource.process(charge_id)
        except RechargeHTTPError as exc:
            return self._refused(request, exc)
        except RechargeRequestException as exc:
            return ChargeResult(
                "unknown",
                decline_code="gateway_timeout",
                message=f"no answer from ReCharge ({type(exc.cause).__name__})",
            )
        except RechargeAPIError as exc:
            return ChargeResult("error", decline_code="gateway_auth_error", message=_scope_message(exc))
        except (pydantic.ValidationError, ValueError, TypeError):
            # An answer the library cannot read (a status it does not know, such as pending): the
            # charge may have been processed.
            return ChargeResult("unknown", decline_code="gateway_error", message="unreadable ReCharge answer")
        return _result(charge.model_dump(mode="json"))

    def _refused(self, request: ChargeRequest, exc: RechargeHTTPError) -> ChargeResult:
        status = exc.status_code
        if status in (401, 403):
            return ChargeResult(
                "error",
                decline_code="gateway_auth_error",
                message=f"ReCharge refused the token (HTTP {status})",
            )
        if status == 429:
            return ChargeResult(
                "error", decline_code="rate_limited", message="ReCharge rate limit (HTTP 429)"
            )
        if status >= 500:
            return ChargeResult(
                "unknown", decline_code="gateway_error", message=f"ReCharge API error (HTTP {status})"
            )
        # Refused as a request (422: a declined card, or a charge not in a state to process, such as one
        # paid by an earlier try whose answer was lost): the charge says what became of it.
        current = self.lookup(request)
        if current is None or current.outcome == "unknown":
            return ChargeResult(
                "error",
                decline_code="invalid_request",
                message=f"ReCharge refused to process the charge (HTTP {status})",
            )
        return current

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        """From the charge: paid (approved), failed (declined: a try whose answer was lost can only
        have failed; counting it as one is the safe side), queued (``None``: nothing was collected),
        or ReCharge unreadable (``unknown``)."""
        charge_id = _id(request.invoice_ref)
        if not charge_id:
            return None
        try:
            resource = self._resource(ChargeResource)
            charge = resource.get(charge_id)
        except RechargeHTTPError as exc:
            return ChargeResult(
                "unknown", decline_code="gateway_error", message=f"ReCharge HTTP {exc.status_code}"
            )
        except (
            PlatformUnavailable,
            ValueError,
            RechargeRequestException,
            RechargeAPIError,
            pydantic.ValidationError,
            TypeError,
        ) as exc:
            return ChargeResult(
                "unknown",
                decline_code="gateway_error",
                message=f"ReCharge could not be read ({type(exc).__name__})",
            )
        data = charge.model_dump(mode="json")
        if str(data.get("status") or "").upper() == "QUEUED":
            return None
        return _result(data)

    def stop_retries(self, invoice_ref: str) -> None:
        """Nothing to call: ReCharge's retries are the store's setting (see above)."""
        return None

    def card_update_page(self, customer_id: str) -> str:
        """The customer's ReCharge customer portal, signed in for a short while (ReCharge's customer
        portal access: ``portal_url`` with a temporary token). ReCharge sends
        customer/payment_method_updated when the card changes there."""
        customer = _id(customer_id)
        if not customer:
            raise ValueError("not a ReCharge customer")
        self._client.set_version("2021-11")
        body = self._call(
            "opening the customer portal",
            lambda: self._client.get(f"{API}/customers/{customer}/portal_access"),
        )
        access = body.get("portal_access") if isinstance(body.get("portal_access"), dict) else body
        url = access.get("portal_url") if isinstance(access, dict) else None
        if not isinstance(url, str) or not url.startswith("https://") or any(c.isspace() for c in url):
            raise ValueError("ReCharge answered without an https customer portal URL")
        return url


# -- helpers --------------------------------------------------------------------------------------


def _result(charge: Mapping[str, Any]) -> ChargeResult:
    status = str(charge.get("status") or "").upper()
    charge_id = _id(charge.get("id"))
    if status == PAID:
        return ChargeResult("approved", transaction_id=_transaction(charge) or charge_id)
    if status == FAILED:
        return ChargeResult(
            "declined",
            transaction_id=charge_id,
            decline_code=_decline_code(charge) or "declined",
            message=_str(charge.get("error")),
        )
    if status in IN_FLIGHT or status == "QUEUED":
        return ChargeResult("unknown", transaction_id=charge_id, message=f"charge {status.lower()}")
    return ChargeResult(
        "error",
        decline_code=f"charge_{status.lower() or 'unknown'}",
        message=f"charge is {status.lower() or 'unknown'}",
    )


def _decline_code(charge: Mapping[str, Any]) -> str | None:
    """ReCharge's error type (``CUSTOMER_NEEDS_TO_UPDATE_CARD``, ``CLOSED_MAX_RETRIES_REACHED``…),
    lower-cased; the gateway's own words stay in the message."""
    error_type = _str(charge.get("error_type"))
    return error_type.lower() if error_type else None


def _transaction(charge: Mapping[str, Any]) -> str | None:
    return _str(_obj(charge, "external_transaction_id").get("payment_processor"))


def _scope_message(exc: RechargeAPIError) -> str:
    """The library's scope error names the endpoint and the scopes the token lacks and has, never
    the token itself."""
    return str(exc)[:300]


def _id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return str(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 20:
        return value.strip()
    return None


def _obj(data: Mapping[str, Any], name: str) -> dict:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
