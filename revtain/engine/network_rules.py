"""Card-network retry rules as hard limits (contract 13): may this card be charged now, and if not, when.

The rules are evaluated over the attempts Revtain made on one card across all of a client's
recoveries. Three kinds of rule apply:

* never-again codes: a Visa Category 1 response code, a Mastercard Merchant Advice Code 01/03/21
  (or Stripe's ``do_not_try_again``), or one of our catalogue's ``block`` decline codes on any past
  attempt means no attempt may ever be made on this card with the same credentials;
* advice floors: MAC 24-30 forbid an attempt before a fixed delay after the decline that carried it;
* attempt budgets over rolling windows: Visa 20 per 30 days, merchant-initiated and
  customer-initiated attempts counted apart (Visa's rule since 2025); Mastercard 10 per 24 hours and
  35 per 30 days over all attempts. Amex, Discover and JCB publish no per-card cap and get the
  Visa budget. A card whose network is unknown gets every budget (Visa and Mastercard), the strictest reading.

Codes mean what they say whichever network reported them: a response code or advice code is
honoured on any network, only the budgets depend on the network. Every rule only ever relaxes as
time passes, so the earliest allowed moment is the latest of the per-rule earliest moments.

The published figures change over time and by region; :class:`NetworkLimits` holds them with the
published values as defaults and is built from app config with :meth:`NetworkLimits.from_dict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .declines import classify, normalise

AttemptOutcome = Literal["approved", "declined", "error", "unknown"]
# Who started an attempt: the merchant (every retry Revtain makes, the reported renewal) or the
# customer (a charge while they are present, e.g. on the card-update page). Visa counts them apart.
Initiator = Literal["merchant", "customer"]
INITIATORS: tuple[Initiator, ...] = ("merchant", "customer")

# Visa Category 1 "issuer will never approve" response codes (lists vary slightly by acquirer).
VISA_CATEGORY_1: frozenset[str] = frozenset(
    {"03", "04", "07", "12", "15", "41", "43", "46", "57", "62", "78", "93", "R0", "R1", "R3"}
)
# MAC 01 new account information (get new credentials), 03 do not try again, 21 cardholder cancelled
# the recurring payment. Mastercard charges any retry within 30 days of a 03/21; we read "do not try
# again" literally. To allow them again after 30 days instead, move "03"/"21" from
# ``never_advice_codes`` to ``advice_retry_after_hours`` with 720 hours. ``do_not_try_again`` is
# Stripe's advice_code with the same meaning.
NEVER_ADVICE_CODES: frozenset[str] = frozenset({"01", "03", "21", "do_not_try_again"})
# MAC 24-30: retry after 1 hour, 24 hours, 2, 4, 6, 8, 10 days. MAC 02 ("try later") names no delay.
ADVICE_RETRY_AFTER_HOURS: tuple[tuple[str, float], ...] = (
    ("24", 1.0), ("25", 24.0), ("26", 48.0), ("27", 96.0), ("28", 144.0), ("29", 192.0), ("30", 240.0),
)

_VISA_BUDGET_NETWORKS = frozenset({"visa", "amex", "discover", "jcb"})


def normalise_network_code(code: str | None) -> str | None:
    """ISO 8583 response codes: trimmed, upper case, one digit padded ("3" -> "03", "r0" -> "R0")."""
    if code is None:
        return None
    code = code.strip().upper()
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    return code or None


def normalise_advice_code(code: str | None) -> str | None:
    """Merchant Advice Codes ("1" -> "01") and textual advice codes (lower case)."""
    if code is None:
        return None
    code = code.strip().lower()
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    return code or None


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class PastAttempt:
    """One attempt Revtain made on the card. Codes may be raw; they are normalised on creation."""

    at: datetime
    outcome: AttemptOutcome
    decline_code: str | None = None  # canonical (catalogue) decline code
    network_code: str | None = None  # network / ISO 8583 response code
    advice_code: str | None = None  # Mastercard Merchant Advice Code (or Stripe advice_code)
    initiator: Initiator = "merchant"
    # The attempt's judgement (``judgement.judge``), stored when it was made: why these credentials
    # may never be charged again, or "" when they may. None for rows judged before it was stored.
    never_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _aware(self.at, "PastAttempt.at"))
        if self.initiator not in INITIATORS:
            object.__setattr__(self, "initiator", "merchant")
        object.__setattr__(self, "decline_code", normalise(self.decline_code))
        object.__setattr__(self, "network_code", normalise_network_code(self.network_code))
        object.__setattr__(self, "advice_code", normalise_advice_code(self.advice_code))

    @property
    def reached_network(self) -> bool:
        """``error`` never reached the network and counts for no budget; ``unknown`` might have."""
        return self.outcome != "error"


CardHistory = tuple[PastAttempt, ...]


@dataclass(frozen=True)
class NetworkLimits:
    # Visa: reattempts per card in a rolling window. Since 2025 Visa's limit is 20 in 30 days,
    # counted separately for merchant-initiated and customer-initiated payments (the published
    # values; app config ``NETWORK_LIMITS`` sets them).
    visa_max_attempts: int = 20  # merchant-initiated
    visa_customer_max_attempts: int = 20  # customer-initiated, counted apart
    visa_window_days: float = 30.0
    # Mastercard excessive attempts: 10 in 24 hours, 35 in 30 days.
    mastercard_max_attempts_24h: int = 10
    mastercard_max_attempts_30d: int = 35
    never_network_codes: frozenset[str] = VISA_CATEGORY_1
    never_advice_codes: frozenset[str] = NEVER_ADVICE_CODES
    advice_retry_after_hours: tuple[tuple[str, float], ...] = ADVICE_RETRY_AFTER_HOURS

    def __post_init__(self) -> None:
        for name in ("visa_max_attempts", "visa_customer_max_attempts", "mastercard_max_attempts_24h",
                     "mastercard_max_attempts_30d"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
            object.__setattr__(self, name, int(getattr(self, name)))
        if float(self.visa_window_days) <= 0:
            raise ValueError("visa_window_days must be positive")
        object.__setattr__(self, "visa_window_days", float(self.visa_window_days))
        object.__setattr__(
            self, "never_network_codes",
            frozenset(c for c in map(normalise_network_code, self.never_network_codes) if c),
        )
        object.__setattr__(
            self, "never_advice_codes",
            frozenset(c for c in map(normalise_advice_code, self.never_advice_codes) if c),
        )
        pairs = self.advice_retry_after_hours
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        floors = tuple(sorted((normalise_advice_code(code) or "", float(hours)) for code, hours in items))
        if any(not code or hours < 0 for code, hours in floors):
            raise ValueError("advice_retry_after_hours needs codes and non-negative hours")
        object.__setattr__(self, "advice_retry_after_hours", floors)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> NetworkLimits:
        """From app config: any subset of the field names; code sets as lists, advice floors as a
        mapping of code -> hours. An unknown key is an error, so a typo cannot silently drop a limit."""
        data = dict(data or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown network limit(s): {', '.join(unknown)}")
        for key in ("never_network_codes", "never_advice_codes"):
            if key in data:
                data[key] = frozenset(data[key])
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        """The inverse of :meth:`from_dict` (JSON-friendly)."""
        return {
            "visa_max_attempts": self.visa_max_attempts,
            "visa_customer_max_attempts": self.visa_customer_max_attempts,
            "visa_window_days": self.visa_window_days,
            "mastercard_max_attempts_24h": self.mastercard_max_attempts_24h,
            "mastercard_max_attempts_30d": self.mastercard_max_attempts_30d,
            "never_network_codes": sorted(self.never_network_codes),
            "never_advice_codes": sorted(self.never_advice_codes),
            "advice_retry_after_hours": dict(self.advice_retry_after_hours),
        }

    def budgets(
        self, network: str, initiator: Initiator = "merchant"
    ) -> tuple[tuple[str, int, timedelta, Initiator | None], ...]:
        """(rule name, max attempts, rolling window, the initiator whose attempts count or None for
        all) that apply to an attempt of ``initiator`` on a card of this network."""
        visa_max = self.visa_max_attempts if initiator == "merchant" else self.visa_customer_max_attempts
        visa = ("visa_30d_limit", visa_max, timedelta(days=self.visa_window_days), initiator)
        mastercard = (
            ("mastercard_24h_limit", self.mastercard_max_attempts_24h, timedelta(hours=24), None),
            ("mastercard_30d_limit", self.mastercard_max_attempts_30d, timedelta(days=30), None),
        )
        network = (network or "unknown").strip().lower()
        if network == "mastercard":
            return mastercard
        if network in _VISA_BUDGET_NETWORKS:
            return (visa,)
        return (visa, *mastercard)  # unknown network: every budget


@dataclass(frozen=True)
class Verdict:
    allowed_now: bool
    not_before: datetime | None  # earliest allowed moment (== now when allowed); None when never
    never: bool  # no attempt may ever again be made on this card with these credentials
    reason: str  # "allowed", or the binding rule, e.g. "visa_30d_limit", "advice_code:26",
    #              "visa_category_1:04", "advice_code:01", "decline_code:fraudulent"


def never_reason(attempt: PastAttempt, limits: NetworkLimits) -> str | None:
    """Why this past attempt forbids any further attempt on the card, or None. The reason judged when
    the attempt was made wins; older rows are judged from their codes."""
    if attempt.never_reason is not None:
        return attempt.never_reason or None
    if attempt.network_code in limits.never_network_codes:
        return f"visa_category_1:{attempt.network_code}"
    if attempt.advice_code in limits.never_advice_codes:
        return f"advice_code:{attempt.advice_code}"
    if attempt.decline_code is not None and classify(attempt.decline_code).handling == "block":
        return f"decline_code:{attempt.decline_code}"
    return None


def _window_frees_at(times: list[datetime], limit: int, window: timedelta, now: datetime) -> datetime:
    """Earliest moment >= now at which fewer than ``limit`` of ``times`` lie in (moment - window, moment].

    Times after ``now`` (clock skew between processes) are counted too.
    """
    inside = sorted(t for t in times if t > now - window)
    if len(inside) < limit:
        return now
    # The oldest len - limit + 1 attempts must leave the window; the last of them decides.
    return inside[len(inside) - limit] + window


def verdict(
    network: str,
    history: Iterable[PastAttempt],
    now: datetime,
    limits: NetworkLimits | None = None,
    initiator: Initiator = "merchant",
) -> Verdict:
    """May Revtain make an attempt of ``initiator`` on this card at ``now``; if not, from when (or never)."""
    limits = limits or NetworkLimits()
    now = _aware(now, "now")
    attempts = sorted(history, key=lambda a: a.at)
    for attempt in attempts:
        reason = never_reason(attempt, limits)
        if reason:
            return Verdict(allowed_now=False, not_before=None, never=True, reason=reason)

    earliest, binding = now, "allowed"
    floors = dict(limits.advice_retry_after_hours)
    for attempt in attempts:
        if attempt.advice_code in floors:
            floor = attempt.at + timedelta(hours=floors[attempt.advice_code])
            if floor > earliest:
                earliest, binding = floor, f"advice_code:{attempt.advice_code}"
    for name, limit, window, counts in limits.budgets(network, initiator):
        counted = [a.at for a in attempts if a.reached_network and counts in (None, a.initiator)]
        frees = _window_frees_at(counted, limit, window, now)
        if frees > earliest:
            earliest, binding = frees, name
    return Verdict(allowed_now=earliest <= now, not_before=earliest, never=False, reason=binding)
