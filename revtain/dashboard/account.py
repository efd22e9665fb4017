"""Your account: the signed-in person changes their own password (every other session ends)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required, login_user

from . import accounts, bp
from .forms import ChangePasswordForm


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if not form.is_submitted():
        return render_template("dashboard/account.html", form=form)
    if form.validate():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current.data, form.password.data)
        except accounts.AccountError as exc:
            message = str(exc)
            field = form.current if "current" in message else form.password
            field.errors = [*field.errors, message[:1].upper() + message[1:] + "."]
        else:
            login_user(user)  # this browser carries on with the new session version
            flash("Password changed. You were signed out everywhere else.", "success")
            return redirect(url_for("dashboard.account"))
    return render_template("dashboard/account.html", form=form), 400
