"""The branded card-update page, on the merchant's own domain (a CNAME to Revtain) or the main host.

Served only for the main host or a client's *verified* ``cardUpdateDomain``, and only for that
client's links. The page sends a strict Content-Security-Policy, no referrer (the URL holds the
token), and is never cached. The test gateway's plain form runs no script at all; the Stripe and
Braintree pages (``gateway_form``) allow only the gateway's documented hosts and, for our own
inline script, a per-response nonce.

A connector's recovery (``source``) is the billing platform's card: ``platform_form`` collects it
with the platform account's keys (Stripe Billing, Braintree), or the page offers a "Continue" link
(a GET, so ``form-action`` stays ``'self'``) that redirects to the platform's own hosted page
(Chargebee, Recurly).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import gettext as _

from ..api.doc_models import CardUpdatePath
from ..api.operations import Reply, documented
from ..clock import now as clock_now
from ..extensions import db, limiter
from ..gateways.card_setup import CardForm, CardRefused, CardSetupUnsupported, GatewayUnreachable
from ..gateways.test import CardRejected, tokenize_test_card
from ..i18n import use_language
from ..models import CardUpdateLink, Client, Recovery
from ..recovery.new_card import platform_retries
from . import (
    authentication,
    card_input,
    confirm_gateway,
    confirm_page,
    gateway_form,
    links,
    opens,
    platform_form,
)
from .render import csrf_ok as _csrf_ok
from .render import csrf_token as _csrf
from .render import due, page, today_text

bp = Blueprint("cardupdate", __name__)
# The "confirm this payment" page of each gateway (3-D Secure).
CONFIRM_VIEWS = {"test": confirm_page.confirm_view, "stripe": confirm_gateway.confirm_view,
                 "braintree": confirm_gateway.confirm_view}
log = logging.getLogger(__name__)


def _expired_form() -> str:
    return _("This form has expired. Please reload the page.")


def _page(template: str, status: int, client: Client | None = None, *, csp=None, **context):
    return page(template, status, client, sources=csp, **context)


def _usable_link(token: str):
    """The link's client and the link, or the friendly page saying why not (404, 410)."""
    host_client = links.client_for_host(request.host)
    link = links.find(token) if host_client else None
    if link is None or (host_client is not True and host_client.id != link.client_id):
        return _page("gone.html", 404, reason="missing")
    client = db.session.get(Client, link.client_id)
    if not links.usable(link, clock_now()):
        return _page("gone.html", 410, client, recovery=links.card_recovery(link),
                     reason="used" if link.used_at else "expired")
    return client, link


def _guess_limit() -> str:
    return current_app.config["CARD_UPDATE_GUESS_RATE_LIMIT"]


def _too_many_guesses(request_limit):
    response = _page("gone.html", 429, reason="wait")
    response.headers["Retry-After"] = str(request_limit.limit.get_expiry())
    return response


# Links that do not exist (404) count per client IP, so nobody can try tokens at speed; a real
# link, used or expired, costs nothing. A 256-bit token cannot be guessed anyway: defence in depth.
guesses = limiter.shared_limit(
    _guess_limit, scope="card-update-guesses", key_func=lambda: f"ip:{request.remote_addr}",
    deduct_when=lambda response: response.status_code == 404, on_breach=_too_many_guesses,
)


_PAGE = {"type": "string", "description": "An HTML page"}
_GONE = {404: Reply("No such link (or not on this host): a friendly page", body=_PAGE,
                    media_type="text/html"),
         410: Reply("Used or expired: a friendly page", body=_PAGE, media_type="text/html"),
         429: Reply("Too many requests for links that do not exist from this address", body=_PAGE,
                    media_type="text/html", headers={"Retry-After": "Seconds to wait"})}


