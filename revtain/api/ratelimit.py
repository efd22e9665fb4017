"""Per-key rate limits with Flask-Limiter in Redis, answering with the documented 429 body."""

from __future__ import annotations

from flask import current_app, jsonify
from flask_limiter import RequestLimit

from ..extensions import limiter, rate_limit_key


def _per(seconds: int) -> str:
    return "minute" if seconds == 60 else f"{seconds} seconds"


def _too_many(noun: str):
    def on_breach(request_limit: RequestLimit):
        item = request_limit.limit
        seconds = item.get_expiry()
        response = jsonify(
            {
                "error": f"Too many {noun} requests. Rate limit: {item.amount} requests per "
                f"{_per(seconds)} per API key.",
                "retryAfter": f"{seconds} seconds",
            }
        )
        response.status_code = 429
        response.headers["Retry-After"] = str(seconds)
        return response

    return on_breach


def per_key_limit(setting: str, noun: str):
    """The limit in config ``setting``, per API key. Apply under ``require_api_key``, so the
    limit counts per authenticated key."""
    return limiter.limit(
        lambda: current_app.config[setting],
        key_func=rate_limit_key,
        on_breach=_too_many(noun),
    )


def execute_limit():
    return per_key_limit("EXECUTE_RATE_LIMIT", "recovery")


def paywall_limit():
    return per_key_limit("PAYWALL_RATE_LIMIT", "paywall status")


def tokenize_limit():
    return per_key_limit("TOKENIZE_RATE_LIMIT", "tokenize")
