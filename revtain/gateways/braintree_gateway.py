"""Braintree adapter: a merchant-initiated ``transaction.sale`` on a vaulted payment method.

The token is ``<paymentMethodToken>|<customerId>`` (contract 7.1); the vaulted token alone names
the payment method. Braintree's sale has no idempotency key (its "at-most-once" ``api_request_key``
is a limited-availability feature that excludes duplicate checking), so the attempt's idempotency
key travels as ``order_id`` and the adapter makes a re-run safe itself: before a sale it searches
for a transaction with that ``order_id`` and answers with it when there is one. ``lookup`` is the
same search.

Every adapter owns its own ``braintree.BraintreeGateway`` and ``Configuration`` (no global
``Configuration.configure``), so merchants' keys never mix. HTTP exceptions are wrapped
(``wrap_http_exceptions``) so timeouts and connection errors arrive as ``braintree.exceptions``.
Messages carry codes and the processor's short text only: never card data, never keys.

The card-update page (``card_setup.CardSetupGateway``) shows Hosted Fields with a client token
for the customer, and vaults the nonce they produce with ``verify_card`` and ``make_default``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from xml.parsers.expat import ExpatError

import braintree
from braintree.exceptions import (
    AuthenticationError,
    AuthorizationError,
    NotFoundError,
    TooManyRequestsError,
    UpgradeRequiredError,
)
from braintree.exceptions.braintree_error import BraintreeError

from ..currencies import ZERO_DECIMAL
from .base import ChargeRequest, ChargeResult, credentials_object
from .card_setup import (
    CardForm,
    CardRefused,
    CardSetupUnsupported,
    GatewayUnreachable,
    SavedCard,
    clean_brand,
    clean_last4,
)

# ISO 4217 currencies with three minor-unit digits.
THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
# (connect, read) seconds, handed to requests by the SDK's HTTP strategy.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
ENVIRONMENTS = {"sandbox": braintree.Environment.Sandbox, "production": braintree.Environment.Production}

# The card-update page: braintree-web, pinned, and the sources its documentation lists for a
# Content-Security-Policy (braintree/braintree-web jsdoc/Home.md, "Basic Directives").
BRAINTREE_WEB = "https://js.braintreegateway.com/web/3.134.0/js"
BRAINTREE_SCRIPTS = (f"{BRAINTREE_WEB}/client.min.js", f"{BRAINTREE_WEB}/hosted-fields.min.js")
_ASSETS = ("https://assets.braintreegateway.com",)
BRAINTREE_CSP: dict[str, dict[str, tuple[str, ...]]] = {
    environment: {
        "script-src": ("https://js.braintreegateway.com", *_ASSETS),
        "frame-src": _ASSETS,
        "child-src": _ASSETS,
        "connect-src": (f"https://api.{host}", f"https://client-analytics.{host}", "https://*.braintree-api.com"),
    }
    for environment, host in (
        ("sandbox", "sandbox.braintreegateway.com"),
        ("production", "braintreegateway.com"),
    )
}
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,128}")
TRY_AGAIN = "We couldn't save this card. Please check the details and try again."

UNREADABLE = ChargeResult("unknown", decline_code="gateway_error", message="unreadable Braintree response")
APPROVED_STATUSES = frozenset(
    [
        "authorized",
        "submitted_for_settlement",
        "settling",
        "settlement_pending",
        "settlement_confirmed",
        "settled",
    ]
)


def currency_exponent(currency: str) -> int:
    currency = currency.upper()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """Smallest unit to Braintree's decimal string: 5000 USD → "50.00", JPY → "5000", KWD → "5.000"."""
    exponent = currency_exponent(currency)
    if exponent == 0:
        return str(amount)
    whole, fraction = divmod(amount, 10**exponent)
    return f"{whole}.{fraction:0{exponent}d}"


