"""The settings, typed and validated (pydantic-settings): one field for each key of ``config.DEFAULTS``.

The defaults stay in ``config.py`` (the one place they live) and the descriptions in its comments; this
model says what each value may be. ``config.load`` layers the defaults, ``instance/config.py``,
``REVTAIN_*`` environment variables (read by pydantic-settings: JSON for lists and mappings) and the
factory's own mapping, then validates the result here: a bad value stops the app (and the CLI) at start
with a message naming the setting and where it came from, never its value when it is a secret.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

ENV_PREFIX = "REVTAIN_"
# Never shown: not in error messages, not in ``config.redacted``.
SECRET_SETTINGS = frozenset(
    {"SECRET_KEY", "ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_SMTP_PASSWORD", "METRICS_TOKEN"}
)


def _rate_limit(value: str) -> str:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ValueError('must be a rate limit such as "60 per minute" or "20 per 10 minutes"') from None
    return value


def _url(schemes: tuple[str, ...]):
    def check(value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        scheme = parts.scheme.split("+")[0]
        if scheme not in schemes or not (parts.netloc or parts.path):
            raise ValueError(f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}")
        return value

    return check


def _iso_time(value: str | None) -> str | None:
    if value is not None:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 time, e.g. 2026-03-17T12:00:00+00:00") from None
    return value


def _network_limits(value: dict[str, Any]) -> dict[str, Any]:
    from .engine.network_rules import NetworkLimits

    NetworkLimits.from_dict(value)  # unknown names and bad values are refused there
    return value


def _sender(value: str) -> str:
    if "@" not in value:
        raise ValueError('must be an email address, e.g. "Billing <billing@example.com>"')
    return value


_HASH_METHOD = re.compile(r"^(scrypt(:\d+){0,3}|pbkdf2(:[a-z0-9_]+)?(:\d+)?)$")


def _hash_method(value: str) -> str:
    if not _HASH_METHOD.match(value):
        raise ValueError('must be a werkzeug hash method: "scrypt" or "pbkdf2:sha256:600000"')
    return value


def _log_level(value: str) -> str:
    if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return value


RateLimit = Annotated[str, AfterValidator(_rate_limit),
                      Field(json_schema_extra={"format": 'e.g. "60 per minute"'})]
Seconds = Annotated[int | float, Field(ge=0)]
Timeout = Annotated[float, Field(gt=0)]
Schedule = list[Seconds]


class Settings(BaseSettings):
    """Every setting, with the values it may take. Descriptions: the comments above each key in
    ``config.py`` (or ``description`` here, for a key whose comment is shared)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, case_sensitive=True, extra="allow")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        """Only what ``validate`` passes: it reads the environment itself (``EnvSettingsSource``), to put
        it between ``instance/config.py`` and the factory's mapping."""
        return (init_settings,)

    ENV: Literal["development", "production"]
    SECRET_KEY: str | None = Field(
        description="Signs dashboard sessions and forms. Required in production; in development one is "
        "generated in the instance folder.")
    DATABASE_URL: Annotated[str | None, AfterValidator(_url(("postgresql", "postgres", "sqlite"))),
                            Field(json_schema_extra={"format": "postgresql:// or sqlite:// URL"})]
    REDIS_URL: Annotated[str | None, AfterValidator(_url(("redis", "rediss", "unix"))),
                         Field(json_schema_extra={"format": "redis://, rediss:// or unix:// URL"})]
    ENCRYPTION_KEY: str | None = Field(json_schema_extra={"format": "base64 of 32 bytes"})
    PUBLIC_BASE_URL: Annotated[str, AfterValidator(_url(("http", "https"))),
                               Field(json_schema_extra={"format": "http:// or https:// URL"})]
    EXECUTE_RATE_LIMIT: RateLimit = Field(description="POST /api/recovery/execute, per API key.")
    PAYWALL_RATE_LIMIT: RateLimit = Field(description="GET /api/recovery/paywall-status, per key.")
    TOKENIZE_RATE_LIMIT: RateLimit = Field(description="POST /api/recovery/tokenize, per API key.")
    LOOKUP_RATE_LIMIT: RateLimit
    TRUSTED_PROXIES: Annotated[int, Field(ge=0)]
    HSTS_MAX_AGE: Annotated[int, Field(ge=0)]
    WEBHOOK_SCHEDULE: Annotated[Schedule, Field(min_length=1)]
    WEBHOOK_TIMEOUT: Timeout = Field(description="Seconds a merchant's webhook URL has to answer.")
    WEBHOOK_ALLOW_HTTP: bool
    ALLOW_PRIVATE_DESTINATIONS: bool | None
    RETRY_WINDOW_DAYS: Annotated[int, Field(ge=1)]
    RETRY_MAX_ATTEMPTS: Annotated[int, Field(ge=1)] = Field(
        description="Smart retries: at most this many attempts per recovery (per client when set there).")
    RETRY_LOCAL_HOUR: Annotated[int, Field(ge=0, le=23)] = Field(
        description="Smart retries: the hour of the customer's day (0-23) a retry aims for.")
    NETWORK_LIMITS: Annotated[dict[str, Any], AfterValidator(_network_limits)]
    TEST_GATEWAY_RETRY_LADDER: Schedule
    RECONCILE_AFTER_SECONDS: Annotated[Schedule, Field(min_length=1)]
    VELOCITY_WINDOW_SECONDS: Annotated[int, Field(ge=0)]
    CLAIM_LEASE_SECONDS: Annotated[int | float, Field(gt=0)]
    REENQUEUE_AFTER_SECONDS: Annotated[int | float, Field(gt=0)]
    SCHEDULER_INTERVAL_SECONDS: Timeout = Field(description="How often the scheduler looks for due work.")
    SCHEDULER_BATCH_SIZE: Annotated[int, Field(ge=1)] = Field(
        description="The most due rows the scheduler enqueues in one pass.")
    CARD_UPDATE_LINK_TTL_SECONDS: Annotated[int, Field(ge=1)]
    CARD_UPDATE_GUESS_RATE_LIMIT: RateLimit
    MAIL_OUTBOX: str | None
    MAIL_SMTP_HOST: str | None = Field(
        description="Dunning emails over SMTP: the server (unset: emails go to MAIL_OUTBOX).")
    MAIL_SMTP_PORT: Annotated[int, Field(ge=1, le=65535)] = Field(description="The SMTP server's port.")
    MAIL_SMTP_TLS: Literal["starttls", "ssl", "none"] = Field(
        description="How the SMTP connection is secured.")
    MAIL_SMTP_USERNAME: str | None = Field(description="SMTP login, if the server asks for one.")
    MAIL_SMTP_PASSWORD: str | None = Field(description="SMTP password.")
    MAIL_SMTP_TIMEOUT: Timeout = Field(description="Seconds to wait for the SMTP server.")
    MAIL_FROM: Annotated[str, AfterValidator(_sender)]
    DUNNING_AFTER_RETRY_SECONDS: Annotated[int, Field(ge=0)]
    DUNNING_SEND_RETRY_SECONDS: Schedule
    ALERT_WEBHOOK_DEAD_AFTER_TRIES: Annotated[int, Field(ge=1)]
    ALERT_SEND_RETRY_SECONDS: Schedule = Field(
        description="When an alert email or text message is tried again (seconds after each try).")
    TWILIO_TIMEOUT: Timeout = Field(description="Seconds to wait for Twilio (alert text messages).")
    PROOF_MODE_OBSERVATION_DAYS: Annotated[int, Field(ge=1)]
    PROOF_MODE_MIN_INVOICES: Annotated[int, Field(ge=1)] = Field(
        description="Proof Mode: the counted invoices each group needs before a verdict.")
    PRE_RETRY_CHECK_TIMEOUT: Annotated[float, Field(gt=0, le=10)]
    PASSWORD_HASH_METHOD: Annotated[str, AfterValidator(_hash_method)]
    FROZEN_NOW: Annotated[str | None, AfterValidator(_iso_time)]
    RETRY_LADDER_DAYS: Annotated[list[Annotated[int | float, Field(gt=0)]], Field(min_length=1)]
    RETRY_MIN_SPACING_HOURS: Annotated[int | float, Field(ge=0)] = Field(
        description="Smart retries: the fewest hours between two attempts of one recovery.")
    RETRY_AVOID_WEEKDAYS: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        description="The customer's local weekdays (Monday = 0) non-funds retries move away from.")
    RETRY_LEARNING_MIN_SAMPLES: Annotated[int, Field(ge=1)]
    RETRY_LEARNING_PRIOR_STRENGTH: Annotated[int | float, Field(ge=0)] = Field(
        description="Learned timing: pseudo-observations that shrink a client's or a slot's rate toward "
        "all clients'.")
    RETRY_EXPLORATION_SHARE: Annotated[float, Field(ge=0, le=1)] = Field(
        description="Learned timing: the share of retries that explore another daytime hour.")
    RETRY_LEARNING_WEEKDAY_BELOW: Annotated[float, Field(ge=0, le=1)] = Field(
        description="Learned timing: a weekday whose rate is below this share of the best weekday's "
        "is avoided.")
    TEST_GATEWAY_LATENCY_MS: Annotated[int | float, Field(ge=0)]
    DEV_WEBHOOK_INBOX_LATENCY_MS: Annotated[int | float, Field(ge=0)] = Field(
        description="Benchmarks: milliseconds the development webhook inbox waits before it answers.")
    API_KEY_CACHE_SECONDS: Annotated[int | float, Field(ge=0)]
    SCHEDULER_HEARTBEAT_MAX_AGE_SECONDS: Annotated[int | float, Field(gt=0)]
    METRICS_TOKEN: str | None
    LOG_FORMAT: Literal["json", "console"] | None
    LOG_LEVEL: Annotated[str, AfterValidator(_log_level)] = Field(
        description='Logs: the least severe level written: "DEBUG", "INFO", "WARNING", "ERROR" or '
        '"CRITICAL" (any case).')
    WORKER_THREADS: Annotated[int, Field(ge=1)]
    WEBHOOK_MAX_IN_FLIGHT_PER_CLIENT: Annotated[int, Field(ge=0)]
    CARD_EXPIRY_REMINDER_DAYS: Annotated[int, Field(ge=0, le=366)] = Field(
        description="Days before a card on file expires (end of its expiry month) the customer is "
        "reminded to update it, once per card and expiry; 0 turns the reminders off.")


