"""Users: the team of the client, added and removed by an admin."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from . import accounts, bp
from .auth import requires
from .forms import AddUserForm, RemoveUserForm


def _page(form: AddUserForm, status: int = 200, error: str | None = None):
    return render_template("dashboard/users.html", form=form, users=accounts.team(current_user.client_id),
                           remove_form=RemoveUserForm(formdata=None), error=error), status


@bp.route("/users", methods=["GET", "POST"])
@requires("users")
def users():
    form = AddUserForm()
    if not form.is_submitted():
        return _page(form)
    if form.validate():
        try:
            user = accounts.create_user(current_user.client_id, form.email.data, form.role.data,
                                        form.password.data)
        except accounts.AccountError as exc:
            form.email.errors.append(str(exc).capitalize() + ".")
        else:
            flash(f"{user.email} can now sign in as {user.role}.", "success")
            return redirect(url_for("dashboard.users"))
    return _page(form, 400)


@bp.post("/users/<user_id>/remove")
@requires("users")
def remove_user(user_id: str):
    form = RemoveUserForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        user = accounts.remove_user(current_user, user_id)
    except LookupError:
        abort(404)
    except accounts.AccountError as exc:
        return _page(AddUserForm(formdata=None), 400, error=str(exc).capitalize() + ".")
    flash(f"{user.email} was removed.", "success")
    return redirect(url_for("dashboard.users"))
