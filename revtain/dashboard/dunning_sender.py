"""The sender of dunning emails (name, address, reply-to), the open pixel setting, and the DNS a
merchant needs (SPF, DKIM, DMARC) for mail from its own domain to be delivered."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for

from ..dunning.mailer import default_from_address
from ..dunning.sequences import SequenceError, check_address
from ..dunning.templates import sender_name
from ..extensions import db
from . import bp, current_client
from .auth import requires
from .dunning_forms import SenderForm


def _page(client, form: SenderForm, status: int = 200):
    address = client.sender_address or default_from_address()
    return render_template(
        "dashboard/dunning_sender.html", form=form, from_name=sender_name(client), from_address=address,
        domain=address.rpartition("@")[2], smtp_host=current_app.config.get("MAIL_SMTP_HOST") or "",
        own_domain=bool(client.sender_address),
    ), status


@bp.route("/dunning/sender", methods=["GET", "POST"])
@requires("dunning")
def dunning_sender():
    client = current_client()
    form = SenderForm()
    if not form.is_submitted():
        form = SenderForm(formdata=None, obj=client)
        return _page(client, form)
    if not form.validate_on_submit():
        return _page(client, form, 400)
    try:
        for field in (form.sender_address, form.sender_reply_to):
            if field.data:
                check_address(field.label.text.lower(), field.data)
    except SequenceError as exc:
        field.errors = [*field.errors, str(exc)[:1].upper() + str(exc)[1:] + "."]
        return _page(client, form, 400)
    client.sender_name = form.sender_name.data or None
    client.sender_address = form.sender_address.data or None
    client.sender_reply_to = form.sender_reply_to.data or None
    client.email_open_tracking = bool(form.email_open_tracking.data)
    db.session.commit()
    flash("Sender saved: the next dunning emails use it.", "success")
    return redirect(url_for("dashboard.dunning_sender"))
