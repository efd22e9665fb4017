"""``POST /api/recovery/pulse``: log an organic success (contract 3.4)."""

from __future__ import annotations

from flask import jsonify

from ..recovery.pulse import log_organic_success
from . import bp
from .auth import current_client, require_api_key
from .errors import parse_json_body, validate
from .schemas import PulseRequest


@bp.post("/recovery/pulse")
@require_api_key
def pulse():
    body = validate(PulseRequest, parse_json_body())
    success = log_organic_success(
        current_client(), body.amount, body.currency or "USD", body.transactionId, body.customerEmail
    )
    return jsonify(
        {"success": True, "message": "Organic success logged", "transactionId": success.transaction_id}
    )
