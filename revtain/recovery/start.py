"""Starting a recovery: what ``POST /api/recovery/execute`` does, in one database transaction.

Order (contract 3.1): idempotency and velocity -> ``simulateOutcome`` (test gateway) -> the
44-cent gateway failure (test gateway) -> decline routing: block, queue for a scheduled retry,
or attempt now through the cascade.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from flask import current_app
from sqlalchemy import and_, case, or_, select, text
from sqlalchemy.exc import IntegrityError

from ..clock import now as clock_now
from ..engine.bins import issuing_country
from ..engine.judgement import Judgement, judge
from ..extensions import db
from ..gateways.test import GATEWAY_FAILURE_AMOUNT, test_card_brand
from ..models import Client, Recovery
from ..models.recovery import PROCESSING
from ..queues import enqueue_deliveries
from . import cascade, finish, new_card, proof_mode
from .card_rules import card_network, limits
from .judged import remember
from .learning import assessment
from .settle import queue, settle
from .tokenize import known_bin

NEW_CARD_TRIGGER = "new_card"  # the webhooks' trigger when a later execute's card pays older ones
Kind = Literal[
    "recovered", "failed", "queued", "unknown", "blocked", "duplicate", "holdout", "awaiting_card"
]


@dataclass(frozen=True)
class ExecuteInput:
    payment_method_token: str
    amount: int
    currency: str = "USD"
    original_decline_code: str | None = None
    idempotency_key: str | None = None
    card_origin: str | None = None
    bin_prefix: str | None = None
    customer_email: str | None = None
    simulate_outcome: str | None = None
    fallback_tokens: list[str] = field(default_factory=list)
    payment_method_type: str | None = None
    description: str | None = None
    customer_locale: str | None = None
    # Set by connectors: the platform, its invoice and customer. The platform collects the invoice.
    source: str | None = None
    source_ref: str | None = None
    source_customer: str | None = None
    # The platform keeps retrying this invoice itself (no hand-off): Revtain charges nothing and
    # watches, while its dunning emails still go out.
    watch_only: bool = False
    # The customer's clock (engine/customer_clock.py): as the merchant or the platform told it.
    customer_timezone: str | None = None
    customer_country: str | None = None
    customer_phone: str | None = None  # E.164, for SMS dunning
    # The first failure's network signals (our additions): the network's response code, the
    # Mastercard Merchant Advice Code (or Stripe advice_code), the card's network.
    network_decline_code: str | None = None
    merchant_advice_code: str | None = None
    card_network: str | None = None
    # The card's expiry (our addition), for the reminder before it expires (dunning/expiry.py).
    card_exp_month: int | None = None
    card_exp_year: int | None = None


@dataclass(frozen=True)
class Started:
    kind: Kind
    recovery: Recovery
    velocity: bool = False  # for a duplicate: found by the velocity check, not the key
    decline: Judgement | None = None


def start(client: Client, data: ExecuteInput) -> Started:
    now = clock_now()
    duplicate = _find_duplicate(client, data, now)
    if duplicate:
        db.session.rollback()
        return duplicate

    bin_prefix = data.bin_prefix or known_bin(client.id, data.payment_method_token)
    network = data.card_network or card_network(bin_prefix)
    decline = judge(
        data.original_decline_code,
        network_code=data.network_decline_code,
        advice_code=data.merchant_advice_code,
        network=network,
        limits=limits(),
    )
    ai = assessment(client, decline, now).as_json()  # read before the INSERT: no UPDATE after it
    recovery = Recovery(
        client_id=client.id,
        idempotency_key=data.idempotency_key,
        payment_method_token=data.payment_method_token,
        reported_token=data.payment_method_token,
        amount=data.amount,
        currency=data.currency,
        original_decline_code=decline.code,
        last_decline_code=decline.code,
        customer_email=data.customer_email,
        description=data.description,
        customer_locale=data.customer_locale,
        customer_phone=data.customer_phone,
        card_exp_month=data.card_exp_month,
        card_exp_year=data.card_exp_year,
        # Where the customer's card is from: as told, else the issuing country of its BIN.
        card_origin=data.card_origin or issuing_country(bin_prefix),
        bin_prefix=bin_prefix,
        customer_timezone=data.customer_timezone,
        customer_country=data.customer_country,
        card_network=decline.card_network if decline.card_network != "unknown" else None,
        payment_method_type=data.payment_method_type,
        fallback_tokens=list(data.fallback_tokens),
        source=data.source,
        source_ref=data.source_ref,
        source_customer=data.source_customer,
        status=PROCESSING,
        attempt_count=0,
        scheduled_retries=0,
        reconcile_tries=0,
        # A safety net: should this process die before the outcome is recorded, the scheduler
        # resumes the recovery then, with the same gateway idempotency keys.
        next_attempt_at=now + timedelta(seconds=current_app.config["CLAIM_LEASE_SECONDS"]),
        is_simulated=bool(_sandbox(client, data) and data.simulate_outcome),
        ai=ai,
        created_at=now,
        updated_at=now,
    )
    recovery.without_messages = True  # inserted here: no dunning message can exist for it yet
    remember(recovery, decline, is_first=True)  # before the INSERT: no UPDATE after it
    db.session.add(recovery)
    try:
        db.session.flush()  # the unique index makes a concurrent duplicate fail here
    except IntegrityError:
        db.session.rollback()
        existing = _by_idempotency_key(client, data.idempotency_key)
        if existing is None:
            raise
        return Started("duplicate", existing)

    if not _sandbox(client, data):
        db.session.commit()  # the row exists before any money moves (see next_attempt_at)
    deliveries: list[str | None] = []
    kind = _act(client, recovery, data, decline, now, deliveries)
    if kind == "recovered" and not recovery.is_simulated:
        # A card that just paid recharges the customer's other open recoveries on other cards.
        deliveries += new_card.recharge_customer(
            client, recovery, recovery.payment_method_token, recovery.payment_method_token, now,
            NEW_CARD_TRIGGER,
        )
    db.session.commit()
    enqueue_deliveries(deliveries)
    return Started(kind, recovery, decline=decline)


def _act(
    client: Client,
    recovery: Recovery,
    data: ExecuteInput,
    decline: Judgement,
    now: datetime,
    deliveries: list[str | None],
) -> Kind:
    if proof_mode.holds_out(client, recovery, now, deliveries):  # Proof Mode's control group
        return "holdout"
    if recovery.is_simulated:
        return _simulate(client, recovery, data.simulate_outcome, decline, now, deliveries)

    sandbox = _sandbox(client, data)
    gateway_failure = sandbox and data.amount == GATEWAY_FAILURE_AMOUNT
    if not gateway_failure:
        if decline.action == "block":
            deliveries.append(finish.block(client, recovery, now, decline))
            return "blocked"
        if data.watch_only:
            finish.watch(client, recovery, now)
            return "queued"
        if decline.needs_new_card:
            # Never retried on this card: the recovery waits for a new one. A code the contract
            # calls blocked still answers 403 (and fires recovery.blocked); others answer 202.
            announce = decline.handling == "block"
            deliveries.append(finish.await_card(client, recovery, now, decline, announce=announce))
            return "blocked" if announce else "awaiting_card"
        test_card = sandbox and test_card_brand(data.payment_method_token)
        if decline.handling == "queue" and not test_card:
            recovery.strategy_used = "smart_retry"
            if queue(client, recovery, decline, now):
                return "queued"
            deliveries.append(finish.fail(client, recovery, now, decline.code or "card_declined"))
            return "failed"

    outcome = cascade.run(client, recovery, "primary", now)
    kind, delivery = settle(
        client, recovery, outcome, now, trigger=None, queue_errors=False, decline_if_deferred=decline
    )
    deliveries.append(delivery)
    return kind


def _sandbox(client: Client, data: ExecuteInput) -> bool:
    """The test gateway's sandbox rules apply to API recoveries on it, never to a platform's."""
    return client.is_test_gateway and data.source is None


def _simulate(
    client: Client,
    recovery: Recovery,
    outcome: str | None,
    decline: Judgement,
    now: datetime,
    deliveries: list[str | None],
) -> Kind:
    recovery.strategy_used = "primary"
    if outcome == "blocked":
        deliveries.append(finish.block(client, recovery, now, decline))
        return "blocked"
    recovery.attempt_count = 1
    if outcome == "success":
        recovery.gateway_transaction_id = f"sim_{recovery.id}"
        deliveries.append(finish.succeed(client, recovery, now))
        return "recovered"
    deliveries.append(finish.fail(client, recovery, now, decline.code or "card_declined"))
    return "failed"


def _by_idempotency_key(client: Client, key: str | None) -> Recovery | None:
    if not key:
        return None
    return db.session.execute(
        select(Recovery).where(Recovery.client_id == client.id, Recovery.idempotency_key == key)
    ).scalar_one_or_none()


def _find_duplicate(client: Client, data: ExecuteInput, now: datetime) -> Started | None:
    if db.session.get_bind().dialect.name == "postgresql":
        # Serialise only executes for the same card and amount, so the velocity check holds
        # under concurrency; released at commit or rollback.
        velocity_key = f"{client.id}|{data.payment_method_token}|{data.amount}|{data.currency}"
        lock_id = int.from_bytes(hashlib.sha256(velocity_key.encode()).digest()[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    window = timedelta(seconds=current_app.config["VELOCITY_WINDOW_SECONDS"])
    same_payment = and_(
        Recovery.payment_method_token == data.payment_method_token,
        Recovery.amount == data.amount,
        Recovery.currency == data.currency,
        Recovery.created_at >= now - window,
    )
    # One query answers both checks; a match on the idempotency key sorts first.
    query = select(Recovery).where(Recovery.client_id == client.id)
    if data.idempotency_key:
        same_key = Recovery.idempotency_key == data.idempotency_key
        query = query.where(or_(same_key, same_payment)).order_by(case((same_key, 0), else_=1))
    else:
        query = query.where(same_payment)
    recent = db.session.execute(
        query.order_by(Recovery.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    if recent is not None:
        by_key = bool(data.idempotency_key) and recent.idempotency_key == data.idempotency_key
        return Started("duplicate", recent, velocity=not by_key)
    return None
