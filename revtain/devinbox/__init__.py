"""The development webhook inbox: a receiver for local installs that shows what arrived and
whether each signature verified. Registered only when ``ENV`` is ``development``."""

from __future__ import annotations

import json
import time

from flask import Blueprint, current_app, jsonify, render_template, request
from sqlalchemy import select

from ..clock import now as clock_now
from ..crypto import decrypt
from ..extensions import db
from ..models import Client, DevInboxMessage
from ..webhooks.signing import verify_revtain, verify_standard

bp = Blueprint("devinbox", __name__, url_prefix="/dev/webhook-inbox")

SHOWN_HEADERS = ("Content-Type", "User-Agent", "X-Revtain-Signature", "webhook-id",
                 "webhook-timestamp", "webhook-signature")


@bp.post("/<client_id>")
def receive(client_id: str):
    latency_ms = current_app.config["DEV_WEBHOOK_INBOX_LATENCY_MS"]
    if latency_ms:  # a slow receiver, for benchmarks (config DEV_WEBHOOK_INBOX_LATENCY_MS)
        time.sleep(float(latency_ms) / 1000)
    client = db.session.get(Client, client_id)
    if client is None:
        return jsonify({"error": "Client not found."}), 404
    body = request.get_data()
    secret = decrypt(client.webhook_secret_encrypted)
    try:
        event_type = json.loads(body).get("event")
    except (ValueError, AttributeError):
        event_type = None
    message = DevInboxMessage(
        client_id=client.id,
        received_at=clock_now(),
        event_type=event_type,
        headers={h: request.headers.get(h) for h in SHOWN_HEADERS if h in request.headers},
        body=body.decode(errors="replace"),
        signature_valid=verify_revtain(secret, body, request.headers.get("X-Revtain-Signature")),
        standard_signature_valid=verify_standard(
            secret,
            request.headers.get("webhook-id"),
            request.headers.get("webhook-timestamp"),
            body,
            request.headers.get("webhook-signature"),
        ),
    )
    db.session.add(message)
    db.session.commit()
    if not message.signature_valid:
        return jsonify({"received": True, "verified": False}), 401
    return jsonify({"received": True, "verified": True})


def _messages(limit: int = 100) -> list[DevInboxMessage]:
    return list(
        db.session.execute(
            select(DevInboxMessage).order_by(DevInboxMessage.id.desc()).limit(limit)
        ).scalars()
    )


@bp.get("")
def index():
    if request.args.get("format") == "json" or request.accept_mimetypes.best == "application/json":
        return jsonify(
            [
                {
                    "clientId": m.client_id,
                    "receivedAt": m.received_at.isoformat(),
                    "event": m.event_type,
                    "signatureValid": m.signature_valid,
                    "standardSignatureValid": m.standard_signature_valid,
                    "headers": m.headers,
                    "body": json.loads(m.body) if m.body.startswith("{") else m.body,
                }
                for m in _messages()
            ]
        )
    return render_template("devinbox/index.html", messages=_messages())
