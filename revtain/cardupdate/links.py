"""Card-update links and what happens when a customer completes one (contract 3.5-3.6, 8.1).

A link's token is a bearer credential: only its SHA-256 is stored. Completing a link is a
compare-and-set on ``used_at``, so a link works once even if the form is posted twice.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update

from ..clock import now as clock_now
from ..extensions import db
from ..models import CardUpdateLink, Client, Recovery
from ..models.recovery import AWAITING_CARD, FAILED, QUEUED
from ..queues import enqueue_deliveries
from ..recovery.new_card import NewCardKind, card_updated_event, recharge_customer, take_new_card

PATH = "/api/recovery/update-card/"
REOPENABLE = (QUEUED, FAILED, AWAITING_CARD)
CARD_UPDATED = "card_updated"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public_host() -> str:
    return (urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "").lower()


def link_url(client: Client, token: str) -> str:
    if client.card_update_domain and client.card_update_domain_verified_at:
        return f"https://{client.card_update_domain}{PATH}{token}"
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + PATH + token


def generate(client: Client, payment_method_token: str) -> tuple[CardUpdateLink, str]:
    """A new link for the card; returns the row and the token (shown once, in the URL)."""
    now = clock_now()
    token = secrets.token_urlsafe(32)
    link = CardUpdateLink(
        client_id=client.id,
        token_hash=hash_token(token),
        payment_method_token=payment_method_token,
        expires_at=now + timedelta(seconds=current_app.config["CARD_UPDATE_LINK_TTL_SECONDS"]),
        created_at=now,
    )
    db.session.add(link)
    db.session.commit()
    return link, token


def find(token: str) -> CardUpdateLink | None:
    if not token or len(token) > 128:
        return None
    return db.session.execute(
        select(CardUpdateLink).where(CardUpdateLink.token_hash == hash_token(token))
    ).scalar_one_or_none()


def client_for_host(host: str) -> Client | bool | None:
    """The client whose verified card-update domain this is; True for the main host (any
    client's links); None for any other host."""
    hostname = host.rsplit(":", 1)[0].strip("[]").lower() if host else ""
    main = {public_host()}
    if current_app.config["ENV"] != "production":
        main |= {"localhost", "127.0.0.1"}
    if hostname in main:
        return True
    return db.session.execute(
        select(Client).where(
            Client.card_update_domain == hostname, Client.card_update_domain_verified_at.is_not(None)
        )
    ).scalar_one_or_none()


def usable(link: CardUpdateLink, now: datetime) -> bool:
    return link.used_at is None and link.expires_at > now


class LinkUnusable(Exception):
    """Used, or expired."""


def open_recovery(link: CardUpdateLink) -> Recovery | None:
    """The card's open recovery (the newest queued or failed one): the one a new card retries."""
    return db.session.execute(
        select(Recovery)
        .where(Recovery.client_id == link.client_id,
               Recovery.payment_method_token == link.payment_method_token,
               Recovery.status.in_(REOPENABLE))
        .order_by(Recovery.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def card_recovery(link: CardUpdateLink) -> Recovery | None:
    """The recovery that says whose card this is: the open one, else the card's newest. A billing
    platform's card (``source``) stays the platform's after its recovery closed."""
    return open_recovery(link) or db.session.execute(
        select(Recovery)
        .where(Recovery.client_id == link.client_id,
               Recovery.payment_method_token == link.payment_method_token)
        .order_by(Recovery.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Completed:
    link: CardUpdateLink
    recovery: Recovery | None
    kind: NewCardKind | None  # what the new card did to the open recovery


def complete(link: CardUpdateLink, new_token: str, brand: str | None, last4: str | None) -> Completed:
    """Store the new card, tell the merchant (``card.updated``), stop the pending dunning and
    retry the card's open recovery at once with it (unless its platform retries it: nothing is
    charged then, see ``recovery.new_card``)."""
    now = clock_now()
    claimed = db.session.execute(
        update(CardUpdateLink)
        .where(CardUpdateLink.id == link.id, CardUpdateLink.used_at.is_(None),
               CardUpdateLink.expires_at > now)
        .values(used_at=now, new_payment_method_token=new_token, new_card_brand=brand,
                new_card_last4=last4)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise LinkUnusable(link.id)
    db.session.refresh(link)
    client = db.session.get(Client, link.client_id)
    recovery = open_recovery(link)
    deliveries = [card_updated_event(client, link.payment_method_token, new_token, recovery, now)]
    kind: NewCardKind | None = None
    if recovery is not None:
        link.recovery_id = recovery.id
        old_token = recovery.payment_method_token
        # The customer is on the page: a customer-initiated charge (Visa counts those apart).
        kind, delivery = take_new_card(client, recovery, new_token, now, trigger=CARD_UPDATED,
                                       initiator="customer")
        deliveries.append(delivery)
        deliveries += recharge_customer(client, recovery, old_token, new_token, now, CARD_UPDATED)
    db.session.commit()
    enqueue_deliveries(deliveries)
    return Completed(link, recovery, kind)