@bp.route("/api/recovery/update-card/<token>", methods=["GET", "POST"])
@documented(
    "showCardUpdatePage", "The hosted card-update page (for the customer, not an API call)", method="GET",
    tags=("Card updates",), path=CardUpdatePath, security=(),
    description="The URL from update-card/generate: a page with the merchant's brand where the customer "
    "enters a new card, straight into the gateway's own fields.",
    responses={200: Reply("The page", body=_PAGE, media_type="text/html"), **_GONE},
)
@documented(
    "submitCardUpdatePage", "The card-update page's form (sent by the page itself)", method="POST",
    tags=("Card updates",), path=CardUpdatePath, security=(), body={"type": "object"},
    body_media_types=("application/x-www-form-urlencoded",),
    responses={200: Reply("Done, or the form again with what to fix", body=_PAGE, media_type="text/html"),
               **_GONE},
)
@guesses
def card_update_page(token: str):
    found = _usable_link(token)
    if not isinstance(found, tuple):
        return found
    client, link = found
    if request.method == "GET":
        opens.note_opened(link)
    recovery = links.card_recovery(link)
    _speak(recovery)
    if _confirms(client, recovery) and not request.args.get("card"):
        return CONFIRM_VIEWS[client.gateway](client, link, recovery, token)
    if recovery is not None and recovery.source:
        return _platform_page(client, link, recovery, token)
    if client.gateway != "test":
        return _gateway_page(client, link, client.gateway,
                             lambda: gateway_form.open_form(client, link),
                             lambda proof: gateway_form.submit(client, link, proof), recovery=recovery)
    return _test_gateway_page(client, link, recovery)


def _speak(recovery: Recovery | None) -> None:
    """Messages made before the page is drawn (field errors) are in the customer's language too."""
    use_language(recovery.customer_locale if recovery is not None else None)


def _confirms(client: Client, recovery: Recovery | None) -> bool:
    """The link asks the customer to confirm the payment (3-D Secure) rather than for a card: the
    Revtain Test Gateway's challenge is served here; Stripe's and Braintree's run in their SDKs."""
    return (client.gateway in CONFIRM_VIEWS and authentication.needs_authentication(recovery)
            and not recovery.source)  # a billing platform's card is confirmed on the platform's side


@bp.route("/api/recovery/update-card/<token>/confirm", methods=["GET", "POST"])
@documented(
    "showPaymentConfirmation", "The payment confirmation (3-D Secure) page, for the customer", method="GET",
    tags=("Card updates",), path=CardUpdatePath, security=(),
    description="Revtain Test Gateway: where a link whose payment needs the customer's authentication "
    "asks them to confirm it.",
    responses={200: Reply("The page", body=_PAGE, media_type="text/html"), **_GONE},
)
@documented(
    "submitPaymentConfirmation", "The confirmation page's answer (sent by the page itself)", method="POST",
    tags=("Card updates",), path=CardUpdatePath, security=(), body={"type": "object"},
    body_media_types=("application/x-www-form-urlencoded",),
    responses={200: Reply("The outcome, as a page", body=_PAGE, media_type="text/html"), **_GONE},
)
@guesses
def confirm_payment(token: str):
    found = _usable_link(token)
    if not isinstance(found, tuple):
        return found
    client, link = found
    recovery = links.card_recovery(link)
    _speak(recovery)
    if not _confirms(client, recovery):
        return _page("gone.html", 404, client, recovery=recovery, reason="unavailable")
    return CONFIRM_VIEWS[client.gateway](client, link, recovery, token)


@bp.get("/api/recovery/update-card/<token>/continue")
@documented(
    "continueToPlatformCardPage", "From the card-update page to the billing platform's own card page",
    tags=("Card updates",), path=CardUpdatePath, security=(),
    description="For a connector's recovery on Chargebee or Recurly: the page's Continue link.",
    responses={303: Reply("To the platform's hosted page for this customer",
                          headers={"Location": "The platform's page"}),
               503: Reply("The platform is not answering; the link stays usable", body=_PAGE,
                          media_type="text/html"), **_GONE},
)
@guesses
def card_update_continue(token: str):
    """To the billing platform's own card page (Chargebee, Recurly): a 303 to the URL the platform
    gives for this customer now. The link stays usable (the platform tells the connector when the
    card changed); the URL is never logged (Recurly's logs the customer in)."""
    found = _usable_link(token)
    if not isinstance(found, tuple):
        return found
    client, link = found
    recovery = links.card_recovery(link)
    if recovery is None or platform_form.page_kind(recovery) != "hosted":
        return _page("gone.html", 404, client, reason="unavailable")
    try:
        url = platform_form.hosted_page_url(client, recovery)
    except (CardSetupUnsupported, GatewayUnreachable) as exc:
        return _unservable(client, link, exc)
    response = redirect(url, 303)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _unservable(client: Client, link: CardUpdateLink, exc: Exception):
    """The page for a gateway or platform that cannot serve this card now: "unavailable" (404) when
    it cannot at all, "try again" (503, the link stays usable) when it is not answering."""
    if isinstance(exc, GatewayUnreachable):
        log.warning("card update link %s: %s", link.id, exc)
        return _page("gone.html", 503, client, reason="retry")
    log.info("card update link %s cannot be served: %s", link.id, exc)
    return _page("gone.html", 404, client, reason="unavailable")


