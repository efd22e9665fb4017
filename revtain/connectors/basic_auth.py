"""HTTP Basic authentication of a platform's webhook (Chargebee, Zuora): the username and password
the merchant sets on the webhook in the platform and gives Revtain. Neither platform signs anything
else, so the pair is compared in constant time and a webhook without it is refused."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping

from .base import Headers, Unauthorized

MIN_PASSWORD = 12
# A 401 names the scheme and realm (RFC 7617): Zuora, unless told to authenticate preemptively, sends
# its callout's credentials only after such an answer.
CHALLENGE = 'Basic realm="Revtain connectors", charset="UTF-8"'
NOT_BASIC = "the Authorization header is not basic authentication"
_PRINTABLE = re.compile(r"[\x21-\x7e]+")  # what a Basic-auth pair survives intact


def check_pair(cleaned: Mapping[str, str], label: str) -> None:
    """``ValueError`` unless ``webhook_username`` and ``webhook_password`` make a usable pair."""
    username, password = cleaned["webhook_username"], cleaned["webhook_password"]
    if not _PRINTABLE.fullmatch(username) or ":" in username:
        raise ValueError(f"{label}'s webhook username may not contain spaces or a colon")
    if not _PRINTABLE.fullmatch(password) or len(password) < MIN_PASSWORD:
        raise ValueError(f"{label}'s webhook password needs {MIN_PASSWORD} or more characters and no spaces")


def _pair(headers: Headers, label: str) -> tuple[bytes, bytes]:
    scheme, _, value = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise Unauthorized(f"{label} webhooks need basic authentication", challenge=CHALLENGE)
    try:
        username, colon, password = base64.b64decode(value.strip(), validate=True).partition(b":")
    except (binascii.Error, ValueError):
        raise Unauthorized(NOT_BASIC, challenge=CHALLENGE) from None
    if not colon:
        raise Unauthorized(NOT_BASIC, challenge=CHALLENGE)
    return username, password


def _same(given: bytes, expected: str) -> bool:
    return hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(expected.encode()).digest())


def verify(credentials: Mapping[str, str], headers: Headers, label: str) -> None:
    """``Unauthorized`` unless the request carries the connector's pair. Both halves are compared
    every time, in constant time, as digests (so not even the lengths show); an unset pair never
    matches."""
    username, password = _pair(headers, label)
    expected_user = str(credentials.get("webhook_username") or "")
    expected_password = str(credentials.get("webhook_password") or "")
    matches = _same(username, expected_user) & _same(password, expected_password)
    if not matches or not expected_user or not expected_password:
        raise Unauthorized("wrong webhook username or password", challenge=CHALLENGE)
