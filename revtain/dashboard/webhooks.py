"""Webhook deliveries: the log, one delivery with its payload and tries, and replay."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import WebhookDelivery, WebhookEvent
from ..models.webhook import DELIVERED, EXHAUSTED, PENDING
from ..webhooks.health import backing_off
from ..webhooks.outbox import EventNotFound, replay
from . import bp
from .auth import requires
from .forms import ReplayForm

PER_PAGE = 50
STATES = (PENDING, DELIVERED, EXHAUSTED)


@bp.get("/webhooks")
@requires("webhooks")
def webhooks():
    status = request.args.get("status", "")
    query = (
        select(WebhookDelivery)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.client_id == current_user.client_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    )
    if status in STATES:
        query = query.where(WebhookDelivery.status == status)
    page = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False)
    return render_template("dashboard/webhooks.html", page=page, status=status if status in STATES else "",
                           states=STATES, replay_form=ReplayForm(formdata=None),
                           backing_off=backing_off(current_user.client_id))


def _own(model, row_id: str):
    row = db.session.get(model, row_id)
    if row is None or row.client_id != current_user.client_id:
        abort(404)
    return row


def pretty(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


@bp.get("/webhooks/deliveries/<delivery_id>")
@requires("webhooks")
def delivery_detail(delivery_id: str):
    delivery = _own(WebhookDelivery, delivery_id)
    return render_template("dashboard/delivery.html", delivery=delivery, event=delivery.event,
                           payload=pretty(delivery.event.body), replay_form=ReplayForm(formdata=None))


@bp.post("/webhooks/events/<event_id>/replay")
@requires("webhooks")
def replay_event(event_id: str):
    event = _own(WebhookEvent, event_id)
    form = ReplayForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        delivery = replay(event.id)
    except EventNotFound:
        flash("Set a webhook URL in Settings before replaying events.", "error")
        return redirect(url_for("dashboard.webhooks"))
    flash(f"Event {event.id} is being delivered again to {delivery.url}.", "success")
    return redirect(url_for("dashboard.delivery_detail", delivery_id=delivery.id))
