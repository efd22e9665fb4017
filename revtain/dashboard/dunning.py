"""The dunning editor, for marketing and admins: templates (defaults read-only, copied to edit),
every save a new version, a live preview with sample data, test sends; sequences (draft, published,
archived) with their steps, publishing and archiving.

Another client's template or sequence is 404. A template that does not render is refused with the
reason, and nothing is saved. The HTML preview is shown in a sandboxed ``iframe`` (no scripts, no
same origin; see ``previews``) and as escaped source. Every saved version and every publication
records the signed-in user.
"""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from ..dunning import sequences
from ..dunning.mailer import MailError
from ..dunning.sequences import MAX_STEPS, SequenceError, StepSpec
from ..dunning.templates import (
    DEFAULT_TEMPLATES,
    VARIABLES,
    Rendered,
    TemplateError,
    preview,
    sample_variables,
)
from ..extensions import db
from ..models import Client, MessageTemplate
from ..models.dunning import ARCHIVED, DRAFT, PUBLISHED, DunningSequence
from ..models.user import User
from . import bp, current_client, previews
from .auth import requires
from .dunning_editor import editor_policy
from .dunning_forms import (
    APPLIES_LABELS,
    ActionForm,
    NewSequenceForm,
    SequenceForm,
    TemplateForm,
    TestSendForm,
)
from .forms import SelectChoice


def _sentence(message: object) -> str:
    text = str(message)
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _templates(client_id: str) -> list[MessageTemplate]:
    return list(db.session.execute(
        select(MessageTemplate).where(MessageTemplate.client_id == client_id)
        .order_by(MessageTemplate.builtin.is_(None), MessageTemplate.name)
    ).scalars())


def _own_template(client: Client, template_id: str) -> MessageTemplate:
    template = db.session.get(MessageTemplate, template_id)
    if template is None or template.client_id != client.id:
        abort(404)
    return template


def _own_sequence(client: Client, sequence_id: str) -> DunningSequence:
    sequence = db.session.get(DunningSequence, sequence_id)
    if sequence is None or sequence.client_id != client.id:
        abort(404)
    return sequence


def _me() -> User:
    """The signed-in user, recorded as the author of what they save or publish."""
    return current_user._get_current_object()


def _action_form() -> ActionForm:
    return ActionForm(formdata=None)


def _check_action() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


# --- the list ------------------------------------------------------------------------------------


def _list_page(new_sequence: NewSequenceForm | None = None, status: int = 200):
    client = current_client()
    all_sequences = list(db.session.execute(
        select(DunningSequence).where(DunningSequence.client_id == client.id)
        .order_by(DunningSequence.name, DunningSequence.version.desc())
    ).scalars())
    return render_template(
        "dashboard/dunning.html", templates=_templates(client.id), sequences=all_sequences,
        live=sequences.published_for(client.id), action_form=_action_form(),
        new_sequence=new_sequence or NewSequenceForm(formdata=None),
    ), status


@bp.get("/dunning")
@requires("dunning")
def dunning():
    return _list_page()


# --- templates -----------------------------------------------------------------------------------


def _variables(client: Client) -> list[tuple[str, str, str]]:
    sample = sample_variables(client)
    return [(name, description, str(sample.get(name, ""))) for name, description in VARIABLES.items()]


def _template_page(client: Client, template: MessageTemplate | None, form: TemplateForm | None = None,
                   *, rendered: Rendered | None = None, error: str | None = None,
                   test_form: TestSendForm | None = None, status: int = 200):
    if form is None:
        form = TemplateForm(formdata=None, data={
            "name": template.name, "subject": template.subject, "html": template.html, "text": template.text,
        } if template is not None else _new_template_data())
    if rendered is None and error is None:  # the preview beside the form, from the start
        try:
            rendered = preview(form.subject.data or "", form.html.data or "", form.text.data or "", client)
        except TemplateError as exc:
            error = str(exc)
    response = make_response(render_template(
        "dashboard/dunning_template.html", template=template, form=form, rendered=rendered, error=error,
        preview_url=previews.store(rendered.html) if rendered is not None else None,
        variables=_variables(client), test_form=test_form or TestSendForm(formdata=None, prefix="test"),
        action_form=_action_form(), read_only=bool(template and template.builtin),
    ), status)
    response.headers["Content-Security-Policy"] = editor_policy()
    return response


