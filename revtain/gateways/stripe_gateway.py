"""Stripe adapter: an off-session, confirmed PaymentIntent per attempt (contract 7.1).

Every adapter owns its own ``stripe.StripeClient`` (never the global ``stripe.api_key``), so two
merchants' keys can never mix. The attempt's idempotency key travels as Stripe's
``Idempotency-Key`` request option, so a re-run of the same attempt gets Stripe's original answer
instead of a second charge; it is also stored as metadata ``revtain_attempt`` for reconciliation.

The SDK's own network retries are off (``max_network_retries=0``): the recovery scheduler decides
when to try again. Messages carry codes and the issuer's short text only: never card data, never
the API key (Stripe's 401 message echoes a redacted key, so it is not passed on).

The card-update page (``card_setup.CardSetupGateway``) saves a new card with a SetupIntent that
Stripe Elements confirm in the browser; it needs the account's publishable key (``pk_…``), the
one Stripe key that may appear in a page.
"""

from __future__ import annotations

import re
from typing import Any

import stripe

from ..engine.network_rules import NEVER_ADVICE_CODES, normalise_advice_code
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

# (connect, read) seconds. The read timeout is generous: an authorisation can take a while at the
# issuer, and every timeout becomes an "unknown" outcome that needs reconciliation.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
METADATA_KEY = "revtain_attempt"
AUTHENTICATION_REQUIRED = "authentication_required"
# How many of a customer's newest PaymentIntents lookup() scans before it falls back to search.
LOOKUP_LIST_LIMIT = 100

# The card-update page: Stripe.js and the sources Stripe's integration security guide lists for it
# (docs.stripe.com/security/guide#content-security-policy). maps.googleapis.com, listed there for
# the Address Element's autocomplete, is left out: the page uses no Address Element.
STRIPE_JS = "https://js.stripe.com/v3"
STRIPE_CSP: dict[str, tuple[str, ...]] = {
    "script-src": ("https://js.stripe.com", "https://*.js.stripe.com"),
    "frame-src": ("https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"),
    "connect-src": ("https://api.stripe.com",),
}
SETUP_METADATA_KEY = "revtain_card_update"
_PUBLISHABLE_KEY = re.compile(r"pk_(test|live)_[A-Za-z0-9]{8,247}")
_SETUP_INTENT_ID = re.compile(r"seti_[A-Za-z0-9]{8,250}")


