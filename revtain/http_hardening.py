"""What every response gets, whichever blueprint answers: HSTS over HTTPS, and a 503 with
``Retry-After`` (JSON for the API, a plain page for people) when the database is not answering.

The 503 page is rendered straight from its template, without the blueprints' context processors:
the dashboard's would ask the database for the signed-in user again.
"""

from __future__ import annotations

import contextlib
import secrets

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .extensions import db

RETRY_AFTER_SECONDS = 30
DATABASE_UNAVAILABLE = "Service temporarily unavailable."


def _hsts(response: Response) -> Response:
    max_age = int(current_app.config.get("HSTS_MAX_AGE") or 0)
    if request.is_secure and max_age > 0:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
    return response


def _database_unavailable(exc: Exception):
    current_app.logger.error(
        "database unavailable on %s %s: %s", request.method, request.path, str(exc).splitlines()[0][:300]
    )
    with contextlib.suppress(Exception):  # the connection is gone: nothing to roll back
        db.session.rollback()
    # The card-update page lives under /api/ but is a page for a person.
    if request.path.startswith("/api/") and request.blueprint != "cardupdate":
        response = jsonify(
            {
                "error": DATABASE_UNAVAILABLE,
                "message": "Revtain's database is not answering. Nothing is lost on your side: retry in a "
                "moment (with the same idempotencyKey, a retry is never processed twice).",
                "retryAfter": f"{RETRY_AFTER_SECONDS} seconds",
            }
        )
    else:
        nonce = secrets.token_urlsafe(16)
        page = current_app.jinja_env.get_template("errors/unavailable.html")
        response = current_app.make_response(page.render(nonce=nonce, retry_after=RETRY_AFTER_SECONDS))
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'"
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_hsts)
    for error in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(error, _database_unavailable)
