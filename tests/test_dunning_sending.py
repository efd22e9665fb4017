"""Dunning emails (Decision 1): scheduled as rows, sent once by a job over a real SMTP server."""

from __future__ import annotations

import email
import re
import socket
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from sqlalchemy import select, text

from revtain.clock import now as clock_now
from revtain.dunning import sequences
from revtain.dunning.scheduling import cancel_for, recovery_changed, schedule_for
from revtain.dunning.sending import send_message
from revtain.dunning.sequences import SequenceError, StepSpec
from revtain.dunning.templates import TemplateError
from revtain.extensions import db
from revtain.models import Client, Message, MessageTemplate, Recovery, TemplateVersion
from revtain.onboarding import onboard
from tests.support.jobs import sweep
from tests.support.smtp import smtp_server

START = "2026-03-17T12:00:00+00:00"
T0 = datetime(2026, 3, 17, 12, tzinfo=UTC)
LINK = re.compile(r"http://revtain\.test/api/recovery/update-card/([A-Za-z0-9_-]+)")
CLICK = re.compile(r"http://revtain\.test/api/dunning/click/([A-Za-z0-9_.-]+)")


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


def advance(app, **delta) -> None:
    app.extensions["revtain.clock"].advance(timedelta(**delta))


def sweep_dunning(app) -> int:
    """One scheduler tick and a burst worker: the due messages sent."""
    return sweep(app)["messages"]


def setup_merchant(app, *, steps=((0, "new_card", "any"),), publish=True, timezone="UTC", **seq):
    """A client with the default templates and a sequence of (delay hours, template, applies to)."""
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=None, brand_name="Acme Cloud", timezone=timezone)
        client = db.session.get(Client, issued.client_id)
        sequences.install_default_templates(client)  # (onboarding does it once integrated)
        defaults = {t.builtin: t for t in db.session.execute(
            select(MessageTemplate).where(MessageTemplate.client_id == client.id)).scalars()}
        sequence = sequences.create_sequence(
            client, "Default",
            [StepSpec(defaults[name].id, delay, applies) for delay, name, applies in steps],
            **{"hold_while_retrying": False, "quiet_hours": (21, 8), **seq},
        )
        if publish:
            sequences.publish(sequence)
    return issued


def execute(app, issued, code="expired_card", token="pm_old_card", email_to="jo@example.com",
            amount=4900, currency="USD", locale=None) -> str:
    body = {"paymentMethodToken": token, "amount": amount, "currency": currency,
            "originalDeclineCode": code, "idempotencyKey": f"inv_{token}_{code}"}
    if locale:
        body["customerLocale"] = locale
    if email_to:
        body["customerEmail"] = email_to
    r = app.test_client().post("/api/recovery/execute", json=body, headers={"X-API-KEY": issued.api_key})
    assert r.status_code in (200, 202, 403), r.get_data()
    recovery_id = r.get_json()["transactionId"]
    with app.app_context():  # what settle()/finish() will call once integrated
        recovery = db.session.get(Recovery, recovery_id)
        recovery_changed(db.session.get(Client, recovery.client_id), recovery, clock_now())
        db.session.commit()
    return recovery_id


def messages(app, recovery_id=None) -> list[Message]:
    with app.app_context():
        query = select(Message).order_by(Message.created_at, Message.id)
        if recovery_id:
            query = query.where(Message.recovery_id == recovery_id)
        rows = db.session.execute(query).scalars().all()
        db.session.expunge_all()
        return rows


def parts(mail):
    return (mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content())


