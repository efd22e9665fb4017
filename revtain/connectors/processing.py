"""Processing a stored platform event (the job): read what it means through the platform's library,
then act: start a recovery, retry it with a new card, or close it as paid by the platform.

Platforms send events twice and out of order; these rules keep that harmless:

* one recovery per platform invoice (idempotency key ``<platform>:<invoice>``): a resent or
  repeated failure never charges or emails twice;
* a failure whose invoice a processed event already showed paid starts nothing;
* a failure is charged with the newest card a processed event showed for the customer *after* the
  failure happened (the card update overtook the failure on the way);
* a success or a card update for a recovery whose charge is in flight waits for that charge.

Events of one customer are processed one at a time (a PostgreSQL advisory lock; SQLite's
transactions are serial already).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from sqlalchemy import select, text

from ..clock import now as clock_now
from ..due_rows import claim
from ..engine.customer_clock import valid_country
from ..extensions import db
from ..gateways.platforms import (
    CardUpdated,
    Fact,
    Ignored,
    PaymentFailed,
    PaymentSucceeded,
    PlatformClient,
    PlatformUnavailable,
    for_platform,
)
from ..models import Client, ConnectorAccount, ConnectorEvent, OrganicSuccess, Recovery
from ..models.connector import CARD_UPDATED, FAILED, IGNORED, PAYMENT_FAILED, PAYMENT_SUCCEEDED, PROCESSED
from ..models.connector import RECEIVED as EVENT_RECEIVED
from ..models.recovery import AWAITING_CARD, PROCESSING, QUEUED, SUCCEEDED, UNKNOWN
from ..models.recovery import FAILED as RECOVERY_FAILED
from ..queues import enqueue_deliveries
from ..recovery import finish, proof_mode
from ..recovery.new_card import PLATFORM_RETRIES, card_updated_event, recharge_customer, take_new_card
from ..recovery.start import ExecuteInput, start
from . import MODULES, accounts
from .base import BadPayload

log = logging.getLogger(__name__)

# When an event that could not be processed is tried again (seconds after each try).
RETRY_AFTER_SECONDS = (30, 120, 600, 3600, 21600)
REOPENABLE = (QUEUED, RECOVERY_FAILED, AWAITING_CARD)
TRIGGER_CARD_UPDATED = "card_updated"


def idempotency_key(platform: str, invoice_ref: str) -> str:
    return f"{platform}:{invoice_ref}"[:128]


def process_event(event_id: str) -> str:
    """The job: returns what became of the event (its outcome, or why it waits)."""
    if not claim(ConnectorEvent, event_id, "process_at", ConnectorEvent.status == EVENT_RECEIVED):
        return "skipped"
    event = db.session.get(ConnectorEvent, event_id)
    event.tries += 1
    db.session.commit()
    client = db.session.get(Client, event.client_id)
    account = accounts.get(client.id, event.platform)
    if account is None:
        return _finish(event, FAILED, error="the connector was removed before the event was processed")
    module = MODULES[event.platform]
    try:
        credentials = accounts.credentials_of(account)
        inbound = module.parse(credentials, event.body.encode(), event.event_type)
        platform = for_platform(event.platform, json.dumps(credentials))
        fact = module.normalise(inbound, platform)
    except PlatformUnavailable as exc:
        return _later(event, str(exc))
    except (BadPayload, ValueError) as exc:
        return _finish(event, FAILED, error=str(exc))
    return _apply(client, account, event, fact, platform)


def _apply(client: Client, account: ConnectorAccount, event: ConnectorEvent, fact: Fact,
           platform: PlatformClient) -> str:
    if isinstance(fact, Ignored):
        return _finish(event, IGNORED, outcome=fact.reason[:64])
    _describe(event, fact)
    _serialise(client.id, event.platform, fact.customer_ref or getattr(fact, "invoice_ref", None))
    if isinstance(fact, PaymentFailed):
        return _payment_failed(client, account, event, fact, platform)
    if isinstance(fact, CardUpdated):
        return _card_updated(client, event, fact)
    return _payment_succeeded(client, event, fact)


# -- the three facts ------------------------------------------------------------------------------


def _payment_failed(client: Client, account: ConnectorAccount, event: ConnectorEvent, fact: PaymentFailed,
                    platform: PlatformClient) -> str:
    if fact.amount <= 0:
        return _finish(event, PROCESSED, outcome="nothing_due")
    if len(fact.currency) != 3 or not fact.currency.isalpha():
        return _finish(event, FAILED, error=f"the invoice's currency {fact.currency!r} is not ISO 4217")
    if _seen(event, PAYMENT_SUCCEEDED, ConnectorEvent.invoice_ref == fact.invoice_ref):
        return _finish(event, PROCESSED, outcome="already_paid")
    key = idempotency_key(event.platform, fact.invoice_ref)
    existing = _recovery(client.id, Recovery.idempotency_key == key)
    if existing is not None:
        return _finish(event, PROCESSED, outcome="duplicate_invoice", recovery_id=existing.id)
    token = fact.token
    if fact.customer_ref and event.occurred_at:
        newer = _seen(event, CARD_UPDATED, ConnectorEvent.customer_ref == fact.customer_ref,
                      ConnectorEvent.occurred_at > event.occurred_at)
        token = newer.payment_method_token if newer is not None else token
    if account.stop_platform_retries:
        try:  # before Revtain charges anything, so the card is never retried by both
            platform.stop_retries(fact.invoice_ref)  # Braintree, Recurly: a setting, nothing to call
        except PlatformUnavailable as exc:
            return _later(event, str(exc))
    event_id = event.id
    started = start(client, ExecuteInput(
        payment_method_token=token, amount=fact.amount, currency=fact.currency.upper(),
        original_decline_code=fact.decline_code, idempotency_key=key, customer_email=fact.customer_email,
        network_decline_code=fact.network_decline_code, merchant_advice_code=fact.advice_code,
        source=event.platform, source_ref=fact.invoice_ref, source_customer=fact.customer_ref,
        watch_only=not account.stop_platform_retries,
        customer_country=platform_country(fact.customer_country),
    ))
    # start() committed (or rolled back) its own transaction: this event is written afresh.
    event = db.session.get(ConnectorEvent, event_id)
    _describe(event, fact, token)
    outcome = "duplicate" if started.kind == "duplicate" else f"recovery_{started.kind}"
    return _finish(event, PROCESSED, outcome=outcome, recovery_id=started.recovery.id)


def platform_country(value: object) -> str | None:
    """A platform's customer country as ISO 3166-1 alpha-2; None for anything else (Zuora may hold
    a country's name)."""
    code = value.strip() if isinstance(value, str) else None
    return code.upper() if code and valid_country(code) else None


