"""Encryption at rest (AES-256-GCM) for webhook secrets and gateway credentials.

Stored values look like ``v1:<base64(nonce || ciphertext || tag)>``; the ``v1`` names the key
format so keys can be rotated later without guessing.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app

from .config import ConfigurationError, is_production


def _key_from_config(app: Flask) -> bytes:
    configured = app.config.get("ENCRYPTION_KEY")
    if not configured:
        if is_production(app):
            raise ConfigurationError(
                "REVTAIN_ENCRYPTION_KEY is required in production "
                '(generate one with: python -c "import os,base64;'
                'print(base64.b64encode(os.urandom(32)).decode())")'
            )
        configured = _dev_key(app)
    try:
        key = base64.b64decode(configured, validate=True)
    except ValueError as exc:
        raise ConfigurationError("REVTAIN_ENCRYPTION_KEY is not valid base64") from exc
    if len(key) != 32:
        raise ConfigurationError("REVTAIN_ENCRYPTION_KEY must be 32 bytes (base64-encoded)")
    return key


def instance_secret(app: Flask, filename: str, make: Callable[[], str]) -> str:
    """A development secret kept in the instance folder, created once even when several
    processes start at the same moment (written aside, then hard-linked into place)."""
    path = os.path.join(app.instance_path, filename)
    if not os.path.exists(path):
        os.makedirs(app.instance_path, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
            os.link(tmp, path)  # atomic; fails if another process got there first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    with open(path) as fh:
        return fh.read().strip()


def _dev_key(app: Flask) -> str:
    """A development key generated once into the instance folder (never used in production)."""
    return instance_secret(
        app, "encryption.key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )


def init_app(app: Flask) -> None:
    app.extensions["revtain.aesgcm"] = AESGCM(_key_from_config(app))
    app.extensions["revtain.decrypted"] = {}


def encrypt(plaintext: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = current_app.extensions["revtain.aesgcm"].encrypt(nonce, plaintext.encode(), b"revtain")
    return "v1:" + base64.b64encode(nonce + sealed).decode()


DECRYPTED_CACHE_SIZE = 4096


def decrypt(stored: str) -> str:
    """Kept per process, by stored value: a rotated secret or credential is stored anew (a new
    nonce, so a new value) and so never answered from the cache; a new key means a new app."""
    cache = current_app.extensions.setdefault("revtain.decrypted", {})
    plaintext = cache.get(stored)
    if plaintext is None:
        version, _, payload = stored.partition(":")
        if version != "v1":
            raise ValueError(f"unknown encryption format {version!r}")
        raw = base64.b64decode(payload)
        plaintext = current_app.extensions["revtain.aesgcm"].decrypt(raw[:12], raw[12:], b"revtain").decode()
        if len(cache) >= DECRYPTED_CACHE_SIZE:
            cache.clear()
        cache[stored] = plaintext
    return plaintext