def test_a_published_sequence_sends_the_email_with_a_working_card_update_link(app, inbox, caplog):
    caplog.set_level("DEBUG")
    caplog.set_level("WARNING", logger="mail.log")  # the test SMTP server logs what it receives
    issued = setup_merchant(app)
    recovery_id = execute(app, issued)
    (pending,) = messages(app, recovery_id)
    assert pending.status == "pending" and pending.send_at == T0 and pending.to_address == "jo@example.com"

    assert sweep_dunning(app) == 1
    (mail,) = inbox.received
    assert inbox.envelopes == [("dunning@revtain.test", ["jo@example.com"])]
    assert mail["To"] == "jo@example.com"
    assert mail["From"].addresses[0].display_name == "Acme Cloud"
    assert mail["From"].addresses[0].addr_spec == "dunning@revtain.test"
    assert mail["Subject"] == "Action needed: update your card for Acme Cloud"
    assert mail["Message-ID"] == f"<dunning.{pending.id}@revtain.test>"
    plain, html = parts(mail)
    assert "$49.00 USD" in plain and "$49.00 USD" in html
    tracked = CLICK.search(plain).group(0)
    assert f'href="{tracked}"' in html

    (sent,) = messages(app, recovery_id)
    assert sent.status == "sent" and sent.sent_at == T0 and sent.send_at is None and sent.tries == 1
    assert sent.subject == mail["Subject"] and sent.card_update_link_id and sent.clicks == 0

    # the tracked link counts the click and leads to the card-update page
    web = app.test_client()
    redirected = web.get(tracked)
    assert redirected.status_code == 302
    token = LINK.fullmatch(redirected.headers["Location"]).group(1)
    (clicked,) = messages(app, recovery_id)
    assert clicked.clicks == 1 and clicked.clicked_at == T0

    # the link works: the customer updates the card, and the open recovery goes through at once
    page = web.get(f"/api/recovery/update-card/{token}")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.get_data(as_text=True)).group(1)
    done = web.post(f"/api/recovery/update-card/{token}", data={
        "csrf": csrf, "number": "4111 1111 1111 1111", "expiry": "12/30", "cvc": "123"})
    assert done.status_code == 200 and "went through" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Recovery, recovery_id).status == "succeeded"
        dump = " ".join(str(r) for t in ("messages", "card_update_links")
                        for r in db.session.execute(text(f"SELECT * FROM {t}")).all())
    assert token not in dump  # the link's token is never stored…
    assert token not in caplog.text  # …nor logged


def test_a_job_run_twice_sends_one_email(app, inbox):
    issued = setup_merchant(app)
    execute(app, issued)
    (message,) = messages(app)
    with app.app_context():
        assert send_message(message.id) == "sent"
        assert send_message(message.id) == "skipped"
    assert sweep_dunning(app) == 0
    advance(app, hours=1)  # well past the claim lease
    assert sweep_dunning(app) == 0
    assert len(inbox.received) == 1


def test_a_recovery_that_succeeds_before_a_step_is_due_sends_nothing_more(app, inbox):
    issued = setup_merchant(app, steps=((0, "soft_decline", "any"), (24, "new_card", "any")))
    recovery_id = execute(app, issued, code="insufficient_funds", token="pm_1")
    _first, second = messages(app, recovery_id)
    assert second.send_at == T0 + timedelta(hours=24)
    sweep_dunning(app)
    assert len(inbox.received) == 1

    advance(app, seconds=10)
    assert sweep(app)["recoveries"] == 1  # the smart retry goes through
    with app.app_context():
        assert db.session.get(Recovery, recovery_id).status == "succeeded"
    advance(app, hours=24)
    sweep_dunning(app)  # cancelled when due (or at once, once finish.succeed() calls dunning)
    assert len(inbox.received) == 1
    assert [m.status for m in messages(app, recovery_id)] == ["sent", "cancelled"]
    assert messages(app, recovery_id)[1].error == "recovered"


def test_success_and_card_update_cancel_pending_messages_at_once(app, inbox):
    issued = setup_merchant(app, steps=((0, "soft_decline", "any"), (24, "new_card", "any")))
    recovery_id = execute(app, issued)
    with app.app_context():
        recovery = db.session.get(Recovery, recovery_id)
        assert cancel_for(recovery, clock_now(), "card_updated") == 2
        db.session.commit()
        assert schedule_for(db.session.get(Client, issued.client_id), recovery, clock_now()) == []
    assert {(m.status, m.error) for m in messages(app)} == {("cancelled", "card_updated")}
    advance(app, hours=30)
    assert sweep_dunning(app) == 0 and inbox.received == []


@pytest.mark.parametrize("case", ["draft only", "dunning disabled", "webhook channel"])
def test_nothing_is_sent_without_a_published_sequence_or_email_dunning(app, inbox, case):
    issued = setup_merchant(app, publish=case != "draft only")

    def set_client(**values):
        with app.app_context():
            client = db.session.get(Client, issued.client_id)
            for key, value in values.items():
                setattr(client, key, value)
            db.session.commit()

    change = {"dunning disabled": {"dunning_enabled": False},
              "webhook channel": {"dunning_channel": "webhook"}}.get(case)
    if change:
        set_client(**change)
    execute(app, issued, token="pm_a")
    assert messages(app) == []  # nothing is even scheduled

    if change:  # switched after messages were scheduled: the send-time check stops them
        set_client(dunning_enabled=True, dunning_channel="email")
        execute(app, issued, token="pm_b")
        set_client(**change)
        assert sweep_dunning(app) == 1
        (message,) = messages(app)
        assert message.status == "cancelled"
        assert message.error == ("dunning_disabled" if case == "dunning disabled" else "channel_webhook")
    advance(app, days=30)
    sweep_dunning(app)
    assert inbox.received == []


