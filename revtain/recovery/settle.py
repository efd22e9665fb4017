"""What a cascade's outcome means for the recovery: finished, queued for later, or waiting for
reconciliation. Shared by the execute path and the scheduled jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from flask import current_app

from ..dunning.scheduling import recovery_changed
from ..engine.judgement import Judgement
from ..models import Client, Recovery
from ..models.recovery import QUEUED, UNKNOWN
from . import finish
from .cascade import CascadeResult
from .judged import latest
from .schedule import schedule_next

Kind = Literal["recovered", "failed", "queued", "unknown", "awaiting_card"]


def await_reconciliation(recovery: Recovery, now: datetime) -> None:
    """The gateway's answer was lost: look the charge up later instead of charging again."""
    delays = current_app.config["RECONCILE_AFTER_SECONDS"]
    recovery.status = UNKNOWN
    recovery.recommended_action = "monitor"
    recovery.next_attempt_at = now + timedelta(
        seconds=float(delays[min(recovery.reconcile_tries, len(delays) - 1)])
    )
    recovery.updated_at = now


def queue(client: Client, recovery: Recovery, decline: Judgement, now: datetime) -> bool:
    if not schedule_next(client, recovery, decline, now):
        return False
    recovery.status = QUEUED
    recovery.recommended_action = "retry_later"
    recovery.updated_at = now
    recovery_changed(client, recovery, now)  # dunning emails, held while the retry is pending
    return True


def settle(
    client: Client,
    recovery: Recovery,
    outcome: CascadeResult,
    now: datetime,
    *,
    trigger: str | None,
    queue_errors: bool,
    decline_if_deferred: Judgement | None = None,
) -> tuple[Kind, str | None]:
    """Returns what happened and the webhook delivery to enqueue after commit, if any.

    A decline is queued for a smart retry while the plan, the budget and the card-network rules
    allow one. A decline that needs new credentials waits for a new card instead (no retry on this
    card). A gateway-level error is queued only by scheduled work (``queue_errors``): answered at
    once, it fails (the test gateway's 44-cent failure is a 200 ``success: false``).
    """
    if outcome.approved:
        return "recovered", finish.succeed(client, recovery, now, trigger)
    if outcome.outcome == "unknown":
        await_reconciliation(recovery, now)
        return "unknown", None
    deferred = outcome.outcome == "deferred"
    decline = (decline_if_deferred if deferred else outcome.decline) or latest(recovery)
    if decline.needs_new_card and (deferred or outcome.outcome == "declined"):
        return "awaiting_card", finish.await_card(client, recovery, now, decline, announce=False)
    retryable = deferred or outcome.outcome == "declined" or queue_errors
    if retryable and queue(client, recovery, decline, now):
        return "queued", None
    error = outcome.error if not deferred else (decline.code or outcome.error)
    return "failed", finish.fail(client, recovery, now, error, trigger, judgement=decline)