def _new_template_data() -> dict[str, str]:
    start = DEFAULT_TEMPLATES["soft_decline"]
    return {"name": "", "subject": start["subject"], "html": start["html"], "text": start["text"]}


def _template_error(form: TemplateForm, exc: TemplateError) -> str:
    field = {"subject": form.subject, "html": form.html, "text": form.text}.get(exc.part)
    message = _sentence(exc)
    if field is not None:
        field.errors = [*field.errors, message]
    return message


def _edit(client: Client, template: MessageTemplate | None):
    """Preview or save the posted template (``template`` None: a new one)."""
    form = TemplateForm()
    if not form.validate_on_submit():
        return _template_page(client, template, form, status=400,
                              error="The template was not saved: check the fields below.")
    try:
        rendered = preview(form.subject.data, form.html.data, form.text.data, client)
    except TemplateError as exc:
        message = _template_error(form, exc)
        return _template_page(client, template, form, error=f"The template does not render: {message}",
                              status=400)
    if not form.save.data:  # "Preview" (or Enter in a field): show it, save nothing
        return _template_page(client, template, form, rendered=rendered)
    try:
        if template is None:
            template = sequences.create_template(client, form.name.data, form.subject.data, form.html.data,
                                                 form.text.data, author=_me())
        else:
            sequences.update_template(template, name=form.name.data, subject=form.subject.data,
                                      html=form.html.data, text=form.text.data, author=_me())
    except TemplateError as exc:
        db.session.rollback()
        message = _template_error(form, exc)
        return _template_page(client, template, form, error=f"The template does not render: {message}",
                              status=400)
    except SequenceError as exc:
        db.session.rollback()
        message = _sentence(exc)
        if "name" in str(exc):
            form.name.errors = [*form.name.errors, message]
        return _template_page(client, template, form, error=message, status=400)
    flash(f"Saved {template.name}, version {template.current_version}. Published sequences keep sending the "
          "version they pinned until a sequence is published again.", "success")
    return redirect(url_for("dashboard.dunning_template", template_id=template.id))


@bp.route("/dunning/templates/new", methods=["GET", "POST"])
@requires("dunning")
def dunning_new_template():
    client = current_client()
    form = TemplateForm()
    if not form.is_submitted():
        return _template_page(client, None)
    return _edit(client, None)


@bp.route("/dunning/templates/<template_id>", methods=["GET", "POST"])
@requires("dunning")
def dunning_template(template_id: str):
    client = current_client()
    template = _own_template(client, template_id)
    form = TemplateForm()
    if not form.is_submitted():
        return _template_page(client, template)
    if template.builtin:
        return _template_page(client, template, error="Default templates are read-only: copy it, then edit "
                              "the copy.", status=400)
    return _edit(client, template)


def _copy_name(client: Client, name: str) -> str:
    taken = set(db.session.execute(
        select(MessageTemplate.name).where(MessageTemplate.client_id == client.id)).scalars())
    base = f"{name[:180]} (copy)"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{name[:180]} (copy {n})", n + 1
    return candidate


@bp.post("/dunning/templates/<template_id>/copy")
@requires("dunning")
def dunning_copy_template(template_id: str):
    client = current_client()
    template = _own_template(client, template_id)
    _check_action()
    try:
        copy = sequences.copy_template(template, _copy_name(client, template.name), author=_me())
    except (TemplateError, SequenceError) as exc:
        db.session.rollback()
        return _template_page(client, template, error=f"Could not copy: {_sentence(exc)}", status=400)
    flash(f"Copied to {copy.name}: edit it here, then use it in a sequence.", "success")
    return redirect(url_for("dashboard.dunning_template", template_id=copy.id))


