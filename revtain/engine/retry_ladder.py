"""The fixed retry ladder: when the next scheduled retry of a queued recovery is due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def next_retry_at(
    failed_at: datetime, retries_done: int, ladder: Sequence[float], now: datetime
) -> datetime | None:
    """The due time of retry number ``retries_done + 1``, or None when the ladder is used up.

    Rungs are offsets from the original failure; a rung already in the past is due ``now``.
    """
    if retries_done >= len(ladder):
        return None
    return max(failed_at + timedelta(seconds=float(ladder[retries_done])), now)