def test_steps_apply_to_their_decline_category(app, inbox):
    issued = setup_merchant(app, steps=((0, "soft_decline", "soft"), (0, "new_card", "hard"),
                                        (0, "authentication", "auth_required"), (48, "new_card", "any")))
    hard = execute(app, issued, code="expired_card", token="pm_h")
    soft = execute(app, issued, code="insufficient_funds", token="pm_s")
    auth = execute(app, issued, code="authentication_required", token="pm_a")  # blocked: needs the customer
    fraud = execute(app, issued, code="fraudulent", token="pm_f")  # blocked for fraud: no email
    stolen = execute(app, issued, code="stolen_card", token="pm_st")  # waits for a new card: asks
    no_email = execute(app, issued, code="expired_card", token="pm_n", email_to=None)

    def positions(recovery_id):
        with app.app_context():
            return sorted(db.session.get(Message, m.id).step.position for m in messages(app, recovery_id))

    assert positions(hard) == [2, 4] and positions(soft) == [1, 4] and positions(auth) == [3, 4]
    assert positions(fraud) == [] and positions(no_email) == [] and positions(stolen) == [2, 4]
    with app.app_context():  # scheduling again (queued again, then failed) adds nothing
        recovery = db.session.get(Recovery, hard)
        assert schedule_for(db.session.get(Client, issued.client_id), recovery, clock_now()) == []
    assert positions(hard) == [2, 4]
    sweep_dunning(app)
    subjects = sorted(m["Subject"] for m in inbox.received)
    assert subjects == ["Action needed: update your card for Acme Cloud",
                        "Action needed: update your card for Acme Cloud",
                        "Please confirm your Acme Cloud payment of $49.00",
                        "Your Acme Cloud payment of $49.00 didn't go through"]


def test_quiet_hours_move_the_send_time(app, inbox):
    # 12:00 UTC is 08:00 in New York (EDT); 14 h later is 22:00 there, inside 21:00-08:00
    issued = setup_merchant(app, steps=((14, "new_card", "any"), (4, "new_card", "any")),
                            timezone="America/New_York")
    execute(app, issued, code="insufficient_funds")
    late, early = messages(app)
    assert late.send_at == datetime(2026, 3, 18, 12, tzinfo=UTC)  # 08:00 New York, the next morning
    assert early.send_at == T0 + timedelta(hours=4)  # 12:00 New York: not quiet


def test_a_recovery_waiting_for_a_new_card_asks_for_one_at_once(app, inbox):
    issued = setup_merchant(app, steps=((14, "new_card", "any"), (4, "new_card", "any")),
                            timezone="America/New_York")
    execute(app, issued, code="expired_card")  # no retry on an expired card: only a new one helps
    late, early = messages(app)
    assert early.send_at == T0  # the sequence starts now: its first message goes at once
    assert late.send_at == T0 + timedelta(hours=10)


def test_hold_while_retrying_waits_for_the_pending_retry(app, inbox):
    issued = setup_merchant(app, hold_while_retrying=True, quiet_hours=(0, 0))
    recovery_id = execute(app, issued, code="insufficient_funds", token="test_decline_insufficient_funds")
    (message,) = messages(app)
    # the sandbox retries at +10 s; messages wait DUNNING_AFTER_RETRY_SECONDS (600) after it
    assert message.send_at == T0 + timedelta(seconds=610)

    # checked again when due: a retry planned later in the meantime holds it again
    with app.app_context():
        recovery = db.session.get(Recovery, recovery_id)
        recovery.next_attempt_at = T0 + timedelta(hours=2)
        db.session.commit()
    advance(app, seconds=610)
    assert sweep_dunning(app) == 1
    (held,) = messages(app)
    assert held.status == "pending" and held.send_at == T0 + timedelta(hours=2, seconds=600)
    assert inbox.received == []

    advance(app, hours=2)  # the retries run out, the recovery fails, the email goes
    for _ in range(3):
        sweep(app)
        advance(app, seconds=30)
    with app.app_context():
        assert db.session.get(Recovery, recovery_id).status == "failed"
    advance(app, seconds=600)  # at most one hold after the last retry
    sweep_dunning(app)
    assert len(inbox.received) == 1
    assert [m.status for m in messages(app)] == ["sent"]


