"""When a recovery's next retry is due: the smart plan on the customer's clock, at the learned hour,
bounded by the card-network rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from ..engine import customer_clock
from ..engine.judgement import Judgement
from ..engine.retry_plan import RetrySettings, next_attempt
from ..models import Client, Recovery
from .card_rules import card_verdict
from .learning import timing_for


def clock_of(client: Client, recovery: Recovery) -> customer_clock.CustomerClock:
    """The customer's clock: as told on execute (or by the platform), else the card's issuing
    country (``cardOrigin``, or the BIN's country), else the client's timezone."""
    return customer_clock.resolve(
        recovery.customer_timezone, recovery.customer_country, recovery.card_origin, client.timezone
    )


def retry_settings(client: Client, recovery: Recovery) -> RetrySettings:
    timing = timing_for(client, recovery)
    return RetrySettings.from_config(
        current_app.config,
        clock_of(client, recovery),
        window_days=client.retry_window_days,
        max_attempts=client.retry_max_attempts,
        billing_cycle_day=client.billing_cycle_day,
        local_hour=timing.hour,
        avoid_weekdays=timing.avoid_weekdays,
    )


def _sandbox_due(client: Client, recovery: Recovery, now: datetime) -> datetime | None:
    """The test gateway's short ladder (seconds after the failure), so sandboxes see outcomes soon.
    An empty ``TEST_GATEWAY_RETRY_LADDER`` gives test clients the real smart plan."""
    ladder = current_app.config["TEST_GATEWAY_RETRY_LADDER"]
    if recovery.scheduled_retries >= len(ladder):
        return None
    return max(recovery.created_at + timedelta(seconds=float(ladder[recovery.scheduled_retries])), now)


def schedule_next(client: Client, recovery: Recovery, decline: Judgement, now: datetime) -> bool:
    """Set ``next_attempt_at`` for the next retry; False when there must be none (the judgement
    allows no retry, or the card-network rules never will)."""
    if not decline.retryable:
        return False
    rules = card_verdict(client.id, recovery.payment_method_token, recovery.bin_prefix, now,
                         network=recovery.card_network)
    if rules.never:
        return False
    if client.is_test_gateway and current_app.config["TEST_GATEWAY_RETRY_LADDER"]:
        due = _sandbox_due(client, recovery, now)
        if due is None:
            return False
        recovery.next_attempt_at, recovery.retry_reason = max(due, rules.not_before or due), "sandbox"
        return True
    plan = next_attempt(
        failed_at=recovery.created_at,
        now=now,
        attempts_made=recovery.scheduled_retries,
        category=decline.category,
        decline_code=decline.code,
        settings=retry_settings(client, recovery),
        not_before=rules.not_before,
    )
    if plan is None:
        return False
    recovery.next_attempt_at, recovery.retry_reason = plan.due_at, plan.reason
    return True
