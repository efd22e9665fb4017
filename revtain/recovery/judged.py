"""A recovery's judgements, kept on its row: the first failure's (what the merchant reported, with
its network signals) and the latest decline's. Later steps read them; nothing re-classifies.

The first failure counts for the card-network rules like an attempt on the card
(``card_rules.card_history`` reads it from here): its never-retry and advice codes hold.
"""

from __future__ import annotations

from ..engine.judgement import Judgement, judge
from ..models import Recovery


def _stored(recovery: Recovery, which: str) -> Judgement | None:
    data = (recovery.judgement or {}).get(which)
    return Judgement.from_json(data) if data else None


def first(recovery: Recovery) -> Judgement:
    """The reported failure's judgement (rows from before judgements were kept: judged from their code)."""
    return _stored(recovery, "first") or judge(recovery.original_decline_code, network=recovery.card_network)


def latest(recovery: Recovery) -> Judgement:
    """The latest decline's judgement."""
    return _stored(recovery, "latest") or _stored(recovery, "first") or judge(
        recovery.last_decline_code or recovery.original_decline_code, network=recovery.card_network
    )


def remember(recovery: Recovery, judgement: Judgement, *, is_first: bool = False) -> None:
    data = dict(recovery.judgement or {})
    if is_first:
        data["first"] = judgement.as_json()
    data["latest"] = judgement.as_json()
    recovery.judgement = data  # a new dict, so the JSON column sees the change


def attempt_fields(judgement: Judgement) -> dict:
    """What an attempt row keeps of its decline's judgement."""
    return {
        "category": judgement.category,
        "action": judgement.action,
        "never_reason": judgement.never_reason or "",
        "card_network": judgement.card_network,
    }
