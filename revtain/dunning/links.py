"""The links a dunning email carries besides the card-update link: unsubscribe (``List-Unsubscribe``
and the footer), the tracked click and the open pixel.

Each is a signed value (``itsdangerous``, the app's secret key, one salt per purpose), so nothing
is stored to make them and nobody can forge one for another customer or message. The tracked click
carries the card-update token it redirects to: it is as secret as that link (which the email
holds anyway), and the redirect only ever goes to our own card-update URL.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

UNSUBSCRIBE_PATH = "/api/dunning/unsubscribe/"
CLICK_PATH = "/api/dunning/click/"
OPEN_PATH = "/api/dunning/open/"


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"revtain.dunning.{purpose}")


def _base(client) -> str:
    """The merchant's verified card-update domain, like its card-update links (the customer sees
    only the merchant's host), else Revtain's public URL."""
    if client.card_update_domain and client.card_update_domain_verified_at:
        return f"https://{client.card_update_domain}"
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def unsubscribe_url(client, email: str) -> str:
    return _base(client) + UNSUBSCRIBE_PATH + _serializer("unsubscribe").dumps([client.id, email.lower()])


def read_unsubscribe(token: str) -> tuple[str, str] | None:
    """(client id, email) of a genuine unsubscribe link, else None."""
    try:
        client_id, email = _serializer("unsubscribe").loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return str(client_id), str(email)


def click_url(client, message_id: str, card_update_token: str) -> str:
    return _base(client) + CLICK_PATH + _serializer("click").dumps([message_id, card_update_token])


def read_click(token: str) -> tuple[str, str] | None:
    try:
        message_id, card_token = _serializer("click").loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return str(message_id), str(card_token)


def open_pixel_url(client, message_id: str) -> str:
    return _base(client) + OPEN_PATH + _serializer("open").dumps(message_id) + ".gif"


def read_open(token: str) -> str | None:
    try:
        return str(_serializer("open").loads(token.removesuffix(".gif")))
    except (BadSignature, ValueError, TypeError):
        return None
