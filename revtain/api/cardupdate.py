"""``POST /api/recovery/update-card/generate`` (contract 3.5): a single-use, 72-hour link."""

from __future__ import annotations

from flask import jsonify

from ..cardupdate import links
from ..clock import iso
from . import bp
from .auth import current_client, require_api_key
from .errors import parse_json_body, validate
from .schemas import CardUpdateLinkRequest


@bp.post("/recovery/update-card/generate")
@require_api_key
def generate_card_update_link():
    body = validate(CardUpdateLinkRequest, parse_json_body())
    client = current_client()
    link, token = links.generate(client, body.paymentMethodToken)
    return jsonify(
        {"url": links.link_url(client, token), "token": token, "expiresAt": iso(link.expires_at)}
    ), 201
