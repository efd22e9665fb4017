"""Credentials issued to merchants (Decision 7): formats, generation and hashing.

Secret API keys carry 192 random bits, so a single SHA-256 is the right hash: it is a lookup key
that cannot be reversed, and a slow password hash would only slow every API call.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

SECRET_KEY_PREFIX = "rev_"
PUBLISHABLE_KEY_PREFIX = "rev_pk_"
WEBHOOK_SECRET_PREFIX = "whsec_"


def new_secret_key() -> str:
    return SECRET_KEY_PREFIX + secrets.token_urlsafe(24)


def new_publishable_key() -> str:
    return PUBLISHABLE_KEY_PREFIX + secrets.token_urlsafe(24)


def new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """What we may show of a key later: enough to recognise it, not enough to use it."""
    return key[: len(PUBLISHABLE_KEY_PREFIX) + 4] if key.startswith(PUBLISHABLE_KEY_PREFIX) else key[:8]
