"""Developer tools (contract 3.12): what a gateway's decline code means, the whole decline dictionary,
and what a card's BIN says (network, type, issuer, issuing country; data from ``engine/bins.py``).

Public: no API key, CORS open to any origin (preflight answered), one fair-use rate limit per client IP
shared by all of them (``LOOKUP_RATE_LIMIT``, default 300 per minute).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address

from ..engine import bins, declines
from ..extensions import limiter
from . import bp
from .cors import open_to_browsers
from .doc_models import BinPath, DeclinePath, DeclinesQuery
from .errors import validation_error
from .operations import Reply, documented, rate_limited
from .schemas import BinLookup, DeclineDictionaryEntry, DeclineLookup, Error

DEFAULT_RATE_LIMIT = "300 per minute"
MAX_CODE_LENGTH = 64
DECLINE_PATH = "/api/lookup/decline/"
DICTIONARY_PATH = "/api/lookup/declines"
BIN_PATH = "/api/lookup/bin/"
ENDPOINTS = frozenset({"api.lookup_decline", "api.decline_dictionary", "api.lookup_bin"})
# The documented values of cardNetwork; a network outside them (JCB, UnionPay, ...) is "unknown",
# and the data set's own name for it is in cardScheme.
DOCUMENTED_NETWORKS = ("visa", "mastercard", "amex", "discover")
UNKNOWN = "Unknown"
EXPOSED_HEADERS = (
    "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Revtain-Catalogue-Version"
)


def _rate_limit() -> str:
    return current_app.config.get("LOOKUP_RATE_LIMIT") or DEFAULT_RATE_LIMIT


def _per(seconds: int) -> str:
    return "minute" if seconds == 60 else f"{seconds} seconds"


def _too_many(request_limit: RequestLimit) -> Response:
    item = request_limit.limit
    seconds = item.get_expiry()
    response = jsonify(
        {
            "error": f"Too many lookup requests. Rate limit: {item.amount} requests per {_per(seconds)} "
            "per IP address.",
            "retryAfter": f"{seconds} seconds",
        }
    )
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return response


fair_use = limiter.shared_limit(
    _rate_limit, scope="lookup", key_func=get_remote_address, on_breach=_too_many, methods=["GET", "HEAD"]
)


open_to_browsers(ENDPOINTS, (DECLINE_PATH, DICTIONARY_PATH, BIN_PATH), expose_headers=EXPOSED_HEADERS)


def _gateway(value: str) -> str:
    """Exactly one of the documented names (as the OpenAPI enum says): no case folding, no aliases."""
    known = declines.gateways()
    if value not in known:
        raise validation_error({"gateway": f"must be one of: {', '.join(known)}"})
    return value


def _json(body: Any) -> Response:
    response = jsonify(body)
    response.headers["X-Revtain-Catalogue-Version"] = str(declines.version())
    return response


def _replies(ok: Reply, bad: str) -> dict[int, Reply]:
    """The developer tools are public (no API key) and rate-limited per IP for fair use."""
    return {
        200: ok,
        400: Reply(bad, body=Error),
        429: rate_limited("Fair-use rate limit exceeded",
                          "Too many lookup requests. Rate limit: 300 requests per minute per IP address."),
    }


_EXAMPLE = {"gateway": "stripe", "gatewayLabel": "Stripe", "rawCode": "do_not_honor",
            "canonicalCode": "do_not_honor", "category": "soft",
            "plainEnglish": "The issuer declined without a specific reason. A later retry often succeeds."}


@bp.get("/lookup/decline/<gateway>/<path:code>", merge_slashes=False)
@documented(
    "lookupDeclineCode", "What a gateway's decline code means", tags=("Developer tools",), path=DeclinePath,
    description="Public, CORS open. An unrecognised code answers 200 with canonicalCode \"unknown\".",
    responses={**_replies(Reply('The code; canonicalCode is "unknown" when unrecognised', body=DeclineLookup,
                                example={**_EXAMPLE, "variantsOnOtherGateways": [
                                    {"gateway": "braintree", "gatewayLabel": "Braintree",
                                     "rawCode": "2000"}]}),
                          "Unknown gateway, or a code that is too long"),
               404: Reply("No such path", body=Error)},
)
@fair_use
def lookup_decline(gateway: str, code: str):
    name = _gateway(gateway)
    if len(code) > MAX_CODE_LENGTH:
        raise validation_error({"code": f"must be at most {MAX_CODE_LENGTH} characters"})
    entry = declines.lookup(name, code)
    variants = declines.variants(entry.canonical_code, exclude_gateway=name) if entry.known else ()
    return _json(
        {
            "gateway": name,
            "gatewayLabel": entry.gateway_label,
            "rawCode": entry.raw_code,
            "canonicalCode": entry.canonical_code,
            "category": entry.category,
            "plainEnglish": entry.plain_english,
            "variantsOnOtherGateways": [
                {"gateway": v.gateway, "gatewayLabel": v.gateway_label, "rawCode": v.raw_code}
                for v in variants
            ],
        }
    )


@bp.get("/lookup/declines")
@documented(
    "listDeclineCodes", "The full decline code dictionary", tags=("Developer tools",), query=DeclinesQuery,
    description="Public, CORS open: every raw code of every gateway (or of one gateway).",
    responses={**_replies(Reply("Every raw code of every gateway (or of one gateway)",
                                body=list[DeclineDictionaryEntry]), "Unknown gateway"),
               404: Reply("No such path", body=Error)},
)
@fair_use
def decline_dictionary():
    values = request.args.getlist("gateway")
    if len(values) > 1:
        raise validation_error({"gateway": "may be given once"})
    entries = declines.all_entries(_gateway(values[0]) if values else None)
    return _json(
        [
            {
                "gateway": e.gateway,
                "gatewayLabel": e.gateway_label,
                "rawCode": e.raw_code,
                "description": e.description,
                "canonicalCode": e.canonical_code,
                "category": e.category,
                "family": e.family,
                "recommendedAction": e.recommended_action,
                "neverRetry": e.never_retry,
                "plainEnglish": e.plain_english,
            }
            for e in entries
        ]
    )


@bp.get("/lookup/bin/<path:prefix>", merge_slashes=False)
@documented(
    "lookupBin", "What a card's BIN says: network, type, issuer, country", tags=("Developer tools",),
    path=BinPath, description="Public, CORS open; from the BIN data shipped with Revtain.",
    responses=_replies(Reply('The BIN; "Unknown" / "unknown" where not identifiable', body=BinLookup,
                             example={
        "prefix": "424242", "issuerName": "Unknown", "issuerCountry": "US", "cardNetwork": "visa",
        "cardType": "unknown", "cardScheme": "visa"}), "The prefix is not 4 to 8 digits"),
)
@fair_use
def lookup_bin(prefix: str):
    try:
        info = bins.lookup(prefix)
    except ValueError:
        raise validation_error({"prefix": "must be 4 to 8 digits (the card number's first digits)"}) from None
    response = jsonify(
        {
            "prefix": info.prefix,
            "issuerName": info.issuer_name or UNKNOWN,
            "issuerCountry": info.issuer_country or UNKNOWN,
            "cardNetwork": info.card_network if info.card_network in DOCUMENTED_NETWORKS else "unknown",
            "cardType": info.card_type,
            "cardScheme": info.scheme,
        }
    )
    response.headers["Cache-Control"] = "public, max-age=86400"  # the shipped table changes with releases
    return response
