"""The ``ai`` block: a Beta-Binomial estimate of how likely a decline of this kind recovers.

Prior (documented default, used on a new install with no history): for each decline category a
Beta(a, b) whose mean is a conservative industry figure for recovery of that kind of decline.
The prior is updated with the outcomes recorded on all clients; the client's own outcomes are
added on top when it has any. Confidence grows with the number of outcomes behind the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# category -> (alpha, beta): prior successes and failures worth ten observations.
PRIORS: dict[str, tuple[float, float]] = {
    "soft": (4.5, 5.5),
    "technical": (6.0, 4.0),
    "hard": (2.0, 8.0),
    "auth_required": (1.0, 9.0),
    "fraud": (0.5, 9.5),
    "unknown": (3.5, 6.5),
}
CONFIDENCE_HALF_AT = 50  # outcomes at which confidence reaches 50


@dataclass(frozen=True)
class Counts:
    successes: int = 0
    failures: int = 0

    @property
    def total(self) -> int:
        return self.successes + self.failures


@dataclass(frozen=True)
class Assessment:
    score: float
    confidence: int
    reasoning: str
    data_source: str  # global | merchant | blended

    def as_json(self) -> dict:
        return {
            "score": self.score,
            "confidence": self.confidence,
            "reasoning": self.reasoning,
            "dataSource": self.data_source,
        }


def part_of_day(local: datetime) -> str:
    hour = local.hour
    if hour < 6:
        return "night"
    if hour < 12:
        return "morning"
    if hour < 18:
        return "afternoon"
    return "evening"


def assess(
    category: str, code: str | None, part: str, merchant: Counts, everyone: Counts
) -> Assessment:
    """``everyone`` includes the merchant's own outcomes."""
    alpha, beta = PRIORS.get(category, PRIORS["unknown"])
    others = Counts(everyone.successes - merchant.successes, everyone.failures - merchant.failures)
    alpha += others.successes + merchant.successes
    beta += others.failures + merchant.failures
    score = round(100 * alpha / (alpha + beta), 1)
    n = everyone.total
    confidence = round(100 * n / (n + CONFIDENCE_HALF_AT))
    if merchant.total and others.total:
        source = "blended"
    elif merchant.total:
        source = "merchant"
    else:
        source = "global"
    label = f'"{code}"' if code else "uncoded"
    if n:
        reasoning = f"Analysed {n} similar {label} declines during {part} hours."
    else:
        reasoning = (
            f"No recorded outcomes yet for {label} declines during {part} hours; "
            f"estimate from Revtain's default {category} prior."
        )
    return Assessment(score, confidence, reasoning, source)
