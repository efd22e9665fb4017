"""``POST /api/recovery/pulse``: log an organic success (contract 3.4)."""

from __future__ import annotations

from flask import jsonify

from ..recovery.pulse import log_organic_success
from . import bp
from .auth import current_client, require_api_key
from .errors import parse_json_body, validate
from .operations import Reply, documented
from .schemas import PulseRequest, PulseResult


@bp.post("/recovery/pulse")
@documented(
    "logOrganicSuccess", "Log a payment that succeeded first time", tags=("Recovery",),
    description="Organic successes are the baseline of the lift in the monthly report. Your transactionId "
    "is echoed (one is generated without it); with customerEmail, it settles that customer's earlier "
    "failed payments for the paywall.",
    body=PulseRequest,
    examples={"organic": {"amount": 5000, "currency": "USD", "transactionId": "your_internal_tx_id_123"}},
    responses={200: Reply("Logged", body=PulseResult, example={
        "success": True, "message": "Organic success logged", "transactionId": "your_internal_tx_id_123"})},
)
@require_api_key
def pulse():
    body = validate(PulseRequest, parse_json_body())
    success = log_organic_success(
        current_client(), body.amount, body.currency or "USD", body.transactionId, body.customerEmail
    )
    return jsonify(
        {"success": True, "message": "Organic success logged", "transactionId": success.transaction_id}
    )
