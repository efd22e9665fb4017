"""Risk prediction for a scheduled charge, and learning from the outcome merchants report."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..clock import now as clock_now
from ..currencies import exponent
from ..engine import risk
from ..engine.judgement import judge
from ..engine.retry_plan import payday_reason
from ..extensions import db
from ..models import Attempt, Client, Prediction
from . import learning
from .card_rules import card_verdict, limits


@dataclass(frozen=True)
class NetworkSignals:
    """What the merchant knows of the card's latest decline from the network (our additions)."""

    network_decline_code: str | None = None
    merchant_advice_code: str | None = None
    card_network: str | None = None


def predict_risk(
    client: Client, token: str, amount: int, currency: str, scheduled_at: datetime | None,
    signals: NetworkSignals | None = None,
) -> tuple[Prediction, risk.RiskPrediction]:
    """The stored prediction (its id answers ``/predict/outcome``) and the model's explanation."""
    now = clock_now()
    at = scheduled_at or now
    card = (Attempt.client_id == client.id, Attempt.payment_method_token == token,
            Attempt.outcome == "declined")
    latest_code = db.session.execute(
        select(Attempt.decline_code).where(*card).order_by(Attempt.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    prior = db.session.execute(
        select(func.count()).where(*card, Attempt.created_at >= now - timedelta(days=30))
    ).scalar_one()
    signals = signals or NetworkSignals()
    decline = judge(latest_code, network_code=signals.network_decline_code,
                    advice_code=signals.merchant_advice_code, network=signals.card_network, limits=limits())
    rules = card_verdict(client.id, token, None, max(at, now), network=signals.card_network)
    floor = now + timedelta(hours=decline.retry_after_hours or 0)
    if rules.not_before is not None:
        floor = max(floor, rules.not_before)
    local = at.astimezone(ZoneInfo(client.timezone))
    assessment = learning.assessment(client, decline, at)
    result = risk.predict(
        risk.RiskFacts(
            assessment=assessment,
            prior_declines_30d=prior,
            amount_major_units=amount / 10 ** exponent(currency),
            local_time=local,
            on_payday=payday_reason(local.date(), client.billing_cycle_day) is not None,
            never_reason=decline.never_reason or (rules.reason if rules.never else None),
            network_wait_hours=max(0.0, (floor - at).total_seconds() / 3600),
        )
    )
    prediction = Prediction(
        id="pred_" + secrets.token_hex(6),
        client_id=client.id,
        payment_method_token=token,
        amount=amount,
        currency=currency,
        scheduled_at=at,
        basis_decline_code=learning.code_key(decline),
        part_of_day=learning.part_of(client, at),
        risk_score=result.risk_score,
        confidence=result.confidence,
        recommendation=result.recommendation,
        factors=result.factors,
        created_at=now,
    )
    db.session.add(prediction)
    db.session.commit()
    return prediction, result


def record_outcome(client: Client, token: str, outcome: str) -> Prediction | None:
    """The latest prediction for this card learns what happened; None if there was none."""
    prediction = db.session.execute(
        select(Prediction)
        .where(Prediction.client_id == client.id, Prediction.payment_method_token == token)
        .order_by(Prediction.created_at.desc(), Prediction.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if prediction is None:
        return None
    first_report = prediction.actual_outcome is None
    prediction.actual_outcome = outcome
    prediction.outcome_at = clock_now()
    if first_report and outcome in ("succeeded", "failed"):
        learning.count(client, prediction.basis_decline_code, prediction.part_of_day,
                       outcome == "succeeded")
    db.session.commit()
    return prediction
