"""Connectors, for admins: each billing platform's credentials (secrets write-only, stored
encrypted), the hand-off, the exact URL to paste and the events to select; and the log of what
the platforms sent and what Revtain did with it."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import Length, Optional

from ..connectors import MODULES, accounts
from ..connectors.accounts import ConnectorSetupError
from ..extensions import db
from ..models import Client, ConnectorEvent
from . import bp, current_client
from .auth import requires
from .dunning_forms import ActionForm

EVENTS_SHOWN = 50


def _form_class(module) -> type[FlaskForm]:
    fields = {
        f.name: (PasswordField if f.secret else StringField)(
            f.label, description=f.help, validators=[Optional(), Length(max=1000)])
        for f in module.CREDENTIALS
    }
    if getattr(module, "HAND_OFF_BY_SETTING", None):  # Revtain cannot stop the platform's retries
        label = f"Hand-off: Revtain retries failed payments through {module.LABEL} itself"
    else:
        label = f"Hand-off: stop {module.LABEL}'s own retries of an invoice once Revtain takes it over"
    fields["stop_platform_retries"] = BooleanField(
        label,
        description="Off: Revtain charges nothing itself and waits for the platform's retries "
                    "(its emails and card-update links still go out).")
    return type(f"{module.__name__.rsplit('.', 1)[-1].title()}Form", (FlaskForm,), fields)


def _form(platform: str, formdata=None, data: dict | None = None) -> FlaskForm:
    cls = _form_class(MODULES[platform])
    if formdata is None:
        return cls(formdata=None, prefix=platform, data=data or {})
    return cls(prefix=platform)


def _page(client: Client, submitted: tuple[str, FlaskForm] | None = None, status: int = 200):
    set_up = {a.platform: a for a in accounts.for_client(client.id)}
    platforms = []
    for platform, module in MODULES.items():
        account = set_up.get(platform)
        shown = {}
        if account is not None:
            stored = accounts.credentials_of(account)
            shown = {f.name: stored.get(f.name, "") for f in module.CREDENTIALS if not f.secret}
        shown["stop_platform_retries"] = (account.stop_platform_retries if account
                                          else accounts.default_hand_off(platform))
        form = submitted[1] if submitted and submitted[0] == platform else _form(platform, data=shown)
        platforms.append({"module": module, "account": account, "form": form,
                          "instructions": accounts.instructions(client.id, platform)})
    recent = db.session.execute(
        select(ConnectorEvent).where(ConnectorEvent.client_id == client.id)
        .order_by(ConnectorEvent.received_at.desc()).limit(EVENTS_SHOWN)
    ).scalars()
    return render_template("dashboard/connectors.html", platforms=platforms, events=list(recent),
                           remove_form=ActionForm(formdata=None)), status


@bp.get("/connectors")
@requires("settings")
def connectors():
    return _page(current_client())


@bp.post("/connectors/<platform>")
@requires("settings")
def save_connector(platform: str):
    if platform not in MODULES:
        abort(404)
    client = current_client()
    form = _form(platform, formdata=True)
    if not form.validate_on_submit():
        return _page(client, (platform, form), 400)
    module = MODULES[platform]
    credentials = {f.name: getattr(form, f.name).data or "" for f in module.CREDENTIALS}
    try:
        accounts.set_up(client, platform, credentials, keep_blank_secrets=True,
                        stop_platform_retries=bool(form.stop_platform_retries.data))
    except ConnectorSetupError as exc:
        db.session.rollback()
        message = str(exc)
        form.form_errors.append(message[:1].upper() + message[1:] + ".")
        return _page(client, (platform, form), 400)
    flash(f"{module.LABEL} connector saved. Paste its URL into {module.LABEL} if you have not yet.",
          "success")
    return redirect(url_for("dashboard.connectors") + f"#c-{platform}")


@bp.post("/connectors/<platform>/remove")
@requires("settings")
def remove_connector(platform: str):
    if platform not in MODULES:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    account = accounts.get(current_client().id, platform)
    if account is None:
        abort(404)
    accounts.remove(account)
    flash(f"{MODULES[platform].LABEL} connector removed: its webhooks are refused from now on.", "success")
    return redirect(url_for("dashboard.connectors"))
