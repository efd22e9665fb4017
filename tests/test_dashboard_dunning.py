"""The dunning editor in the dashboard: templates (copy, preview, save, test send), sequences (steps,
publish, archive), roles, CSRF and tenant isolation, down to the email a customer receives."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from revtain.dashboard.accounts import create_user
from revtain.dunning import sequences
from revtain.dunning.sending import send_message
from revtain.dunning.sequences import StepSpec
from revtain.dunning.templates import TemplateError
from revtain.extensions import db
from revtain.models import Client, DunningSequence, Message, MessageTemplate, TemplateVersion
from revtain.onboarding import onboard
from tests.support.jobs import sweep
from tests.support.smtp import smtp_server
from tests.test_dashboard import PASSWORD, csrf_of, login, text
from tests.test_template_limits import NESTED_LOOPS

START = "2026-03-17T12:00:00+00:00"
LINK = re.compile(r"http://revtain\.test/api/dunning/click/([A-Za-z0-9_.-]+)")  # tracked card-update link
NEW_SUBJECT = "{{ merchant_name }}: please update your card"
NEW_TEXT = ("Hello {{ customer_email }}, your payment of {{ amount_with_currency }} failed "
            "({{ decline_reason }}).\nUpdate your card: {{ card_update_link }}\n")
NEW_HTML = "<p>Hello {{ customer_email }}</p><p><a href=\"{{ card_update_link }}\">Update</a></p>"


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


@pytest.fixture
def merchant(app):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=None, brand_name="Acme Cloud")
        for role in ("admin", "marketing", "finance"):
            create_user(issued.client_id, f"{role}@acme.example", role, PASSWORD)
    return issued


@pytest.fixture
def other(app):
    with app.app_context():
        issued = onboard(name="Other Co", webhook_url=None)
        client = db.session.get(Client, issued.client_id)
        template = db.session.execute(select(MessageTemplate).where(
            MessageTemplate.client_id == client.id, MessageTemplate.builtin == "new_card")).scalar_one()
        own = sequences.copy_template(template, "Theirs")
        sequence = sequences.create_sequence(client, "Their sequence", [StepSpec(own.id, 0)])
        return {"client": client.id, "template": own.id, "builtin": template.id, "sequence": sequence.id}


@pytest.fixture
def marketing(client, merchant):
    assert login(client, "marketing@acme.example").status_code == 302
    return client


def builtin_id(app, client_id, key="new_card") -> str:
    with app.app_context():
        return db.session.execute(select(MessageTemplate.id).where(
            MessageTemplate.client_id == client_id, MessageTemplate.builtin == key)).scalar_one()


def token(client, page="/dashboard/dunning") -> str:
    r = client.get(page)
    assert r.status_code == 200, page
    return csrf_of(r.get_data(as_text=True))


def copy(client, template_id) -> str:
    r = client.post(f"/dashboard/dunning/templates/{template_id}/copy", data={"csrf_token": token(client)})
    assert r.status_code == 302
    return r.headers["Location"].rsplit("/", 1)[1]


def template_form(client, template_id, action, **fields):
    page = f"/dashboard/dunning/templates/{template_id}"
    data = {"csrf_token": token(client, page), "name": "My card email", "subject": NEW_SUBJECT,
            "html": NEW_HTML, "text": NEW_TEXT, action: action.capitalize(), **fields}
    return client.post(page, data=data)


def step_fields(*steps) -> dict[str, str]:
    data = {}
    for n, (delay, template_id, applies) in enumerate(steps):
        data.update({f"steps-{n}-delay_hours": str(delay), f"steps-{n}-channel": "email",
                     f"steps-{n}-template_id": template_id, f"steps-{n}-applies_to": applies})
    return data


def save_sequence(client, sequence_id, *steps, **fields):
    page = f"/dashboard/dunning/sequences/{sequence_id}"
    data = {"csrf_token": token(client, page), "name": "Main", "quiet_start": "21", "quiet_end": "8",
            "save": "Save draft", **step_fields(*steps), **fields}
    return client.post(page, data=data)


def new_sequence(client, name="Main") -> str:
    r = client.post("/dashboard/dunning/sequences/new", data={"csrf_token": token(client), "name": name})
    assert r.status_code == 302
    return r.headers["Location"].rsplit("/", 1)[1]


def test_marketing_edits_a_copy_publishes_it_and_the_next_email_uses_the_new_text(app, marketing, merchant,
                                                                                  inbox):
    listing = text(marketing.get("/dashboard/dunning"))
    assert 'href="/dashboard/dunning"' in listing and "Copy to edit" in listing
    assert "No sequence is published" in listing
    default = builtin_id(app, merchant.client_id)
    assert "Default template: read-only" in text(marketing.get(f"/dashboard/dunning/templates/{default}"))

    template_id = copy(marketing, default)
    page = text(marketing.get(f"/dashboard/dunning/templates/{template_id}"))
    for variable in ("customer_email", "amount", "currency", "amount_with_currency", "merchant_name",
                     "card_update_link", "decline_reason"):
        assert "{{ " + variable + " }}" in page
    assert "Version history" in page

    # Preview: rendered with the sample data, nothing saved
    r = template_form(marketing, template_id, "preview")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    preview_text = re.search(r'<pre class="wrap" id="preview-text">(.*?)</pre>', body, re.S).group(1)
    assert "Hello jane.doe@example.com, your payment of $49.00 USD failed" in text(r)
    assert "jane.doe@example.com" in preview_text and "{{" not in preview_text
    assert "Acme Cloud: please update your card" in text(r)
    assert re.search(r'<pre class="wrap" id="preview-html">&lt;p&gt;Hello jane.doe@example.com', body)
    assert "<p>Hello jane.doe" not in body  # the HTML preview is never live markup on the page
    with app.app_context():
        assert db.session.get(MessageTemplate, template_id).current_version == 1

    # Save: a new version, listed in the history
    r = template_form(marketing, template_id, "save")
    assert r.status_code == 302
    with app.app_context():
        saved = db.session.get(MessageTemplate, template_id)
        assert (saved.current_version, saved.name, saved.text) == (2, "My card email", NEW_TEXT)
        assert [v.version for v in saved.versions] == [1, 2]
    page = text(marketing.get(f"/dashboard/dunning/templates/{template_id}"))
    assert "Saved My card email, version 2" in page and "2 (current)" in page

    # A sequence using it: add a step, save, publish
    sequence_id = new_sequence(marketing)
    page = f"/dashboard/dunning/sequences/{sequence_id}"
    r = marketing.post(page, data={"csrf_token": token(marketing, page), "name": "Main", "quiet_start": "21",
                                   "quiet_end": "8", "add_step": "Add a step"})
    assert r.status_code == 200 and "Step 1" in text(r) and 'name="steps-0-delay_hours"' in text(r)
    r = save_sequence(marketing, sequence_id, (0, template_id, "any"))
    assert r.status_code == 302
    r = marketing.post(f"{page}/publish", data={"csrf_token": token(marketing, page)})
    assert r.status_code == 302
    page_text = text(marketing.get(page))
    assert "Main v1 is live" in page_text and "Live:" in page_text
    assert "Main" in text(marketing.get("/dashboard/dunning")).split("Live sequence")[1]
    with app.app_context():
        live = sequences.published_for(merchant.client_id)
        assert live.id == sequence_id
        assert db.session.get(TemplateVersion, live.steps[0].template_version_id).version == 2

    # The next failed payment gets the new text
    r = app.test_client().post("/api/recovery/execute", headers={"X-API-KEY": merchant.api_key}, json={
        "paymentMethodToken": "pm_old_card", "amount": 4900, "currency": "USD",
        "originalDeclineCode": "expired_card", "customerEmail": "jo@example.com", "idempotencyKey": "inv_1"})
    assert r.status_code in (200, 202, 403), r.get_data()
    sweep(app)
    (mail,) = inbox.received
    assert mail["To"] == "jo@example.com"
    assert mail["Subject"] == "Acme Cloud: please update your card"
    plain = mail.get_body(("plain",)).get_content()
    assert plain.startswith("Hello jo@example.com, your payment of $49.00 USD failed")
    assert LINK.search(plain)


def test_a_template_reaching_python_internals_is_refused_with_the_error(app, marketing, merchant):
    template_id = copy(marketing, builtin_id(app, merchant.client_id))
    for action in ("preview", "save"):
        r = template_form(marketing, template_id, action, html="<p>{{ ''.__class__.__mro__ }}</p>")
        assert r.status_code == 400
        page = text(r)
        assert "The template does not render" in page and "Html: not allowed" in page
    r = template_form(marketing, template_id, "save", text="Hi {{ first_name }}")
    assert r.status_code == 400 and "'first_name' is undefined" in text(r)
    with app.app_context():
        assert db.session.get(MessageTemplate, template_id).current_version == 1


def test_bad_input_is_a_form_error(app, marketing, merchant, other):
    template_id = copy(marketing, builtin_id(app, merchant.client_id))
    r = template_form(marketing, template_id, "save", subject="", name="")
    assert r.status_code == 400 and "This field is required" in text(r)
    r = template_form(marketing, template_id, "save", name="Payment failed: needs a new card")
    assert r.status_code == 400 and "already a template named" in text(r)

    sequence_id = new_sequence(marketing)
    for steps, fields, message in (
        ([("soon", template_id, "any")], {}, "Not a valid integer"),
        ([(99999, template_id, "any")], {}, "Number must be between 0 and 2160"),
        ([(0, other["template"], "any")], {}, "Not a valid choice"),
        ([(0, template_id, "sometimes")], {}, "Not a valid choice"),
        ([(0, template_id, "any")], {"quiet_start": "25"}, "Number must be between 0 and 23"),
        ([(0, template_id, "any")], {"from_address": "nope"}, "From address is not an email address"),
    ):
        r = save_sequence(marketing, sequence_id, *steps, **fields)
        assert r.status_code == 400, message
        assert message in text(r)
    with app.app_context():
        assert db.session.get(DunningSequence, sequence_id).steps == []

    # publishing a sequence without steps, sending a test to a non-address
    page = f"/dashboard/dunning/sequences/{sequence_id}"
    r = marketing.post(f"{page}/publish", data={"csrf_token": token(marketing, page)})
    assert r.status_code == 400 and "at least one step" in text(r)
    r = marketing.post(f"/dashboard/dunning/templates/{template_id}/test",
                       data={"test-csrf_token": token(marketing), "test-to_address": "nobody"})
    assert r.status_code == 400 and "Not sent: Not an email address" in text(r)


def test_a_test_send_reaches_the_address(app, marketing, merchant, inbox):
    default = builtin_id(app, merchant.client_id, "soft_decline")
    r = marketing.post(f"/dashboard/dunning/templates/{default}/test",
                       data={"test-csrf_token": token(marketing), "test-to_address": "me@acme.example"})
    assert r.status_code == 302
    assert "Test email sent to me@acme.example" in text(marketing.get(r.headers["Location"]))
    (mail,) = inbox.received
    assert mail["To"] == "me@acme.example" and mail["Subject"].startswith("[Test] Your Acme Cloud payment")


def test_defaults_and_published_sequences_are_read_only_then_archived(app, marketing, merchant):
    default = builtin_id(app, merchant.client_id)
    r = template_form(marketing, default, "save")
    assert r.status_code == 400 and "read-only" in text(r)
    sequence_id = new_sequence(marketing)
    two = ((0, default, "hard"), (48, default, "any"))
    assert save_sequence(marketing, sequence_id, *two).status_code == 302
    page = f"/dashboard/dunning/sequences/{sequence_id}"
    # removing a step on save
    r = save_sequence(marketing, sequence_id, *two, **{"steps-1-remove": "y"})
    assert r.status_code == 302
    assert marketing.post(f"{page}/publish", data={"csrf_token": token(marketing, page)}).status_code == 302
    r = save_sequence(marketing, sequence_id, (0, default, "any"))
    assert r.status_code == 400 and "cannot be edited" in text(r)
    r = marketing.post(f"{page}/new-version", data={"csrf_token": token(marketing, page)})
    assert r.status_code == 302
    draft_id = r.headers["Location"].rsplit("/", 1)[1]
    assert "Main v2" in text(marketing.get(r.headers["Location"]))
    assert marketing.post(f"{page}/archive", data={"csrf_token": token(marketing, page)}).status_code == 302
    with app.app_context():
        assert db.session.get(DunningSequence, sequence_id).status == "archived"
        assert len(db.session.get(DunningSequence, sequence_id).steps) == 1
        assert db.session.get(DunningSequence, draft_id).status == "draft"
        assert sequences.published_for(merchant.client_id) is None
    assert "No sequence is live" in text(marketing.get(page))


def test_finance_cannot_see_or_post_to_the_editor(app, client, merchant):
    login(client, "finance@acme.example")
    nav = text(client.get("/dashboard/recoveries"))
    assert 'href="/dashboard/dunning"' not in nav
    default = builtin_id(app, merchant.client_id)
    assert client.get("/dashboard/dunning").status_code == 403
    assert client.get(f"/dashboard/dunning/templates/{default}").status_code == 403
    csrf = token(client, "/dashboard/recoveries")
    for path in (f"/dashboard/dunning/templates/{default}/copy", "/dashboard/dunning/templates/new",
                 "/dashboard/dunning/sequences/new"):
        assert client.post(path, data={"csrf_token": csrf, "name": "Mine", "subject": "s", "html": "h",
                                       "text": "t", "save": "Save"}).status_code == 403, path
    with app.app_context():
        assert len(db.session.execute(select(MessageTemplate)).scalars().all()) == 3
        assert db.session.execute(select(DunningSequence)).scalars().all() == []


@pytest.mark.parametrize("role", ["admin", "marketing"])
def test_admin_and_marketing_see_the_nav_link(client, merchant, role):
    login(client, f"{role}@acme.example")
    assert 'href="/dashboard/dunning"' in text(client.get("/dashboard/recoveries"))
    assert client.get("/dashboard/dunning").status_code == 200
    assert client.get("/dashboard/dunning/templates/new").status_code == 200


def test_posts_without_a_csrf_token_are_refused(app, marketing, merchant):
    template_id = copy(marketing, builtin_id(app, merchant.client_id))
    r = marketing.post(f"/dashboard/dunning/templates/{template_id}", data={
        "name": "x", "subject": NEW_SUBJECT, "html": NEW_HTML, "text": NEW_TEXT, "save": "Save"})
    assert r.status_code == 400 and "This form has expired" in text(r)
    sequence_id = new_sequence(marketing)
    assert marketing.post(f"/dashboard/dunning/templates/{template_id}/copy").status_code == 400
    assert marketing.post(f"/dashboard/dunning/sequences/{sequence_id}/publish").status_code == 400
    assert marketing.post("/dashboard/dunning/sequences/new", data={"name": "x"}).status_code == 400
    r = marketing.post(f"/dashboard/dunning/sequences/{sequence_id}",
                       data={"name": "x", "save": "Save draft", "quiet_start": "1", "quiet_end": "2"})
    assert r.status_code == 400 and "This form has expired" in text(r)
    with app.app_context():
        assert db.session.get(MessageTemplate, template_id).current_version == 1
        assert len(db.session.execute(select(DunningSequence)).scalars().all()) == 1
        assert db.session.get(DunningSequence, sequence_id).name == "Main"


def test_another_clients_templates_and_sequences_are_404(app, marketing, merchant, other):
    csrf = token(marketing)
    for template_id in (other["template"], other["builtin"], "01NOPE"):
        base = f"/dashboard/dunning/templates/{template_id}"
        assert marketing.get(base).status_code == 404
        assert marketing.post(base, data={"csrf_token": csrf, "name": "x", "subject": "s", "html": "h",
                                          "text": "t", "save": "Save"}).status_code == 404
        assert marketing.post(f"{base}/copy", data={"csrf_token": csrf}).status_code == 404
        assert marketing.post(f"{base}/test", data={"test-csrf_token": csrf,
                                                    "test-to_address": "me@acme.example"}).status_code == 404
    base = f"/dashboard/dunning/sequences/{other['sequence']}"
    assert marketing.get(base).status_code == 404
    for action in ("", "/publish", "/archive", "/new-version"):
        assert marketing.post(base + action, data={"csrf_token": csrf}).status_code == 404, action
    listing = text(marketing.get("/dashboard/dunning"))
    assert "Theirs" not in listing and "Their sequence" not in listing
    with app.app_context():
        theirs = db.session.get(DunningSequence, other["sequence"])
        assert theirs.status == "draft" and theirs.version == 1


# --- the rendered preview (its own URL, its own CSP) and who saved what ----------------------------

FRAME = re.compile(r'<iframe class="preview-frame" id="preview-frame" sandbox '
                   r'src="(/dashboard/dunning/previews/[A-Za-z0-9_-]{43})"')


def frame_url(response) -> str:
    found = FRAME.search(response.get_data(as_text=True))
    assert found, "no preview frame on the editor page"
    return found.group(1)


def test_the_preview_frame_shows_the_rendered_html_under_its_own_policy(app, marketing, merchant):
    template_id = copy(marketing, builtin_id(app, merchant.client_id))
    page = marketing.get(f"/dashboard/dunning/templates/{template_id}")
    policy = page.headers["Content-Security-Policy"]
    assert "frame-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "<details>" in page.get_data(as_text=True)  # the escaped source, collapsed

    saved = marketing.get(frame_url(page))
    assert saved.status_code == 200 and saved.mimetype == "text/html"
    assert saved.headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'none'; "
        "base-uri 'none'; frame-ancestors 'self'; sandbox")
    assert saved.headers["Referrer-Policy"] == "same-origin"  # the sandbox's origin is opaque: none
    assert saved.headers["Cache-Control"] == "no-store"
    body = saved.get_data(as_text=True)
    assert body.startswith("<!DOCTYPE html>") and '<td class="header" style="background: #' in body  # inlined
    assert "Acme Cloud" in body and "{{" not in body

    # unsaved edits: "Preview" renders them into a new frame, saves nothing
    r = template_form(marketing, template_id, "preview")
    assert r.status_code == 200
    edited = marketing.get(frame_url(r))
    assert edited.status_code == 200
    assert edited.get_data(as_text=True) == (
        '<p>Hello jane.doe@example.com</p><p><a href="https://pay.example.com/api/recovery/update-card/'
        'sample-link">Update</a></p>')
    assert frame_url(r) != frame_url(page)
    with app.app_context():
        assert db.session.get(MessageTemplate, template_id).current_version == 1


def test_a_preview_is_only_for_the_user_who_rendered_it(app, client, marketing, merchant, other):
    template_id = copy(marketing, builtin_id(app, merchant.client_id))
    url = frame_url(marketing.get(f"/dashboard/dunning/templates/{template_id}"))
    assert marketing.get(url).status_code == 200
    with app.app_context():
        create_user(other["client"], "marketing@other.example", "marketing", PASSWORD)
        create_user(merchant.client_id, "marketing2@acme.example", "marketing", PASSWORD)

    for email, status in (("marketing@other.example", 404),  # another client's user
                          ("marketing2@acme.example", 404),  # the same client, another user
                          ("admin@acme.example", 404),
                          ("finance@acme.example", 403)):    # no access to the editor at all
        someone = app.test_client()
        assert login(someone, email).status_code == 302
        r = someone.get(url)
        assert r.status_code == status, email
        assert "Acme Cloud" not in r.get_data(as_text=True)
    r = app.test_client().get(url)  # signed out
    assert r.status_code == 302 and "/dashboard/login" in r.headers["Location"]


def test_an_unknown_or_expired_preview_is_404(app, marketing, merchant):
    template_id = copy(marketing, builtin_id(app, merchant.client_id))
    url = frame_url(marketing.get(f"/dashboard/dunning/templates/{template_id}"))
    key = url.rsplit("/", 1)[1]
    redis = app.extensions["revtain.redis"]
    (stored,) = [k for k in redis.keys("revtain:dashboard:preview:*") if k.decode().endswith(key)]
    assert 0 < redis.ttl(stored) <= 600  # kept for ten minutes at most
    for unknown in ("A" * 43, "short", "../" + key, key + "x", "%00" + key[1:]):
        assert marketing.get(f"/dashboard/dunning/previews/{unknown}").status_code == 404, unknown
    redis.expire(stored, 0)  # its time is up
    r = marketing.get(url)
    assert r.status_code == 404 and "There is nothing here" in text(r)


def test_each_version_records_who_saved_it_and_a_sequence_who_published_it(app, client, marketing,
                                                                           merchant):
    default = builtin_id(app, merchant.client_id)
    history = text(marketing.get(f"/dashboard/dunning/templates/{default}")).split("Version history")[1]
    assert "system" in history
    template_id = copy(marketing, default)
    assert template_form(marketing, template_id, "save").status_code == 302

    admin = app.test_client()
    assert login(admin, "admin@acme.example").status_code == 302
    assert template_form(admin, template_id, "save", subject="Second").status_code == 302
    with app.app_context():
        versions = db.session.get(MessageTemplate, template_id).versions
        assert [(v.version, v.author_email) for v in versions] == [
            (1, "marketing@acme.example"), (2, "marketing@acme.example"), (3, "admin@acme.example")]
        assert all(v.author_id for v in versions)
        assert {v.author_email for v in db.session.get(MessageTemplate, default).versions} == {None}
    history = text(marketing.get(f"/dashboard/dunning/templates/{template_id}")).split("Version history")[1]
    rows = re.findall(r"<tr><td>(\d)[^<]*</td>.*?<td>([^<]+)</td>\s*<td>", history, re.S)
    assert rows == [("3", "admin@acme.example"), ("2", "marketing@acme.example"),
                    ("1", "marketing@acme.example")]

    sequence_id = new_sequence(marketing)
    assert save_sequence(marketing, sequence_id, (0, template_id, "any")).status_code == 302
    page = f"/dashboard/dunning/sequences/{sequence_id}"
    assert marketing.post(f"{page}/publish", data={"csrf_token": token(marketing, page)}).status_code == 302
    assert "by marketing@acme.example" in text(marketing.get(page))
    with app.app_context():
        sequence = db.session.get(DunningSequence, sequence_id)
        assert sequence.published_by_email == "marketing@acme.example" and sequence.published_by_id


def test_a_preview_while_redis_is_down_is_a_friendly_503(make_app, merchant, marketing):
    down = make_app(REDIS_URL="redis://127.0.0.1:9/0")  # nothing listens on port 9
    someone = down.test_client()
    assert login(someone, "marketing@acme.example").status_code == 302
    r = someone.get("/dashboard/dunning/previews/" + "A" * 43)
    assert r.status_code == 503 and "Try again in a moment" in text(r)


# --- a template that would hold a worker is refused wherever it renders (test_template_limits.py) --


def test_the_editor_refuses_to_preview_or_save_it(app, marketing, merchant):
    template_id = copy(marketing, builtin_id(app, merchant.client_id))
    for action in ("preview", "save"):
        r = template_form(marketing, template_id, action, html=NESTED_LOOPS)
        assert r.status_code == 400
        assert "The template does not render: Html: rendering it takes too much work" in text(r)
    with app.app_context():
        assert db.session.get(MessageTemplate, template_id).current_version == 1


def test_the_services_refuse_to_save_test_send_or_publish_it(app, merchant, inbox):
    default = builtin_id(app, merchant.client_id)
    with app.app_context():
        client = db.session.get(Client, merchant.client_id)
        with pytest.raises(TemplateError, match="too much work"):
            sequences.create_template(client, "Slow", "Subject", NESTED_LOOPS, "text")
        template = db.session.get(MessageTemplate, default)
        mine = sequences.copy_template(template, "Mine")
        with pytest.raises(TemplateError, match="too much work"):
            sequences.update_template(mine, subject="Subject", html=NESTED_LOOPS, text="text")
        db.session.rollback()
        # one saved before the bounds existed: it can be neither test-sent nor published
        mine.html = NESTED_LOOPS
        db.session.commit()
        with pytest.raises(TemplateError, match="too much work"):
            sequences.test_send(mine, "me@acme.example")
        sequence = sequences.create_sequence(client, "Main", [StepSpec(mine.id, 0)])
        with pytest.raises(TemplateError, match="too much work"):
            sequences.publish(sequence)
    assert inbox.received == []


def test_a_real_send_of_such_a_template_fails_the_message_and_frees_the_worker(app, merchant, inbox):
    default = builtin_id(app, merchant.client_id)
    with app.app_context():
        client = db.session.get(Client, merchant.client_id)
        template = sequences.copy_template(db.session.get(MessageTemplate, default), "Mine")
        steps = [StepSpec(template.id, 0)]
        sequence = sequences.create_sequence(client, "Main", steps, hold_while_retrying=False)
        sequences.publish(sequence)
        version = db.session.execute(
            select(TemplateVersion).where(TemplateVersion.template_id == template.id)
        ).scalar_one()
        version.html = NESTED_LOOPS  # as if it had been published before the bounds existed
        db.session.commit()
    r = app.test_client().post(
        "/api/recovery/execute",
        headers={"X-API-KEY": merchant.api_key},
        json={"paymentMethodToken": "pm_old", "amount": 4900, "originalDeclineCode": "expired_card",
              "customerEmail": "jo@example.com"},
    )
    assert r.status_code in (200, 202, 403)
    sweep(app)  # the real scheduler tick and an RQ worker run the send
    with app.app_context():
        message = db.session.execute(select(Message)).scalar_one()
        assert message.status == "failed" and "rendering it takes too much work" in message.error
        assert send_message(message.id) == "skipped"  # failed for good, not retried
    assert inbox.received == []
