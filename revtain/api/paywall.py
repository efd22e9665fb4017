"""The in-app paywall (contract 3.7, 3.8): the customer's past-due status, and the snippet that asks.

``GET /api/recovery/paywall-status`` takes the publishable key (``rev_pk_…``, the one key a browser
may hold) or the secret key, 120 requests a minute per key, and is open to any origin: the snippet
calls it from the merchant's own app. ``GET /revtain-paywall.js`` serves the snippet itself.
"""

from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify, request, send_from_directory

from ..clock import iso
from ..recovery import paywall
from . import bp
from .auth import current_client, require_api_key
from .cors import open_to_browsers
from .errors import validate
from .operations import Reply, documented, rate_limited
from .ratelimit import paywall_limit
from .schemas import PaywallQuery, PaywallStatus

STATUS_PATH = "/api/recovery/paywall-status"
SNIPPET = "revtain-paywall.js"
SNIPPET_MAX_AGE = 300  # seconds: a fixed snippet reaches every merchant's app within minutes

open_to_browsers({"api.paywall_status"}, (STATUS_PATH,), allow_headers="X-API-KEY")

snippet_bp = Blueprint("paywall_snippet", __name__)


@bp.get("/recovery/paywall-status")
@documented(
    "getPaywallStatus", "Whether a customer is past due", tags=("Paywall",),
    description="Takes the publishable key (rev_pk_…) or the secret key; open to any origin (the paywall "
    "snippet, /revtain-paywall.js, calls it from your app). 120 requests a minute per key.",
    query=PaywallQuery,
    responses={
        200: Reply("The customer's unrecovered failed payments", body=PaywallStatus, example={
            "isPastDue": True, "totalOwedCents": 4900, "currency": "USD", "failedPaymentCount": 1,
            "oldestFailureAt": "2026-05-14T09:12:00.000Z"}),
        429: rate_limited(
            "Rate limit exceeded",
            "Too many paywall status requests. Rate limit: 120 requests per minute per API key."),
    },
)
@require_api_key(allow_publishable=True)
@paywall_limit()
def paywall_status():
    query = validate(PaywallQuery, request.args.to_dict())
    status = paywall.paywall_status(current_client().id, query.customerEmail)
    response = jsonify(
        {
            "isPastDue": status.is_past_due,
            "totalOwedCents": status.total_owed_cents,
            "currency": status.currency,
            "failedPaymentCount": status.failed_payment_count,
            "oldestFailureAt": iso(status.oldest_failure_at),
        }
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@snippet_bp.get(f"/{SNIPPET}")
def paywall_snippet():
    response = send_from_directory(
        os.path.join(current_app.root_path, "static"),
        SNIPPET,
        mimetype="application/javascript",
        max_age=SNIPPET_MAX_AGE,
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