def _card_updated(client: Client, event: ConnectorEvent, fact: CardUpdated) -> str:
    """The customer changed their card. The token may be the same: Chargebee and Recurly update a
    payment source or billing info in place, and the new card is behind the same id. Without the
    hand-off the platform retries with it itself, and Revtain only stops asking (``take_new_card``)."""
    recovery = _recovery(client.id, Recovery.source == event.platform,
                         Recovery.source_customer == fact.customer_ref,
                         Recovery.status.in_((*REOPENABLE, PROCESSING, UNKNOWN)))
    if recovery is None:
        return _finish(event, PROCESSED, outcome="no_open_recovery")  # a later failure may use it
    if recovery.status in (PROCESSING, UNKNOWN):
        return _later(event, "a charge of this recovery is in flight")
    now = clock_now()
    deliveries = [card_updated_event(client, recovery.payment_method_token, fact.token, recovery, now)]
    old_token = recovery.payment_method_token
    kind, delivery = take_new_card(client, recovery, fact.token, now, trigger=TRIGGER_CARD_UPDATED)
    deliveries.append(delivery)
    deliveries += recharge_customer(client, recovery, old_token, fact.token, now, TRIGGER_CARD_UPDATED)
    outcome = "card_updated_platform_retries" if kind == PLATFORM_RETRIES else f"retried_{kind}"
    return _finish(event, PROCESSED, outcome=outcome, recovery_id=recovery.id, deliveries=deliveries)


