"""What execute caches per process, and that rotation and revocation are still honoured."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from revtain.crypto import decrypt
from revtain.extensions import db
from revtain.models import Client
from revtain.onboarding import rotate_keys
from tests.scale.test_execute_round_trips import statements
from tests.support.jobs import run_jobs


def _execute(client, api_key: str, n: int):
    return client.post("/api/recovery/execute", headers={"X-API-KEY": api_key},
                       json={"paymentMethodToken": f"pm_cache_{n}", "amount": 5000})


def test_a_known_key_is_looked_up_once(app, client, merchant):
    assert _execute(client, merchant.api_key, 1).status_code == 200
    with statements(app) as seen:
        assert _execute(client, merchant.api_key, 2).status_code == 200
    assert not [s for s in seen if "api_keys" in s]


def test_revocation_in_another_process_is_honoured_within_the_cache_time(make_app, merchant):
    app = make_app(FROZEN_NOW="2026-12-01T10:00:00+00:00", API_KEY_CACHE_SECONDS=5)
    client = app.test_client()
    assert _execute(client, merchant.api_key, 1).status_code == 200
    # Another process revokes the key: straight in the database, past this process's sessions.
    other = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other.begin() as conn:
        conn.execute(sa.text("UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE client_id = :c"),
                     {"c": merchant.client_id})
    other.dispose()
    assert _execute(client, merchant.api_key, 2).status_code == 200  # cached, for at most 5 s
    app.extensions["revtain.clock"].advance(timedelta(seconds=6))
    assert _execute(client, merchant.api_key, 3).status_code == 401


def test_a_change_to_the_client_in_this_process_empties_the_cache(app, client, merchant):
    assert _execute(client, merchant.api_key, 1).status_code == 200
    with app.app_context():
        db.session.get(Client, merchant.client_id).dunning_enabled = False
        db.session.commit()
    with statements(app) as seen:
        assert _execute(client, merchant.api_key, 2).status_code == 200
    assert [s for s in seen if "api_keys" in s]  # read again: the request sees the new row


def test_a_rotated_webhook_secret_signs_the_next_delivery(app, client, merchant, receiver):
    assert _execute(client, merchant.api_key, 1).status_code == 200
    run_jobs(app)
    assert receiver.wait_for(1)[0].signature_valid(merchant.webhook_signing_secret)
    with app.app_context():
        rotated = rotate_keys(merchant.client_id)
        stored = db.session.get(Client, merchant.client_id).webhook_secret_encrypted
        assert decrypt(stored) == rotated.webhook_signing_secret
    assert _execute(client, rotated.api_key, 2).status_code == 200
    run_jobs(app)
    second = receiver.wait_for(2)[1]
    assert second.signature_valid(rotated.webhook_signing_secret)
    assert not second.signature_valid(merchant.webhook_signing_secret)
