"""The JSON API blueprint: auth, errors, request schemas, one module per resource."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import cardupdate, connectors, lookup, openapi, paywall, predict, pulse, recovery, tokenize  # noqa: E402,F401  (routes register on bp)