def env_name(key: str) -> str:
    return ENV_PREFIX + key


def _parse_text(raw: str) -> Any:
    """A ``REVTAIN_*`` variable that is not a setting (a Flask key, say): JSON when it looks like it."""
    if raw[:1] in "[{" or raw in ("true", "false", "null") or raw.lstrip("-").replace(".", "", 1).isdigit():
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _environment() -> dict[str, Any]:
    """``REVTAIN_*`` variables: the settings as pydantic-settings reads them (JSON for lists and
    mappings; a value it cannot read is left as text, for validation to name), and any other
    ``REVTAIN_*`` name passed through as before (``REVTAIN_INSTANCE_PATH`` is not configuration)."""
    others = {
        name.removeprefix(ENV_PREFIX): _parse_text(raw) for name, raw in os.environ.items()
        if name.startswith(ENV_PREFIX) and name != "REVTAIN_INSTANCE_PATH"
        and name.removeprefix(ENV_PREFIX) not in Settings.model_fields
    }
    try:
        settings = EnvSettingsSource(Settings)()
    except SettingsError:
        settings = {key: os.environ[env_name(key)] for key in Settings.model_fields
                    if env_name(key) in os.environ}
    return {**others, **settings}


_ORIGINS = {
    "environment": "{env} (environment variable)",
    "instance": "{key} (instance/config.py)",
    "default": "{key} (the default in revtain/config.py)",
    "given": "{key} (given to create_app)",
}


