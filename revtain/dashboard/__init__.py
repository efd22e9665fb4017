"""The merchant dashboard: the team's server-rendered pages, under ``/dashboard``.

Every page is scoped to the signed-in user's client (another client's objects are 404) and to
what the user's role may do (403, and the link is not shown). Pages send a strict CSP: no
scripts, and only the nonce'd style of the page.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, g, redirect, render_template, url_for
from flask_login import current_user

from ..extensions import db
from ..formatting import money
from ..models import Client

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


def csp_nonce() -> str:
    if "dashboard_nonce" not in g:
        g.dashboard_nonce = secrets.token_urlsafe(16)
    return g.dashboard_nonce


def current_client() -> Client:
    return db.session.get(Client, current_user.client_id)


def client_zone(client: Client | None) -> ZoneInfo:
    try:
        return ZoneInfo(client.timezone if client else "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def local_time(ts: datetime | None, zone: ZoneInfo) -> str:
    """How the dashboard writes a moment: in the merchant's timezone, e.g. ``2026-03-16 13:00:00 CET``."""
    if ts is None:
        return "-"
    return ts.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


@bp.context_processor
def _helpers() -> dict:
    from .auth import can
    from .forms import LogoutForm

    client = current_client() if current_user.is_authenticated else None
    zone = client_zone(client)

    def when(ts: datetime | None) -> str:
        return local_time(ts, zone)

    def iso(ts: datetime | None) -> str:
        return ts.astimezone(UTC).isoformat() if ts else ""

    return {
        "nonce": csp_nonce(),
        "can": can,
        "client": client,
        "money": money,
        "when": when,
        "iso": iso,
        "logout_form": LogoutForm(formdata=None) if current_user.is_authenticated else None,
    }


@bp.after_request
def _headers(response):
    # A view may set a policy of its own (the template preview a frame shows): it is kept.
    response.headers.setdefault("Content-Security-Policy", (
        f"default-src 'none'; style-src 'nonce-{csp_nonce()}'; img-src 'self' https: data:; "
        "frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(code: int, title: str, message: str):
    return render_template("dashboard/error.html", code=code, title=title, message=message), code


@bp.errorhandler(400)
def _bad_request(exc):
    return _error(400, "Bad request", "The form could not be accepted. Reload the page and try again.")


@bp.errorhandler(403)
def _forbidden(exc):
    return _error(403, "Not allowed",
                  "Your role does not give access to this page. Ask an admin of your team.")


@bp.errorhandler(404)
def _not_found(exc):
    return _error(404, "Not found", "There is nothing here, or it belongs to another account.")


@bp.errorhandler(503)
def _unavailable(exc):
    return _error(503, "Try again in a moment",
                  "A service this page needs is not answering. Nothing was lost.")


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("dashboard.login"))
    return redirect(url_for("dashboard.recoveries"))


from . import (  # noqa: E402, F401  (routes)
    account,
    alerts,
    auth,
    connectors,
    dunning,
    dunning_sender,
    recoveries,
    reports,
    settings,
    users,
    webhooks,
)
