"""Braintree: a payment the issuer declined for authentication (``gateway_rejected:three_d_secure``,
processor 2099), confirmed by the customer on the page with Braintree's 3-D Secure.

Braintree's flow for a vaulted card: the server makes a one-time nonce from the vaulted payment
method (``payment_method_nonce.create``, which also gives the card's BIN); braintree-web's
``threeDSecure.verifyCard`` runs the issuer's challenge in the browser and returns a new,
authenticated nonce; the server then makes the sale with that nonce and
``three_d_secure.required``, so Braintree refuses it unless the authentication shifted liability.
The sale's ``order_id`` is the recovery's attempt key, as for every Revtain charge.
"""

from __future__ import annotations

from typing import Any
from xml.parsers.expat import ExpatError

from braintree.exceptions.braintree_error import BraintreeError

from .braintree_gateway import (
    _NONCE,
    APPROVED_STATUSES,
    BRAINTREE_CSP,
    BRAINTREE_WEB,
    BraintreeGateway,
    _customer_of,
    format_amount,
)
from .card_setup import CardForm, CardRefused, CardSetupUnsupported, GatewayUnreachable

THREE_D_SECURE_SCRIPTS = (f"{BRAINTREE_WEB}/client.min.js", f"{BRAINTREE_WEB}/three-d-secure.min.js")
# braintree-web's CSP table adds *.cardinal.com to frame-src for 3-D Secure; 3DS 2 loads Cardinal's
# Songbird script and frames from cardinalcommerce.com.
_CARDINAL = ("https://*.cardinal.com", "https://*.cardinalcommerce.com")
NOT_CONFIRMED = "Your payment wasn't confirmed. Please try again."


def _csp(environment: str) -> dict[str, tuple[str, ...]]:
    base = BRAINTREE_CSP[environment]
    return {
        "script-src": (*base["script-src"], "https://*.cardinalcommerce.com"),
        "frame-src": (*base["frame-src"], *_CARDINAL),
        "child-src": (*base["child-src"], *_CARDINAL),
        "connect-src": (*base["connect-src"], "https://*.cardinalcommerce.com"),
    }


def _unreachable(exc: Exception) -> GatewayUnreachable:
    return GatewayUnreachable(f"Braintree {type(exc).__name__}")


def _merchant_account(gateway: BraintreeGateway, currency: str) -> dict[str, str]:
    accounts = gateway._merchant_accounts
    if not accounts:
        return {}
    account = accounts.get(currency.upper())
    if account is None:  # the merchant account fixes the currency: never charge in another one
        raise CardSetupUnsupported(f"no Braintree merchant account configured for {currency}")
    return {"merchant_account_id": account}


def confirmation_form(gateway: BraintreeGateway, token: str, amount: int, currency: str) -> CardForm:
    """A client token, a nonce for the vaulted card and its BIN, and the amount, for
    ``threeDSecure.verifyCard`` in the browser."""
    customer = _customer_of(token)
    method_token = token.split("|", 1)[0].strip()
    _merchant_account(gateway, currency)
    try:
        client_token = gateway._gateway.client_token.generate({"customer_id": customer})
        made = gateway._gateway.payment_method_nonce.create(method_token)
    except ValueError:
        raise CardSetupUnsupported("Braintree would not issue a client token for this customer") from None
    except (BraintreeError, ExpatError) as exc:
        raise _unreachable(exc) from None
    if not getattr(made, "is_success", False):
        raise CardSetupUnsupported("Braintree would not make a nonce for the vaulted card")
    nonce: Any = made.payment_method_nonce
    details = getattr(nonce, "details", None) or {}
    return CardForm("braintree_confirm", scripts=THREE_D_SECURE_SCRIPTS, csp=_csp(gateway.environment), data={
        "client_token": client_token, "nonce": nonce.nonce, "bin": str(details.get("bin") or ""),
        "amount": format_amount(amount, currency.upper()),
    })


def confirmed_payment(gateway: BraintreeGateway, proof: str, amount: int, currency: str, *,
                      attempt_key: str) -> str:
    """The sale with the authenticated nonce (``proof``); its transaction id when approved.
    Raises ``CardRefused`` (the customer may try again) or ``GatewayUnreachable``."""
    if not isinstance(proof, str) or not _NONCE.fullmatch(proof):
        raise CardRefused(NOT_CONFIRMED)
    params = {
        "amount": format_amount(amount, currency.upper()),
        "payment_method_nonce": proof,
        "order_id": attempt_key,
        "options": {"submit_for_settlement": True, "three_d_secure": {"required": True}},
        **_merchant_account(gateway, currency),
    }
    try:
        result = gateway._gateway.transaction.sale(params)
    except (BraintreeError, ExpatError) as exc:
        raise _unreachable(exc) from None
    transaction = getattr(result, "transaction", None)
    if not result.is_success or getattr(transaction, "status", None) not in APPROVED_STATUSES:
        raise CardRefused(NOT_CONFIRMED)
    return transaction.id
