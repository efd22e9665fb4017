"""Dunning: the sequences a merchant publishes, their steps, the templates marketing edits (with
immutable versions) and the messages sent to customers, one row each with its due time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, due_indexes, new_ulid

# Sequence states. Only one published sequence per client (a partial unique index holds it).
DRAFT = "draft"
PUBLISHED = "published"
ARCHIVED = "archived"
SEQUENCE_STATUSES = (DRAFT, PUBLISHED, ARCHIVED)

EMAIL = "email"
SMS = "sms"
CHANNELS = (EMAIL, SMS)  # SMS: opt-in per client (Client.sms_dunning_enabled)
APPLIES_TO = ("any", "soft", "hard", "auth_required")

# Message states.
PENDING = "pending"
SENT = "sent"
CANCELLED = "cancelled"
FAILED = "failed"


class MessageTemplate(db.Model):
    """A template marketing edits. Every save is also a ``TemplateVersion``; sequences send the
    version pinned when they were published."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("client_id", "name", name="uq_message_templates_client_name"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    # The default a new client gets ("soft_decline", "new_card", "authentication"); read-only,
    # to be copied and edited. None for the merchant's own templates.
    builtin: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    versions: Mapped[list[TemplateVersion]] = relationship(
        back_populates="template", order_by="TemplateVersion.version"
    )


class TemplateVersion(db.Model):
    """An immutable snapshot of a template, as saved."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version", name="uq_template_versions_version"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    template_id: Mapped[str] = mapped_column(ForeignKey("message_templates.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Who saved it: the dashboard user, kept as their id and email at the time (users are deleted
    # when removed from a team; the history keeps its author). None: Revtain itself (the defaults).
    author_id: Mapped[str | None] = mapped_column(String(26))
    author_email: Mapped[str | None] = mapped_column(String(320))

    template: Mapped[MessageTemplate] = relationship(back_populates="versions")


class DunningSequence(db.Model):
    __tablename__ = "dunning_sequences"
    __table_args__ = (
        Index(
            "uq_dunning_sequences_one_published",
            "client_id",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # No email while a smart retry is pending: the retry may recover the payment by itself.
    hold_while_retrying: Mapped[bool] = mapped_column(Boolean, default=True)
    # The customer's quiet hours, in the client's timezone: [start, end), wrapping midnight.
    quiet_hours_start: Mapped[int] = mapped_column(Integer, default=21)
    quiet_hours_end: Mapped[int] = mapped_column(Integer, default=8)
    # The merchant's sender address (a verified sending domain); None means MAIL_FROM.
    from_address: Mapped[str | None] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who published it, as on ``TemplateVersion`` (id and email at the time; None: not from the dashboard).
    published_by_id: Mapped[str | None] = mapped_column(String(26))
    published_by_email: Mapped[str | None] = mapped_column(String(320))

    steps: Mapped[list[DunningStep]] = relationship(
        back_populates="sequence", order_by="DunningStep.position", cascade="all, delete-orphan"
    )


class DunningStep(db.Model):
    __tablename__ = "dunning_steps"
    __table_args__ = (UniqueConstraint("sequence_id", "position", name="uq_dunning_steps_position"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    sequence_id: Mapped[str] = mapped_column(ForeignKey("dunning_sequences.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    delay_hours: Mapped[int] = mapped_column(Integer)  # after the failure
    channel: Mapped[str] = mapped_column(String(16), default=EMAIL)
    template_id: Mapped[str] = mapped_column(ForeignKey("message_templates.id"))
    # Pinned when the sequence is published: what is sent, whatever the template becomes.
    template_version_id: Mapped[str | None] = mapped_column(ForeignKey("template_versions.id"))
    applies_to: Mapped[str] = mapped_column(String(16), default="any")

    sequence: Mapped[DunningSequence] = relationship(back_populates="steps")
    template: Mapped[MessageTemplate] = relationship()
    template_version: Mapped[TemplateVersion | None] = relationship()


class Message(db.Model):
    """One dunning message to a customer: future work, due at ``send_at``."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("recovery_id", "step_id", name="uq_messages_recovery_step"),
        *due_indexes("messages", "send_at"),
        Index("ix_messages_recovery_status", "recovery_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    recovery_id: Mapped[str] = mapped_column(ForeignKey("recoveries.id"))
    step_id: Mapped[str] = mapped_column(ForeignKey("dunning_steps.id"))
    channel: Mapped[str] = mapped_column(String(16), default=EMAIL)
    to_address: Mapped[str] = mapped_column(String(320))
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why it was cancelled (recovered, card_updated, …) or why it failed; never the link.
    error: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(Text)  # as rendered
    card_update_link_id: Mapped[str | None] = mapped_column(String(26))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # Engagement (per-step stats): the first open (pixel, where the merchant allows it), the first
    # click through the tracked link and how many clicks.
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    clicks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The provider's id of what was sent (Twilio's message SID for an SMS).
    provider_ref: Mapped[str | None] = mapped_column(String(64))

    step: Mapped[DunningStep] = relationship()


class Unsubscribe(db.Model):
    """A customer (by email, per client) who asked for no more dunning emails."""

    __tablename__ = "dunning_unsubscribes"
    __table_args__ = (UniqueConstraint("client_id", "email", name="uq_dunning_unsubscribes_email"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CardExpiryReminder(db.Model):
    """The one reminder sent for a card on file (token and expiry) before it expires: the unique
    row makes the reminder idempotent across scheduler ticks and concurrent schedulers."""

    __tablename__ = "card_expiry_reminders"
    __table_args__ = (
        UniqueConstraint("client_id", "payment_method_token", "exp_year", "exp_month",
                         name="uq_card_expiry_reminders_card"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    recovery_id: Mapped[str] = mapped_column(ForeignKey("recoveries.id"), index=True)
    payment_method_token: Mapped[str] = mapped_column(String(512))
    exp_year: Mapped[int] = mapped_column(Integer)
    exp_month: Mapped[int] = mapped_column(Integer)
    to_address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)  # pending | sending | sent | failed
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When a job took it: a "sending" row whose lease has run out (its worker died) is sent again.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
