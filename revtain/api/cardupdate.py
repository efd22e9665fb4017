"""``POST /api/recovery/update-card/generate`` (contract 3.5): a single-use, 72-hour link."""

from __future__ import annotations

from flask import jsonify

from ..cardupdate import links
from ..clock import iso
from . import bp
from .auth import current_client, require_api_key
from .errors import parse_json_body, validate
from .operations import Reply, documented
from .schemas import CardUpdateLinkRequest, CardUpdateLinkResult


@bp.post("/recovery/update-card/generate")
@documented(
    "generateCardUpdateLink", "A link where the customer updates their card", tags=("Card updates",),
    description="Single use, valid for 72 hours, on your cardUpdateDomain when it is verified. When the "
    "customer completes it, a card.updated webhook carries the old and new tokens. A token Revtain has "
    "never seen is fine.",
    body=CardUpdateLinkRequest, examples={"card": {"paymentMethodToken": "pm_1234567890"}},
    responses={201: Reply("The link", body=CardUpdateLinkResult, example={
        "url": "https://pay.yourdomain.com/api/recovery/update-card/abc123xyz",
        "token": "abc123xyz", "expiresAt": "2026-04-23T14:30:00.000Z"})},
)
@require_api_key
def generate_card_update_link():
    body = validate(CardUpdateLinkRequest, parse_json_body())
    client = current_client()
    link, token = links.generate(client, body.paymentMethodToken)
    return jsonify(
        {"url": links.link_url(client, token), "token": token, "expiresAt": iso(link.expires_at)}
    ), 201
