"""The template editor's extras: the live preview the editor's script asks for as you type, version
comparison (``difflib``) and restore, and the confirmation step before a sequence is published.

The live preview is progressive enhancement: without JavaScript the Preview button renders the
same thing. The script is a static file (``static/dunning-editor.js``) allowed by the editor page's
own policy (a nonce, and ``connect-src 'self'`` for its requests); no page has inline script.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..dunning import sequences
from ..dunning.sequences import SequenceError
from ..dunning.templates import TemplateError, preview
from ..extensions import db
from ..models import MessageTemplate
from ..models.dunning import DRAFT, TemplateVersion
from . import bp, csp_nonce, current_client, previews
from .auth import requires
from .dunning_forms import ActionForm

MAX_LIVE_CHARS = 300_000


def editor_policy() -> str:
    """The editor page's CSP: the dashboard's, plus its one script file and that script's requests."""
    nonce = csp_nonce()
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; connect-src 'self'; style-src 'nonce-{nonce}'; "
        "img-src 'self' https: data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )


@bp.post("/dunning/templates/live-preview")
@requires("dunning")
def dunning_live_preview():
    """The posted subject, HTML and text rendered with the sample data, as JSON (nothing saved)."""
    if not ActionForm().validate_on_submit():
        return jsonify(error="The form has expired: reload the page."), 400
    subject, html, text = (request.form.get(k, "") for k in ("subject", "html", "text"))
    if len(subject) + len(html) + len(text) > MAX_LIVE_CHARS:
        return jsonify(error="The template is too long to preview."), 400
    html, text = html.replace("\r\n", "\n"), text.replace("\r\n", "\n")
    try:
        rendered = preview(subject.strip(), html, text, current_client())
    except TemplateError as exc:
        return jsonify(error=f"The template does not render: {exc}", part=exc.part), 200
    return jsonify(subject=rendered.subject, text=rendered.text, html=rendered.html,
                   preview_url=previews.store(rendered.html))


# --- versions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk" or "same"
    text: str


def diff_lines(old: str, new: str, old_label: str, new_label: str) -> list[DiffLine]:
    lines = []
    changes = difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm="", n=2)
    for line in changes:
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        lines.append(DiffLine(kind, line))
    return lines


def _version(template: MessageTemplate, number: int) -> TemplateVersion:
    for version in template.versions:
        if version.version == number:
            return version
    abort(404)


def _own(template_id: str) -> MessageTemplate:
    template = db.session.get(MessageTemplate, template_id)
    if template is None or template.client_id != current_client().id:
        abort(404)
    return template


@bp.get("/dunning/templates/<template_id>/compare")
@requires("dunning")
def dunning_compare(template_id: str):
    template = _own(template_id)
    try:
        old_n = int(request.args.get("from", template.current_version - 1))
        new_n = int(request.args.get("to", template.current_version))
    except ValueError:
        abort(400)
    old, new = _version(template, old_n), _version(template, new_n)
    parts = [(label, diff_lines(getattr(old, key), getattr(new, key), f"version {old_n}", f"version {new_n}"))
             for key, label in (("subject", "Subject"), ("html", "HTML part"), ("text", "Text part"))]
    return render_template("dashboard/dunning_compare.html", template=template, old=old, new=new, parts=parts,
                           action_form=ActionForm(formdata=None))


@bp.post("/dunning/templates/<template_id>/versions/<int:number>/restore")
@requires("dunning")
def dunning_restore(template_id: str, number: int):
    """Save version ``number``'s content as a new version (history is never rewritten)."""
    template = _own(template_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    old = _version(template, number)
    try:
        sequences.update_template(template, subject=old.subject, html=old.html, text=old.text,
                                  author=current_user._get_current_object())
    except (SequenceError, TemplateError) as exc:
        db.session.rollback()
        flash(f"Version {number} was not restored: {exc}.", "error")
        return redirect(url_for("dashboard.dunning_template", template_id=template_id))
    flash(f"Restored version {number} as version {template.current_version}.", "success")
    return redirect(url_for("dashboard.dunning_template", template_id=template.id))


# --- publishing ------------------------------------------------------------------------------------


@bp.get("/dunning/sequences/<sequence_id>/publish")
@requires("dunning")
def dunning_publish_confirm(sequence_id: str):
    """What publishing will do, before it is done: which sequence goes live, which is archived,
    which template versions are pinned, and when each step is sent."""
    from .dunning import _own_sequence

    client = current_client()
    sequence = _own_sequence(client, sequence_id)
    if sequence.status != DRAFT:
        return redirect(url_for("dashboard.dunning_sequence", sequence_id=sequence.id))
    return render_template("dashboard/dunning_publish.html", sequence=sequence,
                           live=sequences.published_for(client.id), action_form=ActionForm(formdata=None))
