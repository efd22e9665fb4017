"""The card-network rules applied to a real card: its attempt history from the database.

A card is its ``paymentMethodToken``; the history is every attempt Revtain made on it for this
client, across all recoveries (contract 13). Switching token or gateway never resets it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import String, literal, select, union_all

from ..engine import bins
from ..engine.card_networks import Network, network_for_bin
from ..engine.network_rules import Initiator, NetworkLimits, PastAttempt, Verdict, verdict
from ..extensions import db
from ..models import Attempt, Recovery

# Longer than every rolling window (30 days) and every "do not retry" period (30 days).
HISTORY_DAYS = 60


def limits() -> NetworkLimits:
    return NetworkLimits.from_dict(current_app.config.get("NETWORK_LIMITS"))


def card_history(client_id: str, token: str, now: datetime) -> tuple[PastAttempt, ...]:
    """The card's attempts in the budgets' window, and the failures merchants reported on it (each
    recovery's first judgement), in one statement."""
    since = now - timedelta(days=HISTORY_DAYS)
    reported = select(
        Recovery.created_at, literal("reported").label("outcome"),
        *(literal(None, type_=String).label(name) for name in _ATTEMPT_COLUMNS),
        Recovery.judgement,
    ).where(Recovery.client_id == client_id, Recovery.reported_token == token, Recovery.created_at >= since)
    attempted = select(
        Attempt.created_at, Attempt.outcome, *(getattr(Attempt, name) for name in _ATTEMPT_COLUMNS),
        literal(None, type_=Recovery.judgement.type).label("judgement"),
    ).where(
        Attempt.client_id == client_id, Attempt.payment_method_token == token, Attempt.created_at >= since
    )
    history: list[PastAttempt] = []
    for at, outcome, code, network, advice, initiator, never, judgement in db.session.execute(
        union_all(reported, attempted)
    ):
        if outcome == "reported":
            if judgement:
                history.append(reported_failure(at, judgement))
            continue
        history.append(PastAttempt(at=at, outcome=outcome, decline_code=code, network_code=network,
                                   advice_code=advice, initiator=initiator or "merchant",
                                   never_reason=never))
    return tuple(history)


_ATTEMPT_COLUMNS = ("decline_code", "network_code", "advice_code", "initiator", "never_reason")


def reported_failure(at: datetime, judgement: dict) -> PastAttempt:
    """The failure a merchant reported (its recovery's first judgement) as an attempt on the card: it
    counts for the budgets and its never-retry and advice codes hold like a gateway's."""
    first = judgement.get("first") or {}
    return PastAttempt(
        at=at, outcome="declined", decline_code=(first.get("decline") or {}).get("code"),
        network_code=first.get("network_code"), advice_code=first.get("advice_code"),
        never_reason=first.get("never_reason") or "",
    )


def card_network(bin_prefix: str | None) -> Network:
    """The card's network from its BIN: the networks' IIN ranges, then the BIN table (e.g. a Diners
    card runs on Discover's rules). A prefix the table cannot take falls back to the ranges alone."""
    if not bin_prefix:
        return "unknown"
    try:
        return bins.lookup(bin_prefix).card_network
    except ValueError:
        return network_for_bin(bin_prefix)


def card_verdict(
    client_id: str,
    token: str,
    bin_prefix: str | None,
    now: datetime,
    *,
    network: str | None = None,
    initiator: Initiator = "merchant",
) -> Verdict:
    """``network`` (the merchant's ``cardNetwork``), else ``bin_prefix``, names the network of the
    primary card; other tokens are of unknown network, which gets the strictest budgets."""
    known = network if network and network != "unknown" else card_network(bin_prefix)
    return verdict(known, card_history(client_id, token, now), now, limits(), initiator)