class BraintreeGateway:
    name = "braintree"

    def __init__(
        self,
        *,
        merchant_id: str,
        public_key: str,
        private_key: str,
        environment: str = "sandbox",
        merchant_account_ids: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        http_strategy: Callable[..., Any] | None = None,
    ) -> None:
        for field, value in (
            ("merchant_id", merchant_id),
            ("public_key", public_key),
            ("private_key", private_key),
        ):
            if not isinstance(value, str) or not value:
                raise ValueError(f"Braintree credentials need {field}")
        environment = environment.lower() if isinstance(environment, str) else environment
        if environment not in ENVIRONMENTS:
            raise ValueError("Braintree environment must be 'sandbox' or 'production'")
        self.environment = environment
        self._merchant_accounts = {k.upper(): v for k, v in (merchant_account_ids or {}).items()}
        config = braintree.Configuration(
            ENVIRONMENTS[environment],
            merchant_id,
            public_key,
            private_key,
            timeout=timeout,
            wrap_http_exceptions=True,
            http_strategy=http_strategy,
        )
        self._gateway = braintree.BraintreeGateway(config)

    @classmethod
    def from_credentials(cls, credentials: str | None, **kwargs: Any) -> BraintreeGateway:
        """From the decrypted credentials JSON: ``{"merchant_id", "public_key", "private_key",
        "environment": "sandbox"|"production", optional "merchant_account_ids": {"USD": "…"}}``."""
        data = credentials_object(credentials, "Braintree")
        accounts = data.get("merchant_account_ids") or {}
        if not isinstance(accounts, dict):
            raise ValueError("Braintree merchant_account_ids must map currency codes to ids")
        return cls(
            merchant_id=data.get("merchant_id"),
            public_key=data.get("public_key"),
            private_key=data.get("private_key"),
            environment=data.get("environment") or "sandbox",
            merchant_account_ids=accounts,
            **kwargs,
        )

    def __repr__(self) -> str:  # never show the keys
        return "<BraintreeGateway>"

    # -- charging ---------------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        payment_method_token = request.token.split("|", 1)[0].strip()
        if not payment_method_token:
            return ChargeResult("error", decline_code="invalid_request", message="empty payment method token")
        if request.amount <= 0:
            return ChargeResult("error", decline_code="invalid_request", message="amount must be positive")
        currency = request.currency.upper()
        params: dict[str, Any] = {
            "amount": format_amount(request.amount, currency),
            "payment_method_token": payment_method_token,
            "order_id": request.idempotency_key,
            "transaction_source": "recurring",
            "options": {"submit_for_settlement": True},
        }
        if self._merchant_accounts:
            account = self._merchant_accounts.get(currency)
            if account is None:
                # The merchant account fixes the currency: never charge in another one.
                return ChargeResult(
                    "error",
                    decline_code="currency_not_supported",
                    message=f"no Braintree merchant account configured for {currency}",
                )
            params["merchant_account_id"] = account
        try:
            # A re-run of this attempt answers with the transaction the first run made.
            earlier = self._find(request.idempotency_key)
            if earlier is not None:
                return _result_from_transaction(earlier)
            result = self._gateway.transaction.sale(params)
        except BraintreeError as exc:
            return _result_from_exception(exc)
        except ExpatError:  # an unparseable answer (a proxy's error page): the sale may have happened
            return UNREADABLE
        if result.is_success:
            return _result_from_transaction(result.transaction)
        if result.transaction is not None:
            return _result_from_transaction(result.transaction)
        return _validation_error(result)

    # -- reconciliation ---------------------------------------------------------------------

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        """The transaction whose ``order_id`` is the idempotency key; ``None`` when there is none.
        A search that cannot reach Braintree answers "unknown", never ``None``."""
        try:
            found = self._find(request.idempotency_key)
        except BraintreeError as exc:
            mapped = _result_from_exception(exc)
            return ChargeResult("unknown", decline_code=mapped.decline_code, message=mapped.message)
        except ExpatError:
            return UNREADABLE
        return None if found is None else _result_from_transaction(found)

    def _find(self, order_id: str) -> Any | None:
        collection = self._gateway.transaction.search(braintree.TransactionSearch.order_id == order_id)
        matches = [tx for tx in collection.items if getattr(tx, "order_id", None) == order_id]
        if not matches:
            return None
        for tx in matches:
            if getattr(tx, "status", None) in APPROVED_STATUSES:
                return tx
        return max(matches, key=lambda tx: str(getattr(tx, "created_at", "") or ""))


    # -- card-update page (card_setup.CardSetupGateway) ------------------------------------------

    def card_form(self, token: str, *, reference: str) -> CardForm:
        """A client token for the card's customer: Hosted Fields tokenize with it in the browser."""
        customer = _customer_of(token)
        try:
            client_token = self._gateway.client_token.generate({"customer_id": customer})
        except ValueError:  # an <api-error-response>, e.g. no such customer
            raise CardSetupUnsupported("Braintree would not issue a client token for this customer") from None
        except (BraintreeError, ExpatError) as exc:
            raise GatewayUnreachable(f"Braintree {type(exc).__name__}") from None
        return CardForm(
            "braintree",
            scripts=BRAINTREE_SCRIPTS,
            csp=BRAINTREE_CSP[self.environment],
            data={"client_token": client_token},
        )

    def save_card(self, token: str, proof: str, *, reference: str) -> SavedCard:
        """``proof`` is the Hosted Fields nonce: vaulted for the customer, verified, made default.
        A failed verification saves nothing and says why in the processor's words."""
        customer = _customer_of(token)
        if not isinstance(proof, str) or not _NONCE.fullmatch(proof):
            raise CardRefused(TRY_AGAIN)
        try:
            result = self._gateway.payment_method.create(
                {
                    "customer_id": customer,
                    "payment_method_nonce": proof,
                    "options": {"verify_card": True, "make_default": True},
                }
            )
        except (BraintreeError, ExpatError) as exc:
            raise GatewayUnreachable(f"Braintree {type(exc).__name__}") from None
        if not result.is_success:
            raise CardRefused(_refusal(getattr(result, "credit_card_verification", None)))
        method = result.payment_method
        return SavedCard(
            f"{method.token}|{customer}",
            clean_brand(getattr(method, "card_type", None)),
            clean_last4(getattr(method, "last_4", None)),
        )