def _done(client: Client, done: links.Completed):
    """A receipt: the card saved and what happened to the payment."""
    recovery = done.recovery
    return _page("done.html", 200, client, recovery=recovery, brand_name=done.link.new_card_brand,
                 last4=done.link.new_card_last4, kind=done.kind,
                 paid=due(recovery, unpaid_only=False) if recovery is not None else None,
                 reference=(recovery.gateway_transaction_id or recovery.id) if recovery is not None else None,
                 date=today_text(clock_now()))


def _platform_page(client: Client, link: CardUpdateLink, recovery: Recovery, token: str):
    """A billing platform's card: its keys drive the gateway fields, or its own hosted page."""
    kind = platform_form.page_kind(recovery)
    if kind == "hosted":
        if not platform_form.hosted_page_offered(client, recovery):
            log.info("card update link %s cannot be served: %s has no page for it", link.id, recovery.source)
            return _page("gone.html", 404, client, reason="unavailable")
        # Nothing is posted here: the card is entered on the platform's page ("Continue").
        response = _page("hosted.html", 405 if request.method == "POST" else 200, client,
                         recovery=recovery, platform=platform_form.LABELS.get(recovery.source),
                         due=due(recovery),
                         continue_url=url_for("cardupdate.card_update_continue", token=token))
        if request.method == "POST":
            response.headers["Allow"] = "GET, HEAD"
        return response
    if kind is None:
        log.info("card update link %s cannot be served: no page for %s", link.id, recovery.source)
        return _page("gone.html", 404, client, reason="unavailable")
    return _gateway_page(client, link, kind,
                         lambda: platform_form.open_form(client, link, recovery),
                         lambda proof: platform_form.submit(client, link, recovery, proof),
                         recovery=recovery, platform_retries=platform_retries(recovery))


def _gateway_page(client: Client, link: CardUpdateLink, kind: str, open_form: Callable[[], CardForm],
                  submit: Callable[[str], links.Completed], recovery: Recovery | None = None,
                  **context):
    """Stripe Elements or Braintree Hosted Fields (``kind``); a POST carries the gateway's proof."""
    error = None
    if request.method == "POST":
        proof = request.form.get(gateway_form.PROOF_FIELDS.get(kind, ""), "")
        if not _csrf_ok(link):
            error = _expired_form()
        else:
            try:
                return _done(client, submit(proof))
            except CardRefused as exc:
                error = str(exc)
            except links.LinkUnusable:
                return _page("gone.html", 410, client, recovery=recovery, reason="used")
            except (CardSetupUnsupported, GatewayUnreachable) as exc:
                return _unservable(client, link, exc)
    try:
        form = open_form()
    except (CardSetupUnsupported, GatewayUnreachable) as exc:
        return _unservable(client, link, exc)
    return _page(f"{form.kind}.html", 400 if error else 200, client, csp=form.csp, error=error,
                 csrf=_csrf(link.id), scripts=form.scripts, setup=form.data, recovery=recovery,
                 due=due(recovery), proof_field=gateway_form.PROOF_FIELDS[form.kind], **context)


def _test_gateway_page(client: Client, link: CardUpdateLink, recovery: Recovery | None):
    """The test gateway's plain form for the documented test cards. It works without script;
    ``card-page.js`` only adds brand detection and spacing. A refused field is marked next to
    itself and what was typed stays (except the security code)."""
    typed = {name: request.form.get(name, "")[:64] for name in card_input.FIELDS}
    errors: list[card_input.FieldError] = []
    error = None
    if request.method == "POST":
        if not _csrf_ok(link):
            error = _expired_form()
        else:
            errors = card_input.missing(**typed)
        if error is None and not errors:
            try:
                new_token, brand, last4 = tokenize_test_card(
                    typed["number"], card_input.normal_expiry(typed["expiry"]), typed["cvc"].strip(),
                    clock_now().date(),
                )
            except CardRejected as exc:
                errors = [card_input.field_error(exc)]
            else:
                try:
                    return _done(client, links.complete(link, new_token, brand, last4))
                except links.LinkUnusable:
                    return _page("gone.html", 410, client, recovery=recovery, reason="used")
    typed["cvc"] = ""  # never sent back
    failed = bool(error or errors)
    return _page("form.html", 400 if failed else 200, client, recovery=recovery, error=error,
                 errors={e.field: e.message for e in errors}, typed=typed, csrf=_csrf(link.id),
                 due=due(recovery), script=True)