def _payment_succeeded(client: Client, event: ConnectorEvent, fact: PaymentSucceeded) -> str:
    recovery = None
    if fact.invoice_ref:
        recovery = _recovery(client.id, Recovery.source == event.platform,
                             Recovery.source_ref == fact.invoice_ref)
    if recovery is not None and recovery.status in (PROCESSING, UNKNOWN):
        return _later(event, "a charge of this recovery is in flight")
    if recovery is not None and recovery.status == SUCCEEDED:
        # Revtain's own collection (or an earlier event) paid it: not an organic success.
        return _finish(event, PROCESSED, outcome="already_recovered", recovery_id=recovery.id)
    now = clock_now()
    db.session.add(OrganicSuccess(
        client_id=client.id,
        transaction_id=(fact.transaction_ref or fact.invoice_ref or event.event_id)[:128],
        amount=fact.amount, currency=fact.currency[:3].upper(), created_at=now,
    ))
    if recovery is not None and proof_mode.mark_paid(recovery, event.platform, now):
        return _finish(event, PROCESSED, outcome="holdout_paid_elsewhere", recovery_id=recovery.id)
    if recovery is not None and recovery.status in REOPENABLE:
        delivery = finish.paid_elsewhere(client, recovery, now, fact.transaction_ref)
        return _finish(event, PROCESSED, outcome="closed_paid_elsewhere", recovery_id=recovery.id,
                       deliveries=[delivery])
    return _finish(event, PROCESSED, outcome="organic_success",
                   recovery_id=recovery.id if recovery is not None else None)


# -- helpers ----------------------------------------------------------------------------------------


KINDS = {PaymentFailed: PAYMENT_FAILED, CardUpdated: CARD_UPDATED, PaymentSucceeded: PAYMENT_SUCCEEDED}


def _describe(event: ConnectorEvent, fact: Fact, token: str | None = None) -> None:
    """What the event meant, kept on its row for the out-of-order rules and the dashboard."""
    event.kind = KINDS[type(fact)]
    event.customer_ref = getattr(fact, "customer_ref", None)
    event.invoice_ref = getattr(fact, "invoice_ref", None)
    event.payment_method_token = token or getattr(fact, "token", None)


def _serialise(client_id: str, platform: str, ref: str | None) -> None:
    if ref and db.session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"connector|{client_id}|{platform}|{ref}".encode()).digest()
        db.session.execute(text("SELECT pg_advisory_xact_lock(:id)"),
                           {"id": int.from_bytes(digest[:8], "big", signed=True)})


def _seen(event: ConnectorEvent, kind: str, *conditions) -> ConnectorEvent | None:
    """The newest processed event of this client and platform of ``kind`` matching ``conditions``."""
    return db.session.execute(
        select(ConnectorEvent)
        .where(ConnectorEvent.client_id == event.client_id, ConnectorEvent.platform == event.platform,
               ConnectorEvent.kind == kind, ConnectorEvent.status == PROCESSED,
               ConnectorEvent.id != event.id, *conditions)
        .order_by(ConnectorEvent.occurred_at.desc(), ConnectorEvent.received_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def _recovery(client_id: str, *conditions) -> Recovery | None:
    return db.session.execute(
        select(Recovery).where(Recovery.client_id == client_id, *conditions)
        .order_by(Recovery.created_at.desc()).limit(1)
    ).scalar_one_or_none()


def _finish(event: ConnectorEvent, status: str, *, outcome: str | None = None, error: str | None = None,
            recovery_id: str | None = None, deliveries: list[str | None] | None = None) -> str:
    now = clock_now()
    event.status = status
    event.outcome = outcome
    event.error = error[:500] if error else None
    event.recovery_id = recovery_id or event.recovery_id
    event.processed_at = now
    event.process_at = None
    event.enqueued_at = None
    db.session.commit()
    enqueue_deliveries(deliveries or [])
    if error:
        log.warning("connector event %s (%s %s) failed: %s", event.id, event.platform, event.event_type,
                    error)
    return outcome or status


def _later(event: ConnectorEvent, reason: str) -> str:
    """Try the event again later; after the last try it fails with ``reason``."""
    db.session.rollback()
    event = db.session.get(ConnectorEvent, event.id)
    if event.tries > len(RETRY_AFTER_SECONDS):
        return _finish(event, FAILED, error=f"gave up after {event.tries} tries: {reason}")
    delay = RETRY_AFTER_SECONDS[min(event.tries, len(RETRY_AFTER_SECONDS)) - 1]
    event.process_at = clock_now() + timedelta(seconds=delay)
    event.enqueued_at = None
    event.error = reason[:500]
    db.session.commit()
    log.info("connector event %s waits %ss: %s", event.id, delay, reason)
    return "later"

