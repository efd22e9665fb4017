"""Recoveries: the filtered list and one recovery's timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..clock import iso
from ..extensions import db
from ..models import ConnectorEvent, PreRetryCheck, Recovery, WebhookEvent
from ..recovery.proof_mode import assignment_of
from . import bp, client_zone, current_client
from .auth import requires
from .forms import RecoveryFilterForm, ReplayForm

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


@dataclass
class Entry:
    at: datetime | None
    kind: str
    title: str
    details: dict = field(default_factory=dict)
    event: WebhookEvent | None = None


def timeline(recovery: Recovery) -> list[Entry]:
    entries = [Entry(recovery.created_at, "created", "Recovery created", {
        "Decline code": recovery.original_decline_code or "-",
        "Payment method": recovery.payment_method_token,
        "Simulated": "yes" if recovery.is_simulated else "no",
        **({"Source": f"{recovery.source} invoice {recovery.source_ref}"} if recovery.source else {}),
    })]
    entries.extend(_proof_mode_entries(recovery))
    platform_events = db.session.execute(
        select(ConnectorEvent)
        .where(ConnectorEvent.client_id == recovery.client_id, ConnectorEvent.recovery_id == recovery.id)
        .order_by(ConnectorEvent.received_at)
    ).scalars()
    for received in platform_events:
        title = f"{received.platform}: {received.event_type}"
        entries.append(Entry(received.received_at, "platform", title, {
            "Event id": received.event_id,
            "What Revtain did": (received.outcome or received.status).replace("_", " "),
        }))
    entries.extend(_pre_retry_entries(recovery))
    for attempt in recovery.attempts:
        entries.append(Entry(attempt.created_at, "attempt", f"Attempt {attempt.seq}: {attempt.outcome}", {
            "Gateway": attempt.gateway,
            "Strategy": attempt.strategy,
            "Outcome": attempt.outcome,
            "Decline code": attempt.decline_code or "-",
            "Advice code": attempt.advice_code or "-",
            "Network code": attempt.network_code or "-",
            "Gateway transaction": attempt.gateway_transaction_id or "-",
        }))
    events = db.session.execute(
        select(WebhookEvent)
        .where(WebhookEvent.client_id == recovery.client_id, WebhookEvent.recovery_id == recovery.id)
        .order_by(WebhookEvent.created_at, WebhookEvent.id)
    ).scalars()
    for event in events:
        entries.append(Entry(event.created_at, "webhook", f"Webhook {event.type}", event=event))
    if recovery.finished_at:
        entries.append(Entry(recovery.finished_at, "finished", f"Finished: {recovery.status}",
                         {"Error": recovery.error} if recovery.error else {}))
    entries.sort(key=lambda e: (e.at is None, e.at or datetime.max, e.kind == "webhook"))
    if recovery.next_attempt_at and not recovery.is_final:
        entries.append(Entry(recovery.next_attempt_at, "scheduled", "Next retry scheduled", {
            "Reason": recovery.retry_reason or "-",
        }))
    return entries


def _proof_mode_entries(recovery: Recovery) -> list[Entry]:
    assignment = assignment_of(recovery)
    if assignment is None:
        return []
    held_out = assignment.proof_group == "control"
    entries = [Entry(assignment.assigned_at, "proof", f"Proof Mode: {assignment.proof_group} group", {
        "Control share": f"{assignment.share} %",
        "What Revtain does": "nothing: no attempt, no retry, no dunning" if held_out else "recovers as usual",
        "Counted in the report from": iso(assignment.window_ends_at),
    })]
    if assignment.paid_at:
        entries.append(Entry(assignment.paid_at, "proof", "Paid without Revtain",
                             {"Reported by": assignment.paid_via or "-"}))
    return entries


def _pre_retry_entries(recovery: Recovery) -> list[Entry]:
    checks = db.session.execute(
        select(PreRetryCheck)
        .where(PreRetryCheck.client_id == recovery.client_id, PreRetryCheck.recovery_id == recovery.id)
        .order_by(PreRetryCheck.asked_at)
    ).scalars()
    entries = []
    for check in checks:
        answer = f"skip ({check.reason})" if check.decision == "skip" else "go ahead"
        entries.append(Entry(check.asked_at, "check", f"Pre-retry check {check.retry_number}: {answer}", {
            "Check id": check.id,
            "URL": check.url,
            "HTTP status": check.status_code or "-",
            "Answered in": f"{check.duration_ms} ms",
            "Answer": check.response_excerpt or "-",
            **({"Problem": check.error} if check.error else {}),
        }))
    return entries


@bp.get("/recoveries/<recovery_id>")
@requires("recoveries")
def recovery_detail(recovery_id: str):
    recovery = own_recovery(recovery_id)
    return render_template("dashboard/recovery.html", recovery=recovery, timeline=timeline(recovery),
                           replay_form=ReplayForm(formdata=None))
