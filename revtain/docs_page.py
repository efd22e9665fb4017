"""``GET /docs/api``: the API reference, Swagger UI rendering ``/api/openapi.json`` in the browser.

Swagger UI is vendored (``static/vendor/swagger-ui``, see its README), so the page needs nothing but
this server. Its policy: scripts and styles only from here (no inline script or style: the page starts
Swagger UI from ``static/api-reference.js``), requests only to here ("Try it out" calls this API).
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("docs", __name__, url_prefix="/docs")

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@bp.get("/api")
def api_reference():
    response = current_app.make_response(render_template("docs/api.html"))
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
