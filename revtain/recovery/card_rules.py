"""The card-network rules applied to a real card: its attempt history from the database.

A card is its ``paymentMethodToken``; the history is every attempt Revtain made on it for this
client, across all recoveries (contract 13). Switching token or gateway never resets it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ..engine import bins
from ..engine.card_networks import Network, network_for_bin
from ..engine.network_rules import NetworkLimits, PastAttempt, Verdict, verdict
from ..extensions import db
from ..models import Attempt

# Longer than every rolling window (30 days) and every "do not retry" period (30 days).
HISTORY_DAYS = 60


def limits() -> NetworkLimits:
    return NetworkLimits.from_dict(current_app.config.get("NETWORK_LIMITS"))


def card_history(client_id: str, token: str, now: datetime) -> tuple[PastAttempt, ...]:
    rows = db.session.execute(
        select(
            Attempt.created_at, Attempt.outcome, Attempt.decline_code, Attempt.network_code,
            Attempt.advice_code,
        ).where(
            Attempt.client_id == client_id,
            Attempt.payment_method_token == token,
            Attempt.created_at >= now - timedelta(days=HISTORY_DAYS),
        )
    ).all()
    return tuple(
        PastAttempt(at=at, outcome=outcome, decline_code=code, network_code=network, advice_code=advice)
        for at, outcome, code, network, advice in rows
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


def card_verdict(client_id: str, token: str, bin_prefix: str | None, now: datetime) -> Verdict:
    """``bin_prefix`` names the network of the primary card; other tokens are of unknown network,
    which gets the strictest budgets."""
    return verdict(card_network(bin_prefix), card_history(client_id, token, now), now, limits())