@bp.post("/dunning/templates/<template_id>/test")
@requires("dunning")
def dunning_test_send(template_id: str):
    client = current_client()
    template = _own_template(client, template_id)
    form = TestSendForm(prefix="test")
    if form.validate_on_submit():
        try:
            where = sequences.test_send(template, form.to_address.data)
        except (SequenceError, TemplateError, MailError, OSError) as exc:
            form.to_address.errors = [*form.to_address.errors, f"Not sent: {_sentence(exc)}"]
        else:
            flash(f"Test email sent to {form.to_address.data}"
                  f"{' (written to the outbox)' if not where.startswith('smtp:') else ''}.", "success")
            return redirect(url_for("dashboard.dunning_template", template_id=template.id))
    return _template_page(client, template, test_form=form, status=400)


# --- sequences -----------------------------------------------------------------------------------


def _template_choices(client: Client) -> list:
    return [SelectChoice(t.id, f"{t.name} (default)" if t.builtin else t.name) for t in _templates(client.id)]


def _set_choices(form: SequenceForm, choices: list) -> None:
    for entry in form.steps:
        entry.form.template_id.choices = choices


def _sequence_data(sequence: DunningSequence) -> dict:
    return {
        "name": sequence.name, "hold_while_retrying": sequence.hold_while_retrying,
        "quiet_start": sequence.quiet_hours_start, "quiet_end": sequence.quiet_hours_end,
        "from_address": sequence.from_address or "", "reply_to": sequence.reply_to or "",
        "steps": [{"delay_hours": s.delay_hours, "channel": s.channel, "template_id": s.template_id,
                   "applies_to": s.applies_to} for s in sequence.steps],
    }


def _sequence_page(client: Client, sequence: DunningSequence, form: SequenceForm | None = None, *,
                   error: str | None = None, status: int = 200):
    choices = _template_choices(client)
    if form is None:
        form = SequenceForm(formdata=None, data=_sequence_data(sequence))
    _set_choices(form, choices)
    return render_template(
        "dashboard/dunning_sequence.html", sequence=sequence, form=form, error=error,
        live=sequences.published_for(client.id), action_form=_action_form(),
        editable=sequence.status == DRAFT, applies_labels=APPLIES_LABELS, has_templates=bool(choices),
        max_steps=MAX_STEPS,
    ), status


@bp.post("/dunning/sequences/new")
@requires("dunning")
def dunning_new_sequence():
    client = current_client()
    form = NewSequenceForm()
    if not form.validate_on_submit():
        return _list_page(form, 400)
    try:
        sequence = sequences.create_sequence(client, form.name.data, [])
    except SequenceError as exc:
        db.session.rollback()
        form.name.errors = [*form.name.errors, _sentence(exc)]
        return _list_page(form, 400)
    flash(f"Draft {sequence.name} created: add its steps, save, then publish.", "success")
    return redirect(url_for("dashboard.dunning_sequence", sequence_id=sequence.id))


