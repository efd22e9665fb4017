"""Helpers for the card-update page tests: links, the page's form fields and CSP, the dunning
messages a recovery has."""

from __future__ import annotations

import re

from sqlalchemy import select

from revtain.cardupdate.links import hash_token
from revtain.dunning import sequences
from revtain.dunning.sequences import StepSpec
from revtain.extensions import db
from revtain.models import CardUpdateLink, Client, Message, MessageTemplate, Recovery

DOMAIN = "pay.acme.example"


def publish_dunning(app, client_id: str) -> None:
    """A published sequence: the default "new card" email now, and again a day later."""
    with app.app_context():
        client = db.session.get(Client, client_id)
        templates = {t.builtin: t for t in db.session.execute(
            select(MessageTemplate).where(MessageTemplate.client_id == client.id)).scalars()}
        steps = [StepSpec(templates["new_card"].id, 0), StepSpec(templates["new_card"].id, 24)]
        sequences.publish(sequences.create_sequence(client, "Default", steps, hold_while_retrying=False))


def execute(client, headers, token: str, **body) -> dict:
    body = {"paymentMethodToken": token, "amount": 4900, "originalDeclineCode": "expired_card",
            "customerEmail": "jo@example.com", **body}
    r = client.post("/api/recovery/execute", json=body, headers=headers)
    assert r.status_code == 202, r.get_data()
    return r.get_json()


def generate(client, headers, token: str) -> dict:
    r = client.post("/api/recovery/update-card/generate", json={"paymentMethodToken": token},
                    headers=headers)
    assert r.status_code == 201, r.get_data()
    return r.get_json()


def page_path(link: dict) -> str:
    return f"/api/recovery/update-card/{link['token']}"


def link_row(app, link: dict) -> CardUpdateLink:
    with app.app_context():
        row = db.session.execute(
            select(CardUpdateLink).where(CardUpdateLink.token_hash == hash_token(link["token"]))
        ).scalar_one()
        db.session.expunge(row)
        return row


def recovery_row(app, recovery_id: str) -> Recovery:
    with app.app_context():
        row = db.session.get(Recovery, recovery_id)
        db.session.expunge(row)
        return row


def message_states(app, recovery_id: str) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(m.status, m.error) for m in db.session.execute(
            select(Message).where(Message.recovery_id == recovery_id).order_by(Message.send_at)
        ).scalars()]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def csp_of(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as directive -> sources."""
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def script_nonces(html: str) -> set[str]:
    return set(re.findall(r'<script[^>]*\bnonce="([^"]+)"', html))
