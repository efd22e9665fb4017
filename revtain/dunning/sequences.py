"""The services behind the editor: templates (every save an immutable version), sequences (draft,
published, archived; edits make a new draft version), publishing, previews and test sends.

Nothing reaches a customer until a sequence is published (Decision 1). Publishing pins, on each
step, the template version it sends, and archives the client's previously published sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..clock import now as clock_now
from ..extensions import db
from ..models import Client, User
from ..models.base import new_ulid
from ..models.dunning import (
    APPLIES_TO,
    ARCHIVED,
    CHANNELS,
    DRAFT,
    EMAIL,
    PUBLISHED,
    DunningSequence,
    DunningStep,
    MessageTemplate,
    TemplateVersion,
)
from . import mailer
from .templates import DEFAULT_TEMPLATES, Rendered, preview, sample_variables, sender_name

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
MAX_STEPS = 20
MAX_DELAY_HOURS = 24 * 90


class SequenceError(ValueError):
    """Input a person must correct; the message says what and how."""


@dataclass(frozen=True)
class StepSpec:
    template_id: str
    delay_hours: int
    applies_to: str = "any"
    channel: str = EMAIL


# Templates


def install_default_templates(client: Client, now: datetime | None = None) -> list[MessageTemplate]:
    """Give a client the default templates it does not have yet (soft decline, needs a new card,
    needs authentication). They send nothing by themselves."""
    now = now or clock_now()
    have = set(
        db.session.execute(
            select(MessageTemplate.builtin).where(MessageTemplate.client_id == client.id,
                                                  MessageTemplate.builtin.is_not(None))
        ).scalars()
    )
    added = []
    for key, spec in DEFAULT_TEMPLATES.items():
        if key in have:
            continue
        template = MessageTemplate(
            client_id=client.id, name=spec["name"], subject=spec["subject"], html=spec["html"],
            text=spec["text"], current_version=1, builtin=key, created_at=now, updated_at=now,
        )
        db.session.add(template)
        db.session.flush()
        _snapshot(template, now, None)
        added.append(template)
    db.session.commit()
    return added


def _snapshot(template: MessageTemplate, now: datetime, author: User | None) -> TemplateVersion:
    """The saved template as an immutable version; ``author`` None: Revtain itself (the defaults)."""
    version = TemplateVersion(
        template_id=template.id, version=template.current_version, subject=template.subject,
        html=template.html, text=template.text, created_at=now,
        author_id=author.id if author else None, author_email=author.email if author else None,
    )
    db.session.add(version)
    return version


def _check_name(client_id: str, name: str, template_id: str | None = None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise SequenceError("a template needs a name of 1 to 200 characters")
    clash = db.session.execute(
        select(MessageTemplate.id).where(MessageTemplate.client_id == client_id, MessageTemplate.name == name)
    ).scalar_one_or_none()
    if clash is not None and clash != template_id:
        raise SequenceError(f"there is already a template named {name!r}")
    return name


def create_template(client: Client, name: str, subject: str, html: str, text: str, *,
                    author: User | None = None) -> MessageTemplate:
    """A new template saved by ``author``; refused (``TemplateError``) unless it renders with
    sample data."""
    preview(subject, html, text, client)
    now = clock_now()
    template = MessageTemplate(
        client_id=client.id, name=_check_name(client.id, name), subject=subject, html=html, text=text,
        current_version=1, builtin=None, created_at=now, updated_at=now,
    )
    db.session.add(template)
    db.session.flush()
    _snapshot(template, now, author)
    db.session.commit()
    return template


def copy_template(template: MessageTemplate, name: str, *, author: User | None = None) -> MessageTemplate:
    client = db.session.get(Client, template.client_id)
    return create_template(client, name, template.subject, template.html, template.text, author=author)


def update_template(
    template: MessageTemplate, *, subject: str, html: str, text: str, name: str | None = None,
    author: User | None = None,
) -> MessageTemplate:
    """Save a new version; refused (``TemplateError``) unless it renders. Published sequences keep
    sending the version they pinned until they are published again."""
    if template.builtin:
        raise SequenceError("default templates are read-only: copy it, then edit the copy")
    client = db.session.get(Client, template.client_id)
    preview(subject, html, text, client)
    now = clock_now()
    if name is not None:
        template.name = _check_name(template.client_id, name, template.id)
    template.subject, template.html, template.text = subject, html, text
    template.current_version += 1
    template.updated_at = now
    _snapshot(template, now, author)
    db.session.commit()
    return template


def preview_template(template: MessageTemplate) -> Rendered:
    return preview(template.subject, template.html, template.text,
                   db.session.get(Client, template.client_id))


def test_send(template: MessageTemplate, to_address: str, from_address: str | None = None) -> str:
    """Send the template, rendered with sample data, to ``to_address`` (a person on the
    merchant's team). Returns where it went."""
    if not _EMAIL.match(to_address or ""):
        raise SequenceError(f"not an email address: {to_address!r}")
    client = db.session.get(Client, template.client_id)
    rendered = preview(template.subject, template.html, template.text, client)
    email = mailer.build(
        from_name=sender_name(client), from_address=from_address or client.sender_address,
        reply_to=client.sender_reply_to, to=to_address,
        subject=f"[Test] {rendered.subject}", text=rendered.text, html=rendered.html,
        message_id=f"test.{new_ulid()}",
    )
    return mailer.send(email)


# Sequences


def _validate_steps(client: Client, steps: list[StepSpec]) -> None:
    if len(steps) > MAX_STEPS:
        raise SequenceError(f"a sequence has at most {MAX_STEPS} steps")
    for n, step in enumerate(steps, 1):
        if step.channel not in CHANNELS:
            raise SequenceError(f"step {n}: channel must be email (SMS is not available yet)")
        if step.applies_to not in APPLIES_TO:
            raise SequenceError(f"step {n}: applies to must be one of {', '.join(APPLIES_TO)}")
        if not isinstance(step.delay_hours, int) or not 0 <= step.delay_hours <= MAX_DELAY_HOURS:
            raise SequenceError(f"step {n}: delay must be 0 to {MAX_DELAY_HOURS} hours after the failure")
        template = db.session.get(MessageTemplate, step.template_id)
        if template is None or template.client_id != client.id:
            raise SequenceError(f"step {n}: no such template")


def _validate_settings(quiet_hours: tuple[int, int], from_address: str | None, reply_to: str | None) -> None:
    if not all(isinstance(h, int) and 0 <= h <= 23 for h in quiet_hours):
        raise SequenceError("quiet hours are whole hours from 0 to 23")
    for label, address in (("from address", from_address), ("reply-to", reply_to)):
        if address:
            check_address(label, address)


def check_address(label: str, address: str) -> None:
    if not _EMAIL.match(address):
        raise SequenceError(f"{label} is not an email address: {address!r}")


def _set_steps(sequence: DunningSequence, steps: list[StepSpec]) -> None:
    sequence.steps.clear()
    db.session.flush()
    for position, step in enumerate(steps, 1):
        sequence.steps.append(DunningStep(
            position=position, delay_hours=step.delay_hours, channel=step.channel,
            template_id=step.template_id, applies_to=step.applies_to,
        ))


def create_sequence(
    client: Client,
    name: str,
    steps: list[StepSpec],
    *,
    hold_while_retrying: bool = True,
    quiet_hours: tuple[int, int] = (21, 8),
    from_address: str | None = None,
    reply_to: str | None = None,
) -> DunningSequence:
    """A draft sequence (version 1). It sends nothing until it is published."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise SequenceError("a sequence needs a name of 1 to 200 characters")
    _validate_steps(client, steps)
    _validate_settings(quiet_hours, from_address, reply_to)
    now = clock_now()
    sequence = DunningSequence(
        client_id=client.id, name=name, status=DRAFT, version=1, hold_while_retrying=hold_while_retrying,
        quiet_hours_start=quiet_hours[0], quiet_hours_end=quiet_hours[1], from_address=from_address,
        reply_to=reply_to, created_at=now, updated_at=now,
    )
    db.session.add(sequence)
    _set_steps(sequence, steps)
    db.session.commit()
    return sequence


def update_sequence(
    sequence: DunningSequence,
    *,
    name: str | None = None,
    steps: list[StepSpec] | None = None,
    hold_while_retrying: bool | None = None,
    quiet_hours: tuple[int, int] | None = None,
    from_address: str | None = None,
    reply_to: str | None = None,
) -> DunningSequence:
    """Edit a draft. A published sequence is read-only: edit ``new_version(sequence)``."""
    if sequence.status != DRAFT:
        raise SequenceError(f"a {sequence.status} sequence cannot be edited: make a new version of it")
    client = db.session.get(Client, sequence.client_id)
    if steps is not None:
        _validate_steps(client, steps)
    _validate_settings(quiet_hours or (0, 0), from_address, reply_to)
    if name is not None:
        if not name.strip() or len(name.strip()) > 200:
            raise SequenceError("a sequence needs a name of 1 to 200 characters")
        sequence.name = name.strip()
    if steps is not None:
        _set_steps(sequence, steps)
    if hold_while_retrying is not None:
        sequence.hold_while_retrying = hold_while_retrying
    if quiet_hours is not None:
        sequence.quiet_hours_start, sequence.quiet_hours_end = quiet_hours
    if from_address is not None:
        sequence.from_address = from_address or None
    if reply_to is not None:
        sequence.reply_to = reply_to or None
    sequence.updated_at = clock_now()
    db.session.commit()
    return sequence


def new_version(sequence: DunningSequence) -> DunningSequence:
    """A draft copy of a sequence, numbered after the newest version of its name."""
    latest = db.session.execute(
        select(func.max(DunningSequence.version)).where(
            DunningSequence.client_id == sequence.client_id, DunningSequence.name == sequence.name)
    ).scalar_one()
    now = clock_now()
    draft = DunningSequence(
        client_id=sequence.client_id, name=sequence.name, status=DRAFT, version=(latest or 0) + 1,
        hold_while_retrying=sequence.hold_while_retrying, quiet_hours_start=sequence.quiet_hours_start,
        quiet_hours_end=sequence.quiet_hours_end, from_address=sequence.from_address,
        reply_to=sequence.reply_to, created_at=now, updated_at=now,
    )
    db.session.add(draft)
    _set_steps(draft, [StepSpec(s.template_id, s.delay_hours, s.applies_to, s.channel)
                       for s in sequence.steps])
    db.session.commit()
    return draft


def publish(sequence: DunningSequence, *, by: User | None = None) -> DunningSequence:
    """Make this the client's sequence (``by`` a dashboard user): pin each step's current template
    version (each must render), archive the sequence published before. Pending messages of that
    one are cancelled when they come due."""
    if sequence.status != DRAFT:
        raise SequenceError(f"only a draft can be published (this one is {sequence.status})")
    if not sequence.steps:
        raise SequenceError("a sequence needs at least one step to be published")
    client = db.session.get(Client, sequence.client_id)
    now = clock_now()
    for step in sequence.steps:
        template = step.template
        preview(template.subject, template.html, template.text, client)  # TemplateError if broken
        step.template_version_id = db.session.execute(
            select(TemplateVersion.id).where(TemplateVersion.template_id == template.id,
                                             TemplateVersion.version == template.current_version)
        ).scalar_one()
    previous = published_for(client.id)
    if previous is not None:
        previous.status = ARCHIVED
        previous.updated_at = now
        db.session.flush()
    sequence.status = PUBLISHED
    sequence.published_at = now
    sequence.published_by_id = by.id if by else None
    sequence.published_by_email = by.email if by else None
    sequence.updated_at = now
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SequenceError("another sequence was published at the same time; try again") from None
    return sequence


def archive(sequence: DunningSequence) -> DunningSequence:
    """Stop using a sequence; its pending messages are cancelled when they come due."""
    sequence.status = ARCHIVED
    sequence.updated_at = clock_now()
    db.session.commit()
    return sequence


def published_for(client_id: str) -> DunningSequence | None:
    return db.session.execute(
        select(DunningSequence).where(DunningSequence.client_id == client_id,
                                      DunningSequence.status == PUBLISHED)
    ).scalar_one_or_none()


__all__ = [
    "SequenceError",
    "StepSpec",
    "archive",
    "copy_template",
    "create_sequence",
    "create_template",
    "install_default_templates",
    "new_version",
    "preview_template",
    "publish",
    "published_for",
    "sample_variables",
    "test_send",
    "update_sequence",
    "update_template",
]
