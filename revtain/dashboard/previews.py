"""The rendered HTML of a template, for the sandboxed ``iframe`` of the template editor.

A ``srcdoc`` frame inherits the editor page's CSP (no inline styles), so Chromium shows an email
blank. Instead the editor keeps the HTML it just rendered (the saved template, or the unsaved
edits after "Preview") in Redis for a few minutes, under a random key bound to the signed-in
user, and the frame loads it from its own URL. That response has its own policy: the email's
inline styles and https/data images, no scripts at all, and ``sandbox`` (an opaque origin), even
when the URL is opened directly. Nothing but the signed-in user who rendered it can read it: any
other user, an expired or unknown key is a 404.
"""

from __future__ import annotations

import json
import re
import secrets

from flask import abort, current_app, make_response, url_for
from flask_login import current_user
from redis.exceptions import RedisError

from ..redis_conn import connection
from . import bp
from .auth import requires

TTL_SECONDS = 600
_PREFIX = "revtain:dashboard:preview:"
_KEY = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)

POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'self'; sandbox"
)


def store(html: str) -> str | None:
    """Keep ``html`` for the signed-in user; its URL, or None if Redis cannot take it now (the
    editor then shows the escaped source only)."""
    key = secrets.token_urlsafe(32)
    value = json.dumps({"user": current_user.id, "client": current_user.client_id, "html": html})
    try:
        connection().set(_PREFIX + key, value, ex=TTL_SECONDS)
    except RedisError as exc:
        current_app.logger.warning("template preview not stored: %s", exc)
        return None
    return url_for("dashboard.dunning_preview", key=key)


@bp.get("/dunning/previews/<key>")
@requires("dunning")
def dunning_preview(key: str):
    if not _KEY.match(key):
        abort(404)
    try:
        raw = connection().get(_PREFIX + key)
    except RedisError as exc:
        current_app.logger.warning("template preview not read: %s", exc)
        abort(503)
    if raw is None:
        abort(404)
    kept = json.loads(raw)
    if kept["user"] != current_user.id or kept["client"] != current_user.client_id:
        abort(404)
    response = make_response(kept["html"])
    response.mimetype = "text/html"
    # The dashboard's after_request keeps a policy a view has set. Its Referrer-Policy
    # (same-origin) sends no referrer from the sandbox's opaque origin: images never see the key.
    response.headers["Content-Security-Policy"] = POLICY
    return response
