"""The customer-facing endpoints of dunning emails: unsubscribe, the tracked click, the open pixel.

Unsubscribe (RFC 8058): ``GET`` shows a page with a button (a link scanner that follows the link
unsubscribes nobody); ``POST`` (the button, or the mail app's one-click ``List-Unsubscribe=One-Click``)
records it and cancels the customer's pending emails. The signed link is the credential: no
session, no CSRF token (a mail app cannot have one).
"""

from __future__ import annotations

import base64
import secrets

from flask import Blueprint, current_app, redirect, render_template, request
from sqlalchemy import update

from ..api.doc_models import EmailLinkPath
from ..api.operations import Reply, documented
from ..cardupdate import links as card_links
from ..clock import now as clock_now
from ..extensions import db
from ..models import Client
from ..models.dunning import Message
from . import links, optout

bp = Blueprint("dunning_public", __name__)

# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _page(state: str, status: int, merchant: str = "", email: str = ""):
    nonce = secrets.token_urlsafe(16)
    response = current_app.make_response(
        (render_template("dunning/unsubscribe.html", state=state, merchant=merchant, email=email,
                         nonce=nonce), status)
    )
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


_PAGE = {"type": "string", "description": "An HTML page"}
_GONE = Reply("Not a link Revtain made, or its merchant is gone: a friendly page", body=_PAGE,
              media_type="text/html")


@bp.route("/api/dunning/unsubscribe/<token>", methods=["GET", "POST"])
@documented(
    "showUnsubscribePage", "Unsubscribe from a merchant's dunning emails: the page", method="GET",
    tags=("Dunning emails",), path=EmailLinkPath, security=(),
    description="A page with a button: a link scanner that follows the link unsubscribes nobody.",
    responses={200: Reply("The page", body=_PAGE, media_type="text/html"), 404: _GONE},
)
@documented(
    "unsubscribe", "Unsubscribe (the page's button, or the mail app's one-click, RFC 8058)", method="POST",
    tags=("Dunning emails",), path=EmailLinkPath, security=(), body={"type": "object"},
    body_media_types=("application/x-www-form-urlencoded",),
    description="Records the opt-out and cancels the customer's pending emails from this merchant.",
    responses={200: Reply("Done, as a page", body=_PAGE, media_type="text/html"), 404: _GONE},
)
def unsubscribe(token: str):
    found = links.read_unsubscribe(token)
    client = db.session.get(Client, found[0]) if found else None
    if client is None:
        return _page("gone", 404)
    email = found[1]
    merchant = client.brand_name or client.name
    if request.method == "GET":
        return _page("ask", 200, merchant, email)
    optout.unsubscribe(client.id, email, clock_now())
    return _page("done", 200, merchant, email)


@bp.get("/api/dunning/click/<token>")
@documented(
    "followEmailLink", "A dunning email's card-update link, counted", tags=("Dunning emails",),
    path=EmailLinkPath, security=(),
    responses={302: Reply("To the card-update page", headers={"Location": "The card-update link"}),
               404: _GONE},
)
def click(token: str):
    """Count the click on the message, then on to the card-update page."""
    found = links.read_click(token)
    message = db.session.get(Message, found[0]) if found else None
    if message is None:
        return _page("gone", 404)
    now = clock_now()
    db.session.execute(
        update(Message).where(Message.id == message.id)
        .values(clicks=Message.clicks + 1, clicked_at=db.func.coalesce(Message.clicked_at, now))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    client = db.session.get(Client, message.client_id)
    response = redirect(card_links.link_url(client, found[1]), 302)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/dunning/open/<token>")
@documented(
    "emailOpened", "A dunning email's open pixel", tags=("Dunning emails",), path=EmailLinkPath,
    security=(), description="Recorded only while the merchant allows open tracking.",
    responses={200: Reply("A transparent 1x1 GIF, whatever the token", body={"type": "string",
                          "contentMediaType": "image/gif"}, media_type="image/gif")},
)
def opened(token: str):
    message_id = links.read_open(token)
    message = db.session.get(Message, message_id) if message_id else None
    if message is not None and message.opened_at is None:
        client = db.session.get(Client, message.client_id)
        if client.email_open_tracking:  # only while the merchant allows the pixel
            message.opened_at = clock_now()
            db.session.commit()
    response = current_app.make_response(PIXEL)
    response.mimetype = "image/gif"
    response.headers["Cache-Control"] = "no-store"
    return response