@bp.route("/dunning/sequences/<sequence_id>", methods=["GET", "POST"])
@requires("dunning")
def dunning_sequence(sequence_id: str):
    client = current_client()
    sequence = _own_sequence(client, sequence_id)
    form = SequenceForm()
    if not form.is_submitted():
        return _sequence_page(client, sequence)
    choices = _template_choices(client)
    _set_choices(form, choices)
    if sequence.status != DRAFT:
        return _sequence_page(client, sequence, status=400,
                              error=f"A {sequence.status} sequence cannot be edited: make a new version.")
    if form.add_step.data:
        if not form.validate_on_submit() and form.csrf_token.errors:
            return _sequence_page(client, sequence, form, status=400)
        form = SequenceForm()  # again, without the errors of the fields not filled in yet
        _set_choices(form, choices)
        if len(form.steps) >= MAX_STEPS:
            return _sequence_page(client, sequence, form, error=f"A sequence has at most {MAX_STEPS} steps.",
                                  status=400)
        previous = form.steps.entries[-1].form if form.steps.entries else None
        delay = (previous.delay_hours.data or 0) + 24 if previous is not None else 0
        default_template = choices[0].value if choices else None
        form.steps.append_entry({"delay_hours": delay, "channel": "email", "template_id": default_template,
                                 "applies_to": "any"})
        _set_choices(form, choices)
        return _sequence_page(client, sequence, form)

    # Save: the ticked steps are dropped, the others validated and saved in their order.
    form.steps.entries = [e for e in form.steps.entries if not e.form.remove.data]
    if not form.validate_on_submit():
        return _sequence_page(client, sequence, form, error="The sequence was not saved: check the fields "
                              "below.", status=400)
    steps = [StepSpec(template_id=e.form.template_id.data, delay_hours=e.form.delay_hours.data,
                      applies_to=e.form.applies_to.data, channel=e.form.channel.data) for e in form.steps]
    try:
        sequences.update_sequence(
            sequence, name=form.name.data, steps=steps,
            hold_while_retrying=bool(form.hold_while_retrying.data),
            quiet_hours=(form.quiet_start.data, form.quiet_end.data),
            from_address=form.from_address.data or "", reply_to=form.reply_to.data or "",
        )
    except SequenceError as exc:
        db.session.rollback()
        sequence = _own_sequence(client, sequence_id)
        return _sequence_page(client, sequence, form, error=_sentence(exc), status=400)
    flash(f"Draft {sequence.name} saved. Publish it to start sending it.", "success")
    return redirect(url_for("dashboard.dunning_sequence", sequence_id=sequence.id))


@bp.post("/dunning/sequences/<sequence_id>/publish")
@requires("dunning")
def dunning_publish(sequence_id: str):
    client = current_client()
    sequence = _own_sequence(client, sequence_id)
    _check_action()
    previous = sequences.published_for(client.id)
    previous_label = f"{previous.name} v{previous.version}" if previous is not None else None
    try:
        sequences.publish(sequence, by=_me())
    except (SequenceError, TemplateError) as exc:
        db.session.rollback()
        sequence = _own_sequence(client, sequence_id)
        return _sequence_page(client, sequence, error=f"Not published: {_sentence(exc)}", status=400)
    flash(f"{sequence.name} v{sequence.version} is live"
          + (f"; {previous_label} was archived." if previous_label else "."), "success")
    return redirect(url_for("dashboard.dunning_sequence", sequence_id=sequence.id))


@bp.post("/dunning/sequences/<sequence_id>/archive")
@requires("dunning")
def dunning_archive(sequence_id: str):
    client = current_client()
    sequence = _own_sequence(client, sequence_id)
    _check_action()
    if sequence.status == ARCHIVED:
        return _sequence_page(client, sequence, error="This sequence is already archived.", status=400)
    was_live = sequence.status == PUBLISHED
    sequences.archive(sequence)
    flash(f"{sequence.name} v{sequence.version} archived."
          + (" No sequence is live now: no dunning emails are sent until one is published."
             if was_live else ""),
          "success")
    return redirect(url_for("dashboard.dunning_sequence", sequence_id=sequence.id))


@bp.post("/dunning/sequences/<sequence_id>/new-version")
@requires("dunning")
def dunning_new_version(sequence_id: str):
    client = current_client()
    sequence = _own_sequence(client, sequence_id)
    _check_action()
    draft = sequences.new_version(sequence)
    flash(f"Draft {draft.name} v{draft.version} created from v{sequence.version}.", "success")
    return redirect(url_for("dashboard.dunning_sequence", sequence_id=draft.id))
