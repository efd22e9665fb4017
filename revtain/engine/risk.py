"""Risk of a scheduled charge failing (contract 3.9): the recovery model's estimate for this
card's latest decline, moved by what is known about the card and the charge. Pure: (facts) ->
prediction.

Failure odds start from the Beta-Binomial estimate (``scoring.assess``) and are multiplied by
documented factors: each decline of this card in the last 30 days (x1.35), a large amount
(x1.2 above 200.00 in the currency's major unit), a charge outside the customer's 06:00-22:00
(x1.15), and a charge on a payday window or the billing-cycle day (x0.8).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .scoring import Assessment

PRIOR_DECLINE_FACTOR = 1.35
LARGE_AMOUNT_FACTOR = 1.2
LARGE_AMOUNT_MAJOR_UNITS = 200
ODD_HOURS_FACTOR = 1.15
PAYDAY_FACTOR = 0.8


@dataclass(frozen=True)
class RiskFacts:
    assessment: Assessment  # recovery likelihood for this card's latest decline code
    prior_declines_30d: int
    amount_major_units: float
    local_time: datetime  # the charge's time in the customer's zone
    on_payday: bool  # Friday, 1st, 15th, month end or the billing-cycle day
    # The card-network rules for this card at the charge's time (its latest decline's judgement,
    # the request's network signals): why it may never be charged, or how long until it may.
    never_reason: str | None = None
    network_wait_hours: float = 0.0


@dataclass(frozen=True)
class RiskPrediction:
    risk_score: float
    confidence: int
    reasoning: str
    factors: list[str]
    recommendation: str


def recommendation_for(score: float) -> str:
    if score < 25:
        return "proceed"
    if score < 60:
        return "proceed_with_caution"
    if score < 85:
        return "delay"
    return "block"


def predict(facts: RiskFacts) -> RiskPrediction:
    success = min(max(facts.assessment.score / 100, 0.01), 0.99)
    odds = (1 - success) / success
    factors: list[str] = []
    notes: list[str] = []
    if facts.prior_declines_30d:
        odds *= PRIOR_DECLINE_FACTOR**facts.prior_declines_30d
        factors.append("prior_decline_history")
        notes.append(f"Card has {facts.prior_declines_30d} prior declines in last 30 days.")
    if facts.amount_major_units > LARGE_AMOUNT_MAJOR_UNITS:
        odds *= LARGE_AMOUNT_FACTOR
        factors.append("large_amount")
        notes.append("Amount is above the usual subscription range.")
    else:
        factors.append("amount_pattern_match")
        notes.append("Amount matches a historically recoverable pattern.")
    if not 6 <= facts.local_time.hour < 22:
        odds *= ODD_HOURS_FACTOR
        factors.append("time_of_day_risk")
        notes.append("The charge falls outside the customer's daytime hours.")
    if facts.on_payday:
        odds *= PAYDAY_FACTOR
        factors.append("payday_window")
        notes.append("The charge falls on a payday window.")
    score = round(100 * odds / (1 + odds), 1)
    if facts.never_reason:  # a network rule forbids the charge: it cannot succeed and must not run
        return RiskPrediction(
            risk_score=100.0, confidence=100,
            reasoning=f"The card network forbids another attempt on this card ({facts.never_reason}).",
            factors=[*factors, "network_do_not_retry"], recommendation="block",
        )
    if facts.network_wait_hours > 0:
        factors.append("network_retry_after")
        notes.append(f"The card network asks to wait {facts.network_wait_hours:g} more hours.")
        return RiskPrediction(
            risk_score=max(score, 60.0), confidence=facts.assessment.confidence,
            reasoning=" ".join(notes), factors=factors, recommendation="delay",
        )
    return RiskPrediction(
        risk_score=score,
        confidence=facts.assessment.confidence,
        reasoning=" ".join(notes),
        factors=factors,
        recommendation=recommendation_for(score),
    )


def accurate(recommendation: str, outcome: str) -> bool:
    """Contract 3.10: a 'go' recommendation was right if the charge succeeded, a 'stop' one if it
    failed or was blocked."""
    if recommendation in ("proceed", "proceed_with_caution"):
        return outcome == "succeeded"
    return outcome in ("failed", "blocked")
