"""A decline judged once: one value carrying what it means and what Revtain may do about it.

Every decline (the merchant's reported first failure, a gateway's answer, a connector's event) is
judged exactly once, by :func:`judge`, into a :class:`Judgement`. Every later step (starting a
recovery, scheduling its retry, settling an attempt, finishing it, dunning) reads that value (kept
on the attempt row and on the recovery) instead of classifying the raw code again.

The decision is ``action``:

* ``retry``: may be retried, within the card-network rules and the retry plan;
* ``new_credentials``: never again on these card credentials; the recovery waits for a new card
  (expired, invalid number, closed account, lost or stolen, authentication needed, and every
  never-retry code that is not a fraud block: Mastercard advice 01/03/21, Visa Category 1, the
  catalogue's ``block`` codes). A new card recharges it;
* ``block``: a fraud block; never charged again, not even with a new card.

Pure: no Flask, no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from .card_networks import NETWORKS
from .declines import Decline, canonical_codes, classify, classify_result
from .network_rules import NetworkLimits, normalise_advice_code, normalise_network_code

Action = Literal["retry", "new_credentials", "block"]
ACTIONS: tuple[Action, ...] = ("retry", "new_credentials", "block")

# Families whose declines only a new card (or the cardholder's own action) can cure.
NEW_CREDENTIAL_FAMILIES = frozenset({"expired", "closed", "lost_stolen", "account_updated", "authentication"})
# Card-data declines that mean the stored credentials are wrong, not that a field was mistyped now.
NEW_CREDENTIAL_CODES = frozenset({"incorrect_number", "invalid_expiry_date", "card_data_update_required"})
# Families whose never-retry declines are closed for good, whatever card comes next.
BLOCK_FAMILIES = frozenset({"fraud", "restricted", "compliance", "merchant", "test"})

# Visa decline categories (Visa's "Decline Categories" of its reattempt rules). Category 1 ("issuer
# will never approve") is the network rules' never-list; 2 "cannot approve at this time"; 3 "data
# quality" (ask for the data again); 4 every other decline.
VISA_CATEGORY_2 = frozenset({"19", "51", "52", "53", "59", "61", "65", "75", "86", "91", "96", "N3", "N4"})
VISA_CATEGORY_3 = frozenset({"14", "54", "55", "82", "N7", "6P"})


@dataclass(frozen=True)
class Judgement:
    decline: Decline  # the catalogue's meaning (code, category, handling, texts)
    action: Action
    card_network: str = "unknown"  # visa | mastercard | amex | discover | jcb | unknown
    network_code: str | None = None  # ISO 8583 / network response code, normalised
    advice_code: str | None = None  # Mastercard Merchant Advice Code or Stripe advice_code
    visa_category: int | None = None  # 1-4 when a network code was given
    retry_after_hours: float | None = None  # the earliest retry an advice code (MAC 24-30) sets
    never_reason: str | None = None  # why these credentials may never be charged again

    # The Decline's fields, so a Judgement reads like one.
    @property
    def code(self) -> str | None:
        return self.decline.code

    @property
    def category(self) -> str:
        return self.decline.category

    @property
    def handling(self) -> str:
        return self.decline.handling

    @property
    def family(self) -> str:
        return self.decline.family

    @property
    def recommended_action(self) -> str:
        return self.decline.recommended_action

    @property
    def reason(self) -> str:
        return self.decline.reason

    @property
    def plain_english(self) -> str:
        return self.decline.plain_english

    @property
    def queued_message(self) -> str:
        return self.decline.queued_message

    @property
    def retryable(self) -> bool:
        return self.action == "retry"

    @property
    def needs_new_card(self) -> bool:
        return self.action == "new_credentials"

    def as_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "decline"}
        data["decline"] = asdict(self.decline)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Judgement:
        fields = dict(data)
        return cls(decline=Decline(**fields.pop("decline")), **fields)


def card_network(value: str | None) -> str:
    name = (value or "").strip().lower()
    return name if name in NETWORKS else "unknown"


def visa_category(network_code: str | None, limits: NetworkLimits) -> int | None:
    if network_code is None:
        return None
    if network_code in limits.never_network_codes:
        return 1
    if network_code in VISA_CATEGORY_2:
        return 2
    if network_code in VISA_CATEGORY_3:
        return 3
    return 4


def action_for(decline: Decline, never_reason: str | None) -> Action:
    """The one rule that turns a decline into what Revtain may do about it."""
    if decline.family == "lost_stolen":
        return "new_credentials"  # the cardholder is not the fraudster: a new card may pay
    if decline.category == "fraud" or (decline.handling == "block" and decline.family in BLOCK_FAMILIES):
        return "block"
    if (
        never_reason is not None
        or decline.handling == "block"
        or decline.family in NEW_CREDENTIAL_FAMILIES
        or decline.code in NEW_CREDENTIAL_CODES
    ):
        return "new_credentials"
    return "retry"


def _never_reason(
    decline: Decline, network: str | None, advice: str | None, limits: NetworkLimits
) -> str | None:
    if network in limits.never_network_codes:
        return f"visa_category_1:{network}"
    if advice in limits.never_advice_codes:
        return f"advice_code:{advice}"
    if decline.override:
        return decline.override
    if decline.handling == "block" and decline.code:
        return f"decline_code:{decline.code}"
    return None


def judge(
    decline_code: str | None,
    *,
    gateway: str | None = None,
    network_code: str | None = None,
    advice_code: str | None = None,
    network: str | None = None,
    limits: NetworkLimits | None = None,
) -> Judgement:
    """Judge one decline. ``gateway`` names where ``decline_code`` comes from (an adapter's raw code);
    without it the code is read as a merchant reports it (canonical, or a self-identifying raw code).
    ``network`` is the card's network (``cardNetwork``, the BIN's); unknown when not given."""
    limits = limits or NetworkLimits()
    net = normalise_network_code(network_code)
    advice = normalise_advice_code(advice_code)
    if gateway is None:
        base = classify(decline_code)
        known = base.code if base.code in canonical_codes() else decline_code
        decline = classify_result("", known, net, advice) if (net or advice) else base
        if decline_code and decline.raw_code != base.raw_code:
            decline = replace(decline, raw_code=base.raw_code)
        if not decline_code and not (net or advice):
            decline = base
    else:
        decline = classify_result(gateway, decline_code, net, advice)
    if net in limits.never_network_codes and decline.handling != "block":
        decline = replace(decline, handling="block", override=f"visa_category_1:{net}")
    if advice in limits.never_advice_codes and decline.handling != "block":
        decline = replace(decline, handling="block", override=f"advice_code:{advice}")
    never = _never_reason(decline, net, advice, limits)
    floors = dict(limits.advice_retry_after_hours)
    return Judgement(
        decline=decline,
        action=action_for(decline, never),
        card_network=card_network(network),
        network_code=net,
        advice_code=advice,
        visa_category=visa_category(net, limits),
        retry_after_hours=floors.get(advice) if advice else None,
        never_reason=never,
    )