# -- helpers ----------------------------------------------------------------------------------


def _customer_of(token: str) -> str:
    """``<paymentMethodToken>|<customerId>``: a card is saved for the customer the token names."""
    customer = token.partition("|")[2].strip()
    if not customer:
        raise CardSetupUnsupported("the payment method token names no Braintree customer")
    return customer


def _refusal(verification: Any) -> str:
    """Why a card was not saved, in words a customer understands."""
    status = getattr(verification, "status", None)
    if status == "processor_declined":
        text = (getattr(verification, "processor_response_text", None) or "").strip()
        said = f" (the bank said: {text})" if text else ""
        return f"Your bank declined this card{said}. Please try another card or contact your bank."
    if status == "gateway_rejected":
        reason = getattr(verification, "gateway_rejection_reason", None)
        if reason in ("cvv", "avs", "avs_and_cvv"):
            return "The security code or postal code didn't match this card. Please check them and try again."
        return "This card couldn't be verified. Please try another card."
    if status == "failed":
        return "We couldn't reach the card network to check this card. Please try again in a moment."
    return TRY_AGAIN


def _result_from_transaction(tx: Any) -> ChargeResult:
    status = getattr(tx, "status", None)
    tx_id = getattr(tx, "id", None)
    text = getattr(tx, "processor_response_text", None) or None
    if status in APPROVED_STATUSES:
        return ChargeResult("approved", transaction_id=tx_id)
    if status == "processor_declined":
        return ChargeResult(
            "declined",
            transaction_id=tx_id,
            decline_code=getattr(tx, "processor_response_code", None) or "processor_declined",
            advice_code=getattr(tx, "merchant_advice_code", None) or None,
            network_code=getattr(tx, "network_response_code", None) or None,
            message=text,
        )
    if status == "gateway_rejected":
        reason = getattr(tx, "gateway_rejection_reason", None) or "unknown"
        if reason == "duplicate":
            # Duplicate checking saw an earlier, successful sale with this amount and order_id that
            # the search did not show yet: money moved under this attempt; reconciliation finds it.
            return ChargeResult(
                "unknown", decline_code="gateway_rejected:duplicate", message="Braintree duplicate check"
            )
        return ChargeResult(
            "declined",
            transaction_id=tx_id,
            decline_code=f"gateway_rejected:{reason}",
            message=f"Braintree gateway rejected the transaction ({reason})",
        )
    if status == "settlement_declined":
        return ChargeResult(
            "declined",
            transaction_id=tx_id,
            decline_code=getattr(tx, "processor_settlement_response_code", None) or "settlement_declined",
            message=getattr(tx, "processor_settlement_response_text", None) or None,
        )
    if status in ("authorizing", "settlement_failed"):
        return ChargeResult("unknown", transaction_id=tx_id, message=f"transaction {status}")
    # failed (the processor could not be reached), voided, authorization_expired: nothing charged.
    return ChargeResult("error", transaction_id=tx_id, decline_code=f"transaction_{status}", message=text)


def _validation_error(result: Any) -> ChargeResult:
    errors = [f"{error.code} {error.message}" for error in result.errors.deep_errors]
    return ChargeResult(
        "error",
        decline_code="validation_error",
        message="Braintree validation failed: " + ("; ".join(errors) or str(result.message)),
    )


def _result_from_exception(exc: BraintreeError) -> ChargeResult:
    kind = type(exc).__name__
    if isinstance(exc, AuthenticationError | AuthorizationError):
        return ChargeResult(
            "error", decline_code="gateway_auth_error", message=f"Braintree refused the credentials ({kind})"
        )
    if isinstance(exc, TooManyRequestsError):
        return ChargeResult("error", decline_code="rate_limited", message="Braintree rate limit")
    if isinstance(exc, NotFoundError | UpgradeRequiredError):
        return ChargeResult("error", decline_code="invalid_request", message=f"Braintree {kind}")
    # Timeouts, connection errors, ServerError, ServiceUnavailableError, GatewayTimeoutError,
    # RequestTimeoutError and unexpected HTTP statuses: the sale may or may not have happened.
    timeout = "Timeout" in kind or "Connection" in kind
    return ChargeResult(
        "unknown", decline_code="gateway_timeout" if timeout else "gateway_error", message=f"Braintree {kind}"
    )
