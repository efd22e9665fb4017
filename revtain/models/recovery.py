"""A recovery (one failed payment Revtain works on) and the gateway attempts made for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, due_indexes, new_ulid

# Internal states. The API maps "processing" and "queued" to the documented "unknown" + pending.
PROCESSING = "processing"
QUEUED = "queued"
SUCCEEDED = "succeeded"
FAILED = "failed"
BLOCKED = "blocked"
UNKNOWN = "unknown"
AWAITING_CARD = "awaiting_card"  # waiting for a new card from the customer
# Proof Mode's control group: Revtain never charges it; the API reports "unknown", not pending.
HOLDOUT = "holdout"
FINAL_STATES = (SUCCEEDED, FAILED, BLOCKED)


class Recovery(db.Model):
    __tablename__ = "recoveries"
    __table_args__ = (
        UniqueConstraint("client_id", "idempotency_key", name="uq_recoveries_client_idempotency"),
        Index("ix_recoveries_velocity", "client_id", "payment_method_token", "amount", "currency",
              "created_at"),
        *due_indexes("recoveries", "next_attempt_at"),
        Index("ix_recoveries_client_email", "client_id", "customer_email"),
        # The paywall matches customers' emails case-insensitively.
        Index("ix_recoveries_client_email_lower", "client_id", text("lower(customer_email)")),
        Index("ix_recoveries_source", "client_id", "source", "source_customer"),
        Index("ix_recoveries_reported_card", "client_id", "reported_token", "created_at"),
        # The card-expiry reminder sweep (dunning/expiry.py) looks cards up by expiry month.
        Index("ix_recoveries_card_exp", "card_exp_year", "card_exp_month",
              sqlite_where=text("card_exp_year IS NOT NULL"),
              postgresql_where=text("card_exp_year IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    payment_method_token: Mapped[str] = mapped_column(String(512))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    original_decline_code: Mapped[str | None] = mapped_column(String(64))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_phone: Mapped[str | None] = mapped_column(String(16))  # E.164, for SMS dunning
    # The card on file's expiry, when the merchant sends it: a reminder goes before it expires.
    card_exp_month: Mapped[int | None] = mapped_column(Integer)
    card_exp_year: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(200))  # what the payment is for
    customer_locale: Mapped[str | None] = mapped_column(String(35))  # e.g. fr-CA, as sent
    card_origin: Mapped[str | None] = mapped_column(String(2))
    bin_prefix: Mapped[str | None] = mapped_column(String(8))
    # The customer's clock as the merchant or platform told it (engine/customer_clock.py).
    customer_timezone: Mapped[str | None] = mapped_column(String(64))
    customer_country: Mapped[str | None] = mapped_column(String(2))
    payment_method_type: Mapped[str | None] = mapped_column(String(32))
    # The card the reported failure was on (``payment_method_token`` changes with a new card): the
    # card-network rules count that failure on it (``recovery.card_rules``).
    reported_token: Mapped[str | None] = mapped_column(String(512))
    # The card's network as the merchant said (``cardNetwork``) or its BIN shows; None: unknown.
    card_network: Mapped[str | None] = mapped_column(String(16))
    fallback_tokens: Mapped[list] = mapped_column(JSON, default=list)
    # A recovery started by a billing-platform connector: the platform, its invoice (Braintree: the
    # subscription) and its customer. None for recoveries reported through the API.
    source: Mapped[str | None] = mapped_column(String(32))
    source_ref: Mapped[str | None] = mapped_column(String(255))
    source_customer: Mapped[str | None] = mapped_column(String(255))

    status: Mapped[str] = mapped_column(String(16), default=PROCESSING)
    is_simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    strategy_used: Mapped[str | None] = mapped_column(String(32))
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_retries: Mapped[int] = mapped_column(Integer, default=0)
    reconcile_tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_decline_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(200))
    recommended_action: Mapped[str | None] = mapped_column(String(32))
    gateway_transaction_id: Mapped[str | None] = mapped_column(String(255))
    ai: Mapped[dict | None] = mapped_column(JSON)
    # The latest decline, judged once (``engine.judgement.Judgement.as_json``): later steps read it.
    judgement: Mapped[dict | None] = mapped_column(JSON)

    # Future work is a row: the scheduler enqueues the retry when this is due.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retry_reason: Mapped[str | None] = mapped_column(String(32))  # why that time (payday_friday, …)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    attempts: Mapped[list[Attempt]] = relationship(
        back_populates="recovery", order_by="Attempt.seq"
    )

    # Not a column: True while this session knows the recovery has no dunning message (it inserted
    # the row and scheduled none), so cancelling its messages needs no UPDATE that cannot match.
    without_messages = False

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATES


class Attempt(db.Model):
    """One charge sent to a gateway. ``idempotency_key`` is what the gateway saw."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("recovery_id", "seq", name="uq_attempts_recovery_seq"),
        Index("ix_attempts_card", "client_id", "payment_method_token", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    recovery_id: Mapped[str] = mapped_column(ForeignKey("recoveries.id"))
    client_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(Integer)
    gateway: Mapped[str] = mapped_column(String(32))
    payment_method_token: Mapped[str] = mapped_column(String(512))
    strategy: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))  # approved | declined | error | unknown
    decline_code: Mapped[str | None] = mapped_column(String(64))
    network_code: Mapped[str | None] = mapped_column(String(8))
    advice_code: Mapped[str | None] = mapped_column(String(32))
    # The decline's judgement (``engine.judgement``), made once when the answer came in.
    category: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str | None] = mapped_column(String(16))  # retry | new_credentials | block
    never_reason: Mapped[str | None] = mapped_column(String(96))  # "" when it may be retried
    card_network: Mapped[str | None] = mapped_column(String(16))
    initiator: Mapped[str | None] = mapped_column(String(8))  # merchant | customer
    gateway_transaction_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    recovery: Mapped[Recovery] = relationship(back_populates="attempts")
