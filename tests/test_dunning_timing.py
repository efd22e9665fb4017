"""When the first dunning message goes: when the customer can act. Held while a smart retry may
still recover the payment; once the retries run out it goes at once (not a hold's margin after a
retry that will never come), and a "we'll try again" step for soft declines is cancelled then."""

from __future__ import annotations

from datetime import timedelta

import pytest

from revtain.extensions import db
from revtain.models import Recovery
from tests.support.jobs import sweep
from tests.support.smtp import smtp_server
from tests.test_dunning_sending import START, T0, advance, execute, messages, setup_merchant, sweep_dunning


@pytest.fixture(scope="module")
def smtp():
    yield from smtp_server()


@pytest.fixture
def inbox(smtp):
    return smtp.clear()


@pytest.fixture
def app(make_app, inbox):
    return make_app(FROZEN_NOW=START, MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=inbox.port,
                    MAIL_SMTP_TLS="none", MAIL_FROM="Revtain <dunning@revtain.test>")


def run_out_of_retries(app, recovery_id) -> None:
    for _ in range(20):
        sweep(app)  # the due retry runs (its dunning messages are not due yet)
        with app.app_context():
            if db.session.get(Recovery, recovery_id).status == "failed":
                return
        advance(app, seconds=10)
    raise AssertionError("the recovery never failed")


def test_a_held_first_message_goes_as_soon_as_the_retries_run_out(app, inbox):
    issued = setup_merchant(app, steps=((0, "new_card", "any"),), hold_while_retrying=True,
                            quiet_hours=(0, 0))
    recovery_id = execute(app, issued, code="insufficient_funds", token="test_decline_insufficient_funds")
    (held,) = messages(app, recovery_id)
    assert held.send_at == T0 + timedelta(seconds=610)  # a retry is pending: it may recover the payment
    assert inbox.received == []

    run_out_of_retries(app, recovery_id)
    with app.app_context():
        failed_at = db.session.get(Recovery, recovery_id).finished_at
    (due,) = messages(app, recovery_id)
    assert due.status == "pending" and due.send_at == failed_at  # due the moment the customer can act
    assert sweep_dunning(app) == 1  # no DUNNING_AFTER_RETRY_SECONDS wait after a retry that won't come
    assert len(inbox.received) == 1 and messages(app, recovery_id)[0].sent_at == failed_at


def test_a_soft_decline_step_is_cancelled_once_no_retry_will_come(app, inbox):
    issued = setup_merchant(app, steps=((0, "soft_decline", "soft"), (1, "new_card", "any")),
                            hold_while_retrying=True, quiet_hours=(0, 0))
    recovery_id = execute(app, issued, code="insufficient_funds", token="test_decline_insufficient_funds")
    assert [m.status for m in messages(app, recovery_id)] == ["pending", "pending"]
    run_out_of_retries(app, recovery_id)
    soft, later = messages(app, recovery_id)
    assert (soft.status, soft.error) == ("cancelled", "finished")  # "we'll try again" would be untrue now
    assert later.status == "pending" and later.send_at == T0 + timedelta(hours=1)
    advance(app, hours=1)
    assert sweep_dunning(app) == 1
    (mail,) = inbox.received
    assert mail["Subject"] == "Action needed: update your card for Acme Cloud"
