"""Connectors under test: the app behind a real HTTP server (werkzeug, threaded), the real RQ
worker and scheduler in-process (``tests.support.jobs``), and each platform's official library
with only its HTTP layer stubbed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from revtain.extensions import db
from revtain.models import Attempt, ConnectorEvent, Message, Recovery
from tests.support.servers import threaded_server

START = "2026-03-16T12:00:00+00:00"  # a Monday


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def server(app) -> Iterator[str]:
    with threaded_server(app) as url:
        yield url


def post(server: str, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(server + path, data=body, headers=headers, timeout=10)


def advance(app, **delta) -> None:
    app.extensions["revtain.clock"].advance(timedelta(**delta))


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def recoveries(app) -> list[Recovery]:
    with app.app_context():
        return list(db.session.execute(select(Recovery).order_by(Recovery.created_at)).scalars())


def events(app) -> list[ConnectorEvent]:
    with app.app_context():
        # The clock is frozen: events received "at once" keep their arrival order by id (a ULID).
        return list(db.session.execute(
            select(ConnectorEvent).order_by(ConnectorEvent.received_at, ConnectorEvent.id)).scalars())


def charges(app) -> list[Attempt]:
    with app.app_context():
        return list(db.session.execute(select(Attempt).order_by(Attempt.created_at)).scalars())


def messages(app) -> list[Message]:
    with app.app_context():
        return list(db.session.execute(select(Message)).scalars())


def hand_off(app, client_id: str, platform: str) -> None:
    """Turn the connector's hand-off on (the merchant switched the platform's own retries off)."""
    from revtain.connectors import accounts

    with app.app_context():
        accounts.set_hand_off(accounts.get(client_id, platform), True)


def publish_dunning(app, client_id: str) -> None:
    """A published one-step sequence that emails at once (no quiet hours, not held for retries)."""
    from revtain.dunning import sequences
    from revtain.dunning.sequences import StepSpec
    from revtain.models import Client, MessageTemplate

    with app.app_context():
        client = db.session.get(Client, client_id)
        template = db.session.execute(
            select(MessageTemplate).where(MessageTemplate.client_id == client_id,
                                          MessageTemplate.builtin == "soft_decline")
        ).scalar_one()
        sequence = sequences.create_sequence(client, "Connector dunning", [StepSpec(template.id, 0)],
                                             hold_while_retrying=False, quiet_hours=(0, 0))
        sequences.publish(sequence)
