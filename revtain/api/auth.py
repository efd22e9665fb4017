"""``X-API-KEY`` authentication: resolves the client from a hashed key lookup (cached briefly,
see ``key_cache``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from ..credentials import hash_key
from ..models import Client
from . import key_cache
from .errors import ApiError

UNAUTHORIZED = {"error": "Unauthorized", "message": "Missing or invalid API key."}
PUBLISHABLE_FORBIDDEN = {
    "error": "Forbidden",
    "message": "Publishable keys (rev_pk_...) may only call GET /api/recovery/paywall-status.",
}


def require_api_key(view: Callable[..., Any] | None = None, *, allow_publishable: bool = False):
    """Header names are matched case-insensitively; ``Authorization: Bearer`` is not accepted."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get("X-API-KEY", "").strip()
            if not key:
                raise ApiError(401, UNAUTHORIZED)
            found = key_cache.lookup(hash_key(key))
            if found is None:
                raise ApiError(401, UNAUTHORIZED)
            key_id, kind, client = found
            if kind != "secret" and not allow_publishable:
                raise ApiError(403, PUBLISHABLE_FORBIDDEN)
            g.client = client
            g.api_key_id = key_id
            return fn(*args, **kwargs)

        wrapper.api_key_kinds = ("secret", "publishable") if allow_publishable else ("secret",)  # type: ignore[attr-defined]
        return wrapper

    return decorate(view) if view is not None else decorate


def current_client() -> Client:
    return g.client
