"""Recoveries: the filtered list and one recovery's timeline (built in ``timeline``)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import Recovery
from . import bp, client_zone, current_client
from .auth import requires
from .forms import RecoveryFilterForm, ReplayForm
from .timeline import card_changes, timeline

PER_PAGE = 25


def filtered(client, form: RecoveryFilterForm):
    """The client's recoveries matching the (valid) filters, newest first."""
    query = select(Recovery).where(Recovery.client_id == client.id)
    zone = client_zone(client)
    if form.status.data:
        query = query.where(Recovery.status == form.status.data)
    if form.date_from.data and not form.date_from.errors:
        query = query.where(Recovery.created_at >= datetime.combine(form.date_from.data, time(), zone))
    if form.date_to.data and not form.date_to.errors:
        end = datetime.combine(form.date_to.data + timedelta(days=1), time(), zone)
        query = query.where(Recovery.created_at < end)
    if form.decline_code.data and not form.decline_code.errors:
        code = form.decline_code.data.lower()
        query = query.where(or_(Recovery.original_decline_code == code, Recovery.last_decline_code == code))
    if form.q.data and not form.q.errors:
        q = form.q.data
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(
            Recovery.id == q,
            Recovery.idempotency_key == q,
            Recovery.gateway_transaction_id == q,
            func.lower(Recovery.customer_email).like(f"%{escaped}%", escape="\\"),
        ))
    return query.order_by(Recovery.created_at.desc(), Recovery.id.desc())


@bp.get("/recoveries")
@requires("recoveries")
def recoveries():
    client = current_client()
    form = RecoveryFilterForm(formdata=request.args)
    if request.args:
        form.validate()
    if form.status.errors:  # an unknown status filters nothing rather than everything
        form.status.data = ""
    page = db.paginate(filtered(client, form), page=request.args.get("page", 1, type=int),
                       per_page=PER_PAGE, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("dashboard/recoveries.html", form=form, page=page, args=args)


def own_recovery(recovery_id: str) -> Recovery:
    recovery = db.session.get(Recovery, recovery_id)
    if recovery is None or recovery.client_id != current_user.client_id:
        abort(404)
    return recovery


@bp.get("/recoveries/<recovery_id>")
@requires("recoveries")
def recovery_detail(recovery_id: str):
    recovery = own_recovery(recovery_id)
    changes = card_changes(recovery)
    return render_template("dashboard/recovery.html", recovery=recovery,
                           timeline=timeline(recovery, client_zone(current_client()), changes),
                           original_token=changes[0].old_token if changes else recovery.payment_method_token,
                           replay_form=ReplayForm(formdata=None))
