"""Signatures on outgoing webhooks (Decision 8).

``X-Revtain-Signature``: lowercase hex HMAC-SHA256 of the raw body, keyed with the whole secret
string (``whsec_`` included) as UTF-8, exactly as the docs' Node example computes it.
Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``,
keyed with the base64-decoded part of the secret after ``whsec_``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def encode_body(payload: dict[str, Any]) -> bytes:
    """Bytes exactly as JavaScript's ``JSON.stringify`` would give them (compact, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def revtain_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{event_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Revtain-Webhooks/1.0",
        "X-Revtain-Signature": revtain_signature(secret, body),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, event_id, timestamp, body),
    }


def verify_revtain(secret: str, body: bytes, signature: str | None) -> bool:
    return bool(signature) and hmac.compare_digest(revtain_signature(secret, body), signature)


def verify_standard(
    secret: str, event_id: str | None, timestamp: str | None, body: bytes, signature: str | None
) -> bool:
    if not (event_id and timestamp and signature and timestamp.isdigit()):
        return False
    expected = standard_signature(secret, event_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, s) for s in signature.split())
