"""The branded card-update page, on the merchant's own domain (a CNAME to Revtain) or the main host.

Served only for the main host or a client's *verified* ``cardUpdateDomain``, and only for that
client's links. The page sends a strict Content-Security-Policy (no scripts at all for the test
gateway's form), no referrer (the URL holds the token), and is never cached.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Blueprint, current_app, render_template, request

from ..clock import now as clock_now
from ..currencies import exponent
from ..extensions import db
from ..gateways.test import CardRejected, tokenize_test_card
from ..models import Client
from . import links

bp = Blueprint("cardupdate", __name__)


def _csrf(link_id: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"card-update:{link_id}".encode(), hashlib.sha256).hexdigest()


def _page(template: str, status: int, client: Client | None = None, **context):
    nonce = secrets.token_urlsafe(16)
    brand = {
        "name": (client.brand_name or client.name) if client else "Payment details",
        "logo": client.brand_logo_url if client and (client.brand_logo_url or "").startswith("https://")
        else None,
        "color": (client.brand_primary_color if client else None) or "#6366f1",
    }
    response = current_app.make_response(
        (render_template(f"cardupdate/{template}", brand=brand, nonce=nonce, **context), status)
    )
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src https: data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _amount(recovery) -> str | None:
    if recovery is None:
        return None
    digits = exponent(recovery.currency)
    return f"{recovery.amount / 10**digits:,.{digits}f} {recovery.currency}"


@bp.route("/api/recovery/update-card/<token>", methods=["GET", "POST"])
def card_update_page(token: str):
    host_client = links.client_for_host(request.host)
    link = links.find(token) if host_client else None
    if link is None or (host_client is not True and host_client.id != link.client_id):
        return _page("gone.html", 404, reason="missing")
    client = db.session.get(Client, link.client_id)
    if not links.usable(link, clock_now()):
        return _page("gone.html", 410, client, reason="used" if link.used_at else "expired")
    if client.gateway != "test":
        # Stripe Elements / Braintree Hosted Fields pages come with the dunning work; until then
        # nothing that would take card details is shown for live gateways.
        return _page("gone.html", 404, client, reason="unavailable")

    error = None
    if request.method == "POST":
        if not hmac.compare_digest(request.form.get("csrf", ""), _csrf(link.id)):
            return _page("form.html", 400, client, error="This form has expired. Please reload the page.",
                         csrf=_csrf(link.id))
        try:
            new_token, brand, last4 = tokenize_test_card(
                request.form.get("number", ""), request.form.get("expiry", ""),
                request.form.get("cvc", ""), clock_now().date(),
            )
        except CardRejected as exc:
            error = str(exc)
        else:
            try:
                done = links.complete(link, new_token, brand, last4)
            except links.LinkUnusable:
                return _page("gone.html", 410, client, reason="used")
            return _page("done.html", 200, client, brand_name=brand, last4=last4,
                         kind=done.kind, amount=_amount(done.recovery))
    return _page("form.html", 400 if error else 200, client, error=error, csrf=_csrf(link.id))
