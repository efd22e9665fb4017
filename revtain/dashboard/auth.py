"""Signing in and out, and what each role may do."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter, login_manager
from ..models.user import ADMIN, FINANCE, MARKETING
from . import accounts, bp
from .forms import LoginForm, LogoutForm

FAILED_LOGIN = "Email or password is incorrect."

# permission -> the roles that have it. Admin has everything.
PERMISSIONS: dict[str, frozenset[str]] = {
    "recoveries": frozenset({ADMIN, MARKETING, FINANCE}),
    "branding": frozenset({ADMIN, MARKETING}),
    "reports": frozenset({ADMIN, FINANCE}),
    "dunning": frozenset({ADMIN, MARKETING}),  # for the dunning editor (built separately)
    "webhooks": frozenset({ADMIN}),
    "settings": frozenset({ADMIN}),
    "keys": frozenset({ADMIN}),
    "users": frozenset({ADMIN}),
}

login_manager.login_view = "dashboard.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_user(user_id: str):
    return accounts.load(user_id)


def can(permission: str) -> bool:
    return bool(current_user.is_authenticated and current_user.role in PERMISSIONS[permission])


def requires(*permissions: str) -> Callable:
    """Signed in (else the login page) with any of ``permissions`` (else 403)."""
    for permission in permissions:
        if permission not in PERMISSIONS:
            raise KeyError(permission)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not any(can(p) for p in permissions):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _login_limit() -> str:
    return current_app.config.get("DASHBOARD_LOGIN_RATE_LIMIT", "30 per minute")


def _account_limit() -> str:
    return current_app.config.get("DASHBOARD_LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes")


def _account_key() -> str:
    """Failed sign-ins are counted per account too, so that many addresses (a botnet) cannot
    guess one password; unknown emails are counted alike and tell nothing."""
    return "login-account:" + accounts.normalise_email(request.form.get("email", ""))[:320]


def _too_many_sign_ins(request_limit):
    form = LoginForm()
    minutes = max(1, request_limit.limit.get_expiry() // 60)
    error = (f"Too many failed sign-ins. Wait {minutes} minute{'s' if minutes > 1 else ''} "
             "and try again, or ask an admin of your team to set a new password.")
    response = current_app.make_response((render_template("dashboard/login.html", form=form, error=error),
                                           429))
    response.headers["Retry-After"] = str(request_limit.limit.get_expiry())
    return response


def _safe_next(target: str | None) -> str:
    # Only paths inside the dashboard: never an absolute or protocol-relative URL.
    if target and target.startswith("/dashboard") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=lambda: f"login:{request.remote_addr}",
               on_breach=_too_many_sign_ins)
@limiter.limit(_account_limit, methods=["POST"], key_func=_account_key, on_breach=_too_many_sign_ins,
               deduct_when=lambda response: response.status_code == 400)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # no session fixation: a fresh session for the signed-in user
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        error, status = FAILED_LOGIN, 400
    elif form.is_submitted():
        status = 400
    return render_template("dashboard/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    form = LogoutForm()
    if not form.validate_on_submit():
        abort(400)
    accounts.end_sessions(current_user._get_current_object())  # a copied cookie stops working too
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("dashboard.login"))
