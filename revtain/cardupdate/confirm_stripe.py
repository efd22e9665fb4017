"""The "confirm this payment" page of a Stripe client: Stripe.js confirms a PaymentIntent made for
the recovery (``gateways.stripe_confirmation``) and runs the issuer's 3-D Secure challenge; the page
then posts the PaymentIntent id, which the server checks with Stripe before settling."""

from __future__ import annotations

import logging

from flask import request, url_for
from flask_babel import gettext as _

from ..clock import now as clock_now
from ..gateways import stripe_confirmation
from ..gateways.card_setup import CardRefused, CardSetupUnsupported, GatewayUnreachable
from ..gateways.stripe_gateway import StripeGateway
from ..models import CardUpdateLink, Client, Recovery
from ..recovery.cascade import GatewayUnavailable, gateway_named
from . import authentication, links
from .render import csrf_ok, csrf_token, due, page, today_text

log = logging.getLogger(__name__)
PROOF_FIELD = "payment_intent"


def _gateway(client: Client) -> StripeGateway:
    try:
        gateway = gateway_named(client, "stripe")
    except GatewayUnavailable as exc:
        raise CardSetupUnsupported(str(exc)) from None
    if not isinstance(gateway, StripeGateway):
        raise CardSetupUnsupported("the client's Stripe gateway cannot confirm payments")
    return gateway


def _unavailable(client: Client, link: CardUpdateLink, recovery: Recovery, exc: Exception):
    log.warning("confirm payment link %s: %s", link.id, exc)
    reason = "retry" if isinstance(exc, GatewayUnreachable) else "unavailable"
    return page("gone.html", 503 if reason == "retry" else 404, client, recovery=recovery, reason=reason)


def confirm_view(client: Client, link: CardUpdateLink, recovery: Recovery, token: str):
    """GET: the page with Stripe.js. POST: the PaymentIntent the browser confirmed."""
    error = None
    try:
        gateway = _gateway(client)
        if request.method == "POST":
            if not csrf_ok(link):
                error = _("This form has expired. Please reload the page.")
            else:
                try:
                    intent_id = stripe_confirmation.confirmed_payment(
                        gateway, request.form.get(PROOF_FIELD, ""), recovery.amount, recovery.currency,
                        attempt_key=authentication.attempt_key(recovery))
                except CardRefused:
                    error = _("Your payment wasn't confirmed. Please try again.")
                else:
                    try:
                        authentication.confirmed(client, link, recovery, "stripe", intent_id)
                    except links.LinkUnusable:
                        return page("gone.html", 410, client, recovery=recovery, reason="used")
                    return page("done.html", 200, client, recovery=recovery, kind="recovered",
                                brand_name=None, last4=None, paid=due(recovery, unpaid_only=False),
                                reference=intent_id, date=today_text(clock_now()))
        form = stripe_confirmation.confirmation_form(
            gateway, recovery.payment_method_token, recovery.amount, recovery.currency,
            attempt_key=authentication.attempt_key(recovery), reference=link.id)
    except (CardSetupUnsupported, GatewayUnreachable) as exc:
        return _unavailable(client, link, recovery, exc)
    return page("confirm_stripe.html", 400 if error else 200, client, recovery=recovery,
                sources=form.csp, scripts=form.scripts, setup=form.data, error=error,
                csrf=csrf_token(link.id), proof_field=PROOF_FIELD, due=due(recovery, unpaid_only=False),
                card_url=url_for("cardupdate.card_update_page", token=token, card=1))