class StripeGateway:
    name = "stripe"

    def __init__(
        self,
        secret_key: str,
        *,
        publishable_key: str | None = None,
        http_client: stripe.HTTPClient | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        if not isinstance(secret_key, str) or not secret_key.startswith(("sk_", "rk_")):
            raise ValueError("Stripe credentials need a secret key (sk_… or rk_…)")
        if publishable_key is not None:
            _check_publishable_key(publishable_key, secret_key)
        self.publishable_key = publishable_key
        self._client = stripe.StripeClient(
            secret_key,
            http_client=http_client or stripe.RequestsClient(timeout=timeout),
            max_network_retries=0,
        )

    @classmethod
    def from_credentials(cls, credentials: str | None, **kwargs: Any) -> StripeGateway:
        """From the decrypted credentials JSON: ``{"secret_key": "sk_…", "publishable_key": "pk_…"}``
        (the publishable key is optional: without it there is no card-update page)."""
        data = credentials_object(credentials, "Stripe")
        return cls(data.get("secret_key"), publishable_key=data.get("publishable_key") or None, **kwargs)

    def __repr__(self) -> str:  # never show the key
        return "<StripeGateway>"

    @property
    def stripe_client(self) -> stripe.StripeClient:
        """This account's client, for the Stripe Billing client built on this adapter."""
        return self._client

    # -- charging ---------------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        problem = _invalid(request)
        if problem:
            return ChargeResult("error", decline_code="invalid_request", message=problem)
        payment_method, customer = _split_token(request.token)
        try:
            customer_param = {"customer": customer} if customer else self._owner_of(payment_method)
            intent = self._client.v1.payment_intents.create(
                {
                    "amount": request.amount,
                    "currency": request.currency.lower(),
                    "payment_method": payment_method,
                    **customer_param,
                    "confirm": True,
                    "off_session": True,
                    # Off-session charges never redirect; without this Stripe asks for a return_url.
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                    "metadata": {METADATA_KEY: request.idempotency_key},
                },
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            return _result_from_error(exc)
        return _result_from_intent(intent)

    def _owner_of(self, payment_method: str) -> dict[str, str]:
        """A reusable PaymentMethod is attached to a customer, and Stripe wants that customer on
        the PaymentIntent. Only ``pm_…`` ids can be looked up; anything else is passed as is."""
        if not payment_method.startswith("pm_"):
            return {}
        pm = self._client.v1.payment_methods.retrieve(payment_method)
        customer = _id_of(getattr(pm, "customer", None))
        if customer:
            return {"customer": customer}
        account = _id_of(getattr(pm, "customer_account", None))
        return {"customer_account": account} if account else {}

    # -- reconciliation ---------------------------------------------------------------------

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        """What became of the attempt with ``request.idempotency_key``.

        Read-only on purpose: replaying the create would charge if the first request never reached
        Stripe, and after 24 h the key is forgotten. The customer's PaymentIntent list is strongly
        consistent, so it is read first; Stripe's search (eventually consistent, usually under a
        minute behind) covers PaymentMethods without a customer. ``None``: Stripe has no such
        PaymentIntent. A lookup that cannot reach Stripe answers "unknown", never ``None``.
        """
        key = request.idempotency_key
        payment_method, customer = _split_token(request.token)
        try:
            if not customer and payment_method.startswith("pm_"):
                try:
                    customer = self._owner_of(payment_method).get("customer")
                except stripe.InvalidRequestError:
                    customer = None  # detached or deleted since: search still finds the intent
            if customer:
                page = self._client.v1.payment_intents.list(
                    {"customer": customer, "limit": LOOKUP_LIST_LIMIT}
                )
                found = _pick([pi for pi in page.data if _attempt_of(pi) == key])
                if found is not None:
                    return _result_from_intent(found)
            query = f"metadata['{METADATA_KEY}']:'{_search_quote(key)}'"
            result = self._client.v1.payment_intents.search({"query": query, "limit": 10})
            found = _pick([pi for pi in result.data if _attempt_of(pi) == key])
        except stripe.StripeError as exc:
            mapped = _result_from_error(exc)
            return ChargeResult("unknown", decline_code=mapped.decline_code, message=mapped.message)
        return None if found is None else _result_from_intent(found)


    # -- card-update page (card_setup.CardSetupGateway) ------------------------------------------

    def card_form(self, token: str, *, reference: str) -> CardForm:
        """A SetupIntent for the card's customer, to be confirmed by Stripe Elements in the browser.
        Its idempotency key comes from the link, so reloading the page within Stripe's 24 hours
        gets the same SetupIntent back instead of a new one."""
        if not self.publishable_key:
            raise CardSetupUnsupported("this Stripe account has no publishable key configured")
        customer = self._customer_for(token)
        try:
            intent = self._client.v1.setup_intents.create(
                {
                    "customer": customer,
                    "usage": "off_session",
                    "payment_method_types": ["card"],
                    "metadata": {SETUP_METADATA_KEY: reference},
                },
                options={"idempotency_key": f"revtain-card-update-{reference}"},
            )
        except stripe.InvalidRequestError:
            raise CardSetupUnsupported("Stripe refused a SetupIntent for this customer") from None
        except stripe.StripeError as exc:
            raise _unreachable(exc) from None
        return CardForm(
            "stripe",
            scripts=(STRIPE_JS,),
            csp=STRIPE_CSP,
            data={"publishable_key": self.publishable_key, "client_secret": intent.client_secret},
        )

    def save_card(self, token: str, proof: str, *, reference: str) -> SavedCard:
        """``proof`` is the SetupIntent id the browser posts after confirming. It counts only if it
        succeeded, was made for this link and this customer, and saved a card; the card then
        becomes the customer's default for invoices."""
        if not isinstance(proof, str) or not _SETUP_INTENT_ID.fullmatch(proof):
            raise CardRefused("We couldn't confirm your card. Please try again.")
        customer = self._customer_for(token)
        try:
            intent = self._client.v1.setup_intents.retrieve(proof, {"expand": ["payment_method"]})
        except stripe.InvalidRequestError:
            raise CardRefused("We couldn't confirm your card. Please try again.") from None
        except stripe.StripeError as exc:
            raise _unreachable(exc) from None
        metadata = getattr(intent, "metadata", None)
        if (
            (getattr(metadata, SETUP_METADATA_KEY, None) if metadata is not None else None) != reference
            or _id_of(getattr(intent, "customer", None)) != customer
        ):
            raise CardRefused("We couldn't confirm your card. Please try again.")
        if getattr(intent, "status", None) != "succeeded":
            raise CardRefused("Your card wasn't confirmed. Please enter it again.")
        payment_method = getattr(intent, "payment_method", None)
        card = getattr(payment_method, "card", None)
        if card is None:
            raise CardRefused("Please use a card.")
        try:
            self._client.v1.customers.update(
                customer, {"invoice_settings": {"default_payment_method": payment_method.id}}
            )
        except stripe.StripeError as exc:
            raise _unreachable(exc) from None
        return SavedCard(
            f"{payment_method.id}|{customer}",
            clean_brand(getattr(card, "brand", None)),
            clean_last4(getattr(card, "last4", None)),
        )

    def _customer_for(self, token: str) -> str:
        """The customer whose card ``token`` is: named in it (``pm_…|cus_…``), or the owner of the
        PaymentMethod. A card without a customer cannot get a replacement saved for it."""
        payment_method, customer = _split_token(token)
        if customer:
            return customer
        try:
            customer = self._owner_of(payment_method).get("customer")
        except stripe.InvalidRequestError:
            customer = None
        except stripe.StripeError as exc:
            raise _unreachable(exc) from None
        if not customer:
            raise CardSetupUnsupported("the card belongs to no Stripe customer")
        return customer


# -- helpers ----------------------------------------------------------------------------------


def _check_publishable_key(publishable_key: Any, secret_key: str) -> None:
    match = _PUBLISHABLE_KEY.fullmatch(publishable_key) if isinstance(publishable_key, str) else None
    if match is None:
        raise ValueError("Stripe publishable_key must look like pk_live_… or pk_test_…")
    secret_mode = "test" if "_test_" in secret_key[:8] else "live" if "_live_" in secret_key[:8] else None
    if secret_mode and secret_mode != match.group(1):
        raise ValueError("the Stripe publishable key and secret key must be both test or both live keys")


def _unreachable(exc: stripe.StripeError) -> GatewayUnreachable:
    """Stripe's own message is not passed on (a 401 echoes part of the key)."""
    status = getattr(exc, "http_status", None)
    return GatewayUnreachable(f"Stripe {type(exc).__name__} (HTTP {status})")


def _invalid(request: ChargeRequest) -> str | None:
    if not request.token or not request.token.split("|", 1)[0].strip():
        return "empty payment method token"
    if request.amount <= 0:
        return "amount must be positive"
    if len(request.currency) != 3 or not request.currency.isalpha():
        return "currency must be an ISO 4217 code"
    return None


def _split_token(token: str) -> tuple[str, str | None]:
    """``pm_…`` or ``pm_…|cus_…``."""
    payment_method, _, customer = token.partition("|")
    return payment_method.strip(), customer.strip() or None


def _id_of(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    return getattr(value, "id", None)


def _attempt_of(intent: Any) -> str | None:
    metadata = getattr(intent, "metadata", None)
    return getattr(metadata, METADATA_KEY, None) if metadata is not None else None


def _pick(intents: list[Any]) -> Any | None:
    """One key, one PaymentIntent; should there ever be more, a success wins, then the newest."""
    if not intents:
        return None
    for intent in intents:
        if getattr(intent, "status", None) == "succeeded":
            return intent
    return max(intents, key=lambda pi: getattr(pi, "created", 0) or 0)


def _search_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _decline(error: Any, intent_id: str | None, *, action_required: bool = False) -> ChargeResult:
    """A declined result from a Stripe error object (a CardError's ``error`` or a PaymentIntent's
    ``last_payment_error``): both carry code, decline_code, advice_code, network_decline_code."""
    code = getattr(error, "code", None)
    decline_code = getattr(error, "decline_code", None) or code or "card_declined"
    if action_required or AUTHENTICATION_REQUIRED in (code, decline_code):
        decline_code = AUTHENTICATION_REQUIRED
    return ChargeResult(
        "declined",
        transaction_id=intent_id,
        decline_code=decline_code,
        advice_code=stripe_advice(error),
        network_code=getattr(error, "network_decline_code", None),
        message=getattr(error, "message", None),
    )


def stripe_advice(error: Any) -> str | None:
    """Stripe's own ``advice_code`` or the network's ``network_advice_code`` (Mastercard's MAC),
    the stricter: a network never-retry code, Stripe's do_not_try_again, the network's, Stripe's."""
    get = error.get if isinstance(error, dict) else lambda name: getattr(error, name, None)
    network, own = get("network_advice_code") or None, get("advice_code") or None
    if network and normalise_advice_code(network) in NEVER_ADVICE_CODES:
        return network
    return own if own == "do_not_try_again" else network or own


def _result_from_intent(intent: Any) -> ChargeResult:
    status = getattr(intent, "status", None)
    intent_id = getattr(intent, "id", None)
    last_error = getattr(intent, "last_payment_error", None)
    if status == "succeeded":
        return ChargeResult("approved", transaction_id=intent_id)
    if status == "requires_action":
        return _decline(last_error, intent_id, action_required=True)
    if status in ("requires_payment_method", "canceled") and last_error is not None:
        return _decline(last_error, intent_id)
    if status in ("processing", "requires_capture"):
        # Money may still move (asynchronous methods) or sit authorised: reconcile later.
        return ChargeResult("unknown", transaction_id=intent_id, message=f"payment intent {status}")
    # requires_confirmation, or requires_payment_method / canceled without an attempt: not charged.
    return ChargeResult(
        "error", transaction_id=intent_id, decline_code=f"intent_{status}", message="payment not attempted"
    )


def _result_from_error(exc: stripe.StripeError) -> ChargeResult:
    status = getattr(exc, "http_status", None)
    if isinstance(exc, stripe.CardError):
        error = exc.error
        intent = getattr(error, "payment_intent", None) if error is not None else None
        return _decline(
            error,
            _id_of(intent),
            action_required=getattr(intent, "status", None) == "requires_action",
        )
    if isinstance(exc, stripe.RateLimitError):
        return ChargeResult(
            "error", decline_code="rate_limited", message=f"Stripe rate limit (HTTP {status})"
        )
    if isinstance(exc, stripe.AuthenticationError):
        return ChargeResult(
            "error", decline_code="gateway_auth_error", message=f"Stripe rejected the API key (HTTP {status})"
        )
    if isinstance(exc, stripe.PermissionError):
        return ChargeResult(
            "error",
            decline_code="gateway_permission_error",
            message=f"the Stripe key may not do this (HTTP {status})",
        )
    if isinstance(exc, stripe.IdempotencyError):
        # The key was used before with other parameters: that earlier request may have charged.
        return ChargeResult(
            "unknown", decline_code="idempotency_conflict", message="Stripe idempotency error"
        )
    if isinstance(exc, stripe.InvalidRequestError):
        param = f", param {exc.param}" if exc.param else ""
        return ChargeResult(
            "error",
            decline_code="invalid_request",
            message=f"Stripe invalid request: {exc.code or 'invalid_request_error'}{param} (HTTP {status})",
        )
    if isinstance(exc, stripe.APIConnectionError):
        return ChargeResult("unknown", decline_code="gateway_timeout", message="no answer from Stripe")
    # APIError: 5xx, or 409 while a request with the same key is still in flight.
    return ChargeResult("unknown", decline_code="gateway_error", message=f"Stripe API error (HTTP {status})")
