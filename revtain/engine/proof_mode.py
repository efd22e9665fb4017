"""Proof Mode (contract 9.4): which group a failed payment's customer is in, and what the two
groups' outcomes show. Pure: no Flask, no database.

**Assignment.** A customer is keyed by their email (lower-cased), else the billing platform's
customer id, else the payment-method token. ``HMAC-SHA256(clientId, key)`` gives a bucket in
0..9999; buckets below ``share * 100`` are the control group. The same customer therefore lands in
the same group on every resubmit and every later failure, and two merchants' splits are unrelated.

**Statistics.** An invoice counts once its observation window (30 days after the failure) is over:
recovered if it was paid inside the window (by Revtain or, in either group, by other means).
The uplift is treatment rate minus control rate, in percentage points, with Newcombe's hybrid
score interval (Newcombe 1998, method 10: Wilson intervals of each rate combined), which stays
honest with small counts and rates near 0 or 1 where the textbook Wald interval does not. The
verdict is the two-sided two-proportion z-test with the pooled rate, at the 5 % level.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

Group = Literal["treatment", "control"]
TREATMENT: Group = "treatment"
CONTROL: Group = "control"

DEFAULT_SHARE = 10  # percent of customers in the control group
MAX_SHARE = 50  # hard cap (contract 9.4)
BUCKETS = 10_000

# When the sample is still too small for a verdict ("measurement in progress"): each group needs
# at least MIN_INVOICES counted invoices, and every cell of the 2x2 table needs an expected count
# of at least MIN_EXPECTED (the usual validity condition of the z-test and chi-square test).
MIN_INVOICES = 30
MIN_EXPECTED = 5.0
CONFIDENCE = 0.95
ALPHA = 0.05

Verdict = Literal["in_progress", "uplift", "drop", "no_difference"]


def customer_key(email: str | None, platform_customer: str | None, token: str) -> str:
    """What identifies the customer for stickiness: the email, else the platform's customer id,
    else the payment-method token. Prefixed so an email never equals a token."""
    if email and email.strip():
        return "email:" + email.strip().lower()
    if platform_customer:
        return "customer:" + platform_customer
    return "token:" + token


def fingerprint(client_id: str, key: str) -> str:
    """``HMAC-SHA256(clientId, key)`` in hex: what is stored of the customer, and their bucket."""
    return hmac.new(client_id.encode(), key.encode(), hashlib.sha256).hexdigest()


def bucket(fingerprint_hex: str) -> int:
    return int(fingerprint_hex[:16], 16) % BUCKETS


def valid_share(share: int) -> bool:
    return 1 <= share <= MAX_SHARE


def assign(fingerprint_hex: str, share: int) -> Group:
    """The group of the customer with this fingerprint at this control share (percent, capped at
    ``MAX_SHARE``)."""
    share = max(0, min(share, MAX_SHARE))
    return CONTROL if bucket(fingerprint_hex) < share * (BUCKETS // 100) else TREATMENT


# -- statistics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    """One group's counted invoices and how many of them were paid inside the window."""

    invoices: int
    recovered: int

    def __post_init__(self) -> None:
        if not 0 <= self.recovered <= self.invoices:
            raise ValueError(f"recovered ({self.recovered}) must be between 0 and invoices ({self.invoices})")

    @property
    def rate(self) -> float | None:
        return self.recovered / self.invoices if self.invoices else None


@dataclass(frozen=True)
class Comparison:
    treatment: Outcomes
    control: Outcomes
    verdict: Verdict
    uplift_points: float | None  # treatment rate minus control rate, in percentage points
    interval_points: tuple[float, float] | None  # the 95 % interval of the uplift, in points
    z: float | None
    p_value: float | None
    waiting_for: tuple[str, ...] = ()  # why the measurement is still in progress

    @property
    def in_progress(self) -> bool:
        return self.verdict == "in_progress"


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's score interval of a proportion (no continuity correction)."""
    if n <= 0:
        raise ValueError("the interval of an empty sample is undefined")
    z = _z(confidence)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(a: Outcomes, b: Outcomes, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Newcombe's hybrid score interval of ``rate(a) - rate(b)`` (as proportions)."""
    p1, p2 = a.recovered / a.invoices, b.recovered / b.invoices
    l1, u1 = wilson_interval(a.recovered, a.invoices, confidence)
    l2, u2 = wilson_interval(b.recovered, b.invoices, confidence)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def z_test(a: Outcomes, b: Outcomes) -> tuple[float, float]:
    """The two-proportion z-test with the pooled rate: ``(z, two-sided p-value)``."""
    pooled = (a.recovered + b.recovered) / (a.invoices + b.invoices)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a.invoices + 1 / b.invoices))
    if se == 0:  # both groups all recovered, or none: no evidence of any difference
        return 0.0, 1.0
    z = (a.recovered / a.invoices - b.recovered / b.invoices) / se
    return z, 2 * NormalDist().cdf(-abs(z))


def _waiting_for(treatment: Outcomes, control: Outcomes, min_invoices: int) -> tuple[str, ...]:
    reasons = []
    for name, group in (("treatment", treatment), ("control", control)):
        if group.invoices < min_invoices:
            reasons.append(
                f"the {name} group has {group.invoices} of the {min_invoices} counted invoices needed"
            )
    if reasons:
        return tuple(reasons)
    pooled = (treatment.recovered + control.recovered) / (treatment.invoices + control.invoices)
    for name, group in (("treatment", treatment), ("control", control)):
        expected = min(pooled, 1 - pooled) * group.invoices
        if expected < MIN_EXPECTED:
            reasons.append(
                f"the {name} group needs more invoices: at the overall rate of {pooled:.0%} it would "
                f"expect {expected:.1f} {'recovered' if pooled <= 0.5 else 'unrecovered'} invoices, "
                f"fewer than {MIN_EXPECTED:g}"
            )
    return tuple(reasons)


def compare(
    treatment: Outcomes,
    control: Outcomes,
    *,
    min_invoices: int = MIN_INVOICES,
    confidence: float = CONFIDENCE,
    alpha: float = ALPHA,
) -> Comparison:
    """Treatment against control: the uplift, its interval and the test's verdict, or
    ``in_progress`` (with the reasons) while the samples are too small to say."""
    waiting = _waiting_for(treatment, control, min_invoices)
    uplift = None
    if treatment.invoices and control.invoices:
        uplift = 100 * (treatment.recovered / treatment.invoices - control.recovered / control.invoices)
    if waiting:
        return Comparison(treatment, control, "in_progress", uplift, None, None, None, waiting)
    low, high = difference_interval(treatment, control, confidence)
    z, p_value = z_test(treatment, control)
    verdict: Verdict = "no_difference"
    if p_value < alpha:
        verdict = "uplift" if z > 0 else "drop"
    return Comparison(treatment, control, verdict, uplift, (100 * low, 100 * high), z, p_value)
