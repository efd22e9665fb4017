"""The decline catalogue: what a decline code means and how the engine handles it (contract 6, 4.4).

The table lives in ``data/declines.json`` (versioned with the code), not in if-chains.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

Handling = Literal["attempt", "queue", "block"]


@dataclass(frozen=True)
class Decline:
    code: str | None  # canonical code, None when the caller gave none
    category: str  # soft | hard | fraud | technical | auth_required | unknown
    handling: Handling
    recommended_action: str  # request_card_update | retry_later | manual_review | monitor
    reason: str  # readable explanation of recommended_action
    plain_english: str
    queued_message: str = "Queued for smart-time retry."


@cache
def _catalogue() -> dict:
    return json.loads(resources.files(__package__).joinpath("data/declines.json").read_text())


def normalise(code: str | None) -> str | None:
    if code is None:
        return None
    code = code.strip().lower()
    return code or None


def classify(code: str | None) -> Decline:
    data = _catalogue()
    canonical = normalise(code)
    entry = data["none"] if canonical is None else data["codes"].get(canonical, data["unknown"])
    return Decline(
        code=canonical,
        category=entry["category"],
        handling=entry["handling"],
        recommended_action=entry["action"],
        reason=data["actions"][entry["action"]],
        plain_english=entry["plainEnglish"],
        queued_message=entry.get("queuedMessage", "Queued for smart-time retry."),
    )


def action_reason(action: str) -> str:
    return _catalogue()["actions"][action]
