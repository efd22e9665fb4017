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


@bp.route("/api/dunning/unsubscribe/<token>", methods=["GET", "POST"])
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
