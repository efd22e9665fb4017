"""The "confirm this payment" page of a Stripe or Braintree client: the gateway's own browser SDK
runs the issuer's 3-D Secure challenge (Stripe.js ``confirmCardPayment`` on a PaymentIntent made
for the recovery; braintree-web ``threeDSecure.verifyCard`` on a nonce of the vaulted card), the
page posts what the gateway gave back, and the server settles only on the gateway's own word
(``gateways.stripe_confirmation``, ``gateways.braintree_confirmation``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import request, url_for
from flask_babel import gettext as _

from ..clock import now as clock_now
from ..gateways import braintree_confirmation, stripe_confirmation
from ..gateways.braintree_gateway import BraintreeGateway
from ..gateways.card_setup import CardForm, CardRefused, CardSetupUnsupported, GatewayUnreachable
from ..gateways.stripe_gateway import StripeGateway
from ..models import CardUpdateLink, Client, Recovery
from ..recovery.cascade import GatewayUnavailable, gateway_named
from . import authentication, links
from .render import csrf_ok, csrf_token, due, page, today_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Confirmer:
    adapter: type
    proof_field: str
    form: Callable[..., CardForm]  # (gateway, recovery, link) -> the page's SDK data
    settle: Callable[..., str]  # (gateway, recovery, proof) -> the approved transaction id


CONFIRMERS = {
    "stripe": Confirmer(
        StripeGateway, "payment_intent",
        lambda gw, rec, link: stripe_confirmation.confirmation_form(
            gw, rec.payment_method_token, rec.amount, rec.currency,
            attempt_key=authentication.attempt_key(rec), reference=link.id),
        lambda gw, rec, proof: stripe_confirmation.confirmed_payment(
            gw, proof, rec.amount, rec.currency, attempt_key=authentication.attempt_key(rec)),
    ),
    "braintree": Confirmer(
        BraintreeGateway, "payment_method_nonce",
        lambda gw, rec, link: braintree_confirmation.confirmation_form(
            gw, rec.payment_method_token, rec.amount, rec.currency),
        lambda gw, rec, proof: braintree_confirmation.confirmed_payment(
            gw, proof, rec.amount, rec.currency, attempt_key=authentication.attempt_key(rec)),
    ),
}


def _gateway(client: Client, confirmer: Confirmer):
    try:
        gateway = gateway_named(client, client.gateway)
    except GatewayUnavailable as exc:
        raise CardSetupUnsupported(str(exc)) from None
    if not isinstance(gateway, confirmer.adapter):
        raise CardSetupUnsupported(f"the client's {client.gateway} gateway cannot confirm payments")
    return gateway


def _unavailable(client: Client, link: CardUpdateLink, recovery: Recovery, exc: Exception):
    log.warning("confirm payment link %s: %s", link.id, exc)
    retry = isinstance(exc, GatewayUnreachable)
    return page("gone.html", 503 if retry else 404, client, recovery=recovery,
                reason="retry" if retry else "unavailable")


def confirm_view(client: Client, link: CardUpdateLink, recovery: Recovery, token: str):
    """GET: the page with the gateway's SDK. POST: what the browser got from the gateway."""
    confirmer = CONFIRMERS[client.gateway]
    error = None
    try:
        gateway = _gateway(client, confirmer)
        if request.method == "POST":
            if not csrf_ok(link):
                error = _("This form has expired. Please reload the page.")
            else:
                try:
                    proof = request.form.get(confirmer.proof_field, "")
                    transaction = confirmer.settle(gateway, recovery, proof)
                except CardRefused:
                    error = _("Your payment wasn't confirmed. Please try again.")
                else:
                    try:
                        authentication.confirmed(client, link, recovery, client.gateway, transaction)
                    except links.LinkUnusable:
                        return page("gone.html", 410, client, recovery=recovery, reason="used")
                    return page("done.html", 200, client, recovery=recovery, kind="recovered",
                                brand_name=None, last4=None, paid=due(recovery, unpaid_only=False),
                                reference=transaction, date=today_text(clock_now()))
        form = confirmer.form(gateway, recovery, link)
    except (CardSetupUnsupported, GatewayUnreachable) as exc:
        return _unavailable(client, link, recovery, exc)
    return page(f"{form.kind}.html", 400 if error else 200, client, recovery=recovery,
                sources=form.csp, scripts=form.scripts, setup=form.data, error=error,
                csrf=csrf_token(link.id), proof_field=confirmer.proof_field,
                due=due(recovery, unpaid_only=False),
                card_url=url_for("cardupdate.card_update_page", token=token, card=1))