def test_publishing_keeps_one_sequence_and_pins_template_versions(app, inbox):
    issued = setup_merchant(app)
    with app.app_context():
        client = db.session.get(Client, issued.client_id)
        builtin = db.session.execute(select(MessageTemplate).where(
            MessageTemplate.builtin == "new_card")).scalar_one()
        with pytest.raises(SequenceError, match="copy it"):
            sequences.update_template(builtin, subject="x", html="x", text="x")
        own = sequences.copy_template(builtin, "My card email")
        with pytest.raises(TemplateError, match="'first_name' is undefined"):
            sequences.update_template(own, subject="Hi {{ first_name }}", html="x", text="x")
        with pytest.raises(TemplateError, match="unsafe"):
            sequences.update_template(own, subject="s", html="{{ ''.__class__ }}", text="x")
        with pytest.raises(SequenceError, match="email"):
            sequences.create_sequence(client, "SMS", [StepSpec(own.id, 0, channel="sms")])
        first = sequences.published_for(client.id)
        with pytest.raises(SequenceError, match="new version"):
            sequences.update_sequence(first, name="Renamed")
        draft = sequences.new_version(first)
        assert draft.version == 2 and draft.status == "draft"
        sequences.update_sequence(draft, steps=[StepSpec(own.id, 0)])
        sequences.publish(draft)
        sequences.update_template(own, subject="Edited after publishing", html="<p>x</p>", text="x")
        assert (first.status, draft.status) == ("archived", "published")
        assert own.current_version == 2
        pinned = db.session.get(TemplateVersion, draft.steps[0].template_version_id)
        assert pinned.version == 1 and pinned.subject == builtin.subject
    execute(app, issued)
    sweep_dunning(app)
    (mail,) = inbox.received
    assert mail["Subject"] == "Action needed: update your card for Acme Cloud"  # the pinned version


def test_a_template_that_fails_at_send_time_is_never_sent(app, inbox):
    issued = setup_merchant(app)
    with app.app_context():  # a pinned version broken behind the editor's back
        for version in db.session.execute(select(TemplateVersion)).scalars():
            version.html = "{{ cycler.__init__.__globals__ }}"
        db.session.commit()
    execute(app, issued)
    assert sweep_dunning(app) == 1
    (message,) = messages(app)
    assert message.status == "failed" and message.error.startswith("html: ")
    assert inbox.received == []


def test_an_smtp_server_that_is_down_is_tried_again_later(make_app, inbox):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    app = make_app(FROZEN_NOW=START, MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=closed,
                   MAIL_SMTP_TLS="none", MAIL_SMTP_TIMEOUT=2)
    issued = setup_merchant(app)
    execute(app, issued)
    (message,) = messages(app)
    with app.app_context():
        assert send_message(message.id) == "retry"
    (message,) = messages(app)
    assert message.status == "pending" and message.send_at == T0 + timedelta(seconds=60)
    assert message.error.startswith("ConnectionRefusedError")


def test_the_outbox_mode_writes_a_parseable_eml(make_app, tmp_path):
    app = make_app(FROZEN_NOW=START, MAIL_SMTP_HOST=None, MAIL_OUTBOX=str(tmp_path / "outbox"))
    issued = setup_merchant(app)
    execute(app, issued, amount=5000, currency="JPY")
    assert sweep_dunning(app) == 1
    (path,) = (tmp_path / "outbox").iterdir()
    assert path.suffix == ".eml"
    mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert mail["To"] == "jo@example.com"
    assert mail["Subject"] == "Action needed: update your card for Acme Cloud"
    plain, html = parts(mail)
    assert "¥5,000 JPY" in plain and "¥5,000 JPY" in html and CLICK.search(plain)
    assert messages(app)[0].status == "sent"


def test_a_test_send_goes_to_the_given_address_with_sample_data(app, inbox):
    issued = setup_merchant(app)
    with app.app_context():
        template = db.session.execute(select(MessageTemplate).where(
            MessageTemplate.client_id == issued.client_id, MessageTemplate.builtin == "soft_decline")
        ).scalar_one()
        assert sequences.test_send(template, "marketing@acme.example") == "smtp:127.0.0.1"
        with pytest.raises(SequenceError):
            sequences.test_send(template, "not an address")
    (mail,) = inbox.received
    assert mail["To"] == "marketing@acme.example"
    assert mail["Subject"] == "[Test] Your Acme Cloud payment of $49.00 didn't go through"
    assert "pay.example.com/api/recovery/update-card/sample-link" in parts(mail)[0]
