"""``POST /api/recovery/tokenize`` (contract 3.11): test cards in, a token out, 10 a minute per key.

The card's number and security code are only ever in this request: they are not logged (error
messages name the field, never its value) and not stored.
"""

from __future__ import annotations

from flask import jsonify

from ..gateways.test import TEST_CARDS
from ..recovery.tokenize import CardRejected, TokenizeUnavailable, tokenize
from . import bp
from .auth import current_client, require_api_key
from .errors import ApiError, parse_json_body, validate, validation_error
from .operations import Reply, documented, rate_limited
from .ratelimit import tokenize_limit
from .schemas import Error, TokenizeRequest, TokenizeResult

UNAVAILABLE = "Tokenization is not available for this gateway."


def _grouped(number: str) -> str:
    """As printed on the card: 4-6-5 for 15 digits (American Express), else groups of four."""
    if len(number) == 15:
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


TEST_CARD_LIST = ", ".join(_grouped(number) for number in TEST_CARDS)
# What the API says for each way the test gateway turns a card down: (field, problem).
PROBLEMS = {
    ("number", "invalid"): ("cardNumber", "is not a valid card number (12 to 19 digits, Luhn check)"),
    ("number", "not_a_test_card"): ("cardNumber", f"is not a test card; use {TEST_CARD_LIST}"),
    ("expiry", "invalid_month"): ("expMonth", "must be 1 to 12"),
    ("expiry", "invalid_year"): ("expYear", "must be 2 or 4 digits"),
    ("expiry", "expired"): ("expYear", "the card has expired"),
    ("cvc", "invalid"): ("cvc", "must be 3 digits (4 for American Express)"),
}


@bp.post("/recovery/tokenize")
@documented(
    "tokenizeTestCard", "A test card in, a payment method token out", tags=("Test mode",),
    description="Revtain Test Gateway only: live gateways collect cards with their own fields. Nothing of "
    "the card is stored but its brand, BIN and last four. 10 requests a minute per key.",
    body=TokenizeRequest,
    examples={"visa": {"cardNumber": "4111 1111 1111 1111", "expMonth": "12", "expYear": "2030",
                       "cvc": "123"}},
    responses={
        200: Reply("The token, for execute's paymentMethodToken", body=TokenizeResult, example={
            "success": True, "paymentMethodToken": "tok_test_visa_1111", "brand": "visa", "last4": "1111"}),
        400: Reply("Not a test card, bad card data, or a live gateway", body=Error,
                   example={"error": UNAVAILABLE, "message": str(TokenizeUnavailable("stripe"))}),
        429: rate_limited("Rate limit exceeded",
                          "Too many tokenize requests. Rate limit: 10 requests per minute per API key."),
    },
)
@require_api_key
@tokenize_limit()
def tokenize_card():
    client = current_client()
    if not client.is_test_gateway:  # before reading the body: a live client's card is never looked at
        raise ApiError(400, {"error": UNAVAILABLE, "message": str(TokenizeUnavailable(client.gateway))})
    body = validate(TokenizeRequest, parse_json_body())
    try:
        card = tokenize(client, body.cardNumber, body.expMonth, body.expYear, body.cvc)
    except CardRejected as exc:
        field, problem = PROBLEMS[(exc.field, exc.reason)]
        raise validation_error({field: problem}) from None
    return jsonify(
        {"success": True, "paymentMethodToken": card.token, "brand": card.brand, "last4": card.last4}
    )