def _problem(error: Any) -> str:
    if error["type"] == "missing":
        return "is required"
    if error["type"] in ("list_type", "dict_type") and isinstance(error["input"], str):
        return "must be JSON: a list such as [0, 60]" if error["type"] == "list_type" else (
            'must be JSON: an object such as {"visa_max_attempts": 15}')
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def describe(exc: ValidationError, origins: Mapping[str, str]) -> str:
    """One line per bad setting: its name where it was set, the problem, and the value (not a secret's)."""
    lines = []
    seen: set[str] = set()
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else "?"
        if key in seen:
            continue
        seen.add(key)
        where = _ORIGINS[origins.get(key, "given")].format(key=key, env=env_name(key))
        shown = "" if key in SECRET_SETTINGS else f" (got {error['input']!r:.80})"
        lines.append(f"  {where}: {_problem(error)}{shown}")
    count = "1 setting is" if len(lines) == 1 else f"{len(lines)} settings are"
    return (f"Revtain cannot start: {count} not valid.\n" + "\n".join(lines)
            + "\nSee docs/configuration.md for every setting and the values it takes.")


def validate(defaults: Mapping[str, Any], instance: Mapping[str, Any],
             given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults, then ``instance/config.py``, then ``REVTAIN_*`` variables, then ``given`` (the factory's
    mapping, e.g. a test's): the merged configuration, the settings in it validated and typed. Raises
    ``ValueError`` with ``describe``'s message."""
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for origin, values in (("default", defaults), ("instance", instance), ("environment", _environment()),
                           ("given", given)):
        merged.update(values)
        origins.update(dict.fromkeys(values, origin))
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ValueError(describe(exc, origins)) from None
    return {**merged, **{key: getattr(settings, key) for key in Settings.model_fields}}
